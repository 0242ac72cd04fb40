/*
 * test_leftover.c - writers' temporary files. The names come from the writers themselves:
 * each interpreter's _write_atomic formula (asked of the interpreter), pyc-tool's writer
 * (killed mid-write); a process that has exited and the file's real mtime decide
 * "abandoned".
 */
#include "testutil.h"

#include "pyc/leftover.h"
#include "pyc/writer.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_importlib_names(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, false);
	for (size_t i = 0; i < list.n; i++) {
		char cmd[4096], name[512] = "";
		snprintf(cmd, sizeof(cmd), "%s -c \"p = 'm.cpython-3x.pyc'; "
		         "print('{}.{}'.format(p, id(p)))\"", list.path[i]);
		FILE *f = popen(cmd, "r");
		assert_non_null(f);
		assert_non_null(fgets(name, sizeof(name), f));
		pclose(f);
		name[strcspn(name, "\n")] = '\0';
		long pid = -1;
		if (pyc_leftover_kind(name, &pid) != PYC_LEFTOVER_IMPORTLIB || pid != 0)
			fail_msg("%s: '%s' is not recognised", list.path[i], name);
	}
	if (list.n == 0)
		printf("SKIP: no interpreter to ask for _write_atomic's names\n");
	tu_interps_free(&list);
}

/* Caches, sources and look-alikes are not temporary files. */
static void test_not_leftovers(void **state)
{
	(void)state;
	static const char *const names[] = {
		"m.cpython-312.pyc", "m.cpython-312.opt-1.pyc", "m.pyc", ".pyc.123", "m.pyc.",
		"m.pyc.12a", "m.pyc.1.tmp", "m.pyc.1.2.tmp.x", "m.pyc.1.x.tmp", "m.pyc.1.linkx",
		"m.pyc.123456789012345678901", "m.py", "notes.txt",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long pid = 7;
		if (pyc_leftover_kind(names[i], &pid) != PYC_LEFTOVER_NONE || pid != 0)
			fail_msg("'%s' taken for a temporary file", names[i]);
	}
}

/* pyc-tool's own temporary file, left by a writer killed mid-write (SIGXFSZ at its
 * default, past RLIMIT_FSIZE): recognised, with the writer's pid, and abandoned once that
 * process is gone and the grace has passed. */
static void test_pyc_tool_leftover(void **state)
{
	(void)state;
	static const uint8_t header[16] = { 0xcb, 0x0d, 0x0d, 0x0a };
	static uint8_t body[65536];
	char *dir = tu_mkdtemp();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct rlimit lim = { 4096, 4096 };
		signal(SIGXFSZ, SIG_DFL);
		setrlimit(RLIMIT_FSIZE, &lim);
		pyc_write_pyc(tu_path(dir, "m.cpython-312.pyc"), header, 16, body, sizeof(body),
		              0644, NULL);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);

	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		long pid = 0;
		struct stat st;
		assert_int_equal(pyc_leftover_kind(e->d_name, &pid), PYC_LEFTOVER_PYC_TOOL);
		assert_int_equal(pid, (long)child);
		assert_int_equal(stat(tu_path(dir, e->d_name), &st), 0);
		assert_false(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, pid, &st, st.st_mtime));
		assert_true(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, pid, &st,
		                                   st.st_mtime + PYC_LEFTOVER_DEAD_GRACE));
		found++;
	}
	closedir(d);
	assert_int_equal(found, 1);
	tu_rm_rf(dir);
	free(dir);
}

static void test_abandoned(void **state)
{
	(void)state;
	struct stat st;
	memset(&st, 0, sizeof(st));
	time_t now = time(NULL);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);   /* now certainly not running */

	st.st_mtime = now - PYC_LEFTOVER_DEAD_GRACE;
	assert_true(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, child, &st, now));
	assert_false(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, getpid(), &st, now));
	assert_false(pyc_leftover_abandoned(PYC_LEFTOVER_IMPORTLIB, 0, &st, now));
	st.st_mtime = now - 1;
	assert_false(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, child, &st, now));
	st.st_mtime = now - PYC_LEFTOVER_MAX_AGE;
	assert_true(pyc_leftover_abandoned(PYC_LEFTOVER_PYC_TOOL, getpid(), &st, now));
	assert_true(pyc_leftover_abandoned(PYC_LEFTOVER_IMPORTLIB, 0, &st, now));
	assert_false(pyc_leftover_abandoned(PYC_LEFTOVER_NONE, 0, &st, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_importlib_names),
		cmocka_unit_test(test_not_leftovers),
		cmocka_unit_test(test_pyc_tool_leftover),
		cmocka_unit_test(test_abandoned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
