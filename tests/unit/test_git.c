/*
 * pyc_git_open against throwaway repositories made with the git CLI, which is also the
 * oracle: what `git rev-parse` reports for the same directory and environment is what
 * the opener must find. HOME/XDG are isolated and GIT_CONFIG_NOSYSTEM=1 is set.
 */
#include "testutil.h"

#include "git_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
	char *root;   /* realpath of a scratch directory */
	int oldcwd;   /* fd of the cwd to return to */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->root = tu_git_scratch(&f->oldcwd)))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_git_clear_env();
	int rc = tu_git_scratch_end(f->root, f->oldcwd);
	free(f);
	return rc;
}

/* The work tree, git dir and common dir as `git rev-parse` run in the current directory
 * and environment answers them, a line each from one process; "/" appended to match our
 * trailing slash. */
static void oracle_dirs(char dirs[3][PATH_MAX + 2])
{
	FILE *p = popen("git rev-parse --path-format=absolute --show-toplevel --git-dir "
	                "--git-common-dir", "r");
	assert_non_null(p);
	for (int i = 0; i < 3; i++) {
		char *line = dirs[i];
		assert_non_null(fgets(line, PATH_MAX + 1, p));
		line[strcspn(line, "\n")] = '\0';
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '/')
			memcpy(line + n, "/", 2);
	}
	assert_int_equal(pclose(p), 0);
}

/* Open from the cwd and compare all three directories with git's answer. */
static void expect_same_as_git(void)
{
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	int rc = pyc_git_open(&g, NULL, &err);
	if (rc != 0)
		fail_msg("open failed (%d): %s", rc, err.message);
	static char dirs[3][PATH_MAX + 2];
	oracle_dirs(dirs);
	assert_string_equal(pyc_git_workdir(g), dirs[0]);
	assert_string_equal(pyc_git_gitdir(g), dirs[1]);
	assert_string_equal(pyc_git_commondir(g), dirs[2]);
	pyc_git_free(g);
}

static void cd(const char *dir, const char *rel)
{
	const char *p = rel ? tu_path(dir, rel) : dir;
	if (chdir(p) != 0)
		fail_msg("chdir %s: %s", p, strerror(errno));
}

static void make_repo_with_commit(const char *root, const char *name)
{
	tu_sh("cd '%s' && git init -q '%s' && cd '%s' && mkdir -p pkg/deep && "
	   "echo x > pkg/deep/a.py && git add . && git commit -qm init", root, name, name);
}

static void test_open_normal_and_subdir(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "r");
	cd(f->root, "r");
	expect_same_as_git();
	cd(f->root, "r/pkg/deep");
	expect_same_as_git();

	/* start_dir instead of the cwd */
	cd(f->root, NULL);
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, tu_path(f->root, "r/pkg"), NULL), 0);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/r/", f->root);
	assert_string_equal(pyc_git_workdir(g), want);
	pyc_git_free(g);
}

static void test_bare_refused(void **state)
{
	struct fx *f = *state;
	tu_sh("cd '%s' && git init -q --bare b.git", f->root);
	cd(f->root, "b.git");
	pyc_error err = { 0 };
	pyc_git *g = (pyc_git *)&err;  /* must be reset to NULL */
	assert_int_equal(pyc_git_open(&g, NULL, &err), PYC_EUNSUPPORTED);
	assert_null(g);
	assert_non_null(strstr(err.message, "bare repository"));
}

static void test_not_a_repo(void **state)
{
	struct fx *f = *state;
	tu_sh("mkdir -p '%s/plain/sub'", f->root);
	/* The scratch dir may sit inside some repository: stop the walk like git would. */
	setenv("GIT_CEILING_DIRECTORIES", f->root, 1);
	cd(f->root, "plain/sub");
	assert_int_not_equal(system("git rev-parse --git-dir >/dev/null 2>&1"), 0);
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, NULL, &err), PYC_ENOTFOUND);
	assert_null(g);
	assert_non_null(strstr(err.message, "not a git repository"));
}

static void test_git_dir_and_work_tree(void **state)
{
	struct fx *f = *state;
	/* dotfiles style: a bare repository given a work tree through the environment */
	make_repo_with_commit(f->root, "r");
	tu_sh("cd '%s' && git init -q --bare dot.git && mkdir -p home/sub", f->root);
	setenv("GIT_DIR", tu_path(f->root, "dot.git"), 1);
	setenv("GIT_WORK_TREE", tu_path(f->root, "home"), 1);
	cd(f->root, "home/sub");
	expect_same_as_git();

	/* GIT_DIR alone: git takes the cwd as the top of the work tree */
	unsetenv("GIT_WORK_TREE");
	setenv("GIT_DIR", "../.git", 1);  /* relative to the cwd, as git reads it */
	cd(f->root, "r/pkg");
	expect_same_as_git();
}

