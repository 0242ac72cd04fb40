/*
 * cmd_clean.c - `pyc-tool clean`: remove bytecode caches precisely and safely.
 *
 * Parsing and rendering only; the engine is pyc_clean_run() (include/pyc/clean.h).
 * Output, JSON schema and exit codes: docs/clean.md.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"
#include "progress.h"

#include "pyc/cache_path.h"
#include "pyc/clean.h"
#include "pyc/interp.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char clean_usage[] =
	"usage: pyc-tool clean [options] [PATH...]\n"
	"\n"
	"Remove bytecode caches under each PATH (default '.'): every .pyc/.pyo in a\n"
	"__pycache__ directory, then each __pycache__ left empty.\n"
	"\n"
	"selection:\n"
	"  --stale             only caches that 'status' calls stale, orphan or corrupt\n"
	"  --orphans           only caches whose source is gone\n"
	"  --tag TAG           only caches with this tag, e.g. cpython-38 (repeatable)\n"
	"  --keep-tag TAG      never caches with this tag (repeatable)\n"
	"  --python EXE        never the caches of this interpreter (repeatable)\n"
	"  --legacy            also foo.pyc/foo.pyo beside their foo.py\n"
	"  --sourceless        also legacy foo.pyc with no foo.py (implies --legacy)\n"
	"  --prefix DIR        pycache prefix (default: $PYTHONPYCACHEPREFIX; '' for none):\n"
	"                      also clean the mirror DIR/abspath(PATH)\n"
	"walk:\n"
	"  --exclude GLOB      skip entries matching GLOB (repeatable)\n"
	"  --cross-mounts      enter other file systems\n"
	"  --no-default-excludes  also enter virtual environments (pyvenv.cfg), conda\n"
	"                      environments (conda-meta/), .tox, .nox and node_modules\n"
	"output:\n"
	"  -n, --dry-run       remove nothing; print 'would remove PATH' for each path\n"
	"  --json              one JSON object per removed path, then a summary\n"
	"  -v, --verbose       print 'removed PATH' for each path\n"
	"  -q, --quiet         no summary line and no notes about kept files\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 ok, 2 usage error, 3 a path is missing or unreadable, or something\n"
	"could not be removed. See 'man pyc-tool-clean'.\n";

enum {
	OPT_JSON = 256, OPT_STALE, OPT_ORPHANS, OPT_TAG, OPT_KEEP_TAG, OPT_PYTHON, OPT_LEGACY,
	OPT_SOURCELESS, OPT_PREFIX, OPT_CROSS, OPT_EXCLUDE, OPT_NO_DEFAULT_EXCL,
};

static const struct option clean_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "stale", no_argument, NULL, OPT_STALE },
	{ "orphans", no_argument, NULL, OPT_ORPHANS },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "keep-tag", required_argument, NULL, OPT_KEEP_TAG },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "legacy", no_argument, NULL, OPT_LEGACY },
	{ "sourceless", no_argument, NULL, OPT_SOURCELESS },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "cross-mounts", no_argument, NULL, OPT_CROSS },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "no-default-excludes", no_argument, NULL, OPT_NO_DEFAULT_EXCL },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* Everything the command line asked for. Lists are sized argc: an upper bound. */
struct clean_args {
	pyc_clean_opts o;
	const char **tags, **keep_tags, **excludes, **pythons;
	size_t ntags, nkeep_tags, nexcludes, npythons;
	uint16_t *keep_magics;
	const char *prefix;        /* --prefix as given; NULL when absent */
	bool stale, orphans, json, quiet, verbose, help, version;
	pyc_interp *interps;       /* probed --python interpreters */
	size_t ninterps;
};

struct clean_out {
	bool json, quiet, verbose, dry;
	cli_progress progress;     /* files removed so far: clean removes as it walks, so
	                              there is no total to show, only the count and the rate */
	uint64_t files, bytes;
};

static void progress_tick(struct clean_out *c, const pyc_clean_item *it)
{
	if (!c->progress.on || it->event != PYC_CLEAN_REMOVED)
		return;
	c->files += !it->is_dir;
	c->bytes += it->bytes;
	char freed[32];
	out_bytes_human(freed, sizeof(freed), c->bytes);
	cli_progress_update(&c->progress, c->files, 0, false, "files removed", freed);
}

