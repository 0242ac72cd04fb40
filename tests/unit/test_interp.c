/*
 * test_interp.c - pyc_interp_probe against the real interpreters on this machine.
 *
 * Oracle: each interpreter's own answer through popen("EXE -c ..."). The probe cache is
 * checked with a wrapper script that logs every start.
 */
#include "testutil.h"
#include "pyc/interp.h"
#include "interp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a test may change: its variables, working directory and scratch directory are put
 * back by the teardown, whichever assertion stopped the test. */
static const char *const guarded_vars[] = { "XDG_CACHE_HOME", "PYTHONUSERBASE",
	"PYTHONPYCACHEPREFIX", "PYTHONPATH", "PYTHONOPTIMIZE", "PYC_TOOL_NO_PROBE_CACHE",
	"PYENV_VERSION" };
#define NGUARDED (sizeof(guarded_vars) / sizeof(guarded_vars[0]))

struct guard {
	char *saved[NGUARDED];
	int cwd;
	char *dir;   /* the test's scratch directory */
	char *python3;   /* tu_python3(), NULL when there is none */
};

static int guard_setup(void **state)
{
	struct guard *g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	for (size_t i = 0; i < NGUARDED; i++) {
		const char *v = getenv(guarded_vars[i]);
		g->saved[i] = v ? strdup(v) : NULL;
	}
	g->cwd = open(".", O_RDONLY | O_DIRECTORY);
	g->dir = tu_mkdtemp();
	g->python3 = tu_python3();
	*state = g;
	return g->cwd < 0 ? -1 : 0;
}

static int guard_teardown(void **state)
{
	struct guard *g = *state;
	int rc = fchdir(g->cwd) == 0 ? 0 : -1;
	close(g->cwd);
	for (size_t i = 0; i < NGUARDED; i++) {
		if (g->saved[i])
			setenv(guarded_vars[i], g->saved[i], 1);
		else
			unsetenv(guarded_vars[i]);
		free(g->saved[i]);
	}
	tu_rm_rf(g->dir);
	free(g->dir);
	free(g->python3);
	free(g);
	return rc;
}

/* The interpreter's own answer: "magichex tag major.minor.micro optimize reclimit npath". */
static void oracle(const char *exe, char *out, size_t cap)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "'%s' -c \"import sys, binascii\n"
	         "try:\n from importlib.util import MAGIC_NUMBER as m\n"
	         "except ImportError:\n import imp; m = imp.get_magic()\n"
	         "t = getattr(getattr(sys, 'implementation', None), 'cache_tag', None)\n"
	         "sys.stdout.write('%%s %%s %%d.%%d.%%d %%d %%d %%d' %% (binascii.hexlify(m).decode(), t,"
	         " sys.version_info[0], sys.version_info[1], sys.version_info[2], sys.flags.optimize,"
	         " sys.getrecursionlimit(), len(sys.path)))\"", exe);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

static void describe(const pyc_interp *in, char *out, size_t cap)
{
	snprintf(out, cap, "%02x%02x0d0a %s %d.%d.%d %d %d %zu", in->magic & 0xff, in->magic >> 8,
	         in->cache_tag ? in->cache_tag : "None", in->major, in->minor, in->micro,
	         in->optimize, in->recursion_limit, in->sys_path_len);
}

static void test_probe_matches_each_interpreter(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, TU_INTERPS_PY2 | TU_INTERPS_EVERY);
	if (list.n == 0)
		tu_skip("no CPython found");
	for (size_t i = 0; i < list.n; i++) {
		pyc_interp in;
		pyc_error err = { 0 };
		char want[256], got[256];
		int rc = pyc_interp_probe_fresh(&in, list.path[i], &err);
		if (rc != 0)
			fail_msg("%s: %s", list.path[i], err.message);
		oracle(list.path[i], want, sizeof(want));
		describe(&in, got, sizeof(got));
		if (strcmp(want, got) != 0)
			fail_msg("%s: probe says '%s', interpreter says '%s'", list.path[i], got, want);
		assert_string_equal(in.exe, list.path[i]);
		assert_non_null(in.info);
		assert_int_equal(in.info->number, in.magic);
		assert_int_equal(in.info->minor, in.minor);
		if (in.cache_tag)
			assert_string_equal(in.info->cache_tag, in.cache_tag);
		assert_non_null(in.sys_path);
		assert_null(in.sys_path[in.sys_path_len]);
		assert_false(in.from_cache);
		printf("ok: %s is %s\n", list.path[i], got);
		pyc_interp_dispose(&in);
		assert_null(in.exe);
	}
	tu_interps_free(&list);
}

