/*
 * compileall_dfile.c - the pure parts of compileall: os.path.join, the dfile rules of each
 * version, optimisation levels and maxlevels (include/pyc/compileall.h).
 */
#include "pyc/compileall.h"

#include <stdlib.h>
#include <string.h>

int pyc_compileall_path_join(pyc_buf *out, const char *b)
{
	/* posixpath.join: an absolute part restarts, otherwise add '/' unless the path so far
	 * is empty or already ends with one. */
	if (b[0] == '/') {
		pyc_buf_clear(out);
		return pyc_buf_puts(out, b);
	}
	if (out->len > 0 && out->ptr[out->len - 1] != '/' && pyc_buf_putc(out, '/') < 0)
		return PYC_ENOMEM;
	return pyc_buf_puts(out, b);
}

/* str.split('/') into an array of spans; caller frees *parts. */
typedef struct span {
	const char *p;
	size_t n;
} span;

static int split_slash(span **parts, size_t *count, const char *s)
{
	size_t n = 1;
	for (const char *c = s; *c; c++)
		n += *c == '/';
	span *v = calloc(n, sizeof(*v));
	if (!v)
		return PYC_ENOMEM;
	size_t i = 0;
	const char *start = s;
	for (const char *c = s;; c++) {
		if (*c == '/' || *c == '\0') {
			v[i].p = start;
			v[i].n = (size_t)(c - start);
			i++;
			start = c + 1;
			if (*c == '\0')
				break;
		}
	}
	*parts = v;
	*count = n;
	return 0;
}

static bool span_eq(span a, span b)
{
	return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* os.path.join(*parts) of the parts whose `keep` flag is set; PYC_EINVAL when none is
 * (os.path.join() with no argument raises TypeError in compileall). */
static int join_parts(pyc_buf *out, const span *parts, const bool *keep, size_t n)
{
	bool any = false;
	pyc_buf_clear(out);
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		char *part = strndup(parts[i].p, parts[i].n);
		if (!part)
			return PYC_ENOMEM;
		int rc = any ? pyc_compileall_path_join(out, part) : pyc_buf_puts(out, part);
		free(part);
		if (rc < 0)
			return rc;
		any = true;
	}
	/* An empty buffer is valid ("" is a real dfile); only no parts at all is the crash. */
	return any ? pyc_buf_put(out, "", 0) : PYC_EINVAL;
}

/*
 * The -s rule. 3.13+ (gh-105931): the stripdir components must be a prefix of the path's
 * components, else it is ignored with a warning. 3.9-3.12: for each pair of components at
 * the same index that are equal, the first component with that value is removed from the
 * path (list.remove), wherever it is.
 */
static int strip_dir(pyc_buf *out, bool *has, bool *ignored, int minor, const char *fullname,
                     const char *stripdir)
{
	span *fp = NULL, *sp = NULL;
	size_t fn, sn;
	bool *keep = NULL;
	int rc = split_slash(&fp, &fn, fullname);
	if (rc == 0)
		rc = split_slash(&sp, &sn, stripdir);
	if (rc == 0 && !(keep = malloc(fn * sizeof(*keep))))
		rc = PYC_ENOMEM;
	if (rc < 0)
		goto done;
	for (size_t i = 0; i < fn; i++)
		keep[i] = true;
	if (minor >= 13) {
		bool prefix = sn <= fn;
		for (size_t i = 0; prefix && i < sn; i++)
			prefix = span_eq(sp[i], fp[i]);
		if (!prefix) {
			*ignored = true;
			goto done;
		}
		for (size_t i = 0; i < sn; i++)
			keep[i] = false;
	} else {
		for (size_t i = 0; i < sn && i < fn; i++) {
			if (!span_eq(sp[i], fp[i]))
				continue;
			for (size_t j = 0; j < fn; j++) {
				if (keep[j] && span_eq(fp[j], sp[i])) {
					keep[j] = false;
					break;
				}
			}
		}
	}
	rc = join_parts(out, fp, keep, fn);
	*has = rc == 0;
done:
	free(fp);
	free(sp);
	free(keep);
	return rc;
}

int pyc_compileall_dfile(pyc_buf *out, bool *has_dfile, bool *strip_ignored, int minor,
                         const char *fullname, const char *ddir, const char *stripdir,
                         const char *prependdir)
{
	*has_dfile = false;
	*strip_ignored = false;
	pyc_buf_clear(out);
	if (ddir) {
		const char *slash = strrchr(fullname, '/');
		if (pyc_buf_puts(out, ddir) < 0 ||
		    pyc_compileall_path_join(out, slash ? slash + 1 : fullname) < 0)
			return PYC_ENOMEM;
		*has_dfile = true;
	}
	if (stripdir) {
		int rc = strip_dir(out, has_dfile, strip_ignored, minor, fullname, stripdir);
		if (rc < 0)
			return rc;
	}
	if (prependdir) {
		pyc_buf rest = PYC_BUF_INIT;
		int rc = pyc_buf_puts(&rest, *has_dfile ? pyc_buf_cstr(out) : fullname);
		if (rc == 0)
			rc = pyc_buf_sets(out, prependdir);
		if (rc == 0)
			rc = pyc_compileall_path_join(out, pyc_buf_cstr(&rest));
		pyc_buf_dispose(&rest);
		if (rc < 0)
			return rc;
		*has_dfile = true;
	}
	return 0;
}

int pyc_compileall_default_maxlevels(int major, int minor, int recursion_limit)
{
	if (major == 3 && minor < 9)
		return 10;
	return recursion_limit > 0 ? recursion_limit : 1000;
}

size_t pyc_compileall_sequence(int seq[PYC_COMPILEALL_MAX_COMPILES],
                               bool discard[PYC_COMPILEALL_MAX_COMPILES], const int *levels,
                               size_t nlevels, int interp_optimize, bool legacy)
{
	bool given[PYC_COMPILEALL_MAX_COMPILES] = { false };   /* -1, 0, 1, 2 */
	int dflt = interp_optimize < 0 ? 0 : interp_optimize > 2 ? 2 : interp_optimize;
	size_t n = 0;

	if (nlevels == 0)
		given[0] = true;
	for (size_t i = 0; i < nlevels; i++)
		if (levels[i] >= -1 && levels[i] <= 2)
			given[levels[i] + 1] = true;
	for (int l = -1; l <= 2; l++)
		if (given[l + 1])
			seq[n++] = l < 0 ? dflt : l;
	for (size_t i = 0; i < n; i++)
		discard[i] = legacy ? i + 1 < n : i == 0 && given[0] && given[dflt + 1];
	return n;
}

size_t pyc_compileall_levels(int out[PYC_COMPILEALL_MAX_LEVELS], const int *levels,
                             size_t nlevels, int interp_optimize, bool legacy)
{
	int seq[PYC_COMPILEALL_MAX_COMPILES];
	bool discard[PYC_COMPILEALL_MAX_COMPILES];
	size_t n = pyc_compileall_sequence(seq, discard, levels, nlevels, interp_optimize, legacy);
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		if (!discard[i])
			out[kept++] = seq[i];
	return kept;
}
