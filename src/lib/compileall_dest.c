/*
 * compileall_dest.c - the write stage's destinations: where a compiled file's pycs go,
 * opened so that nothing outside the tree can be written: the source's directory (the walk listed it) is the base, and the
 * directories below it that pyc-tool writes into (__pycache__) are opened without
 * following symlinks; under a pycache prefix the prefix is the base and the mirror
 * directories pyc-tool makes below it are opened the same way. compileall follows a
 * __pycache__ symlink wherever it points; pyc-tool refuses it (docs/compile.md).
 */
#include "atomic_file_internal.h"
#include "compileall_internal.h"
#include "pyc/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The text after `head` + "/" in `path`, or NULL. */
static const char *below(const char *path, const char *head, size_t head_len)
{
	while (head_len > 1 && head[head_len - 1] == '/')
		head_len--;
	if (strncmp(path, head, head_len) != 0)
		return NULL;
	if (head_len == 1 && head[0] == '/')
		return path + 1;
	return path[head_len] == '/' ? path + head_len + 1 : NULL;
}

/* Open an absolute base (the pycache prefix), made first if missing. */
static int open_prefix(const char *prefix, pyc_error *err)
{
	pyc_buf probe = PYC_BUF_INIT;
	/* make_parent_dirs makes the directory part of a file path: give it prefix/. */
	if (pyc_buf_printf(&probe, "%s/.", prefix) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc = pyc_atomic_file__make_parent_dirs(probe.ptr, err);
	pyc_buf_dispose(&probe);
	if (rc < 0)
		return rc;
	int fd = open(prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open directory '%s'", prefix);
	return fd;
}

/* Open the cache directory of `cfile` (NUL-terminated at cdir_len: its directory part)
 * relative to srcfd, whose path is fullname's directory part (src_len bytes, with the
 * slash), or relative to the pycache prefix. */
static int open_cache(const ca_cfg *c, const char *fullname, size_t src_len, int srcfd,
                      const char *cdir, int *cachefd, pyc_error *err)
{
	const char *prefix = c->in->minor >= 8 ? c->in->pycache_prefix : NULL;
	const char *sub = prefix ? below(cdir, prefix, strlen(prefix)) : NULL;
	if (sub) {
		int pfd = open_prefix(prefix, err);
		if (pfd < 0)
			return pfd;
		int rc = pyc_cache_dir_open(cachefd, pfd, prefix, sub, err);
		close(pfd);
		return rc;
	}
	if (src_len == 0)
		return pyc_cache_dir_open(cachefd, srcfd, ".", cdir, err);
	if (strncmp(cdir, fullname, src_len - 1) == 0 && cdir[src_len - 1] == '\0')
		return pyc_cache_dir_open(cachefd, srcfd, cdir, "", err);   /* -b: beside it */
	if (strncmp(cdir, fullname, src_len) != 0)
		return pyc_error_set(err, PYC_EUNSAFE, 0, "'%s' is not below the source's directory",
		                     cdir);
	char shown[PATH_MAX];
	snprintf(shown, sizeof(shown), "%.*s", (int)(src_len > 1 ? src_len - 1 : 1), fullname);
	return pyc_cache_dir_open(cachefd, srcfd, shown, cdir + src_len, err);
}

int pyc_compileall__open_dests(const ca_cfg *c, const pyc_ca_item *it, int *srcfd,
                               int *cachefd, pyc_error *err)
{
	const char *slash = strrchr(it->fullname, '/');
	size_t src_len = slash ? (size_t)(slash + 1 - it->fullname) : 0;
	pyc_buf dir = PYC_BUF_INIT;
	int rc = 0;
	*srcfd = *cachefd = -1;
	/* Every level's cache file is in the same directory: the first one's names it. */
	const char *cfile = it->cfiles[0], *cslash = strrchr(cfile, '/');
	if (pyc_buf_put(&dir, src_len ? it->fullname : ".", src_len > 1 ? src_len - 1 : 1) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	*srcfd = open(dir.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*srcfd < 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot open directory '%s'", dir.ptr);
	pyc_buf_clear(&dir);
	size_t clen = cslash ? (cslash > cfile ? (size_t)(cslash - cfile) : 1) : 0;
	if (rc == 0 && pyc_buf_put(&dir, cfile, clen) < 0)
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	if (rc == 0)
		rc = open_cache(c, it->fullname, src_len, *srcfd, pyc_buf_cstr(&dir), cachefd, err);
	pyc_buf_dispose(&dir);
	if (rc < 0 && *srcfd >= 0) {
		close(*srcfd);
		*srcfd = -1;
	}
	return rc;
}
