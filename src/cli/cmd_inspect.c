/*
 * cmd_inspect.c - `pyc-tool inspect FILE.pyc...`: decode each header and judge the file
 * against its source. docs/status.md.
 */
#include "cli.h"
#include "suggest.h"
#include "out.h"

#include "pyc/buf.h"
#include "pyc/cache_path.h"
#include "pyc/stale.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct inspect_item {
	const char *path;
	uint8_t raw[PYC_HEADER_MAX];
	size_t nraw;
	pyc_header h;
	int drc;                    /* pyc_header_decode() result */
	pyc_buf source;             /* empty when no source can be named */
	enum pyc_cache_kind kind;
	char tag[64];               /* the name's tag, "" when none */
	pyc_verdict v;
	bool judged;
};

static const char inspect_usage[] =
	"usage: pyc-tool inspect [--json] [--prefix DIR] FILE.pyc...\n"
	"\n"
	"Decode each file's header (magic number and bytes, version, flags and invalidation\n"
	"mode, mtime and size or source hash) and judge it against the source it belongs to.\n"
	"\n"
	"options:\n"
	"  --json          one JSON object per file (JSON Lines)\n"
	"  --prefix DIR    pycache prefix for files under it (default: $PYTHONPYCACHEPREFIX)\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 all fresh, 1 some file is not fresh, 2 usage error, 3 unreadable file.\n";

/* Read the first bytes of the file. Returns 0 or an errno. */
static int read_raw(struct inspect_item *it)
{
	int fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	it->nraw = 0;
	while (it->nraw < sizeof(it->raw)) {
		ssize_t n = read(fd, it->raw + it->nraw, sizeof(it->raw) - it->nraw);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		it->nraw += (size_t)n;
	}
	close(fd);
	return 0;
}

/* name parsed as a PEP 3147 cache name (".pyo" as ".pyc"); fills it->tag. */
static bool parse_name(struct inspect_item *it, const char *name, pyc_cache_name *cn)
{
	char copy[4096];
	size_t len = strlen(name);
	if (len >= sizeof(copy))
		return false;
	memcpy(copy, name, len + 1);
	if (len >= 4 && strcmp(copy + len - 4, ".pyo") == 0)
		copy[len - 1] = 'c';
	if (pyc_cache_name_parse(cn, copy) < 0 || cn->tag_len >= sizeof(it->tag))
		return false;
	memcpy(it->tag, cn->tag, cn->tag_len);
	it->tag[cn->tag_len] = '\0';
	/* Spans must point into the caller's name, not our copy. */
	cn->stem = name + (cn->stem - copy);
	return true;
}

/* source_from_cache() under the prefix, with the path made absolute first (prefix trees
 * mirror absolute source paths). */
static bool under_prefix(struct inspect_item *it, const char *prefix)
{
	pyc_buf abs = PYC_BUF_INIT;
	bool ok = pyc_abspath(&abs, it->path, NULL, NULL) == 0 &&
	          pyc_source_from_cache(&it->source, pyc_buf_cstr(&abs), prefix) == 0;
	pyc_buf_dispose(&abs);
	return ok;
}

/* Which source does this cache belong to? Leaves it->source empty when none. */
static int find_source(struct inspect_item *it, const char *prefix)
{
	const char *slash = strrchr(it->path, '/');
	const char *name = slash ? slash + 1 : it->path;
	size_t dir_len = slash ? (size_t)(slash - it->path) : 0;
	pyc_cache_name cn;
	bool in_pycache = dir_len >= 11 && memcmp(it->path + dir_len - 11, "__pycache__", 11) == 0 &&
	                  (dir_len == 11 || it->path[dir_len - 12] == '/');
	if (in_pycache && parse_name(it, name, &cn)) {
		it->kind = PYC_CACHE_PEP3147;
		if (pyc_buf_put(&it->source, it->path, dir_len - 11) < 0 ||
		    pyc_buf_put(&it->source, cn.stem, cn.stem_len) < 0 ||
		    pyc_buf_puts(&it->source, ".py") < 0)
			return PYC_ENOMEM;
		return 0;
	}
	if (prefix && under_prefix(it, prefix) && parse_name(it, name, &cn)) {
		it->kind = PYC_CACHE_PEP3147;
		return 0;
	}
	pyc_buf_clear(&it->source);
	it->tag[0] = '\0';
	if (pyc_is_bytecode_name(name)) {
		it->kind = PYC_CACHE_LEGACY;
		return pyc_buf_put(&it->source, it->path, strlen(it->path) - 1);
	}
	return 0;
}

static void iso_utc(char *buf, size_t cap, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "?");
}

