/*
 * remote.c - the remote cache core (pyc/remote.h, docs/cache.md "Remote cache"): the
 * list of remotes, a pool of backend clients per remote, verification of every entry,
 * "disable after a failure", and the run's counters. The backends (remote_internal.h)
 * only move bytes.
 *
 * A failed remote is disabled for the rest of the run rather than retried: a remote
 * that is down or hangs would otherwise cost its timeout on every file, and a run must
 * end within the timeouts ("never wrong, rarely slow"). A bad entry is only a miss: the
 * server works, one value on it does not.
 */
#include "pyc/remote.h"
#include "proc_internal.h"
#include "remote_internal.h"
#include "remote_stats_internal.h"
#include "remote_url_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct remote {
	pyc_remote_url url;
	char *mem;                      /* url's strings */
	const pyc_remote_backend *be;
	void *cfg;
	pthread_mutex_t mu;             /* guards the pool and why/warned */
	void **pool;                    /* idle clients */
	size_t npool, cap;
	atomic_bool disabled;
	char *why;                      /* the failure that disabled it */
	bool warned;
	atomic_llong hits, misses, stores, errors, bytes_read, bytes_written, time_us;
} remote;

struct pyc_remotes {
	remote *r;
	size_t n;
	char *stats_dir;                /* NULL: no counters kept */
};

static const pyc_remote_backend *backend_for(const char *scheme)
{
	static const pyc_remote_backend *const all[] = {
#ifdef PYC_HAVE_REDIS
		&pyc_remote__redis,
#endif
#ifdef PYC_HAVE_HTTP
		&pyc_remote__http,
#endif
		&pyc_remote__file,
	};
	const char *name = strcmp(scheme, "https") == 0 ? "http" : scheme;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->scheme, name) == 0)
			return all[i];
	return NULL;
}

/* Parse spec and configure its backend into *r (all fields set, even on failure). */
static int remote_init(remote *r, const char *spec, pyc_error *err)
{
	*r = (remote){ 0 };
	pthread_mutex_init(&r->mu, NULL);
	int rc = pyc_remote_url__parse(&r->url, &r->mem, spec, err);
	if (rc < 0)
		return rc;
	if (!(r->be = backend_for(r->url.scheme)))
		return pyc_error_set(err, PYC_EINVAL, 0, "invalid remote cache '%s': this pyc-tool is "
		                     "built without %s support", r->url.redacted, r->url.scheme);
	return r->be->config(&r->url, &r->cfg, err);
}

static void remote_dispose(remote *r)
{
	for (size_t i = 0; i < r->npool; i++)
		r->be->disconnect(r->pool[i]);
	free(r->pool);
	if (r->be && r->cfg)
		r->be->config_free(r->cfg);
	free(r->why);
	free(r->mem);
	pthread_mutex_destroy(&r->mu);
}

int pyc_remote_check(const char *spec, pyc_error *err)
{
	remote r;
	int rc = remote_init(&r, spec, err);
	remote_dispose(&r);
	return rc;
}

static int64_t now_us(void)
{
	return (int64_t)(pyc_proc__now() * 1e6);
}

/* Disable r for the rest of the run, keeping the first reason for the warning. */
static void fail(remote *r, const pyc_error *e)
{
	atomic_store(&r->disabled, true);
	atomic_fetch_add(&r->errors, 1);
	pthread_mutex_lock(&r->mu);
	if (!r->why)
		r->why = strdup(e->message[0] ? e->message : "failed");
	pthread_mutex_unlock(&r->mu);
}

/* An idle client, or a new one; NULL when r is disabled or the connection failed. */
static void *acquire(remote *r, pyc_error *e)
{
	void *c = NULL;
	if (atomic_load(&r->disabled))
		return NULL;
	pthread_mutex_lock(&r->mu);
	if (r->npool > 0)
		c = r->pool[--r->npool];
	pthread_mutex_unlock(&r->mu);
	if (c)
		return c;
	int64_t t0 = now_us();
	int rc = r->be->connect(r->cfg, &c, e);
	atomic_fetch_add(&r->time_us, now_us() - t0);
	if (rc < 0) {
		fail(r, e);
		return NULL;
	}
	return c;
}

/* Back to the pool after rc: a client whose call failed is closed instead. */
static void release(remote *r, void *c, int rc, const pyc_error *e)
{
	if (rc < 0 && rc != PYC_ENOTFOUND && rc != PYC_ENOMEM) {
		r->be->disconnect(c);
		fail(r, e);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if (r->npool == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		void **p = realloc(r->pool, cap * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&r->mu);
			r->be->disconnect(c);
			return;
		}
		r->pool = p;
		r->cap = cap;
	}
	r->pool[r->npool++] = c;
	pthread_mutex_unlock(&r->mu);
}

