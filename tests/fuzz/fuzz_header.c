/*
 * fuzz_header: the .pyc header codec and the staleness verdict on arbitrary cache bytes.
 *
 *  - decode(bytes): a known error code, or a header whose encoding reproduces the bytes it
 *    was decoded from (flags 2, a timestamp pyc to CPython, encodes as 0) and that decodes
 *    the same from exactly its own size;
 *  - encode(header built from the bytes) decodes back to the same fields;
 *  - pyc_stale_check on the bytes as a cache file, beside a fixed source (b"x = 1\n",
 *    mtime 1700000000, as tests/fixtures/vectors.tsv's pyc_file rows), agrees with the
 *    documented precedence (include/pyc/stale.h) built from decode and pyc_stale_judge.
 */
#include "fuzz.h"

#include "pyc/header.h"
#include "pyc/source_hash.h"
#include "pyc/stale.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char source[] = "x = 1\n";
static int dirfd_;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *dir = fuzz_scratch_dir();
	fuzz_write_file(dir, "m.py", source, strlen(source));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct timespec ts[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
	if (dirfd_ < 0 || utimensat(dirfd_, "m.py", ts, 0) != 0)
		abort();
	return 0;
}

static bool same_header(const pyc_header *a, const pyc_header *b)
{
	return a->magic == b->magic && a->info == b->info && a->size == b->size &&
	       a->mode == b->mode && a->mtime == b->mtime && a->source_size == b->source_size &&
	       memcmp(a->hash, b->hash, sizeof(a->hash)) == 0;
}