static unsigned raw_magic(const struct inspect_item *it)
{
	return it->nraw >= 2 ? (unsigned)it->raw[0] | (unsigned)it->raw[1] << 8 : 0;
}

/* Lowercase hex of p[0..n), bytes separated by `sep` (a space or nothing); buf needs 3n+1. */
static void hex(char *buf, const uint8_t *p, size_t n, bool sep)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && sep)
			buf[o++] = ' ';
		buf[o++] = digits[p[i] >> 4];
		buf[o++] = digits[p[i] & 15];
	}
	buf[o] = '\0';
}

static void human_header(const struct inspect_item *it)
{
	const pyc_header *h = &it->h;
	char bytes[16], when[64];
	hex(bytes, it->raw, it->nraw < 4 ? it->nraw : 4, true);
	printf("  magic:    %u (%s)", raw_magic(it), bytes);
	if (h->info && h->info->is_final)
		printf(" CPython %u.%u (first in %s), cache tag %s", (unsigned)h->info->major,
		       (unsigned)h->info->minor, h->info->label,
		       h->info->cache_tag ? h->info->cache_tag : "none (beside the source)");
	else if (h->info)
		printf(" %s: a pre-release magic, never written by a final %u.%u", h->info->label,
		       (unsigned)h->info->major, (unsigned)h->info->minor);
	else
		fputs(it->nraw < 4 ? " truncated" : " unknown", stdout);
	putchar('\n');
	if (!h->info)
		return;
	printf("  header:   %u bytes", (unsigned)h->info->header_size);
	if (it->drc == PYC_ETRUNCATED) {
		printf(", truncated: the file has only %zu\n", it->nraw);
		return;
	}
	if (h->info->header_size == 16)
		printf(", flags 0x%08x", (unsigned)h->flags);
	if (it->drc == PYC_EBADFLAGS) {
		puts(": unknown flag bits");
		return;
	}
	printf(": %s\n", pyc_invalidation_name(h->mode));
	if (h->mode != PYC_INVALIDATION_TIMESTAMP) {
		char hx[17];
		hex(hx, h->hash, 8, false);
		printf("  hash:     %s\n", hx);
		return;
	}
	iso_utc(when, sizeof(when), h->mtime);
	printf("  mtime:    %s (%u)\n", when, (unsigned)h->mtime);
	if (h->info->header_size >= 12)
		printf("  size:     %u\n", (unsigned)h->source_size);
}

static void human_item(const struct inspect_item *it, const out_style *st)
{
	printf("%s", st->bold);
	out_human_path(stdout, it->path);
	printf("%s\n", st->reset);
	human_header(it);
	fputs("  source:   ", stdout);
	if (it->source.len)
		out_human_path(stdout, pyc_buf_cstr(&it->source));
	else
		fputs("(none: not a cache file name)", stdout);
	putchar('\n');
	if (!it->judged) {
		puts("  verdict:  unknown");
		return;
	}
	const pyc_verdict *v = &it->v;
	printf("  verdict:  %s%s%s%s%s", v->state == PYC_STATE_FRESH ? st->green : st->yellow,
	       pyc_state_name(v->state), v->reason ? " (" : "",
	       v->reason ? pyc_reason_name(v->reason) : "", v->reason ? ")" : "");
	printf("%s", st->reset);
	if (v->unchecked)
		fputs(", unchecked: the interpreter loads it without checking its source", stdout);
	if (v->state == PYC_STATE_STALE && v->header.mode == PYC_INVALIDATION_TIMESTAMP) {
		char when[64];
		iso_utc(when, sizeof(when), v->source.mtime_sec);
		printf("; source now %s, %llu bytes", when, (unsigned long long)v->source.size);
	}
	putchar('\n');
}

