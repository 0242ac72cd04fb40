/*
 * test_importtime.c - the -X importtime parser against the live output of every
 * installed CPython 3.7 - 3.13 (nested imports, a package, a module that raises, one that
 * does not exist), plus the statistics helpers.
 *
 * Oracle: the interpreter's own output, captured at test time; the tree must agree with
 * what the interpreter's numbers say (a parent's cumulative time is its self time plus
 * its children's cumulative times, to the microsecond of rounding per line) and with the
 * import structure of the scratch package.
 */
#include "testutil.h"
#include "pyc/importtime.h"
#include "pyc/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_py[] =
	"import sys\n"
	"sys.stderr.write('MARK\\n'); sys.stderr.flush()\n"
	"import pkg.sub\n"
	"try:\n    import bad\nexcept ValueError:\n    pass\n"
	"try:\n    import nosuchmod\nexcept ImportError:\n    pass\n";

static char *scratch_tree(void)
{
	char *dir = tu_mkdtemp();
	tu_write_str(dir, "run.py", run_py);
	tu_write_str(dir, "pkg/__init__.py", "from pkg import inner\n");
	tu_write_str(dir, "pkg/inner.py", "import pkg.deep\n");
	tu_write_str(dir, "pkg/deep.py", "X = 1\n");
	tu_write_str(dir, "pkg/sub.py", "import pkg.sub2\n");
	tu_write_str(dir, "pkg/sub2.py", "Y = 2\n");
	tu_write_str(dir, "bad.py", "raise ValueError('boom')\n");
	return dir;
}

/* The interpreter's stderr after the marker (caller frees), with stdout discarded. */
static char *capture(const char *exe, const char *dir, size_t *len)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && PYTHONDONTWRITEBYTECODE=1 '%s' -X importtime run.py "
	         "2>&1 >/dev/null", dir, exe);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 == cap)
			assert_non_null(buf = realloc(buf, cap *= 2));
	}
	buf[n] = '\0';
	assert_int_equal(pclose(p), 0);
	char *mark = strstr(buf, "MARK\n");
	assert_non_null(mark);
	*len = n - (size_t)(mark + 5 - buf);
	memmove(buf, mark + 5, *len + 1);
	return buf;
}

/* Independent count of the timing lines: "import time:" followed by two numbers. */
static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
		long a, b;
		if (sscanf(s, "import time: %ld | %ld |", &a, &b) == 2)
			n++;
	}
	return n;
}

static size_t find(const pyc_importtime_tree *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->nodes[i].name, name) == 0)
			return i;
	fail_msg("module '%s' not in the tree", name);
	return 0;
}

static void check_parent(const pyc_importtime_tree *t, const char *child, const char *parent)
{
	size_t c = find(t, child);
	size_t want = parent ? find(t, parent) : PYC_IMPORTTIME_ROOT;
	if (t->nodes[c].parent != want)
		fail_msg("'%s' should be imported by '%s'", child, parent ? parent : "(top level)");
}

/* Every parent: cumulative = self + children's cumulative, each line rounded down. */
static void check_sums(const pyc_importtime_tree *t, const char *exe)
{
	for (size_t i = 0; i < t->n; i++) {
		long sum = t->nodes[i].self_us, kids = 0;
		for (size_t j = 0; j < i; j++)
			if (t->nodes[j].parent == i) {
				sum += t->nodes[j].cum_us;
				kids++;
				assert_int_equal(t->nodes[j].depth, t->nodes[i].depth + 1);
			}
		long diff = t->nodes[i].cum_us - sum;
		if (diff < -(kids + 1) || diff > kids + 1)
			fail_msg("%s: '%s' cumulative %ld vs self+children %ld", exe, t->nodes[i].name,
			         t->nodes[i].cum_us, sum);
	}
}

