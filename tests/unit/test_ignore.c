/*
 * pyc_ignore_probe / pyc_ignore_patch / pyc_untrack_bytecode at the library
 * level, in throwaway repositories made by the git CLI, which is also the oracle
 * (`git check-ignore`, `git ls-files`). HOME/XDG isolated, GIT_CONFIG_NOSYSTEM=1.
 */
#include "testutil.h"

#include "git_internal.h"
#include "pyc/ignore.h"
#include "pyc/untrack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
	char *root;
	char *repo;
	int oldcwd;
};

/* Exit status of a shell command (0 = success). */
static int sh_rc(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->root = tu_git_scratch(&f->oldcwd)))
		return -1;
	setenv("GIT_CEILING_DIRECTORIES", f->root, 1);
	f->repo = strdup(tu_path(f->root, "r"));
	tu_sh("git init -q '%s' && cd '%s' && mkdir -p pkg/__pycache__ && touch a.py x.pyc ext.pyd "
	   "pkg/__pycache__/m.cpython-311.pyc && git add . && git commit -qm init", f->repo,
	   f->repo);
	if (chdir(f->repo) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc = tu_git_scratch_end(f->root, f->oldcwd);
	free(f->repo);
	free(f);
	return rc;
}

static bool git_ignores(const char *rel)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "git check-ignore -q --no-index '%s'", rel);
	int rc = sh_rc(cmd);
	assert_true(rc == 0 || rc == 1);
	return rc == 0;
}

/* git's verdict on every probe path from one check-ignore, which prints the ignored ones,
 * a line each (exit 1: none); each path is judged as when it is asked alone. The probe
 * paths are plain ASCII, so git prints them unquoted. */
static void git_ignored_probes(bool ignored[PYC_IGNORE_NPROBES])
{
	const char *const *probes = pyc_ignore_probe_paths();
	pyc_buf cmd = PYC_BUF_INIT, out = PYC_BUF_INIT;
	assert_int_equal(pyc_buf_puts(&cmd, "git check-ignore --no-index --"), 0);
	for (size_t i = 0; probes[i]; i++) {
		assert_int_equal(pyc_buf_printf(&cmd, " '%s'", probes[i]), 0);
		ignored[i] = false;
	}
	int st = tu_popen_read(cmd.ptr, &out);
	assert_true(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 1));
	char *save = NULL;
	for (char *line = strtok_r(out.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t i = 0;
		while (probes[i] && strcmp(probes[i], line) != 0)
			i++;
		if (!probes[i])
			fail_msg("git check-ignore printed '%s', no probe path", line);
		ignored[i] = true;
	}
	pyc_buf_dispose(&cmd);
	pyc_buf_dispose(&out);
}

/* Our verdict per probe must match git's for the same synthetic path. */
static void expect_probes_match_git(const pyc_ignore_report *r)
{
	bool git[PYC_IGNORE_NPROBES];
	git_ignored_probes(git);
	const char *const *probes = pyc_ignore_probe_paths();
	for (size_t k = 0; probes[k]; k++) {
		bool ours = true;
		for (size_t i = 0; i < r->n_not_ignored; i++)
			ours = ours && strcmp(r->not_ignored[i], probes[k]) != 0;
		if (ours != git[k])
			fail_msg("probe '%s': pyc-tool says %d, git says %d", probes[k], ours, !ours);
	}
}

static void test_probe_agrees_with_git(void **state)
{
	(void)state;
	static const char *const setups[] = {
		"",                                           /* nothing ignored */
		"printf '__pycache__/\\n' > .gitignore",      /* only the directories */
		"printf '*.py[cod]\\n__pycache__\\n' > .gitignore",
		"printf '*.pyc\\n' > .gitignore && printf '*.pyo\\n' > .git/info/exclude",
		"mkdir -p pkg && printf '__pycache__/\\n*.py[co]\\n' > pkg/.gitignore",
		"printf '__pycache__/\\n*.py[co]\\n!x.pyc\\n' > .gitignore",
		/* git cannot re-include a file under an excluded directory (libgit2 can) */
		"printf '__pycache__/\\n*.py[co]\\n!m.cpython-311.pyc\\n' > .gitignore",
	};
	for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
		tu_sh("rm -f .gitignore pkg/.gitignore .git/info/exclude; %s", setups[i]);
		pyc_git *g = tu_git_open_cwd();
		pyc_ignore_report r;
		pyc_error err = { 0 };
		assert_int_equal(pyc_ignore_probe(g, &r, &err), 0);
		expect_probes_match_git(&r);
		pyc_ignore_report_dispose(&r);
		pyc_git_free(g);
	}
}

