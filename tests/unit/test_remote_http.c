/*
 * test_remote_http.c - the http(s):// remote backend against a real nginx (issue #12).
 *
 * Run under tests/e2e/srv_nginx.py, which starts nginx with a WebDAV location and fault
 * locations and passes their URLs in PYC_TEST_HTTP_*; without them the server cases
 * skip. Oracles: the files nginx wrote under its root, nginx's status codes, the clock.
 * The URL parser is the core's, so the pyc_remote_url structs are built here by hand.
 */
#include "testutil.h"
#include "remote_internal.h"
#include "store_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A remote URL and the storage its strings point into. */
typedef struct turl {
	pyc_remote_url u;
	char url[512], redacted[512], scheme[8], host[64], path[128];
} turl;

/* Fill t from "SCHEME://HOST:PORT/PATH" (the env's URLs), with credentials when given. */
static void turl_init(turl *t, const char *env_url, const char *user, const char *pw_enc,
                      const char *pw)
{
	memset(t, 0, sizeof(*t));
	int port = 0;
	assert_int_equal(sscanf(env_url, "%7[a-z]://%63[^:/]:%d%127s", t->scheme, t->host, &port,
	                        t->path),
	                 4);
	if (user) {
		snprintf(t->url, sizeof(t->url), "%s://%s:%s@%s:%d%s", t->scheme, user, pw_enc,
		         t->host, port, t->path);
		snprintf(t->redacted, sizeof(t->redacted), "%s://%s:***@%s:%d%s", t->scheme, user,
		         t->host, port, t->path);
	} else {
		snprintf(t->url, sizeof(t->url), "%s", env_url);
		snprintf(t->redacted, sizeof(t->redacted), "%s", env_url);
	}
	t->u = (pyc_remote_url){ .url = t->url, .redacted = t->redacted, .scheme = t->scheme,
		                 .user = user, .password = user ? pw : NULL, .host = t->host,
		                 .port = port, .path = t->path, .connect_timeout_ms = 2000,
		                 .operation_timeout_ms = 10000 };
}

static void turl_attr(turl *t, const char *name, const char *value)
{
	assert_true(t->u.nattrs < PYC_REMOTE_MAX_ATTRS);
	t->u.attrs[t->u.nattrs].name = name;
	t->u.attrs[t->u.nattrs++].value = value;
}

/* The env variable, or skip the test saying so. */
static const char *need(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		tu_skip("%s unset: run under tests/e2e/srv_nginx.py (needs nginx)", name);
	}
	return v;
}

/* One remote and one client on it, with what a call needs. */
typedef struct fx {
	turl t;
	void *cfg, *client;
	pyc_error err;
	pyc_buf out;
	char hex[65];
} fx;

static void fx_connect(fx *f)
{
	if (pyc_remote__http.config(&f->t.u, &f->cfg, &f->err) != 0)
		fail_msg("config: %s", f->err.message);
	if (pyc_remote__http.connect(f->cfg, &f->client, &f->err) != 0)
		fail_msg("connect: %s", f->err.message);
}

/* A client of the URL in env (the test skips without it), on the key (prefix, 1). */
static void fx_open(fx *f, const char *env, unsigned prefix)
{
	memset(f, 0, sizeof(*f));
	turl_init(&f->t, need(env), NULL, NULL, NULL);
	snprintf(f->hex, sizeof(f->hex), "%02x%062u", prefix & 0xff, 1u);
	fx_connect(f);
}

static void fx_close(fx *f)
{
	pyc_remote__http.disconnect(f->client);
	pyc_remote__http.config_free(f->cfg);
	pyc_buf_dispose(&f->out);
}

static int fx_get(fx *f, const char *hex)
{
	return pyc_remote__http.get(f->client, hex, &f->out, &f->err);
}

static int fx_put(fx *f, const char *hex, const void *data, size_t len)
{
	return pyc_remote__http.put(f->client, hex, data, len, &f->err);
}

/* The place of a key in the default layout: "ab/cdef...". */
static const char *subdir_path(const char *hex, char out[80])
{
	snprintf(out, 80, "%.2s/%s", hex, hex + 2);
	return out;
}

