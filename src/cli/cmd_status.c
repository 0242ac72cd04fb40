/*
 * cmd_status.c - `pyc-tool status [PATH...]`: every bytecode cache under the paths with
 * its state (fresh, stale, orphan, sourceless, corrupt, missing). docs/status.md.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/cache_path.h"
#include "pyc/interp.h"
#include "pyc/scan.h"
#include "pyc/walk.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATUS_MAX_LEVELS 16
#define STATUS_NSTATES (PYC_STATE_MISSING + 1)

struct status_opts {
	const char *tag;
	const char *python;
	const char *prefix;
	int levels[STATUS_MAX_LEVELS];
	size_t nlevels;
	const char **excludes;
	size_t nexcludes;
	unsigned threads;
	bool all, json, quiet, no_default_excludes;
};

struct status_counts {
	size_t state[STATUS_NSTATES];
	size_t temps, abandoned;   /* writers' temporary files (pyc/leftover.h) */
	size_t errors;
	size_t skipped;            /* environments not entered (default excludes) */
};

static const char status_usage[] =
	"usage: pyc-tool status [options] [PATH...]\n"
	"\n"
	"List the bytecode caches under each PATH (default .) that are not fresh:\n"
	"stale (mtime, size, hash), orphan, sourceless, corrupt, and with a target\n"
	"also missing ones. Ends with a summary line.\n"
	"\n"
	"options:\n"
	"  --tag TAG         target cache tag (e.g. cpython-312): report sources without a cache\n"
	"  --python EXE      target the tag, level and pycache prefix of interpreter EXE\n"
	"  -o LEVEL          optimisation level to expect with a target (repeatable; default 0,\n"
	"                    or the interpreter's -O level with --python)\n"
	"  --prefix DIR      pycache prefix (default: $PYTHONPYCACHEPREFIX)\n"
	"  --exclude GLOB    skip matching files and directories (repeatable)\n"
	"  --no-default-excludes  also enter virtual environments (pyvenv.cfg), conda\n"
	"                    environments (conda-meta/), .tox, .nox and node_modules\n"
	"  -j N              threads scanning subtrees (default: one per CPU, at most 8;\n"
	"                    1 = none besides the main one)\n"
	"  --all             list fresh caches too\n"
	"  -v, --verbose     the same as --all\n"
	"  --json            JSON Lines: one object per cache, then a summary object\n"
	"  -q, --quiet       print nothing; the exit status tells\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 all fresh, 1 something is not fresh, 2 usage error, 3 a path is\n"
	"missing or unreadable (or another runtime error). See 'man pyc-tool-status'.\n";

enum { OPT_TAG = 256, OPT_PYTHON, OPT_PREFIX, OPT_EXCLUDE, OPT_ALL, OPT_JSON, OPT_NO_DEFAULT_EXCL };

static const struct option status_long[] = {
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "no-default-excludes", no_argument, NULL, OPT_NO_DEFAULT_EXCL },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 to go on, or an exit code (help, usage error). o->excludes has room for
 * every argument, so --exclude cannot overflow it. */
static int parse_one(struct status_opts *o, int c, const char *arg)
{
	long v;
	switch (c) {
	case OPT_TAG: o->tag = arg; break;
	case OPT_PYTHON: o->python = arg; break;
	case OPT_PREFIX: o->prefix = arg; break;
	case OPT_ALL: case 'v': o->all = true; break;
	case OPT_JSON: o->json = true; break;
	case OPT_NO_DEFAULT_EXCL: o->no_default_excludes = true; break;
	case 'q': o->quiet = true; break;
	case OPT_EXCLUDE:
		o->excludes[o->nexcludes++] = arg;
		break;
	case 'o':
		if (cli_parse_int(arg, 0, 99, &v) < 0)
			return cli_usage_error("status", "invalid optimisation level '%s'", arg);
		if (o->nlevels == STATUS_MAX_LEVELS)
			return cli_usage_error("status", "too many -o levels");
		o->levels[o->nlevels++] = (int)v;
		break;
	case 'j':
		if (cli_parse_int(arg, 1, 64, &v) < 0)
			return cli_usage_error("status", "invalid thread count '%s'", arg);
		o->threads = (unsigned)v;
		break;
	case 'h':
		fputs(status_usage, stdout);
		return cli_finish_stdout(CLI_EXIT_OK);
	default:
		return cli_usage_error("status", "unrecognised option");
	}
	return -1;
}

