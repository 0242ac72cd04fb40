/*
 * test_compileall.c - the pure parts of `compile`: dfile per version, maxlevels, levels,
 * option validation and the freshness verdict.
 *
 * Oracle: each installed CPython 3.6+ (pyenv, /usr/bin/python3). Its own compileall is run
 * with py_compile.compile replaced by a recorder, so the dfile compileall passes is what we
 * compare with; its argparse decides the usage errors; its py_compile writes the pycs the
 * verdict is tested on. A case whose interpreter is absent is skipped and says so.
 *
 * Each interpreter answers every test's questions in one process, each question in a
 * directory of its own as when it had a process of its own; only compile_file's sequences
 * under PYTHONOPTIMIZE 1 and 2 (sys.flags) take one process each more.
 */
#include "testutil.h"

#include "pyc/compileall.h"
#include "pyc/interp.h"
#include "pyc/magic.h"
#include "pyc/source_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* fullname, ddir, stripdir, prependdir ("-" = None); min minor version for -s/-p. */
static const char *const dfile_cases[][4] = {
	{ "pkg/a.py", "/dest", "-", "-" },
	{ "pkg/sub/a.py", "dest/", "-", "-" },
	{ "pkg/sub/a.py", "-", "pkg", "-" },
	{ "build/root/a.py", "-", "build/xx", "-" },
	{ "build/root/a.py", "-", "build/xx", "/usr" },
	{ "pkg/sub/a.py", "-", "pkg/", "/p" },
	{ "pkg/sub/a.py", "-", "-", "/p" },
	{ "a/b/a/c.py", "-", "q/b/a", "-" },
	{ "a/b/a/c.py", "-", "a/b", "r" },
	{ "pkg//sub/a.py", "-", "pkg", "-" },
	{ "./pkg/a.py", "-", ".", "/x" },
	{ "pkg/sub/a.py", "-", "pkg/sub", "" },
};
#define NCASES (sizeof(dfile_cases) / sizeof(dfile_cases[0]))

static const char *const sequence_sets[] = {
	"-", "- 0 1 2", "- 2 -1 1 2", "- -1 0", "- -1 1", "- -1 2", "- -1 0 1 2", "- 1 2 2",
	"b", "b 1 2", "b -1 0", "b 0 -1", "b -1", "b 2", "b -1 0 1 2",
};

/* compileall's own argparse decides whether an option set is a usage error (exit 2). */
typedef struct opt_case {
	const char *argv;   /* extra compileall arguments */
	bool hardlink;
	int nlevels, l1, l2;
	const char *ddir, *stripdir, *prependdir;
	int min_minor;      /* options exist from this version */
} opt_case;

static const opt_case opt_cases[] = {
	{ "--hardlink-dupes", true, 0, 0, 0, NULL, NULL, NULL, 9 },
	{ "-o 1 --hardlink-dupes", true, 1, 1, 0, NULL, NULL, NULL, 9 },
	{ "-o 1 -o 2 --hardlink-dupes", true, 2, 1, 2, NULL, NULL, NULL, 9 },
	{ "-d x -s y", false, 0, 0, 0, "x", "y", NULL, 9 },
	{ "-d x -p y", false, 0, 0, 0, "x", NULL, "y", 9 },
	{ "-s y -p z", false, 0, 0, 0, NULL, "y", "z", 9 },
	{ "-d x", false, 0, 0, 0, "x", NULL, NULL, 6 },
	{ "-o 1 -o 2", false, 2, 1, 2, NULL, NULL, NULL, 6 },
};

/*
 * The questions, one function each, asked in the order named on QUESTIONS (a "name@dir"
 * runs in dir, else in a directory named like the question), each with the real
 * py_compile.compile to begin with:
 * - dfile: for each line of cases.txt, the dfile compile_file passes to py_compile (a
 *   recorder replaces it), or NONE, CRASH, or SKIP where -s/-p do not exist yet;
 * - maxlevels: compile_dir's default maxlevels and the recursion limit;
 * - sequence: compile_file's calls of py_compile.compile for each line of sets.txt ("b" for
 *   legacy or "-", then -o values): the optimize values in call order (-1 as the level it
 *   means), each followed by "d" when a later call writes the same cfile;
 * - usage: compileall's main() for each line of opts.txt: the exit status a
 *   `python -m compileall -q OPTS empty` would have;
 * - judge: py_compile's pycs of m.py (timestamp, checked and unchecked hash), and the magic.
 * Each answer follows a line "== name". What only one question needs, it imports: the
 * processes that answer only "sequence" do not pay for inspect.
 */
