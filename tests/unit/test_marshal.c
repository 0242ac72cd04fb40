/*
 * test_marshal.c - the co_filename walker (pyc/marshal.h) against every CPython 3.6-3.13.
 *
 * One interpreter process per version compiles each source twice, at path A and at path B,
 * as py_compile does (compile(source, dfile, "exec", dont_inherit=True), marshal.dumps,
 * PYTHONHASHSEED=0). A's body re-targeted to B must be B's bytes on 3.11+, and load as
 * equal code objects on 3.6-3.10 (tests/e2e/codecompare.py, run by that interpreter).
 */
#include "testutil.h"

#include "pyc/marshal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Writes, for case N: N.a and N.b (bodies at A and B), N.an and N.bn (the two names as
 * marshal encodes them), N.pyc (a header, then B's body) and, in "count", how many cases.
 * The names cover every type marshal picks for a str: short ASCII, exactly 255 and 256
 * bytes, long ASCII, non-ASCII, and undecodable bytes as os.fsdecode gives them. The
 * sources: ~40 of the version's stdlib, typing.py, and edge cases, each at several pairs.
 * On 3.12+ each source is compiled once at a third path first: 3.12 and 3.13 intern what a
 * compile meets, so a second compile of the same source in one process can differ from the
 * first (3.12 ftplib.py: 15 bytes); after the warm-up, A and B see the same history. Before
 * 3.12 the warm-up changes no byte of A or B (all cases, 3.6.15-3.11.7), so it is not paid.
 * The "clash" case: a module holding the string 'clash_target', compiled at A and at that
 * very name.
 */
static const char gen_script[] =
	"import glob, importlib.util, marshal, os, sys\n"
	"out = sys.argv[1]\n"
	"def pad(p, n):\n"
	"    return p + b'p' * (n - len(p) - 3) + b'.py'\n"
	"KINDS = [b'/srv/a/lib/m.py', pad(b'/home/u/proj/', 255), pad(b'/home/u/proj/', 256),\n"
	"         b'/tmp/\\xc3\\xbc/n\\xc3\\xa4me.py', b'/tmp/\\xff\\xfe/esc.py',\n"
	"         pad(b'/x/', 400), b'/opt/\\xe2\\x82\\xac' + b'e' * 300 + b'.py']\n"
	"KINDS = [k.decode('utf-8', 'surrogateescape') for k in KINDS]\n"
	"def enc(s):\n"
	"    return s.encode('utf-8', 'surrogatepass')\n"
	"NESTED = ('class C:\\n    def m(self, *a, **k):\\n        f = lambda x: [y for y in x]\\n'\n"
	"          '        return {k: v for k, v in k.items()}, {z for z in a}, (w for w in a)\\n'\n"
	"          'def outer():\\n    n = 1\\n    def inner():\\n        nonlocal n\\n'\n"
	"          '        class D: pass\\n        return D, n\\n    return inner\\n'\n"
	"          'async def co():\\n    return [x async for x in co()]\\n')\n"
	"def edge(a, b):\n"
	"    return [b'', NESTED.encode(), ('HERE = %s\\n' % ascii(a)).encode(),\n"
	"            ('THERE = %s\\ndef f():\\n    return %s\\n' % (ascii(b), ascii(b))).encode()]\n"
	"lib = os.path.dirname(os.__file__)\n"
	"files = sorted(glob.glob(os.path.join(lib, '*.py')))\n"
	"files = files[::max(1, len(files) // 40)][:40] + [os.path.join(lib, 'typing.py')]\n"
	"cases = []\n"
	"for i, f in enumerate(files):\n"
	"    with open(f, 'rb') as h:\n"
	"        cases.append((h.read(), KINDS[i % len(KINDS)], KINDS[(3 * i + 1) % len(KINDS)]))\n"
	"nested = len(cases) + 1\n"
	"for j in range(len(KINDS)):\n"
	"    a, b = KINDS[j], KINDS[(j + 1) % len(KINDS)]\n"
	"    cases.extend((s, a, b) for s in edge(a, b))\n"
	"cases.append((b\"clash_target = 'clash_target'\\n\", KINDS[0], 'clash_target'))\n"
	"hsize = 16 if sys.version_info >= (3, 7) else 12\n"
	"header = importlib.util.MAGIC_NUMBER + bytes(hsize - 4)\n"
	"def dump(src, dfile):\n"
	"    return marshal.dumps(compile(src, dfile, 'exec', dont_inherit=True))\n"
	"for n, (src, a, b) in enumerate(cases):\n"
	"    if sys.version_info >= (3, 12):\n"
	"        dump(src, '/warm/up.py')\n"
	"    body_a, body_b = dump(src, a), dump(src, b)\n"
	"    for ext, data in (('a', body_a), ('b', body_b), ('an', enc(a)), ('bn', enc(b)),\n"
	"                      ('pyc', header + body_b)):\n"
	"        with open(os.path.join(out, '%d.%s' % (n, ext)), 'wb') as h:\n"
	"            h.write(data)\n"
	"with open(os.path.join(out, 'count'), 'w') as h:\n"
	"    h.write('%d %d %d\\n' % (len(cases), hsize, nested))\n";

static void slurp(pyc_buf *b, const char *dir, const char *name)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "%s", name);
	FILE *f = fopen(tu_path(dir, rel), "rb");
	assert_non_null(f);
	pyc_buf_clear(b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(pyc_buf_put(b, chunk, n), 0);
	fclose(f);
}