static int parse_args(struct status_opts *o, int argc, char **argv, cli_ctx *ctx)
{
	int c;
	optind = 1;
	opterr = 0;
	const char *shortopts = ":o:j:qvh" CLI_COMMON_SHORTOPTS;
	while ((c = getopt_long(argc, argv, shortopts, status_long, NULL)) != -1) {
		int rc = cli_common_option(ctx, "status", c, argv, status_long);
		if (rc == CLI_NOT_COMMON)
			rc = parse_one(o, c, optarg);
		if (rc >= 0)
			return rc;
	}
	const char *hint = o->tag ? cli_suggest_tag(o->tag) : NULL;
	if (hint)
		return cli_usage_error("status", "invalid cache tag '%s'%s", o->tag, hint);
	if (o->tag && o->python)
		return cli_usage_error("status", "--tag and --python cannot be combined");
	if (o->nlevels && !o->tag && !o->python)
		return cli_usage_error("status", "-o needs a target: --tag or --python");
	if (o->json && o->quiet)
		return cli_usage_error("status", "--json and --quiet cannot be combined");
	return -1;
}

static void json_record(const pyc_scan_record *r)
{
	const pyc_verdict *v = &r->verdict;
	const pyc_header *h = &v->header;
	const pyc_magic_info *info = h->info;
	fputs("{\"type\":\"cache\",\"path\":", stdout);
	out_json_cstr(stdout, r->path);
	fputs(",\"source\":", stdout);
	out_json_cstr(stdout, r->source[0] ? r->source : NULL);
	fputs(",\"tag\":", stdout);
	out_json_cstr(stdout, r->tag);
	fputs(",\"opt\":", stdout);
	out_json_cstr(stdout, r->opt);
	printf(",\"kind\":\"%s\",\"state\":\"%s\",\"reason\":", pyc_scan_where_name(r->where),
	       pyc_state_name(v->state));
	out_json_cstr(stdout, v->reason ? pyc_reason_name(v->reason) : NULL);
	if (info)
		printf(",\"magic\":%u,\"version\":\"%u.%u\"", (unsigned)info->number,
		       (unsigned)info->major, (unsigned)info->minor);
	else
		fputs(",\"magic\":null,\"version\":null", stdout);
	fputs(",\"mode\":", stdout);
	out_json_cstr(stdout, v->header_ok ? pyc_invalidation_name(h->mode) : NULL);
	printf(",\"unchecked\":%s}\n", v->unchecked ? "true" : "false");
}

/* A writer's temporary file (pyc/leftover.h): reported whatever --all says. */
static void leftover_record(const pyc_scan_record *r, const struct status_opts *o,
                            const out_style *st)
{
	if (o->json) {
		fputs("{\"type\":\"temp\",\"path\":", stdout);
		out_json_cstr(stdout, r->path);
		printf(",\"kind\":\"%s\",\"writer\":\"%s\",\"abandoned\":%s}\n",
		       pyc_scan_where_name(r->where), pyc_leftover_writer_name(r->leftover),
		       r->abandoned ? "true" : "false");
		return;
	}
	printf("%stemp (%s)%s  ", st->dim, r->abandoned ? "abandoned" : "in use", st->reset);
	out_human_path(stdout, r->path);
	putchar('\n');
}

