/*
 * Staleness verdicts: see include/pyc/stale.h and docs/status.md.
 *
 * The order of the checks copies SourceLoader.get_code(): the cache's header is
 * classified first (magic, length, flags), then the source is consulted. Only a
 * hash-based pyc makes us read the source; everything else costs one fstatat() of the
 * source plus openat()/read()/close() of at most PYC_HEADER_MAX + 1 bytes of the cache.
 */
#include "pyc/stale.h"

#include "pyc/mtime.h"
#include "pyc/source_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *pyc_state_name(enum pyc_state s)
{
	switch (s) {
	case PYC_STATE_FRESH: return "fresh";
	case PYC_STATE_STALE: return "stale";
	case PYC_STATE_ORPHAN: return "orphan";
	case PYC_STATE_SOURCELESS: return "sourceless";
	case PYC_STATE_CORRUPT: return "corrupt";
	case PYC_STATE_MISSING: return "missing";
	}
	return "?";
}

const char *pyc_reason_name(enum pyc_reason r)
{
	switch (r) {
	case PYC_REASON_NONE: return "";
	case PYC_REASON_MTIME: return "mtime";
	case PYC_REASON_SIZE: return "size";
	case PYC_REASON_HASH: return "hash";
	case PYC_REASON_TRUNCATED: return "truncated";
	case PYC_REASON_BAD_FLAGS: return "bad-flags";
	case PYC_REASON_UNKNOWN_MAGIC: return "unknown-magic";
	case PYC_REASON_TAG_MISMATCH: return "tag-mismatch";
	case PYC_REASON_BAD_NAME: return "bad-name";
	}
	return "?";
}

void pyc_stale_judge(pyc_verdict *v, const pyc_header *h, const pyc_source_stat *src,
                     const uint8_t *source_hash)
{
	v->state = PYC_STATE_FRESH;
	v->reason = PYC_REASON_NONE;
	v->unchecked = h->mode == PYC_INVALIDATION_UNCHECKED_HASH;
	if (h->mode != PYC_INVALIDATION_TIMESTAMP) {
		if (!source_hash || memcmp(source_hash, h->hash, sizeof(h->hash)) != 0) {
			v->state = PYC_STATE_STALE;
			v->reason = PYC_REASON_HASH;
		}
		return;
	}
	/* get_code() checks mtime first, so a file wrong in both is reported as mtime. */
	if (!pyc_mtime_matches(h->info, h->mtime, src->mtime_sec, src->mtime_nsec)) {
		v->state = PYC_STATE_STALE;
		v->reason = PYC_REASON_MTIME;
	} else if (!pyc_size_matches(h->info, h->source_size, src->size)) {
		v->state = PYC_STATE_STALE;
		v->reason = PYC_REASON_SIZE;
	}
}

/* Read up to cap bytes from the start of dirfd/name. Returns the count or a PYC_E* code. */
static ssize_t read_head(int dirfd, const char *name, uint8_t *buf, size_t cap, pyc_error *err)
{
	/* O_NONBLOCK: a symlinked cache may point at a FIFO; never hang on it. */
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		/* Gone since it was listed, a dangling symlink or a loop: the import system
		 * sees no cache there either (its OSError is swallowed). */
		if (errno == ENOENT || errno == ELOOP)
			return pyc_error_set(err, PYC_ENOTFOUND, errno, "cannot open '%s'", name);
		return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", name);
	}
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			/* A symlink to a directory or a FIFO: not a cache file at all. */
			if (e == EISDIR || e == EAGAIN)
				return pyc_error_set(err, PYC_ENOTFOUND, e, "cannot read '%s'", name);
			return pyc_error_set(err, PYC_EIO, e, "cannot read '%s'", name);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/*
 * Stat the source as FileFinder does (following symlinks; only a regular file is a
 * source). Returns 1 when it exists, 0 when there is no source, <0 on a real error.
 */
static int stat_source(pyc_source_stat *out, int dirfd, const char *name, pyc_error *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, 0) != 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)
			return 0;
		return pyc_error_set(err, PYC_EIO, errno, "cannot stat '%s'", name);
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	out->mtime_sec = (int64_t)st.st_mtim.tv_sec;
	out->mtime_nsec = st.st_mtim.tv_nsec;
	out->size = (uint64_t)st.st_size;
	return 1;
}