static void test_probe_restores_search_paths(void **state)
{
	(void)state;
	pyc_git *g = tu_git_open_cwd();
	git_buf before = { 0 }, after = { 0 };
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	                                  &before), 0);
	pyc_ignore_report r;
	assert_int_equal(pyc_ignore_probe(g, &r, NULL), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	                                  &after), 0);
	assert_string_equal(before.ptr, after.ptr);
	int owner = 0;
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_OWNER_VALIDATION, &owner), 0);
	assert_int_equal(owner, 1);
	git_buf_dispose(&before);
	git_buf_dispose(&after);
	pyc_ignore_report_dispose(&r);
	pyc_git_free(g);
}

static void test_negation_scan(void **state)
{
	(void)state;
	/* Rules inside an ignored directory and in a nested repository never apply in git. */
	tu_sh("printf 'build/\\n\\xef\\xbb\\xbf\\n!keep.pyc\\r\\n!*.py\\n' > .gitignore && "
	   "mkdir -p build sub/deep nested && printf '!*.pyc\\n' > build/.gitignore && "
	   "printf '# x\\n!__pycache__/\\n\\\\!literal.pyc\\n' > sub/deep/.gitignore && "
	   "git init -q nested && printf '!*.pyo\\n' > nested/.gitignore && "
	   "printf '!*.py[co]\\n' >> .git/info/exclude");
	assert_true(git_ignores("build/x.pyc"));  /* git never reads build/.gitignore */
	pyc_git *g = tu_git_open_cwd();
	pyc_ignore_report r;
	assert_int_equal(pyc_ignore_probe(g, &r, NULL), 0);
	assert_int_equal(r.n_negations, 3);
	assert_string_equal(r.negations[0].file, ".gitignore");
	assert_int_equal(r.negations[0].line, 3);
	assert_string_equal(r.negations[0].rule, "!keep.pyc");
	assert_string_equal(r.negations[1].file, "sub/deep/.gitignore");
	assert_int_equal(r.negations[1].line, 2);
	assert_string_equal(r.negations[2].file, ".git/info/exclude");
	assert_string_equal(r.negations[2].rule, "!*.py[co]");
	for (size_t i = 0; i < r.n_negations; i++)
		assert_false(r.negations[i].overridden);
	pyc_ignore_report_dispose(&r);
	pyc_git_free(g);
}

static void test_patch_dry_run_and_idempotent(void **state)
{
	(void)state;
	tu_write_str(".", ".gitignore", "*.pyc\n!keep.pyc\n");
	pyc_git *g = tu_git_open_cwd();
	pyc_ignore_result res;
	pyc_ignore_opts o = { .dry_run = true };
	assert_int_equal(pyc_ignore_patch(g, &o, &res, NULL), 0);
	assert_int_equal(res.n_added, 2);
	assert_false(res.wrote);
	assert_true(res.before.n_negations == 1 && res.before.negations[0].overridden);
	pyc_ignore_result_dispose(&res);
	assert_false(git_ignores("keep.pyc"));

	o.dry_run = false;
	assert_int_equal(pyc_ignore_patch(g, &o, &res, NULL), 0);
	assert_true(res.wrote);
	assert_int_equal(res.after.n_not_ignored, 0);
	assert_true(git_ignores("keep.pyc"));  /* the later rule wins in git too */
	pyc_ignore_result_dispose(&res);

	assert_int_equal(pyc_ignore_patch(g, &o, &res, NULL), 0);
	assert_int_equal(res.n_added, 0);
	assert_false(res.wrote);
	/* a fresh scan sees the negation as overridden by the later rule in the same file */
	assert_true(res.before.n_negations == 1 && res.before.negations[0].overridden);
	pyc_ignore_result_dispose(&res);
	pyc_git_free(g);
}

