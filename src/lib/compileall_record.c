/*
 * compileall_record.c - what the compile pipeline keeps in the bytecode store (the value
 * of an entry; the store itself only sees bytes, docs/cache.md):
 *
 *     "pyc1" kind
 *     'B' (bodies): u32 n, n x (u64 slot offset, u64 slot length, u64 len, body),
 *                   u64 len, warnings
 *     'E' (a compile error): u64 len, exception type, u64 len, message, u64 len, warnings
 *     'P' (by path): the entry for this source is under the key with the dfile
 *     'T', 'F': 'B', 'E' whose texts (warnings, message) are templates, the dfile
 *               replaced by a placeholder (compileall_retarget.c)
 *
 * Integers little-endian, decoded field by field; a value that does not parse to its last
 * byte is no record (a miss).
 */
#include "compileall_internal.h"

#include <string.h>

static const char magic[4] = { 'p', 'y', 'c', '1' };

static int put_le(pyc_buf *b, uint64_t v, int n)
{
	uint8_t le[8];
	for (int i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	return pyc_buf_put(b, le, (size_t)n);
}

static int put_field(pyc_buf *b, const void *data, size_t len)
{
	if (put_le(b, len, 8) < 0)
		return PYC_ENOMEM;
	return len ? pyc_buf_put(b, data, len) : 0;
}

static int put_head(pyc_buf *out, char kind)
{
	pyc_buf_clear(out);
	if (pyc_buf_put(out, magic, sizeof(magic)) < 0 || pyc_buf_putc(out, kind) < 0)
		return PYC_ENOMEM;
	return 0;
}

int pyc_compileall__record_bodies(pyc_buf *out, const pyc_buf *bodies, size_t n,
                                  const pyc_marshal_slot *slots, const pyc_buf *warnings,
                                  bool templated)
{
	int rc = put_head(out, templated ? 'T' : 'B');
	if (rc == 0)
		rc = put_le(out, n, 4);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = put_le(out, slots[i].offset, 8);
		if (rc == 0)
			rc = put_le(out, slots[i].length, 8);
		if (rc == 0)
			rc = put_field(out, bodies[i].ptr, bodies[i].len);
	}
	if (rc == 0)
		rc = put_field(out, warnings->ptr, warnings->len);
	return rc;
}

int pyc_compileall__record_error(pyc_buf *out, const pyc_buf *type, const pyc_buf *text,
                                 const pyc_buf *warnings, bool templated)
{
	int rc = put_head(out, templated ? 'F' : 'E');
	if (rc == 0)
		rc = put_field(out, type->ptr, type->len);
	if (rc == 0)
		rc = put_field(out, text->ptr, text->len);
	if (rc == 0)
		rc = put_field(out, warnings->ptr, warnings->len);
	return rc;
}

int pyc_compileall__record_marker(pyc_buf *out)
{
	return put_head(out, 'P');
}

/* A cursor over a value; every take fails once past the end. */
typedef struct cursor {
	const uint8_t *p;
	size_t len, pos;
} cursor;

static bool take_le(cursor *c, int n, uint64_t *v)
{
	if (c->len - c->pos < (size_t)n)
		return false;
	*v = 0;
	for (int i = 0; i < n; i++)
		*v |= (uint64_t)c->p[c->pos + (size_t)i] << (8 * i);
	c->pos += (size_t)n;
	return true;
}

static bool take_field(cursor *c, ca_span *out)
{
	uint64_t n;
	if (!take_le(c, 8, &n) || n > c->len - c->pos)
		return false;
	out->p = c->p + c->pos;
	out->len = (size_t)n;
	c->pos += (size_t)n;
	return true;
}

static bool parse_bodies(cursor *c, ca_record *r)
{
	uint64_t n;
	if (!take_le(c, 4, &n) || n == 0 || n > PYC_JOB_MAX_LEVELS)
		return false;
	r->n = (size_t)n;
	for (size_t i = 0; i < r->n; i++) {
		uint64_t off, len;
		if (!take_le(c, 8, &off) || !take_le(c, 8, &len) || !take_field(c, &r->body[i]))
			return false;
		r->slot[i].offset = (size_t)off;
		r->slot[i].length = (size_t)len;
	}
	return take_field(c, &r->warnings);
}

int pyc_compileall__record_parse(ca_record *r, const uint8_t *v, size_t len)
{
	cursor c = { v, len, sizeof(magic) + 1 };
	memset(r, 0, sizeof(*r));
	if (len < c.pos || memcmp(v, magic, sizeof(magic)) != 0)
		return PYC_EINVAL;
	r->kind = (char)v[sizeof(magic)];
	/* Templates parse as their plain kinds, flagged. */
	r->templated = r->kind == 'T' || r->kind == 'F';
	if (r->templated)
		r->kind = r->kind == 'T' ? 'B' : 'E';
	bool ok = r->kind == 'P' ||
	          (r->kind == 'B' && parse_bodies(&c, r)) ||
	          (r->kind == 'E' && take_field(&c, &r->error_type) &&
	           take_field(&c, &r->error_text) && take_field(&c, &r->warnings));
	return ok && c.pos == len ? 0 : PYC_EINVAL;
}
