/*
 * fuzz_cache_path: cache file names and the source <-> cache path mapping
 * (include/pyc/cache_path.h) on arbitrary strings.
 *
 * Input: NUL-separated fields source, tag, opt, prefix, cwd, name.
 *  - a parsed cache name reassembles to the name, with a non-empty stem and tag and an
 *    alphanumeric opt;
 *  - cache_from_source, with and without a prefix, then source_from_cache gives back the
 *    source's file name (for names it maps back: "<stem>.py", a stem and tag without dots)
 *    and, without a prefix and with a plain head, the source itself; the cache file name
 *    parses back to that stem, tag and opt;
 *  - abspath is absolute, normalised and a fixed point.
 */
#include "fuzz.h"

#include "pyc/cache_path.h"

#include <stdlib.h>
#include <string.h>

enum { F_SOURCE, F_TAG, F_OPT, F_PREFIX, F_CWD, F_NAME, NFIELDS };

static void check_name_parse(const char *name)
{
	pyc_cache_name cn;
	if (pyc_cache_name_parse(&cn, name) != 0)
		return;
	FUZZ_CHECK(cn.stem == name && cn.stem_len > 0 && cn.tag_len > 0);
	FUZZ_CHECK(memchr(cn.tag, '.', cn.tag_len) == NULL);
	pyc_buf b = PYC_BUF_INIT;
	pyc_buf_put(&b, cn.stem, cn.stem_len);
	pyc_buf_putc(&b, '.');
	pyc_buf_put(&b, cn.tag, cn.tag_len);
	if (cn.opt_len > 0) {
		pyc_buf_puts(&b, ".opt-");
		pyc_buf_put(&b, cn.opt, cn.opt_len);
	}
	pyc_buf_puts(&b, ".pyc");
	FUZZ_CHECK(strcmp(pyc_buf_cstr(&b), name) == 0);
	for (size_t i = 0; i < cn.opt_len; i++)
		FUZZ_CHECK((cn.opt[i] >= '0' && cn.opt[i] <= '9') || (cn.opt[i] >= 'a' && cn.opt[i] <= 'z') ||
		           (cn.opt[i] >= 'A' && cn.opt[i] <= 'Z'));
	pyc_buf_dispose(&b);
}

