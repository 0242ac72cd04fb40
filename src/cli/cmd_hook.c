/*
 * pyc-tool hook - install or remove the pre-commit hook (docs/git-hooks.md).
 *
 *   pyc-tool hook install [--chain | --force]
 *   pyc-tool hook uninstall
 *
 * The script runs the pyc-tool that installed it, by the absolute path of this binary
 * (/proc/self/exe), and falls back to `pyc-tool` on PATH when that file is gone, so a
 * rebuilt or reinstalled tool keeps working. Exit 0 done (or nothing to do), 2 usage,
 * 3 refused or failed (the message says why and which flag would proceed).
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/hook.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_usage(FILE *f)
{
	fputs("usage: pyc-tool hook install [--chain | --force]\n"
	      "       pyc-tool hook uninstall\n"
	      "\n"
	      "Install a git pre-commit hook that runs 'pyc-tool check --staged', in\n"
	      "core.hooksPath when the repository sets it, else in the (common) hooks directory.\n"
	      "A hook pyc-tool did not write is never replaced silently:\n"
	      "  --chain   move it aside (" PYC_HOOK_LEGACY_NAME ") and run it first\n"
	      "  --force   replace it; also install into a core.hooksPath shared by all\n"
	      "            repositories (set in the global or system configuration)\n"
	      "'uninstall' removes only pyc-tool's hook and puts a chained one back.\n"
	      "\n"
	      CLI_COMMON_HELP
	      "\n"
	      "Exit status: 0 done or nothing to do, 2 usage error, 3 refused or failed.\n"
	      "See 'man pyc-tool-hook'.\n", f);
}

/* This binary's absolute path, or NULL when /proc is unavailable (PATH is used then). */
static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static void report(const pyc_hook_result *r, const char *tool)
{
	const char *hp = r->from_hooks_path ? " (core.hooksPath)" : "";
	switch (r->action) {
	case PYC_HOOK_UNCHANGED: printf("pre-commit hook already installed%s: ", hp); break;
	case PYC_HOOK_INSTALLED: printf("installed pre-commit hook%s: ", hp); break;
	case PYC_HOOK_UPDATED: printf("updated pre-commit hook%s: ", hp); break;
	case PYC_HOOK_CHAINED: printf("installed pre-commit hook%s, chained: ", hp); break;
	case PYC_HOOK_REPLACED: printf("replaced the existing pre-commit hook%s: ", hp); break;
	case PYC_HOOK_REMOVED: printf("removed pre-commit hook%s: ", hp); break;
	case PYC_HOOK_RESTORED: printf("removed pyc-tool's hook and restored the chained one%s: ", hp); break;
	case PYC_HOOK_ABSENT: printf("no pyc-tool pre-commit hook installed%s: ", hp); break;
	}
	out_human_path(stdout, r->hook_path);
	fputc('\n', stdout);
	if (r->action == PYC_HOOK_CHAINED && r->legacy_path) {
		fputs("the previous hook was moved to ", stdout);
		out_human_path(stdout, r->legacy_path);
		fputs(" and runs first\n", stdout);
	}
	if (tool && (r->action == PYC_HOOK_INSTALLED || r->action == PYC_HOOK_UPDATED ||
	             r->action == PYC_HOOK_CHAINED || r->action == PYC_HOOK_REPLACED)) {
		fputs("it runs: ", stdout);
		out_human_path(stdout, tool);
		fputs(" check --staged\n", stdout);
	}
}

/* Returns 0 to go on, 1 for --help, -1 after --version, or an exit code. */
static int parse_install(int argc, char **argv, pyc_hook_mode *mode, cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "chain", no_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, n = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int rc = cli_common_option(ctx, "hook", c, argv, longopts);
		if (rc == CLI_EXIT_OK)
			return -1;
		if (rc != CLI_NOT_COMMON) {
			if (rc > 0)
				return rc;
			continue;
		}
		switch (c) {
		case 'c': *mode = PYC_HOOK_CHAIN; n++; break;
		case 'f': *mode = PYC_HOOK_FORCE; n++; break;
		case 'h': return 1;
		}
	}
	if (optind < argc)
		return cli_usage_error("hook", "unexpected argument '%s'", argv[optind]);
	if (n > 1)
		return cli_usage_error("hook", "use only one of --chain and --force");
	return 0;
}

int cmd_hook(int argc, char **argv, cli_ctx *ctx)
{
	if (argc < 2)
		return cli_usage_error("hook", "missing 'install' or 'uninstall'");
	const char *verb = argv[1];
	bool install = strcmp(verb, "install") == 0;
	/* Before the action only the options that need none: help and version. */
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-V") == 0 ||
	    strcmp(verb, "--version") == 0)
		install = true;
	else if (!install && strcmp(verb, "uninstall") != 0)
		return cli_usage_error("hook", "unknown action '%s'", verb);
	pyc_hook_opts opts = { .mode = PYC_HOOK_PLAIN };
	bool leading = verb[0] == '-';
	int rc = parse_install(argc - !leading, argv + !leading, &opts.mode, ctx);
	if (rc == 1) {
		print_usage(stdout);
		return cli_finish_stdout(CLI_EXIT_OK);
	}
	if (rc != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (!install && opts.mode != PYC_HOOK_PLAIN)
		return cli_usage_error("hook", "'uninstall' takes no options");

	pyc_error err = { 0 };
	pyc_hook_result res = { 0 };
	pyc_git *g = NULL;
	char *tool = install ? self_path() : NULL;
	opts.tool_path = tool;
	rc = pyc_git_open(&g, NULL, &err);
	if (rc == 0)
		rc = install ? pyc_hook_install(g, &opts, &res, &err)
		             : pyc_hook_uninstall(g, &res, &err);
	if (rc < 0) {
		cli_error("%s", err.message);
		rc = CLI_EXIT_RUNTIME;
	} else {
		report(&res, tool ? tool : "pyc-tool");
		rc = cli_finish_stdout(CLI_EXIT_OK);
	}
	pyc_hook_result_dispose(&res);
	pyc_git_free(g);
	free(tool);
	return rc;
}