static void test_parse_live_output(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, false);
	char *dir = scratch_tree();
	bool seen[14] = { false };
	for (size_t i = 0; i < list.n; i++) {
		pyc_interp in;
		pyc_error err = { 0 };
		if (pyc_interp_probe_fresh(&in, list.path[i], &err) != 0)
			fail_msg("%s: %s", list.path[i], err.message);
		int minor = in.minor;
		bool usable = in.major == 3 && minor >= 7;
		pyc_interp_dispose(&in);
		if (!usable)
			continue;
		size_t len;
		char *text = capture(list.path[i], dir, &len);
		pyc_importtime_tree t = { 0 };
		assert_int_equal(pyc_importtime_parse(&t, text, len), 0);
		assert_int_equal(t.n, count_lines(text));
		check_parent(&t, "pkg.sub", NULL);
		check_parent(&t, "pkg", "pkg.sub");
		check_parent(&t, "pkg.inner", "pkg");
		check_parent(&t, "pkg.deep", "pkg.inner");
		check_parent(&t, "pkg.sub2", "pkg.sub");
		check_parent(&t, "bad", NULL);
		check_parent(&t, "nosuchmod", NULL);
		assert_int_equal(t.nodes[find(&t, "pkg.deep")].depth, 3);
		check_sums(&t, list.path[i]);
		long roots = 0;
		for (size_t k = 0; k < t.n; k++)
			roots += t.nodes[k].parent == PYC_IMPORTTIME_ROOT ? t.nodes[k].cum_us : 0;
		assert_int_equal(pyc_importtime_total(&t), roots);
		pyc_importtime_tree_dispose(&t);
		free(text);
		if (minor < 14)
			seen[minor] = true;
	}
	for (int m = 7; m <= 13; m++)
		if (!seen[m])
			printf("SKIP: parser against Python 3.%d: not installed\n", m);
	tu_rm_rf(dir);
	free(dir);
	tu_interps_free(&list);
}

/* Lines the format allows but no scratch run produces: numbers wider than their
 * column, CRLF, other stderr chatter in between, and output cut off mid-tree. */
static void test_parse_edges(void **state)
{
	(void)state;
	static const char text[] =
		"import time: self [us] | cumulative | imported package\n"
		"Traceback (most recent call last):\n"
		"import time:       12 |         12 |     leaf\r\n"
		"import time: 1234567890 | 1234567999 |   mid\n"
		"import time: x | 1 | bogus\n"
		"import time:        5 | 1234568010 | top\n"
		"import time:        7 |          7 |   orphan";
	pyc_importtime_tree t = { 0 };
	assert_int_equal(pyc_importtime_parse(&t, text, sizeof(text) - 1), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.nodes[0].name, "leaf");
	assert_int_equal(t.nodes[0].depth, 2);
	assert_int_equal(t.nodes[0].parent, 1);
	assert_int_equal(t.nodes[1].self_us, 1234567890L);
	assert_int_equal(t.nodes[1].parent, 2);
	assert_int_equal(t.nodes[2].parent, PYC_IMPORTTIME_ROOT);
	assert_int_equal(t.nodes[3].parent, PYC_IMPORTTIME_ROOT);
	assert_int_equal(pyc_importtime_total(&t), 1234568017L);
	pyc_importtime_tree_dispose(&t);
}

static void test_spread_and_overlap(void **state)
{
	(void)state;
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };
	pyc_spread a = pyc_importtime_spread(odd, 3), b = pyc_importtime_spread(even, 4);
	assert_true(a.min == 1 && a.median == 3 && a.max == 5);
	assert_true(b.min == 1 && b.median == 2.5 && b.max == 4);
	assert_true(pyc_importtime_overlap(&a, &b));
	pyc_spread c = { 6, 7, 8 };
	assert_false(pyc_importtime_overlap(&a, &c));
	assert_false(pyc_importtime_overlap(&c, &b));
}

static void test_module_names(void **state)
{
	(void)state;
	assert_true(pyc_importtime_valid_module("json"));
	assert_true(pyc_importtime_valid_module("email.mime.multipart"));
	assert_true(pyc_importtime_valid_module("_x1.caf\xc3\xa9"));
	const char *bad[] = { "", ".json", "json.", "a..b", "1a", "a.1b", "os; x", "a-b",
		              "a\nb", "a b", "a)" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pyc_importtime_valid_module(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_live_output),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_spread_and_overlap),
		cmocka_unit_test(test_module_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