static void slurp_case(pyc_buf *b, const char *dir, size_t n, const char *ext)
{
	char name[64];
	snprintf(name, sizeof(name), "%zu.%s", n, ext);
	slurp(b, dir, name);
}

#define BYTES(b) ((const uint8_t *)(b).ptr)

static void assert_buf_equal(const pyc_buf *a, const pyc_buf *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->ptr, b->ptr, a->len);
}

/* find succeeds and names `name`. */
static pyc_marshal_slot find_named(const pyc_buf *body, int minor, const pyc_buf *name)
{
	pyc_marshal_slot slot;
	pyc_error err = { 0 };
	pyc_buf got = PYC_BUF_INIT;
	int rc = pyc_marshal_find_filename(BYTES(*body), body->len, minor, &slot, &err);
	if (rc != 0)
		print_message("find: %s\n", err.message);
	assert_int_equal(rc, 0);
	assert_int_equal(pyc_marshal_slot_name(BYTES(*body), body->len, &slot, &got, NULL), 0);
	assert_buf_equal(&got, name);
	pyc_buf_dispose(&got);
	return slot;
}

static void retarget(pyc_buf *out, const pyc_buf *body, const pyc_marshal_slot *slot,
                     const pyc_buf *name)
{
	pyc_buf_clear(out);
	assert_int_equal(pyc_marshal_retarget(BYTES(*body), body->len, slot, name->ptr, name->len,
	                                      out, NULL), 0);
}

struct version {
	const char *exe, *dir;
	int minor;
	size_t count, hsize, nested;
	pyc_buf cmp;   /* codecompare's arguments, 3.6-3.10 */
};

/* Case n: A's body re-targeted to B is B (bytes or code), and to A is A again. */
static void check_case(struct version *v, size_t n)
{
	pyc_buf a = PYC_BUF_INIT, b = PYC_BUF_INIT, an = PYC_BUF_INIT, bn = PYC_BUF_INIT;
	pyc_buf r = PYC_BUF_INIT;
	slurp_case(&a, v->dir, n, "a");
	slurp_case(&b, v->dir, n, "b");
	slurp_case(&an, v->dir, n, "an");
	slurp_case(&bn, v->dir, n, "bn");
	pyc_marshal_slot slot = find_named(&a, v->minor, &an);
	find_named(&b, v->minor, &bn);
	bool clash = true;
	assert_int_equal(pyc_marshal_check_clash(BYTES(a), a.len, v->minor, &slot, bn.ptr, bn.len, 0,
	                                         &clash, NULL), 0);
	assert_false(clash);

	retarget(&r, &a, &slot, &an);
	assert_buf_equal(&r, &a);
	retarget(&r, &a, &slot, &bn);
	find_named(&r, v->minor, &bn);
	if (v->minor >= 11) {
		if (r.len != b.len || memcmp(r.ptr, b.ptr, r.len) != 0)
			print_message("3.%d case %zu: not B's bytes (kept in %s)\n", v->minor, n, v->dir);
		assert_buf_equal(&r, &b);
	} else {
		/* B's own header in front, so that only the bodies can differ. */
		pyc_buf pyc = PYC_BUF_INIT;
		slurp_case(&pyc, v->dir, n, "pyc");
		char name[64];
		snprintf(name, sizeof(name), "%zu.r.pyc", n);
		pyc_buf_truncate(&pyc, v->hsize);
		assert_int_equal(pyc_buf_put(&pyc, r.ptr, r.len), 0);
		tu_write(v->dir, name, pyc.ptr, pyc.len);
		assert_int_equal(pyc_buf_printf(&v->cmp, " '%s/%zu.pyc' '%s/%s'", v->dir, n, v->dir,
		                                name), 0);
		pyc_buf_dispose(&pyc);
	}
	pyc_buf_dispose(&a), pyc_buf_dispose(&b), pyc_buf_dispose(&an), pyc_buf_dispose(&bn);
	pyc_buf_dispose(&r);
}

