/*
 * fuzz_frames: the compile pool's reading of worker frames (src/lib/pool.c), fed arbitrary
 * bytes by a real worker process (worker_stub.c) through the real socket, so the decoder,
 * the protocol checks and the recovery from a hostile or crashing worker all run as in use.
 *
 * Input: byte 0 chooses the number of jobs (1-4) and of levels per job (1-8); the rest is
 * what every worker the pool starts sends before closing its side.
 *  - every accepted job is finished exactly once, with 0, PYC_ECOMPILE or PYC_EINTERP;
 *  - whatever a job got (bodies, error type and text) is bytes the worker sent;
 *  - when the bytes are a well-formed conversation per docs/compile-engine.md ("Frames"):
 *    'H', then one 'R' (nlevels bodies, then the warnings) or 'E' (type, text, warnings)
 *    frame per job, a pool of one slot gives the one or two jobs it holds at once exactly
 *    those replies, from one worker.
 */
#include "fuzz.h"

#include "pyc/pool.h"
#include "pyc/interp.h"
#include "pyc/magic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JOBS 4

static char reply_path[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(reply_path, sizeof(reply_path), "%s/reply", fuzz_scratch_dir());
	setenv("PYC_FUZZ_WORKER_REPLY", reply_path, 1);
	return 0;
}

static void on_done(pyc_job *job, void *ctx)
{
	(void)ctx;
	(*(int *)job->user)++;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool from_worker(const pyc_buf *b, const uint8_t *data, size_t size)
{
	return b->len == 0 || memmem(data, size, b->ptr, b->len) != NULL;
}

/* What the spec says a reply frame holds; `fields` receives its byte strings. */
struct expect {
	int status;
	size_t nfields;
	const uint8_t *field[PYC_JOB_MAX_LEVELS + 1];   /* the bodies or type and text, then
	                                                   the warnings */
	size_t len[PYC_JOB_MAX_LEVELS + 1];
};

/* Parse the fields of payload p[1..n); true when they fill it exactly. */
static bool take_fields(struct expect *e, const uint8_t *p, size_t n, size_t pos, size_t count)
{
	for (e->nfields = 0; e->nfields < count; e->nfields++) {
		if (n - pos < 4 || n - pos - 4 < le32(p + pos))
			return false;
		e->len[e->nfields] = le32(p + pos);
		e->field[e->nfields] = p + pos + 4;
		pos += 4 + e->len[e->nfields];
	}
	return pos == n;
}

/* The replies of a well-formed conversation for njobs jobs; false when it is not one. */
static bool spec_replies(struct expect *out, size_t njobs, size_t nlevels, const uint8_t *d,
                         size_t n)
{
	for (size_t frame = 0; frame <= njobs; frame++) {
		if (n < 4 || le32(d) == 0 || n - 4 < le32(d))
			return false;
		const uint8_t *p = d + 4;
		size_t len = le32(d);
		d += 4 + len, n -= 4 + len;
		if (frame == 0) {
			if (p[0] != 'H')
				return false;
			continue;
		}
		struct expect *e = &out[frame - 1];
		if (p[0] == 'E') {
			e->status = PYC_ECOMPILE;
			if (!take_fields(e, p, len, 1, 3))
				return false;
		} else if (p[0] == 'R' && len >= 5 && le32(p + 1) == nlevels) {
			e->status = 0;
			if (!take_fields(e, p, len, 5, nlevels + 1))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static bool buf_is(const pyc_buf *b, const uint8_t *p, size_t n)
{
	return b->len == n && (n == 0 || memcmp(b->ptr, p, n) == 0);
}

static void check_job(const pyc_job *job, const struct expect *e, const uint8_t *data,
                      size_t size)
{
	FUZZ_CHECK(job->status == 0 || job->status == PYC_ECOMPILE || job->status == PYC_EINTERP);
	/* The bodies and error fields are defined only for the status that fills them. */
	for (size_t i = 0; job->status == 0 && i < PYC_JOB_MAX_LEVELS; i++)
		FUZZ_CHECK(from_worker(&job->body[i], data, size) &&
		           (i < job->nlevels || job->body[i].len == 0));
	if (job->status == PYC_ECOMPILE)
		FUZZ_CHECK(from_worker(&job->error_type, data, size) &&
		           from_worker(&job->error_text, data, size));
	if (job->status == 0 || job->status == PYC_ECOMPILE)
		FUZZ_CHECK(from_worker(&job->warnings, data, size));
	if (!e)
		return;
	FUZZ_CHECK(job->status == e->status);
	FUZZ_CHECK(buf_is(&job->warnings, e->field[e->nfields - 1], e->len[e->nfields - 1]));
	if (e->status == PYC_ECOMPILE)
		FUZZ_CHECK(buf_is(&job->error_type, e->field[0], e->len[0]) &&
		           buf_is(&job->error_text, e->field[1], e->len[1]));
	for (size_t i = 0; e->status == 0 && i < job->nlevels; i++)
		FUZZ_CHECK(buf_is(&job->body[i], e->field[i], e->len[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t njobs = 1 + (data[0] & 3), nlevels = 1 + ((data[0] >> 2) & 7);
	data++, size--;
	fuzz_write_file(fuzz_scratch_dir(), "reply", data, size);

	pyc_interp interp = { .exe = (char *)PYC_FUZZ_WORKER_STUB, .major = 3, .minor = 12 };
	pyc_pool *pool;
	pyc_error err = { 0 };
	FUZZ_CHECK(pyc_pool_new(&pool, &interp, 1, 0, on_done, NULL, &err) == 0);
	pyc_job jobs[MAX_JOBS] = { 0 };
	int done[MAX_JOBS] = { 0 };
	bool accepted[MAX_JOBS] = { 0 };
	for (size_t j = 0; j < njobs; j++) {
		jobs[j] = (pyc_job){ .source = (const uint8_t *)"x = 1\n", .source_len = 6,
		                     .dfile = "m.py", .nlevels = nlevels, .user = &done[j] };
		int rc = pyc_pool_submit(pool, &jobs[j], &err);
		FUZZ_CHECK(rc == 0 || rc == PYC_EINTERP);
		accepted[j] = rc == 0;
	}
	int rc = pyc_pool_drain(pool, &err);
	FUZZ_CHECK(rc == 0 || rc == PYC_EINTERP);

	struct expect want[MAX_JOBS];
	bool spec = njobs <= 2 && spec_replies(want, njobs, nlevels, data, size);
	for (size_t j = 0; j < njobs; j++) {
		FUZZ_CHECK(done[j] == (accepted[j] ? 1 : 0) && (accepted[j] || !spec));
		if (accepted[j])
			check_job(&jobs[j], spec ? &want[j] : NULL, data, size);
	}
	if (spec)
		FUZZ_CHECK(pyc_pool_started(pool) == 1);
	pyc_pool_free(pool);
	for (size_t j = 0; j < njobs; j++)
		pyc_job_dispose(&jobs[j]);
	return 0;
}
