/*
 * test_remote_redis.c - the Redis backend (pyc_remote__redis) against a real redis-server.
 *
 * CTest runs it under tests/e2e/srv_redis.py, which starts the servers and passes their
 * URLs: PYC_TEST_REDIS_URL, and PYC_TEST_REDIS_SPARE_URL with its PID for the case that
 * kills it; every case skips when they are unset. The oracle is the server itself, read
 * and configured through a plain hiredis connection (the admin): what the backend stores
 * is read back there, and faults (a password, a full server, killed clients) are made
 * there. The URL structs are built by hand: the URL parser is the core's.
 */
#include "testutil.h"
#include "remote_internal.h"
#include "proc_internal.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define PASSWORD "s3cr3t-Pa55"

static const pyc_remote_backend *be = &pyc_remote__redis;

/* A URL and the strings it points to. */
typedef struct test_url {
	pyc_remote_url u;
	char url[256], redacted[256], path[32];
} test_url;

static void url_init(test_url *t, int port, const char *db, const char *user,
                     const char *password)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", db ? db : "");
	snprintf(t->url, sizeof(t->url), "redis://%s%s%s%s127.0.0.1:%d%s", user ? user : "",
	         password ? ":" : "", password ? password : "", user || password ? "@" : "",
	         port, t->path);
	snprintf(t->redacted, sizeof(t->redacted), "redis://%s%s%s127.0.0.1:%d%s",
	         user ? user : "", password ? ":***" : "", user || password ? "@" : "", port,
	         t->path);
	t->u.url = t->url;
	t->u.redacted = t->redacted;
	t->u.scheme = "redis";
	t->u.user = user;
	t->u.password = password;
	t->u.host = "127.0.0.1";
	t->u.port = port;
	t->u.path = t->path;
	t->u.connect_timeout_ms = 2000;
	t->u.operation_timeout_ms = 2000;
}

/* The port of $name ("redis://127.0.0.1:PORT"), or 0 when unset. */
static int env_port(const char *name)
{
	const char *v = getenv(name), *colon;
	char *end;
	long port;

	if (!v || !(colon = strrchr(v, ':')))
		return 0;
	port = strtol(colon + 1, &end, 10);
	return *end || port <= 0 || port > 65535 ? 0 : (int)port;
}

static int server_port(void)
{
	int port = env_port("PYC_TEST_REDIS_URL");

	if (!port)
		tu_skip("PYC_TEST_REDIS_URL is unset: run under tests/e2e/srv_redis.py");
	return port;
}

/* ---- the admin: a plain hiredis connection ------------------------------------------- */

static redisContext *admin(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);

	if (!c || c->err)
		fail_msg("admin connection to port %d: %s", port, c ? c->errstr : "no memory");
	return c;
}

static redisReply *admin_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		fail_msg("admin command '%s': %s", fmt, c->errstr);
	return r;
}

static void admin_ok(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r || r->type == REDIS_REPLY_ERROR)
		fail_msg("admin command '%s': %s", fmt, r ? r->str : c->errstr);
	freeReplyObject(r);
}

/* ---- the backend ---------------------------------------------------------------------- */

typedef struct conn {
	void *cfg, *client;
} conn;

static int open_conn(conn *c, const test_url *t, pyc_error *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	assert_int_equal(be->config(&t->u, &c->cfg, err), 0);
	rc = be->connect(c->cfg, &c->client, err);
	if (rc)
		assert_null(c->client);
	return rc;
}

static void close_conn(conn *c)
{
	be->disconnect(c->client);
	be->config_free(c->cfg);
}

static void must_open(conn *c, const test_url *t)
{
	pyc_error err = { 0 };

	if (open_conn(c, t, &err))
		fail_msg("connect: %s", err.message);
}

static void put_ok(conn *c, const char *hex, const void *data, size_t len)
{
	pyc_error err = { 0 };

	if (be->put(c->client, hex, data, len, &err))
		fail_msg("put: %s", err.message);
}

