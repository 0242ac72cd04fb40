/*
 * test_pool.c - the compile engine against each interpreter's own py_compile/compileall.
 *
 * For every CPython 3.6+ found, sources are compiled through the pool and a checker run
 * by that interpreter (PYTHONHASHSEED=0) compares our bodies with py_compile's pycs:
 * byte-identical for 3.11+, equal in every co_* field (recursively) for 3.10 and earlier,
 * where marshal's reference flags depend on reference counts. Error texts must equal
 * PyCompileError.msg, and compileall's printed report. Fault cases: timeout, a killed
 * worker, a dead idle worker, an interpreter that cannot start. The first worker's hello
 * (what a cached probe is re-checked with).
 */
#include "testutil.h"
#include "pyc/pool.h"
#include "pyc/interp.h"
#include "interp_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- sources --------------------------------------------------------------------- */

typedef struct source_case {
	const char *name;
	const char *text;   /* NUL-terminated unless len is given */
	size_t len;
	bool error;
} source_case;

static const source_case cases[] = {
	{ "plain", "import os\n\ndef f(a, b=2, *c, **d):\n    '''doc'''\n    assert a, 'no'\n"
	  "    return [x * b for x in c if x in {'p', 'q', 'r', 's'}]\n\nclass K:\n"
	  "    \"\"\"K doc\"\"\"\n    def m(self):\n        return lambda y: (y, 1.5, 2j, b'x', None)\n"
	  "if __debug__:\n    Z = frozenset(['alpha', 'beta', 'gamma', 'delta'])\n", 0, false },
	{ "latin1", "# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\n", 0, false },
	{ "bom", "\xef\xbb\xbfu = '\xc3\xa9'\nasync def g():\n    await h()\n", 0, false },
	{ "crlf", "x = 1\r\ny = (x,\r\n     2)\r\n", 0, false },
	{ "empty", "", 0, false },
	/* SyntaxWarning from 3.8 ("is" 1; the escape too from 3.12); compiled at level 0
	 * (discarded: no body) then 2, as compileall -b -o 0 -o 2 does */
	{ "warned", "x = 1\nif x is 1:\n    '''doc'''\ns = 'caf\xc3\xa9 \\d'\n", 0, false },
	{ "syntax", "def f(:\n    pass\n", 0, true },
	{ "indent", "if 1:\npass\n", 0, true },
	{ "badcoding", "# coding: no-such-codec\nx = 1\n", 0, true },
	{ "badutf8", "x = '\xff'\n", 0, true },
	{ "nul", "x = 1\0\n", 7, true },
	{ "nonascii_err", "x = '\xc3\xa9' +\n", 0, true },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static size_t case_len(const source_case *c)
{
	return c->len ? c->len : strlen(c->text);
}

/* ---- the checker, run by the interpreter under test ------------------------------ */

static const char checker[] =
	"import sys, os, marshal, py_compile, compileall, io, types, subprocess\n"
	"try:\n    from contextlib import redirect_stdout\nexcept ImportError:\n    redirect_stdout = None\n"
	"def same(a, b):\n"
	"    if type(a) is not type(b):\n        return False\n"
	"    if isinstance(a, types.CodeType):\n"
	"        for k in dir(a):\n"
	"            if k.startswith('co_') and k != 'co_lnotab' and not callable(getattr(a, k)):\n"
	"                if not same(getattr(a, k), getattr(b, k)):\n"
	"                    return False\n"
	"        return True\n"
	"    if isinstance(a, (tuple, list)):\n"
	"        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))\n"
	"    if isinstance(a, frozenset):\n"
	"        return a == b and same(tuple(a), tuple(b))\n"
	"    return a == b and repr(a) == repr(b)\n"
	"def rd(p):\n    with open(p, 'rb') as f:\n        return f.read()\n"
	"top = sys.argv[1]\n"
	"exact = sys.version_info >= (3, 11)\n"
	"n = 0\n"
	"for name in sorted(os.listdir(top)):\n"
	"    d = os.path.join(top, name)\n"
	"    src = os.path.join(d, 'src.py')\n"
	"    dfile = os.fsdecode(rd(os.path.join(d, 'dfile')))\n"
	"    levels = [int(x) for x in rd(os.path.join(d, 'levels')).split()]\n"
	"    if os.path.exists(os.path.join(d, 'err')):\n"
	"        try:\n"
	"            py_compile.compile(src, os.path.join(d, 'x.pyc'), dfile, True, optimize=levels[0])\n"
	"            print('FAIL %s: py_compile accepted it' % name); continue\n"
	"        except py_compile.PyCompileError as e:\n"
	"            want, kind = e.msg.encode('utf-8', 'backslashreplace'), e.exc_type_name\n"
	"        got = rd(os.path.join(d, 'err'))\n"
	"        if got != want or rd(os.path.join(d, 'errtype')).decode() != kind:\n"
	"            print('FAIL %s: error %r (%s), py_compile says %r (%s)' % (name, got, rd(os.path.join(d, 'errtype')), want, kind)); continue\n"
	"        if dfile == src and redirect_stdout:\n"
	"            raw = io.BytesIO()\n"
	"            out = io.TextIOWrapper(raw, encoding='utf-8', newline='\\n')\n"
	"            with redirect_stdout(out):\n"
	"                compileall.compile_file(src, force=True, quiet=1)\n"
	"            out.flush()\n"
	"            report = (\"*** Error compiling %r...\\n\" % src).encode('utf-8') + got + b'\\n'\n"
	"            if raw.getvalue() != report:\n"
	"                print('FAIL %s: compileall printed %r, we would print %r' % (name, raw.getvalue(), report)); continue\n"
	"        n += 1\n"
	"        continue\n"
	"    compiles = levels\n"
	"    if os.path.exists(os.path.join(d, 'compiles')):\n"
	"        compiles = [int(x) for x in rd(os.path.join(d, 'compiles')).split()]\n"
	"    # what py_compile writes on stderr for these compiles, in the pool's environment\n"
	"    env = dict(os.environ)\n"
	"    del env['PYTHONIOENCODING']\n"
	"    script = 'import py_compile, sys\\nfor lv in %r:\\n    py_compile.compile(%r, %r, %r, True, optimize=lv)\\n' % (compiles, src, os.path.join(d, 'w.pyc'), dfile)\n"
	"    want = subprocess.run([sys.executable, '-c', script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stderr\n"
	"    if rd(os.path.join(d, 'warn')) != want:\n"
	"        print('FAIL %s: warnings %r, py_compile wrote %r' % (name, rd(os.path.join(d, 'warn')), want)); continue\n"
	"    n += 1\n"
	"    for i, lv in enumerate(levels):\n"
	"        cfile = os.path.join(d, 'exp%d.pyc' % i)\n"
	"        py_compile.compile(src, cfile, dfile, True, optimize=lv)\n"
	"        want = rd(cfile)[16 if sys.version_info >= (3, 7) else 12:]\n"
	"        got = rd(os.path.join(d, 'out%d' % i))\n"
	"        if exact and got != want:\n"
	"            print('FAIL %s level %d: bytes differ from py_compile' % (name, lv)); continue\n"
	"        if not same(marshal.loads(got), marshal.loads(want)):\n"
	"            print('FAIL %s level %d: code differs from py_compile' % (name, lv)); continue\n"
	"        n += 1\n"
	"print('CHECKED %d' % n)\n";

/* ---- helpers --------------------------------------------------------------------- */

static double pyc_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct done_log {
	int count;
	pyc_job *last;
} done_log;

static void on_done(pyc_job *job, void *ctx)
{
	done_log *log = ctx;
	log->count++;
	log->last = job;
}

static void fake_interp(pyc_interp *in, const char *exe, int minor)
{
	memset(in, 0, sizeof(*in));
	in->exe = (char *)exe;
	in->major = 3;
	in->minor = minor;
}

/* Write bytes to path (absolute). */
static void put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Run the checker with exe on dir; returns how many results it accepted, -1 on failures. */
static int run_checker(const char *exe, const char *dir)
{
	char cmd[4096], line[4096];
	int checked = -1, failed = 0;

	snprintf(cmd, sizeof(cmd), "PYTHONHASHSEED=0 PYTHONIOENCODING=utf-8 '%s' '%s/checker.py' '%s/cases'",
	         exe, dir, dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (strncmp(line, "CHECKED ", 8) == 0)
			checked = (int)strtol(line + 8, NULL, 10);
		else
			printf("%s: %s", exe, line), failed++;
	}
	assert_int_equal(pclose(p), 0);
	return failed ? -1 : checked;
}

static void write_case(const char *cases_dir, const source_case *c, const char *dfile,
                       size_t dlen, const char *levels)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", cases_dir, c->name);
	assert_int_equal(mkdir(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/%s/src.py", cases_dir, c->name);
	put_file(path, c->text, case_len(c));
	snprintf(path, sizeof(path), "%s/%s/dfile", cases_dir, c->name);
	put_file(path, dfile, dlen);
	snprintf(path, sizeof(path), "%s/%s/levels", cases_dir, c->name);
	put_file(path, levels, strlen(levels));
}

static void save_result(const char *cases_dir, const source_case *c, const pyc_job *job)
{
	char path[4096];

	if (c->error) {
		if (job->status != PYC_ECOMPILE)
			fail_msg("%s: status %d, want a compile error", c->name, job->status);
		snprintf(path, sizeof(path), "%s/%s/err", cases_dir, c->name);
		put_file(path, job->error_text.ptr, job->error_text.len);
		snprintf(path, sizeof(path), "%s/%s/errtype", cases_dir, c->name);
		put_file(path, job->error_type.ptr, job->error_type.len);
		return;
	}
	if (job->status != 0)
		fail_msg("%s: status %d: %s", c->name, job->status, pyc_buf_cstr(&job->error_text));
	snprintf(path, sizeof(path), "%s/%s/warn", cases_dir, c->name);
	put_file(path, job->warnings.len ? job->warnings.ptr : "", job->warnings.len);
	for (size_t i = 0, k = 0; i < job->nlevels; i++) {
		if (job->discard[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s/out%zu", cases_dir, c->name, k);
		put_file(path, job->body[k].ptr, job->body[k].len);
		k++;
	}
}

/* Compile every case with exe's pool and let exe's py_compile judge the results. */
static void check_interpreter(const char *exe)
{
	static const char odd_dfile[] = "/no/such/dir/we\xff\nird name.py";
	char *dir = tu_mkdtemp();
	char cases_dir[2048], path[4096];
	pyc_interp in;
	pyc_error err = { 0 };
	pyc_job jobs[NCASES];
	done_log log = { 0 };
	pyc_pool *pool;
	int expect = 0;

	if (pyc_interp_probe_fresh(&in, exe, &err) != 0)
		fail_msg("%s", err.message);
	snprintf(path, sizeof(path), "%s/checker.py", dir);
	put_file(path, checker, strlen(checker));
	snprintf(cases_dir, sizeof(cases_dir), "%s/cases", dir);
	assert_int_equal(mkdir(cases_dir, 0777), 0);
	assert_int_equal(pyc_pool_new(&pool, &in, 2, 60, on_done, &log, &err), 0);
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < NCASES; i++) {
		const source_case *c = &cases[i];
		pyc_job *job = &jobs[i];
		snprintf(path, sizeof(path), "%s/%s/src.py", cases_dir, c->name);
		bool odd = strcmp(c->name, "plain") == 0;
		write_case(cases_dir, c, odd ? odd_dfile : path, odd ? sizeof(odd_dfile) - 1 : strlen(path),
		           c->error ? "0" : "-1 1 2");
		job->source = (const uint8_t *)c->text;
		job->source_len = case_len(c);
		job->dfile = odd ? odd_dfile : strdup(path);
		job->nlevels = c->error ? 1 : 3;
		memcpy(job->levels, c->error ? (int[]){ 0 } : (int[]){ -1, 1, 2 },
		       job->nlevels * sizeof(int));
		expect += c->error ? 1 : 3 + 1;      /* + the warnings */
		if (strcmp(c->name, "warned") == 0) {
			snprintf(path, sizeof(path), "%s/%s/levels", cases_dir, c->name);
			put_file(path, "2", 1);
			snprintf(path, sizeof(path), "%s/%s/compiles", cases_dir, c->name);
			put_file(path, "0 2", 3);
			job->nlevels = 2;
			job->levels[0] = 0;
			job->levels[1] = 2;
			job->discard[0] = true;
			expect -= 2;
		}
		if (pyc_pool_submit(pool, job, &err) != 0)
			fail_msg("%s: %s", exe, err.message);
	}
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(log.count, (int)NCASES);
	assert_true(pyc_pool_started(pool) >= 1 && pyc_pool_started(pool) <= 2);
	pyc_pool_free(pool);
	for (size_t i = 0; i < NCASES; i++) {
		save_result(cases_dir, &cases[i], &jobs[i]);
		if (jobs[i].dfile != odd_dfile)
			free((char *)jobs[i].dfile);
		pyc_job_dispose(&jobs[i]);
	}
	int checked = run_checker(exe, dir);
	if (checked != expect)
		fail_msg("%s: the checker accepted %d of %d results", exe, checked, expect);
	printf("ok: %s: %d results equal py_compile's\n", exe, checked);
	pyc_interp_dispose(&in);
	tu_rm_rf(dir);
	free(dir);
}

static void test_matches_py_compile(void **state)
{
	(void)state;
	tu_interps list;

	tu_interps_find(&list, 0);
	if (list.n == 0)
		tu_skip("no CPython found");
	for (size_t i = 0; i < list.n; i++)
		check_interpreter(list.path[i]);
	tu_interps_free(&list);
}

/* A source that takes the compiler most of a second. */
static char *huge_source(size_t *len)
{
	pyc_buf b = PYC_BUF_INIT;
	for (int i = 0; i < 60000; i++)
		assert_int_equal(pyc_buf_printf(&b, "v%d = (a + b) * c - %d\n", i, i), 0);
	*len = b.len;
	return pyc_buf_detach(&b);
}

/* Any CPython 3 (the newest found), looked up once; NULL when there is none. */
static const char *any_python3(void)
{
	static char *exe;
	static bool looked;
	if (!looked) {
		exe = tu_python3();
		looked = true;
	}
	return exe;
}

static void small_job(pyc_job *job, const char *text)
{
	memset(job, 0, sizeof(*job));
	job->source = (const uint8_t *)text;
	job->source_len = strlen(text);
	job->dfile = "small.py";
	job->levels[0] = 0;
	job->nlevels = 1;
}

/* Submit one small job and drain: it must compile. */
static void expect_small_ok(pyc_pool *pool, done_log *log)
{
	pyc_job job;
	pyc_error err = { 0 };
	int before = log->count;

	small_job(&job, "x = 1\n");
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(log->count, before + 1);
	assert_int_equal(job.status, 0);
	assert_true(job.body[0].len > 0 && job.body[0].ptr[0] == (char)0xe3);
	pyc_job_dispose(&job);
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_lazy_start(void **state)
{
	(void)state;
	pyc_interp in;
	pyc_pool *pool;
	fake_interp(&in, "/nonexistent/python3", 12);
	assert_int_equal(pyc_pool_new(&pool, &in, 4, 0, on_done, NULL, NULL), 0);
	assert_int_equal(pyc_pool_started(pool), 0);
	assert_int_equal(pyc_pool_drain(pool, NULL), 0);
	assert_int_equal(pyc_pool_worker_pid(pool, 0), -1);
	pyc_pool_free(pool);
	pyc_pool_free(NULL);
	fake_interp(&in, "/usr/bin/python2.7", 7);
	in.major = 2;
	pyc_error err = { 0 };
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, NULL, &err), PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "2.7"));
}

/* Submit n small jobs at once, each after saying `more` jobs follow; all must compile.
 * Returns the workers the pool started. */
static unsigned submit_told(const char *exe, size_t n, size_t more)
{
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };
	pyc_job jobs[4];

	assert_true(n <= 4);
	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 2, 0, on_done, &log, &err), 0);
	for (size_t i = 0; i < n; i++) {
		small_job(&jobs[i], "x = 1\n");
		pyc_pool_expect(pool, more);
		assert_int_equal(pyc_pool_submit(pool, &jobs[i], &err), 0);
	}
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(log.count, (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(jobs[i].status, 0);
		pyc_job_dispose(&jobs[i]);
	}
	unsigned started = pyc_pool_started(pool);
	pyc_pool_free(pool);
	assert_no_children();
	return started;
}

