/* pyc_magic_*: every row of vectors.tsv's `magic` and `final` tables round-trips. */
#include "testutil.h"

#include "pyc/magic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static long to_long(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	assert_true(end != s);
	return v;
}

/* "3.5.0-3.5.2" or "3.12" -> 3, 12 */
static void parse_version(const char *s, int *major, int *minor)
{
	char *end;
	*major = (int)strtol(s, &end, 10);
	assert_int_equal(*end, '.');
	*minor = (int)strtol(end + 1, NULL, 10);
}

/* ---- the full historical list ---- */

struct magic_walk {
	size_t i;
	long size_field_at, pep552_at; /* found from the description column */
};

static void find_boundaries(char **f, size_t n, void *ctx)
{
	struct magic_walk *w = ctx;
	assert_true(n >= 6);
	if (strstr(f[5], "added size modulo 2**32 to the pyc header"))
		w->size_field_at = to_long(f[1]);
	if (strstr(f[5], "PEP 552"))
		w->pep552_at = to_long(f[1]);
}

static void check_magic_row(char **f, size_t n, void *ctx)
{
	struct magic_walk *w = ctx;
	long number = to_long(f[1]);
	const pyc_magic_info *m = pyc_magic_at(w->i++);
	assert_non_null(m);
	assert_int_equal(m->number, number);
	assert_string_equal(m->label, f[3]);
	assert_int_equal(m->is_final, f[4][0] != '\0');

	/* the 4 stored bytes are the little-endian magic word */
	uint8_t bytes[4];
	assert_int_equal(tu_unhex(f[2], bytes, 4), 4);
	uint32_t word = pyc_magic_word(m->number);
	for (int b = 0; b < 4; b++)
		assert_int_equal(bytes[b], (word >> (8 * b)) & 0xff);

	/* the label names the family ("Python 3000" is 3.0) */
	int major = 3, minor = 0;
	if (strcmp(f[3], "Python 3000") != 0)
		parse_version(f[3] + strlen("Python "), &major, &minor);
	assert_int_equal(m->major, major);
	assert_int_equal(m->minor, minor);

	/* layout from the version, then the rows that describe the layout changes */
	int want = 8;
	if (major == 3 && number >= w->pep552_at)
		want = 16;
	else if (major == 3 && number >= w->size_field_at)
		want = 12;
	assert_int_equal(m->header_size, want);
	assert_int_equal(m->hash_algo == PYC_HASH_NONE, want < 16);
	if (major == 3 && minor >= 2) {
		char tag[32];
		snprintf(tag, sizeof(tag), "cpython-%d%d", major, minor);
		assert_string_equal(m->cache_tag, tag);
	} else {
		assert_null(m->cache_tag);
	}

	const pyc_magic_info *hit = pyc_magic_lookup((uint16_t)number);
	assert_non_null(hit);
	assert_int_equal(hit->number, number);
	(void)n;
}

static void test_every_magic_row(void **state)
{
	(void)state;
	struct magic_walk w = { 0 };
	tu_vectors_foreach("magic", find_boundaries, &w);
	assert_int_equal(w.size_field_at, 3210);
	assert_int_equal(w.pep552_at, 3392);
	size_t rows = tu_vectors_foreach("magic", check_magic_row, &w);
	assert_int_equal(rows, 241);
	assert_int_equal(pyc_magic_count(), rows);
	assert_null(pyc_magic_at(rows));
}

/* ---- final releases ---- */

static enum pyc_hash_algo algo_named(const char *s)
{
	if (strcmp(s, "SipHash-2-4") == 0)
		return PYC_HASH_SIPHASH24;
	if (strcmp(s, "SipHash-1-3") == 0)
		return PYC_HASH_SIPHASH13;
	assert_string_equal(s, "n/a");
	return PYC_HASH_NONE;
}

static void check_final_row(char **f, size_t n, void *ctx)
{
	assert_true(n >= 9);
	int major, minor;
	parse_version(f[1], &major, &minor);
	const pyc_magic_info *m = pyc_magic_lookup((uint16_t)to_long(f[2]));
	assert_non_null(m);
	assert_true(m->is_final);
	assert_int_equal(m->major, major);
	assert_int_equal(m->minor, minor);
	assert_int_equal(m->header_size, to_long(f[5]));
	assert_int_equal(m->marshal_version, to_long(f[7]));
	assert_int_equal(m->hash_algo, algo_named(f[8]));
	if (strncmp(f[4], "none", 4) == 0) {
		assert_null(m->cache_tag);
	} else {
		char tag[32]; /* "cpython-32 (imp.get_tag(); ...)" -> first word */
		snprintf(tag, sizeof(tag), "%.*s", (int)strcspn(f[4], " "), f[4]);
		assert_string_equal(m->cache_tag, tag);
		const pyc_magic_info *t = pyc_magic_for_tag(tag);
		assert_non_null(t);
		assert_int_equal(t->major, major);
		assert_int_equal(t->minor, minor);
	}
	const pyc_magic_info *v = pyc_magic_for_version(major, minor);
	assert_non_null(v);
	assert_true(v->is_final);
	/* 3.5 has two finals; the newer one (3351) is what we write */
	if (!(major == 3 && minor == 5))
		assert_ptr_equal(v, m);
	(*(size_t *)ctx)++;
}

