/*
 * pyc/source_hash.h - the keyed source hash of hash-based pycs (PEP 552).
 *
 * CPython computes _Py_KeyedHash(key, source): SipHash with k0 = the magic word
 * (N | 0x0a0d0000), k1 = 0, i.e. a 16-byte key made of the 4 magic bytes and 12 zero
 * bytes; SipHash-2-4 for 3.7-3.10, SipHash-1-3 for 3.11+. The 64-bit result is stored
 * as 8 bytes little-endian.
 */
#ifndef PYC_SOURCE_HASH_H
#define PYC_SOURCE_HASH_H

#include "common.h"
#include "magic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** SipHash-c-d of data under a 16-byte key (reference algorithm, any c and d >= 1). */
PYC_API uint64_t pyc_siphash(unsigned c_rounds, unsigned d_rounds, const uint8_t key[16],
                             const void *data, size_t len);

/** Incremental form, so a large source can be hashed while it is read. */
typedef struct pyc_siphash_state {
	uint64_t v0, v1, v2, v3;
	uint64_t tail;        /* pending bytes, little-endian */
	size_t total;         /* bytes fed so far */
	unsigned c_rounds, d_rounds;
} pyc_siphash_state;

PYC_API void pyc_siphash_init(pyc_siphash_state *s, unsigned c_rounds, unsigned d_rounds,
                              const uint8_t key[16]);
PYC_API void pyc_siphash_update(pyc_siphash_state *s, const void *data, size_t len);
PYC_API uint64_t pyc_siphash_final(pyc_siphash_state *s);

/**
 * importlib.util.source_hash() of `data` for the version `info` belongs to, written to
 * out as the 8 bytes a pyc stores. Returns 0, or PYC_EUNSUPPORTED when that version has
 * no hash-based pycs.
 */
PYC_API int pyc_source_hash(uint8_t out[8], const pyc_magic_info *info, const void *data,
                            size_t len);

/** Same, for the algorithm and magic given directly. */
PYC_API void pyc_source_hash_with(uint8_t out[8], enum pyc_hash_algo algo, uint16_t magic,
                                  const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