static void json_item(const struct inspect_item *it)
{
	const pyc_header *h = &it->h;
	char buf[64];
	fputs("{\"path\":", stdout);
	out_json_cstr(stdout, it->path);
	hex(buf, it->raw, it->nraw < 4 ? it->nraw : 4, false);
	if (it->nraw >= 4)
		printf(",\"magic\":%u,\"magic_bytes\":\"%s\"", raw_magic(it), buf);
	else
		printf(",\"magic\":null,\"magic_bytes\":\"%s\"", buf);
	if (h->info) {
		printf(",\"version\":\"%u.%u\",\"label\":", (unsigned)h->info->major,
		       (unsigned)h->info->minor);
		out_json_cstr(stdout, h->info->label);
		printf(",\"final\":%s,\"cache_tag\":", h->info->is_final ? "true" : "false");
		out_json_cstr(stdout, h->info->cache_tag);
		printf(",\"header_size\":%u", (unsigned)h->info->header_size);
	} else {
		fputs(",\"version\":null,\"label\":null,\"final\":null,\"cache_tag\":null,"
		      "\"header_size\":null", stdout);
	}
	bool flags_ok = it->drc == 0 || it->drc == PYC_EBADFLAGS;
	if (flags_ok && h->info->header_size == 16)
		printf(",\"flags\":%u", (unsigned)h->flags);
	else
		printf(",\"flags\":%s", it->drc == 0 ? "0" : "null");
	fputs(",\"mode\":", stdout);
	out_json_cstr(stdout, it->drc == 0 ? pyc_invalidation_name(h->mode) : NULL);
	if (it->drc == 0 && h->mode == PYC_INVALIDATION_TIMESTAMP) {
		iso_utc(buf, sizeof(buf), h->mtime);
		printf(",\"mtime\":%u,\"mtime_iso\":\"%s\"", (unsigned)h->mtime, buf);
		if (h->info->header_size >= 12)
			printf(",\"source_size\":%u", (unsigned)h->source_size);
		else
			fputs(",\"source_size\":null", stdout);
		fputs(",\"hash\":null", stdout);
	} else {
		fputs(",\"mtime\":null,\"mtime_iso\":null,\"source_size\":null,\"hash\":", stdout);
		if (it->drc == 0) {
			hex(buf, h->hash, 8, false);
			printf("\"%s\"", buf);
		} else {
			fputs("null", stdout);
		}
	}
	fputs(",\"source\":", stdout);
	out_json_cstr(stdout, it->source.len ? pyc_buf_cstr(&it->source) : NULL);
	fputs(",\"state\":", stdout);
	out_json_cstr(stdout, it->judged ? pyc_state_name(it->v.state) : NULL);
	fputs(",\"reason\":", stdout);
	out_json_cstr(stdout, it->judged && it->v.reason ? pyc_reason_name(it->v.reason) : NULL);
	printf(",\"unchecked\":%s}\n", it->judged && it->v.unchecked ? "true" : "false");
}

/* Decode and judge one file. Returns an exit code contribution: 0, 1 or 3. */
static int inspect_one(const char *path, const char *prefix, bool json, const out_style *st)
{
	struct inspect_item it = { .path = path, .source = PYC_BUF_INIT };
	int e = read_raw(&it);
	if (e) {
		cli_error("cannot read '%s': %s", path, strerror(e));
		return CLI_EXIT_RUNTIME;
	}
	it.drc = pyc_header_decode(&it.h, it.raw, it.nraw);
	if (it.drc == PYC_EBADMAGIC)
		it.h.info = NULL;
	int rc = CLI_EXIT_OK;
	if (find_source(&it, prefix) < 0) {
		cli_error("out of memory");
		rc = CLI_EXIT_RUNTIME;
		goto done;
	}
	if (it.source.len) {
		pyc_error err = { 0 };
		const char *tag = strncmp(it.tag, "cpython-", 8) == 0 ? it.tag : NULL;
		int c = pyc_stale_check(&it.v, it.kind, AT_FDCWD, path, tag, AT_FDCWD,
		                        pyc_buf_cstr(&it.source), &err);
		if (c < 0) {
			cli_error("%s", err.message);
			rc = CLI_EXIT_RUNTIME;
			goto done;
		}
		it.judged = true;
	}
	if (json)
		json_item(&it);
	else
		human_item(&it, st);
	if (!it.judged || it.v.state != PYC_STATE_FRESH)
		rc = CLI_EXIT_FINDINGS;
done:
	pyc_buf_dispose(&it.source);
	return rc;
}

int cmd_inspect(int argc, char **argv, const cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *prefix_opt = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'p') {
			prefix_opt = optarg;
		} else if (c == 'h') {
			fputs(inspect_usage, stdout);
			return cli_finish_stdout(CLI_EXIT_OK);
		} else if (c == ':') {
			return cli_usage_error("inspect", "option '%s' needs an argument", argv[optind - 1]);
		} else {
			return cli_usage_error("inspect", "unknown option '%s'%s", argv[optind - 1],
			                       cli_suggest_option(argv[optind - 1], longopts));
		}
	}
	if (optind >= argc)
		return cli_usage_error("inspect", "no file given");
	const char *prefix = pyc_pycache_prefix(prefix_opt);
	out_style st = out_style_for(ctx->color);
	int rc = CLI_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		if (i > optind && !json)
			putchar('\n');
		int r = inspect_one(argv[i], prefix, json, &st);
		if (r > rc)
			rc = r;
	}
	return cli_finish_stdout(rc);
}
