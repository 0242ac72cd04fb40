/*
 * pyc_untrack_bytecode (untrack.h) against git itself: the same repository is copied,
 * and in the copy `git rm -r --cached` is run with glob pathspecs for *.pyc, *.pyo and
 * __pycache__ contents; both indexes must then list the same entries (`git ls-files -s`),
 * the paths reported must be the ones git names, and the work tree must be untouched.
 * Other untrack cases (locks, split and sparse indexes) are in test_ignore.c.
 */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/untrack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORACLE_PATHS "-- ':(glob)**/*.pyc' ':(glob)**/*.pyo' ':(glob)**/__pycache__/**'"
#define ORACLE_RM "git rm -r -q --cached --ignore-unmatch " ORACLE_PATHS
/* -n lists each path once per index stage; uniq makes that one line, as we report. */
#define ORACLE_LIST "git rm -r -n --cached --ignore-unmatch " ORACLE_PATHS " | uniq"

struct fx {
	char *root;   /* realpath of a scratch directory; repositories under it */
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
	int rc = tu_git_scratch_end(f->root, f->oldcwd);
	free(f);
	return rc;
}

/* A command's whole stdout, NUL-terminated, into a caller-owned string. */
static char *sh_out(const char *fmt, const char *arg)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), fmt, arg);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	pyc_buf b = PYC_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(pyc_buf_put(&b, chunk, n), 0);
	assert_int_equal(pclose(p), 0);
	assert_int_equal(pyc_buf_putc(&b, '\0'), 0);
	return pyc_buf_detach(&b);
}

/* Untrack in `dir`, checking the reported paths against `git rm -n` there first. */
static void untrack(const char *dir, bool dry_run, pyc_untrack_result *r)
{
	char *want = sh_out("cd '%s' && " ORACLE_LIST " | sed \"s/^rm '\\(.*\\)'$/\\1/\"", dir);
	pyc_untrack_opts o = { dry_run };
	pyc_error err = { 0 };
	pyc_git *g = NULL;

	if (pyc_git_open(&g, dir, &err) != 0)
		fail_msg("open: %s", err.message);
	if (pyc_untrack_bytecode(g, &o, r, &err) != 0)
		fail_msg("untrack: %s", err.message);
	pyc_buf got = PYC_BUF_INIT;
	for (size_t i = 0; i < r->n_paths; i++)
		assert_int_equal(pyc_buf_printf(&got, "%s\n", r->paths[i]), 0);
	assert_string_equal(pyc_buf_cstr(&got), want);
	pyc_buf_dispose(&got);
	pyc_git_free(g);
	free(want);
}

/* Tracked bytecode in every shape git.md names, next to files that must stay. */
static void make_repo(const char *root)
{
	static const char *const files[] = {
		"m.py", "m.pyc", "m.pyo", "ext.pyd", "pkg/__init__.py",
		"pkg/__pycache__/m.cpython-312.pyc", "pkg/__pycache__/m.cpython-312.opt-1.pyc",
		"pkg/__pycache__/README", "__pycache__/top.cpython-311.pyc", "deep/a/b/c.pyc",
		"notes.pyc.txt", "spaced dir/x y.pyc",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		tu_write_str(root, files[i], files[i]);
	tu_sh("cd '%s' && git init -q . && git add -f . && git commit -q -m init", root);
}

static void test_same_index_as_git_rm(void **state)
{
	struct fx *f = *state;
	char *repo = strdup(tu_path(f->root, "repo")), *copy = strdup(tu_path(f->root, "copy"));
	pyc_untrack_result r = { 0 };

	make_repo(repo);
	tu_sh("cp -a '%s' '%s' && cd '%s' && " ORACLE_RM, repo, copy, copy);
	untrack(repo, false, &r);
	assert_true(r.wrote);
	assert_int_equal(r.n_paths, 8);
	pyc_untrack_result_dispose(&r);
	char *ours = sh_out("git -C '%s' ls-files -s", repo);
	char *theirs = sh_out("git -C '%s' ls-files -s", copy);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	/* The work tree is untouched: only the index changed. */
	char *wt = sh_out("cd '%s' && find . -path ./.git -prune -o -type f -print | sort", repo);
	char *wt_copy = sh_out("cd '%s' && find . -path ./.git -prune -o -type f -print | sort", copy);
	assert_string_equal(wt, wt_copy);
	assert_int_equal(access(tu_path(repo, "pkg/__pycache__/README"), F_OK), 0);
	free(wt);
	free(wt_copy);
	/* Again: nothing left, and the index file is not rewritten. */
	struct stat before, after;
	assert_int_equal(stat(tu_path(repo, ".git/index"), &before), 0);
	untrack(repo, false, &r);
	assert_int_equal(r.n_paths, 0);
	assert_false(r.wrote);
	assert_int_equal(stat(tu_path(repo, ".git/index"), &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	pyc_untrack_result_dispose(&r);
	free(repo);
	free(copy);
}

/* --dry-run names what git would remove and leaves the index byte for byte. */
static void test_dry_run(void **state)
{
	struct fx *f = *state;
	char *repo = strdup(tu_path(f->root, "repo"));
	pyc_untrack_result r = { 0 };

	make_repo(repo);
	char *before = sh_out("cat '%s/.git/index' | od -An -tx1", repo);
	untrack(repo, true, &r);
	assert_int_equal(r.n_paths, 8);
	assert_false(r.wrote);
	char *after = sh_out("cat '%s/.git/index' | od -An -tx1", repo);
	assert_string_equal(before, after);
	pyc_untrack_result_dispose(&r);
	free(before);
	free(after);
	free(repo);
}

/* A merge conflict on a .pyc leaves stages 1-3 in the index: reported once, all removed,
 * as git rm --cached does. */
static void test_conflict_stages(void **state)
{
	struct fx *f = *state;
	char *repo = strdup(tu_path(f->root, "repo")), *copy = strdup(tu_path(f->root, "copy"));
	pyc_untrack_result r = { 0 };

	tu_write_str(repo, "c.pyc", "base");
	tu_sh("cd '%s' && git init -q -b main . && git add -f c.pyc && git commit -q -m base && "
	      "git checkout -q -b side && echo side > c.pyc && git commit -q -am side && "
	      "git checkout -q main && echo main > c.pyc && git commit -q -am main && "
	      "! git merge -q side >/dev/null 2>&1 && test $(git ls-files -u | wc -l) = 3", repo);
	tu_sh("cp -a '%s' '%s' && cd '%s' && " ORACLE_RM, repo, copy, copy);
	untrack(repo, false, &r);
	assert_int_equal(r.n_paths, 1);
	assert_string_equal(r.paths[0], "c.pyc");
	pyc_untrack_result_dispose(&r);
	char *ours = sh_out("git -C '%s' ls-files -s", repo);
	char *theirs = sh_out("git -C '%s' ls-files -s", copy);
	assert_string_equal(ours, theirs);
	assert_string_equal(ours, "");
	free(ours);
	free(theirs);
	free(repo);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_index_as_git_rm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_stages, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