static void check_decode(const uint8_t *data, size_t size)
{
	pyc_header h, again;
	int rc = pyc_header_decode(&h, data, size);
	if (rc != 0) {
		FUZZ_CHECK(rc == PYC_ETRUNCATED || rc == PYC_EBADMAGIC || rc == PYC_EBADFLAGS);
		FUZZ_CHECK(rc != PYC_ETRUNCATED || size < 4 || (h.info && size < h.info->header_size));
		return;
	}
	FUZZ_CHECK(h.info && h.info->number == h.magic && h.size == h.info->header_size);
	FUZZ_CHECK(h.size <= size && (h.size == 8 || h.size == 12 || h.size == 16));
	FUZZ_CHECK(pyc_header_decode(&again, data, h.size) == 0 && same_header(&h, &again));
	FUZZ_CHECK(pyc_header_decode(&again, data, h.size - 1) == PYC_ETRUNCATED);

	uint8_t buf[PYC_HEADER_MAX];
	FUZZ_CHECK(pyc_header_encode(buf, sizeof(buf), &h) == h.size);
	uint8_t want[PYC_HEADER_MAX];
	memcpy(want, data, h.size);
	if (h.size == 16 && h.flags == 2)
		want[4] = 0;
	FUZZ_CHECK(memcmp(buf, want, h.size) == 0);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytes 0-1 pick a table row, 2 the mode, 3-6 mtime, 7-10 size, 11-18 the hash. */
static void check_encode(const uint8_t *data, size_t size)
{
	if (size < 19)
		return;
	pyc_header h = { 0 }, back;
	const pyc_magic_info *info = pyc_magic_at((data[0] | data[1] << 8) % pyc_magic_count());
	h.magic = info->number;
	h.mode = (enum pyc_invalidation)(data[2] % 4);
	h.mtime = le32(data + 3);
	h.source_size = le32(data + 7);
	memcpy(h.hash, data + 11, 8);
	info = pyc_magic_lookup(h.magic);

	uint8_t buf[PYC_HEADER_MAX];
	int n = pyc_header_encode(buf, sizeof(buf), &h);
	if (h.mode > PYC_INVALIDATION_UNCHECKED_HASH) {
		FUZZ_CHECK(n == PYC_EINVAL);
		return;
	}
	if (h.mode != PYC_INVALIDATION_TIMESTAMP && info->header_size < 16) {
		FUZZ_CHECK(n == PYC_EUNSUPPORTED);
		return;
	}
	FUZZ_CHECK(n == info->header_size);
	FUZZ_CHECK(pyc_header_encode(buf, (size_t)n - 1, &h) == PYC_EINVAL);
	FUZZ_CHECK(pyc_header_decode(&back, buf, (size_t)n) == 0);
	FUZZ_CHECK(back.magic == h.magic && back.info == info && back.mode == h.mode);
	if (h.mode == PYC_INVALIDATION_TIMESTAMP) {
		FUZZ_CHECK(back.mtime == h.mtime);
		FUZZ_CHECK(back.source_size == (info->header_size >= 12 ? h.source_size : 0));
	} else {
		FUZZ_CHECK(memcmp(back.hash, h.hash, 8) == 0);
	}
}

static enum pyc_reason decode_reason(int rc)
{
	return rc == PYC_ETRUNCATED ? PYC_REASON_TRUNCATED :
	       rc == PYC_EBADFLAGS ? PYC_REASON_BAD_FLAGS : PYC_REASON_UNKNOWN_MAGIC;
}

/* The verdict stale.h promises, from the parts: orphan, corrupt, tag-mismatch,
 * sourceless, stale/fresh, then a header with nothing after it that would be loaded. */
static void expected_verdict(pyc_verdict *v, const uint8_t *data, size_t size,
                             enum pyc_cache_kind kind, const char *tag, bool has_source)
{
	memset(v, 0, sizeof(*v));
	int rc = pyc_header_decode(&v->header, data, size);
	if (kind == PYC_CACHE_PEP3147 && !has_source) {
		v->state = PYC_STATE_ORPHAN;
	} else if (rc != 0) {
		v->state = PYC_STATE_CORRUPT;
		v->reason = decode_reason(rc);
	} else if (tag && !(v->header.info->cache_tag && strcmp(v->header.info->cache_tag, tag) == 0)) {
		v->state = PYC_STATE_CORRUPT;
		v->reason = PYC_REASON_TAG_MISMATCH;
	} else if (!has_source) {
		v->state = PYC_STATE_SOURCELESS;
		v->unchecked = v->header.mode == PYC_INVALIDATION_UNCHECKED_HASH;
	} else {
		pyc_source_stat st = { 1700000000, 0, strlen(source) };
		uint8_t hash[8];
		FUZZ_CHECK(pyc_source_hash(hash, v->header.info, source, strlen(source)) == 0 ||
		           v->header.mode == PYC_INVALIDATION_TIMESTAMP);
		pyc_stale_judge(v, &v->header, &st, hash);
	}
	bool loaded = v->state == PYC_STATE_FRESH || v->state == PYC_STATE_SOURCELESS ||
	              (v->state == PYC_STATE_STALE && v->unchecked);
	if (rc == 0 && loaded && size <= v->header.size) {
		v->state = PYC_STATE_CORRUPT;
		v->reason = PYC_REASON_TRUNCATED;
	}
}

static void check_judge(const uint8_t *data, size_t size, enum pyc_cache_kind kind,
                        const char *tag, bool has_source)
{
	pyc_verdict got, want;
	pyc_error err = { 0 };
	const char *name = kind == PYC_CACHE_LEGACY ? "m.pyc" : "m.cache.pyc";
	FUZZ_CHECK(pyc_stale_check(&got, kind, dirfd_, name, tag, dirfd_,
	                           has_source ? "m.py" : "absent.py", &err) == 0);
	expected_verdict(&want, data, size, kind, tag, has_source);
	FUZZ_CHECK(got.state == want.state && got.reason == want.reason);
	FUZZ_CHECK(got.source_exists == has_source);
	FUZZ_CHECK(got.header_ok == (pyc_header_decode(&want.header, data, size) == 0));
	if (got.state != PYC_STATE_ORPHAN)
		FUZZ_CHECK(got.unchecked == want.unchecked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);

	const char *dir = fuzz_scratch_dir();
	fuzz_write_file(dir, "m.cache.pyc", data, size);
	fuzz_write_file(dir, "m.pyc", data, size);
	pyc_header h;
	const char *own_tag = pyc_header_decode(&h, data, size) == 0 ? h.info->cache_tag : NULL;
	check_judge(data, size, PYC_CACHE_PEP3147, own_tag ? own_tag : "cpython-312", true);
	check_judge(data, size, PYC_CACHE_PEP3147, "cpython-312", true);
	check_judge(data, size, PYC_CACHE_PEP3147, "cpython-312", false);
	check_judge(data, size, PYC_CACHE_LEGACY, NULL, true);
	check_judge(data, size, PYC_CACHE_LEGACY, NULL, false);
	return 0;
}
