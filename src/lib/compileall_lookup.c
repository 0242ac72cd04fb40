/*
 * compileall_lookup.c - the cache lookup stage, between the freshness verdict and the
 * worker pool: a stale file whose result is already known (a compile error remembered by
 * the failure cache) goes straight to the write stage, which reports it as the pool's
 * result would have been; the others go to the pool, and the write stage records what
 * the pool made of them.
 */
#include "compileall_internal.h"

void pyc_compileall__lookup_init(ca_lookup *l, const ca_cfg *cfg)
{
	*l = (ca_lookup){ .cfg = cfg };
}

void pyc_compileall__lookup(const ca_lookup *l, pyc_ca_item *it)
{
	/* No bytecode store yet: every stale file is a miss. */
	(void)l;
	(void)it;
}

bool pyc_compileall__lookup_resolve(ca_lookup *l, pyc_ca_item *it)
{
	if (!l->cfg->o->failure_cache)
		return false;
	/* Opened on the first stale file: a run with nothing to compile never reads it. */
	if (!l->fails_opened) {
		l->fails = pyc_compileall__failcache_open();
		l->fails_opened = true;
	}
	if (!l->fails)
		return false;
	it->fail_key = pyc_compileall__failcache_key(l->cfg, pyc_compileall__item_dfile(it),
	                                             it->source, it->source_len);
	const char *text = pyc_compileall__failcache_get(l->fails, it->fail_key);
	if (!text || pyc_buf_sets(&it->job.error_text, text) < 0)
		return false;
	it->job.status = PYC_ECOMPILE;
	it->hit = true;
	return true;
}

void pyc_compileall__lookup_record(ca_lookup *l, const pyc_ca_item *it)
{
	/* A failure that warned first is compiled again next time, so that its warnings
	 * are printed again, as compileall does: the cache keeps only the error text. */
	if (!it->hit && it->job.status == PYC_ECOMPILE && it->job.warnings.len == 0)
		pyc_compileall__failcache_put(l->fails, it->fail_key,
		                              pyc_buf_cstr(&it->job.error_text));
}

void pyc_compileall__lookup_dispose(ca_lookup *l)
{
	pyc_compileall__failcache_close(l->fails);
	l->fails = NULL;
}