static bool alnum(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* The file name of source, when source_from_cache can map its cache back to it. */
static const char *round_trip_tail(const char *source, const char *tag)
{
	const char *tail = strrchr(source, '/');
	tail = tail ? tail + 1 : source;
	size_t n = strlen(tail);
	if (n < 4 || strcmp(tail + n - 3, ".py") != 0 || memchr(tail, '.', n - 3))
		return NULL;
	/* A tag reading "opt-..." is taken for an optimization level when parsed back. */
	if (!*tag || strchr(tag, '.') || strchr(tag, '/') || !strncmp(tag, "opt-", 4))
		return NULL;
	return tail;
}

static void check_cache_name(const char *cache, const char *tail, const char *tag,
                             const char *opt)
{
	const char *name = strrchr(cache, '/');
	pyc_cache_name cn;
	FUZZ_CHECK(pyc_cache_name_parse(&cn, name ? name + 1 : cache) == 0);
	FUZZ_CHECK(cn.stem_len == strlen(tail) - 3 && memcmp(cn.stem, tail, cn.stem_len) == 0);
	FUZZ_CHECK(cn.tag_len == strlen(tag) && memcmp(cn.tag, tag, cn.tag_len) == 0);
	FUZZ_CHECK(cn.opt_len == strlen(opt) && (!*opt || memcmp(cn.opt, opt, cn.opt_len) == 0));
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n >= k && strcmp(s + n - k, tail) == 0 && (n == k || s[n - k - 1] == '/');
}

/* Is path's directory the prefix itself (trailing slashes aside)? */
static bool directly_in(const char *path, const char *prefix)
{
	size_t pn = strlen(prefix), hn = (size_t)(strrchr(path, '/') - path);
	while (pn > 0 && prefix[pn - 1] == '/')
		pn--;
	return hn == pn && memcmp(path, prefix, pn) == 0;
}

static void check_round_trip(const char **f)
{
	pyc_buf cache = PYC_BUF_INIT, back = PYC_BUF_INIT;
	const char *tail = round_trip_tail(f[F_SOURCE], f[F_TAG]);
	int rc = pyc_cache_from_source(&cache, f[F_SOURCE], f[F_TAG], f[F_OPT], NULL, NULL);
	FUZZ_CHECK(rc == 0 || (rc == PYC_EINVAL && !alnum(f[F_OPT])));
	if (rc == 0 && tail) {
		check_cache_name(cache.ptr, tail, f[F_TAG], f[F_OPT]);
		FUZZ_CHECK(pyc_source_from_cache(&back, cache.ptr, NULL) == 0);
		FUZZ_CHECK(ends_with(back.ptr, tail));
		size_t head = (size_t)(tail - f[F_SOURCE]);
		bool plain = head > 1 && !strstr(f[F_SOURCE], "//") && f[F_SOURCE][head - 2] != '/';
		if (plain || head == 0)
			FUZZ_CHECK(strcmp(back.ptr, f[F_SOURCE]) == 0);
	}
	if (*f[F_PREFIX]) {
		rc = pyc_cache_from_source(&cache, f[F_SOURCE], f[F_TAG], f[F_OPT], f[F_PREFIX],
		                           f[F_CWD]);
		if (rc == 0 && tail) {
			check_cache_name(cache.ptr, tail, f[F_TAG], f[F_OPT]);
			/* CPython maps back only the caches below the prefix directory, not those
			 * in it (a source "//m.py" has the cache "<prefix>/m.TAG.pyc"). */
			if (pyc_source_from_cache(&back, cache.ptr, f[F_PREFIX]) == 0)
				FUZZ_CHECK(ends_with(back.ptr, tail));
			else
				FUZZ_CHECK(directly_in(cache.ptr, f[F_PREFIX]));
		}
	}
	pyc_buf_dispose(&cache);
	pyc_buf_dispose(&back);
}

static void check_abspath(const char *path, const char *cwd)
{
	pyc_buf abs = PYC_BUF_INIT, again = PYC_BUF_INIT;
	FUZZ_CHECK(pyc_abspath(&abs, path, cwd, NULL) == 0);
	const char *a = pyc_buf_cstr(&abs);
	FUZZ_CHECK(a[0] == '/' && (a[1] == '\0' || a[abs.len - 1] != '/'));
	FUZZ_CHECK(!strstr(a, "//") && !strstr(a, "/./") && !strstr(a, "/../"));
	const char *last = strrchr(a, '/') + 1;
	FUZZ_CHECK(strcmp(last, ".") != 0 && strcmp(last, "..") != 0);
	FUZZ_CHECK(pyc_abspath(&again, a, "/unused", NULL) == 0 && strcmp(again.ptr, a) == 0);
	pyc_buf_dispose(&abs);
	pyc_buf_dispose(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[NFIELDS];
	char *buf = fuzz_fields(data, size, f, NFIELDS, NULL);
	check_name_parse(f[F_NAME]);
	check_round_trip(f);
	check_abspath(f[F_SOURCE], *f[F_CWD] ? f[F_CWD] : "/");

	pyc_buf b = PYC_BUF_INIT;
	FUZZ_CHECK(pyc_legacy_from_source(&b, f[F_SOURCE]) == 0);
	size_t n = strlen(f[F_SOURCE]);
	FUZZ_CHECK(b.len == n + 1 && memcmp(b.ptr, f[F_SOURCE], n) == 0 && b.ptr[n] == 'c');
	FUZZ_CHECK(pyc_is_bytecode_name(b.ptr) == (n >= 3 && !strcmp(f[F_SOURCE] + n - 3, ".py")));
	pyc_buf_dispose(&b);
	free(buf);
	return 0;
}