static const char oracle_script[] =
	"import compileall, importlib.util, os, py_compile, sys\n"
	"real_compile = py_compile.compile\n"
	"top = os.getcwd()\n"
	"def dfile():\n"
	"    got = []\n"
	"    def rec(fullname, cfile=None, dfile=None, *a, **k):\n"
	"        got.append(dfile)\n"
	"        return cfile\n"
	"    py_compile.compile = rec\n"
	"    N = lambda s: None if s == '-' else s\n"
	"    for line in open('cases.txt'):\n"
	"        f, d, s, p = line.rstrip('\\n').split('\\t')\n"
	"        got.clear()\n"
	"        kw = {}\n"
	"        if sys.version_info >= (3, 9):\n"
	"            kw = dict(stripdir=N(s), prependdir=N(p))\n"
	"        elif N(s) is not None or N(p) is not None:\n"
	"            print('SKIP'); continue\n"
	"        try:\n"
	"            compileall.compile_file(f, N(d), force=True, quiet=2, **kw)\n"
	"            print('DFILE\\t%s' % got[0] if got[0] is not None else 'NONE')\n"
	"        except TypeError:\n"
	"            print('CRASH')\n"
	"def maxlevels():\n"
	"    import inspect\n"
	"    d = inspect.signature(compileall.compile_dir).parameters['maxlevels'].default\n"
	"    print(sys.getrecursionlimit() if d is None else d, sys.getrecursionlimit())\n"
	"def sequence():\n"
	"    calls = []\n"
	"    def rec(fullname, cfile=None, dfile=None, doraise=False, optimize=-1, *a, **k):\n"
	"        calls.append((optimize, cfile))\n"
	"        return cfile\n"
	"    py_compile.compile = rec\n"
	"    open('m.py', 'w').close()\n"
	"    opt = min(sys.flags.optimize, 2)\n"
	"    for line in open('sets.txt'):\n"
	"        legacy, *levels = line.split()\n"
	"        del calls[:]\n"
	"        compileall.compile_file('m.py', force=True, quiet=2, legacy=legacy == 'b',\n"
	"                                optimize=[int(l) for l in levels] or -1)\n"
	"        sys.stdout.write(' '.join('%d%s' % (o if o >= 0 else opt,\n"
	"                                            'd' if c in [k for _, k in calls[i + 1:]] else '')\n"
	"                                  for i, (o, c) in enumerate(calls)) + '\\n')\n"
	"def usage():\n"
	"    import shlex\n"
	"    stderr, sys.stderr = sys.stderr, open(os.devnull, 'w')\n"
	"    for line in open('opts.txt'):\n"
	"        sys.argv = ['compileall', '-q'] + shlex.split(line) + ['empty']\n"
	"        try:\n"
	"            code = int(not compileall.main())\n"
	"        except SystemExit as e:\n"
	"            code = e.code\n"
	"        sys.stdout.write('%s\\n' % code)\n"
	"    sys.stderr.close()\n"
	"    sys.stderr = stderr\n"
	"def judge():\n"
	"    py_compile.compile('m.py', cfile='ts.pyc', doraise=True)\n"
	"    if sys.version_info >= (3, 7):\n"
	"        M = py_compile.PycInvalidationMode\n"
	"        py_compile.compile('m.py', cfile='ch.pyc', doraise=True,\n"
	"                           invalidation_mode=M.CHECKED_HASH)\n"
	"        py_compile.compile('m.py', cfile='uh.pyc', doraise=True,\n"
	"                           invalidation_mode=M.UNCHECKED_HASH)\n"
	"    print(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))\n"
	"for name in QUESTIONS:\n"
	"    question, _, where = name.partition('@')\n"
	"    os.chdir(os.path.join(top, where or question))\n"
	"    py_compile.compile = real_compile\n"
	"    sys.stdout.write('== %s\\n' % question)\n"
	"    {'dfile': dfile, 'maxlevels': maxlevels, 'sequence': sequence, 'usage': usage,\n"
	"     'judge': judge}[question]()\n"
	"    sys.stdout.flush()\n";

#define NSETS (sizeof(sequence_sets) / sizeof(sequence_sets[0]))
#define NOPTS (sizeof(opt_cases) / sizeof(opt_cases[0]))