/*
 * The last case: A's body holds the str 'clash_target' and B is that name. The interpreter
 * itself shares one object between the constant and co_filename at B (so find refuses B's
 * body), and A re-targeted to B is not B's bytes: why check_clash exists.
 */
static void check_clash_case(struct version *v, size_t n)
{
	pyc_buf a = PYC_BUF_INIT, b = PYC_BUF_INIT, an = PYC_BUF_INIT, bn = PYC_BUF_INIT;
	pyc_buf r = PYC_BUF_INIT;
	slurp_case(&a, v->dir, n, "a");
	slurp_case(&b, v->dir, n, "b");
	slurp_case(&an, v->dir, n, "an");
	slurp_case(&bn, v->dir, n, "bn");
	pyc_marshal_slot slot = find_named(&a, v->minor, &an), other;
	bool clash = false;
	assert_int_equal(pyc_marshal_check_clash(BYTES(a), a.len, v->minor, &slot, bn.ptr, bn.len,
	                                         0, &clash, NULL), 0);
	assert_true(clash);
	assert_int_equal(pyc_marshal_check_clash(BYTES(a), a.len, v->minor, &slot, an.ptr, an.len,
	                                         PYC_MARSHAL_CLASH_ANY, &clash, NULL), 0);
	assert_false(clash);   /* the slot itself does not count */
	pyc_error err = { 0 };
	assert_int_equal(pyc_marshal_find_filename(BYTES(b), b.len, v->minor, &other, &err),
	                 PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "shared"));
	retarget(&r, &a, &slot, &bn);
	assert_false(r.len == b.len && memcmp(r.ptr, b.ptr, r.len) == 0);
	pyc_buf_dispose(&a), pyc_buf_dispose(&b), pyc_buf_dispose(&an), pyc_buf_dispose(&bn);
	pyc_buf_dispose(&r);
}

/* The module holding B as a constant (the case after the nested one's self-path case):
 * not a clash, since a path is never shared, but one when every equal str counts. */
static void check_clash_any(struct version *v, size_t n)
{
	pyc_buf a = PYC_BUF_INIT, an = PYC_BUF_INIT, bn = PYC_BUF_INIT;
	slurp_case(&a, v->dir, n, "a");
	slurp_case(&an, v->dir, n, "an");
	slurp_case(&bn, v->dir, n, "bn");
	pyc_marshal_slot slot = find_named(&a, v->minor, &an);
	bool clash = false;
	assert_int_equal(pyc_marshal_check_clash(BYTES(a), a.len, v->minor, &slot, bn.ptr, bn.len,
	                                         PYC_MARSHAL_CLASH_ANY, &clash, NULL), 0);
	assert_true(clash);
	pyc_buf_dispose(&a), pyc_buf_dispose(&an), pyc_buf_dispose(&bn);
}

/* Every proper prefix of a real body is truncated; one byte more is trailing garbage;
 * another version's layout never reads out of bounds (ASan) and gives a known code. */