/* PYTHONPATH entries with a newline and a non-UTF-8 byte come back byte for byte. */
static void test_probe_sys_path_any_bytes(void **state)
{
	struct guard *g = *state;
	static const char odd[] = "/tmp/a\nb\xff c";
	pyc_interp in;
	pyc_error err = { 0 };

	if (!g->python3)
		tu_skip("no python3 to probe");
	setenv("PYTHONPATH", odd, 1);
	setenv("PYTHONPYCACHEPREFIX", "/tmp/pfx", 1);
	setenv("PYTHONOPTIMIZE", "2", 1);
	int rc = pyc_interp_probe_fresh(&in, g->python3, &err);
	if (rc != 0)
		fail_msg("%s", err.message);
	bool found = false;
	for (size_t i = 0; i < in.sys_path_len; i++)
		found = found || strcmp(in.sys_path[i], odd) == 0;
	assert_true(found);
	assert_string_equal(in.pycache_prefix, "/tmp/pfx");
	assert_int_equal(in.optimize, 2);
	pyc_interp_dispose(&in);
}

static void expect_failure(const char *exe, const char *needle)
{
	pyc_interp in;
	pyc_error err = { 0 };
	int rc = pyc_interp_probe_fresh(&in, exe, &err);
	assert_int_equal(rc, PYC_EINTERP);
	assert_int_equal(err.code, PYC_EINTERP);
	if (!strstr(err.message, needle) || !strstr(err.message, exe))
		fail_msg("message '%s' lacks '%s' or '%s'", err.message, needle, exe);
	assert_null(in.exe);
}