static void human_record(const pyc_scan_record *r, const out_style *st)
{
	const pyc_verdict *v = &r->verdict;
	const char *colour = st->yellow;
	if (v->state == PYC_STATE_FRESH)
		colour = st->green;
	else if (v->state == PYC_STATE_CORRUPT)
		colour = st->red;
	else if (v->state == PYC_STATE_SOURCELESS || v->state == PYC_STATE_ORPHAN)
		colour = st->dim;
	printf("%s%s", colour, pyc_state_name(v->state));
	if (v->reason)
		printf(" (%s%s)", pyc_reason_name(v->reason), v->unchecked ? ", unchecked" : "");
	printf("%s  ", st->reset);
	out_human_path(stdout, r->path);
	putchar('\n');
}

static void print_summary(const struct status_opts *o, const struct status_counts *c,
                          bool target)
{
	size_t caches = 0;
	for (int i = 0; i < STATUS_NSTATES; i++)
		if (i != PYC_STATE_MISSING)
			caches += c->state[i];
	if (o->json) {
		printf("{\"type\":\"summary\",\"caches\":%zu", caches);
		for (int i = 0; i < STATUS_NSTATES; i++)
			printf(",\"%s\":%zu", pyc_state_name((enum pyc_state)i), c->state[i]);
		printf(",\"temps\":%zu,\"abandoned\":%zu,\"errors\":%zu,\"skipped\":%zu}\n",
		       c->temps, c->abandoned, c->errors, c->skipped);
		return;
	}
	printf("%zu cache%s: %zu fresh", caches, caches == 1 ? "" : "s", c->state[PYC_STATE_FRESH]);
	for (int i = PYC_STATE_STALE; i < PYC_STATE_MISSING; i++)
		if (c->state[i])
			printf(", %zu %s", c->state[i], pyc_state_name((enum pyc_state)i));
	if (target)
		printf(", %zu missing", c->state[PYC_STATE_MISSING]);
	if (c->temps)
		printf("; %zu temporary file%s (%zu abandoned)", c->temps, c->temps == 1 ? "" : "s",
		       c->abandoned);
	if (c->errors)
		printf("; %zu error%s", c->errors, c->errors == 1 ? "" : "s");
	out_skipped(stdout, c->skipped);
	putchar('\n');
}

/* A path that could not be read: named on stderr, and a record in the JSON stream. */
static void path_error(const struct status_opts *o, struct status_counts *c, const char *path,
                       const char *message)
{
	c->errors++;
	cli_error_at(o->json, path, "%s", message);
}