static void test_index_file_relative(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "r");
	cd(f->root, "r");
	tu_sh("echo b > b.txt && GIT_INDEX_FILE=alt-index git add b.txt");
	setenv("GIT_INDEX_FILE", "alt-index", 1);
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, NULL, &err), 0);
	cd(f->root, NULL);  /* a later chdir must not matter: resolved at open */
	git_index *ix = NULL;
	assert_int_equal(pyc_git__index(g, &ix, &err), 0);
	/* git wrote only b.txt into alt-index (the commit's tree is not in it) */
	assert_int_equal(git_index_entrycount(ix), 1);
	assert_string_equal(git_index_get_byindex(ix, 0)->path, "b.txt");
	git_index *repo_ix = NULL;
	assert_int_equal(git_repository_index(&repo_ix, pyc_git__repo(g)), 0);
	assert_ptr_equal(repo_ix, ix);  /* what diffs use is the same index */
	git_index_free(repo_ix);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/r/alt-index", f->root);
	assert_string_equal(pyc_git__index_file(g), want);
	pyc_git_free(g);
}

static void test_linked_worktree(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "r");
	tu_sh("cd '%s/r' && git worktree add -q ../wt2 2>/dev/null", f->root);
	cd(f->root, "wt2/pkg");
	expect_same_as_git();
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, NULL, NULL), 0);
	assert_string_not_equal(pyc_git_gitdir(g), pyc_git_commondir(g));
	pyc_git_free(g);
}

static void test_submodule(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "subsrc");
	make_repo_with_commit(f->root, "super");
	tu_sh("cd '%s/super' && git -c protocol.file.allow=always submodule add -q '%s/subsrc' "
	   "sub 2>/dev/null", f->root, f->root);
	cd(f->root, "super/sub/pkg");
	expect_same_as_git();
	/* what a submodule's hook gets: GIT_DIR only, core.worktree gives the work tree */
	setenv("GIT_DIR", tu_path(f->root, "super/.git/modules/sub"), 1);
	cd(f->root, "super/sub");
	expect_same_as_git();
}

static void test_common_dir_refused(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "r");
	cd(f->root, "r");
	setenv("GIT_COMMON_DIR", tu_path(f->root, "r/.git"), 1);
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, NULL, &err), PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "GIT_COMMON_DIR"));
}

static void test_worktree_config_extension(void **state)
{
	struct fx *f = *state;
	make_repo_with_commit(f->root, "r");
	tu_sh("cd '%s/r' && git config core.repositoryformatversion 1 && "
	   "git config extensions.worktreeConfig true", f->root);
	cd(f->root, "r");
	expect_same_as_git();
}

static void test_dubious_ownership(void **state)
{
	struct fx *f = *state;
	if (geteuid() != 0)
		tu_skip("not root: only root can give a repository to another user");
	make_repo_with_commit(f->root, "r");
	tu_sh("chown -R 65534 '%s/r'", f->root);
	cd(f->root, "r");
	assert_int_not_equal(system("git status >/dev/null 2>&1"), 0);  /* git refuses too */
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	assert_int_equal(pyc_git_open(&g, NULL, &err), PYC_EGIT);
	assert_non_null(strstr(err.message, "dubious ownership"));
	assert_non_null(strstr(err.message, "safe.directory"));
	/* the hint works: after it, git and we both accept the repository */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "git config --global --add safe.directory '%s/r'", f->root);
	tu_sh("%s", cmd);
	assert_int_equal(system("git status >/dev/null 2>&1"), 0);
	assert_int_equal(pyc_git_open(&g, NULL, &err), 0);
	pyc_git_free(g);
}

static void test_is_bytecode_path(void **state)
{
	(void)state;
	static const struct { const char *path; bool want; } cases[] = {
		{ "x.pyc", true }, { "pkg/y.pyo", true }, { "pkg/__pycache__/m.cpython-311.pyc", true },
		{ "__pycache__/README", true }, { "a/__pycache__", true }, { "ext.pyd", false },
		{ "pkg/ext.cpython-311-x86_64-linux-gnu.so", false }, { "a.py", false },
		{ "my__pycache__/a.py", false }, { "__pycache__x/a.py", false }, { "a.pyc.txt", false },
		{ "pyc", false }, { "a.PYC", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pyc_git_is_bytecode_path(cases[i].path) != cases[i].want)
			fail_msg("'%s': expected %d", cases[i].path, cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_normal_and_subdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_git_dir_and_work_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_file_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_worktree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submodule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_common_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_config_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dubious_ownership, setup, teardown),
		cmocka_unit_test(test_is_bytecode_path),
	};
	return tu_run_tests("git_repo", tests);
}
