/*
 * pyc/magic.h - every CPython bytecode magic number and what it implies.
 *
 * A .pyc starts with a 16-bit magic number N stored little-endian followed by "\r\n".
 * The table holds the full historical list from CPython's own comment list (1.5 to
 * 3.15a1, so an alpha or beta magic is named, not "unknown") and marks the value each
 * final release writes. Facts: docs/pyc-format.md, tests/fixtures/vectors.tsv.
 */
#ifndef PYC_MAGIC_H
#define PYC_MAGIC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The keyed hash a hash-based pyc of this version stores (PEP 552). */
enum pyc_hash_algo {
	PYC_HASH_NONE = 0,     /**< no hash-based pycs (before 3.7) */
	PYC_HASH_SIPHASH24,    /**< 3.7 - 3.10 */
	PYC_HASH_SIPHASH13,    /**< 3.11 and later */
};

typedef struct pyc_magic_info {
	uint16_t number;            /**< N, e.g. 3531 */
	uint8_t major, minor;       /**< the version family, e.g. 3 and 12 (from the label) */
	const char *label;          /**< CPython's label, e.g. "Python 3.12a7" or "Python 3.12" */
	const char *cache_tag;      /**< "cpython-312"; NULL where caches sit beside the source
	                                 (2.x, 3.0, 3.1) */
	uint8_t header_size;        /**< 8, 12 or 16 */
	uint8_t marshal_version;    /**< what marshal.dumps() defaults to */
	enum pyc_hash_algo hash_algo;
	bool is_final;              /**< the value a final release of major.minor writes */
} pyc_magic_info;

/**
 * Look up a magic number. When several rows share N (e.g. 1.5/1.5.1/1.5.2), the
 * final-release row wins, otherwise the last listed. Returns NULL when unknown.
 */
PYC_API const pyc_magic_info *pyc_magic_lookup(uint16_t number);

/** The final-release row for "cpython-312"-style tags; NULL for any other tag. */
PYC_API const pyc_magic_info *pyc_magic_for_tag(const char *tag);

/** The final-release row for a version (3, 12); NULL when not in the table. 3.5 gives 3351. */
PYC_API const pyc_magic_info *pyc_magic_for_version(int major, int minor);

/** Rows in table order, for listing and tests: i < pyc_magic_count(). */
PYC_API size_t pyc_magic_count(void);
PYC_API const pyc_magic_info *pyc_magic_at(size_t i);

/** The 4 magic bytes as a little-endian word: N | '\r' << 16 | '\n' << 24 (the hash key). */
static inline uint32_t pyc_magic_word(uint16_t number)
{
	return (uint32_t)number | 0x0a0d0000u;
}

#ifdef __cplusplus
}
#endif
#endif
