/*
 * pyc/mtime.h - the mtime field exactly as CPython computes and compares it.
 *
 * CPython stores int(os.stat(src).st_mtime), where st_mtime is the double
 * (double)tv_sec + (double)tv_nsec * 1e-9 and int() truncates toward zero. That is not
 * always tv_sec: 1700000000 s + 999999999 ns gives 1700000001, and -1 s + 0.5 s gives 0.
 */
#ifndef PYC_MTIME_H
#define PYC_MTIME_H

#include "common.h"
#include "magic.h"

#ifdef __cplusplus
extern "C" {
#endif

/** int(st_mtime) as Python computes it from a timespec. */
PYC_API int64_t pyc_mtime_int(int64_t tv_sec, long tv_nsec);

/** The value written to a pyc: int(st_mtime) & 0xffffffff. */
PYC_API uint32_t pyc_mtime32(int64_t tv_sec, long tv_nsec);

/**
 * Would the import system of `info`'s version accept a stored mtime for a source with
 * this timestamp? 3.7+ masks both sides to 32 bits; 3.3-3.6 compare the stored value
 * with the unmasked int(st_mtime) (so a negative or >= 2**32 mtime never matches);
 * 2.x and 3.0-3.2 (C import) compare the stored word read as a signed 32-bit value with
 * tv_sec & 0xffffffff (so a tv_sec whose low 32 bits are >= 2**31 never matches; the
 * nanoseconds are ignored). Verified on 2.7.18, see docs/pyc-format.md.
 */
PYC_API bool pyc_mtime_matches(const pyc_magic_info *info, uint32_t stored, int64_t tv_sec,
                               long tv_nsec);

/** Same for the size field (3.3+; always true where the layout has no size). */
PYC_API bool pyc_size_matches(const pyc_magic_info *info, uint32_t stored, uint64_t st_size);

#ifdef __cplusplus
}
#endif
#endif