static void test_untrack_rereads_index(void **state)
{
	(void)state;
	pyc_git *g = tu_git_open_cwd();
	git_index *ix = NULL;
	assert_int_equal(pyc_git__index(g, &ix, NULL), 0);  /* loaded before git changes it */
	tu_sh("echo new > late.txt && git add late.txt");
	pyc_untrack_result r;
	pyc_error err = { 0 };
	assert_int_equal(pyc_untrack_bytecode(g, NULL, &r, &err), 0);
	assert_int_equal(r.n_paths, 2);
	assert_string_equal(r.paths[0], "pkg/__pycache__/m.cpython-311.pyc");
	assert_string_equal(r.paths[1], "x.pyc");
	assert_true(r.wrote);
	pyc_untrack_result_dispose(&r);
	pyc_git_free(g);
	/* git's view: the late `git add` survived, bytecode is gone, .pyd is kept */
	assert_int_equal(sh_rc("test \"$(git ls-files | tr '\\n' ' ')\" = "
	                       "'a.py ext.pyd late.txt '"), 0);
	assert_int_equal(sh_rc("test -f x.pyc && test -f pkg/__pycache__/m.cpython-311.pyc"), 0);
}

static void test_untrack_locked(void **state)
{
	(void)state;
	tu_sh("cp .git/index ../index.before && touch .git/index.lock");
	pyc_git *g = tu_git_open_cwd();
	pyc_untrack_result r;
	pyc_error err = { 0 };
	assert_int_equal(pyc_untrack_bytecode(g, NULL, &r, &err), PYC_ELOCKED);
	assert_non_null(strstr(err.message, "index is locked by another process"));
	assert_non_null(strstr(err.message, "/.git/index.lock'"));
	assert_int_equal(sh_rc("cmp -s .git/index ../index.before"), 0);
	pyc_untrack_result_dispose(&r);
	pyc_git_free(g);
}

static void test_split_index_message(void **state)
{
	(void)state;
	tu_sh("git update-index --split-index");
	pyc_git *g = tu_git_open_cwd();
	pyc_untrack_result r;
	pyc_error err = { 0 };
	assert_int_equal(pyc_untrack_bytecode(g, NULL, &r, &err), PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "git update-index --no-split-index"));
	pyc_untrack_result_dispose(&r);
	/* ignore rules do not need the index */
	pyc_ignore_report rep;
	assert_int_equal(pyc_ignore_probe(g, &rep, &err), 0);
	pyc_ignore_report_dispose(&rep);
	pyc_git_free(g);
}

static void test_sparse_index_message(void **state)
{
	(void)state;
	tu_sh("mkdir -p keep other && touch keep/a other/b && git add . && git commit -qm two && "
	   "git sparse-checkout set --cone --sparse-index keep 2>/dev/null");
	if (sh_rc("git ls-files --sparse | grep -q '^other/$'") != 0)
		tu_skip("this git did not collapse a directory: no 'sdir' to test");
	pyc_git *g = tu_git_open_cwd();
	pyc_untrack_result r;
	pyc_error err = { 0 };
	assert_int_equal(pyc_untrack_bytecode(g, NULL, &r, &err), PYC_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "git sparse-checkout disable"));
	assert_non_null(strstr(err.message, "index.sparse false"));
	pyc_untrack_result_dispose(&r);
	pyc_git_free(g);
}

/*
 * libgit2 1.5 loops forever on a rule that is empty where its scan stops at a vertical tab
 * or form feed (an Emacs page break "^L" on a line of its own is one). The probe must
 * refuse such a file with a message naming it, not hang: run it in a child with a time
 * limit. Found by tests/fuzz/fuzz_gitignore.
 */
