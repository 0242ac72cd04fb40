/*
 * pyc-tool check - the read-only gate for pre-commit hooks and CI (docs/git-hooks.md).
 *
 *   pyc-tool check [--staged | --index | --ignore-rule | FILE...] [--json] [-q]
 *
 * --staged is the default everywhere (inside a hook and out), so the hook needs no
 * detection. Findings go to stdout (git sends a hook's stdout to stderr itself); --json
 * writes one object per finding per line instead. Exit 1 findings, 0 clean, 2 usage,
 * 3 runtime. Nothing is ever changed.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/buf.h"
#include "pyc/check.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Beyond this many paths the fix is `pyc-tool ignore --untrack`, not a long git rm. */
#define FIX_MAX_PATHS 20

enum check_mode { CHECK_STAGED, CHECK_INDEX, CHECK_IGNORE_RULE, CHECK_FILES };

struct check_opts {
	enum check_mode mode;
	int nmodes;            /* mode flags given: more than one is a usage error */
	bool json;
	bool quiet;
	char **files;
	size_t nfiles;
};

static void print_usage(FILE *f)
{
	fputs("usage: pyc-tool check [--staged | --index | --ignore-rule | FILE...] [--json] [-q]\n"
	      "\n"
	      "Fail (exit 1) when bytecode (.pyc, .pyo, anything under __pycache__) would reach\n"
	      "git. Changes nothing.\n"
	      "\n"
	      "  --staged       the changes staged for commit add or modify bytecode (default;\n"
	      "                 inside a hook it sees the index git is about to commit)\n"
	      "  --index        any tracked file is bytecode (CI on the whole repository)\n"
	      "  --ignore-rule  git does not ignore bytecode caches\n"
	      "  FILE...        a named file is bytecode or lies in __pycache__ (pre-commit's\n"
	      "                 pass_filenames; judged by name, no repository needed)\n"
	      "  --json         one JSON object per finding and line on stdout\n"
	      "  -q, --quiet    print nothing; the exit status is the answer\n"
	      CLI_COMMON_HELP
	      "\n"
	      "Exit status: 0 clean, 1 findings, 2 usage error, 3 runtime error.\n"
	      "See 'man pyc-tool-check'.\n", f);
}

static int parse(int argc, char **argv, struct check_opts *o, cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "staged", no_argument, NULL, 's' },
		{ "index", no_argument, NULL, 'i' },
		{ "ignore-rule", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;  /* full reset: commands may run more than once in one process (tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:qh" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int rc = cli_common_option(ctx, "check", c, argv, longopts);
		if (rc == CLI_EXIT_OK)
			return -1;   /* --version was printed */
		if (rc != CLI_NOT_COMMON) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (c) {
		case 's': o->mode = CHECK_STAGED; o->nmodes++; break;
		case 'i': o->mode = CHECK_INDEX; o->nmodes++; break;
		case 'r': o->mode = CHECK_IGNORE_RULE; o->nmodes++; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'h': return 1;
		}
	}
	o->files = argv + optind;
	o->nfiles = (size_t)(argc - optind);
	if (o->nfiles > 0) {
		if (o->nmodes > 0)
			return cli_usage_error("check", "FILE arguments cannot be combined with "
			                       "--staged, --index or --ignore-rule");
		o->mode = CHECK_FILES;
	}
	if (o->nmodes > 1)
		return cli_usage_error("check", "use only one of --staged, --index, --ignore-rule");
	if (o->json && o->quiet)
		return cli_usage_error("check", "--json and --quiet cannot be combined");
	return 0;
}

