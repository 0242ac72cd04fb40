/*
 * cmd_compile.c - `pyc-tool compile`: compileall's command line on top of the library's
 * compileall (include/pyc/compileall.h). Rendering and the differences from compileall
 * are described in docs/compile.md.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"
#include "progress.h"
#include "pyout.h"

#include "pyc/buf.h"
#include "pyc/compileall.h"
#include "pyc/interrupt.h"
#include "pyc/remote.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PYTHONS 16

typedef struct compile_opts {
	pyc_compileall_opts ca;
	const char *pythons[MAX_PYTHONS];
	size_t npythons;
	const char *flist;
	int quiet;          /* compileall's -q count */
	bool verbose;       /* -v: compileall's quiet=0 lines */
	bool json;
	bool no_probe_cache;  /* --no-cache: no probe cache, no compile cache */
	bool no_recurse;    /* -l */
	bool have_recursion;/* -r N, which beats -l */
	int recursion;
	char **paths;       /* owned array; the strings are argv's or in `owned` */
	size_t npaths;
	char **owned;       /* strings read from -i */
	size_t nowned;
	char **remotes;     /* --cache-remote, else $PYC_TOOL_CACHE_REMOTE (owned) */
	size_t nremotes;
	bool remote_opt;    /* a --cache-remote was given: the environment's are not used */
} compile_opts;

/* Per-run rendering state. */
typedef struct render {
	const compile_opts *opts;
	const cli_ctx *ctx;
	const char *tag;      /* cache tag of the interpreter being compiled for */
	pyout_enc enc;        /* how that interpreter's compileall would print */
	bool multi;           /* more than one --python */
	pyc_compileall_stats *st;
	cli_progress progress;
	char label[80];       /* "compile", or "compile cpython-312" with several --python */
	double started;
	bool python_unbuffered; /* PYTHONUNBUFFERED: compileall's stdout would be unbuffered */
	bool hold_warnings;   /* compileall's stderr would be block-buffered: print them last */
	pyc_buf held;
} render;

static const char usage_text[] =
	"usage: pyc-tool compile [-h] [-l] [-r RECURSION] [-f] [-q] [-v] [-b] [-d DESTDIR]\n"
	"                        [-s STRIPDIR] [-p PREPENDDIR] [-x REGEXP] [-i FILE] [-j N]\n"
	"                        [--invalidation-mode {checked-hash,timestamp,unchecked-hash}]\n"
	"                        [-o LEVEL] [-e DIR] [--hardlink-dupes] [--python EXE]\n"
	"                        [-n] [--json] [--timeout SECONDS] [--cache-dir DIR]\n"
	"                        [--cache-remote URL] [--no-cache] [--color WHEN] [-V]\n"
	"                        [FILE|DIR ...]\n";

