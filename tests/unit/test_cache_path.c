/*
 * Cache paths against two oracles: every cache_path row of tests/fixtures/vectors.tsv
 * (for each tag 3.8-3.13), and the live interpreters (3.8+ from pyenv and PATH), which
 * are asked importlib.util.cache_from_source/source_from_cache for a generated list
 * of tricky paths, byte for byte.
 */
#include "testutil.h"

#include "pyc/cache_path.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Replace every "{TAG}" in s with tag. */
static void subst_tag(char *dst, size_t cap, const char *s, const char *tag)
{
	pyc_buf b = PYC_BUF_INIT;
	for (const char *p = s; *p;) {
		const char *t = strstr(p, "{TAG}");
		size_t n = t ? (size_t)(t - p) : strlen(p);
		assert_int_equal(pyc_buf_put(&b, p, n), 0);
		if (!t)
			break;
		assert_int_equal(pyc_buf_puts(&b, tag), 0);
		p = t + 5;
	}
	assert_true(b.len < cap);
	memcpy(dst, pyc_buf_cstr(&b), b.len + 1);
	pyc_buf_dispose(&b);
}

/* A Python literal of the vectors: 'text' -> text, None -> NULL, 12 -> "12". */
static const char *py_literal(char *s)
{
	if (strcmp(s, "None") == 0)
		return NULL;
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* "('/a/b/c.py', None)" -> its two fields (the vectors' paths hold no ", "). */
static void split_args(char *args, char **path, char **opt)
{
	size_t n = strlen(args);
	assert_true(n > 2 && args[0] == '(' && args[n - 1] == ')');
	args[n - 1] = '\0';
	char *comma = strstr(args, ", ");
	assert_non_null(comma);
	*comma = '\0';
	*path = (char *)py_literal(args + 1);
	*opt = (char *)py_literal(comma + 2);
	assert_non_null(*path);
}

static void check_vector_row(char **f, const char *tag)
{
	char args[512], *path, *opt;
	assert_true(strlen(f[5]) < sizeof(args));
	memcpy(args, f[5], strlen(f[5]) + 1);
	split_args(args, &path, &opt);
	const char *cwd = f[2] + strlen("cwd=");
	int level = (int)strtol(f[3] + strlen("sys.flags.optimize="), NULL, 10);
	char level_s[8];
	snprintf(level_s, sizeof(level_s), "%d", level);
	/* optimization=None means the interpreter's -O level, '' at level 0. */
	const char *o = opt ? opt : (level ? level_s : NULL);
	char pfx_buf[256];
	const char *pfx = NULL;
	if (strcmp(f[4], "pycache_prefix=None") != 0) {
		snprintf(pfx_buf, sizeof(pfx_buf), "%s", f[4] + strlen("pycache_prefix="));
		pfx = py_literal(pfx_buf);
	}
	pyc_buf out = PYC_BUF_INIT;
	int rc = pyc_cache_from_source(&out, path, tag, o, pfx, cwd);
	if (strcmp(f[6], "raises ValueError") == 0) {
		if (rc != PYC_EINVAL)
			fail_msg("%s %s: expected ValueError, got %d '%s'", tag, f[5], rc, pyc_buf_cstr(&out));
	} else {
		char want[512];
		subst_tag(want, sizeof(want), f[6], tag);
		if (rc != 0 || strcmp(pyc_buf_cstr(&out), want) != 0)
			fail_msg("%s %s prefix=%s: got %d '%s', want '%s'", tag, f[5], f[4], rc,
			         pyc_buf_cstr(&out), want);
	}
	pyc_buf_dispose(&out);
}

static void test_vectors(void **state)
{
	(void)state;
	static const char *const tags[] = {"cpython-38", "cpython-39", "cpython-310",
	                                   "cpython-311", "cpython-312", "cpython-313"};
	FILE *fp = fopen(tu_fixture("vectors.tsv"), "r");
	assert_non_null(fp);
	char line[2048];
	int rows = 0;
	while (fgets(line, sizeof(line), fp)) {
		char *f[8];
		if (strncmp(line, "cache_path\tcache_from_source\t", 29) != 0)
			continue;
		assert_int_equal(tu_split_tabs(line, f, 8), 7);
		for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			check_vector_row(f, tags[i]);
		rows++;
	}
	fclose(fp);
	assert_true(rows >= 30);
}

struct sfc_case {
	const char *cache, *prefix, *want; /* want NULL: ValueError */
};

/* Straight from the rules in the reference (pyc-format.md section 5). */
static void test_source_from_cache(void **state)
{
	(void)state;
	static const struct sfc_case cases[] = {
		{"/a/b/__pycache__/c.cpython-312.pyc", NULL, "/a/b/c.py"},
		{"/a/b/__pycache__/c.cpython-312.opt-1.pyc", NULL, "/a/b/c.py"},
		{"/a/b/__pycache__/c.cpython-312.opt-x9.pyc", NULL, "/a/b/c.py"},
		{"__pycache__/c.cpython-312.pyc", NULL, "c.py"},
		{"/a/b/__pycache__/c.tar.cpython-312.pyc", NULL, NULL}, /* rsplit field is the tag */
		{"/a/b/__pycache__/c.cpython-312.opt-.pyc", NULL, NULL},
		{"/a/b/__pycache__/c.cpython-312.opt-a-b.pyc", NULL, NULL},
		{"/a/b/__pycache__/c.cpython-312.foo.pyc", NULL, NULL},
		{"/a/b/__pycache__/c.pyc", NULL, NULL},
		{"/a/b/__pycache__/a.b.c.d.pyc", NULL, NULL},
		{"/a/b/c.cpython-312.pyc", NULL, NULL},
		{"/pfx/a/b/c.cpython-312.pyc", "/pfx", "/a/b/c.py"},
		{"/pfx/a/b/c.cpython-312.pyc", "/pfx///", "/a/b/c.py"},
		{"/pfx/a/__pycache__/c.cpython-312.pyc", "/pfx", "/a/__pycache__/c.py"},
		{"/other/__pycache__/c.cpython-312.pyc", "/pfx", "/other/c.py"},
		{"/other/c.cpython-312.pyc", "/pfx", NULL},
		{"/pfxx/a/c.cpython-312.pyc", "/pfx", NULL},
	};
	pyc_buf out = PYC_BUF_INIT;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sfc_case *c = &cases[i];
		int rc = pyc_source_from_cache(&out, c->cache, c->prefix);
		if (!c->want && rc != PYC_EINVAL)
			fail_msg("%s: expected ValueError, got '%s'", c->cache, pyc_buf_cstr(&out));
		if (c->want && (rc != 0 || strcmp(out.ptr, c->want) != 0))
			fail_msg("%s: got %d '%s', want '%s'", c->cache, rc, pyc_buf_cstr(&out), c->want);
	}
	pyc_buf_dispose(&out);
}

static void test_name_parse(void **state)
{
	(void)state;
	pyc_cache_name n;
	assert_int_equal(pyc_cache_name_parse(&n, "x.tar.cpython-312.opt-2.pyc"), 0);
	assert_int_equal(n.stem_len, 5);
	assert_memory_equal(n.stem, "x.tar", 5);
	assert_int_equal(n.tag_len, 11);
	assert_memory_equal(n.tag, "cpython-312", 11);
	assert_int_equal(n.opt_len, 1);
	assert_memory_equal(n.opt, "2", 1);
	assert_int_equal(pyc_cache_name_parse(&n, "mod.cpython-38.pyc"), 0);
	assert_int_equal(n.opt_len, 0);
	assert_memory_equal(n.tag, "cpython-38", n.tag_len);
	static const char *const bad[] = {"mod.pyc", ".cpython-312.pyc", "mod..pyc", "mod.cpython-312.pyo",
	                                  "mod.cpython-312.opt-.pyc", "mod.cpython-312.opt-a-b.pyc",
	                                  "opt-1.pyc", "noextcpython-312.pyc", "pyc", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pyc_cache_name_parse(&n, bad[i]) != PYC_EINVAL)
			fail_msg("'%s' parsed", bad[i]);
}

static void test_small_helpers(void **state)
{
	(void)state;
	pyc_buf out = PYC_BUF_INIT;
	assert_int_equal(pyc_legacy_from_source(&out, "a/foo.py"), 0);
	assert_string_equal(out.ptr, "a/foo.pyc");
	pyc_buf_dispose(&out);
	assert_true(pyc_is_pycache_dir("__pycache__"));
	assert_false(pyc_is_pycache_dir("__pycache__x"));
	assert_true(pyc_is_bytecode_name("a.pyc"));
	assert_true(pyc_is_bytecode_name("a.pyo"));
	assert_false(pyc_is_bytecode_name("a.pyd"));
	assert_false(pyc_is_bytecode_name("pyc"));
	assert_string_equal(pyc_pycache_prefix("/x"), "/x");
	assert_null(pyc_pycache_prefix(""));
	setenv("PYTHONPYCACHEPREFIX", "/envpfx", 1);
	assert_string_equal(pyc_pycache_prefix(NULL), "/envpfx");
	setenv("PYTHONPYCACHEPREFIX", "", 1);
	assert_null(pyc_pycache_prefix(NULL));
	unsetenv("PYTHONPYCACHEPREFIX");
	assert_null(pyc_pycache_prefix(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_source_from_cache),
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_small_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