/* A second worker starts only for a backlog worth its start; without a word from the
 * caller, as soon as two jobs overlap. The first worker is busy with the first job when
 * the second is submitted (its reply cannot have been read yet), so the counts are exact. */
static void test_expect_starts_workers_for_the_backlog(void **state)
{
	(void)state;
	const char *exe = any_python3();
	if (!exe)
		tu_skip("no python3 found");
	assert_int_equal(submit_told(exe, 4, PYC_POOL_JOBS_PER_WORKER - 1), 1);
	assert_int_equal(submit_told(exe, 2, PYC_POOL_JOBS_PER_WORKER), 2);
	assert_int_equal(submit_told(exe, 1, 1000), 1);
}

static void test_timeout_fails_only_that_job(void **state)
{
	(void)state;
	const char *exe = any_python3();
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };
	size_t len;
	char *src = huge_source(&len);
	pyc_job job;

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0.3, on_done, &log, &err), 0);
	expect_small_ok(pool, &log);
	small_job(&job, src);
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(job.status, PYC_ETIMEOUT);
	assert_non_null(strstr(pyc_buf_cstr(&job.error_text), "longer than 0.3 seconds"));
	pyc_job_dispose(&job);
	expect_small_ok(pool, &log);
	assert_int_equal(pyc_pool_started(pool), 2);
	pyc_pool_free(pool);
	free(src);
	assert_no_children();
}