static int parse_args(struct clean_args *a, int argc, char **argv, cli_ctx *ctx)
{
	int c;
	optind = 1;
	opterr = 0;
	const char *shortopts = ":nqvh" CLI_COMMON_SHORTOPTS;
	while ((c = getopt_long(argc, argv, shortopts, clean_longopts, NULL)) != -1) {
		int rc = cli_common_option(ctx, "clean", c, argv, clean_longopts);
		if (rc == -1)
			continue;
		if (rc != CLI_NOT_COMMON) {
			a->version = rc == CLI_EXIT_OK;
			return rc;
		}
		switch (c) {
		case 'n': a->o.dry_run = true; break;
		case 'q': a->quiet = true; break;
		case 'v': a->verbose = true; break;
		case 'h': a->help = true; break;
		case OPT_JSON: a->json = true; break;
		case OPT_STALE: a->stale = true; break;
		case OPT_ORPHANS: a->orphans = true; break;
		case OPT_TAG: a->tags[a->ntags++] = optarg; break;
		case OPT_KEEP_TAG: a->keep_tags[a->nkeep_tags++] = optarg; break;
		case OPT_PYTHON: a->pythons[a->npythons++] = optarg; break;
		case OPT_LEGACY: a->o.legacy = true; break;
		case OPT_SOURCELESS: a->o.sourceless = a->o.legacy = true; break;
		case OPT_PREFIX: a->prefix = optarg; break;
		case OPT_CROSS: a->o.cross_mounts = true; break;
		case OPT_EXCLUDE: a->excludes[a->nexcludes++] = optarg; break;
		case OPT_NO_DEFAULT_EXCL: a->o.skip_envs = false; break;
		}
	}
	if (a->stale && a->orphans)
		return cli_usage_error("clean", "--stale and --orphans cannot be combined");
	for (size_t i = 0; i < a->ntags + a->nkeep_tags; i++) {
		const char *t = i < a->ntags ? a->tags[i] : a->keep_tags[i - a->ntags];
		const char *hint = cli_suggest_tag(t);
		if (hint)
			return cli_usage_error("clean", "invalid cache tag '%s'%s", t, hint);
	}
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '\0')
			return cli_usage_error("clean", "an empty path is not a path");
	return 0;
}

/* Probe each --python and keep its caches: its tag, and its magic for legacy files. */
static int probe_pythons(struct clean_args *a)
{
	for (size_t i = 0; i < a->npythons; i++) {
		pyc_error err = { 0 };
		pyc_interp *in = &a->interps[a->ninterps];
		if (pyc_interp_probe(in, a->pythons[i], &err) < 0) {
			cli_interp_error(&err);
			return CLI_EXIT_RUNTIME;
		}
		a->ninterps++;
		if (in->cache_tag)
			a->keep_tags[a->nkeep_tags++] = in->cache_tag;
		a->keep_magics[a->o.nkeep_magics++] = in->magic;
	}
	return 0;
}

/* Every key in every record (docs/cli.md "JSON output"): what does not apply is null. */
static void print_json_item(const pyc_clean_item *it, const char *type)
{
	printf("{\"type\":\"%s\",\"path\":", type);
	out_json_string(stdout, it->path, it->path_len);
	printf(",\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"state\":", it->is_dir ? "dir" : "file",
	       it->bytes);
	out_json_cstr(stdout, it->judged ? pyc_state_name(it->state) : NULL);
	fputs(",\"reason\":", stdout);
	out_json_cstr(stdout, it->judged && it->reason ? pyc_reason_name(it->reason) : NULL);
	fputs(",\"leftover\":", stdout);
	out_json_cstr(stdout, it->leftover ? pyc_leftover_writer_name(it->leftover) : NULL);
	fputs("}\n", stdout);
}

static int on_item(const pyc_clean_item *it, void *payload)
{
	struct clean_out *c = payload;
	progress_tick(c, it);
	switch (it->event) {
	case PYC_CLEAN_FAILED:
		cli_progress_clear(&c->progress);
		if (c->json)
			out_json_error(stdout, it->path, it->error->message);
		out_human_path(cli_diag_begin("error"), it->error->message);
		fputc('\n', stderr);
		break;
	case PYC_CLEAN_KEPT_FOREIGN:
		if (c->json) {
			print_json_item(it, "kept");
		} else if (!c->quiet) {
			cli_progress_clear(&c->progress);
			fputs("kept '", cli_diag_begin("warning"));
			out_human_path(stderr, it->path);
			fputs(it->leftover ? "': a temporary file its writer may still be using\n"
			                   : "': not bytecode\n", stderr);
		}
		break;
	case PYC_CLEAN_REMOVED:
		if (c->json) {
			print_json_item(it, c->dry ? "would-remove" : "removed");
		} else if (c->dry || c->verbose) {
			fputs(c->dry ? "would remove " : "removed ", stdout);
			out_human_path(stdout, it->path);
			fputc('\n', stdout);
		}
		break;
	}
	return 0;
}

