/*
 * compileall_fresh.c - the freshness stage: a queued file's dfile, cache paths and verdict
 * (stat of the source, then the first bytes of each level's cache file), judged on any
 * thread of the queue; and the verdict of one cache file (include/pyc/compileall.h).
 */
#include "compileall_internal.h"
#include "pyc/cache_path.h"
#include "pyc/magic.h"
#include "pyc/stale.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *pyc_compileall_why_name(enum pyc_compileall_why why)
{
	switch (why) {
	case PYC_COMPILEALL_FRESH: return "fresh";
	case PYC_COMPILEALL_WHY_FORCED: return "forced";
	case PYC_COMPILEALL_WHY_MISSING: return "missing";
	case PYC_COMPILEALL_WHY_UNREADABLE: return "unreadable";
	case PYC_COMPILEALL_WHY_CORRUPT: return "corrupt";
	case PYC_COMPILEALL_WHY_VERSION: return "version";
	case PYC_COMPILEALL_WHY_MODE: return "mode";
	case PYC_COMPILEALL_WHY_MTIME: return "mtime";
	case PYC_COMPILEALL_WHY_SIZE: return "size";
	case PYC_COMPILEALL_WHY_HASH: return "hash";
	}
	return "?";
}

/* The header must be of the requested kind; then the import system's own rule decides. */
static enum pyc_compileall_why judge_header(const pyc_header *h, enum pyc_invalidation mode,
                                            int64_t sec, long nsec, uint64_t size,
                                            const uint8_t *source_hash)
{
	uint32_t want = mode == PYC_INVALIDATION_TIMESTAMP ? 0u
	              : mode == PYC_INVALIDATION_CHECKED_HASH ? 3u : 1u;
	if (h->flags != want)
		return PYC_COMPILEALL_WHY_MODE;
	pyc_verdict v;
	pyc_stale_judge(&v, h, &(pyc_source_stat){sec, nsec, size}, source_hash);
	switch (v.reason) {
	case PYC_REASON_MTIME: return PYC_COMPILEALL_WHY_MTIME;
	case PYC_REASON_SIZE: return PYC_COMPILEALL_WHY_SIZE;
	case PYC_REASON_HASH: return PYC_COMPILEALL_WHY_HASH;
	default: return PYC_COMPILEALL_FRESH;
	}
}

enum pyc_compileall_why pyc_compileall_judge(const uint8_t *hdr, size_t n, uint64_t file_size,
                                             uint16_t magic, enum pyc_invalidation mode,
                                             int64_t mtime_sec, long mtime_nsec,
                                             uint64_t source_size, const uint8_t *source_hash)
{
	if (n < 4 || hdr[2] != '\r' || hdr[3] != '\n')
		return PYC_COMPILEALL_WHY_CORRUPT;
	uint16_t got = (uint16_t)(hdr[0] | hdr[1] << 8);
	if (got != magic)
		return pyc_magic_lookup(got) ? PYC_COMPILEALL_WHY_VERSION : PYC_COMPILEALL_WHY_CORRUPT;
	pyc_header h;
	if (pyc_header_decode(&h, hdr, n) < 0 || file_size <= h.size)
		return PYC_COMPILEALL_WHY_CORRUPT;
	return judge_header(&h, mode, mtime_sec, mtime_nsec, source_size, source_hash);
}

/* -e: a symlinked file counts only when it resolves strictly below the limit directory
 * (Path(limit).resolve() in Path(fullname).resolve().parents). */
static bool outside_limit(const ca_cfg *c, const char *fullname)
{
	struct stat lst;
	if (!c->limit_real || lstat(fullname, &lst) != 0 || !S_ISLNK(lst.st_mode))
		return false;
	char *real = realpath(fullname, NULL);
	if (!real)
		return true;
	size_t n = strlen(c->limit_real);
	bool inside;
	if (n == 1 && c->limit_real[0] == '/')
		inside = real[1] != '\0';
	else
		inside = strncmp(real, c->limit_real, n) == 0 && real[n] == '/';
	free(real);
	return !inside;
}

/* Each level's cache path, into the checking thread's own buffers (most files are fresh
 * and never need them again: no allocation per file, none freed by another thread). */
