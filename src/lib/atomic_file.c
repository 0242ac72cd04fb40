/* Atomic file replacement: see atomic_file.h. */
#include "atomic_file.h"

#include "pyc/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int pyc_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pyc_replace_file(const char *target, const char *shown, const void *data, size_t len,
                     mode_t mode, const struct stat *keep_owner, pyc_error *err)
{
	pyc_buf tmp = PYC_BUF_INIT;
	if (pyc_buf_printf(&tmp, "%s.pyc-tool.XXXXXX", target) != 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc = 0, fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot create a temporary file for '%s'",
		                   shown);
		goto done;
	}
	if (pyc_write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", tmp.ptr);
	if (rc == 0 && keep_owner && fchown(fd, keep_owner->st_uid, keep_owner->st_gid) != 0 &&
	    errno != EPERM)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot keep the owner of '%s'", shown);
	if (close(fd) != 0 && rc == 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", tmp.ptr);
	if (rc == 0 && rename(tmp.ptr, target) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot replace '%s'", shown);
	if (rc != 0)
		unlink(tmp.ptr);
done:
	pyc_buf_dispose(&tmp);
	return rc;
}