static void print_help(void)
{
	fputs(usage_text, stdout);
	fputs("\nCompile Python sources to bytecode, as `python -m compileall` does, with\n"
	      "stricter freshness checks and a pool of worker interpreters.\n\n"
	      "  -l                  don't recurse into subdirectories\n"
	      "  -r RECURSION        maximum recursion level (beats -l)\n"
	      "  -f                  rewrite every cache, even if up to date\n"
	      "  -q, --quiet         errors only; -qq prints nothing\n"
	      "  -v, --verbose       compileall's 'Listing'/'Compiling' lines\n"
	      "  -b                  legacy placement: foo.pyc beside foo.py\n"
	      "  -d DESTDIR          directory prepended to paths in tracebacks\n"
	      "  -s STRIPDIR         strip STRIPDIR from the source path (3.9+)\n"
	      "  -p PREPENDDIR       prepend PREPENDDIR to the source path (3.9+)\n"
	      "  -x REGEXP           skip files whose path matches (Python re syntax)\n"
	      "  -i FILE             also compile the names listed in FILE ('-' = stdin)\n"
	      "  -j N, --workers N   worker interpreters (0 = one per core, the default)\n"
	      "  --invalidation-mode MODE  timestamp, checked-hash or unchecked-hash\n"
	      "  -o LEVEL            optimization level (repeatable; 3.9+)\n"
	      "  -e DIR              skip symlinked files pointing outside DIR (3.9+)\n"
	      "  --hardlink-dupes    hard-link identical levels (3.9+, needs 2+ -o)\n"
	      "  --python EXE        target interpreter (repeatable; default python3)\n"
	      "  -n, --dry-run       list what would be compiled and why; write nothing\n"
	      "  --json              JSON Lines: one record per file written or failed\n"
	      "  --timeout SECONDS   per-file worker time limit (default 600, 0 = none)\n"
	      "  --cache-dir DIR     the compile cache (default $PYC_TOOL_CACHE_DIR, else\n"
	      "                      $XDG_CACHE_HOME/pyc-tool or ~/.cache/pyc-tool)\n"
	      "  --cache-remote URL  also a remote cache, after the local one (repeatable;\n"
	      "                      default $PYC_TOOL_CACHE_REMOTE): redis://, http(s)://\n"
	      "                      or file:// URL, then |read-only and the like\n"
	      "  --no-cache          neither the compile cache nor the probe cache (nor remotes)\n"
	      CLI_COMMON_HELP
	      "\nExit status: 0 ok, 1 a file failed to compile or the -i list cannot be read\n"
	      "(as compileall), 2 usage, 3 a path is missing or cannot be listed, or an\n"
	      "interpreter cannot be used. See 'man pyc-tool-compile'.\n", stdout);
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_clear(render *rd)
{
	cli_progress_clear(&rd->progress);
}

/* Sources done of those the walk has found so far (progress.h). */
static void progress_tick(render *rd)
{
	const pyc_compileall_stats *st = rd->st;
	cli_progress_update(&rd->progress, st->compiled + st->up_to_date + st->failed + st->skipped,
	                    st->found, st->walk_done, "files", NULL);
}

static void json_file(render *rd, const pyc_compileall_event *ev, const char *status)
{
	fputs("{\"type\":\"file\",\"python\":", stdout);
	out_json_cstr(stdout, rd->tag);
	fputs(",\"path\":", stdout);
	out_json_cstr(stdout, ev->path);
	printf(",\"status\":\"%s\"", status);
	/* Every key in every record (docs/cli.md "JSON output"): what does not apply is null. */
	bool failed = ev->kind == PYC_COMPILEALL_FAILED;
	fputs(",\"reason\":", stdout);
	out_json_cstr(stdout, failed ? NULL : pyc_compileall_why_name(ev->why));
	printf(",\"cache\":\"%s\"", pyc_compileall_cache_name(ev->cache));
	fputs(",\"cache_source\":", stdout);
	out_json_cstr(stdout, ev->cache != PYC_COMPILEALL_CACHE_HIT ? NULL
	              : ev->cache_remote ? "remote" : "local");
	fputs(",\"outputs\":[", stdout);
	for (size_t i = 0; !failed && i < ev->noutputs; i++) {
		if (i)
			fputc(',', stdout);
		out_json_cstr(stdout, ev->outputs[i]);
	}
	fputs("],\"error_kind\":", stdout);
	out_json_cstr(stdout, failed ? ev->error_kind : NULL);
	fputs(",\"error\":", stdout);
	out_json_cstr(stdout, failed ? ev->error_text : NULL);
	fputs("}\n", stdout);
}

/* The error record (out.h) with compile's "python": the tag, or null for what is not
 * tied to one interpreter. The message is the text of the stderr line. */
static void __attribute__((format(printf, 3, 4)))
json_error(const char *tag, const char *path, const char *fmt, ...)
{
	pyc_buf msg = PYC_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pyc_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	fputc('{', stdout);
	out_json_error_fields(stdout, path, rc == 0 ? pyc_buf_cstr(&msg) : "out of memory");
	fputs(",\"python\":", stdout);
	out_json_cstr(stdout, tag);
	fputs("}\n", stdout);
	pyc_buf_dispose(&msg);
}

static void show_failure(render *rd, const pyc_compileall_event *ev)
{
	if (rd->opts->json) {
		json_file(rd, ev, "failed");
		return;
	}
	if (rd->opts->quiet >= 2)
		return;
	progress_clear(rd);
	if (rd->opts->verbose) {
		fputs("*** ", stdout);
	} else {
		fputs("*** Error compiling ", stdout);
		pyout_repr(stdout, &rd->enc, ev->path);
		fputs("...\n", stdout);
	}
	pyout_msg(stdout, &rd->enc, ev->error_text ? ev->error_text : "");
	fputc('\n', stdout);
}

static void show_cant_list(render *rd, const pyc_compileall_event *ev)
{
	/* -v keeps compileall's own line on stdout; outside sys.path mode it is also an
	 * error (stderr, exit 1), where compileall would say nothing more. */
	if (rd->opts->verbose && !rd->opts->json) {
		fputs("Can't list ", stdout);
		pyout_repr(stdout, &rd->enc, ev->path);
		fputc('\n', stdout);
	}
	if (ev->sys_path_mode)
		return;
	int e = ev->sys_errno;
	/* Worded as status and clean word a missing operand or an unreadable directory. */
	const char *what = e == ENOENT || e == ENOTDIR ? "cannot access" : "cannot read directory";
	if (rd->opts->json)
		json_error(rd->tag, ev->path, "%s '%s': %s", what, ev->path, strerror(e));
	if (rd->opts->quiet < 2) {
		progress_clear(rd);
		fprintf(cli_diag_begin("error"), "%s '", what);
		out_human_path(stderr, ev->path);
		fprintf(stderr, "': %s\n", strerror(e));
	}
}

static void show_line(render *rd, const char *before, const char *path, const char *after)
{
	progress_clear(rd);
	fputs(before, stdout);
	pyout_repr(stdout, &rd->enc, path);
	fputs(after, stdout);
}

static void on_event(const pyc_compileall_event *ev, void *ctx)
{
	render *rd = ctx;
	const compile_opts *o = rd->opts;
	bool lines = o->verbose && !o->json;
	switch (ev->kind) {
	case PYC_COMPILEALL_LISTING:
		if (lines)
			show_line(rd, "Listing ", ev->path, "...\n");
		break;
	case PYC_COMPILEALL_CANT_LIST:
		show_cant_list(rd, ev);
		break;
	case PYC_COMPILEALL_SKIP_CURDIR:
		if (lines)
			fputs("Skipping current directory\n", stdout);
		break;
	case PYC_COMPILEALL_STRIP_IGNORED:
		if (!o->json && o->quiet < 2) {
			show_line(rd, "The stripdir path ", ev->stripdir, " is not a valid prefix for ");
			show_line(rd, "source path ", ev->path, "; ignoring\n");
		}
		break;
	case PYC_COMPILEALL_COMPILING:
		if (lines)
			show_line(rd, "Compiling ", ev->path, "...\n");
		break;
	case PYC_COMPILEALL_COMPILED:
		if (o->json)
			json_file(rd, ev, "compiled");
		break;
	case PYC_COMPILEALL_WOULD_COMPILE:
		if (o->json) {
			json_file(rd, ev, "would-compile");
		} else if (o->quiet < 2) {
			progress_clear(rd);
			fputs("would compile ", stdout);
			out_human_path(stdout, ev->path);
			printf(" (%s)\n", pyc_compileall_why_name(ev->why));
		}
		break;
	case PYC_COMPILEALL_FAILED:
		show_failure(rd, ev);
		break;
	case PYC_COMPILEALL_WARNED:
		/* Raw, on stderr, whatever the options, as the interpreter writes them under
		 * compileall, and interleaved with stdout as compileall's are on one pipe: its
		 * stdout is block-buffered (line-buffered on a terminal, as ours) unless
		 * PYTHONUNBUFFERED is set, and before 3.9 so is a stderr that is not a terminal
		 * (flushed at exit, after stdout). Past the first buffer-full of stdout the
		 * interleaving is not modelled. */
		progress_clear(rd);
		if (rd->hold_warnings) {
			pyc_buf_put(&rd->held, ev->warnings, ev->warnings_len);
			break;
		}
		if (rd->python_unbuffered)
			fflush(stdout);
		fwrite(ev->warnings, 1, ev->warnings_len, stderr);
		break;
	case PYC_COMPILEALL_STORE_WARNING: {
		/* Each text once, not once per --python: it is the same store or remote. */
		static pyc_buf warned;
		if (!strstr(pyc_buf_cstr(&warned), ev->error_text)) {
			pyc_buf_printf(&warned, "%s\n", ev->error_text);
			progress_clear(rd);
			fflush(stdout);
			cli_warn("%s", ev->error_text);
		}
		break;
	}
	case PYC_COMPILEALL_UP_TO_DATE:
		break;
	}
	progress_tick(rd);
}

enum {
	OPT_INVALIDATION = 256, OPT_HARDLINK, OPT_PYTHON, OPT_JSON, OPT_TIMEOUT,
	OPT_NO_PROBE_CACHE, OPT_CACHE_DIR, OPT_CACHE_REMOTE,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "workers", required_argument, NULL, 'j' },
	{ "invalidation-mode", required_argument, NULL, OPT_INVALIDATION },
	{ "hardlink-dupes", no_argument, NULL, OPT_HARDLINK },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-cache", no_argument, NULL, OPT_NO_PROBE_CACHE },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "cache-remote", required_argument, NULL, OPT_CACHE_REMOTE },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int bad_int(const char *opt, const char *v)
{
	return cli_usage_error("compile", "argument %s: invalid int value: '%s'", opt, v);
}

/* parse_one's answer for --help (printed already). */
#define HELP_DONE (-1)

/* One option; returns 0, HELP_DONE, or an exit code (usage error). */
static int parse_one(compile_opts *o, int c, const char *arg)
{
	pyc_compileall_opts *ca = &o->ca;
	long v;
	switch (c) {
	case 'l': o->no_recurse = true; break;
	case 'r':
		if (cli_parse_int(arg, -1000000000, 1000000000, &v) < 0)
			return bad_int("-r", arg);
		o->recursion = v < 0 ? 0 : (int)v;
		o->have_recursion = true;
		break;
	case 'f': ca->force = true; break;
	case 'q': o->quiet++; break;
	case 'v': o->verbose = true; break;
	case 'b': ca->legacy = true; break;
	case 'd': ca->ddir = arg; break;
	case 's': ca->stripdir = arg; break;
	case 'p': ca->prependdir = arg; break;
	case 'x': ca->rx = arg; break;
	case 'i': o->flist = arg; break;
	case 'e': ca->limit_sl_dest = *arg ? arg : NULL; break;
	case 'j':
		if (cli_parse_int(arg, -1000000, 1000000, &v) < 0)
			return bad_int("-j/--workers", arg);
		if (v < 0)
			return cli_usage_error("compile", "workers must be greater or equal to 0");
		ca->jobs = (unsigned)v;
		break;
	case 'o':
		if (cli_parse_int(arg, -1000000, 1000000, &v) < 0)
			return bad_int("-o", arg);
		if (ca->nlevels >= sizeof(ca->levels) / sizeof(ca->levels[0]))
			return cli_usage_error("compile", "too many -o options");
		ca->levels[ca->nlevels++] = (int)v;
		break;
	case OPT_INVALIDATION:
		if (pyc_invalidation_parse(&ca->mode, arg) < 0)
			return cli_usage_error("compile", "argument --invalidation-mode: invalid choice: "
			                       "'%s' (choose from 'checked-hash', 'timestamp', "
			                       "'unchecked-hash')", arg);
		ca->mode_set = true;
		break;
	case OPT_HARDLINK: ca->hardlink_dupes = true; break;
	case OPT_PYTHON:
		if (o->npythons >= MAX_PYTHONS)
			return cli_usage_error("compile", "too many --python options");
		o->pythons[o->npythons++] = arg;
		break;
	case 'n': ca->dry_run = true; break;
	case OPT_JSON: o->json = true; break;
	case OPT_TIMEOUT: {
		char *end;
		errno = 0;
		double t = strtod(arg, &end);
		if (errno || end == arg || *end || !(t >= 0))
			return cli_usage_error("compile", "--timeout needs seconds >= 0, not '%s'", arg);
		ca->timeout_sec = t;
		break;
	}
	case OPT_NO_PROBE_CACHE: o->no_probe_cache = true; break;
	case OPT_CACHE_DIR: ca->store_dir = arg; break;
	case OPT_CACHE_REMOTE:
		o->remote_opt = true;
		if (pyc_remote_specs_split(arg, &o->remotes, &o->nremotes) < 0)
			return CLI_EXIT_RUNTIME;
		break;
	case 'h': print_help(); return HELP_DONE;
	default: return cli_usage_error("compile", "unknown option");
	}
	return 0;
}

static int add_path(compile_opts *o, char *p)
{
	char **nv = realloc(o->paths, (o->npaths + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	o->paths = nv;
	o->paths[o->npaths++] = p;
	return 0;
}

/* -i FILE|-: each line stripped of whitespace (str.strip()); blank lines are skipped.
 * Returns 0, an errno value when the list cannot be read, or -1 when memory ran out. */
static int read_flist(compile_opts *o)
{
	bool is_stdin = strcmp(o->flist, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(o->flist, "r");
	if (!f)
		return errno;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e = line + n;
		while (s < e && (*s == ' ' || (*s >= '\t' && *s <= '\r') || (*s >= 0x1c && *s <= 0x1f)))
			s++;
		while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r') ||
		                 (e[-1] >= 0x1c && e[-1] <= 0x1f)))
			e--;
		if (e == s)
			continue;
		char *copy = strndup(s, (size_t)(e - s));
		char **nv = copy ? realloc(o->owned, (o->nowned + 1) * sizeof(*nv)) : NULL;
		if (!nv || add_path(o, copy) < 0) {
			free(copy);
			rc = -1;
			break;
		}
		o->owned = nv;
		o->owned[o->nowned++] = copy;
	}
	if (rc == 0 && ferror(f))
		rc = errno ? errno : EIO;
	free(line);
	if (!is_stdin)
		fclose(f);
	return rc;
}

static void print_summary(render *rd, double secs);

/* compileall's "Error reading file list" (stdout, silent under -qq); with --json an error
 * record and a summary of nothing, as the stream of every command ends with one, and the
 * error on stderr. Not tied to one interpreter, but printed as the first would print it. */
static void show_flist_error(const compile_opts *o, const pyc_interp *in, int err)
{
	if (o->json) {
		pyc_compileall_stats none = { 0 };
		render rd = { .opts = o, .st = &none };
		json_error(NULL, o->flist, "cannot read the file list '%s': %s", o->flist,
		           strerror(err));
		print_summary(&rd, 0);
		cli_error("cannot read the file list '%s': %s", o->flist, strerror(err));
	} else if (o->quiet < 2) {
		pyout_enc enc;
		pyout_enc_for(&enc, in);
		fputs("Error reading file list ", stdout);
		pyout_str(stdout, &enc, o->flist);
		fputc('\n', stdout);
	}
}

/* The remotes of --cache-remote, else of the environment, each checked now: a bad URL
 * is a usage error before anything is compiled. */
static int setup_remotes(compile_opts *o)
{
	if (!o->remote_opt &&
	    pyc_remote_specs_split(getenv(PYC_REMOTE_ENV), &o->remotes, &o->nremotes) < 0)
		return CLI_EXIT_RUNTIME;
	for (size_t i = 0; i < o->nremotes; i++) {
		pyc_error err = { 0 };
		if (pyc_remote_check(o->remotes[i], &err) < 0)
			return cli_usage_error("compile", "%s", err.message);
	}
	o->ca.remotes = (const char *const *)o->remotes;
	o->ca.nremotes = o->nremotes;
	return 0;
}

static int parse_args(compile_opts *o, int argc, char **argv, cli_ctx *ctx)
{
	pyc_compileall_opts_init(&o->ca);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* Default (and -j0): one worker per core, as the issue and compileall -j0 say. The
	 * pool keeps a second job queued on each worker, so no worker waits while this
	 * thread writes the previous result (docs/compile-engine.md). */
	unsigned dflt = cores > 0 ? (unsigned)cores : 1;
	o->ca.jobs = dflt;
	o->ca.source_date_epoch = getenv("SOURCE_DATE_EPOCH");
	optind = 1;
	opterr = 0;
	int c;
	const char *shortopts = ":lr:fqvbd:s:p:x:i:j:o:e:nh" CLI_COMMON_SHORTOPTS;
	while ((c = getopt_long(argc, argv, shortopts, long_opts, NULL)) != -1) {
		int rc = cli_common_option(ctx, "compile", c, argv, long_opts);
		if (rc == CLI_NOT_COMMON)
			rc = parse_one(o, c, optarg);
		else if (rc == CLI_EXIT_OK)
			rc = HELP_DONE;   /* --version was printed */
		else if (rc == -1)
			rc = 0;
		if (rc != 0)
			return rc;
	}
	if (o->ca.jobs == 0)
		o->ca.jobs = dflt;
	o->ca.use_store = !o->no_probe_cache && pyc_interp_cache_enabled();
	int rrc = o->ca.use_store ? setup_remotes(o) : 0;
	if (rrc != 0)
		return rrc;
	o->ca.maxlevels = o->have_recursion ? o->recursion : o->no_recurse ? 0 : -1;
	if (o->json && o->verbose)
		return cli_usage_error("compile", "--json and -v cannot be combined");
	for (int i = optind; i < argc; i++)
		if (add_path(o, argv[i]) < 0)
			return CLI_EXIT_RUNTIME;
	return 0;
}

static void free_opts(compile_opts *o)
{
	for (size_t i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	free(o->owned);
	free(o->paths);
	pyc_remote_specs_free(o->remotes, o->nremotes);
}

static void print_summary(render *rd, double secs)
{
	const pyc_compileall_stats *st = rd->st;
	if (rd->opts->json) {
		fputs("{\"type\":\"summary\",\"python\":", stdout);
		out_json_cstr(stdout, rd->tag);
		printf(",\"dry_run\":%s,\"compiled\":%zu,\"up_to_date\":%zu,\"failed\":%zu,"
		       "\"unlisted\":%zu,\"files_written\":%zu,\"workers_started\":%u,"
		       "\"cache_hits\":%zu,\"cache_misses\":%zu,\"cache_remote_hits\":%zu,"
		       "\"seconds\":%.3f}\n",
		       rd->opts->ca.dry_run ? "true" : "false", st->compiled, st->up_to_date,
		       st->failed, st->unlisted, st->files_written, st->workers_started,
		       st->cache_hits, st->cache_misses, st->cache_remote_hits, secs);
		return;
	}
	if (rd->opts->quiet)
		return;
	if (rd->multi)
		printf("%s: ", rd->tag ? rd->tag : "?");
	printf("%s %zu, up to date %zu, failed %zu", rd->opts->ca.dry_run ? "would compile"
	       : "compiled", st->compiled, st->up_to_date, st->failed);
	if (st->unlisted)
		printf(", not found or unlistable %zu", st->unlisted);
	printf(" in %.2f s\n", secs);
}

/* Ask each interpreter, then check the options against each one's compileall, before
 * anything is read or written (compileall's argparse errors come first too). One that
 * cannot be run or is not supported is named, with why, and left out (usable[i] false):
 * the others still compile, and the exit status is 3. */
static int prepare(compile_opts *o, pyc_interp *ins, bool *usable)
{
	int rc = 0;
	for (size_t i = 0; i < o->npythons; i++) {
		pyc_error err = { 0 };
		int r = o->no_probe_cache ? pyc_interp_probe_fresh(&ins[i], o->pythons[i], &err)
		                          : pyc_interp_probe(&ins[i], o->pythons[i], &err);
		if (r < 0) {
			cli_interp_error(&err);
			rc = CLI_EXIT_RUNTIME;
		} else if (pyc_compileall_validate(&o->ca, &ins[i], &err) == 0) {
			usable[i] = true;
		} else if (err.code == PYC_EUNSUPPORTED) {
			cli_error("%s", err.message);
			rc = CLI_EXIT_RUNTIME;
		} else {
			return cli_usage_error("compile", "%s", err.message);
		}
	}
	return rc;
}

/* Compile for one (probed, validated) interpreter. Returns an exit code. */
static int compile_for(compile_opts *o, pyc_interp *in, const cli_ctx *ctx, bool multi)
{
	pyc_error err = { 0 };
	pyc_compileall_stats st;
	const char *unbuffered = getenv("PYTHONUNBUFFERED");
	render rd = { .opts = o, .ctx = ctx, .multi = multi, .st = &st, .started = now_sec(),
	              .python_unbuffered = unbuffered && *unbuffered };
	snprintf(rd.label, sizeof(rd.label), "compile%s%s", multi ? " " : "",
	         multi && in->cache_tag ? in->cache_tag : "");
	cli_progress_init(&rd.progress, rd.label, ctx, !o->json && !o->verbose && !o->quiet);
	int rc;
	for (;;) {
		memset(&st, 0, sizeof(st));
		rd.tag = in->cache_tag;
		rd.hold_warnings = in->major == 3 && in->minor < 9 && !rd.python_unbuffered &&
		                   !ctx->stderr_tty;
		pyout_enc_for(&rd.enc, in);
		rc = pyc_compileall_run(&o->ca, in, on_event, &rd, &st, &err);
		if (rc < 0 || !st.reprobed)
			break;
		/* The cached answer was out of date: start over with the interpreter's own. */
		char *exe = strdup(in->exe);
		pyc_interp_dispose(in);
		rc = exe ? pyc_interp_probe_fresh(in, exe, &err) : PYC_ENOMEM;
		free(exe);
		if (rc < 0)
			break;
	}
	progress_clear(&rd);
	if (rc < 0) {
		const char *why = err.message[0] ? err.message : pyc_code_name(rc);
		if (o->json) {   /* the stream still ends with this interpreter's summary */
			json_error(rd.tag, NULL, "%s", why);
			print_summary(&rd, now_sec() - rd.started);
		}
		fflush(stdout);
		if (rd.held.len)
			fwrite(rd.held.ptr, 1, rd.held.len, stderr);
		pyc_buf_dispose(&rd.held);
		cli_error("%s", why);
		return CLI_EXIT_RUNTIME;
	}
	print_summary(&rd, now_sec() - rd.started);
	fflush(stdout);
	if (rd.held.len)
		fwrite(rd.held.ptr, 1, rd.held.len, stderr);
	pyc_buf_dispose(&rd.held);
	/* A path that cannot be listed is 3, as in status and clean: compileall's own answer
	 * is 0 (cpython#88621), so there is no compileall code to keep. */
	return st.unlisted ? CLI_EXIT_RUNTIME : st.failed ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}

/* Only async-signal-safe work here: unlink the temporary file in flight, kill the
 * workers, then die of the same signal (SA_RESETHAND), so the shell reports 128 + n. */
static void on_signal(int sig)
{
	pyc_interrupt_cleanup();
	raise(sig);
}

/* A signal the caller ignores (nohup, a background job of a script) stays ignored. */
static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

int cmd_compile(int argc, char **argv, cli_ctx *ctx)
{
	catch_signals();
	compile_opts o;
	pyc_interp ins[MAX_PYTHONS];
	bool usable[MAX_PYTHONS] = { false };
	memset(&o, 0, sizeof(o));
	memset(ins, 0, sizeof(ins));
	int rc = parse_args(&o, argc, argv, ctx);
	if (rc == 0 && o.npythons == 0)
		o.pythons[o.npythons++] = "python3";
	if (rc == 0)
		rc = prepare(&o, ins, usable);
	size_t first = 0;
	while (first < o.npythons && !usable[first])
		first++;
	bool run = (rc == 0 || rc == CLI_EXIT_RUNTIME) && first < o.npythons;
	int ferr = run && o.flist ? read_flist(&o) : 0;
	if (ferr) {
		if (ferr < 0)
			cli_error("cannot read the file list '%s': %s", o.flist, strerror(ENOMEM));
		else
			show_flist_error(&o, &ins[first], ferr);
		if (rc < CLI_EXIT_FINDINGS)
			rc = CLI_EXIT_FINDINGS;   /* compileall returns False: exit 1 */
		run = false;
	}
	o.ca.paths = (const char *const *)o.paths;
	o.ca.npaths = o.npaths;
	for (size_t i = first; run && i < o.npythons; i++) {
		if (!usable[i])
			continue;
		int r = compile_for(&o, &ins[i], ctx, o.npythons > 1);
		if (r > rc)
			rc = r;
	}
	for (size_t i = 0; i < o.npythons; i++)
		pyc_interp_dispose(&ins[i]);
	free_opts(&o);
	return rc == HELP_DONE ? cli_finish_stdout(CLI_EXIT_OK) : cli_finish_stdout(rc);
}