int pyc_remotes_new(pyc_remotes **out, const char *const *specs, size_t n,
                    const char *store_dir, pyc_error *err)
{
	pyc_remotes *rs = calloc(1, sizeof(*rs));
	int rc = 0;
	*out = NULL;
	if (!rs || !(rs->r = calloc(n ? n : 1, sizeof(*rs->r)))) {
		free(rs);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	for (; rc == 0 && rs->n < n; rs->n++)
		rc = remote_init(&rs->r[rs->n], specs[rs->n], err);
	pyc_buf dir = PYC_BUF_INIT;
	if (rc == 0 && pyc_store_dir(&dir, store_dir) == 0)
		rs->stats_dir = pyc_buf_detach(&dir);
	pyc_buf_dispose(&dir);
	if (rc < 0) {
		pyc_remotes_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

size_t pyc_remotes_count(const pyc_remotes *r)
{
	return r->n;
}

/* One remote's answer for key: 0 a verified hit, PYC_ENOTFOUND, PYC_ENOMEM. */
static int get_one(remote *r, const pyc_store_key *key, const char *hex, pyc_buf *raw,
                   pyc_buf *value, double *seconds, pyc_error *e)
{
	void *c = acquire(r, e);
	if (!c)
		return PYC_ENOTFOUND;
	int64_t t0 = now_us();
	int rc = r->be->get(c, hex, raw, e);
	atomic_fetch_add(&r->time_us, now_us() - t0);
	release(r, c, rc, e);
	if (rc == PYC_ENOMEM)
		return rc;
	if (rc == 0) {
		atomic_fetch_add(&r->bytes_read, (long long)raw->len);
		rc = pyc_store__decode((const uint8_t *)raw->ptr, raw->len, key, value, seconds, e);
		if (rc == PYC_ENOMEM)
			return rc;
		if (rc < 0)
			atomic_fetch_add(&r->errors, 1);   /* a bad entry: a miss, the remote stays */
	}
	atomic_fetch_add(rc == 0 ? &r->hits : &r->misses, 1);
	return rc == 0 ? 0 : PYC_ENOTFOUND;
}

int pyc_remotes_get(pyc_remotes *rs, const pyc_store_key *key, pyc_buf *value,
                    double *seconds, size_t *which, pyc_error *err)
{
	char hex[65];
	pyc_buf raw = PYC_BUF_INIT;
	pyc_error scratch = { 0 };
	int rc = PYC_ENOTFOUND;
	pyc_store_key_hex(key, hex);
	for (size_t i = 0; rc == PYC_ENOTFOUND && i < rs->n; i++) {
		rc = get_one(&rs->r[i], key, hex, &raw, value, seconds, err ? err : &scratch);
		if (rc == 0 && which)
			*which = i;
	}
	if (rc < 0)
		pyc_buf_clear(value);
	pyc_buf_dispose(&raw);
	return rc;
}

size_t pyc_remotes_put(pyc_remotes *rs, const pyc_store_key *key, const void *value,
                       size_t len, double compile_seconds)
{
	char hex[65];
	pyc_buf entry = PYC_BUF_INIT;
	size_t took = 0;
	if (len > STORE_ENTRY_MAX || pyc_store__encode(&entry, key, value, len, compile_seconds) < 0) {
		pyc_buf_dispose(&entry);
		return 0;
	}
	pyc_store_key_hex(key, hex);
	for (size_t i = 0; i < rs->n; i++) {
		remote *r = &rs->r[i];
		pyc_error e = { 0 };
		void *c = r->url.read_only ? NULL : acquire(r, &e);
		if (!c)
			continue;
		int64_t t0 = now_us();
		int rc = r->be->put(c, hex, entry.ptr, entry.len, &e);
		atomic_fetch_add(&r->time_us, now_us() - t0);
		release(r, c, rc, &e);
		if (rc == 0) {
			atomic_fetch_add(&r->stores, 1);
			atomic_fetch_add(&r->bytes_written, (long long)entry.len);
			took++;
		}
	}
	pyc_buf_dispose(&entry);
	return took;
}

bool pyc_remotes_warning(pyc_remotes *rs, pyc_buf *out)
{
	for (size_t i = 0; i < rs->n; i++) {
		remote *r = &rs->r[i];
		bool now = false;
		if (!atomic_load(&r->disabled))
			continue;
		pthread_mutex_lock(&r->mu);
		if (r->why && !r->warned) {
			now = r->warned = true;
			pyc_buf_printf(out, "the remote cache '%s' is not used for the rest of this run: %s",
			               r->url.redacted, r->why);
		}
		pthread_mutex_unlock(&r->mu);
		if (now)
			return true;
	}
	return false;
}

static void save_counts(const pyc_remotes *rs, remote *r)
{
	store_counters d = { .hits = r->hits, .misses = r->misses, .stores = r->stores,
	                     .errors = r->errors, .bytes_read = r->bytes_read,
	                     .bytes_written = r->bytes_written, .time_us = r->time_us };
	if (rs->stats_dir && (d.hits || d.misses || d.stores || d.errors))
		pyc_remote_stats__add(rs->stats_dir, r->url.redacted, &d);
}

void pyc_remotes_free(pyc_remotes *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].be)
			save_counts(rs, &rs->r[i]);
		remote_dispose(&rs->r[i]);
	}
	free(rs->r);
	free(rs->stats_dir);
	free(rs);
}

int pyc_remote_specs_split(const char *value, char ***specs, size_t *n)
{
	for (const char *p = value ? value : ""; *p;) {
		size_t skip = strspn(p, " \t\n"), len = strcspn(p + skip, " \t\n");
		p += skip;
		if (!len)
			break;
		char **grown = realloc(*specs, (*n + 1) * sizeof(**specs));
		if (!grown)
			return PYC_ENOMEM;
		*specs = grown;
		if (!(grown[*n] = strndup(p, len)))
			return PYC_ENOMEM;
		(*n)++;
		p += len;
	}
	return 0;
}

void pyc_remote_specs_free(char **specs, size_t n)
{
	for (size_t i = 0; specs && i < n; i++)
		free(specs[i]);
	free(specs);
}
