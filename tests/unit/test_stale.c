/*
 * pyc_stale_check / pyc_stale_judge on real files.
 *
 * Facts come from two places: the pyc_file rows of vectors.tsv (whole .pyc files that
 * real interpreters wrote for b"x = 1\n" at mtime 1700000000, including their source
 * hashes), and headers crafted with pyc_header_encode for the corner cases.
 */
#include "testutil.h"

#include "pyc/header.h"
#include "pyc/magic.h"
#include "pyc/stale.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_MTIME 1700000000

struct fixture {
	char *dir;
	int fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp();
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->fd);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Write a crafted header (plus a small body) to dir/rel. */
static void write_header(const char *dir, const char *rel, const pyc_header *h, size_t keep)
{
	uint8_t buf[64] = { 0 };
	int n = pyc_header_encode(buf, sizeof(buf), h);
	assert_true(n > 0);
	memcpy(buf + n, "\xe3\x00\x00\x00", 4);  /* looks like the start of a code object */
	size_t len = keep ? keep : (size_t)n + 4;
	tu_write(dir, rel, buf, len);
}

static pyc_header timestamp_header(uint16_t magic, uint32_t mtime, uint32_t size)
{
	pyc_header h = { .magic = magic, .mode = PYC_INVALIDATION_TIMESTAMP };
	h.mtime = mtime;
	h.source_size = size;
	return h;
}

static pyc_verdict check(struct fixture *f, enum pyc_cache_kind kind, const char *cache,
                         const char *tag, const char *src, int expect_rc)
{
	pyc_verdict v;
	pyc_error err = { 0 };
	int rc = pyc_stale_check(&v, kind, f->fd, cache, tag, f->fd, src, &err);
	if (rc != expect_rc)
		fail_msg("%s: rc %d, expected %d (%s)", cache, rc, expect_rc, err.message);
	return v;
}

static void assert_verdict(const pyc_verdict *v, enum pyc_state s, enum pyc_reason r)
{
	if (v->state != s || v->reason != r)
		fail_msg("verdict %s/%s, expected %s/%s", pyc_state_name(v->state),
		         pyc_reason_name(v->reason), pyc_state_name(s), pyc_reason_name(r));
}

/* One pyc_file row per interpreter and mode: the file the interpreter wrote is fresh,
 * an edit that keeps size and mtime is seen only by the hash-based files, and a touch
 * only by the timestamp ones. */
static void test_vectors_pyc_file(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(tu_fixture("vectors.tsv"), "r");
	assert_non_null(fp);
	char line[8192];
	int rows = 0;
	while (fgets(line, sizeof(line), fp)) {
		char *fl[8];
		if (strncmp(line, "pyc_file\t", 9) != 0 || tu_split_tabs(line, fl, 8) < 6)
			continue;
		uint8_t pyc[1024];
		size_t n = tu_unhex(fl[5], pyc, sizeof(pyc));
		const pyc_magic_info *info = pyc_magic_lookup((uint16_t)(pyc[0] | pyc[1] << 8));
		assert_non_null(info);
		char cache[128];
		snprintf(cache, sizeof(cache), "__pycache__/m.%s.pyc", info->cache_tag);
		bool hashed = strcmp(fl[2], "timestamp") != 0;

		tu_write(f->dir, cache, pyc, n);
		tu_write_str(f->dir, "m.py", "x = 1\n");
		tu_set_mtime(f->dir, "m.py", SRC_MTIME, 0);
		pyc_verdict v = check(f, PYC_CACHE_PEP3147, cache, info->cache_tag, "m.py", 0);
		assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
		assert_true(v.header_ok);
		assert_int_equal(v.unchecked, strcmp(fl[2], "unchecked-hash") == 0);

		tu_write_str(f->dir, "m.py", "x = 2\n");
		tu_set_mtime(f->dir, "m.py", SRC_MTIME, 0);
		v = check(f, PYC_CACHE_PEP3147, cache, info->cache_tag, "m.py", 0);
		assert_verdict(&v, hashed ? PYC_STATE_STALE : PYC_STATE_FRESH,
		               hashed ? PYC_REASON_HASH : PYC_REASON_NONE);

		tu_write_str(f->dir, "m.py", "x = 1\n");
		tu_set_mtime(f->dir, "m.py", SRC_MTIME + 1, 0);
		v = check(f, PYC_CACHE_PEP3147, cache, info->cache_tag, "m.py", 0);
		assert_verdict(&v, hashed ? PYC_STATE_FRESH : PYC_STATE_STALE,
		               hashed ? PYC_REASON_NONE : PYC_REASON_MTIME);
		rows++;
	}
	fclose(fp);
	assert_true(rows >= 20);
}

