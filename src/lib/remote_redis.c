/*
 * remote_redis.c - the Redis backend of the remote cache (issue #12, remote_internal.h).
 *
 * URL: redis://[[user]:password@]host[:port][/db]. An entry is one string value under
 * "pyc-tool:<hex>", the layout of ccache's Redis storage ("ccache:<hex>"), so one server
 * can hold both; GET reads it, SET writes it.
 *
 * hiredis formats commands and parses replies; the socket I/O is ours. We send with
 * MSG_NOSIGNAL (hiredis write()s, and a server gone away would raise SIGPIPE in a library
 * that must not touch signals) and poll() against one deadline per call, because
 * redisSetTimeout bounds each read, not the whole reply: a server trickling a megabyte
 * would otherwise hold a call far past operation-timeout. redisSetTimeout stays as the
 * backstop for the blocking calls hiredis makes itself.
 *
 * Debian's hiredis 0.14 has no TLS, so rediss:// is refused with a message saying so.
 */
#include "remote_internal.h"
#include "proc_internal.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define DEFAULT_PORT 6379
#define KEY_PREFIX "pyc-tool:"
#define HEX_LEN 64

typedef struct redis_cfg {
	const pyc_remote_url *u;
	const char *host;
	int port;
	long db;
} redis_cfg;

typedef struct redis_client {
	const redis_cfg *cfg;
	redisContext *ctx;    /* NULL until connected, and again after a broken exchange */
} redis_client;

/* A failed exchange: how the caller should treat the connection. */
enum { KEEP, BROKEN };

/* A deadline this many milliseconds from now, in pyc_proc__now()'s seconds. */
static double after_ms(unsigned ms)
{
	return pyc_proc__now() + ms / 1000.0;
}

static struct timeval to_timeval(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/* ---- configuration ----------------------------------------------------------------- */

static bool is_common_attr(const char *name)
{
	return !strcmp(name, "read-only") || !strcmp(name, "connect-timeout") ||
	       !strcmp(name, "operation-timeout");
}

/* "" or "/" is db 0; "/N" is db N. */
static int parse_db(const pyc_remote_url *u, long *out, pyc_error *err)
{
	const char *p = u->path ? u->path : "";
	char *end;

	*out = 0;
	if (!*p || !strcmp(p, "/"))
		return 0;
	errno = 0;
	*out = p[0] == '/' && p[1] >= '0' && p[1] <= '9' ? strtol(p + 1, &end, 10) : -1;
	if (*out < 0 || errno || *end || *out > INT_MAX)
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "bad redis database '%s' in '%s': a number is expected", p,
		                     u->redacted);
	return 0;
}

static int check_url(const pyc_remote_url *u, pyc_error *err)
{
	if (!strcmp(u->scheme, "rediss"))
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "cannot use '%s': rediss:// (Redis over TLS) is not supported, "
		                     "this build's hiredis (0.14) has no TLS",
		                     u->redacted);
	if (strcmp(u->scheme, "redis"))
		return pyc_error_set(err, PYC_EINVAL, 0, "'%s' is not a redis:// URL", u->redacted);
	/* ccache would take a lone user as the password, but then the redacted URL, which
	 * hides only the password, would show it: name the host alone. */
	if (u->user && *u->user && !u->password)
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "redis URL for host '%s' has a user but no password "
		                     "(a password alone is written redis://:PASSWORD@host)",
		                     u->host ? u->host : "");
	if (u->port < 0 || u->port > 65535)
		return pyc_error_set(err, PYC_EINVAL, 0, "bad port %d in '%s'", u->port,
		                     u->redacted);
	for (size_t i = 0; i < u->nattrs; i++)
		if (!is_common_attr(u->attrs[i].name))
			return pyc_error_set(err, PYC_EINVAL, 0,
			                     "unknown attribute '%s' for '%s'", u->attrs[i].name,
			                     u->redacted);
	return 0;
}

static int redis_config(const pyc_remote_url *u, void **cfg, pyc_error *err)
{
	redis_cfg *c;
	long db;
	int rc;

	*cfg = NULL;
	if ((rc = check_url(u, err)) || (rc = parse_db(u, &db, err)))
		return rc;
	if (!(c = calloc(1, sizeof(*c))))
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	c->u = u;
	c->host = u->host && *u->host ? u->host : "localhost";
	c->port = u->port ? u->port : DEFAULT_PORT;
	c->db = db;
	*cfg = c;
	return 0;
}

static void redis_config_free(void *cfg)
{
	free(cfg);
}

/* ---- one exchange: a command out, its reply back, before a deadline -------------- */

static int timed_out(const redis_cfg *cfg, const char *doing, pyc_error *err)
{
	return pyc_error_set(err, PYC_ETIMEOUT, 0, "timed out after %u ms %s '%s'",
	                     cfg->u->operation_timeout_ms, doing, cfg->u->redacted);
}

