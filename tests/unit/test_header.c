/* pyc_header_decode/encode against the pyc files real interpreters wrote (vectors.tsv). */
#include "testutil.h"

#include "pyc/header.h"
#include "pyc/source_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE 512

/* A pyc_file row: python_version, invalidation_mode, conditions, file_len, file_hex. */
struct pyc_vec {
	int major, minor;
	enum pyc_invalidation mode;
	long mtime, source_size;
	uint8_t source[64];
	size_t source_len;
	uint8_t file[MAX_FILE];
	size_t len;
};

/* conditions: source=b"x = 1\n" (6 bytes) mtime=1700000000 ... (a tiny bytes-literal reader) */
static void parse_conditions(struct pyc_vec *v, const char *c)
{
	const char *s = strstr(c, "source=b\"");
	assert_non_null(s);
	for (s += 9; *s != '"'; s++) {
		assert_true(v->source_len < sizeof(v->source));
		if (s[0] == '\\' && s[1] == 'n') {
			v->source[v->source_len++] = '\n';
			s++;
		} else {
			assert_true(*s != '\\');
			v->source[v->source_len++] = (uint8_t)*s;
		}
	}
	v->source_size = strtol(strchr(s, '(') + 1, NULL, 10);
	assert_int_equal(v->source_size, v->source_len);
	const char *m = strstr(c, "mtime=");
	assert_non_null(m);
	v->mtime = strtol(m + 6, NULL, 10);
}

static void parse_pyc_row(struct pyc_vec *v, char **f, size_t n)
{
	memset(v, 0, sizeof(*v));
	assert_true(n >= 6);
	char *end;
	v->major = (int)strtol(f[1], &end, 10);
	v->minor = (int)strtol(end + 1, NULL, 10);
	assert_int_equal(pyc_invalidation_parse(&v->mode, f[2]), 0);
	parse_conditions(v, f[3]);
	v->len = tu_unhex(f[5], v->file, sizeof(v->file));
	assert_int_equal(v->len, strtol(f[4], NULL, 10));
}

static void check_fields(const struct pyc_vec *v, const pyc_header *h)
{
	const pyc_magic_info *want = pyc_magic_for_version(v->major, v->minor);
	assert_non_null(want);
	assert_ptr_equal(h->info, want);
	assert_int_equal(h->magic, want->number);
	assert_int_equal(h->size, want->header_size);
	assert_int_equal(h->mode, v->mode);
	if (v->mode == PYC_INVALIDATION_TIMESTAMP) {
		assert_int_equal(h->flags, 0);
		assert_int_equal(h->mtime, v->mtime);
		/* only 3.3+ has a size field */
		assert_int_equal(h->source_size, h->size >= 12 ? v->source_size : 0);
	} else {
		/* the stored hash is the interpreter's; ours must agree */
		uint8_t hash[8];
		assert_int_equal(pyc_source_hash(hash, h->info, v->source, v->source_len), 0);
		assert_memory_equal(h->hash, hash, 8);
		assert_int_equal(h->flags, v->mode == PYC_INVALIDATION_CHECKED_HASH ? 3 : 1);
	}
}

static void check_pyc_row(char **f, size_t n, void *ctx)
{
	struct pyc_vec v;
	parse_pyc_row(&v, f, n);
	pyc_header h;
	assert_int_equal(pyc_header_decode(&h, v.file, v.len), 0);
	check_fields(&v, &h);

	/* re-encoding gives the interpreter's header bytes */
	uint8_t out[PYC_HEADER_MAX + 4];
	memset(out, 0xee, sizeof(out));
	assert_int_equal(pyc_header_encode(out, sizeof(out), &h), h.size);
	assert_memory_equal(out, v.file, h.size);
	assert_int_equal(out[h.size], 0xee);
	assert_int_equal(pyc_header_encode(out, h.size - 1, &h), PYC_EINVAL);

	/* every short prefix is truncated; with 4+ bytes the magic is already known */
	for (size_t len = 0; len < h.size; len++) {
		pyc_header s;
		assert_int_equal(pyc_header_decode(&s, v.file, len), PYC_ETRUNCATED);
		if (len >= 4) {
			assert_int_equal(s.magic, h.magic);
			assert_ptr_equal(s.info, h.info);
		}
	}
	/* exactly the header is enough */
	assert_int_equal(pyc_header_decode(&h, v.file, h.size), 0);
	(*(size_t *)ctx)++;
}

static void test_pyc_file_vectors(void **state)
{
	(void)state;
	size_t rows = 0;
	tu_vectors_foreach("pyc_file", check_pyc_row, &rows);
	assert_int_equal(rows, 23);
}

/* A 3.7+ timestamp header with the given flags word. */
static void make_pep552(uint8_t b[16], uint16_t magic, uint32_t flags)
{
	memset(b, 0, 16);
	b[0] = (uint8_t)magic;
	b[1] = (uint8_t)(magic >> 8);
	b[2] = '\r';
	b[3] = '\n';
	for (int i = 0; i < 4; i++)
		b[4 + i] = (uint8_t)(flags >> (8 * i));
	b[8] = 0x2a; /* mtime 42 */
}

static void test_flags(void **state)
{
	(void)state;
	static const uint32_t bad[] = { 4, 5, 7, 8, 0x100, 0x10000, 0x80000000u, 0xffffffffu };
	uint8_t b[16];
	pyc_header h;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_pep552(b, 3531, bad[i]);
		assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), PYC_EBADFLAGS);
		assert_int_equal(h.flags, bad[i]);
		assert_int_equal(h.magic, 3531);
		/* CPython checks the length before the flags */
		assert_int_equal(pyc_header_decode(&h, b, 15), PYC_ETRUNCATED);
	}
	/* flags 2 (check_source without hash_based) is a timestamp pyc */
	make_pep552(b, 3394, 2);
	assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), 0);
	assert_int_equal(h.mode, PYC_INVALIDATION_TIMESTAMP);
	assert_int_equal(h.flags, 2);
	assert_int_equal(h.mtime, 42);
	/* a 3.6 file has no flags word: bytes 4-7 are the mtime, whatever they hold */
	make_pep552(b, 3379, 0xffffffffu);
	assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), 0);
	assert_int_equal(h.mtime, 0xffffffffu);
	assert_int_equal(h.size, 12);
}

