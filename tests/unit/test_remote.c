/*
 * test_remote.c - the remote cache core (URL parsing, verification, disable after a
 * failure, read-only, counters) through the file:// backend, against the file system.
 *
 * Oracles: the entry files on disk and the local store's own codec (pyc_store__encode),
 * the counters files read back, and hand-checked URL parts.
 */
#include "testutil.h"
#include "pyc/remote.h"
#include "remote_url_internal.h"
#include "store_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- URL parsing ---- */

static void parse_ok(pyc_remote_url *u, char **mem, const char *spec)
{
	pyc_error err = { 0 };
	if (pyc_remote_url__parse(u, mem, spec, &err) != 0)
		fail_msg("%s: %s", spec, err.message);
}

static void test_url_parts_and_attrs(void **state)
{
	(void)state;
	pyc_remote_url u;
	char *mem;
	parse_ok(&u, &mem, "REDIS://us%40er:p%3Ass%7Cw@cache.example:6380/2|read-only|"
	                   "connect-timeout=250|operation-timeout=4000|x-own=1|bare");
	assert_string_equal(u.scheme, "redis");
	assert_string_equal(u.user, "us@er");
	assert_string_equal(u.password, "p:ss|w");
	assert_string_equal(u.host, "cache.example");
	assert_int_equal(u.port, 6380);
	assert_string_equal(u.path, "/2");
	assert_true(u.read_only);
	assert_int_equal(u.connect_timeout_ms, 250);
	assert_int_equal(u.operation_timeout_ms, 4000);
	assert_int_equal(u.nattrs, 5);
	assert_string_equal(pyc_remote_url__attr(&u, "x-own"), "1");
	assert_string_equal(pyc_remote_url__attr(&u, "bare"), "");
	assert_null(pyc_remote_url__attr(&u, "absent"));
	assert_string_equal(u.url, "REDIS://us%40er:p%3Ass%7Cw@cache.example:6380/2");
	assert_string_equal(u.redacted, "REDIS://us%40er:***@cache.example:6380/2");
	assert_null(strstr(u.redacted, "p%3A"));
	free(mem);

	parse_ok(&u, &mem, "http://[::1]:8080/pyc");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8080);
	assert_null(u.user);
	assert_null(u.password);
	assert_false(u.read_only);
	assert_int_equal(u.connect_timeout_ms, 100);
	assert_int_equal(u.operation_timeout_ms, 10000);
	assert_string_equal(u.redacted, "http://[::1]:8080/pyc");
	free(mem);

	parse_ok(&u, &mem, "https://bob@h/|read-only=false");
	assert_string_equal(u.user, "bob");
	assert_null(u.password);
	assert_false(u.read_only);
	assert_string_equal(u.path, "/");
	assert_int_equal(u.port, 0);
	free(mem);

	parse_ok(&u, &mem, "file:///srv/a%20b");
	assert_null(u.host);
	assert_string_equal(u.path, "/srv/a b");
	free(mem);
	parse_ok(&u, &mem, "file://localhost/srv");
	assert_string_equal(u.path, "/srv");
	free(mem);
}

/* Every error names the URL redacted, never its password. */
static void expect_bad(const char *spec, const char *reason)
{
	pyc_remote_url u;
	char *mem = NULL;
	pyc_error err = { 0 };
	assert_int_equal(pyc_remote_url__parse(&u, &mem, spec, &err), PYC_EINVAL);
	if (!strstr(err.message, reason))
		fail_msg("%s: '%s' lacks '%s'", spec, err.message, reason);
	assert_null(strstr(err.message, "sekrit"));
	assert_non_null(strstr(err.message, "invalid remote cache '"));
	free(mem);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pyc_remote_check(spec, &err), PYC_EINVAL);
	assert_null(strstr(err.message, "sekrit"));
}