/* Scan one root, printing and counting as it goes. Returns 0, or -1 on a fatal error. */
static int scan_root(const char *root, const pyc_scan_opts *so, const struct status_opts *o,
                     struct status_counts *c, const out_style *st)
{
	pyc_error err = { 0 };
	pyc_scan *s;
	if (cli_check_operand(root, o->json) < 0) {
		c->errors++;
		return 0;
	}
	if (pyc_scan_new(&s, root, so, &err) < 0) {
		if (err.code == PYC_EINVAL || err.code == PYC_ENOMEM) {
			cli_error("%s", err.message);
			return -1;
		}
		if (!err.message[0])
			snprintf(err.message, sizeof(err.message), "cannot read '%s'", root);
		path_error(o, c, root, err.message);
		return 0;
	}
	const pyc_scan_record *r;
	int rc;
	while ((rc = pyc_scan_next(s, &r)) > 0) {
		if (r->error) {
			path_error(o, c, r->path, r->message);
			continue;
		}
		if (r->leftover) {
			c->temps++;
			c->abandoned += r->abandoned;
			if (!o->quiet)
				leftover_record(r, o, st);
			continue;
		}
		c->state[r->verdict.state]++;
		if (o->quiet || (r->verdict.state == PYC_STATE_FRESH && !o->all))
			continue;
		if (o->json)
			json_record(r);
		else
			human_record(r, st);
	}
	c->skipped += pyc_scan_skipped(s);
	pyc_scan_free(s);
	if (rc < 0) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

/* Fill the scan options' target and prefix from --tag / --python / --prefix. */
static int resolve_target(pyc_scan_opts *so, const struct status_opts *o, pyc_interp *interp)
{
	so->prefix = pyc_pycache_prefix(o->prefix);
	so->levels = o->levels;
	so->nlevels = o->nlevels;
	so->excludes = o->excludes;
	so->nexcludes = o->nexcludes;
	so->threads = o->threads;
	so->walk_flags = o->no_default_excludes ? 0u : PYC_WALK_SKIP_ENVS;
	if (o->tag) {
		so->target = true;
		so->target_tag = o->tag;
		return 0;
	}
	if (!o->python)
		return 0;
	pyc_error err = { 0 };
	if (pyc_interp_probe(interp, o->python, &err) < 0) {
		cli_interp_error(&err);
		return CLI_EXIT_RUNTIME;
	}
	so->target = true;
	so->target_tag = interp->cache_tag;
	/* That interpreter's own prefix: it reads the same environment, but only 3.8+ has one. */
	if (!o->prefix)
		so->prefix = interp->pycache_prefix;
	if (!o->nlevels) {
		static const int levels[] = { 0, 1, 2 };
		int opt = interp->optimize < 0 ? 0 : interp->optimize > 2 ? 2 : interp->optimize;
		so->levels = &levels[opt];
		so->nlevels = 1;
	}
	return 0;
}

/* A file operand is a cache to judge or, with a target, a source whose cache is looked
 * for; anything else would only get "0 caches", which answers nothing. */
static int check_file_roots(char **roots, bool target)
{
	int rc = 0;
	for (; *roots; roots++) {
		struct stat st;
		size_t n = strlen(*roots);
		bool source = n >= 3 && strcmp(*roots + n - 3, ".py") == 0;
		if (stat(*roots, &st) != 0 || !S_ISREG(st.st_mode) ||   /* the scan says why */
		    pyc_is_bytecode_name(*roots) || (source && target))
			continue;
		cli_error("'%s' is not a bytecode cache%s", *roots,
		          source ? "; --tag or --python looks for its cache" : "");
		rc = CLI_EXIT_USAGE;
	}
	return rc;
}

int cmd_status(int argc, char **argv, cli_ctx *ctx)
{
	struct status_opts o = { 0 };
	o.excludes = calloc((size_t)argc + 1, sizeof(char *));
	if (!o.excludes) {
		cli_error("out of memory");
		return CLI_EXIT_RUNTIME;
	}
	pyc_interp interp = { 0 };
	pyc_scan_opts so = { 0 };
	struct status_counts c = { 0 };
	int rc = parse_args(&o, argc, argv, ctx);
	out_style st = out_style_for(ctx->color && !o.json);
	if (rc >= 0)
		goto done;
	if ((rc = resolve_target(&so, &o, &interp)) != 0)
		goto done;

	char *dot[] = { ".", NULL };
	char **roots = optind < argc ? argv + optind : dot;
	if ((rc = check_file_roots(roots, so.target)) != 0)
		goto done;
	for (; *roots; roots++) {
		if (scan_root(*roots, &so, &o, &c, &st) < 0) {
			rc = CLI_EXIT_RUNTIME;
			goto done;
		}
	}
	if (!o.quiet)
		print_summary(&o, &c, so.target);
	rc = CLI_EXIT_OK;
	for (int i = PYC_STATE_STALE; i < STATUS_NSTATES; i++)
		if (c.state[i])
			rc = CLI_EXIT_FINDINGS;
	if (c.abandoned)
		rc = CLI_EXIT_FINDINGS;   /* garbage to clean; one in use is not a finding */
	if (c.errors)
		rc = CLI_EXIT_RUNTIME;
	rc = cli_finish_stdout(rc);
done:
	pyc_interp_dispose(&interp);
	free(o.excludes);
	return rc;
}
