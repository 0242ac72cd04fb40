/*
 * Cache paths against two oracles: every cache_path row of tests/fixtures/vectors.tsv
 * (for each tag 3.8-3.13), and the live interpreters (3.6+, every one testutil finds), which
 * are asked importlib.util.cache_from_source/source_from_cache for a generated list
 * of tricky paths, byte for byte.
 */
#include "testutil.h"

#include "pyc/cache_path.h"

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


/* ---- Live interpreters: the same questions asked of importlib, byte for byte. ---- */

struct live_case {
	char kind;            /* 'c' cache_from_source, 's' source_from_cache */
	const char *cwd, *prefix, *opt;
	char *path;           /* owned */
};

struct live_cases {
	struct live_case *v;
	size_t n, cap;
};

static void add_case(struct live_cases *cs, char kind, const char *cwd, const char *prefix,
                     const char *opt, const char *a, const char *b, const char *c)
{
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 256;
		cs->v = realloc(cs->v, cs->cap * sizeof(*cs->v));
		assert_non_null(cs->v);
	}
	pyc_buf p = PYC_BUF_INIT;
	assert_int_equal(pyc_buf_printf(&p, "%s%s%s", a, b, c), 0);
	cs->v[cs->n++] = (struct live_case){kind, cwd, prefix, opt, pyc_buf_detach(&p)};
	if (!cs->v[cs->n - 1].path)
		cs->v[cs->n - 1].path = strdup("");
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void make_cases(struct live_cases *cs, const char *tmp)
{
	static const char *const heads[] = {"", "/", "//", "/a/b", "a/b/", ".", "./", "./x", "././x",
	                                    "../x", "a//b", "/a/b//", "x y", "\xff\xfe", "new\nline",
	                                    "__pycache__"};
	static const char *const tails[] = {"c.py", "c.tar.py", ".hidden", "noext", "c.", ".", "..py",
	                                    "c.pyw", "\xffz.py", "a b.py", "", "c.opt-1.py"};
	static const char *const prefixes[] = {NULL, "/pfx", "/pfx/", "rel", "", "/", "//p//q"};
	static const char *const opts[] = {"", "0", "1", "x9", "a-b", "opt", " 1", "1.5", "Z"};
	for (size_t h = 0; h < COUNT(heads); h++)
		for (size_t t = 0; t < COUNT(tails); t++) {
			const char *sep = heads[h][0] ? "/" : "";
			for (size_t p = 0; p < COUNT(prefixes); p++)
				add_case(cs, 'c', tmp, prefixes[p], NULL, heads[h], sep, tails[t]);
			add_case(cs, 'c', "/", "/pfx", NULL, heads[h], sep, tails[t]);
		}
	for (size_t o = 0; o < COUNT(opts); o++)
		for (size_t p = 0; p < 2; p++)
			add_case(cs, 'c', tmp, prefixes[p], opts[o], "/a/b/c", ".py", "");

	static const char *const dirs[] = {"", "/", "/a", "a/b", "/pfx", "/pfx/a", "rel/a", "/pfxx", "//"};
	static const char *const mids[] = {"/__pycache__/", "/", "/__pycache__//", "/pycache/"};
	static const char *const names[] = {"c.cpython-312.pyc", "c.cpython-312.opt-1.pyc",
	                                    "c.cpython-312.opt-.pyc", "c.cpython-312.opt-a-b.pyc",
	                                    "c.x.y.z.pyc", "c.pyc", "c.tar.cpython-312.pyc", "c.x.foo.pyc",
	                                    "c.x.y", ".x.pyc", "\xff.x.pyc", "c.x.opt-1x.pyc", ""};
	for (size_t d = 0; d < COUNT(dirs); d++)
		for (size_t m = 0; m < COUNT(mids); m++)
			for (size_t k = 0; k < COUNT(names); k++)
				for (size_t p = 0; p < COUNT(prefixes); p++)
					add_case(cs, 's', tmp, prefixes[p], NULL, dirs[d], mids[m] + !dirs[d][0],
					         names[k]);
}