static void print_summary(const pyc_clean_totals *t, const struct clean_out *c)
{
	if (c->json) {
		printf("{\"type\":\"summary\",\"dry_run\":%s,\"files\":%" PRIu64
		       ",\"dirs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"kept\":%" PRIu64
		       ",\"foreign\":%" PRIu64 ",\"leftovers\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"skipped\":%" PRIu64 "}\n", c->dry ? "true" : "false", t->files, t->dirs,
		       t->bytes, t->kept, t->foreign, t->leftovers, t->failed, t->skipped);
		return;
	}
	if (c->quiet)
		return;
	char human[32];
	out_bytes_human(human, sizeof(human), t->bytes);
	printf("%s %" PRIu64 " file%s and %" PRIu64 " director%s, %s %s (%" PRIu64 " bytes)",
	       c->dry ? "dry run: would remove" : "removed", t->files, t->files == 1 ? "" : "s",
	       t->dirs, t->dirs == 1 ? "y" : "ies", c->dry ? "freeing" : "freed", human, t->bytes);
	if (t->leftovers)
		printf("; %s %" PRIu64 " abandoned temporary file%s", c->dry ? "would remove" : "removed",
		       t->leftovers, t->leftovers == 1 ? "" : "s");
	if (t->kept)
		printf("; kept %" PRIu64 " cache%s", t->kept, t->kept == 1 ? "" : "s");
	if (t->foreign)
		printf("; left %" PRIu64 " non-bytecode entr%s", t->foreign,
		       t->foreign == 1 ? "y" : "ies");
	if (t->failed)
		printf("; %" PRIu64 " could not be removed", t->failed);
	out_skipped(stdout, t->skipped);
	putchar('\n');
}

static int run_clean(struct clean_args *a, int argc, char **argv, const cli_ctx *ctx)
{
	static const char *const dot[] = { "." };
	int rc = probe_pythons(a);
	if (rc)
		return rc;
	struct clean_out out = { .json = a->json, .quiet = a->quiet, .verbose = a->verbose,
	                         .dry = a->o.dry_run };
	/* Not while paths are listed on stdout (-n, -v): the line would flicker between them. */
	cli_progress_init(&out.progress, "clean", ctx,
	                  !a->json && !a->quiet && !a->verbose && !a->o.dry_run);
	a->o.select = a->stale ? PYC_CLEAN_SELECT_STALE
	            : a->orphans ? PYC_CLEAN_SELECT_ORPHANS : PYC_CLEAN_SELECT_ALL;
	a->o.tags = a->tags;
	a->o.ntags = a->ntags;
	a->o.keep_tags = a->keep_tags;
	a->o.nkeep_tags = a->nkeep_tags;
	a->o.keep_magics = a->keep_magics;
	a->o.excludes = a->excludes;
	a->o.nexcludes = a->nexcludes;
	a->o.prefix = pyc_pycache_prefix(a->prefix);
	a->o.cb = on_item;
	a->o.payload = &out;

	/* A missing operand is named as every command names it, not counted among what
	 * could not be removed; the other operands are cleaned. */
	size_t npaths = 0, missing = 0;
	for (int i = optind; i < argc; i++) {
		if (cli_check_operand(argv[i], a->json) < 0)
			missing++;
		else
			argv[optind + (int)npaths++] = argv[i];
	}
	const char *const *paths = optind < argc ? (const char *const *)argv + optind : dot;
	if (optind == argc)
		npaths = 1;
	pyc_clean_totals t = { 0 };
	pyc_error err = { 0 };
	if (npaths > 0)
		rc = pyc_clean_run(&t, paths, npaths, &a->o, &err);
	cli_progress_clear(&out.progress);
	if (rc < 0) {
		cli_error("%s", err.message);
		return CLI_EXIT_RUNTIME;
	}
	print_summary(&t, &out);
	return t.failed || missing ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

int cmd_clean(int argc, char **argv, cli_ctx *ctx)
{
	size_t n = (size_t)argc + 1;
	struct clean_args a = { .o = PYC_CLEAN_OPTS_INIT };
	a.o.skip_envs = true;   /* the default excludes; --no-default-excludes clears it */
	a.tags = calloc(n, sizeof(*a.tags));
	a.keep_tags = calloc(2 * n, sizeof(*a.keep_tags));
	a.excludes = calloc(n, sizeof(*a.excludes));
	a.pythons = calloc(n, sizeof(*a.pythons));
	a.keep_magics = calloc(n, sizeof(*a.keep_magics));
	a.interps = calloc(n, sizeof(*a.interps));
	int rc;
	if (!a.tags || !a.keep_tags || !a.excludes || !a.pythons || !a.keep_magics || !a.interps) {
		cli_error("out of memory");
		rc = CLI_EXIT_RUNTIME;
	} else if ((rc = parse_args(&a, argc, argv, ctx)) == 0 && !a.version) {
		if (a.help)
			fputs(clean_usage, stdout);
		else
			rc = run_clean(&a, argc, argv, ctx);
		rc = cli_finish_stdout(rc);
	}
	for (size_t i = 0; i < a.ninterps; i++)
		pyc_interp_dispose(&a.interps[i]);
	free(a.tags);
	free(a.keep_tags);
	free(a.excludes);
	free(a.pythons);
	free(a.keep_magics);
	free(a.interps);
	return rc;
}