static void test_killed_worker_fails_only_its_job(void **state)
{
	(void)state;
	const char *exe = any_python3();
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };
	size_t len;
	char *src = huge_source(&len);
	pyc_job job;

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, &err), 0);
	expect_small_ok(pool, &log);
	small_job(&job, src);
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	long pid = pyc_pool_worker_pid(pool, 0);
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(job.status, PYC_EINTERP);
	if (!strstr(pyc_buf_cstr(&job.error_text), "killed by signal 9"))
		fail_msg("error text: %s", pyc_buf_cstr(&job.error_text));
	pyc_job_dispose(&job);
	expect_small_ok(pool, &log);
	assert_int_equal(pyc_pool_started(pool), 2);
	assert_true(pyc_pool_worker_pid(pool, 0) != pid);
	pyc_pool_free(pool);
	free(src);
	assert_no_children();
}

/* Is pid a zombie yet (dead, not reaped)? */
static bool is_zombie(long pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static void test_dead_idle_worker_is_replaced(void **state)
{
	(void)state;
	const char *exe = any_python3();
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	done_log log = { 0 };

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, NULL), 0);
	expect_small_ok(pool, &log);
	long pid = pyc_pool_worker_pid(pool, 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	for (int i = 0; i < 500 && !is_zombie(pid); i++)
		usleep(10000);
	assert_true(is_zombie(pid));
	expect_small_ok(pool, &log);
	assert_int_equal(pyc_pool_started(pool), 2);
	pyc_pool_free(pool);
	assert_no_children();
}

