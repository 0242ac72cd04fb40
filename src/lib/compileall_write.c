/*
 * compileall_write.c - compileall's per-file work after the decision: read the source once,
 * hand it to the worker pool, then write each level's pyc exactly as py_compile does
 * (header from a stat taken after compiling, the writer's atomic rename), hard-linking
 * identical levels for --hardlink-dupes.
 */
#include "compileall_internal.h"
#include "pyc/magic.h"
#include "pyc/mtime.h"
#include "pyc/source_hash.h"
#include "pyc/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pyc_ca_item *pyc_compileall__item_new(const char *fullname)
{
	pyc_ca_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	if (!(it->fullname = strdup(fullname))) {
		free(it);
		return NULL;
	}
	return it;
}

void pyc_compileall__item_free(pyc_ca_item *it)
{
	if (!it)
		return;
	pyc_job_dispose(&it->job);
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		free(it->cfiles[i]);
	pyc_buf_dispose(&it->dfile);
	free(it->source);
	free(it->fullname);
	free(it->ddir);
	pyc_compileall__dir_unref(it->dir);
	free(it);
}

static const pyc_magic_info *interp_info(const ca_run *r)
{
	return r->in->info ? r->in->info : pyc_magic_lookup(r->in->magic);
}

static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			return errno = ENOMEM, -1;
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

int pyc_compileall__load_source(const ca_run *r, pyc_ca_item *it)
{
	if (it->source)
		return 0;
	int fd = open(it->fullname, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_all(fd, &it->source, &it->source_len) != 0) {
		int e = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	if (r->mode != PYC_INVALIDATION_TIMESTAMP && !it->has_hash) {
		/* validate() refused hash modes for versions without them: cannot fail here. */
		if (pyc_source_hash(it->hash, interp_info(r), it->source, it->source_len) < 0)
			return EINVAL;
		it->has_hash = true;
	}
	return 0;
}

int pyc_compileall__read_source(ca_run *r, pyc_ca_item *it)
{
	int e = it->read_errno ? it->read_errno : pyc_compileall__load_source(r, it);
	if (e == 0)
		return 1;
	char msg[PYC_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), "cannot read '%s': %s", it->fullname, strerror(e));
	pyc_compileall__fail(r, it->fullname, "io", msg);
	return 0;
}

/* py_compile's header: the source's stat taken after compiling (st; NULL when it failed
 * with stat_errno) for timestamp pycs, the hash of the bytes compiled for hash-based ones.
 * Returns the header length or <0. */