static int cache_files(const ca_cfg *c, const char *fullname, pyc_buf *paths)
{
	for (size_t i = 0; i < c->nlevels; i++) {
		int rc;
		if (c->o->legacy) {
			rc = pyc_legacy_from_source(&paths[i], fullname);
		} else {
			char opt[12] = "";
			if (c->levels[i] > 0)
				snprintf(opt, sizeof(opt), "%d", c->levels[i]);
			rc = pyc_cache_from_source(&paths[i], fullname, c->in->cache_tag, opt,
			                           c->in->pycache_prefix, c->cwd);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A stale file keeps its cache paths (for the writes and the events). */
static int keep_cache_files(const ca_cfg *c, pyc_ca_item *it, const pyc_buf *paths)
{
	for (size_t i = 0; i < c->nlevels; i++)
		if (!(it->cfiles[i] = strdup(pyc_buf_cstr(&paths[i]))))
			return PYC_ENOMEM;
	return 0;
}

/* The verdict over every level's cache file: the first one that is not fresh. */
static enum pyc_compileall_why freshness(const ca_cfg *c, const pyc_ca_item *it,
                                         const pyc_buf *paths)
{
	if (c->o->force)
		return PYC_COMPILEALL_WHY_FORCED;
	int dfd = it->dir ? it->dir->fd : AT_FDCWD;
	for (size_t i = 0; i < c->nlevels; i++) {
		/* A cache beside the source (__pycache__/, legacy) opens relative to its dir. */
		const char *p = pyc_buf_cstr(&paths[i]);
		bool rel = it->dir && strncmp(p, it->fullname, it->dirlen) == 0;
		/* O_NONBLOCK: a FIFO planted at a cache path must not hang the run. */
		int fd = openat(rel ? dfd : AT_FDCWD, rel ? p + it->dirlen : p,
		                O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return errno == ENOENT || errno == ENOTDIR ? PYC_COMPILEALL_WHY_MISSING
			                                            : PYC_COMPILEALL_WHY_UNREADABLE;
		/* One byte past the largest header tells whether a body follows (no fstat). */
		uint8_t hdr[PYC_HEADER_MAX + 1];
		ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
		close(fd);
		if (n < 0)
			return PYC_COMPILEALL_WHY_UNREADABLE;
		enum pyc_compileall_why why = pyc_compileall_judge(
			hdr, (size_t)n, (uint64_t)n, c->in->magic, c->mode,
			it->st.st_mtim.tv_sec, it->st.st_mtim.tv_nsec, (uint64_t)it->st.st_size,
			it->has_hash ? it->hash : NULL);
		if (why != PYC_COMPILEALL_FRESH)
			return why;
	}
	return PYC_COMPILEALL_FRESH;
}

bool pyc_compileall__is_py_name(const char *fullname)
{
	size_t n = strlen(fullname);
	const char *base = strrchr(fullname, '/');
	base = base ? base + 1 : fullname;
	return strlen(base) >= 3 && strcmp(fullname + n - 3, ".py") == 0;
}

void pyc_compileall__check(const ca_cfg *c, pyc_ca_item *it, pyc_buf *scratch)
{
	if (it->kind != CA_ITEM_FILE)
		goto done;
	/* The dfile comes first in compile_file, with 3.13's -s warning for every file. */
	it->dfile_rc = pyc_compileall_dfile(&it->dfile, &it->has_dfile, &it->strip_ignored,
	                                    c->in->minor, it->fullname, it->ddir, it->stripdir,
	                                    it->prependdir);
	/* compileall's order after the dfile: -x (tested when queued), -e, isfile, ".py". */
	int dfd = it->dir ? it->dir->fd : AT_FDCWD;
	const char *rel = it->dir ? it->fullname + it->dirlen : it->fullname;
	if (it->excluded || !pyc_compileall__is_py_name(it->fullname) ||
	    outside_limit(c, it->fullname) || fstatat(dfd, rel, &it->st, 0) != 0 ||
	    !S_ISREG(it->st.st_mode))
		goto done;
	it->candidate = true;
	if ((it->cache_err = cache_files(c, it->fullname, scratch)) < 0)
		goto done;
	/* Hash modes need the source to judge; read it once and keep it for the compile. */
	if (c->mode != PYC_INVALIDATION_TIMESTAMP && !c->o->force &&
	    (it->read_errno = pyc_compileall__load_source(c, it)) != 0) {
		it->why = PYC_COMPILEALL_WHY_UNREADABLE;   /* reported when it is compiled */
		it->cache_err = keep_cache_files(c, it, scratch);
		goto done;
	}
	it->why = freshness(c, it, scratch);
	if (it->why == PYC_COMPILEALL_FRESH)
		goto done;
	it->cache_err = keep_cache_files(c, it, scratch);
	/* A stale source will be compiled: read it here, off the main thread, which then only
	 * hands it to the pool. */
	if (!c->o->dry_run && !it->source)
		it->read_errno = pyc_compileall__load_source(c, it);
done:
	/* Only the check uses the directory: let it close as soon as possible. */
	pyc_compileall__dir_unref(it->dir);
	it->dir = NULL;
}
