/*
 * compileall_fresh.c - option defaults and validation, and the freshness verdict of one cache
 * file for compileall (include/pyc/compileall.h).
 */
#include "pyc/compileall.h"
#include "pyc/magic.h"
#include "pyc/stale.h"

#include "compileall_internal.h"

#include <string.h>

void pyc_compileall_opts_init(pyc_compileall_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->maxlevels = -1;
	o->jobs = 1;
	o->timeout_sec = 600;
	o->mode = PYC_INVALIDATION_TIMESTAMP;
}

const char *pyc_compileall_why_name(enum pyc_compileall_why why)
{
	switch (why) {
	case PYC_COMPILEALL_FRESH: return "fresh";
	case PYC_COMPILEALL_WHY_FORCED: return "forced";
	case PYC_COMPILEALL_WHY_MISSING: return "missing";
	case PYC_COMPILEALL_WHY_UNREADABLE: return "unreadable";
	case PYC_COMPILEALL_WHY_CORRUPT: return "corrupt";
	case PYC_COMPILEALL_WHY_VERSION: return "version";
	case PYC_COMPILEALL_WHY_MODE: return "mode";
	case PYC_COMPILEALL_WHY_MTIME: return "mtime";
	case PYC_COMPILEALL_WHY_SIZE: return "size";
	case PYC_COMPILEALL_WHY_HASH: return "hash";
	}
	return "?";
}

/* Options the target's compileall does not know: argparse's "unrecognized arguments". */
static int check_version_options(const pyc_compileall_opts *o, const pyc_interp *in,
                                 pyc_error *err)
{
	const char *opt = NULL, *since = "3.9";
	if (in->major == 3 && in->minor < 9) {
		if (o->stripdir)
			opt = "-s";
		else if (o->prependdir)
			opt = "-p";
		else if (o->nlevels)
			opt = "-o";
		else if (o->limit_sl_dest)
			opt = "-e";
		else if (o->hardlink_dupes)
			opt = "--hardlink-dupes";
	}
	if (!opt && in->major == 3 && in->minor < 7 && o->mode_set) {
		opt = "--invalidation-mode";
		since = "3.7";
	}
	if (opt)
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "%s needs Python %s+ (the compileall of '%s' (%d.%d) has no "
		                     "such option)", opt, since, in->exe, in->major, in->minor);
	return 0;
}

int pyc_compileall_validate(const pyc_compileall_opts *o, const pyc_interp *in, pyc_error *err)
{
	if (in->major != 3 || in->minor < 6)
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "'%s' is Python %d.%d: compile supports CPython 3.6 and later",
		                     in->exe, in->major, in->minor);
	if (o->hardlink_dupes && o->nlevels <= 1)
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "Hardlinking of duplicated bytecode makes sense only for more "
		                     "than one optimization level.");
	if (o->ddir && (o->stripdir || o->prependdir))
		return pyc_error_set(err, PYC_EINVAL, 0,
		                     "-d cannot be used in combination with -s or -p");
	int rc = check_version_options(o, in, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < o->nlevels; i++)
		if (o->levels[i] < -1 || o->levels[i] > 2)
			return pyc_error_set(err, PYC_EINVAL, 0,
			                     "invalid optimization level %d (must be -1, 0, 1 or 2)",
			                     o->levels[i]);
	if (o->hardlink_dupes) {
		int lv[PYC_COMPILEALL_MAX_COMPILES];
		bool twice[PYC_COMPILEALL_MAX_COMPILES];
		size_t n = pyc_compileall_sequence(lv, twice, o->levels, o->nlevels, in->optimize,
		                                   false);
		/* compileall checks the distinct levels again per file and crashes with
		 * ValueError; we refuse up front. */
		if (n - twice[0] < 2)
			return pyc_error_set(err, PYC_EINVAL, 0,
			                     "Hardlinking of duplicated bytecode makes sense only for "
			                     "more than one optimization level.");
		/* -1 right before the level it means: compileall writes that pyc twice, then
		 * unlinks it to link it to itself, and every file fails with FileNotFoundError.
		 * (With a level between them it links different files and works.) */
		if (twice[0] && lv[1] == lv[0])
			return pyc_error_set(err, PYC_EINVAL, 0,
			                     "-o -1 means -o %d here, also given: with --hardlink-dupes "
			                     "compileall fails on every file (it links that pyc to itself)",
			                     lv[0]);
	}
	if (o->rx) {
		pcre2_code *re = pyc_compileall__rx_compile(o->rx, err);
		if (!re)
			return err ? err->code : PYC_EINVAL;
		pcre2_code_free(re);
	}
	return 0;
}

pcre2_code *pyc_compileall__rx_compile(const char *pattern, pyc_error *err)
{
	/* Python's \Z (end of string only) is PCRE2's \z; everything else compileall users
	 * write ((?P<n>..), \d, lookarounds, inline flags) means the same in both. */
	pyc_buf pat = PYC_BUF_INIT;
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '\\' && p[1] == 'Z') {
			pyc_buf_puts(&pat, "\\z");
			p++;
		} else if (p[0] == '\\' && p[1]) {
			pyc_buf_put(&pat, p, 2);
			p++;
		} else {
			pyc_buf_putc(&pat, *p);
		}
	}
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pyc_buf_cstr(&pat), pat.len,
	                               PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code,
	                               &off, NULL);
	pyc_buf_dispose(&pat);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		pyc_error_set(err, PYC_EINVAL, 0, "invalid -x regex '%s' at offset %zu: %s", pattern,
		              (size_t)off, (const char *)msg);
	}
	return re;
}

/* The header must be of the requested kind; then the import system's own rule decides. */
static enum pyc_compileall_why judge_header(const pyc_header *h, enum pyc_invalidation mode,
                                            int64_t sec, long nsec, uint64_t size,
                                            const uint8_t *source_hash)
{
	uint32_t want = mode == PYC_INVALIDATION_TIMESTAMP ? 0u
	              : mode == PYC_INVALIDATION_CHECKED_HASH ? 3u : 1u;
	if (h->flags != want)
		return PYC_COMPILEALL_WHY_MODE;
	pyc_verdict v;
	pyc_stale_judge(&v, h, &(pyc_source_stat){sec, nsec, size}, source_hash);
	switch (v.reason) {
	case PYC_REASON_MTIME: return PYC_COMPILEALL_WHY_MTIME;
	case PYC_REASON_SIZE: return PYC_COMPILEALL_WHY_SIZE;
	case PYC_REASON_HASH: return PYC_COMPILEALL_WHY_HASH;
	default: return PYC_COMPILEALL_FRESH;
	}
}

enum pyc_compileall_why pyc_compileall_judge(const uint8_t *hdr, size_t n, uint64_t file_size,
                                             uint16_t magic, enum pyc_invalidation mode,
                                             int64_t mtime_sec, long mtime_nsec,
                                             uint64_t source_size, const uint8_t *source_hash)
{
	if (n < 4 || hdr[2] != '\r' || hdr[3] != '\n')
		return PYC_COMPILEALL_WHY_CORRUPT;
	uint16_t got = (uint16_t)(hdr[0] | hdr[1] << 8);
	if (got != magic)
		return pyc_magic_lookup(got) ? PYC_COMPILEALL_WHY_VERSION : PYC_COMPILEALL_WHY_CORRUPT;
	pyc_header h;
	if (pyc_header_decode(&h, hdr, n) < 0 || file_size <= h.size)
		return PYC_COMPILEALL_WHY_CORRUPT;
	return judge_header(&h, mode, mtime_sec, mtime_nsec, source_size, source_hash);
}