/* Ctrl-C reaches the whole process group: workers leave that to pyc-tool. */
static void test_worker_ignores_sigint(void **state)
{
	(void)state;
	const char *exe = any_python3();
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	done_log log = { 0 };

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, NULL), 0);
	expect_small_ok(pool, &log);
	long pid = pyc_pool_worker_pid(pool, 0);
	assert_int_equal(kill((pid_t)pid, SIGINT), 0);
	usleep(100000);
	assert_false(is_zombie(pid));
	expect_small_ok(pool, &log);
	assert_int_equal(pyc_pool_worker_pid(pool, 0), pid);
	assert_int_equal(pyc_pool_started(pool), 1);
	pyc_pool_free(pool);
	assert_no_children();
}

static void test_interpreter_that_cannot_start(void **state)
{
	(void)state;
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };
	pyc_job job;

	fake_interp(&in, "/nonexistent/python3", 12);
	assert_int_equal(pyc_pool_new(&pool, &in, 2, 0, on_done, &log, &err), 0);
	small_job(&job, "x = 1\n");
	assert_int_equal(pyc_pool_submit(pool, &job, &err), PYC_EINTERP);
	assert_non_null(strstr(err.message, "cannot run '/nonexistent/python3'"));
	assert_int_equal(log.count, 0);
	assert_int_equal(pyc_pool_drain(pool, &err), PYC_EINTERP);
	pyc_pool_free(pool);

	/* One that starts but dies before it is ready: its job fails, then the pool gives up. */
	char *dir = tu_mkdtemp();
	tu_write_str(dir, "py", "#!/bin/sh\necho 'broken python' >&2\nsleep 0.5\nexit 1\n");
	char *exe = strdup(tu_path(dir, "py"));
	assert_int_equal(chmod(exe, 0755), 0);
	fake_interp(&in, exe, 12);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, &err), 0);
	/* The second job waits on the same (doomed) worker: it fails too, exactly once. (On a
	 * machine so slow that the worker is already known dead, it is refused instead.) */
	pyc_job queued;
	small_job(&queued, "y = 2\n");
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	int rc2 = pyc_pool_submit(pool, &queued, &err);
	assert_true(rc2 == 0 || rc2 == PYC_EINTERP);
	int accepted = rc2 == 0 ? 2 : 1;
	assert_int_equal(pyc_pool_drain(pool, &err), PYC_EINTERP);
	assert_int_equal(log.count, accepted);
	assert_int_equal(job.status, PYC_EINTERP);
	assert_non_null(strstr(pyc_buf_cstr(&job.error_text), "exited with status 1"));
	if (rc2 == 0) {
		assert_int_equal(queued.status, PYC_EINTERP);
		assert_non_null(strstr(pyc_buf_cstr(&queued.error_text),
		                       "cannot start a compile worker"));
	}
	assert_int_equal(pyc_pool_submit(pool, &job, &err), PYC_EINTERP);
	assert_non_null(strstr(err.message, "cannot start a compile worker"));
	assert_int_equal(log.count, accepted);
	pyc_pool_free(pool);
	pyc_job_dispose(&job);
	pyc_job_dispose(&queued);
	tu_rm_rf(dir);
	free(dir);
	free(exe);
	assert_no_children();
}

