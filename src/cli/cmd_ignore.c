/*
 * cmd_ignore.c - `pyc-tool ignore`: make git ignore Python bytecode, and with --untrack
 * stop tracking the bytecode already committed (docs/git.md).
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/git.h"
#include "pyc/ignore.h"
#include "pyc/untrack.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct ignore_opts {
	bool exclude_file, check, dry_run, untrack, json, quiet;
};

static void print_usage(FILE *f)
{
	fputs("usage: pyc-tool ignore [--exclude-file] [--check | -n] [--untrack] [--json] [-q]\n"
	      "\n"
	      "Make git ignore Python bytecode: append '__pycache__/' and '*.py[co]' to the\n"
	      "root .gitignore when the repository's rules do not already ignore it.\n"
	      "\n"
	      "  --exclude-file  write <git-common-dir>/info/exclude instead (not committed)\n"
	      "  --check         change nothing; exit 1 when bytecode is not ignored\n"
	      "                  (with --untrack: or when bytecode is tracked)\n"
	      "  -n, --dry-run   show what would be added or untracked, change nothing\n"
	      "  --untrack       also remove tracked bytecode from the index, like\n"
	      "                  'git rm -r --cached' (files stay on disk; .pyd is kept)\n"
	      "  --json          JSON Lines records and a summary (man pyc-tool-ignore)\n"
	      "  -q, --quiet     print errors only\n"
	      CLI_COMMON_HELP
	      "\n"
	      "Exit status: 0 done or nothing to do, 1 --check found a problem, 2 usage,\n"
	      "3 runtime error (not a repository, bare, locked index, unwritable file).\n", f);
}

/* Returns -1 to go on, or the exit code. */
static int parse(int argc, char **argv, struct ignore_opts *o, cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "exclude-file", no_argument, NULL, 'e' }, { "check", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },      { "untrack", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },         { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },         CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	optind = 0;  /* GNU getopt: start over, main() may have parsed before */
	opterr = 0;
	const char *shortopts = "+:nqh" CLI_COMMON_SHORTOPTS;
	for (int c; (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1;) {
		int rc = cli_common_option(ctx, "ignore", c, argv, longopts);
		if (rc != CLI_NOT_COMMON) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (c) {
		case 'e': o->exclude_file = true; break;
		case 'c': o->check = true; break;
		case 'n': o->dry_run = true; break;
		case 'u': o->untrack = true; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'h': print_usage(stdout); return cli_finish_stdout(CLI_EXIT_OK);
		}
	}
	if (optind < argc)
		return cli_usage_error("ignore", "unexpected argument '%s'", argv[optind]);
	if (o->check && o->dry_run)
		return cli_usage_error("ignore", "--check and --dry-run cannot be combined");
	return -1;
}

static void json_probes(const pyc_ignore_report *r)
{
	const char *const *p = pyc_ignore_probe_paths();
	for (; *p; p++) {
		bool ignored = true;
		for (size_t i = 0; i < r->n_not_ignored; i++)
			ignored = ignored && strcmp(r->not_ignored[i], *p) != 0;
		fputs("{\"type\":\"probe\",\"path\":", stdout);
		out_json_cstr(stdout, *p);
		printf(",\"ignored\":%s}\n", ignored ? "true" : "false");
	}
}

/* Negations as JSON records or warnings naming file:line. */
static void report_negations(const pyc_ignore_report *r, const struct ignore_opts *o)
{
	for (size_t i = 0; i < r->n_negations; i++) {
		const pyc_ignore_negation *n = &r->negations[i];
		if (o->json) {
			fputs("{\"type\":\"negation\",\"file\":", stdout);
			out_json_cstr(stdout, n->file);
			printf(",\"line\":%zu,\"rule\":", n->line);
			out_json_cstr(stdout, n->rule);
			printf(",\"overridden\":%s}\n", n->overridden ? "true" : "false");
		} else if (!o->quiet) {
			/* Names as out.h shows them, so an odd file name cannot forge a line. */
			out_human_path(cli_diag_begin("warning"), n->file);
			fprintf(stderr, ":%zu: negation '", n->line);
			out_human_path(stderr, n->rule);
			fputs(n->overridden ? "' is overridden: the bytecode rules come later or "
			                      "take precedence\n"
			                    : "' keeps matching bytecode un-ignored\n", stderr);
		}
	}
}

/* The one summary of every mode (docs/git.md): tracked is what stays in the index, or
 * -1 (null) when --untrack did not look. */