static int build_header(ca_run *r, pyc_ca_item *it, const struct stat *st, int stat_errno,
                        uint8_t *hdr, size_t cap, pyc_error *err)
{
	pyc_header h;
	memset(&h, 0, sizeof(h));
	h.magic = r->in->magic;
	h.mode = r->mode;
	if (r->mode == PYC_INVALIDATION_TIMESTAMP) {
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
		                     (unsigned)r->in->magic);
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

static int write_levels(ca_run *r, pyc_ca_item *it, int dfd, const uint8_t *hdr, size_t hlen,
                        mode_t mode, pyc_error *err)
{
	for (size_t i = 0; i < r->nlevels; i++) {
		const pyc_buf *body = &it->job.body[i], *prev = i ? &it->job.body[i - 1] : NULL;
		const char *name = base_name(it->cfiles[i]);
		int rc;
		if (prev && r->o->hardlink_dupes && prev->len == body->len &&
		    memcmp(prev->ptr, body->ptr, body->len) == 0)
			rc = pyc_link_pyc_at(dfd, base_name(it->cfiles[i - 1]), name, it->cfiles[i], err);
		else
			rc = pyc_write_pyc_at(dfd, name, it->cfiles[i], hdr, hlen,
			                      (const uint8_t *)body->ptr, body->len, mode, err);
		if (rc < 0)
			return rc;
		r->st->files_written++;
	}
	return 0;
}

static int write_outputs(ca_run *r, pyc_ca_item *it, pyc_error *err)
{
	int srcfd, dfd;
	int rc = pyc_compileall__open_dests(r, it, &srcfd, &dfd, err);
	if (rc < 0)
		return rc;
	/* One stat for both things py_compile stats the source for after compiling: the
	 * header's mtime and size (path_stats) and the pyc's mode (_calc_mode). */
	struct stat st;
	bool have_st;
	int stat_errno;
	uint8_t hdr[PYC_HEADER_MAX];
	rc = stat_source(it, srcfd, &st, &have_st, &stat_errno, err);
	int hlen = rc < 0 ? rc : build_header(r, it, have_st ? &st : NULL, stat_errno, hdr,
	                                      sizeof(hdr), err);
	if (hlen >= 0)
		rc = write_levels(r, it, dfd, hdr, (size_t)hlen,
		                  pyc_pyc_mode_from_stat(have_st ? &st : NULL), err);
	else
		rc = hlen;
	close(dfd);
	close(srcfd);
	return rc;
}

static void on_done(pyc_job *job, void *ctx)
{
	ca_run *r = ctx;
	pyc_ca_item *it = job->user;
	if (job->warnings.len > 0) {
		pyc_compileall_event w = { .kind = PYC_COMPILEALL_WARNED, .path = it->fullname,
		                           .warnings = job->warnings.ptr,
		                           .warnings_len = job->warnings.len };
		pyc_compileall__emit(r, &w);
	}
	if (job->status == 0) {
		pyc_error e = { 0 };
		if (write_outputs(r, it, &e) < 0) {
			/* compileall prints an OSError as "<class>: <message>"; a refused target is
			 * py_compile's FileExistsError. */
			char msg[PYC_ERROR_MSG_MAX + 32];
			snprintf(msg, sizeof(msg), "%s%s",
			         e.code == PYC_EEXISTS ? "FileExistsError: " : "", e.message);
			pyc_compileall__fail(r, it->fullname, "io", msg);
		} else {
			pyc_compileall_event ev = { .kind = PYC_COMPILEALL_COMPILED,
			                            .path = it->fullname, .why = it->why,
			                            .outputs = (const char *const *)it->cfiles,
			                            .noutputs = r->nlevels };
			r->st->compiled++;
			pyc_compileall__emit(r, &ev);
		}
	} else {
		/* A failure that warned first is compiled again next time, so that its warnings
		 * are printed again, as compileall does: the cache keeps only the error text. */
		if (job->status == PYC_ECOMPILE && job->warnings.len == 0)
			pyc_compileall__failcache_put(r->fails, it->fail_key, pyc_buf_cstr(&job->error_text));
		const char *kind = job->status == PYC_ECOMPILE   ? "compile"
		                   : job->status == PYC_ETIMEOUT ? "timeout"
		                                                 : "crash";
		pyc_compileall__fail(r, it->fullname, kind, pyc_buf_cstr(&job->error_text));
	}
	pyc_compileall__item_free(it);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The cached probe answered for an interpreter that may have changed since: ask it once,
 * before the first write. Returns true when the run may go on with r->in. */
static bool probe_still_valid(ca_run *r)
{
	pyc_interp fresh;
	pyc_error e = { 0 };
	r->verified = true;
	if (pyc_interp_probe_fresh(&fresh, r->in->exe, &e) < 0) {
		r->fatal = pyc_error_set(r->err, PYC_EINTERP, 0, "%s", e.message);
		r->stop = true;
		return false;
	}
	bool same = fresh.magic == r->in->magic && fresh.major == r->in->major &&
	            fresh.minor == r->in->minor && fresh.optimize == r->in->optimize &&
	            same_str(fresh.cache_tag, r->in->cache_tag) &&
	            same_str(fresh.pycache_prefix, r->in->pycache_prefix);
	pyc_interp_dispose(&fresh);
	if (!same) {
		r->st->reprobed = true;
		r->stop = true;
	}
	return same;
}

static int start_job(ca_run *r, pyc_ca_item *it)
{
	if (!r->pool) {
		int rc = pyc_pool_new(&r->pool, r->in, r->o->jobs ? r->o->jobs : 1,
		                      r->o->timeout_sec, on_done, r, r->err);
		if (rc < 0)
			return rc;
	}
	it->job.source = it->source;
	it->job.source_len = it->source_len;
	it->job.dfile = it->has_dfile ? pyc_buf_cstr(&it->dfile) : it->fullname;
	/* Every compile compileall makes, discarded ones too: r->levels are the kept ones. */
	it->job.nlevels = pyc_compileall_sequence(it->job.levels, it->job.discard, r->o->levels,
	                                          r->sys_path_mode ? 0 : r->o->nlevels,
	                                          r->in->optimize, r->o->legacy);
	it->job.user = it;
	return pyc_pool_submit(r->pool, &it->job, r->err);
}

/* The file failed to compile before, byte for byte: report that again (true). */
static bool known_failure(ca_run *r, pyc_ca_item *it)
{
	if (!r->o->failure_cache)
		return false;
	if (!r->fails_opened) {
		r->fails = pyc_compileall__failcache_open();
		r->fails_opened = true;
	}
	if (!r->fails)
		return false;
	const char *dfile = it->has_dfile ? pyc_buf_cstr(&it->dfile) : it->fullname;
	it->fail_key = pyc_compileall__failcache_key(r, dfile, it->source, it->source_len);
	const char *text = pyc_compileall__failcache_get(r->fails, it->fail_key);
	if (text)
		pyc_compileall__fail(r, it->fullname, "compile", text);
	return text != NULL;
}

int pyc_compileall__submit(ca_run *r, pyc_ca_item *it)
{
	pyc_compileall_event ev = { .path = it->fullname, .why = it->why,
	                            .outputs = (const char *const *)it->cfiles,
	                            .noutputs = r->nlevels };
	if (r->o->dry_run) {
		ev.kind = PYC_COMPILEALL_WOULD_COMPILE;
		r->st->compiled++;
		pyc_compileall__emit(r, &ev);
		pyc_compileall__item_free(it);
		return 0;
	}
	ev.kind = PYC_COMPILEALL_COMPILING;
	pyc_compileall__emit(r, &ev);
	if (pyc_compileall__read_source(r, it) <= 0 || known_failure(r, it)) {
		pyc_compileall__item_free(it);
		return 0;
	}
	if (r->in->from_cache && !r->verified && !probe_still_valid(r)) {
		pyc_compileall__item_free(it);
		return r->fatal;
	}
	int rc = start_job(r, it);
	if (rc == PYC_EINVAL) {
		/* This job only (e.g. a source over 4 GiB): fail the file, go on. */
		pyc_compileall__fail(r, it->fullname, "internal", r->err ? r->err->message : "rejected");
		pyc_compileall__item_free(it);
		return 0;
	}
	if (rc < 0) {
		/* Not accepted: the pool never calls on_done for it. */
		pyc_compileall__item_free(it);
	} else if (r->o->jobs == 1) {
		/* -j1 is compileall's sequential mode: each file's result (and error text)
		 * comes before the next file is looked at. The item belongs to on_done now. */
		rc = pyc_pool_drain(r->pool, r->err);
	}
	if (rc < 0) {
		r->fatal = rc;
		r->stop = true;
	}
	return rc;
}

int pyc_compileall__finish(ca_run *r)
{
	int rc = 0;
	if (r->pool) {
		rc = pyc_pool_drain(r->pool, r->err);
		r->st->workers_started += pyc_pool_started(r->pool);
		pyc_pool_free(r->pool);
		r->pool = NULL;
	}
	pyc_compileall__failcache_close(r->fails);
	r->fails = NULL;
	return rc;
}