/* ---- two jobs in flight per worker ------------------------------------------------ */

/* A python3 wrapper whose compile() first sleeps for as long as a "#sleep=S" comment in
 * the source says: job durations that do not depend on the machine's load. NULL (skip)
 * without a python3. */
static char *slow_python(char **dir)
{
	const char *real = any_python3();
	if (!real)
		return NULL;
	pyc_buf text = PYC_BUF_INIT;
	assert_int_equal(pyc_buf_printf(&text,
		"#!%s\nimport builtins, sys, time\n_compile = builtins.compile\n"
		"def slow_compile(src, *a, **k):\n"
		"    i = src.find(b'#sleep=')\n"
		"    if i >= 0:\n"
		"        time.sleep(float(src[i + 7:].split()[0]))\n"
		"    return _compile(src, *a, **k)\n"
		"builtins.compile = slow_compile\n"
		"exec(sys.argv[2], {'__name__': '__main__'})\n", real), 0);
	*dir = tu_mkdtemp();
	tu_write_str(*dir, "py", pyc_buf_cstr(&text));
	pyc_buf_dispose(&text);
	char *exe = strdup(tu_path(*dir, "py"));
	assert_int_equal(chmod(exe, 0755), 0);
	return exe;
}

/* Records the order in which jobs come back. */
typedef struct order_log {
	pyc_job *done[8];
	int count;
} order_log;

