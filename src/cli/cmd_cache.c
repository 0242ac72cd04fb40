/*
 * cmd_cache.c - `pyc-tool cache stats|prune|clear`: the local store of compile results
 * (the library's pyc/store.h; docs/cache.md). stats reads the counter files only (the
 * store's, then each remote cache's, pyc/remote.h), prune and clear scan the store.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/remote.h"
#include "pyc/store.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum cache_action { CACHE_STATS, CACHE_PRUNE, CACHE_CLEAR };

struct cache_opts {
	enum cache_action action;
	const char *dir;        /* --cache-dir, NULL for the default */
	uint64_t max_size;      /* --max-size, 0 for the default */
	bool json, quiet;
};

static const char cache_usage[] =
	"usage: pyc-tool cache [options] stats|prune|clear\n"
	"\n"
	"The local store of compiled bytecode that 'pyc-tool compile' reuses.\n"
	"  stats   hits, misses, entries, size and compile time saved (reads no entry)\n"
	"  prune   remove the least recently used entries until the store fits the size\n"
	"  clear   remove every entry (the interpreter probe cache stays)\n"
	"\n"
	"options:\n"
	"  --cache-dir DIR   the store (default $PYC_TOOL_CACHE_DIR, else\n"
	"                    $XDG_CACHE_HOME/pyc-tool, else ~/.cache/pyc-tool)\n"
	"  --max-size SIZE   prune: the size to keep, bytes or with a K, M or G suffix\n"
	"                    (default 1G)\n"
	"  --json            JSON Lines (docs/schema/cache.schema.json)\n"
	"  -q, --quiet       print errors only\n"
	"  --color WHEN      colour: auto (on a terminal; the default), always, never\n"
	"  -V, --version     show the version and exit\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 done, 2 usage error, 3 runtime error (the store cannot be read or\n"
	"changed). See 'man pyc-tool-cache'.\n";

enum { OPT_CACHE_DIR = 256, OPT_MAX_SIZE, OPT_JSON };

static const struct option cache_long[] = {
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* "512", "64K", "1.5G", "100MiB": binary multiples, as ccache's max_size. 0 on error. */
static uint64_t parse_size(const char *s)
{
	static const char units[] = "KMGT";
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v <= 0 || *s == '-' || *s == '+')
		return 0;
	const char *u = *end ? strchr(units, *end == 'k' ? 'K' : *end) : NULL;
	if (u) {
		for (const char *p = units; p <= u; p++)
			v *= 1024.0;
		end++;
		if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
			end += strlen(end);
	} else if (strcmp(end, "B") == 0) {
		end++;
	}
	if (*end || v < 1 || v >= 18e18)
		return 0;
	return (uint64_t)v;
}

static int parse_action(struct cache_opts *o, const char *word)
{
	static const char *const actions[] = { "stats", "prune", "clear" };

	for (int i = 0; i < 3; i++)
		if (strcmp(word, actions[i]) == 0) {
			o->action = (enum cache_action)i;
			return -1;
		}
	return cli_usage_error("cache", "unknown action '%s'%s", word,
	                       cli_suggest(word, actions, 3, ""));
}

static int parse_args(struct cache_opts *o, int argc, char **argv, cli_ctx *ctx)
{
	bool sized = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh" CLI_COMMON_SHORTOPTS, cache_long, NULL)) != -1) {
		int common = cli_common_option(ctx, "cache", c, argv, cache_long);
		if (common == -1)
			continue;
		if (common != CLI_NOT_COMMON)
			return common;
		switch (c) {
		case OPT_CACHE_DIR: o->dir = optarg; break;
		case OPT_JSON: o->json = true; break;
		case 'q': o->quiet = true; break;
		case OPT_MAX_SIZE:
			if (!(o->max_size = parse_size(optarg)))
				return cli_usage_error("cache", "invalid size '%s' (e.g. 500M, 2G)", optarg);
			sized = true;
			break;
		case 'h':
			fputs(cache_usage, stdout);
			return cli_finish_stdout(CLI_EXIT_OK);
		}
	}
	if (optind >= argc)
		return cli_usage_error("cache", "missing 'stats', 'prune' or 'clear'");
	if (optind + 1 < argc)
		return cli_usage_error("cache", "unexpected argument '%s'", argv[optind + 1]);
	int rc = parse_action(o, argv[optind]);
	if (rc >= 0)
		return rc;
	if (sized && o->action != CACHE_PRUNE)
		return cli_usage_error("cache", "--max-size goes with 'prune' only");
	if (o->json && o->quiet)
		return cli_usage_error("cache", "--json and --quiet cannot be combined");
	return -1;
}

