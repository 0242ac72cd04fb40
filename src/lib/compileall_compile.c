/*
 * compileall_compile.c - the worker pool stage: a stale file nobody has the result of is
 * compiled by the target interpreter (pool.h); each result, in the pool's on_done, goes
 * on to the write stage. The pool starts with the first such file, so a run with nothing
 * to compile starts no interpreter.
 */
#include "compileall_internal.h"
#include "interp_internal.h"
#include "proc_internal.h"

size_t pyc_compileall__sequence(const ca_cfg *c, int *seq, bool *discard)
{
	/* Every compile compileall makes, discarded ones too: c->levels are the kept ones. */
	bool sys_path = c->o->npaths == 0;
	return pyc_compileall_sequence(seq, discard, c->o->levels, sys_path ? 0 : c->o->nlevels,
	                               c->in->optimize, c->o->legacy);
}

static void on_done(pyc_job *job, void *ctx)
{
	ca_compiler *c = ctx;
	pyc_ca_item *it = job->user;
	/* From the submit: includes the wait behind a worker's other job (docs/cache.md). */
	it->compile_seconds = pyc_proc__now() - it->submitted;
	pyc_compileall__write(c->writer, it);
}

static int ensure_pool(ca_compiler *c)
{
	const ca_cfg *cfg = c->cfg;
	if (c->pool)
		return 0;
	return pyc_pool_new(&c->pool, cfg->in, cfg->o->jobs ? cfg->o->jobs : 1,
	                    cfg->o->timeout_sec, on_done, c, c->sink->err);
}

/* The cached probe answered for an interpreter that may have changed since: the first
 * worker's hello answers the same questions (worker_script.c), before the first compile,
 * so checking costs no interpreter start of its own. Returns true when the run may go on
 * with cfg->in. */
static bool probe_still_valid(ca_compiler *c)
{
	const char *hello;
	size_t len;
	c->verified = true;
	int rc = ensure_pool(c);
	if (rc == 0)
		rc = pyc_pool_hello(c->pool, &hello, &len, c->sink->err);
	if (rc < 0) {
		pyc_compileall__stop(c->sink, rc);
		return false;
	}
	bool same = pyc_interp__same_answer(c->cfg->in, hello, len);
	if (!same) {
		c->sink->st->reprobed = true;
		c->sink->stop = true;
	}
	return same;
}

static int start_job(ca_compiler *c, pyc_ca_item *it)
{
	const ca_cfg *cfg = c->cfg;
	int rc = ensure_pool(c);
	if (rc < 0)
		return rc;
	it->job.source = it->source;
	it->job.source_len = it->source_len;
	it->job.dfile = pyc_compileall__item_dfile(it);
	it->job.nlevels = pyc_compileall__sequence(cfg, it->job.levels, it->job.discard);
	it->job.user = it;
	it->submitted = pyc_proc__now();
	pyc_pool_expect(c->pool, c->backlog);
	return pyc_pool_submit(c->pool, &it->job, c->sink->err);
}

int pyc_compileall__compile(ca_compiler *c, pyc_ca_item *it)
{
	ca_sink *s = c->sink;
	if (c->cfg->in->from_cache && !c->verified && !probe_still_valid(c)) {
		pyc_compileall__item_free(it);
		return s->fatal;
	}
	int rc = start_job(c, it);
	if (rc == PYC_EINVAL) {
		/* This job only (e.g. a source over 4 GiB): fail the file, go on. */
		pyc_compileall__fail(s, it->fullname, "internal", s->err ? s->err->message : "rejected");
		pyc_compileall__item_free(it);
		return 0;
	}
	if (rc < 0)
		/* Not accepted: the pool never calls on_done for it. */
		pyc_compileall__item_free(it);
	else if (c->cfg->o->jobs == 1)
		/* -j1 is compileall's sequential mode: each file's result (and error text)
		 * comes before the next file is looked at. The item belongs to on_done now. */
		rc = pyc_pool_drain(c->pool, s->err);
	return rc < 0 ? pyc_compileall__stop(s, rc) : 0;
}

int pyc_compileall__compile_finish(ca_compiler *c)
{
	int rc = 0;
	if (c->pool) {
		rc = pyc_pool_drain(c->pool, c->sink->err);
		c->sink->st->workers_started += pyc_pool_started(c->pool);
		pyc_pool_free(c->pool);
		c->pool = NULL;
	}
	return rc;
}