static void put_field(FILE *f, const char *s)
{
	if (!s) {
		fputs(" -", f);
		return;
	}
	fputs(" x", f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fprintf(f, "%02x", *p);
}

static void write_cases(const struct live_cases *cs, const char *file)
{
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	for (size_t i = 0; i < cs->n; i++) {
		fputc(cs->v[i].kind, f);
		put_field(f, cs->v[i].cwd);
		put_field(f, cs->v[i].prefix);
		put_field(f, cs->v[i].opt);
		put_field(f, cs->v[i].path);
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
}

/*
 * One process per interpreter (every one testutil finds) answers both live checks; it runs
 * in the scratch directory with the arguments: the cases file, the pycache prefix, then
 * the sources. "== live" is followed by the cache tag (or "old" before 3.6) and one line
 * per case: "=HEX" (the answer's bytes) or "!" (a ValueError/IndexError). "== find" is
 * followed by the cache tag ("none" before 3.2) and, for each source, the caches
 * py_compile writes (PEP 3147 at -1 and 2 when the version has them, and legacy beside
 * the source), one "kind path" line each; twice: without a prefix, then with it, each
 * pass after a line "prefix -" or "prefix PATH". PYTHONPYCACHEPREFIX does nothing but set
 * sys.pycache_prefix at start (3.8+; 3.6 and 3.7 have neither), and importlib reads that at
 * each call: one process asks both passes, as two processes with and without the variable
 * did. Runs under every interpreter, so: no single quotes.
 */
static const char oracle_script[] =
	"import sys, os, py_compile\n"
	"top = os.getcwd()\n"
	"def live():\n"
	"    if sys.version_info < (3, 6):\n"
	"        print(\"old\"); return\n"
	"    import importlib.util as u\n"
	"    print(sys.implementation.cache_tag)\n"
	"    def dec(f): return None if f == b\"-\" else os.fsdecode(bytes.fromhex(f[1:].decode()))\n"
	"    for line in open(sys.argv[1], \"rb\"):\n"
	"        k, cwd, pfx, opt, path = line.split()\n"
	"        os.chdir(dec(cwd)); sys.pycache_prefix = dec(pfx)\n"
	"        try:\n"
	"            if k == b\"c\": r = u.cache_from_source(dec(path), optimization=dec(opt))\n"
	"            else: r = u.source_from_cache(dec(path))\n"
	"            print(\"=\" + os.fsencode(r).hex())\n"
	"        except (ValueError, IndexError):\n"
	"            print(\"!\")\n"
	"def find():\n"
	"    os.chdir(top)\n"
	"    t = getattr(sys, \"implementation\", None)\n"
	"    print(t.cache_tag if t else \"none\")\n"
	"    for prefix in (None, sys.argv[2]):\n"
	"        print(\"prefix \" + (prefix or \"-\"))\n"
	"        sys.pycache_prefix = prefix\n"
	"        for s in sys.argv[3:]:\n"
	"            if t:\n"
	"                print(\"p \" + py_compile.compile(s, doraise=True))\n"
	"                if sys.version_info >= (3, 5):\n"
	"                    print(\"p \" + py_compile.compile(s, doraise=True, optimize=2))\n"
	"            print(\"l \" + py_compile.compile(s, cfile=s + \"c\", doraise=True))\n"
	"print(\"== live\"); live()\n"
	"print(\"== find\"); find()\n";

static const char *const find_srcs[] = { "m.py", "x.tar.py", "pkg/sub.py", "sp ace.py" };

/* The interpreters and their answers, asked by the first test that needs them. */
static struct oracle {
	bool asked;
	tu_interps exes;
	char *tmp, *dir;   /* dir: tmp resolved, as os.getcwd() answers it */
	struct live_cases cs;
	char *answer[TU_MAX_INTERPS];
} oracle;

static void oracle_ask(size_t i)
{
	pyc_buf cmd = PYC_BUF_INIT, out = PYC_BUF_INIT;
	const char *dir = oracle.dir;
	assert_int_equal(pyc_buf_printf(&cmd, "cd '%s' && '%s' -E -c '%s' '%s/cases' '%s/pfx'", dir,
	                                oracle.exes.path[i], oracle_script, dir, dir), 0);
	for (size_t k = 0; k < COUNT(find_srcs); k++)
		assert_int_equal(pyc_buf_printf(&cmd, " '%s/%s'", dir, find_srcs[k]), 0);
	assert_int_equal(pyc_buf_puts(&cmd, " 2>/dev/null"), 0);
	if (tu_popen_read(cmd.ptr, &out) != 0)
		fail_msg("%s failed; it said:\n%s", oracle.exes.path[i], pyc_buf_cstr(&out));
	oracle.answer[i] = pyc_buf_detach(&out);
	assert_non_null(oracle.answer[i]);
	pyc_buf_dispose(&cmd);
}

static const tu_interps *oracle_interps(void)
{
	if (!oracle.asked) {
		oracle.tmp = tu_mkdtemp();
		oracle.dir = realpath(oracle.tmp, NULL);
		assert_non_null(oracle.dir);
		make_cases(&oracle.cs, oracle.dir);
		write_cases(&oracle.cs, tu_path(oracle.dir, "cases"));
		for (size_t k = 0; k < COUNT(find_srcs); k++)
			tu_write_str(oracle.dir, find_srcs[k], "x = 1\n");
		tu_interps_find(&oracle.exes, TU_INTERPS_EVERY);
		for (size_t i = 0; i < oracle.exes.n; i++)
			oracle_ask(i);
		oracle.asked = true;
	}
	return &oracle.exes;
}

/* Interpreter i's answer to one half ("live" or "find"), to be read as a stream. */
static FILE *oracle_answer(size_t i, const char *half)
{
	char mark[32];
	snprintf(mark, sizeof(mark), "== %s\n", half);
	char *from = strstr(oracle.answer[i], mark);
	if (!from)
		fail_msg("%s: no %s answer in:\n%s", oracle.exes.path[i], half, oracle.answer[i]);
	from += strlen(mark);
	char *end = strstr(from, "\n== ");
	size_t len = end ? (size_t)(end - from) + 1 : strlen(from);
	FILE *f = fmemopen(from, len, "r");
	assert_non_null(f);
	return f;
}

static void oracle_dispose(void)
{
	for (size_t i = 0; i < oracle.exes.n; i++)
		free(oracle.answer[i]);
	tu_interps_free(&oracle.exes);
	for (size_t i = 0; i < oracle.cs.n; i++)
		free(oracle.cs.v[i].path);
	free(oracle.cs.v);
	if (oracle.tmp)
		tu_rm_rf(oracle.tmp);
	free(oracle.tmp);
	free(oracle.dir);
}

static void hex_of(pyc_buf *b, const char *s)
{
	pyc_buf_clear(b);
	assert_int_equal(pyc_buf_putc(b, '='), 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		assert_int_equal(pyc_buf_printf(b, "%02x", *p), 0);
}

/* Interpreter i's live answers checked; returns the number of cases compared (0: not 3.6+). */
static size_t check_interpreter(size_t i, const struct live_cases *cs)
{
	const char *exe = oracle.exes.path[i];
	pyc_buf ours = PYC_BUF_INIT, want = PYC_BUF_INIT;
	FILE *p = oracle_answer(i, "live");
	char tag[64] = "", line[8192];
	size_t done = 0, bad = 0;
	if (fgets(tag, sizeof(tag), p) && strncmp(tag, "cpython-3", 9) == 0) {
		tag[strcspn(tag, "\n")] = '\0';
		for (; done < cs->n && fgets(line, sizeof(line), p); done++) {
			const struct live_case *c = &cs->v[done];
			line[strcspn(line, "\n")] = '\0';
			/* source_from_cache has no tag: a 3.6/3.7 caller passes no prefix. */
			const char *sfc_prefix = strtol(tag + 9, NULL, 10) < 8 ? NULL : c->prefix;
			int rc = c->kind == 'c' ? pyc_cache_from_source(&ours, c->path, tag, c->opt, c->prefix, c->cwd)
			                        : pyc_source_from_cache(&ours, c->path, sfc_prefix);
			if (rc == 0)
				hex_of(&want, ours.ptr);
			else
				assert_int_equal(pyc_buf_sets(&want, "!"), 0);
			if (strcmp(line, want.ptr) != 0 && bad++ < 10)
				print_error("%s %c path=%s prefix=%s opt=%s cwd=%s: python %s, ours %s\n", tag,
				            c->kind, c->path, c->prefix ? c->prefix : "None", c->opt ? c->opt : "None",
				            c->cwd, line, want.ptr);
		}
		if (done != cs->n)
			fail_msg("%s answered %zu of %zu cases", exe, done, cs->n);
	}
	fclose(p);
	pyc_buf_dispose(&ours);
	pyc_buf_dispose(&want);
	if (bad)
		fail_msg("%s: %zu of %zu cases differ", exe, bad, cs->n);
	return done;
}

static const char *const abspath_rows[][3] = {
	{ "/w/d", "a/./b/../c", "/w/d/a/c" },
	{ "/w", "../..", "/" },
	{ "/w", "/x//y/", "/x/y" },
	{ "/", ".", "/" },
	{ "/w/d", "", "/w/d" },
	{ "/w", "a/..", "/w" },
	{ "/w", ".../x", "/w/.../x" },
};
#define ABSPATH_ROWS (sizeof(abspath_rows) / sizeof(abspath_rows[0]))

/* pyc_abspath against the table. */
static void test_abspath(void **state)
{
	(void)state;
	pyc_buf out = PYC_BUF_INIT;
	for (size_t i = 0; i < ABSPATH_ROWS; i++) {
		assert_int_equal(pyc_abspath(&out, abspath_rows[i][1], abspath_rows[i][0], NULL), 0);
		assert_string_equal(out.ptr, abspath_rows[i][2]);
	}
	pyc_buf_dispose(&out);
}

/* The table against posixpath, all rows in one interpreter. */
static void test_abspath_table_is_posixpath(void **state)
{
	(void)state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no python3: the abspath table is not checked against posixpath");
	pyc_buf cmd = PYC_BUF_INIT;
	assert_int_equal(pyc_buf_printf(&cmd, "'%s' -c 'import posixpath, sys\n"
	                 "for b, r in zip(sys.argv[1::2], sys.argv[2::2]):\n"
	                 "    print(posixpath.normpath(posixpath.join(b, r)))'", py), 0);
	for (size_t i = 0; i < ABSPATH_ROWS; i++)
		assert_int_equal(pyc_buf_printf(&cmd, " '%s' '%s'", abspath_rows[i][0],
		                                abspath_rows[i][1]), 0);
	FILE *p = popen(cmd.ptr, "r");
	assert_non_null(p);
	char line[256];
	for (size_t i = 0; i < ABSPATH_ROWS; i++) {
		assert_non_null(fgets(line, sizeof(line), p));
		line[strcspn(line, "\n")] = '\0';
		assert_string_equal(line, abspath_rows[i][2]);
	}
	assert_int_equal(pclose(p), 0);
	pyc_buf_dispose(&cmd);
	free(py);
}

static void test_live_interpreters(void **state)
{
	(void)state;
	const tu_interps *exes = oracle_interps();
	size_t asked = 0;
	for (size_t i = 0; i < exes->n; i++)
		if (check_interpreter(i, &oracle.cs) > 0)
			asked++;
	if (asked > 0)
		print_message("cross-checked %zu cases with %zu interpreters\n", oracle.cs.n, asked);
	if (asked == 0)
		tu_skip("no CPython 3.6+ found to cross-check cache paths");
}

/* ---- pyc_cache_find_source: where py_compile puts a cache, mapped back to its source. ---- */

/* Check every cache interpreter i wrote for the sources, without a prefix and with pfx;
 * returns how many. */
static size_t check_find_source(size_t i_exe, const char *dir, const char *pfx)
{
	const char *exe = oracle.exes.path[i_exe];
	pyc_buf src = PYC_BUF_INIT, out = PYC_BUF_INIT;
	char tag[64] = "", line[8192];
	size_t checked = 0;

	const char *prefix = NULL;
	size_t passes = 0;
	FILE *p = oracle_answer(i_exe, "find");
	assert_non_null(fgets(tag, sizeof(tag), p));
	tag[strcspn(tag, "\n")] = '\0';
	for (size_t i = 0; fgets(line, sizeof(line), p);) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "prefix ", 7) == 0) {
			prefix = passes++ ? pfx : NULL;
			assert_string_equal(line + 7, prefix ? prefix : "-");
			i = 0;
			continue;
		}
		checked++;
		bool legacy = line[0] == 'l';
		const char *cache = line + 2;
		pyc_cache_name cn;
		enum pyc_cache_kind kind;
		/* Each source gives its PEP 3147 lines, then its legacy line. */
		assert_int_equal(pyc_buf_printf(&src, "%s/%s", dir, find_srcs[i]), 0);
		assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, cache, prefix), 0);
		if (strcmp(pyc_buf_cstr(&out), pyc_buf_cstr(&src)) != 0)
			fail_msg("%s: '%s' -> '%s', want '%s'", exe, cache, pyc_buf_cstr(&out), src.ptr);
		assert_int_equal(kind, legacy ? PYC_CACHE_LEGACY : PYC_CACHE_PEP3147);
		if (legacy) {
			assert_int_equal(cn.tag_len, 0);
			i++;
		} else {
			assert_int_equal(cn.tag_len, strlen(tag));
			assert_memory_equal(cn.tag, tag, cn.tag_len);
		}
		pyc_buf_clear(&src);
	}
	fclose(p);
	assert_int_equal(passes, 2);
	pyc_buf_dispose(&src);
	pyc_buf_dispose(&out);
	return checked;
}