static void json_head(const char *type, const char *dir)
{
	printf("{\"type\":\"%s\",\"cache_dir\":", type);
	out_json_cstr(stdout, dir);
}

/* One remote's counters (pyc/remote.h), after the local store's. */
static void print_remote(const struct cache_opts *o, const char *dir, const pyc_remote_counts *r)
{
	uint64_t gets = r->hits + r->misses;
	char rd[32], wr[32];

	if (o->json) {
		json_head("remote", dir);
		fputs(",\"url\":", stdout);
		out_json_cstr(stdout, r->url);
		printf(",\"hits\":%llu,\"misses\":%llu,\"stores\":%llu,\"errors\":%llu,"
		       "\"bytes_read\":%llu,\"bytes_written\":%llu,\"seconds\":%.6f}\n",
		       (unsigned long long)r->hits, (unsigned long long)r->misses,
		       (unsigned long long)r->stores, (unsigned long long)r->errors,
		       (unsigned long long)r->bytes_read, (unsigned long long)r->bytes_written,
		       r->seconds);
		return;
	}
	if (o->quiet)
		return;
	out_bytes_human(rd, sizeof(rd), r->bytes_read);
	out_bytes_human(wr, sizeof(wr), r->bytes_written);
	fputs("Remote:              ", stdout);
	out_human_path(stdout, r->url);
	printf("\n  Hits:             %10llu / %llu (%.2f %%)\n", (unsigned long long)r->hits,
	       (unsigned long long)gets, gets ? 100.0 * (double)r->hits / (double)gets : 0.0);
	printf("  Misses:           %10llu\n", (unsigned long long)r->misses);
	printf("  Stores:           %10llu\n", (unsigned long long)r->stores);
	printf("  Errors:           %10llu\n", (unsigned long long)r->errors);
	printf("  Read:             %10s\n", rd);
	printf("  Written:          %10s\n", wr);
	printf("  Time spent:       %10.2f s\n", r->seconds);
}

static void print_stats(const struct cache_opts *o, const char *dir, const pyc_store_counts *c,
                        const pyc_remote_counts *remotes, size_t nremotes)
{
	uint64_t gets = c->hits + c->misses;
	char size[32];

	if (o->json) {
		json_head("stats", dir);
		printf(",\"hits\":%llu,\"misses\":%llu,\"stores\":%llu,\"errors\":%llu,"
		       "\"cleanups\":%llu,\"entries\":%llu,\"bytes\":%llu,\"seconds_saved\":%.6f}\n",
		       (unsigned long long)c->hits, (unsigned long long)c->misses,
		       (unsigned long long)c->stores, (unsigned long long)c->errors,
		       (unsigned long long)c->cleanups, (unsigned long long)c->entries,
		       (unsigned long long)c->bytes, c->seconds_saved);
		for (size_t i = 0; i < nremotes; i++)
			print_remote(o, dir, &remotes[i]);
		json_head("summary", dir);
		printf(",\"action\":\"stats\",\"entries\":%llu,\"bytes\":%llu}\n",
		       (unsigned long long)c->entries, (unsigned long long)c->bytes);
		return;
	}
	if (o->quiet)
		return;
	out_bytes_human(size, sizeof(size), c->bytes);
	fputs("Cache directory:     ", stdout);
	out_human_path(stdout, dir);
	printf("\nHits:               %10llu / %llu (%.2f %%)\n", (unsigned long long)c->hits,
	       (unsigned long long)gets, gets ? 100.0 * (double)c->hits / (double)gets : 0.0);
	printf("Misses:             %10llu / %llu (%.2f %%)\n", (unsigned long long)c->misses,
	       (unsigned long long)gets, gets ? 100.0 * (double)c->misses / (double)gets : 0.0);
	printf("Compile time saved: %10.2f s\n", c->seconds_saved);
	printf("Stores:             %10llu\n", (unsigned long long)c->stores);
	printf("Errors:             %10llu\n", (unsigned long long)c->errors);
	printf("Cleanups:           %10llu\n", (unsigned long long)c->cleanups);
	printf("Entries:            %10llu\n", (unsigned long long)c->entries);
	printf("Size:               %10s\n", size);
	for (size_t i = 0; i < nremotes; i++)
		print_remote(o, dir, &remotes[i]);
}