static void test_timestamp_mtime_and_size(void **state)
{
	struct fixture *f = *state;
	const char *c = "__pycache__/t.cpython-312.pyc";
	tu_write_str(f->dir, "t.py", "abc\n");
	tu_set_mtime(f->dir, "t.py", SRC_MTIME, 0);

	pyc_header h = timestamp_header(3531, SRC_MTIME, 4);
	write_header(f->dir, c, &h, 0);
	pyc_verdict v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "t.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
	assert_true(v.source_exists);
	assert_int_equal(v.source.size, 4);

	h = timestamp_header(3531, SRC_MTIME, 5);
	write_header(f->dir, c, &h, 0);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "t.py", 0);
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_SIZE);

	/* Both wrong: get_code() looks at the mtime first. */
	h = timestamp_header(3531, SRC_MTIME - 1, 5);
	write_header(f->dir, c, &h, 0);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "t.py", 0);
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_MTIME);

	/* int(st_mtime) of 1700000000.999999999 is 1700000001 (the double rounds up). */
	h = timestamp_header(3531, SRC_MTIME + 1, 4);
	write_header(f->dir, c, &h, 0);
	tu_set_mtime(f->dir, "t.py", SRC_MTIME, 999999999);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "t.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
}

/* 3.3-3.6 compare the unmasked mtime: a negative one never matches; 3.7+ mask both. */
static void test_negative_mtime_per_version(void **state)
{
	struct fixture *f = *state;
	tu_write_str(f->dir, "n.py", "n\n");
	tu_set_mtime(f->dir, "n.py", -5, 0);
	pyc_header h36 = timestamp_header(3379, (uint32_t)-5, 2);
	write_header(f->dir, "__pycache__/n.cpython-36.pyc", &h36, 0);
	pyc_verdict v = check(f, PYC_CACHE_PEP3147, "__pycache__/n.cpython-36.pyc", "cpython-36",
	                      "n.py", 0);
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_MTIME);

	pyc_header h37 = timestamp_header(3394, (uint32_t)-5, 2);
	write_header(f->dir, "__pycache__/n.cpython-37.pyc", &h37, 0);
	v = check(f, PYC_CACHE_PEP3147, "__pycache__/n.cpython-37.pyc", "cpython-37", "n.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
}

static void test_corrupt_reasons(void **state)
{
	struct fixture *f = *state;
	const char *c = "__pycache__/k.cpython-312.pyc";
	tu_write_str(f->dir, "k.py", "k\n");
	tu_set_mtime(f->dir, "k.py", SRC_MTIME, 0);
	pyc_header h = timestamp_header(3531, SRC_MTIME, 2);

	write_header(f->dir, c, &h, 10);
	pyc_verdict v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);
	assert_false(v.header_ok);

	tu_write(f->dir, c, "", 0);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);

	/* A whole header and no body: the import would fail in marshal, so corrupt; but a
	 * stale one is never unmarshalled (the source is compiled instead). */
	write_header(f->dir, c, &h, 16);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);
	assert_true(v.header_ok);
	pyc_header old = timestamp_header(3531, SRC_MTIME - 1, 2);
	write_header(f->dir, c, &old, 16);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_MTIME);
	write_header(f->dir, c, &h, 17);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
	pyc_header lone = timestamp_header(62211, SRC_MTIME, 0);
	write_header(f->dir, "lone.pyc", &lone, 8);   /* sourceless, header only */
	v = check(f, PYC_CACHE_LEGACY, "lone.pyc", NULL, "lone.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);

	uint8_t raw[20];
	int n = pyc_header_encode(raw, sizeof(raw), &h);
	assert_int_equal(n, 16);
	raw[4] = 0x04;  /* a flag bit no version defines */
	tu_write(f->dir, c, raw, 16);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_BAD_FLAGS);

	raw[4] = 0;
	raw[0] = 0x01; raw[1] = 0x00;  /* magic 1: nobody's */
	tu_write(f->dir, c, raw, 16);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_UNKNOWN_MAGIC);

	/* A valid 3.11 header under a cpython-312 name. */
	pyc_header h311 = timestamp_header(3495, SRC_MTIME, 2);
	write_header(f->dir, c, &h311, 0);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TAG_MISMATCH);

	/* 2.7's magic has no tag at all, so it never matches one. */
	pyc_header h27 = timestamp_header(62211, SRC_MTIME, 0);
	write_header(f->dir, c, &h27, 0);
	v = check(f, PYC_CACHE_PEP3147, c, "cpython-312", "k.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TAG_MISMATCH);
}