/* Wait until fd is ready for events; PYC_ETIMEOUT at the deadline. */
static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { fd, events, 0 };
	double left;
	int n;

	do {
		left = (deadline - pyc_proc__now()) * 1000.0;
		if (left <= 0)
			return PYC_ETIMEOUT;
		/* rounded up: poll(0) would spin through the last millisecond */
		n = poll(&p, 1, left >= INT_MAX ? INT_MAX : (int)left + 1);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : n == 0 ? PYC_ETIMEOUT : PYC_EIO;
}

static int send_all(redis_client *c, const char *cmd, size_t len, double deadline,
                    pyc_error *err)
{
	const redis_cfg *cfg = c->cfg;

	while (len) {
		int rc = wait_fd(c->ctx->fd, POLLOUT, deadline);
		if (rc == PYC_ETIMEOUT)
			return timed_out(cfg, "writing to", err);
		ssize_t n = rc ? -1 : send(c->ctx->fd, cmd, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (n < 0)
			return pyc_error_set(err, PYC_EIO, errno, "cannot write to '%s'",
			                     cfg->u->redacted);
		cmd += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_reply(redis_client *c, redisReply **out, double deadline, pyc_error *err)
{
	const redis_cfg *cfg = c->cfg;
	void *reply = NULL;

	for (;;) {
		if (redisGetReplyFromReader(c->ctx, &reply) != REDIS_OK)
			return pyc_error_set(err, PYC_EIO, 0, "bad reply from '%s': %s",
			                     cfg->u->redacted, c->ctx->errstr);
		if (reply) {
			*out = reply;
			return 0;
		}
		int rc = wait_fd(c->ctx->fd, POLLIN, deadline);
		if (rc == PYC_ETIMEOUT)
			return timed_out(cfg, "waiting for", err);
		if (rc || redisBufferRead(c->ctx) != REDIS_OK)
			return pyc_error_set(err, PYC_EIO, 0, "cannot read from '%s': %s",
			                     cfg->u->redacted,
			                     c->ctx->err ? c->ctx->errstr : "poll failed");
	}
}

/* Send argv, read the reply into *out. On failure *broken says whether the connection
 * is unusable (an I/O failure or a timeout: a late reply would answer the next command). */
static int exchange(redis_client *c, int argc, const char **argv, const size_t *lens,
                    double deadline, redisReply **out, int *broken, pyc_error *err)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	int rc;

	*out = NULL;
	*broken = KEEP;
	if (len < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	rc = send_all(c, cmd, (size_t)len, deadline, err);
	redisFreeCommand(cmd);
	if (!rc)
		rc = recv_reply(c, out, deadline, err);
	if (rc)
		*broken = BROKEN;
	return rc;
}

/* ---- connections ------------------------------------------------------------------- */

static void drop(redis_client *c)
{
	redisFree(c->ctx);
	c->ctx = NULL;
}

/* A command of a new connection (AUTH, SELECT): an error reply leaves it unusable. */
static int setup_command(redis_client *c, int argc, const char **argv, const char *doing,
                         double deadline, pyc_error *err)
{
	redisReply *r;
	int broken;
	int rc = exchange(c, argc, argv, NULL, deadline, &r, &broken, err);

	if (!rc && r->type == REDIS_REPLY_ERROR)
		rc = pyc_error_set(err, PYC_EIO, 0, "cannot %s '%s': %s", doing,
		                   c->cfg->u->redacted, r->str);
	freeReplyObject(r);
	return rc;
}

static int authenticate(redis_client *c, double deadline, pyc_error *err)
{
	const pyc_remote_url *u = c->cfg->u;
	const char *argv[3] = { "AUTH" };
	int argc = 1;

	if (!u->password)
		return 0;
	if (u->user && *u->user)
		argv[argc++] = u->user;    /* Redis 6 ACL: AUTH user password */
	argv[argc++] = u->password;
	return setup_command(c, argc, argv, "authenticate to", deadline, err);
}

static int select_db(redis_client *c, double deadline, pyc_error *err)
{
	char num[24];
	const char *argv[2] = { "SELECT", num };

	if (!c->cfg->db)
		return 0;
	snprintf(num, sizeof(num), "%ld", c->cfg->db);
	return setup_command(c, 2, argv, "select the database of", deadline, err);
}

static int open_ctx(redis_client *c, double deadline, pyc_error *err)
{
	const redis_cfg *cfg = c->cfg;
	double start = pyc_proc__now();
	int rc;

	errno = 0;
	c->ctx = redisConnectWithTimeout(cfg->host, cfg->port,
	                                 to_timeval(cfg->u->connect_timeout_ms));
	if (!c->ctx)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	/* hiredis 0.14 has no REDIS_ERR_TIMEOUT: a timeout is ETIMEDOUT behind REDIS_ERR_IO. */
	if (c->ctx->err && (errno == ETIMEDOUT ||
	                    pyc_proc__now() - start >= cfg->u->connect_timeout_ms / 1000.0)) {
		rc = pyc_error_set(err, PYC_ETIMEOUT, 0, "timed out after %u ms connecting to '%s'",
		                   cfg->u->connect_timeout_ms, cfg->u->redacted);
		goto fail;
	}
	if (c->ctx->err) {
		rc = pyc_error_set(err, PYC_EIO, 0, "cannot connect to '%s': %s", cfg->u->redacted,
		                   c->ctx->errstr);
		goto fail;
	}
	if (redisSetTimeout(c->ctx, to_timeval(cfg->u->operation_timeout_ms)) != REDIS_OK) {
		rc = pyc_error_set(err, PYC_EIO, 0, "cannot set timeouts on '%s': %s",
		                   cfg->u->redacted, c->ctx->errstr);
		goto fail;
	}
	if ((rc = authenticate(c, deadline, err)) || (rc = select_db(c, deadline, err)))
		goto fail;
	return 0;
fail:
	drop(c);
	return rc;
}

static int redis_connect(const void *cfg, void **client, pyc_error *err)
{
	redis_client *c = calloc(1, sizeof(*c));
	int rc;

	*client = NULL;
	if (!c)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	c->cfg = cfg;
	rc = open_ctx(c, after_ms(c->cfg->u->operation_timeout_ms), err);
	if (rc) {
		free(c);
		return rc;
	}
	*client = c;
	return 0;
}

static void redis_disconnect(void *client)
{
	redis_client *c = client;

	if (!c)
		return;
	redisFree(c->ctx);
	free(c);
}

/* One command with the call's deadline. A connection that served earlier calls may have
 * died since (a server restart, an idle timeout): then one new connection and one retry,
 * never more. A timeout is not retried, its time is spent. */
static int command(redis_client *c, int argc, const char **argv, const size_t *lens,
                   redisReply **out, pyc_error *err)
{
	double deadline = after_ms(c->cfg->u->operation_timeout_ms);
	bool fresh = !c->ctx;
	int broken;
	int rc;

	if (fresh && (rc = open_ctx(c, deadline, err)))
		return rc;
	rc = exchange(c, argc, argv, lens, deadline, out, &broken, err);
	if (broken == BROKEN)
		drop(c);
	if (rc != PYC_EIO || broken != BROKEN || fresh)
		return rc;
	if ((rc = open_ctx(c, deadline, err)))
		return rc;
	rc = exchange(c, argc, argv, lens, deadline, out, &broken, err);
	if (broken == BROKEN)
		drop(c);
	return rc;
}

/* ---- get and put ------------------------------------------------------------------- */

static void make_key(char key[sizeof(KEY_PREFIX) + HEX_LEN], const char *hex)
{
	memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
	memcpy(key + sizeof(KEY_PREFIX) - 1, hex, HEX_LEN);
	key[sizeof(KEY_PREFIX) - 1 + HEX_LEN] = '\0';
}

static int reply_error(const redis_client *c, const redisReply *r, const char *doing,
                       pyc_error *err)
{
	if (r->type == REDIS_REPLY_ERROR)
		return pyc_error_set(err, PYC_EIO, 0, "cannot %s '%s': %s", doing,
		                     c->cfg->u->redacted, r->str);
	return pyc_error_set(err, PYC_EIO, 0, "cannot %s '%s': unexpected reply of type %d",
	                     doing, c->cfg->u->redacted, r->type);
}

static int redis_get(void *client, const char *hex, pyc_buf *out, pyc_error *err)
{
	redis_client *c = client;
	char key[sizeof(KEY_PREFIX) + HEX_LEN];
	const char *argv[2] = { "GET", key };
	redisReply *r;
	int rc;

	make_key(key, hex);
	if ((rc = command(c, 2, argv, NULL, &r, err)))
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = PYC_ENOTFOUND;
	else if (r->type != REDIS_REPLY_STRING)
		rc = reply_error(c, r, "get from", err);
	else {
		pyc_buf_clear(out);
		if (pyc_buf_put(out, r->str, r->len))
			rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	freeReplyObject(r);
	return rc;
}

static int redis_put(void *client, const char *hex, const void *data, size_t len,
                     pyc_error *err)
{
	redis_client *c = client;
	char key[sizeof(KEY_PREFIX) + HEX_LEN];
	const char *argv[3] = { "SET", key, data };
	size_t lens[3] = { 3, sizeof(key) - 1, len };
	redisReply *r;
	int rc;

	make_key(key, hex);
	if ((rc = command(c, 3, argv, lens, &r, err)))
		return rc;
	if (r->type != REDIS_REPLY_STATUS)
		rc = reply_error(c, r, "store in", err);
	freeReplyObject(r);
	return rc;
}

const pyc_remote_backend pyc_remote__redis = {
	.scheme = "redis",
	.config = redis_config,
	.config_free = redis_config_free,
	.connect = redis_connect,
	.get = redis_get,
	.put = redis_put,
	.disconnect = redis_disconnect,
};
