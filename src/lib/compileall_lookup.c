/*
 * compileall_lookup.c - the cache lookup stage, between the freshness verdict and the
 * worker pool, and the record of what the pool made of a miss (docs/compile.md, "The
 * cache").
 *
 * The key is the compiler identity, the compiles compileall makes (levels, in order, the
 * discarded ones too: they change the later ones' bytes), the hash seed where the bytes
 * depend on it (before 3.11), the workers' environment where it changes the result
 * (worker_env), and the source; not the path. A stored body is re-targeted
 * to this file's dfile (pyc/marshal.h). An entry that cannot be re-targeted (the filename
 * object is shared, or the compile wrote warnings or failed: both texts name the path) is
 * keyed with the dfile as well, and a small "by path" marker under the path-less key says
 * so; warnings and errors whose dfile can be put back exactly are stored as templates
 * under the path-less key instead (compileall_retarget.c). Lookups run on the queue's
 * helper threads, so hashing and reading run ahead of the main thread, which only writes.
 *
 * Remote caches (pyc/remote.h) come after the store, as ccache's: a remote hit is put
 * into the store (the next run finds it locally), and what the pool makes of a miss goes
 * to the store and to every writable remote. Without remotes nothing here changes.
 */
#include "compileall_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pyc_compileall__lookup_init(ca_lookup *l, const ca_cfg *cfg)
{
	*l = (ca_lookup){ .cfg = cfg };
	pthread_mutex_init(&l->mu, NULL);
	atomic_init(&l->ready, false);
}

/* Strict UTF-8 (no surrogates, no overlong forms): what os.fsdecode gives back unchanged
 * on a UTF-8 file system, so co_filename's bytes are the dfile's. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
		                                 : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (n == 9 || (n == 1 && c < 0xc2))
			return false;
		uint32_t cp = n == 0 ? c : c & (0x3f >> n);
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		s += n + 1;
	}
	return true;
}

/* Open the store on the first lookup (a run with nothing stale never touches it). */
/*
 * What the workers' environment changes in a result, beside the compiler: the file
 * system encoding decodes the dfile into co_filename and the texts; the stderr encoding
 * (the locale's, as stdout's, or PYTHONIOENCODING's) encodes the captured warnings; the
 * warnings filters (PYTHONWARNINGS, PYTHONDEVMODE) say which warnings there are;
 * PYTHONNODEBUGRANGES drops the column table from the code (3.11+), and
 * PYTHONINTMAXSTRDIGITS decides whether a long int literal compiles. Without them, a
 * store shared by runs under other locales or settings gave one run another's
 * co_filename and warning texts (the compile oracle shares one store across its sets).
 */
static int worker_env(const pyc_interp *in, pyc_buf *out)
{
	static const char *const vars[] = { "PYTHONWARNINGS", "PYTHONDEVMODE",
	                                    "PYTHONNODEBUGRANGES", "PYTHONINTMAXSTRDIGITS" };
	int rc = pyc_buf_printf(out, "fs=%s\nout=%s:%s\n", in->fs_encoding ? in->fs_encoding : "",
	                        in->stdout_encoding ? in->stdout_encoding : "",
	                        in->stdout_errors ? in->stdout_errors : "");
	for (size_t i = 0; rc >= 0 && i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		/* Unset and empty are the same to CPython. */
		rc = pyc_buf_printf(out, "%s=%s\n", vars[i], v ? v : "");
	}
	return rc < 0 ? PYC_ENOMEM : 0;
}

static void open_store(ca_lookup *l)
{
	const ca_cfg *c = l->cfg;
	if (!c->o->use_store)
		return;
	pyc_error err = { 0 };
	int rc = pyc_store_open(&l->store, c->o->store_dir, NULL, &err);
	if (rc == 0 && (rc = pyc_interp_identity(c->in, &l->identity, &err)) == 0 &&
	    (rc = worker_env(c->in, &l->env)) < 0)
		pyc_error_set(&err, rc, 0, "out of memory");
	if (rc < 0 && l->store) {
		pyc_store_free(l->store);
		l->store = NULL;
	}
	/* No cache directory configured at all (no HOME): no store, nothing to warn about. */
	if (rc < 0 && rc != PYC_ENOTFOUND)
		pyc_buf_printf(&l->warning, "the compile cache is not used: %s", err.message);
	/* The remotes hang off the store: without a store, no remote either. */
	if (rc == 0 && c->o->nremotes > 0 &&
	    pyc_remotes_new(&l->remotes, c->o->remotes, c->o->nremotes, c->o->store_dir, &err) < 0)
		pyc_buf_printf(&l->warning, "the remote caches are not used: %s", err.message);
	const char *enc = c->in->fs_encoding;
	l->utf8_fs = enc && strcmp(enc, "utf-8") == 0;

	if (c->in->major == 3 && c->in->minor < 11) {
		const char *seed = getenv("PYTHONHASHSEED");
		l->seed = strdup(seed && *seed ? seed : "0");   /* what the pool gives workers */
	}
}