static void test_orphan_sourceless_legacy(void **state)
{
	struct fixture *f = *state;
	pyc_header h = timestamp_header(3531, SRC_MTIME, 2);

	/* No source: an orphan, even when the file is also truncated. */
	write_header(f->dir, "__pycache__/gone.cpython-312.pyc", &h, 0);
	pyc_verdict v = check(f, PYC_CACHE_PEP3147, "__pycache__/gone.cpython-312.pyc",
	                      "cpython-312", "gone.py", 0);
	assert_verdict(&v, PYC_STATE_ORPHAN, PYC_REASON_NONE);
	assert_false(v.source_exists);
	write_header(f->dir, "__pycache__/gone.cpython-312.pyc", &h, 5);
	v = check(f, PYC_CACHE_PEP3147, "__pycache__/gone.cpython-312.pyc", "cpython-312",
	          "gone.py", 0);
	assert_verdict(&v, PYC_STATE_ORPHAN, PYC_REASON_NONE);

	/* A directory named like the source is not a source. */
	assert_int_equal(mkdirat(f->fd, "dir.py", 0755), 0);
	write_header(f->dir, "__pycache__/dir.cpython-312.pyc", &h, 0);
	v = check(f, PYC_CACHE_PEP3147, "__pycache__/dir.cpython-312.pyc", "cpython-312",
	          "dir.py", 0);
	assert_verdict(&v, PYC_STATE_ORPHAN, PYC_REASON_NONE);

	/* Legacy beside no source: importable on its own, unless its header is bad. */
	pyc_header h27 = timestamp_header(62211, SRC_MTIME, 0);
	write_header(f->dir, "lone.pyc", &h27, 0);
	v = check(f, PYC_CACHE_LEGACY, "lone.pyc", NULL, "lone.py", 0);
	assert_verdict(&v, PYC_STATE_SOURCELESS, PYC_REASON_NONE);
	write_header(f->dir, "lone.pyc", &h27, 6);
	v = check(f, PYC_CACHE_LEGACY, "lone.pyc", NULL, "lone.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);

	/* Legacy beside its source (2.7 or compileall -b): judged like any cache. */
	tu_write_str(f->dir, "leg.py", "abcdef\n");
	tu_set_mtime(f->dir, "leg.py", SRC_MTIME, 0);
	write_header(f->dir, "leg.pyc", &h27, 0);
	v = check(f, PYC_CACHE_LEGACY, "leg.pyc", NULL, "leg.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
	tu_set_mtime(f->dir, "leg.py", SRC_MTIME + 7, 0);
	v = check(f, PYC_CACHE_LEGACY, "leg.pyc", NULL, "leg.py", 0);
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_MTIME);
}

/* The source is stat()ed through a symlink, as the import system does. */
static void test_source_symlink_followed(void **state)
{
	struct fixture *f = *state;
	tu_write_str(f->dir, "real.py", "r = 1\n");
	tu_set_mtime(f->dir, "real.py", SRC_MTIME, 0);
	assert_int_equal(symlinkat("real.py", f->fd, "link.py"), 0);
	pyc_header h = timestamp_header(3531, SRC_MTIME, 6);
	write_header(f->dir, "__pycache__/link.cpython-312.pyc", &h, 0);
	pyc_verdict v = check(f, PYC_CACHE_PEP3147, "__pycache__/link.cpython-312.pyc",
	                      "cpython-312", "link.py", 0);
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	pyc_verdict v;
	pyc_error err = { 0 };
	assert_int_equal(pyc_stale_check(&v, PYC_CACHE_PEP3147, f->fd, "__pycache__/no.cpython-312.pyc",
	                                 "cpython-312", f->fd, "no.py", &err),
	                 PYC_ENOTFOUND);
	/* Symlinks that lead to no readable file are no cache, as for the import system;
	 * (a FIFO must not block the check: below). */
	assert_int_equal(mkdirat(f->fd, "__pycache__", 0755), 0);
	assert_int_equal(symlinkat("..", f->fd, "__pycache__/dir.cpython-312.pyc"), 0);
	assert_int_equal(symlinkat("nowhere", f->fd, "__pycache__/dangling.cpython-312.pyc"), 0);
	assert_int_equal(symlinkat("loop.cpython-312.pyc", f->fd, "__pycache__/loop.cpython-312.pyc"), 0);
	assert_int_equal(mkfifoat(f->fd, "fifo", 0600), 0);
	assert_int_equal(symlinkat("../fifo", f->fd, "__pycache__/fifo.cpython-312.pyc"), 0);
	static const char *const nocache[] = { "dir", "dangling", "loop" };
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "__pycache__/%s.cpython-312.pyc", nocache[i]);
		assert_int_equal(pyc_stale_check(&v, PYC_CACHE_PEP3147, f->fd, name, "cpython-312",
		                                 f->fd, "x.py", &err),
		                 PYC_ENOTFOUND);
	}
	/* A FIFO without a writer reads as empty (no hang): nothing valid in it. */
	tu_write_str(f->dir, "fifo.py", "x\n");
	v = check(f, PYC_CACHE_PEP3147, "__pycache__/fifo.cpython-312.pyc", "cpython-312",
	          "fifo.py", 0);
	assert_verdict(&v, PYC_STATE_CORRUPT, PYC_REASON_TRUNCATED);
	if (geteuid() == 0)
		return;  /* root reads everything */
	pyc_header h = timestamp_header(3531, SRC_MTIME, 2);
	write_header(f->dir, "__pycache__/ro.cpython-312.pyc", &h, 0);
	assert_int_equal(chmod(tu_path(f->dir, "__pycache__/ro.cpython-312.pyc"), 0), 0);
	assert_int_equal(pyc_stale_check(&v, PYC_CACHE_PEP3147, f->fd, "__pycache__/ro.cpython-312.pyc",
	                                 "cpython-312", f->fd, "ro.py", &err),
	                 PYC_EIO);
	assert_int_equal(err.sys_errno, EACCES);
	assert_non_null(strstr(err.message, "ro.cpython-312.pyc"));
}

