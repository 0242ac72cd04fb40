/*
 * compileall.c - pyc_compileall_run (include/pyc/compileall.h): sets up the run and wires
 * its stages into one pipeline (compileall_internal.h): the walk pushes into the ordered
 * queue, whose helpers run the freshness check and the cache lookup, and whose consumer
 * here, in walk order, reports what needs no compile and routes each stale file to the
 * write stage (a known result) or the worker pool (whose results go to the write stage).
 */
#include "compileall_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ca_run {
	ca_cfg cfg;
	ca_sink sink;
	ca_walk walk;
	ca_queue q;
	ca_lookup lookup;
	ca_compiler compiler;
	ca_writer writer;
} ca_run;

/* Queue helper: the freshness check, then the lookup of what is stale. */
static void judge(void *ctx, void *item, void *local)
{
	ca_run *r = ctx;
	pyc_ca_item *it = item;
	pyc_compileall__check(&r->cfg, it, local);
	if (it->candidate && it->why != PYC_COMPILEALL_FRESH && !r->cfg.o->dry_run)
		pyc_compileall__lookup(&r->lookup, it);
}

static void dispose_scratch(void *local)
{
	pyc_buf *scratch = local;
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		pyc_buf_dispose(&scratch[i]);
}

static void drop(void *ctx, void *item)
{
	(void)ctx;
	pyc_compileall__item_free(item);
}

static int consume_dir_event(ca_sink *s, pyc_ca_item *it)
{
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_LISTING, .path = it->fullname };
	if (it->kind == CA_ITEM_SKIP_CURDIR)
		ev.kind = PYC_COMPILEALL_SKIP_CURDIR;
	if (it->kind == CA_ITEM_CANT_LIST) {
		ev.kind = PYC_COMPILEALL_CANT_LIST;
		ev.sys_errno = it->sys_errno;
		ev.sys_path_mode = it->sys_path_mode;
		if (!it->sys_path_mode)
			s->st->unlisted++;
	}
	pyc_compileall__emit(s, &ev);
	pyc_compileall__item_free(it);
	return 0;
}

/* A stale file, in walk order: announce it, then to the writer with a known result or
 * to the pool. */
static int route_stale(ca_run *r, pyc_ca_item *it)
{
	ca_sink *s = &r->sink;
	pyc_compileall_event ev = { .path = it->fullname, .why = it->why,
	                            .outputs = (const char *const *)it->cfiles,
	                            .noutputs = r->cfg.nlevels };
	if (r->cfg.o->dry_run) {
		ev.kind = PYC_COMPILEALL_WOULD_COMPILE;
		s->st->compiled++;
		pyc_compileall__emit(s, &ev);
		pyc_compileall__item_free(it);
		return 0;
	}
	ev.kind = PYC_COMPILEALL_COMPILING;
	pyc_compileall__emit(s, &ev);
	if (pyc_compileall__read_source(&r->cfg, s, it) <= 0) {
		pyc_compileall__item_free(it);
		return 0;
	}
	if (pyc_compileall__lookup_resolve(&r->lookup, s, it)) {
		pyc_compileall__write(&r->writer, it);
		return 0;
	}
	r->compiler.backlog = pyc_compileall__queue_waiting(&r->q);
	return pyc_compileall__compile(&r->compiler, it);
}

/* The queue's consumer (main thread, walk order). */
static int consume(void *ctx, void *item)
{
	ca_run *r = ctx;
	ca_sink *s = &r->sink;
	pyc_ca_item *it = item;
	if (it->kind != CA_ITEM_FILE)
		return consume_dir_event(s, it);
	if (it->strip_ignored) {
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_STRIP_IGNORED,
		                            .path = it->fullname, .stripdir = it->stripdir };
		pyc_compileall__emit(s, &ev);
	}
	int rc = it->dfile_rc;
	if (rc == PYC_ENOMEM || !it->candidate) {
		if (pyc_compileall__is_py_name(it->fullname))
			s->st->skipped++;
		pyc_compileall__item_free(it);
		return rc == PYC_ENOMEM ? rc : 0;
	}
	if (rc < 0 || it->cache_err < 0) {
		/* compileall crashes in os.path.join(); we fail just this file. */
		pyc_compileall__fail(s, it->fullname, "internal", rc < 0
		                     ? "-s strips the whole path: nothing is left"
		                     : "cannot compute the cache path");
	} else if (it->why == PYC_COMPILEALL_FRESH) {
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_UP_TO_DATE, .path = it->fullname };
		s->st->up_to_date++;
		pyc_compileall__emit(s, &ev);
	} else {
		return route_stale(r, it);
	}
	pyc_compileall__item_free(it);
	return 0;
}