static bool store_ready(ca_lookup *l)
{
	if (!atomic_load_explicit(&l->ready, memory_order_acquire)) {
		pthread_mutex_lock(&l->mu);
		if (!atomic_load_explicit(&l->ready, memory_order_relaxed))
			open_store(l);
		atomic_store_explicit(&l->ready, true, memory_order_release);
		pthread_mutex_unlock(&l->mu);
	}
	return l->store != NULL;
}

/* The compiles of one file as the pool makes them (levels and which are discarded). */
static void add_compiles(pyc_store_keyer *k, const ca_cfg *c)
{
	int seq[PYC_COMPILEALL_MAX_COMPILES];
	bool discard[PYC_COMPILEALL_MAX_COMPILES];
	size_t n = pyc_compileall__sequence(c, seq, discard);
	pyc_store_key_add_u64(k, n);
	for (size_t i = 0; i < n; i++) {
		pyc_store_key_add_u64(k, (uint64_t)(int64_t)seq[i]);
		pyc_store_key_add_u64(k, discard[i]);
	}
}

static int make_key(const ca_lookup *l, const pyc_ca_item *it, const char *dfile,
                    pyc_store_key *out)
{
	pyc_store_keyer k;
	pyc_store_key_init(&k);
	pyc_store_key_add(&k, l->identity.ptr, l->identity.len);
	add_compiles(&k, l->cfg);
	pyc_store_key_add(&k, l->seed, l->seed ? strlen(l->seed) : 0);
	pyc_store_key_add(&k, l->env.ptr, l->env.len);
	pyc_store_key_add(&k, dfile, dfile ? strlen(dfile) : 0);
	pyc_store_key_add(&k, it->source, it->source_len);
	return pyc_store_key_final(&k, out);
}

/* The entry at key from the remotes, put into the store as well; false for a miss. */
static bool get_remote(ca_lookup *l, const pyc_store_key *key, pyc_buf *val)
{
	double seconds = 0;
	pyc_error err = { 0 };
	if (pyc_remotes_get(l->remotes, key, val, &seconds, NULL, NULL) != 0)
		return false;
	if (pyc_store_put(l->store, key, val->ptr, val->len, seconds, &err) == PYC_EIO) {
		pthread_mutex_lock(&l->mu);
		if (!l->warning.len)
			pyc_buf_printf(&l->warning, "the compile cache is not written: %s", err.message);
		pthread_mutex_unlock(&l->mu);
	}
	return true;
}

/* Get and parse the entry at key, from the store or else a remote (*remote set); false
 * for a miss (absent, unusable, not a record). */
static bool get_record(ca_lookup *l, const pyc_store_key *key, pyc_buf *val, ca_record *rec,
                       bool *remote)
{
	*remote = false;
	if (pyc_store_get(l->store, key, val, NULL) != 0 &&
	    !(l->remotes && (*remote = get_remote(l, key, val))))
		return false;
	return pyc_compileall__record_parse(rec, (const uint8_t *)val->ptr, val->len) == 0;
}

static bool copy_span(pyc_buf *to, ca_span s)
{
	pyc_buf_clear(to);
	return s.len == 0 || pyc_buf_put(to, s.p, s.len) == 0;
}

/* Undo a partly taken result: the pool fills the job from scratch. */
static void clear_result(pyc_job *job)
{
	job->status = 0;
	for (size_t i = 0; i < PYC_JOB_MAX_LEVELS; i++)
		pyc_buf_clear(&job->body[i]);
	pyc_buf_clear(&job->warnings);
	pyc_buf_clear(&job->error_type);
	pyc_buf_clear(&job->error_text);
}

/* A stored text into to, its template expanded with it's dfile when it is one. */
static bool take_text(const pyc_ca_item *it, const ca_record *rec, ca_span s, pyc_buf *to)
{
	return rec->templated ? pyc_compileall__text_expand(it, s, to) == 0 : copy_span(to, s);
}