static uint8_t *random_bytes(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

/* The file at root/rel must hold exactly data[0..len). */
static void assert_file(const char *root, const char *rel, const void *data, size_t len)
{
	FILE *f = fopen(tu_path(root, rel), "rb");
	if (!f)
		fail_msg("no file '%s' under the server's root", rel);
	uint8_t *got = malloc(len + 1);
	assert_non_null(got);
	size_t n = fread(got, 1, len + 1, f);
	fclose(f);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_round_trip_binary_1mib(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "PYC_TEST_HTTP_URL", 0x1a);
	const char *root = need("PYC_TEST_HTTP_ROOT");
	size_t len = 1 << 20;
	uint8_t *a = random_bytes(len, 1), *b = random_bytes(len / 3, 2);
	char rel[80];

	assert_int_equal(fx_put(&f, f.hex, a, len), 0);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_int_equal(f.out.len, len);
	assert_memory_equal(f.out.ptr, a, len);
	assert_file(root, subdir_path(f.hex, rel), a, len);
	/* A second put replaces the entry, shorter, on the same kept-alive connection. */
	assert_int_equal(fx_put(&f, f.hex, b, len / 3), 0);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_int_equal(f.out.len, len / 3);
	assert_memory_equal(f.out.ptr, b, len / 3);
	assert_file(root, rel, b, len / 3);
	/* Empty is a value too. */
	assert_int_equal(fx_put(&f, f.hex, "", 0), 0);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_int_equal(f.out.len, 0);
	free(a);
	free(b);
	fx_close(&f);
}

/* Threads with a client each, configured at once (curl's global init runs once). No
 * cmocka assert in a thread: it reports through its return value. */
#define NTHREADS 4
#define NROUNDS 40

typedef struct worker {
	const turl *t;
	unsigned id;
	bool ok;
} worker;

static void *thread_round_trips(void *arg)
{
	worker *w = arg;
	void *cfg = NULL, *client = NULL;
	pyc_error err = { 0 };
	pyc_buf out = PYC_BUF_INIT;

	w->ok = pyc_remote__http.config(&w->t->u, &cfg, &err) == 0 &&
	        pyc_remote__http.connect(cfg, &client, &err) == 0;
	for (unsigned i = 0; w->ok && i < NROUNDS; i++) {
		char data[64], hex[65];
		int n = snprintf(data, sizeof(data), "thread %u round %u", w->id, i);
		snprintf(hex, sizeof(hex), "%02x%062u", 0xc0 + w->id, i % 8);
		w->ok = pyc_remote__http.put(client, hex, data, (size_t)n, &err) == 0 &&
		        pyc_remote__http.get(client, hex, &out, &err) == 0 &&
		        out.len == (size_t)n && memcmp(out.ptr, data, (size_t)n) == 0;
	}
	pyc_remote__http.disconnect(client);
	pyc_remote__http.config_free(cfg);
	pyc_buf_dispose(&out);
	return NULL;
}

static void test_threads_each_with_a_client(void **state)
{
	(void)state;
	pthread_t tid[NTHREADS];
	worker w[NTHREADS];
	turl t;

	turl_init(&t, need("PYC_TEST_HTTP_URL"), NULL, NULL, NULL);
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (worker){ &t, i, false };
		assert_int_equal(pthread_create(&tid[i], NULL, thread_round_trips, &w[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_true(w[i].ok);
}

/* ccache's layouts: where each puts a key under the server's root. */
static void test_layouts(void **state)
{
	(void)state;
	const char *root = need("PYC_TEST_HTTP_ROOT");
	static const struct {
		const char *attr; /* NULL: the default */
		const char *fmt;  /* the file under root, from the key's first two and 62 others */
	} cases[] = {
		{ NULL, "%.2s/%s" },
		{ "subdirs", "%.2s/%s" },
		{ "flat", "%.2s%s" },
		{ "bazel", "ac/%.2s%s" },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx f;
		memset(&f, 0, sizeof(f));
		turl_init(&f.t, need("PYC_TEST_HTTP_URL"), NULL, NULL, NULL);
		if (cases[i].attr)
			turl_attr(&f.t, "layout", cases[i].attr);
		turl_attr(&f.t, "read-only", NULL); /* the core's: accepted, not the backend's */
		fx_connect(&f);
		char rel[80], data[32];

		snprintf(f.hex, sizeof(f.hex), "2b%062u", i);
		snprintf(data, sizeof(data), "layout %u", i);
		assert_int_equal(fx_put(&f, f.hex, data, strlen(data)), 0);
		snprintf(rel, sizeof(rel), cases[i].fmt, f.hex, f.hex + 2);
		assert_file(root, rel, data, strlen(data));
		assert_int_equal(fx_get(&f, f.hex), 0);
		assert_int_equal(f.out.len, strlen(data));
		fx_close(&f);
	}
}

static void test_miss_is_not_found(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "PYC_TEST_HTTP_URL", 0x3c);

	assert_int_equal(pyc_buf_puts(&f.out, "stale"), 0);
	assert_int_equal(fx_get(&f, f.hex), PYC_ENOTFOUND);
	assert_int_equal(f.out.len, 0);
	assert_non_null(strstr(f.err.message, f.hex + 2));
	fx_close(&f);
}

/* How many requests nginx has seen on the connection f's next get goes through (a
 * loopback port can be reused as soon as a connection closes: not an identity). */
static long conn_requests(fx *f)
{
	long port = 0, n = 0;

	assert_int_equal(fx_get(f, f->hex), 0);
	assert_int_equal(pyc_buf_putc(&f->out, '\0'), 0);
	assert_int_equal(sscanf(f->out.ptr, "%ld %ld", &port, &n), 2);
	return n;
}

/* A client keeps its connection across calls; two clients are two connections;
 * keep-alive=false opens one per call. */
static void test_keep_alive(void **state)
{
	(void)state;
	fx a, b, off;
	fx_open(&a, "PYC_TEST_HTTP_CONN_URL", 0xb0);
	fx_open(&b, "PYC_TEST_HTTP_CONN_URL", 0xb0);
	memset(&off, 0, sizeof(off));
	turl_init(&off.t, need("PYC_TEST_HTTP_CONN_URL"), NULL, NULL, NULL);
	turl_attr(&off.t, "keep-alive", "false");
	snprintf(off.hex, sizeof(off.hex), "%s", a.hex);
	fx_connect(&off);

	for (long i = 1; i <= 3; i++)
		assert_int_equal(conn_requests(&a), i);
	assert_int_equal(conn_requests(&b), 1);
	assert_int_equal(conn_requests(&a), 4);
	assert_int_equal(conn_requests(&off), 1);
	assert_int_equal(conn_requests(&off), 1);
	/* nginx answers 507 before reading the body; curl drops the connection if that
	 * reply comes before it has sent the whole body ("HTTP error before end of send"),
	 * a race. Either way the client goes on: on a new connection or on the same. */
	assert_int_equal(fx_put(&a, a.hex, "x", 1), PYC_EIO);
	long n = conn_requests(&a);
	assert_true(n == 1 || n == 6);
	assert_int_equal(conn_requests(&a), n + 1);
	fx_close(&off);
	fx_close(&b);
	fx_close(&a);
}

/* A reply larger than any entry is refused as soon as its length is known, before the
 * body (a sparse file on the server: no disk, no transfer). */
static void test_oversized_reply(void **state)
{
	(void)state;
	char rel[80];
	fx f;
	fx_open(&f, "PYC_TEST_HTTP_URL", 0xd0);
	assert_int_equal(fx_put(&f, f.hex, "small", 5), 0);
	const char *path = tu_path(need("PYC_TEST_HTTP_ROOT"), subdir_path(f.hex, rel));
	assert_int_equal(truncate(path, (off_t)(STORE_ENTRY_MAX + STORE_HEADER_SIZE + 1)), 0);

	double t0 = now();
	assert_int_equal(fx_get(&f, f.hex), PYC_EIO);
	assert_true(now() - t0 < 1.0);
	assert_non_null(strstr(f.err.message, "reply larger than any entry"));
	assert_int_equal(f.out.len, 0);
	assert_int_equal(unlink(path), 0);
	fx_close(&f);
}

/* A location that serves GET but not PUT: nginx without dav (405), or full (507). */
static void refused_put(const char *env, unsigned prefix, const char *status)
{
	fx w, f;
	fx_open(&w, "PYC_TEST_HTTP_URL", prefix);
	fx_open(&f, env, prefix);
	char other[65], rel[80];

	assert_int_equal(fx_put(&w, w.hex, "abc", 3), 0);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_memory_equal(f.out.ptr, "abc", 3);
	snprintf(other, sizeof(other), "%02x%062u", prefix, 2u);
	assert_int_equal(fx_put(&f, other, "x", 1), PYC_EIO);
	assert_non_null(strstr(f.err.message, status));
	assert_non_null(strstr(f.err.message, f.t.redacted));
	assert_int_equal(access(tu_path(need("PYC_TEST_HTTP_ROOT"), subdir_path(other, rel)), F_OK),
	                 -1);
	/* The connection is still good after the refusal. */
	assert_int_equal(fx_get(&f, f.hex), 0);
	fx_close(&f);
	fx_close(&w);
}

static void test_read_only_location_refuses_put(void **state)
{
	(void)state;
	refused_put("PYC_TEST_HTTP_RO_URL", 0x4d, "HTTP 405 Not Allowed");
}

static void test_full_server_refuses_put(void **state)
{
	(void)state;
	refused_put("PYC_TEST_HTTP_FULL_URL", 0x5e, "HTTP 507 Insufficient Storage");
}

/* "s3cr:t@pw%" and the like, for the URL. */
static void percent_encode(const char *s, char *out, size_t cap)
{
	size_t k = 0;
	for (; *s && k + 4 < cap; s++) {
		if (isalnum((unsigned char)*s))
			out[k++] = *s;
		else
			k += (size_t)snprintf(out + k, cap - k, "%%%02X", (unsigned char)*s);
	}
	out[k] = '\0';
}

/* Put and get "secret" at the basic-auth location as user:pw (from the URL). */
static int auth_round_trip(const char *user, const char *pw, pyc_error *err)
{
	char enc[128];
	fx f;

	memset(&f, 0, sizeof(f));
	percent_encode(pw, enc, sizeof(enc));
	turl_init(&f.t, need("PYC_TEST_HTTP_AUTH_URL"), user, enc, pw);
	snprintf(f.hex, sizeof(f.hex), "6f%062u", 1u);
	fx_connect(&f);
	int rc = fx_put(&f, f.hex, "secret", 6);
	if (rc == 0) {
		assert_int_equal(fx_get(&f, f.hex), 0);
		assert_int_equal(f.out.len, 6);
	}
	*err = f.err;
	fx_close(&f);
	return rc;
}

static void test_basic_auth_from_the_url(void **state)
{
	(void)state;
	const char *user = need("PYC_TEST_HTTP_USER"), *pw = need("PYC_TEST_HTTP_PASSWORD");
	pyc_error err = { 0 };
	char rel[80], wrong[128];

	assert_int_equal(auth_round_trip(user, pw, &err), 0);
	snprintf(rel, sizeof(rel), "6f/%062u", 1u);
	assert_file(need("PYC_TEST_HTTP_AUTH_ROOT"), rel, "secret", 6);

	snprintf(wrong, sizeof(wrong), "%s-wrong", pw);
	assert_int_equal(auth_round_trip(user, wrong, &err), PYC_EIO);
	assert_non_null(strstr(err.message, "HTTP 401"));
	assert_non_null(strstr(err.message, "***"));
	assert_null(strstr(err.message, pw));

	fx f;
	fx_open(&f, "PYC_TEST_HTTP_AUTH_URL", 0x6f);
	assert_int_equal(fx_get(&f, f.hex), PYC_EIO);
	assert_non_null(strstr(f.err.message, "HTTP 401"));
	fx_close(&f);
}

/* header=NAME=VALUE and bearer-token reach the server (it answers 403 without them). */
static void test_header_and_bearer_token(void **state)
{
	(void)state;
	const char *token = need("PYC_TEST_HTTP_TOKEN");
	static const char *const envs[] = { "PYC_TEST_HTTP_HDR_URL", "PYC_TEST_HTTP_BEARER_URL" };
	char header[128];
	fx w;

	fx_open(&w, "PYC_TEST_HTTP_URL", 0x70);
	assert_int_equal(fx_put(&w, w.hex, "hdr", 3), 0);
	snprintf(header, sizeof(header), "X-Pyc-Token=%s", token);
	for (unsigned i = 0; i < 2; i++) {
		fx bare, f;
		fx_open(&bare, envs[i], 0x70);
		assert_int_equal(fx_get(&bare, w.hex), PYC_EIO);
		assert_non_null(strstr(bare.err.message, "HTTP 403"));
		memset(&f, 0, sizeof(f));
		turl_init(&f.t, need(envs[i]), NULL, NULL, NULL);
		turl_attr(&f.t, i == 0 ? "header" : "bearer-token", i == 0 ? header : token);
		fx_connect(&f);
		assert_int_equal(fx_get(&f, w.hex), 0);
		assert_memory_equal(f.out.ptr, "hdr", 3);
		fx_close(&f);
		fx_close(&bare);
	}
	fx_close(&w);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name, *value, *says;
	} cases[] = {
		{ "layout", "deep", "unknown layout 'deep'" },
		{ "layout", NULL, "unknown layout ''" },
		{ "shards", "2", "unknown attribute 'shards'" },
		{ "header", "NoValue", "NAME=VALUE" },
		{ "header", "=v", "NAME=VALUE" },
		{ "header", "A: b=c", "NAME=VALUE" },
		{ "header", "A=b\r\nX-Injected=1", "NAME=VALUE" },
		{ "keep-alive", "maybe", "'keep-alive'" },
		{ "bearer-token", NULL, "'bearer-token'" },
		{ "ca-file", "/nonexistent/ca.pem", "cannot read CA file '/nonexistent/ca.pem'" },
		{ "ca-file", "", "'ca-file'" },
	};
	turl t;
	void *cfg = NULL;
	pyc_error err = { 0 };

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		turl_init(&t, "http://127.0.0.1:1/c", NULL, NULL, NULL);
		turl_attr(&t, cases[i].name, cases[i].value);
		assert_int_equal(pyc_remote__http.config(&t.u, &cfg, &err), PYC_EINVAL);
		assert_null(cfg);
		if (!strstr(err.message, cases[i].says) || !strstr(err.message, t.redacted))
			fail_msg("case %u: '%s'", i, err.message);
	}
	turl_init(&t, "http://127.0.0.1:1/c", NULL, NULL, NULL);
	t.u.scheme = "redis";
	assert_int_equal(pyc_remote__http.config(&t.u, &cfg, &err), PYC_EINVAL);
	t.u.scheme = "http";
	t.u.host = "";
	assert_int_equal(pyc_remote__http.config(&t.u, &cfg, &err), PYC_EINVAL);
	assert_null(cfg);
}

/* TLS is verified: a self-signed server fails until its certificate is the CA file. */
static void test_https_verifies_the_certificate(void **state)
{
	(void)state;
	const char *ca = need("PYC_TEST_HTTPS_CA");
	char rel[80];
	fx f;

	/* Loading the system's CA bundle takes seconds under ASan with
	 * full unwinding (lsan.supp's fast_unwind_on_malloc=0), and it counts. */
	memset(&f, 0, sizeof(f));
	turl_init(&f.t, need("PYC_TEST_HTTPS_URL"), NULL, NULL, NULL);
	f.t.u.connect_timeout_ms = f.t.u.operation_timeout_ms = 60000;
	snprintf(f.hex, sizeof(f.hex), "a0%062u", 1u);
	fx_connect(&f);
	if (fx_put(&f, f.hex, "tls", 3) != PYC_EIO || !strstr(f.err.message, "certificate"))
		fail_msg("not refused for its certificate: %s", f.err.message);
	assert_non_null(strstr(f.err.message, f.t.redacted));
	fx_close(&f);

	memset(&f, 0, sizeof(f));
	turl_init(&f.t, need("PYC_TEST_HTTPS_URL"), NULL, NULL, NULL);
	turl_attr(&f.t, "ca-file", ca);
	snprintf(f.hex, sizeof(f.hex), "a0%062u", 1u);
	fx_connect(&f);
	assert_int_equal(fx_put(&f, f.hex, "tls", 3), 0);
	assert_file(need("PYC_TEST_HTTP_ROOT"), subdir_path(f.hex, rel), "tls", 3);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_memory_equal(f.out.ptr, "tls", 3);

	/* The certificate names 127.0.0.1, not localhost: the host is checked too. */
	fx g;
	char url[256];
	memset(&g, 0, sizeof(g));
	snprintf(url, sizeof(url), "https://localhost:%d%s", f.t.u.port, f.t.path);
	turl_init(&g.t, url, NULL, NULL, NULL);
	turl_attr(&g.t, "ca-file", ca);
	fx_connect(&g);
	assert_int_equal(fx_get(&g, f.hex), PYC_EIO);
	assert_non_null(strstr(g.err.message, "host name 'localhost'"));
	fx_close(&g);
	fx_close(&f);
}

/* A listener that accepts (the kernel's backlog) and never answers: a timeout, on time. */
static void test_silent_server_times_out(void **state)
{
	(void)state;
	fx f;
	memset(&f, 0, sizeof(f));
	turl_init(&f.t, need("PYC_TEST_HTTP_HANG_URL"), NULL, NULL, NULL);
	f.t.u.operation_timeout_ms = 500;
	snprintf(f.hex, sizeof(f.hex), "80%062u", 1u);
	fx_connect(&f);

	double t0 = now();
	assert_int_equal(fx_get(&f, f.hex), PYC_ETIMEOUT);
	double get_s = now() - t0;
	t0 = now();
	assert_int_equal(fx_put(&f, f.hex, "x", 1), PYC_ETIMEOUT);
	double put_s = now() - t0;
	print_message("timeouts of 500 ms: get %.3f s, put %.3f s\n", get_s, put_s);
	assert_true(get_s >= 0.45 && get_s < 1.5);
	assert_true(put_s >= 0.45 && put_s < 1.5);
	assert_non_null(strstr(f.err.message, f.t.redacted));
	fx_close(&f);
}

static void test_refused_connection_fails_fast(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "PYC_TEST_HTTP_REFUSED_URL", 0x81);

	double t0 = now();
	assert_int_equal(fx_get(&f, f.hex), PYC_EIO);
	assert_true(now() - t0 < 0.5);
	assert_non_null(strstr(f.err.message, f.t.redacted));
	fx_close(&f);
}