static void test_find_source(void **state)
{
	(void)state;
	const tu_interps *exes = oracle_interps();
	const char *dir = oracle.dir;
	pyc_buf out = PYC_BUF_INIT, pfx = PYC_BUF_INIT;
	pyc_cache_name cn;
	enum pyc_cache_kind kind;
	size_t asked = 0;

	assert_int_equal(pyc_buf_printf(&pfx, "%s/pfx", dir), 0);
	/* A prefix only means something from 3.8 on; older versions ignore it. */
	for (size_t i = 0; i < exes->n; i++)
		asked += check_find_source(i, dir, pfx.ptr) > 0;

	/* Relative names, and files that belong to no source. */
	assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, "__pycache__/a.b.cpython-34.opt-1.pyo", NULL), 0);
	assert_string_equal(out.ptr, "a.b.py");
	assert_int_equal(kind, PYC_CACHE_PEP3147);
	assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, "x__pycache__/a.cpython-312.pyc", NULL), 0);
	assert_string_equal(out.ptr, "x__pycache__/a.cpython-312.py");
	assert_int_equal(kind, PYC_CACHE_LEGACY);
	assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, "a/__pycache__/notes.txt", NULL), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, "/elsewhere/m.cpython-312.pyc", pfx.ptr), 0);
	assert_string_equal(out.ptr, "/elsewhere/m.cpython-312.py");
	assert_int_equal(kind, PYC_CACHE_LEGACY);
	/* Straight under the prefix: a source in the root directory. */
	assert_int_equal(pyc_buf_puts(&pfx, "/m.cpython-312.pyc"), 0);
	assert_int_equal(pyc_cache_find_source(&out, &cn, &kind, pfx.ptr, tu_path(dir, "pfx/")), 0);
	assert_string_equal(out.ptr, "/m.py");
	assert_int_equal(kind, PYC_CACHE_PEP3147);

	pyc_buf_dispose(&out);
	pyc_buf_dispose(&pfx);
	if (asked == 0) {
		print_message("SKIP: no interpreter found to write caches for pyc_cache_find_source\n");
		skip();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_source_from_cache),
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_small_helpers),
		cmocka_unit_test(test_abspath),
		cmocka_unit_test(test_abspath_table_is_posixpath),
		cmocka_unit_test(test_live_interpreters),
		cmocka_unit_test(test_find_source),
	};
	int rc = tu_run_tests("cache_path", tests);
	oracle_dispose();
	return rc;
}
