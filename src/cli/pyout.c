/*
 * pyout.c - see pyout.h. Text is handled as a stream of code points: a lone surrogate
 * U+DC80..U+DCFF stands for an undecodable byte, as with os.fsdecode().
 */
#include "pyout.h"
#include "out.h"

#include "pyc/interp.h"

#include <stdint.h>
#include <string.h>

static int enc_kind(const char *name)
{
	if (name && strcmp(name, "ascii") == 0)
		return PYOUT_ASCII;
	if (name && strcmp(name, "iso8859-1") == 0)
		return PYOUT_LATIN1;
	return PYOUT_UTF8;
}

void pyout_enc_for(pyout_enc *e, const pyc_interp *in)
{
	static const char *const handlers[] = {
		[PYOUT_STRICT] = "strict", [PYOUT_SURROGATEESCAPE] = "surrogateescape",
		[PYOUT_BACKSLASHREPLACE] = "backslashreplace", [PYOUT_REPLACE] = "replace",
		[PYOUT_IGNORE] = "ignore",
	};
	e->fs = enc_kind(in ? in->fs_encoding : NULL);
	e->out = enc_kind(in ? in->stdout_encoding : NULL);
	e->errors = PYOUT_STRICT;
	for (int i = 0; in && in->stdout_errors && i < (int)(sizeof(handlers) / sizeof(*handlers)); i++)
		if (strcmp(in->stdout_errors, handlers[i]) == 0)
			e->errors = i;
}

/* The code point at *p under encoding kind `enc`; advances *p. */
static uint32_t next_cp(const unsigned char **p, const unsigned char *end, int enc)
{
	const unsigned char *s = *p;
	size_t n = enc == PYOUT_UTF8 ? out_utf8_seq_len(s, (size_t)(end - s)) : 1;
	if (n == 0 || (enc == PYOUT_ASCII && *s >= 0x80)) {
		*p = s + 1;
		return 0xdc00u | *s;
	}
	*p = s + n;
	if (n == 1)
		return *s;
	uint32_t cp = *s & (0x7fu >> n);
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

static void put_utf8(FILE *f, uint32_t cp)
{
	if (cp < 0x80) {
		fputc((int)cp, f);
	} else if (cp < 0x800) {
		fputc((int)(0xc0 | cp >> 6), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else if (cp < 0x10000) {
		fputc((int)(0xe0 | cp >> 12), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else {
		fputc((int)(0xf0 | cp >> 18), f);
		fputc((int)(0x80 | (cp >> 12 & 0x3f)), f);
		fputc((int)(0x80 | (cp >> 6 & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	}
}

/* Python's backslash escape of one code point (repr() and "backslashreplace" agree). */
static void put_escape(FILE *f, uint32_t cp)
{
	if (cp <= 0xff)
		fprintf(f, "\\x%02x", (unsigned)cp);
	else if (cp <= 0xffff)
		fprintf(f, "\\u%04x", (unsigned)cp);
	else
		fprintf(f, "\\U%08x", (unsigned)cp);
}

static bool encodable(int enc, uint32_t cp)
{
	if (cp >= 0xd800 && cp <= 0xdfff)
		return false;
	return enc == PYOUT_UTF8 || cp < (enc == PYOUT_ASCII ? 0x80u : 0x100u);
}

/* sys.stdout.write of one code point. A "strict" stdout would raise (compileall dies with
 * a UnicodeEncodeError); the escape is the closest honest rendering. */
static void put_cp(FILE *f, const pyout_enc *e, uint32_t cp)
{
	if (encodable(e->out, cp)) {
		if (e->out == PYOUT_UTF8)
			put_utf8(f, cp);
		else
			fputc((int)cp, f);
		return;
	}
	switch (e->errors) {
	case PYOUT_SURROGATEESCAPE:
		if (cp >= 0xdc80 && cp <= 0xdcff) {
			fputc((int)(cp & 0xff), f);
			return;
		}
		break;
	case PYOUT_REPLACE:
		fputc('?', f);
		return;
	case PYOUT_IGNORE:
		return;
	}
	put_escape(f, cp);
}

/* str.isprintable() for what file names hold: the Latin-1 controls, NBSP and the soft
 * hyphen, and surrogates. (Other Unicode separators and format characters are not
 * modelled; their table changes with every Unicode version.) */
static bool printable(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad)
		return false;
	return !(cp >= 0xd800 && cp <= 0xdfff);
}

void pyout_repr(FILE *f, const pyout_enc *e, const char *name)
{
	char q = strchr(name, '\'') && !strchr(name, '"') ? '"' : '\'';
	const unsigned char *p = (const unsigned char *)name, *end = p + strlen(name);
	fputc(q, f);
	while (p < end) {
		uint32_t cp = next_cp(&p, end, e->fs);
		if (cp == (uint32_t)q || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n' || cp == '\r' || cp == '\t')
			fputs(cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : "\\t", f);
		else if (!printable(cp))
			put_escape(f, cp);
		else
			put_cp(f, e, cp);
	}
	fputc(q, f);
}

void pyout_str(FILE *f, const pyout_enc *e, const char *name)
{
	const unsigned char *p = (const unsigned char *)name, *end = p + strlen(name);
	while (p < end)
		put_cp(f, e, next_cp(&p, end, e->fs));
}

void pyout_msg(FILE *f, const pyout_enc *e, const char *utf8)
{
	const unsigned char *p = (const unsigned char *)utf8, *end = p + strlen(utf8);
	while (p < end) {
		uint32_t cp = next_cp(&p, end, PYOUT_UTF8);
		if (encodable(e->out, cp))
			put_cp(f, e, cp);
		else
			put_escape(f, cp);
	}
}