static void get_equal(conn *c, const char *hex, const void *data, size_t len)
{
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };

	if (be->get(c->client, hex, &out, &err))
		fail_msg("get: %s", err.message);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.ptr, data, len);
	pyc_buf_dispose(&out);
}

/* What the server holds under "pyc-tool:<hex>", read by the admin. */
static void stored_equal(redisContext *a, const char *hex, const void *data, size_t len)
{
	redisReply *r = admin_cmd(a, "GET pyc-tool:%s", hex);

	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, len);
	assert_memory_equal(r->str, data, len);
	freeReplyObject(r);
}

/* A TCP socket bound to a free loopback port. */
static int loopback_socket(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port where nothing listens (bound, then released). */
static int dead_port(void)
{
	int port;

	close(loopback_socket(&port));
	return port;
}

/* A listener that completes TCP handshakes (the kernel does) and never says a word. */
static int mute_listener(int *port)
{
	int fd = loopback_socket(port);

	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* ---- cases ----------------------------------------------------------------------------- */

static void test_round_trip_binary(void **state)
{
	(void)state;
	int port = server_port();
	redisContext *a = admin(port);
	test_url t;
	conn c;
	size_t big = 1 << 20;
	unsigned char small[512], *mib = malloc(big);

	assert_non_null(mib);
	for (size_t i = 0; i < sizeof(small); i++)
		small[i] = (unsigned char)(i * 7);          /* NUL bytes included */
	for (size_t i = 0; i < big; i++)
		mib[i] = (unsigned char)((i * 2654435761u) >> 13);
	url_init(&t, port, NULL, NULL, NULL);
	must_open(&c, &t);

	put_ok(&c, HEX_A, small, sizeof(small));
	get_equal(&c, HEX_A, small, sizeof(small));
	stored_equal(a, HEX_A, small, sizeof(small));
	put_ok(&c, HEX_B, mib, big);
	get_equal(&c, HEX_B, mib, big);
	stored_equal(a, HEX_B, mib, big);
	/* put replaces, and an empty value is a value */
	put_ok(&c, HEX_A, "", 0);
	get_equal(&c, HEX_A, "", 0);

	admin_ok(a, "DEL pyc-tool:%s pyc-tool:%s", HEX_A, HEX_B);
	close_conn(&c);
	redisFree(a);
	free(mib);
}

static void test_miss(void **state)
{
	(void)state;
	int port = server_port();
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };
	test_url t;
	conn c;

	url_init(&t, port, NULL, NULL, NULL);
	must_open(&c, &t);
	assert_int_equal(be->get(c.client, HEX_B, &out, &err), PYC_ENOTFOUND);
	close_conn(&c);
	pyc_buf_dispose(&out);
}

static void test_db_selection(void **state)
{
	(void)state;
	int port = server_port();
	redisContext *a = admin(port);
	pyc_error err = { 0 };
	redisReply *r;
	test_url t;
	conn c;

	url_init(&t, port, "/3", NULL, NULL);
	must_open(&c, &t);
	put_ok(&c, HEX_A, "in three", 8);
	close_conn(&c);
	r = admin_cmd(a, "GET pyc-tool:%s", HEX_A);
	assert_int_equal(r->type, REDIS_REPLY_NIL);    /* not in db 0 */
	freeReplyObject(r);
	admin_ok(a, "SELECT 3");
	stored_equal(a, HEX_A, "in three", 8);
	admin_ok(a, "DEL pyc-tool:%s", HEX_A);

	/* a database the server does not have: its error, at connect */
	url_init(&t, port, "/100000", NULL, NULL);
	assert_int_equal(open_conn(&c, &t, &err), PYC_EIO);
	assert_non_null(strstr(err.message, "DB index is out of range"));
	assert_non_null(strstr(err.message, t.redacted));
	be->config_free(c.cfg);
	redisFree(a);
}

static void test_bad_config(void **state)
{
	(void)state;
	static const char *bad_db[] = { "/x", "/-1", "/3x", "//3", "/99999999999999999999" };
	pyc_error err = { 0 };
	void *cfg = NULL;
	test_url t;

	for (size_t i = 0; i < sizeof(bad_db) / sizeof(bad_db[0]); i++) {
		url_init(&t, 6379, bad_db[i], NULL, NULL);
		assert_int_equal(be->config(&t.u, &cfg, &err), PYC_EINVAL);
		assert_null(cfg);
		assert_non_null(strstr(err.message, bad_db[i]));
	}
	url_init(&t, 6379, NULL, NULL, NULL);
	t.u.nattrs = 2;
	t.u.attrs[0].name = "read-only";
	t.u.attrs[1].name = "shards";
	assert_int_equal(be->config(&t.u, &cfg, &err), PYC_EINVAL);
	assert_non_null(strstr(err.message, "'shards'"));

	url_init(&t, 6379, NULL, NULL, PASSWORD);
	t.u.scheme = "rediss";
	assert_int_equal(be->config(&t.u, &cfg, &err), PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "TLS"));
	assert_null(strstr(err.message, PASSWORD));

	/* a lone user: ccache would read it as a password, which the redacted URL shows */
	url_init(&t, 6379, NULL, PASSWORD, NULL);
	assert_int_equal(be->config(&t.u, &cfg, &err), PYC_EINVAL);
	assert_null(strstr(err.message, PASSWORD));
}

