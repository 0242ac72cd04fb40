/*
 * remote_http.c - the http:// and https:// remote (issue #12): GET and PUT of URL/<key> on
 * any server that accepts PUT (nginx with WebDAV, bazel-remote), through libcurl.
 *
 * One client is one curl easy handle, so its connection is kept alive across calls; the
 * core gives a client to one thread at a time. The key layouts are ccache's
 * (storage/remote/HttpStorage.cpp), so a server can be shared with its conventions:
 * subdirs (default) "ab/cdef...", flat "abcdef...", bazel "ac/abcdef...".
 *
 * libcurl is loaded (dlopen) when the first http remote is configured, not linked: it
 * brings some 20 shared libraries that every run would load at start, doubling the CPU
 * time of `pyc-tool --version` or a pre-commit `check`, as git keeps curl out of git in
 * git-remote-http. <curl/curl.h> still types every function through the table below.
 */
#include "remote_internal.h"
#include "store_internal.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum layout { LAYOUT_SUBDIRS, LAYOUT_FLAT, LAYOUT_BAZEL };

typedef struct http_cfg {
	char *base;                 /* the URL, no credentials, query or fragment; ends in '/' */
	const char *redacted;       /* borrowed from the URL, as the strings below */
	const char *user, *password, *bearer, *ca_file;
	enum layout layout;
	bool keep_alive;
	unsigned connect_ms, operation_ms;
	struct curl_slist *headers; /* "header" attributes, and no "Expect: 100-continue" */
} http_cfg;

typedef struct http_client {
	const http_cfg *cfg;
	CURL *curl;
	pyc_buf url;                /* the request's URL, rebuilt per call */
	char errbuf[CURL_ERROR_SIZE];
	char reason[64];            /* the last status line's reason phrase */
	pyc_buf *out;               /* get: the body */
	bool too_big, oom;
	const char *data;           /* put: the body */
	size_t len, off;
} http_client;

/* Every libcurl function this file calls, as lc.<name> for curl_<name>. */
#define CURL_FUNCTIONS(X)                                                                  \
	X(global_init) X(version_info) X(easy_init) X(easy_setopt) X(easy_perform)         \
	X(easy_getinfo) X(easy_cleanup) X(easy_strerror) X(slist_append) X(slist_free_all) \
	X(url) X(url_set) X(url_get) X(url_cleanup) X(free)

#define CURL_MEMBER(name) __typeof__(curl_##name) *name;
static struct {
	CURL_FUNCTIONS(CURL_MEMBER)
} lc;

/* CURLOPT_PROTOCOLS_STR; the version of the headers is checked by CMake. */
#define CURL_MIN_VERSION 0x075500

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256]; /* empty once libcurl is loaded and initialised */