static int cfg_setup(ca_cfg *c, const pyc_compileall_opts *o, pyc_error *err)
{
	if (o->source_date_epoch && *o->source_date_epoch && !o->mode_set && c->in->minor >= 7)
		c->mode = PYC_INVALIDATION_CHECKED_HASH;
	else
		c->mode = o->mode_set ? o->mode : PYC_INVALIDATION_TIMESTAMP;
	bool sys_path = o->npaths == 0;
	c->nlevels = pyc_compileall_levels(c->levels, sys_path ? NULL : o->levels,
	                                   sys_path ? 0 : o->nlevels, c->in->optimize, o->legacy);
	c->maxlevels = o->maxlevels >= 0 ? o->maxlevels
	               : pyc_compileall_default_maxlevels(c->in->major, c->in->minor,
	                                                  c->in->recursion_limit);
	if (!(c->cwd = getcwd(NULL, 0)))
		return pyc_error_set(err, PYC_EIO, errno, "cannot get the current directory");
	if (!sys_path && o->limit_sl_dest && *o->limit_sl_dest) {
		c->limit_real = realpath(o->limit_sl_dest, NULL);
		if (!c->limit_real && !(c->limit_real = strdup(o->limit_sl_dest)))
			return PYC_ENOMEM;
	}
	return 0;
}

/* Every stage gets the settings, the sink, and the stage after it. */
static int wire(ca_run *r, pyc_error *err)
{
	pyc_compileall__lookup_init(&r->lookup, &r->cfg);
	r->writer = (ca_writer){ .cfg = &r->cfg, .sink = &r->sink, .store = &r->lookup };
	r->compiler = (ca_compiler){ .cfg = &r->cfg, .sink = &r->sink, .writer = &r->writer,
	                             .backlog = SIZE_MAX };
	int rc = pyc_compileall__walk_init(&r->walk, &r->cfg, &r->q, &r->sink.stop, err);
	if (rc < 0)
		return rc;
	r->walk.found = &r->sink.st->found;
	ca_queue_ops ops = { .check = judge, .consume = consume, .drop = drop,
	                     .local_dispose = dispose_scratch,
	                     .local_size = PYC_COMPILEALL_MAX_LEVELS * sizeof(pyc_buf), .ctx = r };
	return pyc_compileall__queue_start(&r->q, &ops,
	                                   pyc_compileall__queue_helpers(r->cfg.o->jobs,
	                                                                 r->cfg.o->use_store &&
	                                                                 r->cfg.o->nremotes > 0));
}

int pyc_compileall_run(const pyc_compileall_opts *o, const pyc_interp *interp,
                       pyc_compileall_event_fn on_event, void *ctx,
                       pyc_compileall_stats *stats, pyc_error *err)
{
	ca_run r = { .cfg = { .o = o, .in = interp },
	             .sink = { .on_event = on_event, .ctx = ctx, .st = stats, .err = err } };
	int rc = cfg_setup(&r.cfg, o, err);
	if (rc == 0)
		rc = wire(&r, err);
	if (rc == 0)
		rc = pyc_compileall__walk(&r.walk);
	stats->walk_done = true;
	int qrc = pyc_compileall__queue_finish(&r.q);
	if (rc == 0)
		rc = qrc;
	int drc = pyc_compileall__compile_finish(&r.compiler);
	if (rc == 0)
		rc = drc ? drc : r.sink.fatal;
	pyc_compileall__write_dispose(&r.writer);
	pyc_compileall__lookup_dispose(&r.lookup);
	pyc_compileall__walk_dispose(&r.walk);
	free(r.cfg.limit_real);
	free(r.cfg.cwd);
	return rc;
}
