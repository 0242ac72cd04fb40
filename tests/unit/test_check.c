/*
 * The check and hook library (check.h, hook.h) against throwaway repositories made
 * with the git CLI, which is the oracle: `git diff --cached --name-status` for what is
 * staged, `git rev-parse --git-path hooks` for where hooks live. HOME/XDG are isolated
 * and GIT_CONFIG_NOSYSTEM=1. Real commits through the hook are in tests/e2e.
 */
#include "testutil.h"

#include "pyc/check.h"
#include "pyc/hook.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char *root;   /* realpath of a scratch directory, also the cwd during a test */
	int oldcwd;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->root = tu_git_scratch(&f->oldcwd)) || chdir(f->root) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsetenv("GIT_INDEX_FILE");
	int rc = tu_git_scratch_end(f->root, f->oldcwd);
	free(f);
	return rc;
}

/* The first line a command prints, without the newline, into buf. */
static void sh_line(const char *cmd, char *buf, size_t cap)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, (int)cap, p))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	assert_int_equal(pclose(p), 0);
}

/* Names are facts of CPython's layout (PEP 3147/488) and of git.md's predicate. */
static void test_files_table(void **state)
{
	(void)state;
	static const struct { const char *path; bool bytecode; } rows[] = {
		{ "m.pyc", true }, { "m.pyo", true }, { "pkg/__pycache__/m.cpython-311.pyc", true },
		{ "pkg/__pycache__/m.cpython-312.opt-2.pyc", true }, { "__pycache__/README", true },
		{ "./a/__pycache__", true }, { "/abs/x.pyc", true }, { "m.pyd", false },
		{ "m.py", false }, { "m.pycx", false }, { "pyc", false }, { "__pycache__.md", false },
		{ "my__pycache__/x.py", false }, { "ext.cpython-311-x86_64-linux-gnu.so", false },
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	const char *paths[sizeof(rows) / sizeof(rows[0])];
	size_t want = 0;
	for (size_t i = 0; i < n; i++) {
		paths[i] = rows[i].path;
		want += rows[i].bytecode;
	}
	pyc_check_list l = PYC_CHECK_LIST_INIT;
	assert_int_equal(pyc_check_files(paths, n, &l, NULL), 0);
	assert_int_equal(l.count, want);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (!rows[i].bytecode)
			continue;
		assert_string_equal(l.items[j].path, rows[i].path);
		assert_int_equal(l.items[j].kind, PYC_CHECK_NAMED);
		assert_null(l.items[j].old_path);
		j++;
	}
	pyc_check_list_dispose(&l);
	assert_null(l.items);
	pyc_check_list_dispose(NULL);
}

static void test_staged_unborn(void **state)
{
	(void)state;
	tu_sh("git init -q . && mkdir -p p/__pycache__ && echo x > a.py && echo y > a.pyc && "
	   "echo z > p/__pycache__/a.cpython-311.pyc && git add -A");
	pyc_git *g = tu_git_open_cwd();
	pyc_check_list l = PYC_CHECK_LIST_INIT;
	assert_int_equal(pyc_check_staged(g, &l, NULL), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].path, "a.pyc");
	assert_string_equal(l.items[1].path, "p/__pycache__/a.cpython-311.pyc");
	assert_int_equal(l.items[0].kind, PYC_CHECK_ADDED);
	assert_string_equal(pyc_check_kind_name(l.items[0].kind), "added");
	pyc_check_list_dispose(&l);
	pyc_git_free(g);
}

/* The staged check must read GIT_INDEX_FILE, not .git/index: here the two disagree. */
static void test_staged_index_file(void **state)
{
	(void)state;
	tu_sh("git init -q . && echo x > a.py && echo 1 > t.pyc && git add -A && "
	   "git commit -q --no-verify -m base && GIT_INDEX_FILE=alt.idx git read-tree HEAD && "
	   "git mv t.pyc u.pyc && echo 2 > n.pyc && git add n.pyc");
	char line[256];
	sh_line("git diff --cached --name-status -M | tr '\\t\\n' ' ;'", line, sizeof(line));
	assert_string_equal(line, "A n.pyc;R100 t.pyc u.pyc;");

	pyc_git *g = tu_git_open_cwd();
	pyc_check_list l = PYC_CHECK_LIST_INIT;
	assert_int_equal(pyc_check_staged(g, &l, NULL), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].path, "n.pyc");
	assert_string_equal(l.items[1].path, "u.pyc");
	assert_int_equal(l.items[1].kind, PYC_CHECK_RENAMED);
	assert_string_equal(l.items[1].old_path, "t.pyc");
	pyc_check_list_dispose(&l);
	pyc_git_free(g);

	setenv("GIT_INDEX_FILE", "alt.idx", 1);  /* relative, as git passes it for plain commit */
	g = tu_git_open_cwd();
	assert_int_equal(pyc_check_staged(g, &l, NULL), 0);
	assert_int_equal(l.count, 0);
	assert_int_equal(pyc_check_index(g, &l, NULL), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0].path, "t.pyc");
	assert_int_equal(l.items[0].kind, PYC_CHECK_TRACKED);
	pyc_check_list_dispose(&l);
	pyc_git_free(g);
	unsetenv("GIT_INDEX_FILE");
}

static void assert_hook_dir(const struct fx *f, pyc_git *g, bool want_cfg)
{
	char oracle[1024], *dir = NULL;
	bool from_cfg = !want_cfg, shared = true;
	sh_line("git rev-parse --git-path hooks", oracle, sizeof(oracle));
	size_t n = strlen(oracle);
	while (n > 1 && oracle[n - 1] == '/')  /* git echoes a configured trailing '/' */
		oracle[--n] = '\0';
	assert_int_equal(pyc_hook_dir(g, &dir, &from_cfg, &shared, NULL), 0);
	assert_string_equal(dir, tu_path(f->root, oracle));
	assert_int_equal(from_cfg, want_cfg);
	assert_false(shared);
	free(dir);
}

static void test_hook_dir(void **state)
{
	struct fx *f = *state;
	tu_sh("git init -q .");
	pyc_git *g = tu_git_open_cwd();
	assert_hook_dir(f, g, false);
	pyc_git_free(g);
	tu_sh("git config core.hooksPath hk/");
	g = tu_git_open_cwd();
	assert_hook_dir(f, g, true);
	pyc_git_free(g);
}

/* The script runs tool_path with "check --staged", even when the path needs quoting. */
static void test_hook_script_runs_tool(void **state)
{
	struct fx *f = *state;
	tu_write_str(f->root, "it's dir/fake", "#!/bin/sh\necho \"$@\" > \"$OUT\"\n");
	assert_int_equal(chmod(tu_path(f->root, "it's dir/fake"), 0755), 0);
	char *tool = strdup(tu_path(f->root, "it's dir/fake"));
	char *script = NULL;
	assert_int_equal(pyc_hook_script(&script, tool, NULL), 0);
	assert_true(pyc_hook_is_ours(script, strlen(script)));
	assert_false(pyc_hook_is_ours("#!/bin/sh\nexit 0\n", 17));
	tu_write_str(f->root, "hook", script);
	setenv("OUT", tu_path(f->root, "out"), 1);
	tu_sh("sh ./hook");
	char line[128];
	sh_line("cat out", line, sizeof(line));
	assert_string_equal(line, "check --staged");
	free(script);
	free(tool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_table),
		cmocka_unit_test_setup_teardown(test_staged_unborn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_index_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_script_runs_tool, setup, teardown),
	};
	return tu_run_tests("gitcheck", tests);
}