/* Every failure of an authenticated URL names it redacted, never with the password. */
static void assert_auth_fails(const test_url *t)
{
	pyc_error err = { 0 };
	conn c;

	assert_int_equal(open_conn(&c, t, &err), PYC_EIO);
	assert_non_null(strstr(err.message, t->redacted));
	assert_null(strstr(err.message, t->u.password));
	be->config_free(c.cfg);
}

static void test_auth(void **state)
{
	(void)state;
	int port = server_port();
	redisContext *a = admin(port);
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };
	test_url t;
	conn c;

	/* the admin stays authenticated: a password applies to connections made after it */
	admin_ok(a, "CONFIG SET requirepass %s", PASSWORD);
	admin_ok(a, "ACL SETUSER alice on >alice-Pa55 ~pyc-tool:* +get +set");

	url_init(&t, port, NULL, NULL, NULL);
	must_open(&c, &t);
	assert_int_equal(be->get(c.client, HEX_A, &out, &err), PYC_EIO);
	assert_non_null(strstr(err.message, "NOAUTH"));
	close_conn(&c);

	url_init(&t, port, NULL, NULL, PASSWORD);
	must_open(&c, &t);
	put_ok(&c, HEX_A, "secret", 6);
	get_equal(&c, HEX_A, "secret", 6);
	close_conn(&c);

	url_init(&t, port, "/0", "alice", "alice-Pa55");    /* Redis 6 ACL: AUTH user pw */
	must_open(&c, &t);
	get_equal(&c, HEX_A, "secret", 6);
	close_conn(&c);

	url_init(&t, port, NULL, NULL, "wrong-Pa55");
	assert_auth_fails(&t);
	url_init(&t, port, NULL, "alice", "wrong-Pa55");
	assert_auth_fails(&t);

	admin_ok(a, "CONFIG SET requirepass %s", "");
	admin_ok(a, "ACL DELUSER alice");
	admin_ok(a, "DEL pyc-tool:%s", HEX_A);
	redisFree(a);
	pyc_buf_dispose(&out);
}