static void check_malformed(struct version *v, size_t n)
{
	pyc_buf a = PYC_BUF_INIT;
	pyc_marshal_slot slot;
	pyc_error err = { 0 };
	slurp_case(&a, v->dir, n, "a");
	for (size_t len = 0; len < a.len; len++) {
		/* A copy of exactly len bytes, so ASan sees any read past it. */
		uint8_t *cut = malloc(len ? len : 1);
		assert_non_null(cut);
		memcpy(cut, a.ptr, len);
		assert_int_equal(pyc_marshal_find_filename(cut, len, v->minor, &slot, &err),
		                 PYC_ETRUNCATED);
		free(cut);
	}
	assert_int_equal(pyc_buf_putc(&a, 'N'), 0);
	assert_int_equal(pyc_marshal_find_filename(BYTES(a), a.len, v->minor, &slot, &err),
	                 PYC_EINVAL);
	pyc_buf_truncate(&a, a.len - 1);
	for (int minor = 5; minor <= 14; minor++) {
		int rc = pyc_marshal_find_filename(BYTES(a), a.len, minor, &slot, &err);
		if (minor < 6 || minor > 13)
			assert_int_equal(rc, PYC_EINVAL);
		else
			assert_true(rc == 0 || rc == PYC_ETRUNCATED || rc == PYC_EINVAL ||
			            rc == PYC_EUNSUPPORTED);
	}
	pyc_buf_dispose(&a);
}

static void run_version(const char *exe, int minor)
{
	char *tmp = tu_mkdtemp();
	struct version v = { exe, tmp, minor, 0, 0, 0, PYC_BUF_INIT };
	tu_write_str(tmp, "gen.py", gen_script);
	tu_sh("PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 '%s' '%s/gen.py' '%s'", exe, tmp, tmp);
	pyc_buf count = PYC_BUF_INIT;
	slurp(&count, tmp, "count");
	assert_int_equal(sscanf(count.ptr, "%zu %zu %zu", &v.count, &v.hsize, &v.nested), 3);
	pyc_buf_dispose(&count);
	for (size_t n = 0; n + 1 < v.count; n++)
		check_case(&v, n);
	check_clash_case(&v, v.count - 1);
	check_clash_any(&v, v.nested + 2);
	check_malformed(&v, v.nested);
	if (v.cmp.len > 0) {
		const char *src = getenv("PYC_SOURCE_DIR");
		assert_non_null(src);
		tu_sh("'%s' '%s/tests/e2e/codecompare.py'%s", exe, src, v.cmp.ptr);
	}
	print_message("3.%d: %zu bodies re-targeted\n", minor, v.count - 1);
	pyc_buf_dispose(&v.cmp);
	tu_rm_rf(tmp);
	free(tmp);
}

static void test_version(int minor)
{
	tu_interps list;
	tu_interps_find(&list, 0);
	const char *exe = NULL;
	for (size_t i = 0; i < list.n; i++)
		if (list.major[i] == 3 && list.minor[i] == minor)
			exe = list.path[i];
	if (exe)
		run_version(exe, minor);
	tu_interps_free(&list);
	if (!exe)
		tu_skip("no CPython 3.%d found", minor);
}

#define VERSION_TEST(m) \
	static void test_cpython_3_##m(void **state) \
	{ \
		(void)state; \
		test_version(m); \
	}
VERSION_TEST(6)
VERSION_TEST(7)
VERSION_TEST(8)
VERSION_TEST(9)
VERSION_TEST(10)
VERSION_TEST(11)
VERSION_TEST(12)
VERSION_TEST(13)