static void on_done_order(pyc_job *job, void *ctx)
{
	order_log *log = ctx;
	assert_true(log->count < 8);
	log->done[log->count++] = job;
}

static void assert_compiled(const pyc_job *job)
{
	if (job->status != 0)
		fail_msg("status %d: %s", job->status, pyc_buf_cstr(&job->error_text));
	assert_true(job->body[0].len > 0 && job->body[0].ptr[0] == (char)0xe3);
}

/* A slow job A and a quick job B on a one-slot pool: B is queued behind A (submit does not
 * wait), then `fault` hits A's worker. A fails alone; B is compiled by a fresh worker. */
static void check_fault_with_queued_job(double timeout, bool kill_it)
{
	char *dir, *exe = slow_python(&dir);
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	order_log log = { 0 };
	pyc_job a, b;
	double t0 = pyc_test_now();

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, timeout, on_done_order, &log, &err), 0);
	/* A ready worker first (one that dies before its hello stops the pool, by design). */
	small_job(&a, "w = 0\n");
	assert_int_equal(pyc_pool_submit(pool, &a, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_compiled(&a);
	pyc_job_dispose(&a);
	log.count = 0;
	small_job(&a, "#sleep=60\nx = 1\n");
	small_job(&b, "y = 2\n");
	assert_int_equal(pyc_pool_submit(pool, &a, &err), 0);
	assert_int_equal(pyc_pool_submit(pool, &b, &err), 0);
	assert_int_equal(log.count, 0);   /* both in flight on the one worker */
	long pid = pyc_pool_worker_pid(pool, 0);
	assert_true(pid > 0);
	if (kill_it)
		assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(log.count, 2);
	assert_ptr_equal(log.done[0], &a);
	assert_ptr_equal(log.done[1], &b);
	if (kill_it) {
		assert_int_equal(a.status, PYC_EINTERP);
		if (!strstr(pyc_buf_cstr(&a.error_text), "killed by signal 9"))
			fail_msg("error text: %s", pyc_buf_cstr(&a.error_text));
	} else {
		assert_int_equal(a.status, PYC_ETIMEOUT);
		assert_non_null(strstr(pyc_buf_cstr(&a.error_text), "longer than"));
	}
	assert_compiled(&b);
	assert_int_equal(pyc_pool_started(pool), 2);
	assert_true(pyc_pool_worker_pid(pool, 0) != pid);
	assert_true(pyc_test_now() - t0 < 30);   /* nobody waited for A's 60 seconds */
	pyc_pool_free(pool);
	pyc_job_dispose(&a);
	pyc_job_dispose(&b);
	assert_no_children();
	tu_rm_rf(dir);
	free(dir);
	free(exe);
}

/* The first worker's hello answers what a cached probe must be re-checked on (the
 * worker is then the one the first job goes to); one that cannot start says why. */
static void test_hello_answers_the_probe(void **state)
{
	(void)state;
	char *exe = tu_python3();
	if (!exe)
		tu_skip("no CPython 3 found");
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };
	pyc_job job;
	const char *hello;
	size_t len;
	assert_int_equal(pyc_interp_probe_fresh(&in, exe, &err), 0);
	assert_int_equal(pyc_pool_new(&pool, &in, 2, 0, on_done, &log, &err), 0);
	assert_int_equal(pyc_pool_hello(pool, &hello, &len, &err), 0);
	assert_true(pyc_interp__same_answer(&in, hello, len));
	in.optimize = 2;
	assert_false(pyc_interp__same_answer(&in, hello, len));
	in.optimize = 0;
	free(in.pycache_prefix);
	in.pycache_prefix = strdup("/elsewhere");
	assert_false(pyc_interp__same_answer(&in, hello, len));
	assert_false(pyc_interp__same_answer(&in, hello, len / 2));
	small_job(&job, "x = 1\n");
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(job.status, 0);
	assert_int_equal(pyc_pool_started(pool), 1);
	pyc_pool_free(pool);
	pyc_interp_dispose(&in);

	char *dir = tu_mkdtemp();
	tu_write_str(dir, "py", "#!/bin/sh\necho 'broken python' >&2\nexit 1\n");
	char *broken = strdup(tu_path(dir, "py"));
	assert_int_equal(chmod(broken, 0755), 0);
	fake_interp(&in, broken, 12);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, &err), 0);
	assert_int_equal(pyc_pool_hello(pool, &hello, &len, &err), PYC_EINTERP);
	assert_non_null(strstr(err.message, "cannot start a compile worker"));
	assert_non_null(strstr(err.message, "exited with status 1"));
	assert_int_equal(pyc_pool_submit(pool, &job, &err), PYC_EINTERP);
	assert_int_equal(log.count, 1);
	pyc_pool_free(pool);
	pyc_job_dispose(&job);
	tu_rm_rf(dir);
	free(dir), free(broken), free(exe);
}