static void test_full_server(void **state)
{
	(void)state;
	int port = server_port();
	redisContext *a = admin(port);
	pyc_error err = { 0 };
	test_url t;
	conn c;

	url_init(&t, port, NULL, NULL, NULL);
	must_open(&c, &t);
	put_ok(&c, HEX_A, "before", 6);
	admin_ok(a, "CONFIG SET maxmemory-policy noeviction");
	admin_ok(a, "CONFIG SET maxmemory 1");
	assert_int_equal(be->put(c.client, HEX_B, "after", 5, &err), PYC_EIO);
	assert_non_null(strstr(err.message, "maxmemory"));
	assert_non_null(strstr(err.message, t.redacted));
	/* a full server still serves what it has, on the same connection */
	get_equal(&c, HEX_A, "before", 6);
	admin_ok(a, "CONFIG SET maxmemory 0");
	put_ok(&c, HEX_B, "after", 5);

	admin_ok(a, "DEL pyc-tool:%s pyc-tool:%s", HEX_A, HEX_B);
	close_conn(&c);
	redisFree(a);
}

/* The server closes an idle connection (a restart, its timeout): one reconnect, no error. */
static void test_reconnect(void **state)
{
	(void)state;
	int port = server_port();
	redisContext *a = admin(port);
	redisReply *r;
	test_url t;
	conn c;

	url_init(&t, port, "/2", NULL, NULL);
	must_open(&c, &t);
	put_ok(&c, HEX_A, "kept", 4);
	r = admin_cmd(a, "CLIENT KILL TYPE normal SKIPME yes");
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_true(r->integer >= 1);
	freeReplyObject(r);
	/* the new connection selects db 2 again: the value is found there */
	get_equal(&c, HEX_A, "kept", 4);

	admin_ok(a, "SELECT 2");
	admin_ok(a, "DEL pyc-tool:%s", HEX_A);
	close_conn(&c);
	redisFree(a);
}

static void test_server_killed(void **state)
{
	(void)state;
	int port = env_port("PYC_TEST_REDIS_SPARE_URL");
	const char *pidstr = getenv("PYC_TEST_REDIS_SPARE_PID");
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };
	double start;
	test_url t;
	conn c;
	int rc;

	if (!port || !pidstr)
		tu_skip("PYC_TEST_REDIS_SPARE_URL is unset: run under srv_redis.py --spare");
	url_init(&t, port, NULL, NULL, NULL);
	must_open(&c, &t);
	put_ok(&c, HEX_A, "doomed", 6);
	assert_int_equal(kill((pid_t)strtol(pidstr, NULL, 10), SIGKILL), 0);
	/* the kernel closes its sockets when it dies: wait until it no longer accepts */
	for (int i = 0; i < 200; i++) {
		redisContext *probe = redisConnect("127.0.0.1", port);
		bool down = !probe || probe->err;
		redisFree(probe);
		if (down)
			break;
		usleep(10000);
	}
	start = pyc_proc__now();
	rc = be->get(c.client, HEX_A, &out, &err);
	assert_true(rc == PYC_EIO || rc == PYC_ETIMEOUT);
	assert_non_null(strstr(err.message, t.redacted));
	assert_true(pyc_proc__now() - start < 1.0);
	/* and later calls keep failing, quickly (each tries one new connection) */
	assert_int_equal(be->put(c.client, HEX_A, "x", 1, &err), PYC_EIO);
	assert_non_null(strstr(err.message, "cannot connect"));
	close_conn(&c);
	pyc_buf_dispose(&out);
}

static void test_never_answers(void **state)
{
	(void)state;
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };
	double start, took;
	test_url t;
	conn c;
	int port, fd = mute_listener(&port);

	url_init(&t, port, NULL, NULL, NULL);
	t.u.operation_timeout_ms = 300;
	must_open(&c, &t);
	start = pyc_proc__now();
	assert_int_equal(be->get(c.client, HEX_A, &out, &err), PYC_ETIMEOUT);
	took = pyc_proc__now() - start;
	assert_true(took >= 0.29 && took < 1.0);
	assert_non_null(strstr(err.message, t.redacted));
	/* the next call gets a new connection and the whole timeout again, not forever */
	start = pyc_proc__now();
	assert_int_equal(be->put(c.client, HEX_A, "x", 1, &err), PYC_ETIMEOUT);
	assert_true(pyc_proc__now() - start < 1.0);
	close_conn(&c);

	/* with a password, the silence starts at AUTH: connect itself times out */
	url_init(&t, port, NULL, NULL, PASSWORD);
	t.u.operation_timeout_ms = 300;
	start = pyc_proc__now();
	assert_int_equal(open_conn(&c, &t, &err), PYC_ETIMEOUT);
	assert_true(pyc_proc__now() - start < 1.0);
	assert_null(strstr(err.message, PASSWORD));
	be->config_free(c.cfg);
	close(fd);
	pyc_buf_dispose(&out);
}

