/* SipHash-c-d and pyc_source_hash against the SipHash paper and vectors.tsv's
   `source_hash` rows (importlib.util.source_hash of each installed interpreter). */
#include "testutil.h"

#include "pyc/source_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Aumasson & Bernstein, SipHash paper appendix A: key 00..0f, message 00..0e. */
static void test_paper_vectors(void **state)
{
	(void)state;
	uint8_t key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(pyc_siphash(2, 4, key, msg, 15), 0xa129ca6149be45e5ULL);
	/* first entry of the reference implementation's vectors.h (empty message) */
	assert_int_equal(pyc_siphash(2, 4, key, msg, 0), 0x726fdb47dd0e0e31ULL);
}

/* The input of a source_hash row: "(empty)", hex, or one of the two GEN: expressions. */
static uint8_t *row_input(const char *spec, size_t len)
{
	uint8_t *data = malloc(len ? len : 1);
	assert_non_null(data);
	if (strcmp(spec, "(empty)") == 0) {
		assert_int_equal(len, 0);
	} else if (strcmp(spec, "GEN:bytes((i*31+7)&0xff for i in range(1<<20))") == 0) {
		assert_int_equal(len, 1u << 20);
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)((i * 31 + 7) & 0xff);
	} else if (strcmp(spec, "GEN:b'x'*(1048576+3)") == 0) {
		assert_int_equal(len, 1048576 + 3);
		memset(data, 'x', len);
	} else {
		assert_true(strncmp(spec, "GEN:", 4) != 0); /* a new generator: teach this test */
		assert_int_equal(tu_unhex(spec, data, len), len);
		assert_int_equal(strlen(spec), 2 * len);
	}
	return data;
}

static enum pyc_hash_algo algo_named(const char *s)
{
	if (strcmp(s, "SipHash-2-4") == 0)
		return PYC_HASH_SIPHASH24;
	assert_string_equal(s, "SipHash-1-3");
	return PYC_HASH_SIPHASH13;
}

/* Feed data in pieces of `step` bytes (the last may be shorter). */
static void hash_in_steps(uint8_t out[8], enum pyc_hash_algo algo, uint16_t magic,
                          const uint8_t *data, size_t len, size_t split, size_t step)
{
	uint32_t word = pyc_magic_word(magic);
	uint8_t key[16] = { (uint8_t)word, (uint8_t)(word >> 8), (uint8_t)(word >> 16),
	                    (uint8_t)(word >> 24) };
	pyc_siphash_state s;
	pyc_siphash_init(&s, algo == PYC_HASH_SIPHASH24 ? 2 : 1, algo == PYC_HASH_SIPHASH24 ? 4 : 3,
	                 key);
	pyc_siphash_update(&s, data, split);
	for (size_t at = split; at < len; at += step)
		pyc_siphash_update(&s, data + at, len - at < step ? len - at : step);
	uint64_t h = pyc_siphash_final(&s);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

static void check_hash_row(char **f, size_t n, void *ctx)
{
	assert_true(n >= 9);
	uint32_t key = (uint32_t)strtoul(f[2], NULL, 16);
	assert_int_equal(key >> 16, 0x0a0d);
	uint16_t magic = (uint16_t)key;
	enum pyc_hash_algo algo = algo_named(f[3]);
	size_t len = (size_t)strtoul(f[5], NULL, 10);
	uint8_t *data = row_input(f[6], len);
	uint8_t want[8], got[8];
	assert_int_equal(tu_unhex(f[7], want, 8), 8);

	pyc_source_hash_with(got, algo, magic, data, len);
	assert_memory_equal(got, want, 8);
	/* the table gives that version the same algorithm */
	const pyc_magic_info *info = pyc_magic_lookup(magic);
	assert_non_null(info);
	assert_int_equal(info->hash_algo, algo);
	assert_int_equal(pyc_source_hash(got, info, data, len), 0);
	assert_memory_equal(got, want, 8);

	if (len <= 256) {
		/* incremental: split at every offset, then byte by byte */
		for (size_t split = 0; split <= len; split++) {
			hash_in_steps(got, algo, magic, data, len, split, len + 1);
			assert_memory_equal(got, want, 8);
		}
		hash_in_steps(got, algo, magic, data, len, 0, 1);
		assert_memory_equal(got, want, 8);
	} else {
		hash_in_steps(got, algo, magic, data, len, 3, 4093);
		assert_memory_equal(got, want, 8);
	}
	free(data);
	(*(size_t *)ctx)++;
}

static void test_source_hash_vectors(void **state)
{
	(void)state;
	size_t rows = 0;
	tu_vectors_foreach("source_hash", check_hash_row, &rows);
	assert_int_equal(rows, 112);
}

static void test_unsupported(void **state)
{
	(void)state;
	uint8_t out[8];
	assert_int_equal(pyc_source_hash(out, pyc_magic_for_version(3, 6), "x", 1), PYC_EUNSUPPORTED);
	assert_int_equal(pyc_source_hash(out, pyc_magic_for_version(2, 7), "x", 1), PYC_EUNSUPPORTED);
	assert_int_equal(pyc_source_hash(out, NULL, "x", 1), PYC_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paper_vectors),
		cmocka_unit_test(test_source_hash_vectors),
		cmocka_unit_test(test_unsupported),
	};
	return tu_run_tests("source_hash", tests);
}