static bool port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

/* Last: it kills the server. A kept-alive client then fails fast, not by timing out. */
static void test_server_killed(void **state)
{
	(void)state;
	long pid = strtol(need("PYC_TEST_HTTP_PID"), NULL, 10);
	fx f;
	fx_open(&f, "PYC_TEST_HTTP_URL", 0x90);

	assert_int_equal(fx_put(&f, f.hex, "live", 4), 0);
	assert_int_equal(fx_get(&f, f.hex), 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	for (int i = 0; i < 500 && port_open(f.t.u.port); i++)
		usleep(10000);
	assert_false(port_open(f.t.u.port));

	double t0 = now();
	assert_int_equal(fx_get(&f, f.hex), PYC_EIO);
	assert_int_equal(f.out.len, 0);
	assert_int_equal(fx_put(&f, f.hex, "dead", 4), PYC_EIO);
	assert_true(now() - t0 < 1.0);
	assert_non_null(strstr(f.err.message, f.t.redacted));
	fx_close(&f);
}

#define HIDE_ENV "PYC_TEST_HIDE_LIBCURL"

/* A fresh process (test_without_libcurl runs it): libcurl hidden by /dev/null bound over
 * it in a mount namespace of its own, configure an http remote; prints "RC MESSAGE".
 * Exits 77 when it cannot hide the library (no user namespaces). */
static int without_libcurl_child(const char *lib)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("/dev/null", lib, NULL, MS_BIND, NULL) != 0) {
		printf("cannot hide '%s': %s\n", lib, strerror(errno));
		return 77;
	}
	turl t;
	void *cfg = NULL;
	pyc_error err = { 0 };
	turl_init(&t, "http://127.0.0.1:1/c", NULL, NULL, NULL);
	int rc = pyc_remote__http.config(&t.u, &cfg, &err);
	printf("%d %s\n", rc, cfg ? "(a config)" : err.message);
	return 0;
}