/* The interpreters and their answers ([i][PYTHONOPTIMIZE]), asked by the first test that
 * needs them. */
static struct oracle {
	bool asked;
	tu_interps in;
	char *dir;
	char *answer[TU_MAX_INTERPS][3];
} oracle;

/* Each question's directory as its own scratch directory was: judge's one per interpreter,
 * since its test changes m.py after the pycs are written. */
static void oracle_prepare(const char *dir)
{
	pyc_buf text = PYC_BUF_INIT;
	for (size_t c = 0; c < NCASES; c++) {
		tu_write_str(dir, tu_path("dfile", dfile_cases[c][0]), "x = 1\n");
		pyc_buf_printf(&text, "%s\t%s\t%s\t%s\n", dfile_cases[c][0], dfile_cases[c][1],
		               dfile_cases[c][2], dfile_cases[c][3]);
	}
	tu_write_str(dir, "dfile/cases.txt", pyc_buf_cstr(&text));
	assert_int_equal(mkdir(tu_path(dir, "maxlevels"), 0777), 0);
	pyc_buf_clear(&text);
	for (size_t c = 0; c < NSETS; c++)
		pyc_buf_printf(&text, "%s\n", sequence_sets[c]);
	tu_write_str(dir, "sequence/sets.txt", pyc_buf_cstr(&text));
	pyc_buf_clear(&text);
	for (size_t c = 0; c < NOPTS; c++)
		assert_int_equal(pyc_buf_printf(&text, "%s\n", opt_cases[c].argv), 0);
	tu_write_str(dir, "usage/opts.txt", pyc_buf_cstr(&text));
	assert_int_equal(mkdir(tu_path(dir, "usage/empty"), 0777), 0);
	for (size_t i = 0; i < oracle.in.n; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "judge/%zu/m.py", i);
		tu_write_str(dir, rel, "x = 1\n");
		tu_set_mtime(dir, rel, 1700000000, 5);
	}
	pyc_buf_dispose(&text);
}

static char *oracle_ask(size_t i, int optimize, const char *questions)
{
	static char out[65536];
	pyc_buf script = PYC_BUF_INIT;
	char env[2] = { (char)('0' + optimize), 0 };
	assert_int_equal(pyc_buf_printf(&script, "QUESTIONS = '%s'.split()\n%s", questions,
	                                oracle_script), 0);
	setenv("PYTHONOPTIMIZE", env, 1);
	int rc = tu_run_python(oracle.in.path[i], oracle.dir, pyc_buf_cstr(&script), out,
	                       sizeof(out));
	unsetenv("PYTHONOPTIMIZE");
	if (rc != 0)
		fail_msg("3.%d (PYTHONOPTIMIZE=%d): the oracle exited %d:\n%s", oracle.in.minor[i],
		         optimize, rc, out);
	pyc_buf_dispose(&script);
	char *copy = strdup(out);
	assert_non_null(copy);
	return copy;
}

/* Every CPython 3.6+ the shared finder knows, asked; skips the test when there is none. */
static const tu_interps *oracle_interps(void)
{
	if (!oracle.asked) {
		tu_interps_find(&oracle.in, 0);
		tu_interps_since(&oracle.in, 3, 6);
		oracle.dir = tu_mkdtemp();
		oracle_prepare(oracle.dir);
		for (size_t i = 0; i < oracle.in.n; i++) {
			bool seq = oracle.in.minor[i] >= 9;
			char q[128];
			snprintf(q, sizeof(q), "dfile maxlevels usage judge@judge/%zu%s", i,
			         seq ? " sequence" : "");
			oracle.answer[i][0] = oracle_ask(i, 0, q);
			for (int optimize = 1; seq && optimize <= 2; optimize++)
				oracle.answer[i][optimize] = oracle_ask(i, optimize, "sequence");
		}
		oracle.asked = true;
	}
	if (oracle.in.n == 0)
		tu_skip("no CPython 3.6+ found");
	return &oracle.in;
}