static void test_url_errors(void **state)
{
	(void)state;
	expect_bad("ftp://u:sekrit@h/x", "unknown scheme 'ftp'");
	expect_bad("cache.example:6379", "not a URL");
	expect_bad("redis://u:sekrit@h:0", "invalid port");
	expect_bad("redis://u:sekrit@h:65536", "invalid port");
	expect_bad("redis://u:sekrit@h:12x", "invalid port");
	expect_bad("redis://u:sekrit@/2", "no host");
	expect_bad("http://u:sekrit@[::1/x", "unclosed '['");
	expect_bad("http://u:sekrit@h/x?y=1", "query");
	expect_bad("http://u:sek%zzrit@h/", "invalid percent-escape in the password");
	expect_bad("http://u:sekrit@h/|connect-timeout=0", "connect-timeout takes milliseconds");
	expect_bad("http://u:sekrit@h/|operation-timeout=ten", "operation-timeout takes");
	expect_bad("http://u:sekrit@h/|=3", "an empty attribute name");
	expect_bad("http://u:sekrit@h/|read-only=maybe", "read-only takes");
	expect_bad("file://host/dir", "file:///path");
	expect_bad("file://u:sekrit@/dir", "file:///path");
	/* a '/' the user forgot to escape in the password still hides it */
	expect_bad("http://u:sekrit/x@h/", "invalid port");
	/* Attributes are the backend's to check: the file backend takes none of its own. */
	pyc_error err = { 0 };
	assert_int_equal(pyc_remote_check("file:///tmp|layout=flat", &err), PYC_EINVAL);
	assert_string_equal(err.message, "invalid remote cache 'file:///tmp': unknown attribute 'layout'");
	assert_int_equal(pyc_remote_check("file:///tmp|read-only|connect-timeout=5", &err), 0);
}

static void test_url_credentials_from_env(void **state)
{
	(void)state;
	pyc_remote_url u;
	char *mem;
	setenv("PYC_TOOL_CACHE_REMOTE_USER", "envuser", 1);
	setenv("PYC_TOOL_CACHE_REMOTE_PASSWORD", "envpw", 1);
	parse_ok(&u, &mem, "redis://h");
	assert_string_equal(u.user, "envuser");
	assert_string_equal(u.password, "envpw");
	assert_string_equal(u.redacted, "redis://h");
	free(mem);
	parse_ok(&u, &mem, "redis://:urlpw@h");   /* the URL's own win */
	assert_null(u.user);
	assert_string_equal(u.password, "urlpw");
	free(mem);
	unsetenv("PYC_TOOL_CACHE_REMOTE_USER");
	unsetenv("PYC_TOOL_CACHE_REMOTE_PASSWORD");
}

static void test_specs_split(void **state)
{
	(void)state;
	char **specs = NULL;
	size_t n = 0;
	assert_int_equal(pyc_remote_specs_split("  file:///a|read-only \tredis://h ", &specs, &n), 0);
	assert_int_equal(pyc_remote_specs_split("", &specs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(specs[0], "file:///a|read-only");
	assert_string_equal(specs[1], "redis://h");
	pyc_remote_specs_free(specs, n);
}

/* ---- the core on the file backend ---- */

typedef struct fixture {
	char *root, *store, *shared;
	char spec[4200];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->root = tu_mkdtemp();
	f->store = strdup(tu_path(f->root, "store"));
	f->shared = strdup(tu_path(f->root, "shared"));
	mkdir(f->shared, 0777);
	snprintf(f->spec, sizeof(f->spec), "file://%s", f->shared);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_rm_rf(f->root);
	free(f->root);
	free(f->store);
	free(f->shared);
	free(f);
	return 0;
}

static pyc_remotes *open_remotes(const fixture *f, const char *const *specs, size_t n)
{
	pyc_remotes *r = NULL;
	pyc_error err = { 0 };
	if (pyc_remotes_new(&r, specs, n, f->store, &err) != 0)
		fail_msg("remotes: %s", err.message);
	return r;
}

static const char *entry_file(const char *dir, const pyc_store_key *key)
{
	char name[69];
	pyc_store__entry_path(key, name);
	return tu_path(dir, name);
}

/* The counters `cache stats` would show for url (all zero when absent). */
static pyc_remote_counts counts_of(const fixture *f, const char *url)
{
	pyc_remote_counts *all, out = { 0 };
	size_t n;
	pyc_error err = { 0 };
	if (pyc_remote_stats(f->store, &all, &n, &err) != 0)
		fail_msg("stats: %s", err.message);
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].url, url) == 0)
			out = all[i], out.url = NULL;
	pyc_remote_counts_free(all, n);
	return out;
}

