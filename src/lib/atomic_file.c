/* Atomic file replacement: see atomic_file_internal.h. */
#include "atomic_file_internal.h"

#include "pyc/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int pyc_atomic_file__write_all(int fd, const void *data, size_t n)
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

int pyc_atomic_file__write_two(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct iovec *v = iov;
	int n = 2;
	while (n > 0) {
		ssize_t w = writev(fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		/* A short write: drop what went out and go on from there. */
		for (; n > 0 && (size_t)w >= v->iov_len; v++, n--)
			w -= (ssize_t)v->iov_len;
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int make_dirs(pyc_buf *dir, pyc_error *err)
{
	struct stat st;

	if (dir->len == 0 || stat(dir->ptr, &st) == 0)
		return 0;
	for (size_t i = 1; i <= dir->len; i++) {
		if (i < dir->len && dir->ptr[i] != '/')
			continue;
		char saved = dir->ptr[i];
		dir->ptr[i] = '\0';
		int rc = mkdir(dir->ptr, 0777);
		int e = errno;
		int exists = rc != 0 && e == EEXIST && stat(dir->ptr, &st) == 0 && S_ISDIR(st.st_mode);
		if (rc != 0 && e == EEXIST && !exists)
			e = ENOTDIR;   /* a file where a directory must be: say so, not "exists" */
		if (rc != 0 && !exists) {
			pyc_error_set(err, PYC_EIO, e, "cannot create directory '%s'", dir->ptr);
			dir->ptr[i] = saved;
			return PYC_EIO;
		}
		dir->ptr[i] = saved;
	}
	return 0;
}

int pyc_atomic_file__make_parent_dirs(const char *path, pyc_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	pyc_buf dir = PYC_BUF_INIT;
	if (pyc_buf_put(&dir, path, (size_t)(slash - path)) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc = make_dirs(&dir, err);
	pyc_buf_dispose(&dir);
	return rc;
}

int pyc_atomic_file__replace(const char *target, const char *shown, const void *data, size_t len,
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
	if (pyc_atomic_file__write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0)
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
