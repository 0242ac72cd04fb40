/*
 * remote_url.c - a remote spec "URL|attr|attr=value|..." (ccache's remote_storage
 * syntax) into a pyc_remote_url (remote_internal.h). The URL is the RFC 3986 subset the
 * backends take: scheme://[user[:password]@]host[:port][/path], host a name, an IPv4
 * address or a bracketed IPv6 one; file:///path (host empty or localhost).
 *
 * Credentials must never reach a message, so every message names the redacted form,
 * made before anything else is checked: a malformed URL still hides its password.
 */
#include "remote_url_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MAX_MS 3600000u

/* The strings of one URL, bump-allocated from one block: the URL, its redacted form and
 * its parts (disjoint pieces of the spec), each with a NUL, fit in 4 spec lengths + 64. */
typedef struct arena {
	char *p;
	size_t len, cap;
} arena;

static char *arena_dup(arena *a, const char *s, size_t n)
{
	char *out = a->p + a->len;
	memcpy(out, s, n);
	out[n] = '\0';
	a->len += n + 1;
	return out;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s[0..n) into the arena; NULL for a bad escape or a NUL byte. */
static const char *arena_decode(arena *a, const char *s, size_t n)
{
	char *out = a->p + a->len, *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return NULL;
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	a->len += (size_t)(o - out) + 1;
	return out;
}

/* The URL with the password of its userinfo replaced by "***". The userinfo ends at the
 * URL's last '@', not at the first '/': a password with an unescaped '/' (a malformed
 * URL) is hidden too, and an '@' in a path hides too much rather than too little. */
static const char *redact(arena *a, const char *url, size_t n)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep && (size_t)(sep - url) < n ? sep + 3 : url;
	const char *at = NULL;
	for (const char *p = auth; p < url + n; p++)
		if (*p == '@')
			at = p;
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon)
		return arena_dup(a, url, n);
	char *out = a->p + a->len;
	size_t head = (size_t)(colon + 1 - url), tail = n - (size_t)(at - url);
	memcpy(out, url, head);
	memcpy(out + head, "***", 3);
	memcpy(out + head + 3, at, tail);
	out[head + 3 + tail] = '\0';
	a->len += head + 3 + tail + 1;
	return out;
}

static int bad(pyc_error *err, const pyc_remote_url *u, const char *why)
{
	return pyc_error_set(err, PYC_EINVAL, 0, "invalid remote cache '%s': %s", u->redacted, why);
}

/* A decimal in [lo, hi] filling s entirely. */
static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool known_scheme(const char *s)
{
	static const char *const schemes[] = { "redis", "http", "https", "file" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(s, schemes[i]) == 0)
			return true;
	return false;
}

/* "host[:port]" or "[v6][:port]" of auth[0..n). */
static int parse_hostport(pyc_remote_url *u, arena *a, const char *auth, size_t n,
                          pyc_error *err)
{
	const char *end = auth + n, *hend, *port = NULL;
	if (n > 0 && auth[0] == '[') {
		hend = memchr(auth, ']', n);
		if (!hend)
			return bad(err, u, "unclosed '[' in the host");
		u->host = arena_dup(a, auth + 1, (size_t)(hend - auth - 1));
		if (hend + 1 < end && hend[1] != ':')
			return bad(err, u, "junk after the IPv6 address");
		port = hend + 1 < end ? hend + 2 : NULL;
	} else {
		hend = memchr(auth, ':', n);
		u->host = arena_dup(a, auth, (size_t)((hend ? hend : end) - auth));
		port = hend ? hend + 1 : NULL;
	}
	if (!*u->host)
		return bad(err, u, "no host");
	if (strcspn(u->host, " \t%?#") != strlen(u->host))
		return bad(err, u, "invalid host");
	if (port) {
		unsigned long v;
		if (!parse_uint(arena_dup(a, port, (size_t)(end - port)), 1, 65535, &v))
			return bad(err, u, "invalid port");
		u->port = (int)v;
	}
	return 0;
}

/* Userinfo, host and port of the authority auth[0..n). */
static int parse_authority(pyc_remote_url *u, arena *a, const char *auth, size_t n,
                           pyc_error *err)
{
	const char *at = NULL;
	for (const char *p = auth; p < auth + n; p++)
		if (*p == '@')
			at = p;
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		const char *uend = colon ? colon : at;
		if (uend > auth && !(u->user = arena_decode(a, auth, (size_t)(uend - auth))))
			return bad(err, u, "invalid percent-escape in the user name");
		if (colon && !(u->password = arena_decode(a, colon + 1, (size_t)(at - colon - 1))))
			return bad(err, u, "invalid percent-escape in the password");
		n -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (strcmp(u->scheme, "file") == 0) {
		if (at || (n && !(n == 9 && memcmp(auth, "localhost", 9) == 0)))
			return bad(err, u, "a file URL names a local directory: file:///path");
		return 0;
	}
	return parse_hostport(u, a, auth, n, err);
}