/* The binary does not need libcurl to start; an http remote without it fails, saying why. */
static void test_without_libcurl(void **state)
{
	(void)state;
	void *h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
	struct link_map *lm = NULL;
	assert_non_null(h);
	assert_int_equal(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
	char lib[512], cmd[1100], line[700] = "";
	snprintf(lib, sizeof(lib), "%s", lm->l_name);
	dlclose(h);

	snprintf(cmd, sizeof(cmd), "%s=%s /proc/%ld/exe 2>&1", HIDE_ENV, lib, (long)getpid());
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *got = fgets(line, sizeof(line), p);
	int status = pclose(p);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		tu_skip("%s", line);
	if (!got || WEXITSTATUS(status) != 0)
		fail_msg("exit %d: %s", WEXITSTATUS(status), line);
	char *msg = NULL;
	assert_int_equal(strtol(line, &msg, 10), PYC_EUNSUPPORTED);
	if (!strstr(msg, " http remote 'http://127.0.0.1:1/c': libcurl is not available: ") ||
	    !strstr(msg, "libcurl.so.4"))
		fail_msg("message: %s", msg);
}

int main(void)
{
	const char *hide = getenv(HIDE_ENV);
	if (hide)
		return without_libcurl_child(hide);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_each_with_a_client),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_without_libcurl),
		cmocka_unit_test(test_round_trip_binary_1mib),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_miss_is_not_found),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_oversized_reply),
		cmocka_unit_test(test_read_only_location_refuses_put),
		cmocka_unit_test(test_full_server_refuses_put),
		cmocka_unit_test(test_basic_auth_from_the_url),
		cmocka_unit_test(test_header_and_bearer_token),
		cmocka_unit_test(test_https_verifies_the_certificate),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_refused_connection_fails_fast),
		cmocka_unit_test(test_server_killed),
	};
	return tu_run_tests("remote_http", tests);
}