/* The stored result into it->job; bodies re-targeted to dfile unless by path. */
static bool take_result(const ca_lookup *l, pyc_ca_item *it, const ca_record *rec,
                        const char *dfile)
{
	pyc_job *job = &it->job;
	if (!take_text(it, rec, rec->warnings, &job->warnings))
		return false;
	if (rec->kind == 'E') {
		job->status = PYC_ECOMPILE;
		return copy_span(&job->error_type, rec->error_type) &&
		       take_text(it, rec, rec->error_text, &job->error_text);
	}
	if (rec->kind != 'B' || rec->n != l->cfg->nlevels)
		return false;
	unsigned flags = l->cfg->in->gil_disabled ? PYC_MARSHAL_CLASH_ANY : 0;
	size_t dlen = strlen(dfile);
	for (size_t i = 0; i < rec->n; i++) {
		const uint8_t *b = rec->body[i].p;
		size_t n = rec->body[i].len;
		bool clash = false;
		pyc_buf_clear(&job->body[i]);
		if (it->by_path) {
			if (!copy_span(&job->body[i], rec->body[i]))
				return false;
		} else if (pyc_marshal_check_clash(b, n, l->cfg->in->minor, &rec->slot[i], dfile,
		                                   dlen, flags, &clash, NULL) < 0 || clash ||
		           pyc_marshal_retarget(b, n, &rec->slot[i], dfile, dlen, &job->body[i],
		                                NULL) < 0) {
			return false;
		}
	}
	job->status = 0;
	return true;
}

void pyc_compileall__lookup(ca_lookup *l, pyc_ca_item *it)
{
	if (!it->source || it->read_errno || !store_ready(l))
		return;
	it->cache = PYC_COMPILEALL_CACHE_MISS;
	const char *dfile = pyc_compileall__item_dfile(it);
	it->portable = l->utf8_fs && utf8_valid((const unsigned char *)dfile);
	it->by_path = !it->portable;
	pyc_buf val = PYC_BUF_INIT;
	ca_record rec;
	bool hit = false;
	if (it->portable && make_key(l, it, NULL, &it->key) < 0) {
		it->cache = PYC_COMPILEALL_CACHE_OFF;   /* out of memory: just compile */
		return;
	}
	bool remote = false;
	if (it->portable && get_record(l, &it->key, &val, &rec, &remote)) {
		/* Texts stored as templates that cannot be expanded here exactly: this path's
		 * own entry, if any; the template stays (no marker over it). */
		it->keep_template = rec.templated && !pyc_compileall__text_portable(it);
		it->by_path = rec.kind == 'P' || it->keep_template;
		hit = !it->by_path && (rec.kind == 'B' || rec.kind == 'E') &&
		      take_result(l, it, &rec, dfile);
	}
	pyc_store_key key;
	if (it->by_path && make_key(l, it, dfile, &key) == 0 &&
	    get_record(l, &key, &val, &rec, &remote))
		hit = rec.kind != 'P' && take_result(l, it, &rec, dfile);
	it->remote_hit = hit && remote;
	if (hit)
		it->cache = PYC_COMPILEALL_CACHE_HIT;
	else
		clear_result(&it->job);
	pyc_buf_dispose(&val);
}

static void warn_once(ca_lookup *l, ca_sink *s, const char *text)
{
	if (l->warned)
		return;
	l->warned = true;
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_STORE_WARNING, .error_text = text };
	pyc_compileall__emit(s, &ev);
}

/* Each remote that failed warns once (its own text). */
static void warn_remotes(ca_lookup *l, ca_sink *s)
{
	while (pyc_remotes_warning(l->remotes, &l->remote_warning)) {
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_STORE_WARNING,
		                            .error_text = pyc_buf_cstr(&l->remote_warning) };
		pyc_compileall__emit(s, &ev);
	}
}

bool pyc_compileall__lookup_resolve(ca_lookup *l, ca_sink *s, pyc_ca_item *it)
{
	if (!l->warned && atomic_load(&l->ready)) {
		pthread_mutex_lock(&l->mu);
		if (l->warning.len)
			warn_once(l, s, pyc_buf_cstr(&l->warning));
		pthread_mutex_unlock(&l->mu);
	}
	if (l->remotes)
		warn_remotes(l, s);
	return it->cache == PYC_COMPILEALL_CACHE_HIT;
}