/* Interpreter i's answer to one question (under PYTHONOPTIMIZE=optimize), copied into out. */
static char *oracle_answer(char *out, size_t cap, size_t i, int optimize, const char *question)
{
	char mark[64];
	snprintf(mark, sizeof(mark), "== %s\n", question);
	const char *all = oracle.answer[i][optimize];
	assert_non_null(all);
	const char *from = strncmp(all, mark, strlen(mark)) == 0 ? all : NULL;
	if (!from) {
		snprintf(mark, sizeof(mark), "\n== %s\n", question);
		from = strstr(all, mark);
		if (!from)
			fail_msg("3.%d: no answer to %s in:\n%s", oracle.in.minor[i], question, all);
		from++;
	}
	from += strlen(question) + 4;
	const char *end = strstr(from, "\n== ");
	size_t n = end ? (size_t)(end - from) + 1 : strlen(from);
	assert_true(n < cap);
	memcpy(out, from, n);
	out[n] = '\0';
	return out;
}

static void oracle_dispose(void)
{
	for (size_t i = 0; i < oracle.in.n; i++)
		for (int o = 0; o < 3; o++)
			free(oracle.answer[i][o]);
	if (oracle.dir) {
		tu_rm_rf(oracle.dir);
		free(oracle.dir);
	}
	tu_interps_free(&oracle.in);
}

static void test_dfile_matches_compileall(void **state)
{
	(void)state;
	const tu_interps *in = oracle_interps();
	static char out[65536];
	size_t compared = 0;
	for (size_t i = 0; i < in->n; i++) {
		oracle_answer(out, sizeof(out), i, 0, "dfile");
		char *save = NULL, *line = strtok_r(out, "\n", &save);
		for (size_t c = 0; c < NCASES; c++, line = strtok_r(NULL, "\n", &save)) {
			assert_non_null(line);
			if (strcmp(line, "SKIP") == 0)
				continue;
			compared++;
			const char *const *k = dfile_cases[c];
			const char *d = strcmp(k[1], "-") ? k[1] : NULL;
			const char *s = strcmp(k[2], "-") ? k[2] : NULL;
			const char *p = strcmp(k[3], "-") ? k[3] : NULL;
			pyc_buf got = PYC_BUF_INIT;
			bool has, ignored;
			int rc = pyc_compileall_dfile(&got, &has, &ignored, in->minor[i], k[0], d, s, p);
			char mine[2048];
			if (rc == PYC_EINVAL)
				snprintf(mine, sizeof(mine), "CRASH");
			else if (!has)
				snprintf(mine, sizeof(mine), "NONE");
			else
				snprintf(mine, sizeof(mine), "DFILE\t%s", pyc_buf_cstr(&got));
			if (strcmp(mine, line) != 0)
				fail_msg("3.%d case %zu (%s, -d %s, -s %s, -p %s): compileall '%s', ours '%s'",
				         in->minor[i], c, k[0], k[1], k[2], k[3], line, mine);
			if (in->minor[i] >= 13 && s && ignored)
				assert_string_equal(line, p ? line : "NONE");
			pyc_buf_dispose(&got);
		}
	}
	assert_true(compared >= NCASES);
}

static void test_path_join_is_posixpath_join(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		{ "a", "b", "a/b" }, { "a/", "b", "a/b" }, { "", "b", "b" },
		{ "a", "/b", "/b" }, { "a", "", "a/" }, { "/", "b", "/b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pyc_buf b = PYC_BUF_INIT;
		assert_int_equal(pyc_buf_sets(&b, cases[i][0]), 0);
		assert_int_equal(pyc_compileall_path_join(&b, cases[i][1]), 0);
		assert_string_equal(pyc_buf_cstr(&b), cases[i][2]);
		pyc_buf_dispose(&b);
	}
}

static void test_default_maxlevels(void **state)
{
	(void)state;
	const tu_interps *in = oracle_interps();
	char out[256];
	for (size_t i = 0; i < in->n; i++) {
		oracle_answer(out, sizeof(out), i, 0, "maxlevels");
		int want, limit;
		assert_int_equal(sscanf(out, "%d %d", &want, &limit), 2);
		assert_int_equal(pyc_compileall_default_maxlevels(3, in->minor[i], limit), want);
	}
}

