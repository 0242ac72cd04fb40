/*
 * compileall_write.c - the last stage: a finished file's result, from the pool or the
 * cache lookup, becomes its pycs, written exactly as py_compile writes them (header from
 * a stat taken after compiling, the writer's atomic rename; hard links between identical
 * levels for --hardlink-dupes), or its failure report; and a miss's result is recorded.
 */
#include "compileall_internal.h"
#include "pyc/mtime.h"
#include "pyc/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int build_header(const ca_cfg *c, const pyc_ca_item *it, const struct stat *st,
                        int stat_errno, uint8_t *hdr, size_t cap, pyc_error *err)
{
	pyc_header h;
	memset(&h, 0, sizeof(h));
	h.magic = c->in->magic;
	h.mode = c->mode;
	if (c->mode == PYC_INVALIDATION_TIMESTAMP) {
		if (!st)
			return pyc_error_set(err, PYC_EIO, stat_errno, "cannot stat '%s'", it->fullname);
		h.mtime = pyc_mtime32(st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		h.source_size = (uint32_t)st->st_size;
	} else {
		memcpy(h.hash, it->hash, sizeof(h.hash));
	}
	int n = pyc_header_encode(hdr, cap, &h);
	if (n < 0)
		return pyc_error_set(err, n, 0, "cannot encode a header for magic %u",
		                     (unsigned)c->in->magic);
	return n;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The source's stat after compiling, taken in the directory the pycs go beside; a source
 * that is no longer the file the walk judged (another inode: replaced, or its directory
 * swapped) is not written for. Returns 0 (*have_st false when the stat failed, with
 * *stat_errno) or <0. */
static int stat_source(const pyc_ca_item *it, int srcfd, struct stat *st, bool *have_st,
                       int *stat_errno, pyc_error *err)
{
	*have_st = fstatat(srcfd, base_name(it->fullname), st, 0) == 0;
	*stat_errno = *have_st ? 0 : errno;
	if (*have_st && (st->st_dev != it->st.st_dev || st->st_ino != it->st.st_ino))
		return pyc_error_set(err, PYC_EIO, 0, "'%s' was replaced while it was compiled: "
		                     "its pyc is not written", it->fullname);
	return 0;
}

static int write_levels(ca_writer *w, const pyc_ca_item *it, int dfd, const uint8_t *hdr,
                        size_t hlen, mode_t mode, pyc_error *err)
{
	const ca_cfg *c = w->cfg;
	for (size_t i = 0; i < c->nlevels; i++) {
		const pyc_buf *body = &it->job.body[i], *prev = i ? &it->job.body[i - 1] : NULL;
		const char *name = base_name(it->cfiles[i]);
		int rc;
		if (prev && c->o->hardlink_dupes && prev->len == body->len &&
		    memcmp(prev->ptr, body->ptr, body->len) == 0)
			rc = pyc_link_pyc_at(dfd, base_name(it->cfiles[i - 1]), name, it->cfiles[i], err);
		else
			rc = pyc_write_pyc_at(dfd, name, it->cfiles[i], hdr, hlen,
			                      (const uint8_t *)body->ptr, body->len, mode, err);
		if (rc < 0)
			return rc;
		w->sink->st->files_written++;
	}
	return 0;
}

/* The length of path's directory part (up to its last slash; 0 without one). */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (size_t)(slash - path) : 0;
}

static bool same_dir(const pyc_buf *dir, const char *path, size_t len)
{
	return dir->len == len && memcmp(dir->ptr, path, len) == 0;
}

static int set_dir(pyc_buf *dir, const char *path, size_t len)
{
	pyc_buf_clear(dir);
	return pyc_buf_put(dir, path, len);
}

static void close_dests(ca_writer *w)
{
	if (!w->open)
		return;
	close(w->cachefd);
	close(w->srcfd);
	w->open = false;
}

void pyc_compileall__write_dispose(ca_writer *w)
{
	close_dests(w);
	pyc_buf_dispose(&w->src_dir);
	pyc_buf_dispose(&w->cache_dir);
}

/* The source and cache directories of it, re-used from the previous file when both are
 * the same directories by path (one openat per file saved three opens and three closes:
 * docs/benchmarks.md, "## cache"). *kept says whether they were re-used. */
static int open_dests(ca_writer *w, const pyc_ca_item *it, bool *kept, pyc_error *err)
{
	size_t slen = dir_len(it->fullname), clen = dir_len(it->cfiles[0]);
	*kept = w->open && same_dir(&w->src_dir, it->fullname, slen) &&
	        same_dir(&w->cache_dir, it->cfiles[0], clen);
	if (*kept)
		return 0;
	close_dests(w);
	if (set_dir(&w->src_dir, it->fullname, slen) < 0 ||
	    set_dir(&w->cache_dir, it->cfiles[0], clen) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc = pyc_compileall__open_dests(w->cfg, it, &w->srcfd, &w->cachefd, err);
	w->open = rc == 0;
	return rc;
}

static int write_into(ca_writer *w, const pyc_ca_item *it, pyc_error *err)
{
	/* One stat for both things py_compile stats the source for after compiling: the
	 * header's mtime and size (path_stats) and the pyc's mode (_calc_mode). */
	struct stat st;
	bool have_st;
	int stat_errno;
	uint8_t hdr[PYC_HEADER_MAX];
	int rc = stat_source(it, w->srcfd, &st, &have_st, &stat_errno, err);
	int hlen = rc < 0 ? rc : build_header(w->cfg, it, have_st ? &st : NULL, stat_errno,
	                                      hdr, sizeof(hdr), err);
	if (hlen < 0)
		return hlen;
	return write_levels(w, it, w->cachefd, hdr, (size_t)hlen,
	                    pyc_pyc_mode_from_stat(have_st ? &st : NULL), err);
}

static int write_outputs(ca_writer *w, const pyc_ca_item *it, pyc_error *err)
{
	bool kept;
	int rc = open_dests(w, it, &kept, err);
	if (rc < 0)
		return rc;
	rc = write_into(w, it, err);
	/* A kept directory may have been removed since the last file (ENOENT creating the
	 * temporary file): open the paths again, as a fresh run would, and try once more. */
	if (rc < 0 && kept && err->sys_errno == ENOENT) {
		close_dests(w);
		pyc_error again = { 0 };
		if (open_dests(w, it, &kept, &again) == 0) {
			*err = (pyc_error){ 0 };
			rc = write_into(w, it, err);
		}
	}
	return rc;
}

/* A failed file, with where its result came from. */
static void fail(ca_writer *w, const pyc_ca_item *it, const char *kind, const char *text)
{
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_FAILED, .path = it->fullname,
	                            .error_kind = kind, .error_text = text, .cache = it->cache,
	                            .cache_remote = it->remote_hit };
	w->sink->st->failed++;
	pyc_compileall__emit(w->sink, &ev);
}

void pyc_compileall__write(ca_writer *w, pyc_ca_item *it)
{
	ca_sink *s = w->sink;
	pyc_compileall__lookup_record(w->store, s, it);
	s->st->cache_hits += it->cache == PYC_COMPILEALL_CACHE_HIT;
	s->st->cache_misses += it->cache == PYC_COMPILEALL_CACHE_MISS;
	s->st->cache_remote_hits += it->cache == PYC_COMPILEALL_CACHE_HIT && it->remote_hit;
	if (it->job.warnings.len > 0) {
		/* What compiling wrote to stderr, stored with a hit: in the same place. */
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_WARNED, .path = it->fullname,
		                            .warnings = it->job.warnings.ptr,
		                            .warnings_len = it->job.warnings.len };
		pyc_compileall__emit(s, &ev);
	}
	if (it->job.status != 0) {
		const char *kind = it->job.status == PYC_ECOMPILE   ? "compile"
		                   : it->job.status == PYC_ETIMEOUT ? "timeout"
		                                                    : "crash";
		fail(w, it, kind, pyc_buf_cstr(&it->job.error_text));
	} else {
		pyc_error e = { 0 };
		if (write_outputs(w, it, &e) < 0) {
			/* compileall prints an OSError as "<class>: <message>"; a refused target is
			 * py_compile's FileExistsError. */
			char msg[PYC_ERROR_MSG_MAX + 32];
			snprintf(msg, sizeof(msg), "%s%s",
			         e.code == PYC_EEXISTS ? "FileExistsError: " : "", e.message);
			fail(w, it, "io", msg);
		} else {
			pyc_compileall_event ev = { .kind = PYC_COMPILEALL_COMPILED,
			                            .path = it->fullname, .why = it->why,
			                            .outputs = (const char *const *)it->cfiles,
			                            .noutputs = w->cfg->nlevels, .cache = it->cache,
			                            .cache_remote = it->remote_hit };
			s->st->compiled++;
			pyc_compileall__emit(s, &ev);
		}
	}
	pyc_compileall__item_free(it);
}