static void test_put_then_get_through_the_directory(void **state)
{
	fixture *f = *state;
	const char *specs[] = { f->spec };
	pyc_store_key key = tu_store_key("one");
	pyc_buf v = PYC_BUF_INIT, want = PYC_BUF_INIT, disk = PYC_BUF_INIT;
	const char value[] = "a compile result";
	double sec = 0;

	pyc_remotes *r = open_remotes(f, specs, 1);
	assert_int_equal(pyc_remotes_put(r, &key, value, sizeof(value), 1.5), 1);
	pyc_remotes_free(r);
	/* On disk: exactly the local store's entry bytes, in its layout. */
	assert_int_equal(pyc_store__encode(&want, &key, value, sizeof(value), 1.5), 0);
	FILE *fp = fopen(entry_file(f->shared, &key), "rb");
	assert_non_null(fp);
	char chunk[4096];
	size_t got = fread(chunk, 1, sizeof(chunk), fp);
	fclose(fp);
	assert_int_equal(got, want.len);
	assert_memory_equal(chunk, want.ptr, got);

	r = open_remotes(f, specs, 1);   /* another run */
	size_t which = 9;
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, &which, NULL), 0);
	assert_int_equal(which, 0);
	assert_int_equal(v.len, sizeof(value));
	assert_memory_equal(v.ptr, value, sizeof(value));
	assert_true(sec > 1.49 && sec < 1.51);
	pyc_store_key other = tu_store_key("two");
	assert_int_equal(pyc_remotes_get(r, &other, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	assert_int_equal(v.len, 0);
	pyc_remotes_free(r);

	pyc_remote_counts c = counts_of(f, f->spec);
	assert_int_equal(c.stores, 1);
	assert_int_equal(c.hits, 1);
	assert_int_equal(c.misses, 1);
	assert_int_equal(c.errors, 0);
	assert_int_equal(c.bytes_written, want.len);
	assert_int_equal(c.bytes_read, want.len);
	pyc_buf_dispose(&v);
	pyc_buf_dispose(&want);
	pyc_buf_dispose(&disk);
}

/* Replace key's entry file with data[0..len). */
static void plant(const fixture *f, const pyc_store_key *key, const void *data, size_t len)
{
	char name[69];
	pyc_store__entry_path(key, name);
	tu_write(f->shared, name, data, len);
}

static void test_bad_entries_are_misses_and_errors(void **state)
{
	fixture *f = *state;
	const char *specs[] = { f->spec };
	pyc_buf good = PYC_BUF_INIT, bad = PYC_BUF_INIT, v = PYC_BUF_INIT;
	pyc_store_key key = tu_store_key("victim"), other = tu_store_key("other");
	const char value[] = "the real value, long enough to be worth checking";
	double sec;
	pyc_error err = { 0 };
	assert_int_equal(pyc_store__encode(&good, &key, value, sizeof(value), 0), 0);

	pyc_remotes *r = open_remotes(f, specs, 1);
	/* a flipped byte in the payload, and one in the header */
	for (size_t at = good.len - 1; at >= 20; at = at - 1 > 20 ? 20 : 0) {
		pyc_buf_clear(&bad);
		pyc_buf_put(&bad, good.ptr, good.len);
		bad.ptr[at] ^= 0x40;
		plant(f, &key, bad.ptr, bad.len);
		assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, &err), PYC_ENOTFOUND);
		assert_non_null(strstr(err.message, "corrupt store entry"));
	}
	plant(f, &key, good.ptr, good.len - 7);   /* truncated */
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	plant(f, &key, "garbage", 7);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	/* a whole valid entry, of another key */
	assert_int_equal(pyc_store__encode(&bad, &other, value, sizeof(value), 0), 0);
	plant(f, &key, bad.ptr, bad.len);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, &err), PYC_ENOTFOUND);
	assert_non_null(strstr(err.message, "key does not match"));
	/* none of them disabled the remote: the good entry is found again */
	plant(f, &key, good.ptr, good.len);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), 0);
	assert_memory_equal(v.ptr, value, sizeof(value));
	pyc_buf out = PYC_BUF_INIT;
	assert_false(pyc_remotes_warning(r, &out));
	pyc_remotes_free(r);

	pyc_remote_counts c = counts_of(f, f->spec);
	assert_int_equal(c.errors, 5);
	assert_int_equal(c.misses, 5);
	assert_int_equal(c.hits, 1);
	pyc_buf_dispose(&good);
	pyc_buf_dispose(&bad);
	pyc_buf_dispose(&v);
	pyc_buf_dispose(&out);
}

