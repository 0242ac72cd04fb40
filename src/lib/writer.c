/*
 * Atomic .pyc writes: see include/pyc/writer.h.
 *
 * Mirrors importlib._bootstrap_external._write_atomic as py_compile uses it: a temporary
 * file opened O_EXCL|O_CREAT|O_WRONLY with mode & 0666 (the umask applies), the whole
 * payload written, then rename() over the target, so a reader sees the old file or the
 * new one and never a partial one. Unlike _write_atomic, every step is relative to one
 * directory fd opened without following symlinks below the base the caller trusts: a
 * __pycache__ that is (or becomes) a symlink cannot redirect a write, a rename or an
 * unlink out of the tree. Each temporary file is registered (pyc/interrupt.h) while it
 * exists, so a signal handler can remove it.
 */
#include "pyc/writer.h"

#include "atomic_file_internal.h"
#include "interrupt_internal.h"
#include "pyc/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
static int check_target(int dirfd, const char *name, const char *shown, pyc_error *err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	/* py_compile's own words (FileExistsError), so compile's output matches compileall. */
	if (S_ISLNK(st.st_mode))
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "%s is a symlink and will be changed into a regular file if "
		                     "import writes a byte-compiled file to it", shown);
	if (!S_ISREG(st.st_mode))
		return pyc_error_set(err, PYC_EEXISTS, 0,
		                     "%s is a non-regular file and will be changed into a regular "
		                     "one if import writes a byte-compiled file to it", shown);
	return 0;
}

/* One directory below dirfd, never through a symlink; made (0777 & ~umask) if missing.
 * shown names it in messages. Returns the new fd or <0 (err set). */
static int open_sub(int dirfd, const char *comp, const char *shown, pyc_error *err)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, comp, flags);
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(dirfd, comp, 0777) != 0 && errno != EEXIST)
			return pyc_error_set(err, PYC_EIO, errno, "cannot create directory '%s'", shown);
		fd = openat(dirfd, comp, flags);
	}
	if (fd >= 0)
		return fd;
	int e = errno;
	struct stat st;
	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return pyc_error_set(err, PYC_EUNSAFE, 0,
		                     "refusing to write through '%s': it is a symlink, and pyc-tool "
		                     "writes nothing outside the given paths", shown);
	if (e == ELOOP)
		e = ENOTDIR;   /* a file where a directory must be: say so */
	return pyc_error_set(err, PYC_EIO, e, "cannot create directory '%s'", shown);
}

int pyc_cache_dir_open(int *out, int basefd, const char *base_shown, const char *sub,
                       pyc_error *err)
{
	pyc_buf shown = PYC_BUF_INIT;
	int fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open directory '%s'", base_shown);
	if (pyc_buf_puts(&shown, base_shown) < 0)
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	for (const char *p = sub; rc == 0 && *p;) {
		size_t n = strcspn(p, "/");
		if (n > 0) {
			char comp[NAME_MAX + 1];
			if (n > NAME_MAX) {
				rc = pyc_error_set(err, PYC_EIO, ENAMETOOLONG, "cannot create directory "
				                   "'%s/%.*s'", pyc_buf_cstr(&shown), (int)n, p);
				break;
			}
			memcpy(comp, p, n);
			comp[n] = '\0';
			if ((shown.len && pyc_buf_puts(&shown, "/") < 0) || pyc_buf_puts(&shown, comp) < 0) {
				rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
				break;
			}
			int next = open_sub(fd, comp, pyc_buf_cstr(&shown), err);
			close(fd);
			fd = next;
			if (fd < 0) {
				rc = fd;
				break;
			}
		}
		p += n + (p[n] == '/');
	}
	pyc_buf_dispose(&shown);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Create a fresh temporary file beside `name`, registered for the signal handler; its
 * name is left in tmp, its slot in *slot. Returns the fd or <0 (err set). */
static int open_temp(int dirfd, const char *name, const char *shown, mode_t mode, pyc_buf *tmp,
                     int *slot, pyc_error *err)
{
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		pyc_buf_clear(tmp);
		if (pyc_buf_printf(tmp, "%s.%ld.%u.tmp", name, (long)getpid(), attempt) < 0)
			return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		/* Registered before it exists: a signal between the two would otherwise leak it. */
		*slot = pyc_interrupt__note_temp(dirfd, tmp->ptr);
		int fd = openat(dirfd, tmp->ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		                mode & 0666);
		if (fd >= 0)
			return fd;
		int e = errno;
		pyc_interrupt__forget(*slot);
		*slot = -1;
		if (e == EINTR || e == EEXIST)
			continue;
		return pyc_error_set(err, PYC_EIO, e, "cannot create a temporary file for '%s'", shown);
	}
	return pyc_error_set(err, PYC_EIO, EEXIST, "cannot create a temporary file for '%s'", shown);
}

int pyc_write_pyc_at(int dirfd, const char *name, const char *shown, const uint8_t *header,
                     size_t hlen, const uint8_t *body, size_t blen, mode_t mode, pyc_error *err)
{
	pyc_buf tmp = PYC_BUF_INIT;
	int slot = -1, rc = check_target(dirfd, name, shown, err);
	if (rc < 0)
		return rc;
	int fd = open_temp(dirfd, name, shown, mode, &tmp, &slot, err);
	if (fd < 0) {
		rc = fd;
		goto done;
	}
	if (pyc_atomic_file__write_two(fd, header, hlen, body, blen) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", shown);
	if (close(fd) != 0 && rc == 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot write '%s'", shown);
	if (rc == 0 && renameat(dirfd, tmp.ptr, dirfd, name) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot replace '%s'", shown);
	if (rc < 0)
		unlinkat(dirfd, tmp.ptr, 0);
	pyc_interrupt__forget(slot);
done:
	pyc_buf_dispose(&tmp);
	return rc;
}

int pyc_write_pyc(const char *path, const uint8_t *header, size_t hlen, const uint8_t *body,
                  size_t blen, mode_t mode, pyc_error *err)
{
	const char *slash = strrchr(path, '/');
	pyc_buf dir = PYC_BUF_INIT;
	int rc = pyc_atomic_file__make_parent_dirs(path, err);
	if (rc < 0)
		return rc;
	if (slash && pyc_buf_put(&dir, path, slash == path ? 1 : (size_t)(slash - path)) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int dfd = open(slash ? dir.ptr : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot open directory '%s'",
		                   slash ? dir.ptr : ".");
	} else {
		rc = pyc_write_pyc_at(dfd, slash ? slash + 1 : path, path, header, hlen, body, blen,
		                      mode, err);
		close(dfd);
	}
	pyc_buf_dispose(&dir);
	return rc;
}

int pyc_link_pyc_at(int dirfd, const char *existing, const char *name, const char *shown,
                    pyc_error *err)
{
	int rc = check_target(dirfd, name, shown, err);
	if (rc < 0)
		return rc;
	pyc_buf tmp = PYC_BUF_INIT;
	if (pyc_buf_printf(&tmp, "%s.%ld.link", name, (long)getpid()) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int slot = pyc_interrupt__note_temp(dirfd, tmp.ptr);
	unlinkat(dirfd, tmp.ptr, 0);
	if (linkat(dirfd, existing, dirfd, tmp.ptr, 0) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot link '%s' to '%s'", shown, existing);
	} else if (renameat(dirfd, tmp.ptr, dirfd, name) != 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot replace '%s'", shown);
		unlinkat(dirfd, tmp.ptr, 0);
	}
	pyc_interrupt__forget(slot);
	pyc_buf_dispose(&tmp);
	return rc;
}