/* A server that accepts, reads the command and answers a byte at a time, each within
 * any per-read timeout: only a deadline for the whole call stops it. */
static void *trickle(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	char buf[256];

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return NULL;
	/* send(MSG_NOSIGNAL): the client hangs up at its deadline, which must not kill us */
	if (send(fd, "$1000\r\n", 7, MSG_NOSIGNAL) == 7)
		for (int i = 0; i < 40 && send(fd, "x", 1, MSG_NOSIGNAL) == 1; i++)
			usleep(50000);
	close(fd);
	return NULL;
}

static void test_trickling_reply(void **state)
{
	(void)state;
	pyc_buf out = PYC_BUF_INIT;
	pyc_error err = { 0 };
	pthread_t th;
	double start, took;
	test_url t;
	conn c;
	int port, fd = mute_listener(&port);

	assert_int_equal(pthread_create(&th, NULL, trickle, &fd), 0);
	url_init(&t, port, NULL, NULL, NULL);
	t.u.operation_timeout_ms = 300;
	must_open(&c, &t);
	start = pyc_proc__now();
	assert_int_equal(be->get(c.client, HEX_A, &out, &err), PYC_ETIMEOUT);
	took = pyc_proc__now() - start;
	assert_true(took >= 0.29 && took < 1.0);
	close_conn(&c);
	pthread_join(th, NULL);
	close(fd);
	pyc_buf_dispose(&out);
}

/* A listener whose accept queue is full: the kernel drops further SYNs, so a connect
 * neither succeeds nor is refused. */
static void test_connect_timeout(void **state)
{
	(void)state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pyc_error err = { 0 };
	double start, took;
	int port, fd = loopback_socket(&port), fill[4];
	test_url t;
	conn c;

	assert_int_equal(listen(fd, 0), 0);
	sa.sin_port = htons((uint16_t)port);
	for (size_t i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));    /* EINPROGRESS: queued */
	}
	usleep(50000);
	url_init(&t, port, NULL, NULL, NULL);
	t.u.connect_timeout_ms = 200;
	start = pyc_proc__now();
	assert_int_equal(open_conn(&c, &t, &err), PYC_ETIMEOUT);
	took = pyc_proc__now() - start;
	assert_true(took >= 0.19 && took < 1.0);
	assert_non_null(strstr(err.message, "connecting to"));
	be->config_free(c.cfg);
	for (size_t i = 0; i < 4; i++)
		close(fill[i]);
	close(fd);
}

static void test_refused(void **state)
{
	(void)state;
	pyc_error err = { 0 };
	double start;
	test_url t;
	conn c;

	url_init(&t, dead_port(), NULL, NULL, NULL);
	t.u.connect_timeout_ms = 5000;
	start = pyc_proc__now();
	assert_int_equal(open_conn(&c, &t, &err), PYC_EIO);
	assert_true(pyc_proc__now() - start < 0.5);     /* refused, not waited for */
	assert_non_null(strstr(err.message, "cannot connect to"));
	assert_non_null(strstr(err.message, t.redacted));
	be->config_free(c.cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_binary),
		cmocka_unit_test(test_miss),
		cmocka_unit_test(test_db_selection),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_full_server),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_server_killed),
		cmocka_unit_test(test_never_answers),
		cmocka_unit_test(test_trickling_reply),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_refused),
	};
	return tu_run_tests("remote_redis", tests);
}