static char *write_script(const char *dir, const char *name, const char *body)
{
	tu_write_str(dir, name, body);
	char *path = strdup(tu_path(dir, name));
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static void test_probe_errors(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	expect_failure("/nonexistent/python3", "No such file");
	expect_failure("pyc-tool-no-such-python", "No such file");
	expect_failure("false", "exited with status 1");
	char *p = write_script(dir, "boom", "#!/bin/sh\necho 'it broke' >&2\nexit 3\n");
	expect_failure(p, "exited with status 3\nit broke");
	free(p);
	/* A shim's diagnosis spans lines, and the cause is not on the last one. */
	p = write_script(dir, "shim", "#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\n"
	                 "echo >&2\necho 'it exists in 3.12.1' >&2\nexit 127\n");
	expect_failure(p, "exited with status 127\npyenv: python3.12: command not found\n\n"
	               "it exists in 3.12.1");
	free(p);
	/* Only the last 20 lines are kept. */
	p = write_script(dir, "chatty", "#!/bin/sh\ni=0\nwhile [ $i -lt 30 ]; do echo line$i >&2; "
	                 "i=$((i+1)); done\nexit 1\n");
	expect_failure(p, "exited with status 1\nline10\nline11\n");
	free(p);
	p = write_script(dir, "garbage", "#!/bin/sh\necho hello\n");
	expect_failure(p, "malformed");
	free(p);
	p = write_script(dir, "pypy", "#!/bin/sh\nprintf 'impl 4:pypy\\nversion 5:3.9.1\\n"
	                 "magic 4:\\141\\015\\015\\012\\nexecutable 0:\\ncwd 1:/\\nend 0:\\n'\n");
	expect_failure(p, "is not CPython (it is pypy)");
	free(p);
	p = write_script(dir, "killed", "#!/bin/sh\nkill -9 $$\n");
	expect_failure(p, "killed by signal 9");
	free(p);
	tu_rm_rf(dir);
	free(dir);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Probe through the cache and report whether the wrapper ran. */
static bool probe_ran(const char *exe, const char *log, pyc_interp *in)
{
	pyc_error err = { 0 };
	int before = count_lines(log);
	if (pyc_interp_probe(in, exe, &err) != 0)
		fail_msg("%s", err.message);
	bool ran = count_lines(log) > before;
	assert_int_equal(ran, !in->from_cache);
	return ran;
}

static void test_probe_cache(void **state)
{
	struct guard *g = *state;
	const char *dir = g->dir;
	char body[4096], log[1024];
	pyc_interp in;

	if (!g->python3)
		tu_skip("no python3 to wrap");
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(body, sizeof(body), "#!/bin/sh\necho started >> '%s'\nexec '%s' \"$@\"\n", log,
	         g->python3);
	char *exe = write_script(dir, "py", body);
	setenv("XDG_CACHE_HOME", tu_path(dir, "cache"), 1);
	setenv("PYTHONUSERBASE", tu_path(dir, "userbase"), 1);

	assert_true(probe_ran(exe, log, &in));
	pyc_interp_dispose(&in);
	assert_false(probe_ran(exe, log, &in));        /* a hit starts nothing */
	assert_int_equal(in.magic != 0, 1);
	assert_null(in.pycache_prefix);
	pyc_interp_dispose(&in);

	setenv("PYTHONPYCACHEPREFIX", tu_path(dir, "pfx"), 1);   /* part of the key */
	assert_true(probe_ran(exe, log, &in));
	assert_non_null(in.pycache_prefix);
	pyc_interp_dispose(&in);
	unsetenv("PYTHONPYCACHEPREFIX");
	assert_false(probe_ran(exe, log, &in));
	pyc_interp_dispose(&in);

	/* pip dropping a .pth file into the user site changes sys.path: a validator. */
	assert_false(probe_ran(exe, log, &in));
	char *site = strdup(in.user_site);
	pyc_interp_dispose(&in);
	char rel[2048], extra[2048], line[2100];
	snprintf(rel, sizeof(rel), "%s/extra.pth", site + strlen(dir) + 1);
	snprintf(extra, sizeof(extra), "%s/extra-entry", dir);
	snprintf(line, sizeof(line), "%s\n", extra);
	assert_int_equal(mkdir(extra, 0755), 0);
	tu_write_str(dir, rel, line);
	assert_true(probe_ran(exe, log, &in));
	bool found = false;
	for (size_t i = 0; i < in.sys_path_len; i++)
		found = found || strcmp(in.sys_path[i], extra) == 0;
	assert_true(found);
	pyc_interp_dispose(&in);
	free(site);

	/* Another directory is the same answer (cwd refreshed) unless PYTHONPATH is relative. */
	assert_int_equal(mkdir(tu_path(dir, "elsewhere"), 0755), 0);
	assert_int_equal(chdir(tu_path(dir, "elsewhere")), 0);
	char *here = getcwd(NULL, 0);
	assert_false(probe_ran(exe, log, &in));
	assert_string_equal(in.cwd, here);
	pyc_interp_dispose(&in);
	setenv("PYTHONPATH", "rel", 1);
	assert_true(probe_ran(exe, log, &in));
	pyc_interp_dispose(&in);
	assert_int_equal(chdir(dir), 0);
	assert_true(probe_ran(exe, log, &in));
	found = false;
	for (size_t i = 0; i < in.sys_path_len; i++)
		found = found || strcmp(in.sys_path[i], tu_path(dir, "rel")) == 0;
	assert_true(found);
	pyc_interp_dispose(&in);
	unsetenv("PYTHONPATH");
	free(here);

	setenv("PYC_TOOL_NO_PROBE_CACHE", "1", 1);
	assert_true(probe_ran(exe, log, &in));
	pyc_interp_dispose(&in);
	unsetenv("PYC_TOOL_NO_PROBE_CACHE");

	/* A rewritten wrapper is another interpreter. */
	snprintf(body, sizeof(body), "#!/bin/sh\necho started >> '%s'\nexec '%s' -O \"$@\"\n", log,
	         g->python3);
	tu_write_str(dir, "py", body);
	assert_true(probe_ran(exe, log, &in));
	assert_int_equal(in.optimize, 1);
	pyc_interp_dispose(&in);
	assert_false(probe_ran(exe, log, &in));
	pyc_interp_dispose(&in);

	free(exe);
}

/* Only pyenv's own shim template is a shim: a wrapper that mentions pyenv and sets up an
 * environment before exec'ing a real interpreter must be started as written. */
static void test_shim_detection_is_exact(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "wrapper",
	             "#!/bin/sh\nexport EXTRA=1\n"
	             "exec \"$HOME/.pyenv/versions/3.12.1/bin/python3\" \"$@\"\n");
	tu_write_str(d, "shims/python3",
	             "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\nexport PYENV_ROOT=\"/x\"\n"
	             "exec \"/x/libexec/pyenv\" exec \"$program\" \"$@\"\n");
	assert_int_equal(chmod(tu_path(d, "wrapper"), 0755), 0);
	assert_int_equal(chmod(tu_path(d, "shims/python3"), 0755), 0);
	assert_false(pyc_interp__is_pyenv_shim(tu_path(d, "wrapper")));
	assert_true(pyc_interp__is_pyenv_shim(tu_path(d, "shims/python3")));

	tu_rm_rf(d);
	free(d);
}

/* pyenv's real shim, when there is one, is recognised. */
static void test_real_pyenv_shim_is_a_shim(void **state)
{
	(void)state;
	const char *root = tu_pyenv_root();
	char real[2100];
	snprintf(real, sizeof(real), "%s/shims/python3", root ? root : "/nonexistent");
	if (access(real, X_OK) != 0)
		tu_skip("no pyenv shim at %s to check against", real);
	assert_true(pyc_interp__is_pyenv_shim(real));
}

/* A pyenv shim: the selected version is part of the key. */
static void test_probe_cache_pyenv_shim(void **state)
{
	struct guard *g = *state;
	tu_interps list;
	const char *root = tu_pyenv_root();
	char shim[2100];
	char a[64] = "", b[64] = "";

	snprintf(shim, sizeof(shim), "%s/shims/python3", root ? root : "/nonexistent");
	tu_interps_find(&list, 0);
	for (size_t i = 0; i < list.n; i++) {
		const char *v = strstr(list.path[i], "/versions/");
		if (v && strncmp(v, "/versions/3.12.", 15) == 0)
			sscanf(v, "/versions/%63[^/]", a);
		if (v && strncmp(v, "/versions/3.11.", 15) == 0)
			sscanf(v, "/versions/%63[^/]", b);
	}
	tu_interps_free(&list);
	if (access(shim, X_OK) != 0 || !a[0] || !b[0])
		tu_skip("no pyenv shim with 3.11 and 3.12 installed");
	setenv("XDG_CACHE_HOME", g->dir, 1);
	const char *versions[] = { a, b, a, b };
	const char *minor[] = { "3.12", "3.11", "3.12", "3.11" };
	for (int i = 0; i < 4; i++) {
		pyc_interp in;
		pyc_error err = { 0 };
		setenv("PYENV_VERSION", versions[i], 1);
		if (pyc_interp_probe(&in, shim, &err) != 0)
			fail_msg("%s", err.message);
		char want[8];
		snprintf(want, sizeof(want), "%d.%d", in.major, in.minor);
		assert_string_equal(want, minor[i]);
		assert_int_equal(in.from_cache, i >= 2);
		pyc_interp_dispose(&in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_matches_each_interpreter),
		cmocka_unit_test_setup_teardown(test_probe_sys_path_any_bytes, guard_setup,
		                                guard_teardown),
		cmocka_unit_test(test_probe_errors),
		cmocka_unit_test_setup_teardown(test_probe_cache, guard_setup, guard_teardown),
		cmocka_unit_test(test_shim_detection_is_exact),
		cmocka_unit_test(test_real_pyenv_shim_is_a_shim),
		cmocka_unit_test_setup_teardown(test_probe_cache_pyenv_shim, guard_setup,
		                                guard_teardown),
	};
	return tu_run_tests("interp", tests);
}
