/*
 * pyc/header.h - decode and encode .pyc headers (8, 12 and 16 bytes; PEP 552 flags).
 *
 * Never allocates and never reads past `len`. Multi-byte fields are little-endian and
 * are decoded byte by byte (no struct casts). Layout per version: docs/pyc-format.md.
 */
#ifndef PYC_HEADER_H
#define PYC_HEADER_H

#include "common.h"
#include "magic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The largest header any version writes. Read this many bytes to decode any file. */
#define PYC_HEADER_MAX 16

enum pyc_invalidation {
	PYC_INVALIDATION_TIMESTAMP = 0,      /**< flags 0 (or 2: check_source without hash) */
	PYC_INVALIDATION_CHECKED_HASH,       /**< flags 3 */
	PYC_INVALIDATION_UNCHECKED_HASH,     /**< flags 1 */
};

/** "timestamp", "checked-hash", "unchecked-hash" (compileall's spelling). */
PYC_API const char *pyc_invalidation_name(enum pyc_invalidation mode);
/** Parse compileall's spelling. Returns 0 or PYC_EINVAL. */
PYC_API int pyc_invalidation_parse(enum pyc_invalidation *out, const char *name);

typedef struct pyc_header {
	uint16_t magic;                /**< N */
	const pyc_magic_info *info;    /**< row for N; NULL only after PYC_EBADMAGIC */
	uint8_t size;                  /**< header length for this version: 8, 12 or 16 */
	uint32_t flags;                /**< PEP 552 flags word; 0 before 3.7 */
	enum pyc_invalidation mode;
	uint32_t mtime;                /**< timestamp pycs: int(st_mtime) & 0xffffffff */
	uint32_t source_size;          /**< timestamp pycs, 3.3+: st_size & 0xffffffff */
	uint8_t hash[8];               /**< hash-based pycs: source hash as stored */
} pyc_header;

/**
 * Decode the header at the start of `buf`, checking in CPython's order:
 *  - fewer than 4 bytes, or bytes 2-3 not "\r\n"  -> PYC_ETRUNCATED / PYC_EBADMAGIC
 *  - a magic number not in the table              -> PYC_EBADMAGIC (out->magic is set)
 *  - len < header size for that version           -> PYC_ETRUNCATED (out->magic, info set)
 *  - flags with bits other than 0b11 (3.7+)       -> PYC_EBADFLAGS (out->flags set)
 * Returns 0 when every field of `out` is valid.
 */
PYC_API int pyc_header_decode(pyc_header *out, const uint8_t *buf, size_t len);

/**
 * Encode `h` (magic, mode, mtime/source_size or hash) in the layout of h->magic's
 * version into buf. h->info and h->size are ignored (taken from the table); flags
 * are derived from h->mode. Returns the number of bytes written (8, 12 or 16),
 * PYC_EBADMAGIC for an unknown magic, PYC_EINVAL when cap is too small, or
 * PYC_EUNSUPPORTED for a hash mode on a version without hash-based pycs.
 */
PYC_API int pyc_header_encode(uint8_t *buf, size_t cap, const pyc_header *h);

#ifdef __cplusplus
}
#endif
#endif
