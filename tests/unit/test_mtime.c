/* pyc_mtime_*: vectors.tsv's `mtime32` rows and each version's import rule. */
#include "testutil.h"

#include "pyc/mtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void check_mtime_row(char **f, size_t n, void *ctx)
{
	(void)ctx;
	assert_true(n >= 5);
	int64_t sec = strtoll(f[1], NULL, 10);
	long nsec = strtol(f[2], NULL, 10);
	uint32_t stored = (uint32_t)strtoul(f[3], NULL, 16);
	uint32_t masked_sec = (uint32_t)strtoul(f[4], NULL, 16);
	assert_int_equal(pyc_mtime32(sec, nsec), stored);
	assert_int_equal((uint32_t)pyc_mtime_int(sec, nsec), stored);
	assert_int_equal((uint32_t)sec, masked_sec);
	/* what 3.7+ writes, 3.7+ accepts */
	assert_true(pyc_mtime_matches(pyc_magic_for_version(3, 12), stored, sec, nsec));
	assert_true(pyc_mtime_matches(pyc_magic_for_version(3, 7), stored, sec, nsec));
}

static void test_mtime32_vectors(void **state)
{
	(void)state;
	assert_int_equal(tu_vectors_foreach("mtime32", check_mtime_row, NULL), 12);
}

static void test_mtime_int(void **state)
{
	(void)state;
	assert_int_equal(pyc_mtime_int(1700000000, 999999999), 1700000001);
	assert_int_equal(pyc_mtime_int(1700000000, 999999700), 1700000000);
	assert_int_equal(pyc_mtime_int(-1, 500000000), 0);
	assert_int_equal(pyc_mtime_int(-2, 999999999), -1);
	assert_int_equal(pyc_mtime_int(-5, 0), -5);
	assert_int_equal(pyc_mtime_int(4294967303LL, 0), 4294967303LL);
	assert_int_equal(pyc_mtime_int(0, 0), 0);
	/* out of the int64 range: saturate instead of undefined behaviour */
	assert_int_equal(pyc_mtime_int(INT64_MAX, 0), INT64_MAX);
	assert_int_equal(pyc_mtime_int(INT64_MIN, 0), INT64_MIN);
	/* int((double)(2**63-1)) == 2**63, and 2**63 & 0xffffffff == 0 */
	assert_int_equal(pyc_mtime32(INT64_MAX, 0), 0);
	assert_int_equal(pyc_mtime32(INT64_MIN, 0), 0);
	assert_int_equal(pyc_mtime32(INT64_MAX - 4096, 0), 0xfffff000u);
}

/*
 * Import decisions observed by planting a pyc whose code (x = 2) differs from its source
 * (x = 1) and importing it: "true" means the interpreter ran the pyc's code. Output of
 * `tests/fixtures/regen_vectors.py --mtime-match` on 2.7.18, 3.6.15, 3.7.16 and 3.13.0
 * (3.8-3.12 answered exactly as 3.7 and 3.13).
 */
struct match_case {
	int major, minor;
	int64_t sec;
	long nsec;
	uint32_t stored;
	bool accepted;
};

static const struct match_case observed[] = {
	{ 2, 7, 1700000000LL, 0, 0x6553f100u, true },
	{ 2, 7, 1700000000LL, 999999999, 0x6553f100u, true },
	{ 2, 7, 1700000000LL, 999999999, 0x6553f101u, false },
	{ 2, 7, -5LL, 0, 0xfffffffbu, false },
	{ 2, 7, -1LL, 500000000, 0xffffffffu, false },
	{ 2, 7, -1LL, 500000000, 0x00000000u, false },
	{ 2, 7, 2147483649LL, 0, 0x80000001u, false },
	{ 2, 7, 4294967303LL, 0, 0x00000007u, true },
	{ 2, 7, 2147483647LL, 0, 0x7fffffffu, true },
	{ 3, 6, 1700000000LL, 0, 0x6553f100u, true },
	{ 3, 6, 1700000000LL, 999999999, 0x6553f100u, false },
	{ 3, 6, 1700000000LL, 999999999, 0x6553f101u, true },
	{ 3, 6, -5LL, 0, 0xfffffffbu, false },
	{ 3, 6, -1LL, 500000000, 0xffffffffu, false },
	{ 3, 6, -1LL, 500000000, 0x00000000u, true },
	{ 3, 6, 2147483649LL, 0, 0x80000001u, true },
	{ 3, 6, 4294967303LL, 0, 0x00000007u, false },
	{ 3, 6, 2147483647LL, 0, 0x7fffffffu, true },
	{ 3, 7, 1700000000LL, 0, 0x6553f100u, true },
	{ 3, 7, 1700000000LL, 999999999, 0x6553f100u, false },
	{ 3, 7, 1700000000LL, 999999999, 0x6553f101u, true },
	{ 3, 7, -5LL, 0, 0xfffffffbu, true },
	{ 3, 7, -1LL, 500000000, 0xffffffffu, false },
	{ 3, 7, -1LL, 500000000, 0x00000000u, true },
	{ 3, 7, 2147483649LL, 0, 0x80000001u, true },
	{ 3, 7, 4294967303LL, 0, 0x00000007u, true },
	{ 3, 7, 2147483647LL, 0, 0x7fffffffu, true },
	{ 3, 13, 1700000000LL, 0, 0x6553f100u, true },
	{ 3, 13, 1700000000LL, 999999999, 0x6553f100u, false },
	{ 3, 13, 1700000000LL, 999999999, 0x6553f101u, true },
	{ 3, 13, -5LL, 0, 0xfffffffbu, true },
	{ 3, 13, -1LL, 500000000, 0xffffffffu, false },
	{ 3, 13, -1LL, 500000000, 0x00000000u, true },
	{ 3, 13, 2147483649LL, 0, 0x80000001u, true },
	{ 3, 13, 4294967303LL, 0, 0x00000007u, true },
	{ 3, 13, 2147483647LL, 0, 0x7fffffffu, true },
};

static void test_observed_matches(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(observed) / sizeof(observed[0]); i++) {
		const struct match_case *c = &observed[i];
		const pyc_magic_info *info = pyc_magic_for_version(c->major, c->minor);
		assert_non_null(info);
		bool got = pyc_mtime_matches(info, c->stored, c->sec, c->nsec);
		if (got != c->accepted)
			fail_msg("case %zu: %d.%d sec=%lld nsec=%ld stored=%08x: want %d", i, c->major,
			         c->minor, (long long)c->sec, c->nsec, (unsigned)c->stored, c->accepted);
	}
}

static void test_size_matches(void **state)
{
	(void)state;
	const pyc_magic_info *v27 = pyc_magic_for_version(2, 7);
	const pyc_magic_info *v36 = pyc_magic_for_version(3, 6);
	const pyc_magic_info *v313 = pyc_magic_for_version(3, 13);
	assert_true(pyc_size_matches(v27, 0, 12345)); /* no size field */
	assert_true(pyc_size_matches(v36, 6, 6));
	assert_false(pyc_size_matches(v36, 6, 7));
	assert_true(pyc_size_matches(v36, 5, (1ULL << 32) + 5));
	assert_true(pyc_size_matches(v313, 5, (1ULL << 32) + 5));
	assert_false(pyc_size_matches(v313, 0, 1ULL << 31));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtime32_vectors),
		cmocka_unit_test(test_mtime_int),
		cmocka_unit_test(test_observed_matches),
		cmocka_unit_test(test_size_matches),
	};
	return tu_run_tests("mtime", tests);
}
