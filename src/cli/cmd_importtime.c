/*
 * cmd_importtime.c - `pyc-tool importtime MODULE...`: the import time of the modules
 * with the caches as they are, with none and with all of them fresh (the library's
 * pyc/importtime.h); rendering in importtime_report.c / importtime_svg.c.
 * docs/importtime.md.
 */
#include "cli.h"
#include "suggest.h"
#include "importtime_report.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct importtime_opts {
	const char *python;
	const char *svg;
	const char **paths;    /* owned array of owned realpath()s */
	size_t npaths;
	long runs, top, jobs;
	bool json, quiet;
};

static const char importtime_usage[] =
	"usage: pyc-tool importtime [options] MODULE...\n"
	"\n"
	"Measure what the bytecode caches buy: the import time of MODULE... in three\n"
	"scenarios, each in fresh interpreter processes, interleaved after a warm-up:\n"
	"  as it is   the caches as they stand (nothing is written),\n"
	"  no caches  an empty private pycache prefix: every import compiles,\n"
	"  all fresh  caches compiled by pyc-tool into a private pycache prefix.\n"
	"Nothing is written outside a temporary directory, which is removed.\n"
	"\n"
	"options:\n"
	"  --python EXE      interpreter to measure (default python3; 3.7+, the last two\n"
	"                    scenarios 3.8+)\n"
	"  -n RUNS           timed runs per scenario (default 5; as timeit's -n, not a\n"
	"                    dry run: importtime writes nothing outside a temporary directory)\n"
	"  --path DIR        put DIR first on the module search path (repeatable)\n"
	"  --top N           modules to list, by saving (default 15; 0 = all)\n"
	"  -j N              workers compiling the fresh caches (default 2)\n"
	"  --json            JSON Lines (docs/schema/importtime.schema.json)\n"
	"  --svg FILE        write an icicle chart of the import trees to FILE\n"
	"  -q, --quiet       print nothing (with --svg: only the chart)\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 every imported module has a fresh cache, 1 some caches are stale or\n"
	"missing (listed, with the command that fixes them), 2 usage error, 3 runtime error.\n"
	"See 'man pyc-tool-importtime'.\n";

enum { OPT_PYTHON = 256, OPT_PATH, OPT_TOP, OPT_JSON, OPT_SVG };

static const struct option importtime_long[] = {
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The directory as an absolute path: the private prefixes mirror absolute paths, and
 * the report names what the interpreter saw. */
static int add_path(struct importtime_opts *o, const char *arg)
{
	char *abs = realpath(arg, NULL);
	if (!abs) {
		cli_error("cannot use '%s': %s", arg, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	o->paths[o->npaths++] = abs;
	return -1;
}

static int parse_one(struct importtime_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_PYTHON: o->python = arg; break;
	case OPT_SVG: o->svg = arg; break;
	case OPT_JSON: o->json = true; break;
	case 'q': o->quiet = true; break;
	case OPT_PATH: return add_path(o, arg);
	case 'n':
		if (cli_parse_int(arg, 1, 1000, &o->runs) < 0)
			return cli_usage_error("importtime", "invalid run count '%s'", arg);
		break;
	case OPT_TOP:
		if (cli_parse_int(arg, 0, INT_MAX, &o->top) < 0)
			return cli_usage_error("importtime", "invalid module count '%s'", arg);
		break;
	case 'j':
		if (cli_parse_int(arg, 1, 64, &o->jobs) < 0)
			return cli_usage_error("importtime", "invalid worker count '%s'", arg);
		break;
	case 'h':
		fputs(importtime_usage, stdout);
		return cli_finish_stdout(CLI_EXIT_OK);
	default:
		return cli_usage_error("importtime", "unrecognised option");
	}
	return -1;
}

static int parse_args(struct importtime_opts *o, int argc, char **argv, cli_ctx *ctx)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:j:qh" CLI_COMMON_SHORTOPTS, importtime_long,
	                        NULL)) != -1) {
		int rc = cli_common_option(ctx, "importtime", c, argv, importtime_long);
		if (rc == CLI_NOT_COMMON)
			rc = parse_one(o, c, optarg);
		if (rc >= 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage_error("importtime", "no module given");
	for (int i = optind; i < argc; i++)
		if (!pyc_importtime_valid_module(argv[i]))
			return cli_usage_error("importtime", "invalid module name '%s'", argv[i]);
	if (o->json && o->quiet)
		return cli_usage_error("importtime", "--json and --quiet cannot be combined");
	return -1;
}

/* "run 3 of 16" on stderr while the runs go on, when it is a terminal. */
static void on_progress(unsigned done, unsigned total, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "\rimporttime: run %u of %u", done + 1, total);
	if (done + 1 == total)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

static int write_svg(const char *path, const it_report *rep)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		cli_error("cannot write '%s': %s", path, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	int bad = it_report_svg(f, rep);
	if (fclose(f) != 0 || bad) {
		cli_error("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		return CLI_EXIT_RUNTIME;
	}
	return 0;
}

static int measure_and_report(const struct importtime_opts *o, char **modules, size_t n,
                              const cli_ctx *ctx)
{
	pyc_error err = { 0 };
	pyc_interp interp = { 0 };
	pyc_importtime_result res = { 0 };
	it_report rep = { 0 };
	int rc = CLI_EXIT_RUNTIME;
	if (pyc_interp_probe(&interp, o->python, &err) < 0) {
		cli_interp_error(&err);
		goto done;
	}
	pyc_importtime_opts io;
	pyc_importtime_opts_init(&io);
	io.modules = (const char *const *)modules;
	io.nmodules = n;
	io.paths = o->paths;
	io.npaths = o->npaths;
	io.runs = (unsigned)o->runs;
	io.jobs = (unsigned)o->jobs;
	if (ctx->stderr_tty && !o->quiet)
		io.progress = on_progress;
	if (pyc_importtime_measure(&res, &io, &interp, &err) < 0) {
		if (io.progress)
			fputs("\r\033[K", stderr);
		cli_error("%s", err.message);
		goto done;
	}
	if (it_report_build(&rep, &res, &interp, (size_t)o->top) < 0) {
		cli_error("out of memory");
		goto done;
	}
	rep.modules = (const char *const *)modules;
	rep.nmodules = n;
	if (o->json)
		it_report_json(&rep);
	else if (!o->quiet) {
		out_style st = out_style_for(ctx->color);
		it_report_human(&rep, &st, ctx->stdout_tty);
	}
	if (o->svg && write_svg(o->svg, &rep) != 0)
		goto done;
	rc = cli_finish_stdout(it_report_findings(&rep) ? CLI_EXIT_FINDINGS : CLI_EXIT_OK);
done:
	it_report_dispose(&rep);
	pyc_importtime_result_dispose(&res);
	pyc_interp_dispose(&interp);
	return rc;
}

int cmd_importtime(int argc, char **argv, cli_ctx *ctx)
{
	struct importtime_opts o = { .python = "python3", .runs = 5, .top = 15, .jobs = 2 };
	o.paths = calloc((size_t)argc + 1, sizeof(char *));
	if (!o.paths) {
		cli_error("out of memory");
		return CLI_EXIT_RUNTIME;
	}
	int rc = parse_args(&o, argc, argv, ctx);
	if (rc < 0)
		rc = measure_and_report(&o, argv + optind, (size_t)(argc - optind), ctx);
	for (size_t i = 0; i < o.npaths; i++)
		free((char *)o.paths[i]);
	free(o.paths);
	return rc;
}