/* Names that are not UTF-8 as marshal writes it are refused, and out is left alone. */
static void test_bad_names(void **state)
{
	(void)state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no CPython 3 found to make a body");
	/* Python's own verdicts, all in the process that makes the body: for each name,
	 * .decode("utf-8", "surrogatepass") of its bytes raises. */
	static const char *const bad[] = { "\xff", "a\xc0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80",
	                                   "\xed\xa0", "\xc3" };
	pyc_buf args = PYC_BUF_INIT;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pyc_buf_printf(&args, " '%s'", bad[i]), 0);
	char *tmp = tu_mkdtemp();
	tu_sh("cd '%s' && '%s' -c 'import marshal, sys; open(\"b\", \"wb\").write(marshal.dumps("
	      "compile(\"x = 1\", \"/m.py\", \"exec\"))); print(sys.version_info[1], file=open(\"v\", "
	      "\"w\"))\nfor a in sys.argv[1:]:\n  try:\n    a.encode(\"utf-8\", \"surrogateescape\")"
	      ".decode(\"utf-8\", \"surrogatepass\")\n  except UnicodeDecodeError:\n    continue\n"
	      "  sys.exit(\"decodes: %%r\" %% a)'%s", tmp, py, pyc_buf_cstr(&args));
	pyc_buf_dispose(&args);
	pyc_buf body = PYC_BUF_INIT, v = PYC_BUF_INIT, out = PYC_BUF_INIT;
	slurp(&body, tmp, "b");
	slurp(&v, tmp, "v");
	pyc_marshal_slot slot;
	assert_int_equal(pyc_marshal_find_filename(BYTES(body), body.len, atoi(v.ptr), &slot, NULL),
	                 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pyc_marshal_retarget(BYTES(body), body.len, &slot, bad[i],
		                                      strlen(bad[i]), &out, NULL), PYC_EINVAL);
		assert_int_equal(out.len, 0);
	}
	pyc_marshal_slot wrong = { slot.offset + 1, slot.length };
	assert_int_equal(pyc_marshal_slot_name(BYTES(body), body.len, &wrong, &out, NULL),
	                 PYC_EINVAL);
	pyc_buf_dispose(&body), pyc_buf_dispose(&v), pyc_buf_dispose(&out);
	tu_rm_rf(tmp);
	free(tmp);
	free(py);
}

/* Nesting: as deep as marshal.loads still reads is well formed (not a code object, so
 * EUNSUPPORTED), one level more is refused as CPython refuses it. marshal's limit is a depth
 * counter, so "loads" holds up to some k and never after: bisection finds the k that trying
 * every k below 5000 finds, in 13 loads instead of 5000 (each as deep as k). */
static void test_depth_limit(void **state)
{
	(void)state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no CPython 3 found to tell the depth limit");
	char *tmp = tu_mkdtemp();
	tu_sh("cd '%s' && '%s' -c 'import marshal\n"
	      "def ok(k):\n  try:\n    marshal.loads(b\")\\x01\" * k + b\"N\")\n"
	      "  except ValueError:\n    return False\n  return True\n"
	      "k, over = 1, 5000\nassert ok(k) and not ok(over)\n"
	      "while over - k > 1:\n  mid = (k + over) // 2\n  k, over = (mid, over) if ok(mid) else (k, mid)\n"
	      "open(\"ok\", \"wb\").write(b\")\\x01\" * k + b\"N\")\n"
	      "open(\"deep\", \"wb\").write(b\")\\x01\" * (k + 1) + b\"N\")'", tmp, py);
	pyc_buf ok = PYC_BUF_INIT, deep = PYC_BUF_INIT;
	slurp(&ok, tmp, "ok");
	slurp(&deep, tmp, "deep");
	pyc_marshal_slot slot;
	pyc_error err = { 0 };
	assert_int_equal(pyc_marshal_find_filename(BYTES(ok), ok.len, 13, &slot, &err),
	                 PYC_EUNSUPPORTED);
	assert_int_equal(pyc_marshal_find_filename(BYTES(deep), deep.len, 13, &slot, &err),
	                 PYC_EINVAL);
	assert_non_null(strstr(err.message, "nested too deeply"));
	pyc_buf_dispose(&ok), pyc_buf_dispose(&deep);
	tu_rm_rf(tmp);
	free(tmp);
	free(py);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpython_3_6),  cmocka_unit_test(test_cpython_3_7),
		cmocka_unit_test(test_cpython_3_8),  cmocka_unit_test(test_cpython_3_9),
		cmocka_unit_test(test_cpython_3_10), cmocka_unit_test(test_cpython_3_11),
		cmocka_unit_test(test_cpython_3_12), cmocka_unit_test(test_cpython_3_13),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_depth_limit),
	};
	return tu_run_tests("marshal", tests);
}