static void test_symlinks_are_never_followed(void **state)
{
	fixture *f = *state;
	const char *specs[] = { f->spec };
	pyc_store_key key = tu_store_key("linked");
	pyc_buf good = PYC_BUF_INIT, v = PYC_BUF_INIT;
	double sec;
	char name[69];
	assert_int_equal(pyc_store__encode(&good, &key, "v", 1, 0), 0);
	tu_write(f->root, "elsewhere", good.ptr, good.len);
	pyc_store__entry_path(&key, name);
	plant(f, &key, "x", 1);
	unlink(tu_path(f->shared, name));
	assert_int_equal(symlink(tu_path(f->root, "elsewhere"), tu_path(f->shared, name)), 0);

	pyc_remotes *r = open_remotes(f, specs, 1);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	/* a put replaces the link, and writes nothing through it */
	assert_int_equal(pyc_remotes_put(r, &key, "new", 3, 0), 1);
	struct stat sb;
	assert_int_equal(lstat(tu_path(f->shared, name), &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(stat(tu_path(f->root, "elsewhere"), &sb), 0);
	assert_int_equal(sb.st_size, good.len);
	/* a symlinked level of the layout is not entered */
	char level[2] = { name[0], 0 };
	tu_sh("mv '%s/%s' '%s/moved' && ln -s '%s/moved' '%s/%s'", f->shared, level, f->root,
	      f->root, f->shared, level);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	pyc_remotes_free(r);
	pyc_buf_dispose(&good);
	pyc_buf_dispose(&v);
}

static void test_failed_remote_is_disabled_with_one_warning(void **state)
{
	fixture *f = *state;
	char gone[4200], good[4200];
	snprintf(gone, sizeof(gone), "file://%s/absent", f->root);
	snprintf(good, sizeof(good), "file://%s", f->shared);
	const char *specs[] = { gone, good };
	pyc_store_key key = tu_store_key("k");
	pyc_buf v = PYC_BUF_INIT, msg = PYC_BUF_INIT;
	double sec;
	size_t which = 9;

	pyc_remotes *r = open_remotes(f, specs, 2);
	assert_int_equal(pyc_remotes_put(r, &key, "val", 3, 0), 1);   /* the good one only */
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, &which, NULL), 0);
	assert_int_equal(which, 1);
	assert_true(pyc_remotes_warning(r, &msg));
	assert_non_null(strstr(msg.ptr, gone));
	assert_non_null(strstr(msg.ptr, "not used for the rest of this run"));
	assert_false(pyc_remotes_warning(r, &msg));
	for (int i = 0; i < 5; i++)
		assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, &which, NULL), 0);
	pyc_remotes_free(r);
	/* one failure, then never asked again */
	pyc_remote_counts c = counts_of(f, gone);
	assert_int_equal(c.errors, 1);
	assert_int_equal(c.hits + c.misses + c.stores, 0);
	assert_int_equal(counts_of(f, good).hits, 6);
	pyc_buf_dispose(&v);
	pyc_buf_dispose(&msg);
}

/* A put that fails (a file where the layout needs a directory) disables the remote. */
static void test_failed_put_disables(void **state)
{
	fixture *f = *state;
	const char *specs[] = { f->spec };
	pyc_store_key key = tu_store_key("blocked");
	char name[69];
	pyc_store__entry_path(&key, name);
	char level[2] = { name[0], 0 };
	tu_write(f->shared, level, "file", 4);
	pyc_buf msg = PYC_BUF_INIT, v = PYC_BUF_INIT;
	double sec;

	pyc_remotes *r = open_remotes(f, specs, 1);
	assert_int_equal(pyc_remotes_put(r, &key, "v", 1, 0), 0);
	assert_true(pyc_remotes_warning(r, &msg));
	assert_non_null(strstr(msg.ptr, "cannot write to the remote cache"));
	assert_int_equal(pyc_remotes_put(r, &key, "v", 1, 0), 0);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), PYC_ENOTFOUND);
	pyc_remotes_free(r);
	pyc_remote_counts c = counts_of(f, f->spec);
	assert_int_equal(c.errors, 1);
	assert_int_equal(c.misses, 0);   /* disabled: not asked */
	pyc_buf_dispose(&msg);
	pyc_buf_dispose(&v);
}

