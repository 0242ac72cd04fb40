/* suggest.c: git's weighted edit cost, the choice of names, the "did you mean" text. */
#include "testutil.h"

#include "suggest.h"

#include <string.h>

static const char *const cmds[] = { "status", "inspect", "compile", "clean",
	                            "ignore", "check",  "hook",    "help" };
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void test_cost_weights(void **state)
{
	(void)state;
	assert_int_equal(cli_edit_cost("status", "status"), 0);
	assert_int_equal(cli_edit_cost("stauts", "status"), 0);  /* swap: free */
	assert_int_equal(cli_edit_cost("chek", "check"), 1);     /* one insertion */
	assert_int_equal(cli_edit_cost("checkk", "check"), 3);   /* one deletion */
	assert_int_equal(cli_edit_cost("chuck", "check"), 2);    /* one substitution */
	assert_int_equal(cli_edit_cost("", "hook"), 4);
	assert_int_equal(cli_edit_cost("hook", ""), 12);
	/* Two substitutions, or a deletion and an insertion: 4 either way. */
	assert_int_equal(cli_edit_cost("ab", "ba"), 0);
	assert_int_equal(cli_edit_cost("abc", "xbz"), 4);
}

static void test_cost_refuses_long_names(void **state)
{
	(void)state;
	char name[CLI_SUGGEST_MAX_NAME + 2];
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(cli_edit_cost("a", name), -1);
	name[CLI_SUGGEST_MAX_NAME] = '\0';
	assert_int_equal(cli_edit_cost("a", name), CLI_SUGGEST_MAX_NAME - 1);
}

static void test_similar_picks(void **state)
{
	(void)state;
	bool pick[NCMDS];
	assert_int_equal(cli_similar("stauts", cmds, NCMDS, pick), 1);
	assert_true(pick[0]);
	/* Prefixes first, all of them. */
	assert_int_equal(cli_similar("c", cmds, NCMDS, pick), 3);
	assert_true(pick[2] && pick[3] && pick[5]);
	assert_false(pick[0] || pick[7]);
	/* Too far from everything (cost + 1 must be below 7). */
	assert_int_equal(cli_similar("xyzzy", cmds, NCMDS, pick), 0);
	/* A prefix of every name says nothing. */
	assert_int_equal(cli_similar("", cmds, NCMDS, pick), 0);
	static const char *const two[] = { "prefix", "python" };
	assert_int_equal(cli_similar("p", two, 2, pick), 0);
}

static void test_suggest_text(void **state)
{
	(void)state;
	assert_string_equal(cli_suggest("stauts", cmds, NCMDS, ""), "; did you mean 'status'?");
	assert_string_equal(cli_suggest("c", cmds, NCMDS, ""),
	                    "; did you mean 'compile', 'clean' or 'check'?");
	assert_string_equal(cli_suggest("xyzzy", cmds, NCMDS, ""), "");
	static const char *const opts[] = { "tag", "python", "prefix", "all" };
	assert_string_equal(cli_suggest("p", opts, 4, "--"),
	                    "; did you mean '--python' or '--prefix'?");
}

static void test_suggest_option(void **state)
{
	(void)state;
	static const struct option longopts[] = {
		{ "tag", required_argument, NULL, 1 },
		{ "dry-run", no_argument, NULL, 2 },
		{ NULL, 0, NULL, 0 },
	};
	assert_string_equal(cli_suggest_option("--tga", longopts), "; did you mean '--tag'?");
	assert_string_equal(cli_suggest_option("--tga=cpython-312", longopts),
	                    "; did you mean '--tag'?");
	assert_string_equal(cli_suggest_option("--dryrun", longopts),
	                    "; did you mean '--dry-run'?");
	assert_string_equal(cli_suggest_option("-z", longopts), "");
	assert_string_equal(cli_suggest_option("--zzzzzzzzz", longopts), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cost_weights),
		cmocka_unit_test(test_cost_refuses_long_names),
		cmocka_unit_test(test_similar_picks),
		cmocka_unit_test(test_suggest_text),
		cmocka_unit_test(test_suggest_option),
	};
	return cmocka_run_group_tests_name("suggest", tests, NULL, NULL);
}