static void test_crash_resubmits_queued_job(void **state)
{
	(void)state;
	check_fault_with_queued_job(0, true);
}

static void test_timeout_resubmits_queued_job(void **state)
{
	(void)state;
	check_fault_with_queued_job(1.0, false);
}

/* --timeout counts from the moment a job starts running, not from its submission: two
 * 0.8 s jobs queued together on one worker both pass a 1.5 s timeout. */
static void test_timeout_counts_running_time_only(void **state)
{
	(void)state;
	char *dir, *exe = slow_python(&dir);
	if (!exe)
		tu_skip("no python3 found");
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	order_log log = { 0 };
	pyc_job a, b;

	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 1.5, on_done_order, &log, &err), 0);
	small_job(&a, "#sleep=0.8\nx = 1\n");
	small_job(&b, "#sleep=0.8\ny = 2\n");
	double t0 = pyc_test_now();
	assert_int_equal(pyc_pool_submit(pool, &a, &err), 0);
	assert_int_equal(pyc_pool_submit(pool, &b, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_true(pyc_test_now() - t0 >= 1.6);  /* they did run one after the other */
	assert_int_equal(log.count, 2);
	assert_compiled(&a);
	assert_compiled(&b);
	assert_int_equal(pyc_pool_started(pool), 1);
	pyc_pool_free(pool);
	pyc_job_dispose(&a);
	pyc_job_dispose(&b);
	assert_no_children();
	tu_rm_rf(dir);
	free(dir);
	free(exe);
}

/* py_compile's pyc body under a given seed. */
static void oracle_body(const char *exe, const char *seed, const char *src_path, pyc_buf *out)
{
	char cmd[4096], chunk[4096];
	size_t n;

	snprintf(cmd, sizeof(cmd), "PYTHONHASHSEED=%s '%s' -c \"import sys, py_compile\n"
	         "c = py_compile.compile(sys.argv[1], sys.argv[1] + 'c', 'seed.py', True)\n"
	         "sys.stdout.buffer.write(open(c, 'rb').read()[16:])\" '%s'",
	         seed, exe, src_path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		pyc_buf_put(out, chunk, n);
	assert_int_equal(pclose(p), 0);
}

static void compile_with_env_seed(const char *exe, const char *seed, const char *text, pyc_buf *out)
{
	pyc_interp in;
	pyc_pool *pool;
	pyc_job job;
	pyc_error err = { 0 };

	if (seed)
		setenv("PYTHONHASHSEED", seed, 1);
	else
		unsetenv("PYTHONHASHSEED");
	fake_interp(&in, exe, 11);
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, NULL, NULL, &err), 0);
	unsetenv("PYTHONHASHSEED");
	small_job(&job, text);
	job.dfile = "seed.py";
	job.levels[0] = -1;
	assert_int_equal(pyc_pool_submit(pool, &job, &err), 0);
	assert_int_equal(pyc_pool_drain(pool, &err), 0);
	assert_int_equal(job.status, 0);
	pyc_buf_put(out, job.body[0].ptr, job.body[0].len);
	pyc_job_dispose(&job);
	pyc_pool_free(pool);
}

