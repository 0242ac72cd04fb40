/*
 * The hook installer (hook.h) against throwaway repositories, with git itself as the
 * oracle: `git commit` must run what pyc_hook_install put in place (and refuse the commit
 * when the tool it calls fails), and `git rev-parse --git-path hooks` says where hooks
 * live. The tool the hook runs is a stand-in script that logs its arguments and exits
 * with $HOOK_EXIT, so these tests need git only; the real pyc-tool behind the hook is
 * tests/e2e/test_hook.py's business.
 */
#include "testutil.h"

#include "pyc/hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
	char *root;   /* realpath of a scratch directory; the repository is root/repo */
	int oldcwd;
	char *tool;   /* the stand-in tool: root/tool */
};

static const char tool_script[] =
	"#!/bin/sh\necho \"tool $*\" >> \"$HOOK_LOG\"\nexit \"${HOOK_EXIT:-0}\"\n";

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->root = tu_git_scratch(&f->oldcwd)))
		return -1;
	tu_write_str(f->root, "tool", tool_script);
	f->tool = strdup(tu_path(f->root, "tool"));
	if (!f->tool || chmod(f->tool, 0755) != 0 || setenv("HOOK_LOG", tu_path(f->root, "log"), 1))
		return -1;
	unsetenv("HOOK_EXIT");
	tu_sh("git init -q '%s/repo' && cd '%s/repo' && git commit -q --allow-empty -m init",
	      f->root, f->root);
	if (chdir(tu_path(f->root, "repo")) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsetenv("HOOK_LOG");
	unsetenv("HOOK_EXIT");
	free(f->tool);
	int rc = tu_git_scratch_end(f->root, f->oldcwd);
	free(f);
	return rc;
}