/* Never dlclose'd: a config or a client may live until exit. */
static void load_curl(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	const char *why = NULL;

	if (!h)
		why = dlerror();
#define CURL_LOAD(name)                                                           \
	if (!why && !(lc.name = dlsym(h, "curl_" #name)))                          \
		why = dlerror();
	CURL_FUNCTIONS(CURL_LOAD)
	if (why) {
		snprintf(load_error, sizeof(load_error), "libcurl is not available: %s", why);
		return;
	}
	const curl_version_info_data *v = lc.version_info(CURLVERSION_NOW);
	if (v->version_num < CURL_MIN_VERSION) {
		snprintf(load_error, sizeof(load_error),
		         "libcurl is not available: version %s is older than 7.85", v->version);
		return;
	}
	CURLcode rc = lc.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		snprintf(load_error, sizeof(load_error), "cannot initialise libcurl: %s",
		         lc.easy_strerror(rc));
}

/* The redacted URL without its trailing '/' (a message appends "/<key path>"). */
static int redacted_len(const http_cfg *c)
{
	size_t n = strlen(c->redacted);
	return (int)(n && c->redacted[n - 1] == '/' ? n - 1 : n);
}

static int set_layout(http_cfg *c, const char *v, const pyc_remote_url *u, pyc_error *err)
{
	static const char *const names[] = { "subdirs", "flat", "bazel" };

	for (size_t i = 0; v && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			c->layout = (enum layout)i;
			return 0;
		}
	}
	return pyc_error_set(err, PYC_EINVAL, 0,
	                     "unknown layout '%s' for '%s' (subdirs, flat or bazel)",
	                     v ? v : "", u->redacted);
}

/* "header=NAME=VALUE" becomes "NAME: VALUE"; the value may be a secret: never shown. */
static int add_header(http_cfg *c, const char *v, const pyc_remote_url *u, pyc_error *err)
{
	const char *eq = v ? strchr(v, '=') : NULL;
	size_t name_len = eq ? (size_t)(eq - v) : 0;

	/* No CR or LF anywhere, or the attribute could add a header or a request of its own. */
	if (!name_len || strcspn(v, "\r\n: \t") < name_len || strpbrk(eq, "\r\n"))
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "attribute 'header' of '%s' must be NAME=VALUE", u->redacted);
	pyc_buf line = PYC_BUF_INIT;
	int rc = pyc_buf_printf(&line, "%.*s: %s", (int)name_len, v, eq + 1);
	struct curl_slist *l = rc == 0 ? lc.slist_append(c->headers, line.ptr) : NULL;
	pyc_buf_dispose(&line);
	if (!l)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	c->headers = l;
	return 0;
}

static int set_attr(http_cfg *c, const char *name, const char *v, const pyc_remote_url *u,
                    pyc_error *err)
{
	static const char *const valued[] = { "bearer-token", "ca-file", "keep-alive" };
	bool has = v && *v;

	if (!strcmp(name, "read-only") || !strcmp(name, "connect-timeout") ||
	    !strcmp(name, "operation-timeout"))
		return 0; /* the core's */
	if (!strcmp(name, "layout"))
		return set_layout(c, v, u, err);
	if (!strcmp(name, "header"))
		return add_header(c, v, u, err);
	if (!strcmp(name, "bearer-token") && has) {
		c->bearer = v;
		return 0;
	}
	if (!strcmp(name, "ca-file") && has) {
		c->ca_file = v;
		if (access(v, R_OK) != 0)
			return pyc_error_set(err, PYC_EINVAL, errno,
			                     "cannot read CA file '%s' for '%s'", v, u->redacted);
		return 0;
	}
	if (!strcmp(name, "keep-alive") && has && (!strcmp(v, "true") || !strcmp(v, "false"))) {
		c->keep_alive = !strcmp(v, "true");
		return 0;
	}
	const char *what = "unknown attribute";
	for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (!strcmp(name, valued[i]))
			what = "bad value for attribute";
	return pyc_error_set(err, PYC_EINVAL, 0, "%s '%s' for '%s'", what, name, u->redacted);
}

/* The URL as curl will request it: no credentials (CURLOPT_USERNAME carries them), no
 * query or fragment (a key path is appended), the path ending in '/'. */
static int base_url(http_cfg *c, const pyc_remote_url *u, pyc_error *err)
{
	CURLU *h = lc.url();
	char *path = NULL, *url = NULL;
	pyc_buf b = PYC_BUF_INIT;
	int rc = PYC_ENOMEM;

	if (!h)
		goto done;
	rc = PYC_EINVAL;
	if (lc.url_set(h, CURLUPART_URL, u->url, 0) != CURLUE_OK ||
	    lc.url_set(h, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    lc.url_set(h, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    lc.url_set(h, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    lc.url_set(h, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    lc.url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto done;
	rc = PYC_ENOMEM;
	if (pyc_buf_puts(&b, path) != 0 || (b.ptr[b.len - 1] != '/' && pyc_buf_putc(&b, '/') != 0))
		goto done;
	rc = PYC_EINVAL;
	if (lc.url_set(h, CURLUPART_PATH, b.ptr, 0) != CURLUE_OK ||
	    lc.url_get(h, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto done;
	rc = (c->base = strdup(url)) ? 0 : PYC_ENOMEM;
done:
	if (rc == PYC_EINVAL)
		pyc_error_set(err, rc, 0, "malformed URL '%s'", u->redacted);
	else if (rc)
		pyc_error_set(err, rc, 0, "out of memory");
	lc.free(url);
	lc.free(path);
	pyc_buf_dispose(&b);
	lc.url_cleanup(h);
	return rc;
}

static void cfg_free(void *p)
{
	http_cfg *c = p;

	if (!c)
		return;
	lc.slist_free_all(c->headers);
	free(c->base);
	free(c);
}

static int cfg_new(const pyc_remote_url *u, void **out, pyc_error *err)
{
	if (strcmp(u->scheme, "http") && strcmp(u->scheme, "https"))
		return pyc_error_set(err, PYC_EINVAL, 0, "'%s' is not an http:// or https:// URL",
		                     u->redacted);
	if (!u->host || !*u->host)
		return pyc_error_set(err, PYC_EINVAL, 0, "no host in '%s'", u->redacted);
	pthread_once(&load_once, load_curl);
	if (load_error[0])
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0, "http remote '%s': %s", u->redacted,
		                     load_error);

	http_cfg *c = calloc(1, sizeof(*c));
	if (!c)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	c->redacted = u->redacted;
	c->user = u->user;
	c->password = u->password;
	c->keep_alive = true;
	c->connect_ms = u->connect_timeout_ms;
	c->operation_ms = u->operation_timeout_ms;
	/* curl would wait up to a second for "100 Continue" before sending a large body. */
	c->headers = lc.slist_append(NULL, "Expect:");
	int rc = c->headers ? 0 : pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	for (size_t i = 0; rc == 0 && i < u->nattrs; i++)
		rc = set_attr(c, u->attrs[i].name, u->attrs[i].value, u, err);
	if (rc == 0)
		rc = base_url(c, u, err);
	if (rc) {
		cfg_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	http_client *cl = ud;

	n *= size;
	/* A remote is untrusted: no reply may make us hold more than an entry can be. */
	if (cl->out->len + n > STORE_ENTRY_MAX + STORE_HEADER_SIZE) {
		cl->too_big = true;
		return 0;
	}
	if (pyc_buf_put(cl->out, p, n) != 0) {
		cl->oom = true;
		return 0;
	}
	return n;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	http_client *cl = ud;
	size_t k = cl->len - cl->off;

	if (k > size * n)
		k = size * n;
	if (k)
		memcpy(p, cl->data + cl->off, k);
	cl->off += k;
	return k;
}

/* curl rewinds the body when it must send it again (a reused connection found closed). */
static int on_seek(void *ud, curl_off_t off, int origin)
{
	http_client *cl = ud;

	if (origin != SEEK_SET || off < 0 || (size_t)off > cl->len)
		return CURL_SEEKFUNC_FAIL;
	cl->off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* Keep the reason phrase of "HTTP/1.1 507 Insufficient Storage" for messages. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	http_client *cl = ud;
	size_t len = size * n;

	if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		sp = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p)) : NULL;
		size_t k = 0;
		const char *q = sp ? sp + 1 : p + len;
		for (; q < p + len && k + 1 < sizeof(cl->reason); q++)
			if (*q >= ' ' && *q < 127)
				cl->reason[k++] = *q;
		cl->reason[k] = '\0';
	}
	return len;
}

/* Nonzero when an option is refused (out of memory copying a string). */
static int set_common(http_client *cl)
{
	const http_cfg *c = cl->cfg;
	CURL *h = cl->curl;
	int bad = 0;

	bad |= lc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for timeouts: threads */
	bad |= lc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= lc.easy_setopt(h, CURLOPT_ERRORBUFFER, cl->errbuf);
	bad |= lc.easy_setopt(h, CURLOPT_USERAGENT, "pyc-tool/" PYC_VERSION);
	bad |= lc.easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	bad |= lc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_ms);
	bad |= lc.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->operation_ms);
	bad |= lc.easy_setopt(h, CURLOPT_FORBID_REUSE, c->keep_alive ? 0L : 1L);
	bad |= lc.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	                      (curl_off_t)(STORE_ENTRY_MAX + STORE_HEADER_SIZE));
	bad |= lc.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	bad |= lc.easy_setopt(h, CURLOPT_WRITEDATA, cl);
	bad |= lc.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	bad |= lc.easy_setopt(h, CURLOPT_READDATA, cl);
	bad |= lc.easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
	bad |= lc.easy_setopt(h, CURLOPT_SEEKDATA, cl);
	bad |= lc.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	bad |= lc.easy_setopt(h, CURLOPT_HEADERDATA, cl);
	if (c->user || c->password) {
		bad |= lc.easy_setopt(h, CURLOPT_USERNAME, c->user ? c->user : "");
		bad |= lc.easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	/* Verification stays on: ca-file only chooses whom to trust. */
	if (c->ca_file)
		bad |= lc.easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->bearer) {
		bad |= lc.easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		bad |= lc.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->bearer);
	}
	return bad;
}

static void client_free(void *p)
{
	http_client *cl = p;

	if (!cl)
		return;
	lc.easy_cleanup(cl->curl);
	pyc_buf_dispose(&cl->url);
	free(cl);
}

static int client_new(const void *cfg, void **out, pyc_error *err)
{
	http_client *cl = calloc(1, sizeof(*cl));

	if (!cl || !(cl->curl = lc.easy_init())) {
		free(cl);
		return pyc_error_set(err, PYC_ENOMEM, 0, "cannot create a curl handle");
	}
	cl->cfg = cfg;
	if (set_common(cl) != 0) {
		client_free(cl);
		return pyc_error_set(err, PYC_ENOMEM, 0, "cannot set up a curl handle");
	}
	*out = cl;
	return 0;
}

/* The key's place under the base URL, in the configured layout. */
static const char *key_path(const http_cfg *c, const char *hex, char out[68])
{
	if (c->layout == LAYOUT_SUBDIRS)
		snprintf(out, 68, "%.2s/%s", hex, hex + 2);
	else
		snprintf(out, 68, "%s%s", c->layout == LAYOUT_BAZEL ? "ac/" : "", hex);
	return out;
}

/* One request; 0 when the exchange completed, its status in *status. */
static int perform(http_client *cl, bool get, const char *rel, long *status, pyc_error *err)
{
	const http_cfg *c = cl->cfg;
	const char *what = get ? "get" : "put";

	pyc_buf_clear(&cl->url);
	if (pyc_buf_printf(&cl->url, "%s%s", c->base, rel) != 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	lc.easy_setopt(cl->curl, CURLOPT_URL, cl->url.ptr);
	cl->errbuf[0] = cl->reason[0] = '\0';
	cl->too_big = cl->oom = false;

	CURLcode rc = lc.easy_perform(cl->curl);
	if (cl->oom)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	if (rc != CURLE_OK) {
		const char *why = cl->errbuf[0] ? cl->errbuf : lc.easy_strerror(rc);
		if (cl->too_big || rc == CURLE_FILESIZE_EXCEEDED)
			why = "reply larger than any entry";
		return pyc_error_set(err, rc == CURLE_OPERATION_TIMEDOUT ? PYC_ETIMEOUT : PYC_EIO,
		                     0, "cannot %s '%.*s/%s': %s", what, redacted_len(c),
		                     c->redacted, rel, why);
	}
	lc.easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status <= 299)
		return 0;
	if (*status == 404 && get)
		return pyc_error_set(err, PYC_ENOTFOUND, 0, "no entry at '%.*s/%s'",
		                     redacted_len(c), c->redacted, rel);
	return pyc_error_set(err, PYC_EIO, 0, "cannot %s '%.*s/%s': HTTP %ld%s%s", what,
	                     redacted_len(c), c->redacted, rel, *status,
	                     cl->reason[0] ? " " : "", cl->reason);
}

static int http_get(void *client, const char *hex, pyc_buf *out, pyc_error *err)
{
	http_client *cl = client;
	long status = 0;

	pyc_buf_clear(out);
	cl->out = out;
	lc.easy_setopt(cl->curl, CURLOPT_HTTPGET, 1L);
	char rel[68];
	int rc = perform(cl, true, key_path(cl->cfg, hex, rel), &status, err);
	cl->out = NULL;
	if (rc)
		pyc_buf_clear(out);
	return rc;
}

static int http_put(void *client, const char *hex, const void *data, size_t len,
                    pyc_error *err)
{
	http_client *cl = client;
	pyc_buf sink = PYC_BUF_INIT; /* an error reply's body, dropped */
	long status = 0;

	cl->out = &sink;
	cl->data = data;
	cl->len = len;
	cl->off = 0;
	lc.easy_setopt(cl->curl, CURLOPT_UPLOAD, 1L);
	lc.easy_setopt(cl->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	char rel[68];
	int rc = perform(cl, false, key_path(cl->cfg, hex, rel), &status, err);
	cl->out = NULL;
	cl->data = NULL;
	pyc_buf_dispose(&sink);
	return rc;
}

const pyc_remote_backend pyc_remote__http = {
	.scheme = "http",
	.config = cfg_new,
	.config_free = cfg_free,
	.connect = client_new,
	.get = http_get,
	.put = http_put,
	.disconnect = client_free,
};