static void json_summary(size_t untracked, bool dry_run, bool ignored, long tracked)
{
	printf("{\"type\":\"summary\",\"untracked\":%zu,\"dry_run\":%s,\"ignored\":%s,"
	       "\"tracked\":", untracked, dry_run ? "true" : "false", ignored ? "true" : "false");
	if (tracked < 0)
		fputs("null", stdout);
	else
		printf("%ld", tracked);
	printf(",\"ok\":%s}\n", ignored && tracked <= 0 ? "true" : "false");
}

static void human_not_ignored(const pyc_ignore_report *r, const char *prefix)
{
	for (size_t i = 0; i < r->n_not_ignored; i++)
		printf("%s%s\n", prefix, r->not_ignored[i]);
}

static int lib_failed(const pyc_error *err)
{
	cli_error("%s", err->message);
	return CLI_EXIT_RUNTIME;
}

/* --check: probe (and list tracked bytecode with --untrack); exit 1 on a finding. */
static int run_check(pyc_git *g, const struct ignore_opts *o)
{
	pyc_error err = { 0 };
	pyc_ignore_report rep = { 0 };
	pyc_untrack_result tr = { 0 };
	pyc_untrack_opts uo = { .dry_run = true };
	if (pyc_ignore_probe(g, &rep, &err) != 0)
		return lib_failed(&err);
	if (o->untrack && pyc_untrack_bytecode(g, &uo, &tr, &err) != 0) {
		pyc_ignore_report_dispose(&rep);
		pyc_untrack_result_dispose(&tr);
		return lib_failed(&err);
	}
	if (o->json) {
		json_probes(&rep);
		for (size_t i = 0; i < tr.n_paths; i++) {
			fputs("{\"type\":\"tracked\",\"path\":", stdout);
			out_json_cstr(stdout, tr.paths[i]);
			fputs("}\n", stdout);
		}
	}
	report_negations(&rep, o);
	bool ok = rep.n_not_ignored == 0 && tr.n_paths == 0;
	if (o->json) {
		json_summary(0, true, rep.n_not_ignored == 0, o->untrack ? (long)tr.n_paths : -1);
	} else if (!o->quiet) {
		human_not_ignored(&rep, "not ignored: ");
		for (size_t i = 0; i < tr.n_paths; i++) {
			fputs("tracked: ", stdout);
			out_human_path(stdout, tr.paths[i]);
			fputc('\n', stdout);
		}
		if (rep.n_not_ignored)
			puts("git does not ignore Python bytecode here; run 'pyc-tool ignore'");
		if (tr.n_paths)
			puts("bytecode is tracked; run 'pyc-tool ignore --untrack'");
		if (ok)
			puts(o->untrack ? "ok: bytecode is ignored and none is tracked"
			                : "ok: git ignores Python bytecode here");
	}
	pyc_ignore_report_dispose(&rep);
	pyc_untrack_result_dispose(&tr);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FINDINGS;
}

static void human_patch(const pyc_ignore_result *r, const struct ignore_opts *o)
{
	if (r->n_added > 0) {
		fputs(o->dry_run ? "would add to " : "added to ", stdout);
		out_human_path(stdout, r->target_shown);
		printf("%s:\n", r->created ? (o->dry_run ? " (a new file)" : " (new file)") : "");
		printf("  %s\n", PYC_IGNORE_COMMENT);
		for (size_t i = 0; i < r->n_added; i++)
			printf("  %s\n", r->added[i]);
	} else if (r->before.n_not_ignored == 0) {
		puts("nothing to do: git already ignores Python bytecode here");
	} else {
		fputs("nothing to do: the rules are already in ", stdout);
		out_human_path(stdout, r->target_shown);
		fputs(", but a negation overrides them for:\n", stdout);
		human_not_ignored(&r->before, "  ");
	}
}

static void json_patch(const pyc_ignore_result *r, const pyc_ignore_report *final,
                       const struct ignore_opts *o)
{
	json_probes(final);
	report_negations(final, o);
	fputs("{\"type\":\"ignore\",\"target\":", stdout);
	out_json_cstr(stdout, r->target_shown);
	fputs(",\"added\":[", stdout);
	for (size_t i = 0; i < r->n_added; i++) {
		fputs(i ? "," : "", stdout);
		out_json_cstr(stdout, r->added[i]);
	}
	printf("],\"created\":%s,\"wrote\":%s,\"dry_run\":%s,\"ignored\":%s}\n",
	       r->created ? "true" : "false", r->wrote ? "true" : "false",
	       o->dry_run ? "true" : "false", final->n_not_ignored ? "false" : "true");
}

/* Append the rules (unless present); *wrote_gitignore tells the commit hint what to add,
 * *ignored the summary whether git ignores bytecode now. */