static int probe_in_child(pyc_error *err)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		pyc_git *g = tu_git_open_cwd();
		pyc_ignore_report r;
		int rc = pyc_ignore_probe(g, &r, err);
		if (write(pipefd[1], err, sizeof(*err)) != (ssize_t)sizeof(*err))
			_exit(99);
		_exit(-rc);
	}
	close(pipefd[1]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("the probe was killed by signal %d (hung in libgit2?)", WTERMSIG(st));
	assert_int_equal(read(pipefd[0], err, sizeof(*err)), (ssize_t)sizeof(*err));
	close(pipefd[0]);
	return -WEXITSTATUS(st);
}

static void test_rules_that_hang_libgit2(void **state)
{
	(void)state;
	static const struct { const char *rel, *text; size_t line; } cases[] = {
		{ ".gitignore", "build/\n\f\n*.log\n", 2 },
		{ ".gitignore", "\xef\xbb\xbf!\v\n", 1 },
		{ ".git/info/exclude", "x\n \t\vy\n", 2 },
		{ ".gitignore", "!/\f\n", 1 },
		{ "pkg/.gitignore", "a\n\n\r\r\f\n", 3 },
	};
	for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		tu_sh("rm -f .gitignore pkg/.gitignore .git/info/exclude");
		pyc_error err = { 0 };
		if (i == sizeof(cases) / sizeof(cases[0])) {
			/* Escaped, after a rule's text ("/" is one), in a comment or after CRs at
			 * the very start (libgit2 skips CRs only after a newline), nothing stalls. */
			tu_write_str(".", ".gitignore", "\r\r\v\n\\\v\na\v\n\n#\f\n//\v\n \t/\f\n");
			if (probe_in_child(&err) != 0)
				fail_msg("%s", err.message);
			break;
		}
		tu_write_str(".", cases[i].rel, cases[i].text);
		assert_int_equal(probe_in_child(&err), PYC_EUNSUPPORTED);
		char want[128];
		snprintf(want, sizeof(want), "'%s' line %zu: ", cases[i].rel, cases[i].line);
		if (strncmp(err.message, want, strlen(want)) != 0)
			fail_msg("message '%s' does not start with \"%s\"", err.message, want);
	}
}

/*
 * libgit2 1.5 reads through a NULL pointer on a negation of only a slash once an earlier
 * rule matched the path; the probe must refuse the file first. Found by
 * tests/fuzz/fuzz_gitignore.
 */
static void test_rules_that_crash_libgit2(void **state)
{
	(void)state;
	static const struct { const char *rel, *text; size_t line; } cases[] = {
		{ ".gitignore", "*\n!//\n", 2 },
		{ ".gitignore", "*.pyc\n!\\/ \n", 2 },
		{ ".git/info/exclude", "**\n!/\\/\r\n", 2 },
		{ "pkg/.gitignore", "*/\n!//\t\n", 2 },
		{ ".gitignore", "*o\n!//\v", 2 },
	};
	for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		tu_sh("rm -f .gitignore pkg/.gitignore .git/info/exclude");
		pyc_error err = { 0 };
		if (i == sizeof(cases) / sizeof(cases[0])) {
			/* Longer patterns, an escaped blank, no '!': read, and nothing crashes. */
			tu_write_str(".", ".gitignore", "*\n!///\n!/\n!//a\n//\n!//\\ \n");
			if (probe_in_child(&err) != 0)
				fail_msg("%s", err.message);
			break;
		}
		tu_write_str(".", cases[i].rel, cases[i].text);
		assert_int_equal(probe_in_child(&err), PYC_EUNSUPPORTED);
		char want[128];
		snprintf(want, sizeof(want), "'%s' line %zu: a negation", cases[i].rel, cases[i].line);
		if (strncmp(err.message, want, strlen(want)) != 0)
			fail_msg("message '%s' does not start with \"%s\"", err.message, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_agrees_with_git, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_that_crash_libgit2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_restores_search_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negation_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_dry_run_and_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrack_rereads_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrack_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_index_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sparse_index_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_that_hang_libgit2, setup, teardown),
	};
	return tu_run_tests("gitignore", tests);
}
