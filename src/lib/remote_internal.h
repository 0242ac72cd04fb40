/*
 * remote_internal.h - the contract between the remote cache core (remote.c: URL parsing,
 * connection pools, verification, statistics, "disable after a failure") and its
 * backends (remote_redis.c, remote_http.c, remote_file.c), issue #12, docs/cache.md.
 *
 * A remote holds the same entries as the local store, byte for byte as
 * pyc_store__encode writes them (key and SHA-256 inside), under the key's 64 hex digits.
 * Backends move opaque bytes and know nothing of entries: the core verifies every entry it
 * gets (pyc_store__decode against the key it asked for), so a backend never has to.
 *
 * A backend client is one connection, used by one thread at a time; the core keeps a
 * pool of them per remote, so lookups running on several threads use several
 * connections at once. Every call must end within the URL's timeouts; a backend that
 * cannot enforce one fails with PYC_ETIMEOUT rather than wait.
 */
#ifndef PYC_REMOTE_INTERNAL_H
#define PYC_REMOTE_INTERNAL_H

#include "pyc/buf.h"
#include "pyc/common.h"

#include <stdbool.h>
#include <stddef.h>

/* At most this many "|name=value" attributes after a URL. */
#define PYC_REMOTE_MAX_ATTRS 16

/*
 * One remote as written by the user: "URL|attr|attr=value|...", as ccache's
 * remote_storage. The core parses the URL and the attributes common to every backend
 * (read-only, connect-timeout, operation-timeout); the others are the backend's.
 * Every string is owned by the core and lives as long as the remote.
 */
typedef struct pyc_remote_url {
	const char *url;          /* the URL without attributes; may hold credentials: never
	                             put it in a message */
	const char *redacted;     /* the URL with any password replaced by "***": for messages */
	const char *scheme;       /* "redis", "http", "https", "file" (lower case) */
	const char *user;         /* from the URL, percent-decoded; NULL when absent */
	const char *password;     /* from the URL, percent-decoded; NULL when absent */
	const char *host;         /* NULL for file:// */
	int port;                 /* 0 when the URL gives none */
	const char *path;         /* percent-decoded; "" when absent ("/2" for redis db 2) */
	unsigned connect_timeout_ms;    /* default 100, as ccache */
	unsigned operation_timeout_ms;  /* default 10000, as ccache */
	bool read_only;
	size_t nattrs;            /* every attribute, the common ones included */
	struct {
		const char *name;
		const char *value;    /* NULL for a bare "|name" */
	} attrs[PYC_REMOTE_MAX_ATTRS];
} pyc_remote_url;

/*
 * A backend. Return codes: 0; PYC_ENOTFOUND (get: no such entry); PYC_ETIMEOUT (a
 * timeout expired); PYC_EIO (anything else: refused, closed, an error reply, a full
 * server), err naming the redacted URL and the reason; PYC_EINVAL (config: a malformed
 * URL or attribute); PYC_ENOMEM.
 */
typedef struct pyc_remote_backend {
	const char *scheme;       /* "redis", "http" (also serves "https"), "file" */
	/* Check the URL and the backend's own attributes; *cfg is the backend's, freed by
	 * config_free. Unknown attributes are an error (PYC_EINVAL) naming them. */
	int (*config)(const pyc_remote_url *u, void **cfg, pyc_error *err);
	void (*config_free)(void *cfg);
	/* A new client (a connection, opened now or on first use). */
	int (*connect)(const void *cfg, void **client, pyc_error *err);
	/* The bytes stored under hex (64 lower-case hex digits) into out (replacing it). */
	int (*get)(void *client, const char *hex, pyc_buf *out, pyc_error *err);
	/* Store data[0..len) under hex, replacing what is there. Never called read-only. */
	int (*put)(void *client, const char *hex, const void *data, size_t len, pyc_error *err);
	/* Close and free a client; accepts NULL. */
	void (*disconnect)(void *client);
} pyc_remote_backend;

extern const pyc_remote_backend pyc_remote__redis;
extern const pyc_remote_backend pyc_remote__http;
extern const pyc_remote_backend pyc_remote__file;

#endif