/* The keyed hash of the whole source, streamed (the import system reads all of it too). */
static int hash_source(uint8_t out[8], const pyc_magic_info *info, int dirfd,
                       const char *name, pyc_error *err)
{
	uint8_t key[16] = { 0 };
	uint32_t word = pyc_magic_word(info->number);
	for (int i = 0; i < 4; i++)
		key[i] = (uint8_t)(word >> (8 * i));
	pyc_siphash_state s;
	if (info->hash_algo == PYC_HASH_SIPHASH24)
		pyc_siphash_init(&s, 2, 4, key);
	else
		pyc_siphash_init(&s, 1, 3, key);

	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", name);
	uint8_t buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return pyc_error_set(err, PYC_EIO, e, "cannot read '%s'", name);
		}
		if (n == 0)
			break;
		pyc_siphash_update(&s, buf, (size_t)n);
	}
	close(fd);
	uint64_t h = pyc_siphash_final(&s);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
	return 0;
}

static enum pyc_reason reason_for_decode(int rc)
{
	switch (rc) {
	case PYC_ETRUNCATED: return PYC_REASON_TRUNCATED;
	case PYC_EBADFLAGS: return PYC_REASON_BAD_FLAGS;
	default: return PYC_REASON_UNKNOWN_MAGIC;
	}
}

/*
 * A header with nothing after it: where the import system would load the code (a fresh
 * or sourceless file, or an unchecked-hash one) unmarshalling fails with EOFError and
 * the import fails, with no fallback to the source (seen on 2.7 and 3.6-3.13).
 */
static void body_check(pyc_verdict *v, bool has_body)
{
	bool loaded = v->state == PYC_STATE_FRESH || v->state == PYC_STATE_SOURCELESS ||
	              (v->state == PYC_STATE_STALE && v->unchecked);
	if (!has_body && loaded) {
		v->state = PYC_STATE_CORRUPT;
		v->reason = PYC_REASON_TRUNCATED;
	}
}

/* Does the magic belong to the tag in the file name? A tagless (2.x, 3.0/3.1) magic never does. */
static bool tag_matches(const pyc_header *h, const char *expected_tag)
{
	return h->info && h->info->cache_tag && strcmp(h->info->cache_tag, expected_tag) == 0;
}

int pyc_stale_check(pyc_verdict *out, enum pyc_cache_kind kind, int cache_dirfd,
                    const char *cache_name, const char *expected_tag, int src_dirfd,
                    const char *src_name, pyc_error *err)
{
	/* One byte past the largest header tells whether a body follows, at no extra cost. */
	uint8_t head[PYC_HEADER_MAX + 1];
	memset(out, 0, sizeof(*out));
	ssize_t n = read_head(cache_dirfd, cache_name, head, sizeof(head), err);
	if (n < 0)
		return (int)n;
	int drc = pyc_header_decode(&out->header, head, (size_t)n);
	out->header_ok = drc == 0;
	bool has_body = drc == 0 && (size_t)n > out->header.size;

	int src = stat_source(&out->source, src_dirfd, src_name, err);
	if (src < 0)
		return src;
	out->source_exists = src == 1;

	/* A __pycache__ file without a source is never read by the import system, so
	 * what it holds does not matter: it is an orphan whatever its header says. */
	if (kind == PYC_CACHE_PEP3147 && !out->source_exists) {
		out->state = PYC_STATE_ORPHAN;
		return 0;
	}
	if (drc < 0) {
		out->state = PYC_STATE_CORRUPT;
		out->reason = reason_for_decode(drc);
		return 0;
	}
	if (expected_tag && !tag_matches(&out->header, expected_tag)) {
		out->state = PYC_STATE_CORRUPT;
		out->reason = PYC_REASON_TAG_MISMATCH;
		return 0;
	}
	if (!out->source_exists) {
		out->state = PYC_STATE_SOURCELESS;
		out->unchecked = out->header.mode == PYC_INVALIDATION_UNCHECKED_HASH;
		body_check(out, has_body);
		return 0;
	}
	uint8_t hash[8];
	const uint8_t *hp = NULL;
	if (out->header.mode != PYC_INVALIDATION_TIMESTAMP) {
		int rc = hash_source(hash, out->header.info, src_dirfd, src_name, err);
		if (rc < 0)
			return rc;
		hp = hash;
	}
	pyc_stale_judge(out, &out->header, &out->source, hp);
	body_check(out, has_body);
	return 0;
}