static void test_bad_magic(void **state)
{
	(void)state;
	uint8_t b[16];
	pyc_header h;
	make_pep552(b, 3395, 0); /* between 3.7's 3394 and 3.8's 3400 */
	assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), PYC_EBADMAGIC);
	assert_int_equal(h.magic, 3395);
	assert_null(h.info);
	assert_int_equal(pyc_header_decode(&h, b, 4), PYC_EBADMAGIC);
	make_pep552(b, 3531, 0);
	b[3] = '\r'; /* not "\r\n" */
	assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), PYC_EBADMAGIC);
	make_pep552(b, 3531, 0);
	b[2] = '\n';
	assert_int_equal(pyc_header_decode(&h, b, sizeof(b)), PYC_EBADMAGIC);
	static const uint8_t text[] = "import os\n";
	assert_int_equal(pyc_header_decode(&h, text, sizeof(text) - 1), PYC_EBADMAGIC);
	assert_int_equal(pyc_header_decode(&h, text, 0), PYC_ETRUNCATED);
}

static void test_encode_errors(void **state)
{
	(void)state;
	uint8_t b[16];
	pyc_header h = { .magic = 3379, .mode = PYC_INVALIDATION_CHECKED_HASH };
	assert_int_equal(pyc_header_encode(b, sizeof(b), &h), PYC_EUNSUPPORTED);
	h.mode = PYC_INVALIDATION_UNCHECKED_HASH;
	assert_int_equal(pyc_header_encode(b, sizeof(b), &h), PYC_EUNSUPPORTED);
	h.magic = 3395;
	assert_int_equal(pyc_header_encode(b, sizeof(b), &h), PYC_EBADMAGIC);
	h.magic = 3531;
	h.mode = (enum pyc_invalidation)9;
	assert_int_equal(pyc_header_encode(b, sizeof(b), &h), PYC_EINVAL);
}

/* Every known magic encodes and decodes in its own layout. */
static void test_every_magic_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < pyc_magic_count(); i++) {
		const pyc_magic_info *m = pyc_magic_at(i);
		pyc_header in = { .magic = m->number, .mtime = 0x89abcdefu, .source_size = 77 };
		uint8_t b[PYC_HEADER_MAX];
		pyc_header out;
		assert_int_equal(pyc_header_encode(b, sizeof(b), &in), m->header_size);
		assert_int_equal(pyc_header_decode(&out, b, m->header_size), 0);
		assert_int_equal(out.magic, m->number);
		assert_int_equal(out.mtime, 0x89abcdefu);
		assert_int_equal(out.source_size, m->header_size >= 12 ? 77 : 0);
		if (m->hash_algo == PYC_HASH_NONE)
			continue;
		in.mode = PYC_INVALIDATION_UNCHECKED_HASH;
		memcpy(in.hash, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
		assert_int_equal(pyc_header_encode(b, sizeof(b), &in), 16);
		assert_int_equal(pyc_header_decode(&out, b, 16), 0);
		assert_int_equal(out.mode, PYC_INVALIDATION_UNCHECKED_HASH);
		assert_memory_equal(out.hash, in.hash, 8);
	}
}

/* Every 16-bit magic with "\r\n" and every flags pattern of one byte: decoding either
   fails with a code that matches the table, or yields a consistent header. */
static void test_decode_any_magic(void **state)
{
	(void)state;
	uint8_t b[16];
	for (uint32_t n = 0; n <= 0xffff; n++) {
		const pyc_magic_info *row = pyc_magic_lookup((uint16_t)n);
		uint32_t flags = n & 0xff;
		make_pep552(b, (uint16_t)n, flags);
		pyc_header h;
		int rc = pyc_header_decode(&h, b, sizeof(b));
		assert_int_equal(h.magic, n);
		if (row == NULL) {
			assert_int_equal(rc, PYC_EBADMAGIC);
			continue;
		}
		assert_ptr_equal(h.info, row);
		if (row->header_size == 16 && (flags & ~3u))
			assert_int_equal(rc, PYC_EBADFLAGS);
		else
			assert_int_equal(rc, 0);
	}
}

static void test_invalidation_names(void **state)
{
	(void)state;
	static const char *const names[] = { "timestamp", "checked-hash", "unchecked-hash" };
	for (int i = 0; i < 3; i++) {
		enum pyc_invalidation m;
		assert_int_equal(pyc_invalidation_parse(&m, names[i]), 0);
		assert_string_equal(pyc_invalidation_name(m), names[i]);
	}
	enum pyc_invalidation m = PYC_INVALIDATION_CHECKED_HASH;
	assert_int_equal(pyc_invalidation_parse(&m, "TIMESTAMP"), PYC_EINVAL);
	assert_int_equal(pyc_invalidation_parse(&m, "checked_hash"), PYC_EINVAL);
	assert_int_equal(pyc_invalidation_parse(&m, ""), PYC_EINVAL);
	assert_int_equal(m, PYC_INVALIDATION_CHECKED_HASH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pyc_file_vectors),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_every_magic_round_trips),
		cmocka_unit_test(test_decode_any_magic),
		cmocka_unit_test(test_invalidation_names),
	};
	return tu_run_tests("header", tests);
}