/* Whole contents of a small file, NUL-terminated, into a static buffer ("" when absent). */
static const char *slurp(const char *path)
{
	static char buf[8192];
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (fp) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* git's own answer for the hooks directory of the repository around the cwd. */
static void git_hooks_dir(char *buf, size_t cap)
{
	FILE *p = popen("git rev-parse --path-format=absolute --git-path hooks", "r");
	assert_non_null(p);
	if (!fgets(buf, (int)cap, p))
		buf[0] = '\0';
	assert_int_equal(pclose(p), 0);
	buf[strcspn(buf, "\n")] = '\0';
	size_t n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

/* `git commit` of a new file; returns git's exit status. */
static int try_commit(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "echo x > %s && git add %s && git commit -q -m %s >/dev/null 2>&1",
	         name, name, name);
	int st = system(cmd);
	assert_true(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

static pyc_hook_action install(const struct fx *f, pyc_hook_mode mode, int want_rc)
{
	pyc_hook_opts o = { mode, f->tool };
	pyc_hook_result r = { 0 };
	pyc_error err = { 0 };
	pyc_git *g = tu_git_open_cwd();
	int rc = pyc_hook_install(g, &o, &r, &err);
	if (rc != want_rc)
		fail_msg("install: %d, want %d (%s)", rc, want_rc, err.message);
	pyc_hook_action a = r.action;
	if (rc == 0) {
		char hooks[4096];
		git_hooks_dir(hooks, sizeof(hooks));
		assert_string_equal(r.hook_path, tu_path(hooks, "pre-commit"));
	}
	pyc_hook_result_dispose(&r);
	pyc_git_free(g);
	return a;
}

static pyc_hook_action uninstall(int want_rc)
{
	pyc_hook_result r = { 0 };
	pyc_error err = { 0 };
	pyc_git *g = tu_git_open_cwd();
	int rc = pyc_hook_uninstall(g, &r, &err);
	if (rc != want_rc)
		fail_msg("uninstall: %d, want %d (%s)", rc, want_rc, err.message);
	pyc_hook_action a = r.action;
	pyc_hook_result_dispose(&r);
	pyc_git_free(g);
	return a;
}

/* Installed where git looks, executable, and git runs it: the tool's failure blocks the
 * commit, its success lets it through; uninstall leaves git committing without it. */
static void test_install_git_runs_it(void **state)
{
	struct fx *f = *state;
	char hooks[4096];

	assert_int_equal(install(f, PYC_HOOK_PLAIN, 0), PYC_HOOK_INSTALLED);
	git_hooks_dir(hooks, sizeof(hooks));
	struct stat st;
	assert_int_equal(stat(tu_path(hooks, "pre-commit"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	setenv("HOOK_EXIT", "1", 1);
	assert_int_not_equal(try_commit("a"), 0);
	assert_string_equal(slurp(tu_path(f->root, "log")), "tool check --staged\n");
	setenv("HOOK_EXIT", "0", 1);
	assert_int_equal(try_commit("b"), 0);
	assert_int_equal(install(f, PYC_HOOK_PLAIN, 0), PYC_HOOK_UNCHANGED);
	assert_int_equal(uninstall(0), PYC_HOOK_REMOVED);
	assert_int_equal(uninstall(0), PYC_HOOK_ABSENT);
	setenv("HOOK_EXIT", "1", 1);
	assert_int_equal(try_commit("c"), 0);
	assert_string_equal(slurp(tu_path(f->root, "log")),
	                    "tool check --staged\ntool check --staged\n");
}

/* A foreign hook: refused by default and left as it was; chained, git runs it first with
 * our tool after, and its failure aborts the commit; uninstall puts it back byte for byte. */
static void test_foreign_hook_chain_and_restore(void **state)
{
	struct fx *f = *state;
	static const char foreign[] = "#!/bin/sh\necho foreign >> \"$HOOK_LOG\"\nexit \"${FOREIGN_EXIT:-0}\"\n";
	char hooks[4096], legacy[4200];

	git_hooks_dir(hooks, sizeof(hooks));
	tu_write_str(hooks, "pre-commit", foreign);
	assert_int_equal(chmod(tu_path(hooks, "pre-commit"), 0750), 0);
	install(f, PYC_HOOK_PLAIN, PYC_EEXISTS);
	assert_string_equal(slurp(tu_path(hooks, "pre-commit")), foreign);

	assert_int_equal(install(f, PYC_HOOK_CHAIN, 0), PYC_HOOK_CHAINED);
	snprintf(legacy, sizeof(legacy), "%s", tu_path(hooks, PYC_HOOK_LEGACY_NAME));
	assert_string_equal(slurp(legacy), foreign);
	struct stat st;
	assert_int_equal(stat(legacy, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(try_commit("a"), 0);
	assert_string_equal(slurp(tu_path(f->root, "log")), "foreign\ntool check --staged\n");
	setenv("FOREIGN_EXIT", "3", 1);
	assert_int_not_equal(try_commit("b"), 0);
	unsetenv("FOREIGN_EXIT");
	assert_string_equal(slurp(tu_path(f->root, "log")),
	                    "foreign\ntool check --staged\nforeign\n");

	assert_int_equal(uninstall(0), PYC_HOOK_RESTORED);
	assert_string_equal(slurp(tu_path(hooks, "pre-commit")), foreign);
	assert_int_equal(access(legacy, F_OK), -1);
	/* Ours is gone: a foreign hook is left alone by uninstall. */
	uninstall(PYC_EEXISTS);
	assert_string_equal(slurp(tu_path(hooks, "pre-commit")), foreign);
}

/* core.hooksPath in the repository's config is used (git commit runs the hook there);
 * one from the user's global config is shared and needs FORCE. */
static void test_hooks_path_local_and_global(void **state)
{
	struct fx *f = *state;

	tu_sh("git config core.hooksPath myhooks");
	assert_int_equal(install(f, PYC_HOOK_PLAIN, 0), PYC_HOOK_INSTALLED);
	assert_true(pyc_hook_is_ours(slurp("myhooks/pre-commit"), strlen(slurp("myhooks/pre-commit"))));
	setenv("HOOK_EXIT", "1", 1);
	assert_int_not_equal(try_commit("a"), 0);
	assert_int_equal(uninstall(0), PYC_HOOK_REMOVED);

	tu_sh("git config --unset core.hooksPath && git config --global core.hooksPath '%s/global'",
	      f->root);
	install(f, PYC_HOOK_PLAIN, PYC_EEXISTS);
	assert_int_equal(access(tu_path(f->root, "global/pre-commit"), F_OK), -1);
	assert_int_equal(install(f, PYC_HOOK_FORCE, 0), PYC_HOOK_INSTALLED);
	assert_int_not_equal(try_commit("b"), 0);
	tu_sh("git config --global --unset core.hooksPath");
}

/* A linked worktree shares the main repository's hooks: installed from the worktree, the
 * hook blocks commits made in the main one. */
static void test_linked_worktree_shares_hooks(void **state)
{
	struct fx *f = *state;

	tu_sh("git worktree add -q '%s/wt'", f->root);
	assert_int_equal(chdir(tu_path(f->root, "wt")), 0);
	assert_int_equal(install(f, PYC_HOOK_PLAIN, 0), PYC_HOOK_INSTALLED);
	assert_int_equal(chdir(tu_path(f->root, "repo")), 0);
	setenv("HOOK_EXIT", "1", 1);
	assert_int_not_equal(try_commit("a"), 0);
	assert_string_equal(slurp(tu_path(f->root, "log")), "tool check --staged\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_install_git_runs_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_hook_chain_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hooks_path_local_and_global, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_worktree_shares_hooks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