static void test_read_only_is_never_written(void **state)
{
	fixture *f = *state;
	char spec[4300];
	snprintf(spec, sizeof(spec), "%s|read-only", f->spec);
	const char *specs[] = { spec };
	pyc_store_key key = tu_store_key("ro");
	pyc_buf v = PYC_BUF_INIT;
	double sec;

	pyc_remotes *r = open_remotes(f, specs, 1);
	assert_int_equal(pyc_remotes_put(r, &key, "v", 1, 0), 0);
	struct stat sb;
	assert_int_equal(stat(entry_file(f->shared, &key), &sb), -1);
	assert_int_equal(errno, ENOENT);
	/* but read */
	const char *rw[] = { f->spec };
	pyc_remotes *w = open_remotes(f, rw, 1);
	assert_int_equal(pyc_remotes_put(w, &key, "v", 1, 0), 1);
	pyc_remotes_free(w);
	assert_int_equal(pyc_remotes_get(r, &key, &v, &sec, NULL, NULL), 0);
	pyc_remotes_free(r);
	/* counted under the URL without its attributes */
	assert_int_equal(counts_of(f, f->spec).hits, 1);
	pyc_buf_dispose(&v);
}

typedef struct getter {
	pyc_remotes *r;
	pyc_store_key keys[32];
	int hits;
} getter;

static void *get_all(void *arg)
{
	getter *g = arg;
	pyc_buf v = PYC_BUF_INIT;
	double sec;
	for (int round = 0; round < 10; round++)
		for (size_t i = 0; i < 32; i++)
			g->hits += pyc_remotes_get(g->r, &g->keys[i], &v, &sec, NULL, NULL) == 0;
	pyc_buf_dispose(&v);
	return NULL;
}

static void test_threads_share_the_pool(void **state)
{
	fixture *f = *state;
	const char *specs[] = { f->spec };
	getter g[4];
	pthread_t t[4];
	pyc_remotes *r = open_remotes(f, specs, 1);
	for (int k = 0; k < 32; k++) {
		char text[16];
		snprintf(text, sizeof(text), "t%d", k);
		g[0].keys[k] = tu_store_key(text);
		if (k % 2 == 0)
			assert_int_equal(pyc_remotes_put(r, &g[0].keys[k], text, strlen(text), 0), 1);
	}
	for (int i = 0; i < 4; i++) {
		g[i].r = r;
		g[i].hits = 0;
		memcpy(g[i].keys, g[0].keys, sizeof(g[0].keys));
		assert_int_equal(pthread_create(&t[i], NULL, get_all, &g[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(g[i].hits, 160);
	}
	pyc_remotes_free(r);
	pyc_remote_counts c = counts_of(f, f->spec);
	assert_int_equal(c.hits, 640);
	assert_int_equal(c.misses, 640);
}

static void test_stats_of_an_unused_store(void **state)
{
	fixture *f = *state;
	pyc_remote_counts *all = (void *)1;
	size_t n = 9;
	assert_int_equal(pyc_remote_stats(f->store, &all, &n, NULL), 0);
	assert_int_equal(n, 0);
	pyc_remote_counts_free(all, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parts_and_attrs),
		cmocka_unit_test(test_url_errors),
		cmocka_unit_test(test_url_credentials_from_env),
		cmocka_unit_test(test_specs_split),
		cmocka_unit_test_setup_teardown(test_put_then_get_through_the_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries_are_misses_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_are_never_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_remote_is_disabled_with_one_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_put_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_is_never_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_the_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_of_an_unused_store, setup, teardown),
	};
	return tu_run_tests("remote", tests);
}
