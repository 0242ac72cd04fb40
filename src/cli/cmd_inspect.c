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
#include <sys/stat.h>
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
	"usage: pyc-tool inspect [--json | -q] [--prefix DIR] FILE.pyc...\n"
	"\n"
	"Decode each file's header (magic number and bytes, version, flags and invalidation\n"
	"mode, mtime and size or source hash) and judge it against the source it belongs to.\n"
	"\n"
	"options:\n"
	"  --json              one JSON object per file (JSON Lines)\n"
	"  -q, --quiet         print nothing but errors; the exit status tells\n"
	"  --prefix DIR        pycache prefix for files under it (default:\n"
	"                      $PYTHONPYCACHEPREFIX)\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 all fresh, 1 some file is not fresh, 2 usage error (or a file that is\n"
	"not a cache), 3 a file is missing or unreadable. See 'man pyc-tool-inspect'.\n";

/* What a file that is not a regular file is, for the error message. */
static const char *kind_name(mode_t m)
{
	if (S_ISFIFO(m))
		return "not a regular file (a FIFO)";
	if (S_ISSOCK(m))
		return "not a regular file (a socket)";
	if (S_ISCHR(m))
		return "not a regular file (a character device)";
	if (S_ISBLK(m))
		return "not a regular file (a block device)";
	return "not a regular file";
}

/*
 * Read the first bytes of the file. Returns NULL, or why it cannot be read. Only a
 * regular file is opened for reading: a FIFO would block the open (and the read), a
 * device may act on open. The file is checked again once open, in case it was swapped.
 */
static const char *read_raw(struct inspect_item *it)
{
	struct stat st;
	if (stat(it->path, &st) < 0)
		return strerror(errno);
	if (S_ISDIR(st.st_mode))
		return strerror(EISDIR);
	if (!S_ISREG(st.st_mode))
		return kind_name(st.st_mode);
	int fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return strerror(errno);
	const char *why = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		why = S_ISDIR(st.st_mode) ? strerror(EISDIR) : kind_name(st.st_mode);
	it->nraw = 0;
	while (!why && it->nraw < sizeof(it->raw)) {
		ssize_t n = read(fd, it->raw + it->nraw, sizeof(it->raw) - it->nraw);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			why = strerror(errno);
		if (n <= 0)
			break;
		it->nraw += (size_t)n;
	}
	close(fd);
	return why;
}

/* Which source does this cache belong to? Leaves it->source empty when none. */
static int find_source(struct inspect_item *it, const char *prefix)
{
	pyc_cache_name cn;
	int rc = pyc_cache_find_source(&it->source, &cn, &it->kind, it->path, prefix);

	it->tag[0] = '\0';
	if (rc == 0 && cn.tag && cn.tag_len < sizeof(it->tag)) {
		memcpy(it->tag, cn.tag, cn.tag_len);
		it->tag[cn.tag_len] = '\0';
	}
	return rc;
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
	fputs("{\"type\":\"cache\",\"path\":", stdout);
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

/* What the files came to, for the JSON summary. */
struct inspect_tally {
	unsigned shown;             /* reports printed (the human ones are separated by a
	                               blank line) */
	size_t state[PYC_STATE_MISSING + 1];
	size_t unjudged, errors;
};

static void json_summary(const struct inspect_tally *t)
{
	size_t caches = t->unjudged;
	for (int i = 0; i < PYC_STATE_MISSING; i++)
		caches += t->state[i];
	printf("{\"type\":\"summary\",\"caches\":%zu", caches);
	for (int i = 0; i < PYC_STATE_MISSING; i++)
		printf(",\"%s\":%zu", pyc_state_name((enum pyc_state)i), t->state[i]);
	printf(",\"unjudged\":%zu,\"errors\":%zu}\n", t->unjudged, t->errors);
}

/* Decode and judge one file, counting it in *t (no report without a style: --quiet).
 * Returns an exit code contribution: 0, 1, 2 (not a cache) or 3. */
static int inspect_one(const char *path, const char *prefix, bool json, const out_style *st,
                       struct inspect_tally *t)
{
	struct inspect_item it = { .path = path, .source = PYC_BUF_INIT };
	if (cli_check_operand(path, json) < 0) {
		t->errors++;
		return CLI_EXIT_RUNTIME;
	}
	const char *why = read_raw(&it);
	if (why) {
		t->errors++;
		cli_error_at(json, path, "cannot read '%s': %s", path, why);
		return CLI_EXIT_RUNTIME;
	}
	it.drc = pyc_header_decode(&it.h, it.raw, it.nraw);
	if (it.drc == PYC_EBADMAGIC)
		it.h.info = NULL;
	/* Neither named nor made like bytecode (a source, say): a magic table of its first
	 * bytes would only mislead. A renamed pyc keeps its known magic and is decoded. */
	if (!it.h.info && !pyc_is_bytecode_name(path)) {
		t->errors++;
		cli_error_at(json, path, "'%s' is not a bytecode cache", path);
		return CLI_EXIT_USAGE;
	}
	int rc = CLI_EXIT_OK;
	if (find_source(&it, prefix) < 0) {
		t->errors++;
		cli_error_at(json, path, "out of memory");
		rc = CLI_EXIT_RUNTIME;
		goto done;
	}
	if (it.source.len) {
		pyc_error err = { 0 };
		const char *tag = strncmp(it.tag, "cpython-", 8) == 0 ? it.tag : NULL;
		int c = pyc_stale_check(&it.v, it.kind, AT_FDCWD, path, tag, AT_FDCWD,
		                        pyc_buf_cstr(&it.source), &err);
		if (c < 0) {
			t->errors++;
			cli_error_at(json, path, "%s", err.message);
			rc = CLI_EXIT_RUNTIME;
			goto done;
		}
		it.judged = true;
	}
	if (json) {
		json_item(&it);
	} else if (st) {
		if (t->shown++)
			putchar('\n');
		human_item(&it, st);
	}
	if (it.judged)
		t->state[it.v.state]++;
	else
		t->unjudged++;
	if (!it.judged || it.v.state != PYC_STATE_FRESH)
		rc = CLI_EXIT_FINDINGS;
done:
	pyc_buf_dispose(&it.source);
	return rc;
}

int cmd_inspect(int argc, char **argv, cli_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, quiet = false;
	const char *prefix_opt = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int rc = cli_common_option(ctx, "inspect", c, argv, longopts);
		if (rc == -1)
			continue;
		if (rc != CLI_NOT_COMMON)
			return rc;
		if (c == 'j') {
			json = true;
		} else if (c == 'q') {
			quiet = true;
		} else if (c == 'p') {
			prefix_opt = optarg;
		} else if (c == 'h') {
			fputs(inspect_usage, stdout);
			return cli_finish_stdout(CLI_EXIT_OK);
		}
	}
	if (optind >= argc)
		return cli_usage_error("inspect", "no file given");
	if (json && quiet)
		return cli_usage_error("inspect", "--json and --quiet cannot be combined");
	const char *prefix = pyc_pycache_prefix(prefix_opt);
	out_style st = out_style_for(ctx->color && !json);
	int rc = CLI_EXIT_OK;
	struct inspect_tally t = { 0 };
	for (int i = optind; i < argc; i++) {
		int r = inspect_one(argv[i], prefix, json, quiet ? NULL : &st, &t);
		if (r > rc)
			rc = r;
	}
	if (json)
		json_summary(&t);
	return cli_finish_stdout(rc);
}