static void put_shell_word(FILE *f, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789_./@%+=:,-";
	if (s[0] && strspn(s, safe) == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* Where the user stands inside the work tree, as "sub/dir/" ("" at the top), so the fix
 * command can name repository paths from there: GIT_PREFIX inside a hook (git runs hooks
 * from the top), else the cwd. NULL when the cwd is outside the work tree. */
static char *user_prefix(const char *workdir)
{
	const char *gp = getenv("GIT_PREFIX");
	if (gp && getenv("GIT_INDEX_FILE"))
		return strdup(gp);
	char *cwd = realpath(".", NULL), *top = realpath(workdir, NULL), *rel = NULL;
	if (cwd && top) {
		size_t n = strlen(top);
		pyc_buf b = PYC_BUF_INIT;
		if (strcmp(cwd, top) == 0)
			rel = strdup("");
		else if (strncmp(cwd, top, n) == 0 && cwd[n] == '/' &&
		         pyc_buf_printf(&b, "%s/", cwd + n + 1) == 0)
			rel = pyc_buf_detach(&b);
		pyc_buf_dispose(&b);
	}
	free(cwd);
	free(top);
	return rel;
}

/* `git rm --cached -- PATH...`, written so it works from where the user stands. */
static void print_git_rm(FILE *f, const pyc_check_list *l, const char *workdir, bool repo_paths)
{
	char *prefix = repo_paths ? user_prefix(workdir) : NULL;
	fputs("  git ", f);
	if (repo_paths && !prefix) {
		fputs("-C ", f);
		put_shell_word(f, workdir);
		fputc(' ', f);
	}
	fputs("rm --cached --", f);
	pyc_buf up = PYC_BUF_INIT;
	for (const char *s = prefix ? prefix : ""; *s; s++)
		if (*s == '/')
			(void)pyc_buf_puts(&up, "../");
	for (size_t i = 0; i < l->count; i++) {
		pyc_buf p = PYC_BUF_INIT;
		fputc(' ', f);
		if (pyc_buf_puts(&p, pyc_buf_cstr(&up)) == 0 && pyc_buf_puts(&p, l->items[i].path) == 0)
			put_shell_word(f, pyc_buf_cstr(&p));
		pyc_buf_dispose(&p);
	}
	fputc('\n', f);
	pyc_buf_dispose(&up);
	free(prefix);
}

static const char *const what_found[] = {
	[CHECK_STAGED] = "staged for commit",
	[CHECK_INDEX] = "tracked",
	[CHECK_IGNORE_RULE] = "not ignored by git",
	[CHECK_FILES] = "named",
};

/* ignored: the repository's own rules already cover bytecode (forced in with `git add -f`),
 * so `pyc-tool ignore` would have nothing to do and is not advised. */
static void print_findings(const struct check_opts *o, const pyc_check_list *l,
                           const char *workdir, bool ignored)
{
	FILE *f = stdout;
	fprintf(f, "pyc-tool check: %zu bytecode path%s %s:\n", l->count, l->count == 1 ? "" : "s",
	        what_found[o->mode]);
	for (size_t i = 0; i < l->count; i++) {
		fprintf(f, "  %-11s ", pyc_check_kind_name(l->items[i].kind));
		out_human_path(f, l->items[i].path);
		if (l->items[i].old_path) {
			fputs(" (from ", f);
			out_human_path(f, l->items[i].old_path);
			fputc(')', f);
		}
		fputc('\n', f);
	}
	if (o->mode == CHECK_IGNORE_RULE) {
		fputs("Make git ignore bytecode:\n  pyc-tool ignore\n", f);
	} else if (o->mode == CHECK_INDEX || l->count > FIX_MAX_PATHS) {
		fprintf(f, "Untrack all bytecode (the files stay on disk)%s:\n"
		        "  pyc-tool ignore --untrack\n", ignored ? "" : " and make git ignore it");
	} else {
		fputs("Take them out of the index (the files stay on disk):\n", f);
		print_git_rm(f, l, workdir, o->mode != CHECK_FILES);
		if (!ignored)
			fputs("and make git ignore bytecode from now on:\n  pyc-tool ignore\n", f);
	}
}

static const char *const mode_name[] = {
	[CHECK_STAGED] = "staged",
	[CHECK_INDEX] = "index",
	[CHECK_IGNORE_RULE] = "ignore-rule",
	[CHECK_FILES] = "files",
};

/* A negation rule that mentions bytecode: libgit2's matcher and git's can disagree on
 * these (git.md §2), so the user should look even when every probe is ignored. */
static void print_negations(const struct check_opts *o, const pyc_ignore_report *r)
{
	for (size_t i = 0; i < r->n_negations; i++) {
		const pyc_ignore_negation *n = &r->negations[i];
		if (n->overridden)
			continue;
		if (o->json) {
			fputs("{\"type\":\"negation\",\"file\":", stdout);
			out_json_cstr(stdout, n->file);
			printf(",\"line\":%zu,\"rule\":", n->line);
			out_json_cstr(stdout, n->rule);
			fputs(",\"overridden\":false}\n", stdout);   /* as ignore's records say */
		} else if (!o->quiet) {
			out_human_path(cli_diag_begin("warning"), n->file);
			fprintf(stderr, ":%zu: '", n->line);
			out_human_path(stderr, n->rule);
			fputs("' un-ignores bytecode\n", stderr);
		}
	}
}

/* JSON Lines (docs/cli.md): one "bytecode" record per finding, then the summary. */
static void print_json(const struct check_opts *o, const pyc_check_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		fputs("{\"type\":\"bytecode\",\"path\":", stdout);
		out_json_cstr(stdout, l->items[i].path);
		fputs(",\"kind\":", stdout);
		out_json_cstr(stdout, pyc_check_kind_name(l->items[i].kind));
		fputs(",\"old_path\":", stdout);
		out_json_cstr(stdout, l->items[i].old_path);
		fputs("}\n", stdout);
	}
	printf("{\"type\":\"summary\",\"mode\":\"%s\",\"findings\":%zu,\"clean\":%s}\n",
	       mode_name[o->mode], l->count, l->count ? "false" : "true");
}

static const char *const clean_msg[] = {
	[CHECK_STAGED] = "no bytecode staged for commit",
	[CHECK_INDEX] = "no tracked bytecode",
	[CHECK_IGNORE_RULE] = "git ignores bytecode caches",
	[CHECK_FILES] = "no bytecode among the named files",
};

/* What one run found; the ignore report is filled by --ignore-rule only. */
struct check_result {
	pyc_check_list list;
	pyc_ignore_report ignore;
	bool ignored;          /* the rules already ignore bytecode (advice only) */
};

static int render(const struct check_opts *o, const struct check_result *res,
                  const char *workdir)
{
	const pyc_check_list *l = &res->list;
	print_negations(o, &res->ignore);
	if (o->json)
		print_json(o, l);
	else if (o->quiet)
		;
	else if (l->count > 0)
		print_findings(o, l, workdir, res->ignored);
	else if (!getenv("GIT_INDEX_FILE"))  /* a passing hook stays silent */
		printf("pyc-tool check: %s\n", clean_msg[o->mode]);
	return cli_finish_stdout(l->count > 0 ? CLI_EXIT_FINDINGS : CLI_EXIT_OK);
}

static int run_check(const struct check_opts *o, pyc_git **g, struct check_result *res,
                     pyc_error *err)
{
	if (o->mode == CHECK_FILES)
		return pyc_check_files((const char *const *)o->files, o->nfiles, &res->list, err);
	int rc = pyc_git_open(g, NULL, err);
	if (rc < 0)
		return rc;
	switch (o->mode) {
	case CHECK_STAGED: return pyc_check_staged(*g, &res->list, err);
	case CHECK_INDEX: return pyc_check_index(*g, &res->list, err);
	case CHECK_IGNORE_RULE: return pyc_check_ignore_rule(*g, &res->list, &res->ignore, err);
	case CHECK_FILES: break;
	}
	return 0;
}

/* Whether the repository's own rules already ignore bytecode; asked only to word the
 * advice under findings. FILE mode needs no repository and opens one here if it can;
 * any failure means "not known to be ignored", which keeps the full advice. */
static bool already_ignored(const struct check_opts *o, pyc_git **g)
{
	if (o->json || o->quiet || o->mode == CHECK_IGNORE_RULE)
		return false;
	if (!*g && pyc_git_open(g, NULL, NULL) < 0)
		return false;
	pyc_ignore_report r = { 0 };
	bool yes = pyc_ignore_probe(*g, &r, NULL) == 0 && r.n_not_ignored == 0;
	pyc_ignore_report_dispose(&r);
	return yes;
}

int cmd_check(int argc, char **argv, cli_ctx *ctx)
{
	struct check_opts o = { .mode = CHECK_STAGED };
	int rc = parse(argc, argv, &o, ctx);
	if (rc == -1)
		return CLI_EXIT_OK;   /* --version was printed */
	if (rc == 1) {
		print_usage(stdout);
		return cli_finish_stdout(CLI_EXIT_OK);
	}
	if (rc != 0)
		return rc;

	pyc_error err = { 0 };
	struct check_result res = { .list = PYC_CHECK_LIST_INIT };
	pyc_git *g = NULL;
	if (run_check(&o, &g, &res, &err) < 0) {
		cli_error("%s", err.message);
		rc = CLI_EXIT_RUNTIME;
	} else {
		res.ignored = res.list.count > 0 && already_ignored(&o, &g);
		rc = render(&o, &res, g ? pyc_git_workdir(g) : NULL);
	}
	pyc_ignore_report_dispose(&res.ignore);
	pyc_check_list_dispose(&res.list);
	pyc_git_free(g);
	return rc;
}
