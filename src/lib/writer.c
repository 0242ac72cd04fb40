/*
 * Atomic .pyc writes: see include/pyc/writer.h.
 *
 * Mirrors importlib._bootstrap_external._write_atomic as py_compile uses it: a temporary
 * file opened O_EXCL|O_CREAT|O_WRONLY with mode & 0666 (the umask applies), the whole
 * payload written, then rename() over the target, so a reader sees the old file or the
 * new one and never a partial one.
 */
#include "pyc/writer.h"

#include "atomic_file.h"
#include "pyc/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mode_t pyc_pyc_mode_from_stat(const struct stat *source_st)
{
	return source_st ? (source_st->st_mode | 0200) & 0666 : 0666;
}

mode_t pyc_pyc_mode_for_source(const char *source_path)
{
	struct stat st;
	return pyc_pyc_mode_from_stat(stat(source_path, &st) == 0 ? &st : NULL);
}

/* Refuse what py_compile refuses: a symlink, or an existing non-regular file. */
static int check_target(const char *path, pyc_error *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	/* py_compile's own words (FileExistsError), so compile's output matches compileall. */
	if (S_ISLNK(st.st_mode))
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "%s is a symlink and will be changed into a regular file if "
		                     "import writes a byte-compiled file to it", path);
	if (!S_ISREG(st.st_mode))
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "%s is a non-regular file and will be changed into a regular "
		                     "one if import writes a byte-compiled file to it", path);
	return 0;
}

/* Open a fresh temporary file next to path; its name is left in tmp. Returns fd or -1. */
static int open_temp(const char *path, mode_t mode, pyc_buf *tmp, pyc_error *err)
{
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		pyc_buf_clear(tmp);
		if (pyc_buf_printf(tmp, "%s.%ld.%u.tmp", path, (long)getpid(), attempt) < 0) {
			pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
			return -1;
		}
		int fd = open(tmp->ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0666);
		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == EEXIST)
			continue;
		pyc_error_set(err, PYC_EIO, errno, "cannot create '%s'", tmp->ptr);
		return -1;
	}
	pyc_error_set(err, PYC_EIO, EEXIST, "cannot create a temporary file for '%s'", path);
	return -1;
}

int pyc_write_pyc(const char *path, const uint8_t *header, size_t hlen,
                  const uint8_t *body, size_t blen, mode_t mode, pyc_error *err)
{
	pyc_buf tmp = PYC_BUF_INIT;
	int rc = check_target(path, err);
	if (rc < 0 || (rc = pyc_make_parent_dirs(path, err)) < 0)
		return rc;

	int fd = open_temp(path, mode, &tmp, err);
	if (fd < 0) {
		rc = err ? err->code : PYC_EIO;
		goto done;
	}
	if (pyc_write_all(fd, header, hlen) != 0 || pyc_write_all(fd, body, blen) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", path);
		close(fd);
		unlink(tmp.ptr);
		goto done;
	}
	if (close(fd) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", path);
		unlink(tmp.ptr);
		goto done;
	}
	if (rename(tmp.ptr, path) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot replace '%s'", path);
		unlink(tmp.ptr);
		goto done;
	}
	rc = 0;
done:
	pyc_buf_dispose(&tmp);
	return rc;
}

int pyc_link_pyc(const char *existing, const char *path, pyc_error *err)
{
	int rc = check_target(path, err);
	if (rc < 0)
		return rc;
	pyc_buf tmp = PYC_BUF_INIT;
	if (pyc_buf_printf(&tmp, "%s.%ld.link", path, (long)getpid()) < 0)
		return PYC_ENOMEM;
	unlink(tmp.ptr);
	if (link(existing, tmp.ptr) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot link '%s' to '%s'", path, existing);
	else if (rename(tmp.ptr, path) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot rename '%s' to '%s'", tmp.ptr, path);
		unlink(tmp.ptr);
	}
	pyc_buf_dispose(&tmp);
	return rc;
}
