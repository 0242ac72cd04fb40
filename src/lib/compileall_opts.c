/*
 * compileall_opts.c - option defaults and validation against the target's compileall
 * (include/pyc/compileall.h), and the -x regex.
 */
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
