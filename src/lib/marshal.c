/*
 * marshal.c - the walker that finds and rewrites a body's co_filename (pyc/marshal.h).
 *
 * It reads marshal format 4 as CPython 3.6-3.13's r_object does, without building objects:
 * the same type codes, the same reference numbering (an index is taken, before the
 * children, by every object whose type byte has FLAG_REF, except the singletons), the same
 * checks on longs, UTF-8 and references, and the same depth limit.
 */
#include "pyc/marshal.h"

#include <string.h>

#define FLAG_REF 0x80
/* CPython's MAX_MARSHAL_STACK_DEPTH outside Windows. */
#define MAX_DEPTH 2000

enum role { ROLE_OTHER, ROLE_FILENAME, ROLE_DICT_ITEM };

struct walk {
	const uint8_t *body, *p, *end;
	int minor;
	int depth;
	uint32_t nrefs;        /* indices taken so far */
	bool found;            /* the first co_filename slot was seen */
	uint32_t fname_ref;    /* its index */
	pyc_marshal_slot slot;
	const char *unsupported; /* first reason the body cannot be re-targeted */
	/* pyc_marshal_check_clash: the name to look for, and the slot not to count. */
	const uint8_t *name;
	size_t name_len, skip_offset;
	bool clash;
	pyc_error *err;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int truncated(struct walk *w)
{
	return pyc_error_set(w->err, PYC_ETRUNCATED, 0, "marshal data ends at byte %zu",
	                     (size_t)(w->end - w->body));
}

static int bad(struct walk *w, const char *why)
{
	return pyc_error_set(w->err, PYC_EINVAL, 0, "bad marshal data at byte %zu: %s",
	                     (size_t)(w->p - w->body), why);
}

static void unsupported(struct walk *w, const char *why)
{
	if (!w->unsupported)
		w->unsupported = why;
}

static int skip(struct walk *w, size_t n)
{
	if ((size_t)(w->end - w->p) < n)
		return truncated(w);
	w->p += n;
	return 0;
}

/* A size field of r_long: negative is an error in CPython ("bad marshal data"). */
static int read_size(struct walk *w, uint32_t *n)
{
	if (w->end - w->p < 4)
		return truncated(w);
	*n = le32(w->p);
	if (*n > INT32_MAX)
		return bad(w, "negative size");
	w->p += 4;
	return 0;
}

/* Well-formed UTF-8 where lone surrogates (ED A0-BF xx) are allowed: Python's
 * "surrogatepass", which is how marshal encodes every str it cannot write as ASCII. */
static bool utf8_ok(const uint8_t *s, size_t n, bool *ascii)
{
	*ascii = true;
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		*ascii = false;
		size_t k = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 :
		           c >= 0xf0 && c <= 0xf4 ? 3 : 0;
		if (k == 0 || n - i <= k)
			return false;
		uint8_t lo = 0x80, hi = 0xbf;   /* bounds of the second byte */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

static bool all_ascii(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

static bool is_str_type(int type)
{
	return strchr("uatAzZ", type) != NULL && type != 0;
}

/* Whether w_object would write a string of these payload bytes with this type. */
static bool canonical_str(int type, const uint8_t *s, size_t n)
{
	bool ascii;
	switch (type) {
	case 'z': case 'Z':
		return all_ascii(s, n);
	case 'a': case 'A':
		return n > 255 && all_ascii(s, n);
	default:
		return utf8_ok(s, n, &ascii) && !ascii;
	}
}

static int walk_object(struct walk *w, enum role role);

static int walk_items(struct walk *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = walk_object(w, ROLE_OTHER);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The fields of a code object, in r_object's order for each layout. */
static int walk_code(struct walk *w)
{
	bool v311 = w->minor >= 11, posonly = w->minor >= 8;
	int rc = skip(w, 4 * (v311 ? 5 : posonly ? 6 : 5));
	if (rc == 0)
		rc = walk_items(w, v311 ? 5 : 6);   /* code, consts, names, ... */
	if (rc == 0)
		rc = walk_object(w, ROLE_FILENAME);
	if (rc == 0)
		rc = walk_items(w, v311 ? 2 : 1);   /* name[, qualname] */
	if (rc == 0)
		rc = skip(w, 4);                    /* firstlineno */
	if (rc == 0)
		rc = walk_items(w, v311 ? 2 : 1);   /* lnotab or linetable[, exceptiontable] */
	return rc;
}

static int walk_dict(struct walk *w)
{
	for (;;) {
		/* A NULL key or value ends the dict, as in r_object. */
		int rc = walk_object(w, ROLE_DICT_ITEM);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		rc = walk_object(w, ROLE_DICT_ITEM);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

/* r_object's checks on a long: digits below 2**15, the top one not zero. */
static int walk_long(struct walk *w)
{
	if (w->end - w->p < 4)
		return truncated(w);
	int32_t n = (int32_t)le32(w->p);
	w->p += 4;
	if (n < -INT32_MAX)
		return bad(w, "long size out of range");
	size_t digits = (size_t)(n < 0 ? -(int64_t)n : n);
	if ((size_t)(w->end - w->p) / 2 < digits)
		return truncated(w);
	for (size_t i = 0; i < digits; i++) {
		unsigned d = w->p[2 * i] | (unsigned)w->p[2 * i + 1] << 8;
		if (d > 0x7fff)
			return bad(w, "digit out of range in long");
		if (d == 0 && i == digits - 1)
			return bad(w, "unnormalized long data");
	}
	w->p += 2 * digits;
	return 0;
}

static int walk_float_text(struct walk *w)
{
	if (w->p == w->end)
		return truncated(w);
	return skip(w, 1 + (size_t)w->p[0]);
}

static void check_clash(struct walk *w, size_t offset, const uint8_t *s, size_t n)
{
	if (w->name && offset != w->skip_offset && n == w->name_len && memcmp(s, w->name, n) == 0)
		w->clash = true;
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Whether CPython can make a str of this value one object with co_filename: it interns
 * the constants made of name characters (all_name_chars in codeobject.c), and it has one
 * object for "" and for each single Latin-1 character. Other constants are never shared
 * with co_filename (docs/compile-engine.md, "Re-targeting a cached body"). */
static bool may_be_shared(const uint8_t *s, size_t n)
{
	bool name = true;
	for (size_t i = 0; i < n && name; i++)
		name = name_char(s[i]);
	return name || n <= 1 || (n == 2 && s[0] >= 0xc2 && s[0] <= 0xc3);
}

/* What a str object means for the co_filename bookkeeping. */
static void note_str(struct walk *w, enum role role, int code, size_t offset,
                     const uint8_t *s, size_t n)
{
	check_clash(w, offset, s, n);
	if (role != ROLE_FILENAME)
		return;
	if (w->found) {
		unsupported(w, "a later code object has a co_filename of its own");
		return;
	}
	w->found = true;
	w->slot.offset = offset;
	w->slot.length = (size_t)(w->p - w->body) - offset;
	w->fname_ref = w->nrefs - 1;
	if (!(code & FLAG_REF))
		unsupported(w, "co_filename has no FLAG_REF");
	else if (!canonical_str(code & ~FLAG_REF, s, n))
		unsupported(w, "co_filename is not in the form marshal writes");
}

static int walk_str(struct walk *w, enum role role, int code, size_t offset)
{
	int type = code & ~FLAG_REF;
	uint32_t n;
	int rc;
	if (type == 'z' || type == 'Z') {
		if (w->p == w->end)
			return truncated(w);
		n = *w->p++;
	} else if ((rc = read_size(w, &n)) < 0) {
		return rc;
	}
	const uint8_t *s = w->p;
	if ((rc = skip(w, n)) < 0)
		return rc;
	bool ascii;
	if ((type == 'u' || type == 't') && !utf8_ok(s, n, &ascii))
		return bad(w, "invalid UTF-8 in str");
	note_str(w, role, code, offset, s, n);
	return 0;
}

static int walk_ref(struct walk *w, enum role role)
{
	if (w->end - w->p < 4)
		return truncated(w);
	uint32_t idx = le32(w->p);
	if (idx >= w->nrefs)
		return bad(w, "invalid reference");
	w->p += 4;
	bool to_fname = w->found && idx == w->fname_ref;
	if (role == ROLE_FILENAME && !w->found)
		unsupported(w, "the first co_filename is shared with an earlier object");
	else if (role == ROLE_FILENAME && !to_fname)
		unsupported(w, "a later co_filename is another object");
	else if (role != ROLE_FILENAME && to_fname)
		unsupported(w, "the co_filename object is shared with another slot");
	return 0;
}

static int walk_sized(struct walk *w, int type)
{
	uint32_t n;
	int rc;
	if (type == ')') {
		if (w->p == w->end)
			return truncated(w);
		n = *w->p++;
	} else if ((rc = read_size(w, &n)) < 0) {
		return rc;
	}
	return walk_items(w, n);
}

/* The singletons take no reference index, whatever their flag says. */
static bool takes_ref(int type)
{
	return strchr("0NFTS.r", type) == NULL;
}

static int walk_typed(struct walk *w, enum role role, int code, size_t offset)
{
	int type = code & ~FLAG_REF;
	switch (type) {
	case 'N': case 'F': case 'T': case 'S': case '.':
		return 0;
	case 'i':
		return skip(w, 4);
	case 'I': case 'g':
		return skip(w, 8);
	case 'y':
		return skip(w, 16);
	case 'f':
		return walk_float_text(w);
	case 'x': {
		int rc = walk_float_text(w);
		return rc < 0 ? rc : walk_float_text(w);
	}
	case 'l':
		return walk_long(w);
	case 's':
		return walk_str(w, ROLE_OTHER, 's', offset);  /* bytes: its content is no str */
	case 'u': case 't': case 'a': case 'A': case 'z': case 'Z':
		return walk_str(w, role, code, offset);
	case '(': case ')': case '[': case '<': case '>':
		return walk_sized(w, type);
	case '{':
		return walk_dict(w);
	case 'c':
		return walk_code(w);
	case 'r':
		return walk_ref(w, role);
	default:
		w->p--;
		return bad(w, "unknown type code");
	}
}

/* Returns 0, a negative code, or 1 for a NULL where the caller allows one (a dict's end). */
static int walk_object(struct walk *w, enum role role)
{
	if (w->p == w->end)
		return truncated(w);
	size_t offset = (size_t)(w->p - w->body);
	int code = *w->p++;
	int type = code & ~FLAG_REF;
	if (type == '0') {
		if (role == ROLE_DICT_ITEM)
			return 1;
		w->p--;
		return bad(w, "NULL object");
	}
	if (role == ROLE_FILENAME && type != 'r' && !is_str_type(type))
		unsupported(w, "co_filename is not a str");
	if ((code & FLAG_REF) && takes_ref(type))
		w->nrefs++;
	if (++w->depth > MAX_DEPTH) {
		w->p--;
		return bad(w, "nested too deeply");
	}
	int rc = walk_typed(w, role, code, offset);
	w->depth--;
	if (rc == 0 && w->depth == 0 && type != 'c')
		unsupported(w, "the body is not a code object");
	return rc;
}

static int walk_body(struct walk *w, const uint8_t *body, size_t len, int minor)
{
	w->body = w->p = body;
	w->end = body + len;
	w->minor = minor;
	if (minor < 6 || minor > 13)
		return pyc_error_set(w->err, PYC_EINVAL, 0,
		                     "marshal walker supports CPython 3.6 to 3.13, not 3.%d", minor);
	int rc = walk_object(w, ROLE_OTHER);
	if (rc < 0)
		return rc;
	if (w->p != w->end)
		return bad(w, "trailing bytes after the object");
	if (!w->unsupported && !w->found)
		w->unsupported = "no co_filename";
	if (w->unsupported)
		return pyc_error_set(w->err, PYC_EUNSUPPORTED, 0, "cannot re-target: %s",
		                     w->unsupported);
	return 0;
}

int pyc_marshal_find_filename(const uint8_t *body, size_t len, int minor,
                              pyc_marshal_slot *slot, pyc_error *err)
{
	struct walk w = { .err = err };
	int rc = walk_body(&w, body, len, minor);
	if (rc == 0)
		*slot = w.slot;
	return rc;
}

int pyc_marshal_check_clash(const uint8_t *body, size_t len, int minor,
                            const pyc_marshal_slot *slot, const char *name, size_t name_len,
                            unsigned flags, bool *clash, pyc_error *err)
{
	bool relevant = (flags & PYC_MARSHAL_CLASH_ANY) ||
	                may_be_shared((const uint8_t *)name, name_len);
	struct walk w = { .err = err, .name = relevant ? (const uint8_t *)name : NULL,
	                  .name_len = name_len, .skip_offset = slot->offset };
	int rc = walk_body(&w, body, len, minor);
	if (rc == 0 && w.slot.offset != slot->offset)
		rc = pyc_error_set(err, PYC_EINVAL, 0, "slot at byte %zu is not the co_filename",
		                   slot->offset);
	if (rc == 0)
		*clash = w.clash;
	return rc;
}

/* The payload of the str object a slot claims to hold, checked against the body. */
static int slot_payload(const uint8_t *body, size_t len, const pyc_marshal_slot *slot,
                        const uint8_t **s, size_t *n, pyc_error *err)
{
	if (slot->offset >= len || slot->length > len - slot->offset || slot->length < 2)
		goto bad;
	const uint8_t *o = body + slot->offset;
	int type = o[0] & ~FLAG_REF;
	size_t head = type == 'z' || type == 'Z' ? 2 : 5;
	if (!is_str_type(type) || slot->length < head)
		goto bad;
	*n = head == 2 ? o[1] : le32(o + 1);
	*s = o + head;
	if (*n != slot->length - head)
		goto bad;
	bool ascii;
	if ((type == 'u' || type == 't') && !utf8_ok(*s, *n, &ascii))
		goto bad;
	if ((type == 'z' || type == 'Z' || type == 'a' || type == 'A') && !all_ascii(*s, *n))
		goto bad;
	return 0;
bad:
	return pyc_error_set(err, PYC_EINVAL, 0, "no str object at byte %zu of the body",
	                     slot->offset);
}

int pyc_marshal_slot_name(const uint8_t *body, size_t len, const pyc_marshal_slot *slot,
                          pyc_buf *out, pyc_error *err)
{
	const uint8_t *s;
	size_t n;
	int rc = slot_payload(body, len, slot, &s, &n, err);
	if (rc == 0 && pyc_buf_put(out, s, n) < 0)
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	return rc;
}

/* The type byte and size field w_object writes for this name, given the old type byte. */
static size_t str_head(uint8_t *head, uint8_t old, size_t n, bool ascii)
{
	int t = old & ~FLAG_REF;
	bool interned = t == 'Z' || t == 'A' || t == 't';
	uint8_t type = !ascii ? (interned ? 't' : 'u') : n < 256 ? (interned ? 'Z' : 'z') :
	               interned ? 'A' : 'a';
	head[0] = type | (old & FLAG_REF);
	if (type == 'z' || type == 'Z') {
		head[1] = (uint8_t)n;
		return 2;
	}
	for (int i = 0; i < 4; i++)
		head[1 + i] = (uint8_t)(n >> (8 * i));
	return 5;
}

int pyc_marshal_retarget(const uint8_t *body, size_t len, const pyc_marshal_slot *slot,
                         const char *name, size_t name_len, pyc_buf *out, pyc_error *err)
{
	const uint8_t *s;
	size_t n;
	int rc = slot_payload(body, len, slot, &s, &n, err);
	if (rc < 0)
		return rc;
	bool ascii;
	if (name_len > INT32_MAX || !utf8_ok((const uint8_t *)name, name_len, &ascii))
		return pyc_error_set(err, PYC_EINVAL, 0, "new filename is not valid UTF-8");
	uint8_t head[5];
	size_t hlen = str_head(head, body[slot->offset], name_len, ascii);
	size_t tail = len - slot->offset - slot->length;
	size_t old_len = out->len;
	if (pyc_buf_grow(out, slot->offset + hlen + name_len + tail) < 0 ||
	    pyc_buf_put(out, body, slot->offset) < 0 || pyc_buf_put(out, head, hlen) < 0 ||
	    pyc_buf_put(out, name, name_len) < 0 ||
	    pyc_buf_put(out, body + slot->offset + slot->length, tail) < 0) {
		pyc_buf_truncate(out, old_len);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	return 0;
}