static void test_every_final_row(void **state)
{
	(void)state;
	size_t seen = 0;
	assert_int_equal(tu_vectors_foreach("final", check_final_row, &seen), 17);
	assert_int_equal(pyc_magic_for_version(3, 5)->number, 3351);
	assert_int_equal(pyc_magic_for_tag("cpython-35")->number, 3351);
	assert_int_equal(pyc_magic_lookup(3350)->minor, 5);
	assert_int_equal(pyc_magic_for_version(3, 14)->number, 3627);
	/* exactly one final per version, except 3.5 */
	size_t finals = 0;
	for (size_t i = 0; i < pyc_magic_count(); i++)
		finals += pyc_magic_at(i)->is_final;
	assert_int_equal(finals, seen);
}

static void test_duplicates_and_unknowns(void **state)
{
	(void)state;
	/* several rows share 20121 and 62011: none final, so the last listed wins */
	assert_string_equal(pyc_magic_lookup(20121)->label, "Python 1.5.2");
	const pyc_magic_info *last = NULL;
	for (size_t i = 0; i < pyc_magic_count(); i++)
		if (pyc_magic_at(i)->number == 62011)
			last = pyc_magic_at(i);
	assert_ptr_equal(pyc_magic_lookup(62011), last);
	/* Python 2 numbers are above 3000 too; the layout comes from the version */
	assert_int_equal(pyc_magic_lookup(62211)->header_size, 8);
	assert_int_equal(pyc_magic_lookup(62211)->major, 2);

	assert_null(pyc_magic_lookup(0));
	assert_null(pyc_magic_lookup(3395));
	assert_null(pyc_magic_lookup(65535));
	assert_null(pyc_magic_for_tag(NULL));
	assert_null(pyc_magic_for_tag(""));
	assert_null(pyc_magic_for_tag("cpython-"));
	assert_null(pyc_magic_for_tag("cpython-399"));
	assert_null(pyc_magic_for_tag("pypy39"));
	assert_null(pyc_magic_for_tag("cpython-312x"));
	assert_null(pyc_magic_for_version(3, 15)); /* alphas only */
	assert_null(pyc_magic_for_version(2, 6));
	assert_null(pyc_magic_for_version(4, 0));
}

/* Read a whole stream into a malloc'd buffer; *len gets its size. */
static char *slurp(FILE *fp, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	*len = n;
	return buf;
}

/* src/lib/magic_table.inc is what the generator makes of today's vectors.tsv. */
static void test_generated_table_is_current(void **state)
{
	(void)state;
	const char *src = getenv("PYC_SOURCE_DIR");
	assert_non_null(src);
	char *py = tu_python3();
	if (!py)
		tu_skip("no python3 to run the generator");
	char path[4096], cmd[8192];
	const char *fixtures = tu_fixture("vectors.tsv");
	assert_null(strchr(src, '\''));
	assert_null(strchr(fixtures, '\''));
	snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/fixtures/gen_magic_table.py' '%s'", py, src,
	         fixtures);
	free(py);
	FILE *gen = popen(cmd, "r");
	assert_non_null(gen);
	size_t glen, flen;
	char *generated = slurp(gen, &glen);
	assert_int_equal(pclose(gen), 0);
	snprintf(path, sizeof(path), "%s/src/lib/magic_table.inc", src);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *committed = slurp(fp, &flen);
	fclose(fp);
	if (glen != flen || memcmp(generated, committed, glen) != 0)
		fail_msg("src/lib/magic_table.inc is stale: rerun tests/fixtures/gen_magic_table.py");
	free(generated);
	free(committed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_magic_row),
		cmocka_unit_test(test_every_final_row),
		cmocka_unit_test(test_duplicates_and_unknowns),
		cmocka_unit_test(test_generated_table_is_current),
	};
	return tu_run_tests("magic", tests);
}