/* Whether every body's filename object can be re-targeted, and is this file's dfile. */
static bool find_slots(const ca_lookup *l, const pyc_ca_item *it, pyc_marshal_slot *slots)
{
	const char *dfile = pyc_compileall__item_dfile(it);
	pyc_buf name = PYC_BUF_INIT;
	bool ok = true;
	for (size_t i = 0; ok && i < l->cfg->nlevels; i++) {
		const uint8_t *b = (const uint8_t *)it->job.body[i].ptr;
		size_t n = it->job.body[i].len;
		pyc_buf_clear(&name);
		ok = pyc_marshal_find_filename(b, n, l->cfg->in->minor, &slots[i], NULL) == 0 &&
		     pyc_marshal_slot_name(b, n, &slots[i], &name, NULL) == 0 &&
		     strcmp(pyc_buf_cstr(&name), dfile) == 0;
	}
	pyc_buf_dispose(&name);
	return ok;
}

static void put(ca_lookup *l, ca_sink *s, const pyc_store_key *key, double seconds)
{
	pyc_error err = { 0 };
	if (pyc_store_put(l->store, key, l->scratch.ptr, l->scratch.len, seconds, &err) ==
	    PYC_EIO) {
		char msg[PYC_ERROR_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "the compile cache is not written: %s", err.message);
		warn_once(l, s, msg);
	}
	if (l->remotes) {
		pyc_remotes_put(l->remotes, key, l->scratch.ptr, l->scratch.len, seconds);
		warn_remotes(l, s);
	}
}

/* The texts of a miss that failed or warned as templates into tw, tt (warnings, error
 * text): true when both are provably exact (compileall_retarget.c). */
static bool template_texts(const pyc_ca_item *it, pyc_buf *tw, pyc_buf *tt)
{
	const pyc_job *job = &it->job;
	return pyc_compileall__text_template(it, &job->warnings, tw) == 1 &&
	       (job->status == 0 || pyc_compileall__text_template(it, &job->error_text, tt) == 1);
}

void pyc_compileall__lookup_record(ca_lookup *l, ca_sink *s, const pyc_ca_item *it)
{
	const pyc_job *job = &it->job;
	if (it->cache != PYC_COMPILEALL_CACHE_MISS || (pyc_store_degraded(l->store) && !l->remotes) ||
	    (job->status != 0 && job->status != PYC_ECOMPILE))
		return;
	pyc_marshal_slot slots[PYC_JOB_MAX_LEVELS] = { { 0, 0 } };
	pyc_buf tw = PYC_BUF_INIT, tt = PYC_BUF_INIT;
	bool texts = job->status != 0 || job->warnings.len > 0;
	bool by_path = it->by_path || (job->status == 0 && !find_slots(l, it, slots));
	bool tmpl = texts && !by_path && template_texts(it, &tw, &tt);
	by_path = by_path || (texts && !tmpl);
	const pyc_buf *warnings = tmpl ? &tw : &job->warnings;
	int rc = job->status == 0 ? pyc_compileall__record_bodies(&l->scratch, job->body,
	                                                         l->cfg->nlevels, slots, warnings,
	                                                         tmpl)
	                          : pyc_compileall__record_error(&l->scratch, &job->error_type,
	                                                        tmpl ? &tt : &job->error_text,
	                                                        warnings, tmpl);
	pyc_buf_dispose(&tw);
	pyc_buf_dispose(&tt);
	pyc_store_key key;
	if (rc < 0 || (by_path && make_key(l, it, pyc_compileall__item_dfile(it), &key) < 0))
		return;
	put(l, s, by_path ? &key : &it->key, it->compile_seconds);
	/* The marker saves no compile: "time saved" counts the entry's seconds once. */
	if (by_path && it->portable && !it->keep_template &&
	    pyc_compileall__record_marker(&l->scratch) == 0)
		put(l, s, &it->key, 0);
}

void pyc_compileall__lookup_dispose(ca_lookup *l)
{
	pyc_remotes_free(l->remotes);
	l->remotes = NULL;
	pyc_store_free(l->store);
	l->store = NULL;
	pyc_buf_dispose(&l->remote_warning);
	pyc_buf_dispose(&l->identity);
	pyc_buf_dispose(&l->env);
	pyc_buf_dispose(&l->warning);
	pyc_buf_dispose(&l->scratch);
	free(l->seed);
	pthread_mutex_destroy(&l->mu);
}

const char *pyc_compileall_cache_name(enum pyc_compileall_cache c)
{
	switch (c) {
	case PYC_COMPILEALL_CACHE_OFF: return "off";
	case PYC_COMPILEALL_CACHE_MISS: return "miss";
	case PYC_COMPILEALL_CACHE_HIT: return "hit";
	}
	return "?";
}