/* Workers run with PYTHONHASHSEED=0 unless the user set a seed, which is then kept. */
static void test_hash_seed_rule(void **state)
{
	(void)state;
	static const char text[] = "def f(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta', "
	                           "'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'}\n";
	/* 3.11+ marshal writes frozensets sorted; before that their order follows the seed. */
	tu_interps list;
	const char *exe = NULL;
	tu_interps_find(&list, 0);
	for (size_t i = 0; i < list.n && !exe; i++)
		if (list.major[i] == 3 && (list.minor[i] == 9 || list.minor[i] == 10))
			exe = list.path[i];
	if (!exe) {
		tu_interps_free(&list);
		tu_skip("no CPython 3.9 or 3.10 to show the seed");
	}
	char *dir = tu_mkdtemp();
	tu_write_str(dir, "seed.py", text);
	pyc_buf ours0 = PYC_BUF_INIT, ours7 = PYC_BUF_INIT, want0 = PYC_BUF_INIT, want7 = PYC_BUF_INIT;

	compile_with_env_seed(exe, NULL, text, &ours0);
	compile_with_env_seed(exe, "7", text, &ours7);
	oracle_body(exe, "0", tu_path(dir, "seed.py"), &want0);
	oracle_body(exe, "7", tu_path(dir, "seed.py"), &want7);
	assert_true(want0.len != want7.len || memcmp(want0.ptr, want7.ptr, want0.len) != 0);
	assert_int_equal(ours0.len, want0.len);
	assert_memory_equal(ours0.ptr, want0.ptr, want0.len);
	assert_int_equal(ours7.len, want7.len);
	assert_memory_equal(ours7.ptr, want7.ptr, want7.len);
	pyc_buf_dispose(&ours0);
	pyc_buf_dispose(&ours7);
	pyc_buf_dispose(&want0);
	pyc_buf_dispose(&want7);
	tu_interps_free(&list);
	tu_rm_rf(dir);
	free(dir);
}

/* The PATH value in /proc/pid/environ, into out. */
static void proc_path(long pid, char *out, size_t cap)
{
	char path[64], buf[65536];
	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	out[0] = '\0';
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (strncmp(buf + i, "PATH=", 5) == 0)
			snprintf(out, cap, "%s", buf + i + 5);
}

/* Through a pyenv shim, workers start the probed binary directly (no bash + pyenv each). */
static void test_pyenv_shim_worker_starts_directly(void **state)
{
	(void)state;
	const char *root = tu_pyenv_root();
	char shim[2100], path[65536];
	pyc_interp in;
	pyc_pool *pool;
	pyc_error err = { 0 };
	done_log log = { 0 };

	snprintf(shim, sizeof(shim), "%s/shims/python3", root ? root : "/nonexistent");
	if (access(shim, X_OK) != 0)
		tu_skip("no pyenv shim");
	if (pyc_interp_probe_fresh(&in, shim, &err) != 0 || in.minor < 6) {
		pyc_interp_dispose(&in);
		tu_skip("the shim selects no usable CPython 3.6+ (%s)", err.message);
	}
	assert_int_equal(pyc_pool_new(&pool, &in, 1, 0, on_done, &log, &err), 0);
	expect_small_ok(pool, &log);
	proc_path(pyc_pool_worker_pid(pool, 0), path, sizeof(path));
	assert_string_equal(path, getenv("PATH"));  /* pyenv exec would have prepended to it */
	pyc_pool_free(pool);
	pyc_interp_dispose(&in);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_py_compile),
		cmocka_unit_test(test_lazy_start),
		cmocka_unit_test(test_expect_starts_workers_for_the_backlog),
		cmocka_unit_test(test_timeout_fails_only_that_job),
		cmocka_unit_test(test_killed_worker_fails_only_its_job),
		cmocka_unit_test(test_dead_idle_worker_is_replaced),
		cmocka_unit_test(test_worker_ignores_sigint),
		cmocka_unit_test(test_interpreter_that_cannot_start),
		cmocka_unit_test(test_hello_answers_the_probe),
		cmocka_unit_test(test_crash_resubmits_queued_job),
		cmocka_unit_test(test_timeout_resubmits_queued_job),
		cmocka_unit_test(test_timeout_counts_running_time_only),
		cmocka_unit_test(test_hash_seed_rule),
		cmocka_unit_test(test_pyenv_shim_worker_starts_directly),
	};
	return tu_run_tests("pool", tests);
}
