/*
 * compileall_retarget.c - compile warnings and errors that serve any path (issue #11).
 *
 * What a failed or warning compile writes names its dfile: `File "DFILE", line 3` (the
 * error), `DFILE:3: SyntaxWarning: ...` (a warning, followed by the line linecache reads
 * from DFILE). Such a text is stored as a template, every occurrence of the dfile replaced
 * by a placeholder, and expanded with the new dfile on a hit at another path, only when
 * that is provably what the compiler would write there:
 *
 * - the dfile is the source's own path (no -d/-s/-p: linecache then reads these same
 *   source bytes at either path) and printable ASCII (written as is, whatever stderr's
 *   encoding and error handler), both when stored and when expanded;
 * - the source does not contain the dfile, so every occurrence in the text is the
 *   compiler naming the file, not a quoted source line;
 * - the one other form of the path, its base name (a SyntaxError subclass's str() says
 *   "(name.py, line 3)", which py_compile prints for an IndentationError), gets a
 *   placeholder of its own, once the whole dfile's are in, when the source does not
 *   contain it either;
 * - the text does not contain the placeholders themselves.
 *
 * Anything else stays keyed by path, as before.
 */
#include "compileall_internal.h"

#include <string.h>

/* NUL bytes: never in a path, so a template's placeholders cannot be a path's bytes. */
static const char placeholder[] = "\0pyc-tool:dfile\0", base_placeholder[] = "\0pyc-tool:base\0";
#define PLACEHOLDER_LEN (sizeof(placeholder) - 1)
#define BASE_PLACEHOLDER_LEN (sizeof(base_placeholder) - 1)

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

bool pyc_compileall__text_portable(const pyc_ca_item *it)
{
	const char *dfile = pyc_compileall__item_dfile(it);
	return *dfile && strcmp(dfile, it->fullname) == 0 && printable_ascii(dfile);
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	return m <= n && memmem(hay, n, needle, m) != NULL;
}

/* Replace every `from` in text with `to` into out (appending). */
static int replace_all(pyc_buf *out, const char *text, size_t len, const char *from,
                       size_t flen, const char *to, size_t tlen)
{
	const char *p = text, *end = text + len, *hit;
	while ((hit = p < end ? memmem(p, (size_t)(end - p), from, flen) : NULL) != NULL) {
		if (pyc_buf_put(out, p, (size_t)(hit - p)) < 0 || pyc_buf_put(out, to, tlen) < 0)
			return PYC_ENOMEM;
		p = hit + flen;
	}
	return pyc_buf_put(out, p, (size_t)(end - p)) < 0 ? PYC_ENOMEM : 0;
}

int pyc_compileall__text_template(const pyc_ca_item *it, const pyc_buf *text, pyc_buf *out)
{
	const char *dfile = pyc_compileall__item_dfile(it), *base = base_name(dfile);
	size_t dlen = strlen(dfile), blen = strlen(base);
	pyc_buf whole = PYC_BUF_INIT;
	pyc_buf_clear(out);
	if (!pyc_compileall__text_portable(it) || !*base ||
	    contains(it->source, it->source_len, dfile, dlen) ||
	    contains(it->source, it->source_len, base, blen) ||
	    contains(text->ptr, text->len, placeholder, PLACEHOLDER_LEN) ||
	    contains(text->ptr, text->len, base_placeholder, BASE_PLACEHOLDER_LEN))
		return 0;
	int rc = replace_all(&whole, text->ptr, text->len, dfile, dlen, placeholder, PLACEHOLDER_LEN);
	if (rc == 0)
		rc = replace_all(out, whole.ptr, whole.len, base, blen, base_placeholder,
		                 BASE_PLACEHOLDER_LEN);
	pyc_buf_dispose(&whole);
	return rc < 0 ? rc : 1;
}

int pyc_compileall__text_expand(const pyc_ca_item *it, ca_span tmpl, pyc_buf *out)
{
	const char *dfile = pyc_compileall__item_dfile(it), *base = base_name(dfile);
	pyc_buf whole = PYC_BUF_INIT;
	pyc_buf_clear(out);
	if (!pyc_compileall__text_portable(it))
		return PYC_EINVAL;
	int rc = replace_all(&whole, (const char *)tmpl.p, tmpl.len, placeholder, PLACEHOLDER_LEN,
	                     dfile, strlen(dfile));
	if (rc == 0)
		rc = replace_all(out, whole.ptr, whole.len, base_placeholder, BASE_PLACEHOLDER_LEN,
		                 base, strlen(base));
	pyc_buf_dispose(&whole);
	return rc;
}