static void print_result(const struct cache_opts *o, const char *dir, const pyc_store_result *r)
{
	const char *verb = o->action == CACHE_PRUNE ? "prune" : "clear";
	char removed[32], left[32];

	if (o->json) {
		json_head("summary", dir);
		printf(",\"action\":\"%s\"", verb);
		if (o->action == CACHE_PRUNE)
			printf(",\"max_size\":%llu",
			       (unsigned long long)(o->max_size ? o->max_size : PYC_STORE_DEFAULT_MAX_SIZE));
		printf(",\"removed_entries\":%llu,\"removed_bytes\":%llu,\"entries\":%llu,\"bytes\":%llu}\n",
		       (unsigned long long)r->removed_entries, (unsigned long long)r->removed_bytes,
		       (unsigned long long)r->entries, (unsigned long long)r->bytes);
		return;
	}
	if (o->quiet)
		return;
	out_bytes_human(removed, sizeof(removed), r->removed_bytes);
	out_bytes_human(left, sizeof(left), r->bytes);
	printf("removed %llu entries (%s)", (unsigned long long)r->removed_entries, removed);
	if (o->action == CACHE_PRUNE)
		printf("; %llu entries (%s) left", (unsigned long long)r->entries, left);
	fputs(" in ", stdout);
	out_human_path(stdout, dir);
	fputc('\n', stdout);
}

int cmd_cache(int argc, char **argv, cli_ctx *ctx)
{
	struct cache_opts o = { 0 };
	pyc_buf dir = PYC_BUF_INIT;
	pyc_error err = { 0 };
	pyc_store_counts counts;
	pyc_store_result res;
	pyc_remote_counts *remotes = NULL;
	size_t nremotes = 0;

	int rc = parse_args(&o, argc, argv, ctx);
	if (rc >= 0)
		return rc;
	if (pyc_store_dir(&dir, o.dir) < 0) {
		cli_error("no cache directory: set PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME or HOME, or "
		          "give --cache-dir");
		return CLI_EXIT_RUNTIME;
	}
	if (o.action == CACHE_STATS) {
		if ((rc = pyc_store_stats(dir.ptr, &counts, &err)) == 0)
			rc = pyc_remote_stats(dir.ptr, &remotes, &nremotes, &err);
	} else if (o.action == CACHE_PRUNE)
		rc = pyc_store_prune(dir.ptr, o.max_size, &res, &err);
	else
		rc = pyc_store_clear(dir.ptr, &res, &err);
	if (rc < 0) {
		cli_error("%s", err.message);
		rc = CLI_EXIT_RUNTIME;
	} else {
		if (o.action == CACHE_STATS)
			print_stats(&o, dir.ptr, &counts, remotes, nremotes);
		else
			print_result(&o, dir.ptr, &res);
		rc = cli_finish_stdout(CLI_EXIT_OK);
	}
	pyc_remote_counts_free(remotes, nremotes);
	pyc_buf_dispose(&dir);
	return rc;
}