static void test_judge_pure(void **state)
{
	(void)state;
	pyc_header h = { 0 };
	uint8_t buf[16];
	h.magic = 3531;
	h.mode = PYC_INVALIDATION_CHECKED_HASH;
	memcpy(h.hash, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(pyc_header_encode(buf, sizeof(buf), &h), 16);
	assert_int_equal(pyc_header_decode(&h, buf, 16), 0);
	pyc_source_stat src = { SRC_MTIME, 0, 10 };
	pyc_verdict v = { 0 };
	pyc_stale_judge(&v, &h, &src, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08");
	assert_verdict(&v, PYC_STATE_FRESH, PYC_REASON_NONE);
	pyc_stale_judge(&v, &h, &src, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x09");
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_HASH);
	assert_false(v.unchecked);
	h.mode = PYC_INVALIDATION_UNCHECKED_HASH;
	pyc_stale_judge(&v, &h, &src, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x09");
	assert_verdict(&v, PYC_STATE_STALE, PYC_REASON_HASH);
	assert_true(v.unchecked);
}

static void test_names(void **state)
{
	(void)state;
	static const char *states[] = { "fresh", "stale", "orphan", "sourceless", "corrupt", "missing" };
	for (int i = 0; i <= PYC_STATE_MISSING; i++)
		assert_string_equal(pyc_state_name((enum pyc_state)i), states[i]);
	static const char *reasons[] = { "", "mtime", "size", "hash", "truncated", "bad-flags",
	                                 "unknown-magic", "tag-mismatch", "bad-name" };
	for (int i = 0; i <= PYC_REASON_BAD_NAME; i++)
		assert_string_equal(pyc_reason_name((enum pyc_reason)i), reasons[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vectors_pyc_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timestamp_mtime_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_mtime_per_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_sourceless_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_symlink_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_judge_pure),
		cmocka_unit_test(test_names),
	};
	return tu_run_tests("stale", tests);
}