static int parse_url(pyc_remote_url *u, arena *a, const char *url, pyc_error *err)
{
	const char *sep = strstr(url, "://");
	if (!sep || sep == url)
		return bad(err, u, "not a URL (scheme://...)");
	char *scheme = arena_dup(a, url, (size_t)(sep - url));
	for (char *p = scheme; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", *p))
			return bad(err, u, "invalid scheme");
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	u->scheme = scheme;
	if (!known_scheme(scheme)) {
		return pyc_error_set(err, PYC_EINVAL, 0, "invalid remote cache '%s': unknown scheme "
		                     "'%s' (redis, http, https or file)", u->redacted, scheme);
	}
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?#");
	int rc = parse_authority(u, a, auth, alen, err);
	if (rc < 0)
		return rc;
	const char *path = auth + alen;
	if (strpbrk(path, "?#"))
		return bad(err, u, "a query or fragment is not supported");
	if (!(u->path = arena_decode(a, path, strlen(path))))
		return bad(err, u, "invalid percent-escape in the path");
	if (strcmp(u->scheme, "file") == 0 && u->path[0] != '/')
		return bad(err, u, "a file URL needs an absolute path: file:///path");
	return 0;
}

static int common_attr(pyc_remote_url *u, const char *name, const char *value, pyc_error *err)
{
	unsigned long v;
	if (strcmp(name, "read-only") == 0) {
		if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return bad(err, u, "read-only takes no value, or true or false");
		u->read_only = !value || strcmp(value, "true") == 0;
	} else if (strcmp(name, "connect-timeout") == 0 || strcmp(name, "operation-timeout") == 0) {
		if (!parse_uint(value, 1, TIMEOUT_MAX_MS, &v))
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid remote cache '%s': %s takes "
			                     "milliseconds (1 to %u)", u->redacted, name, TIMEOUT_MAX_MS);
		*(name[0] == 'c' ? &u->connect_timeout_ms : &u->operation_timeout_ms) = (unsigned)v;
	}
	return 0;
}

/* "|name|name=value..." after the URL. */
static int parse_attrs(pyc_remote_url *u, arena *a, const char *s, pyc_error *err)
{
	while (*s == '|') {
		s++;
		size_t n = strcspn(s, "|");
		const char *eq = memchr(s, '=', n);
		if (n == 0 || eq == s)
			return bad(err, u, "an empty attribute name");
		if (u->nattrs == PYC_REMOTE_MAX_ATTRS)
			return bad(err, u, "too many attributes");
		const char *name = arena_dup(a, s, (size_t)((eq ? eq : s + n) - s));
		const char *value = eq ? arena_dup(a, eq + 1, (size_t)(s + n - eq - 1)) : NULL;
		u->attrs[u->nattrs].name = name;
		u->attrs[u->nattrs++].value = value;
		int rc = common_attr(u, name, value, err);
		if (rc < 0)
			return rc;
		s += n;
	}
	return 0;
}

/* Credentials from the environment for a URL that has none. */
static void env_credentials(pyc_remote_url *u, arena *a)
{
	const char *user = getenv("PYC_TOOL_CACHE_REMOTE_USER");
	const char *pw = getenv("PYC_TOOL_CACHE_REMOTE_PASSWORD");
	if (u->user || u->password || strcmp(u->scheme, "file") == 0)
		return;
	if (user && *user && strlen(user) < a->cap - a->len - 1)
		u->user = arena_dup(a, user, strlen(user));
	if (pw && *pw && strlen(pw) < a->cap - a->len - 1)
		u->password = arena_dup(a, pw, strlen(pw));
}

int pyc_remote_url__parse(pyc_remote_url *u, char **mem, const char *spec, pyc_error *err)
{
	const char *user = getenv("PYC_TOOL_CACHE_REMOTE_USER");
	const char *pw = getenv("PYC_TOOL_CACHE_REMOTE_PASSWORD");
	size_t n = strlen(spec), ulen = strcspn(spec, "|");
	arena a = { .cap = 4 * (n + 1) + 64 + (user ? strlen(user) + 1 : 0) + (pw ? strlen(pw) + 1 : 0) };

	*u = (pyc_remote_url){ .connect_timeout_ms = 100, .operation_timeout_ms = 10000 };
	if (!(*mem = a.p = malloc(a.cap)))
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	u->url = arena_dup(&a, spec, ulen);
	u->redacted = redact(&a, u->url, ulen);
	int rc = parse_url(u, &a, u->url, err);
	if (rc == 0)
		rc = parse_attrs(u, &a, spec + ulen, err);
	if (rc == 0)
		env_credentials(u, &a);
	return rc;
}

int pyc_remote_url__check_attrs(const pyc_remote_url *u, const char *const *own, size_t n,
                                pyc_error *err)
{
	static const char *const common[] = { "read-only", "connect-timeout", "operation-timeout" };
	for (size_t i = 0; i < u->nattrs; i++) {
		bool known = false;
		for (size_t j = 0; !known && j < 3; j++)
			known = strcmp(u->attrs[i].name, common[j]) == 0;
		for (size_t j = 0; !known && j < n; j++)
			known = strcmp(u->attrs[i].name, own[j]) == 0;
		if (!known)
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid remote cache '%s': unknown "
			                     "attribute '%s'", u->redacted, u->attrs[i].name);
	}
	return 0;
}

const char *pyc_remote_url__attr(const pyc_remote_url *u, const char *name)
{
	for (size_t i = 0; i < u->nattrs; i++)
		if (strcmp(u->attrs[i].name, name) == 0)
			return u->attrs[i].value ? u->attrs[i].value : "";
	return NULL;
}
