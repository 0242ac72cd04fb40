/*
 * main.c - global options and dispatch to the subcommands (cmd_<name>.c).
 *
 *   pyc-tool [-C DIR] COMMAND [ARGS...]
 *   pyc-tool -h | --help | -V | --version | help COMMAND
 */
#include "cli.h"
#include "suggest.h"

#include "pyc/pyc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli_cmd {
	const char *name;
	cli_cmd_fn fn;
	const char *summary;
};

static const struct cli_cmd cli_cmds[] = {
	{ "status",  cmd_status,  "list stale, orphaned, corrupt and missing bytecode caches" },
	{ "inspect", cmd_inspect, "decode .pyc headers and judge them against their sources" },
	{ "compile", cmd_compile, "compile sources to bytecode (a compileall workalike)" },
	{ "clean",   cmd_clean,   "remove bytecode caches precisely and safely" },
	{ "ignore",  cmd_ignore,  "make git ignore bytecode; --untrack drops it from the index" },
	{ "check",   cmd_check,   "fail when bytecode is staged, tracked or not ignored (git gate)" },
	{ "hook",    cmd_hook,    "install or uninstall the pre-commit hook" },
	{ "importtime", cmd_importtime, "import time with and without caches, module by module" },
	{ "cache",   cmd_cache,   "statistics, pruning and clearing of the compile cache" },
};
#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void print_usage(FILE *f)
{
	fputs("usage: pyc-tool [-C DIR] COMMAND [ARGS...]\n"
	      "       pyc-tool -h | --help | -V | --version | help COMMAND\n\ncommands:\n", f);
	for (size_t i = 0; i < CLI_NCMDS; i++)
		fprintf(f, "  %-10s  %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	fputs("\nRun 'pyc-tool COMMAND --help' for a command's options, 'man pyc-tool-COMMAND'\n"
	      "for its manual.\n"
	      "Exit status: 0 ok, 1 findings (stale caches, staged bytecode, compile errors),\n"
	      "2 usage error, 3 a path is missing or unreadable, or another runtime error.\n"
	      "See 'man pyc-tool'.\n", f);
}

static const struct cli_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < CLI_NCMDS; i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	return NULL;
}

/* "; did you mean 'status'?" for a mistyped command ("help" included). */
static const char *cmd_hint(const char *typed)
{
	const char *names[CLI_NCMDS + 1];
	for (size_t i = 0; i < CLI_NCMDS; i++)
		names[i] = cli_cmds[i].name;
	names[CLI_NCMDS] = "help";
	return cli_suggest(typed, names, CLI_NCMDS + 1, "");
}

int main(int argc, char **argv)
{
	cli_ctx ctx = { .progname = "pyc-tool" };
	/* As CPython does: a write past RLIMIT_FSIZE must fail with EFBIG, so the writer can
	 * remove its temporary file and keep the old .pyc, instead of killing the process. */
	signal(SIGXFSZ, SIG_IGN);
	ctx.stdout_tty = isatty(STDOUT_FILENO);
	ctx.stderr_tty = isatty(STDERR_FILENO);
	cli_color_set(&ctx, CLI_COLOR_AUTO);

	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (strcmp(a, "-C") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(NULL, "option '-C' needs a directory");
			if (chdir(argv[i + 1]) != 0) {
				cli_error("cannot change to '%s': %s", argv[i + 1], strerror(errno));
				return CLI_EXIT_RUNTIME;
			}
			i += 2;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_usage(stdout);
			return cli_finish_stdout(CLI_EXIT_OK);
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("pyc-tool %s\n", pyc_version());
			return cli_finish_stdout(CLI_EXIT_OK);
		} else {
			static const char *const global[] = { "help", "version" };
			return cli_usage_error(NULL, "unknown option '%s'%s", a,
			                       cli_suggest(a[1] == '-' ? a + 2 : "", global, 2, "--"));
		}
	}
	if (i >= argc) {
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}

	const char *name = argv[i];
	if (strcmp(name, "help") == 0) {
		if (i + 1 >= argc) {
			print_usage(stdout);
			return cli_finish_stdout(CLI_EXIT_OK);
		}
		const struct cli_cmd *c = find_cmd(argv[i + 1]);
		if (!c)
			return cli_usage_error(NULL, "unknown command '%s'%s", argv[i + 1],
			                       cmd_hint(argv[i + 1]));
		char *help_argv[] = { argv[i + 1], "--help", NULL };
		cli_set_command(c->name);
		return c->fn(2, help_argv, &ctx);
	}
	const struct cli_cmd *c = find_cmd(name);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'%s", name, cmd_hint(name));
	cli_set_command(c->name);
	/* getopt_long state is global: each command parses its own argv from index 1. */
	return c->fn(argc - i, argv + i, &ctx);
}
