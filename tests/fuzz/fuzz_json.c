/*
 * fuzz_json: the CLI's JSON strings and human-readable names of arbitrary file names
 * (src/cli/out.c, docs/cli.md).
 *
 *  - out_json_string writes one RFC 8259 string (no raw control characters, only valid
 *    escapes, valid UTF-8) that decodes, with Python's surrogateescape, to the input bytes:
 *    what json.loads(...).encode("utf-8", "surrogateescape") gives a consumer;
 *  - out_human_path writes valid UTF-8 without control characters, from which undoing the
 *    \xNN and \\ escapes gives back the name.
 * The checker below is written from the JSON grammar and the UTF-8 definition, not from
 * out.c.
 */
#include "fuzz.h"

#include "out.h"

#include "pyc/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 character at s (RFC 3629 table), 0 when it is not one. */
static size_t utf8_char(const uint8_t *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || n < len || s[0] > 0xf4 || s[0] == 0xc0 || s[0] == 0xc1)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* The second byte's range for the lead bytes that allow overlong forms, surrogates
	 * or values past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

static int hex(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_utf8(pyc_buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const uint8_t lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		b[i] = (uint8_t)(0x80 | (cp & 0x3f));
	b[0] = (uint8_t)(n == 1 ? cp : lead[n] | cp);
	pyc_buf_put(out, b, n);
}

/* Decode one JSON string that must fill s[0..n); the bytes go to out. */
static void decode_json_string(pyc_buf *out, const uint8_t *s, size_t n)
{
	FUZZ_CHECK(n >= 2 && s[0] == '"' && s[n - 1] == '"');
	for (size_t i = 1; i < n - 1;) {
		size_t k = utf8_char(s + i, n - 1 - i);
		FUZZ_CHECK(k > 0 && s[i] >= 0x20 && s[i] != '"');
		if (s[i] != '\\') {
			pyc_buf_put(out, s + i, k);
			i += k;
			continue;
		}
		FUZZ_CHECK(i + 1 < n - 1);
		const char *simple = strchr("\"\\/bfnrt", s[i + 1]);
		if (simple && s[i + 1]) {
			pyc_buf_putc(out, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
			i += 2;
			continue;
		}
		FUZZ_CHECK(s[i + 1] == 'u' && i + 6 < n);
		uint32_t cp = 0;
		for (size_t j = 2; j < 6; j++) {
			FUZZ_CHECK(hex(s[i + j]) >= 0);
			cp = cp << 4 | (uint32_t)hex(s[i + j]);
		}
		i += 6;
		/* A high surrogate would pair with a following \u escape in json.loads; only
		 * U+DC80..U+DCFF stand for a byte under surrogateescape. */
		FUZZ_CHECK(cp < 0xd800 || (cp >= 0xdc80 && cp <= 0xdcff) || cp > 0xdfff);
		if (cp >= 0xdc80 && cp <= 0xdcff)
			pyc_buf_putc(out, (char)(cp - 0xdc00));
		else
			put_utf8(out, cp);
	}
}

static void decode_human(pyc_buf *out, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(s + i, n - i);
		FUZZ_CHECK(k > 0 && s[i] >= 0x20 && s[i] != 0x7f);
		if (s[i] != '\\') {
			pyc_buf_put(out, s + i, k);
			i += k;
		} else if (i + 1 < n && s[i + 1] == '\\') {
			pyc_buf_putc(out, '\\');
			i += 2;
		} else {
			FUZZ_CHECK(i + 3 < n && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0);
			pyc_buf_putc(out, (char)(hex(s[i + 2]) << 4 | hex(s[i + 3])));
			i += 4;
		}
	}
}

typedef void (*writer_fn)(FILE *f, const char *s, size_t len);

static void write_json(FILE *f, const char *s, size_t len)
{
	out_json_string(f, s, len);
}

static void write_human(FILE *f, const char *s, size_t len)
{
	(void)len;
	out_human_path(f, s);
}

static void write_cstr(FILE *f, const char *s, size_t len)
{
	(void)len;
	out_json_cstr(f, s);
}

static void render(pyc_buf *out, writer_fn fn, const char *s, size_t len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	FUZZ_CHECK(f != NULL);
	fn(f, s, len);
	FUZZ_CHECK(fclose(f) == 0);
	pyc_buf_put(out, text, n);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	pyc_buf text = PYC_BUF_INIT, back = PYC_BUF_INIT;

	render(&text, write_json, s, size);
	decode_json_string(&back, (const uint8_t *)text.ptr, text.len);
	FUZZ_CHECK(back.len == size && (size == 0 || memcmp(back.ptr, data, size) == 0));

	/* out_human_path takes a C string: the name up to the first NUL. */
	size_t clen = strnlen(s, size);
	char *name = strndup(s, clen);
	pyc_buf_clear(&text);
	pyc_buf_clear(&back);
	render(&text, write_human, name, clen);
	decode_human(&back, (const uint8_t *)pyc_buf_cstr(&text), text.len);
	FUZZ_CHECK(back.len == clen && (clen == 0 || memcmp(back.ptr, name, clen) == 0));

	/* out_json_cstr is out_json_string of the same C string. */
	pyc_buf_clear(&text);
	pyc_buf_clear(&back);
	render(&text, write_json, name, clen);
	render(&back, write_cstr, name, clen);
	FUZZ_CHECK(text.len == back.len && memcmp(text.ptr, back.ptr, text.len) == 0);
	free(name);
	pyc_buf_dispose(&text);
	pyc_buf_dispose(&back);
	return 0;
}