static int run_patch(pyc_git *g, const struct ignore_opts *o, bool *wrote_gitignore,
                     bool *ignored)
{
	pyc_error err = { 0 };
	pyc_ignore_result r = { 0 };
	pyc_ignore_opts po = { .exclude_file = o->exclude_file, .dry_run = o->dry_run };
	if (pyc_ignore_patch(g, &po, &r, &err) != 0) {
		pyc_ignore_result_dispose(&r);
		return lib_failed(&err);
	}
	const pyc_ignore_report *final = r.wrote ? &r.after : &r.before;
	*wrote_gitignore = r.wrote && !o->exclude_file;
	*ignored = final->n_not_ignored == 0;
	if (o->json) {
		json_patch(&r, final, o);
	} else {
		if (!o->quiet)
			human_patch(&r, o);
		report_negations(final, o);
		if (r.wrote && final->n_not_ignored > 0 && !o->quiet)
			for (size_t i = 0; i < final->n_not_ignored; i++)
				cli_warn("'%s' is still not ignored: a negation overrides the rules",
				         final->not_ignored[i]);
	}
	pyc_ignore_result_dispose(&r);
	return CLI_EXIT_OK;
}

static void untrack_hint(size_t n, bool dry_run, bool add_gitignore)
{
	if (dry_run) {
		printf("would untrack %zu bytecode file%s (they would stay on disk)\n", n,
		       n == 1 ? "" : "s");
		return;
	}
	printf("untracked %zu bytecode file%s; the files are still on disk. Commit with:\n"
	       "  %sgit commit -m \"Stop tracking Python bytecode\"\n", n, n == 1 ? "" : "s",
	       add_gitignore ? "git add .gitignore && " : "");
}

static void print_untrack(const pyc_untrack_result *r, const struct ignore_opts *o,
                          bool wrote_gitignore, bool ignored)
{
	for (size_t i = 0; i < r->n_paths; i++) {
		if (o->json) {
			fputs("{\"type\":\"untracked\",\"path\":", stdout);
			out_json_cstr(stdout, r->paths[i]);
			printf(",\"dry_run\":%s}\n", o->dry_run ? "true" : "false");
		} else if (!o->quiet) {
			fputs(o->dry_run ? "would untrack " : "untracked ", stdout);
			out_human_path(stdout, r->paths[i]);
			fputc('\n', stdout);
		}
	}
	if (o->json)
		json_summary(r->n_paths, o->dry_run, ignored, o->dry_run ? (long)r->n_paths : 0);
	else if (!o->quiet && r->n_paths == 0)
		puts("no tracked bytecode");
	else if (!o->quiet)
		untrack_hint(r->n_paths, o->dry_run, wrote_gitignore);
}

/* With --untrack, the index goes first: a locked index or a refused .gitignore then
 * leaves everything as it was (the dry run finds a refusal before anything changes). */
static int run_ignore(pyc_git *g, const struct ignore_opts *o)
{
	pyc_error err = { 0 };
	pyc_untrack_result ur = { 0 };
	pyc_untrack_opts uo = { .dry_run = o->dry_run };
	bool wrote_gitignore = false, ignored = false;
	int rc = CLI_EXIT_OK;
	if (o->untrack && !o->dry_run) {
		pyc_ignore_result pre = { 0 };
		pyc_ignore_opts po = { .exclude_file = o->exclude_file, .dry_run = true };
		int prc = pyc_ignore_patch(g, &po, &pre, &err);
		pyc_ignore_result_dispose(&pre);
		if (prc != 0)
			return lib_failed(&err);
	}
	if (o->untrack && pyc_untrack_bytecode(g, &uo, &ur, &err) != 0) {
		pyc_untrack_result_dispose(&ur);
		return lib_failed(&err);
	}
	rc = run_patch(g, o, &wrote_gitignore, &ignored);
	if (o->untrack)
		print_untrack(&ur, o, wrote_gitignore, ignored);
	else if (rc == CLI_EXIT_OK && o->json)
		json_summary(0, o->dry_run, ignored, -1);
	pyc_untrack_result_dispose(&ur);
	return rc;
}

int cmd_ignore(int argc, char **argv, cli_ctx *ctx)
{
	struct ignore_opts o;
	int rc = parse(argc, argv, &o, ctx);
	if (rc >= 0)
		return rc;
	pyc_error err = { 0 };
	pyc_git *g = NULL;
	if (pyc_git_open(&g, NULL, &err) != 0)
		return lib_failed(&err);
	rc = o.check ? run_check(g, &o) : run_ignore(g, &o);
	pyc_git_free(g);
	return cli_finish_stdout(rc);
}