static void test_levels(void **state)
{
	(void)state;
	int out[PYC_COMPILEALL_MAX_LEVELS];
	int a[] = { 2, -1, 1, 2 };
	/* sorted(set()) with -1 meaning the interpreter's level (0 here) */
	assert_int_equal(pyc_compileall_levels(out, a, 4, 0, false), 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	/* legacy: every level writes foo.pyc, the highest one last */
	assert_int_equal(pyc_compileall_levels(out, a, 4, 0, true), 1);
	assert_int_equal(out[0], 2);
	/* no -o: [-1], i.e. the interpreter's own level */
	assert_int_equal(pyc_compileall_levels(out, NULL, 0, 1, false), 1);
	assert_int_equal(out[0], 1);
	int b[] = { -1, 0 };
	assert_int_equal(pyc_compileall_levels(out, b, 2, 0, false), 1);
}

static void format_sequence(pyc_buf *out, const char *set, int optimize)
{
	int levels[8], seq[PYC_COMPILEALL_MAX_COMPILES];
	bool discard[PYC_COMPILEALL_MAX_COMPILES];
	size_t nlevels = 0;
	char *end;
	for (const char *p = set + 1; *p; p = end) {
		levels[nlevels++] = (int)strtol(p, &end, 10);
		assert_true(end != p);
	}
	size_t n = pyc_compileall_sequence(seq, discard, levels, nlevels, optimize, set[0] == 'b');
	for (size_t i = 0; i < n; i++)
		pyc_buf_printf(out, "%s%d%s", i ? " " : "", seq[i], discard[i] ? "d" : "");
	pyc_buf_puts(out, "\n");
}

/* The compiles, their order and which are overwritten: as compileall's compile_file makes
 * them, under PYTHONOPTIMIZE 0, 1 and 2 (which -1 means). */
static void test_sequence_like_compile_file(void **state)
{
	(void)state;
	const tu_interps *in = oracle_interps();
	size_t asked = 0;
	static char got[4096];
	for (size_t i = 0; i < in->n; i++) {
		if (in->minor[i] < 9)
			continue;
		asked++;
		for (int optimize = 0; optimize <= 2; optimize++) {
			oracle_answer(got, sizeof(got), i, optimize, "sequence");
			pyc_buf want = PYC_BUF_INIT;
			for (size_t c = 0; c < NSETS; c++)
				format_sequence(&want, sequence_sets[c], optimize);
			if (strcmp(got, pyc_buf_cstr(&want)) != 0)
				fail_msg("3.%d PYTHONOPTIMIZE=%d: compile_file compiled\n%sbut the sequence "
				         "is\n%s", in->minor[i], optimize, got, pyc_buf_cstr(&want));
			pyc_buf_dispose(&want);
		}
	}
	if (asked == 0)
		tu_skip("no CPython 3.9+ (compileall with -o) found");
}

static void test_validate_like_argparse(void **state)
{
	(void)state;
	const tu_interps *in = oracle_interps();
	static char out[4096];
	for (size_t i = 0; i < in->n; i++) {
		oracle_answer(out, sizeof(out), i, 0, "usage");
		char *save = NULL, *line = strtok_r(out, "\n", &save);
		for (size_t c = 0; c < NOPTS; c++) {
			const opt_case *k = &opt_cases[c];
			assert_non_null(line);
			bool usage = strcmp(line, "2") == 0;
			pyc_compileall_opts o;
			pyc_compileall_opts_init(&o);
			o.hardlink_dupes = k->hardlink;
			o.nlevels = (size_t)k->nlevels;
			o.levels[0] = k->l1;
			o.levels[1] = k->l2;
			o.ddir = k->ddir;
			o.stripdir = k->stripdir;
			o.prependdir = k->prependdir;
			pyc_interp interp;
			memset(&interp, 0, sizeof(interp));
			interp.exe = in->path[i];
			interp.major = 3;
			interp.minor = in->minor[i];
			pyc_error err = { 0 };
			bool ours = pyc_compileall_validate(&o, &interp, &err) < 0;
			if (ours != usage)
				fail_msg("3.%d '%s': compileall exit %s, validate says '%s'", in->minor[i],
				         k->argv, line, err.message);
			line = strtok_r(NULL, "\n", &save);
		}
	}
}

static enum pyc_compileall_why judge_file(const char *dir, const char *name, uint16_t magic,
                                          enum pyc_invalidation mode)
{
	uint8_t hdr[16];
	struct stat cst, sst;
	FILE *f = fopen(tu_path(dir, name), "rb");
	assert_non_null(f);
	size_t n = fread(hdr, 1, sizeof(hdr), f);
	fclose(f);
	assert_int_equal(stat(tu_path(dir, name), &cst), 0);
	assert_int_equal(stat(tu_path(dir, "m.py"), &sst), 0);
	uint8_t src[64], hash[8];
	f = fopen(tu_path(dir, "m.py"), "rb");
	assert_non_null(f);
	size_t sn = fread(src, 1, sizeof(src), f);
	fclose(f);
	const pyc_magic_info *info = pyc_magic_lookup(magic);
	assert_non_null(info);
	bool hashed = pyc_source_hash(hash, info, src, sn) == 0;
	return pyc_compileall_judge(hdr, n, (uint64_t)cst.st_size, magic, mode,
	                            sst.st_mtim.tv_sec, sst.st_mtim.tv_nsec, (uint64_t)sst.st_size,
	                            hashed ? hash : NULL);
}

static void test_judge_real_pycs(void **state)
{
	(void)state;
	const tu_interps *in = oracle_interps();
	for (size_t i = 0; i < in->n; i++) {
		char dir[4096], out[256];
		snprintf(dir, sizeof(dir), "%s/judge/%zu", oracle.dir, i);
		oracle_answer(out, sizeof(out), i, 0, "judge");
		unsigned magic;
		assert_int_equal(sscanf(out, "%u", &magic), 1);
		uint16_t m = (uint16_t)magic;
		const enum pyc_invalidation TS = PYC_INVALIDATION_TIMESTAMP,
		                            CH = PYC_INVALIDATION_CHECKED_HASH,
		                            UH = PYC_INVALIDATION_UNCHECKED_HASH;
		assert_int_equal(judge_file(dir, "ts.pyc", m, TS), PYC_COMPILEALL_FRESH);
		/* Another version's valid pyc (3.12's magic for the others, 3.13's for 3.12). */
		uint16_t other = m == 3531 ? 3571 : 3531;
		uint8_t oh[17] = { (uint8_t)other, (uint8_t)(other >> 8), '\r', '\n' };
		assert_int_equal(pyc_compileall_judge(oh, 16, 17, m, TS, 0, 0, 0, NULL),
		                 PYC_COMPILEALL_WHY_VERSION);
		if (in->minor[i] >= 7) {
			assert_int_equal(judge_file(dir, "ts.pyc", m, CH), PYC_COMPILEALL_WHY_MODE);
			assert_int_equal(judge_file(dir, "ch.pyc", m, CH), PYC_COMPILEALL_FRESH);
			assert_int_equal(judge_file(dir, "uh.pyc", m, UH), PYC_COMPILEALL_FRESH);
			assert_int_equal(judge_file(dir, "uh.pyc", m, CH), PYC_COMPILEALL_WHY_MODE);
			assert_int_equal(judge_file(dir, "ch.pyc", m, TS), PYC_COMPILEALL_WHY_MODE);
		}
		/* Same mtime, one byte more: only the size tells (compileall misses this). */
		tu_write_str(dir, "m.py", "x = 12\n");
		tu_set_mtime(dir, "m.py", 1700000000, 5);
		assert_int_equal(judge_file(dir, "ts.pyc", m, TS), PYC_COMPILEALL_WHY_SIZE);
		if (in->minor[i] >= 7)
			assert_int_equal(judge_file(dir, "ch.pyc", m, CH), PYC_COMPILEALL_WHY_HASH);
		tu_set_mtime(dir, "m.py", 1700000001, 5);
		assert_int_equal(judge_file(dir, "ts.pyc", m, TS), PYC_COMPILEALL_WHY_MTIME);
		/* A header with nothing after it cannot be loaded. */
		uint8_t hdr[16] = { (uint8_t)m, (uint8_t)(m >> 8), '\r', '\n' };
		uint64_t hsize = in->minor[i] >= 7 ? 16 : 12;
		assert_int_equal(pyc_compileall_judge(hdr, hsize, hsize, m, TS, 0, 0, 0, NULL),
		                 PYC_COMPILEALL_WHY_CORRUPT);
		assert_int_equal(pyc_compileall_judge(hdr, 3, 3, m, TS, 0, 0, 0, NULL),
		                 PYC_COMPILEALL_WHY_CORRUPT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_join_is_posixpath_join),
		cmocka_unit_test(test_dfile_matches_compileall),
		cmocka_unit_test(test_default_maxlevels),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_sequence_like_compile_file),
		cmocka_unit_test(test_validate_like_argparse),
		cmocka_unit_test(test_judge_real_pycs),
	};
	int rc = tu_run_tests("compileall", tests);
	oracle_dispose();
	return rc;
}
