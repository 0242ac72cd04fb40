/*
 * mtime.c - the mtime and size fields as CPython computes and compares them
 * (include/pyc/mtime.h; docs/pyc-format.md sections 2 and 3).
 */
#include "pyc/mtime.h"

/* st_mtime exactly as posixmodule.c's fill_time builds it. */
static double st_mtime_double(int64_t tv_sec, long tv_nsec)
{
	return (double)tv_sec + (double)tv_nsec * 1e-9;
}

int64_t pyc_mtime_int(int64_t tv_sec, long tv_nsec)
{
	double d = st_mtime_double(tv_sec, tv_nsec);

	/* Casting an out-of-range double is undefined; such times cannot come from a
	   real file system, so saturate (2**63 is exactly representable). */
	if (d >= 9223372036854775808.0)
		return INT64_MAX;
	if (d < -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d; /* truncates toward zero, as int() does */
}

uint32_t pyc_mtime32(int64_t tv_sec, long tv_nsec)
{
	double d = st_mtime_double(tv_sec, tv_nsec);

	if (d > -9223372036854775808.0 && d < 9223372036854775808.0)
		return (uint32_t)(uint64_t)(int64_t)d;
	/* |d| >= 2**63 is an integer; split it exactly (division by a power of two and
	   Sterbenz subtraction are exact) to get int(d) & 0xffffffff without libm. */
	double q = (double)(int64_t)(d / 4294967296.0);
	int64_t r = (int64_t)(d - q * 4294967296.0);
	return (uint32_t)(uint64_t)r;
}

/* Where the import system is C code (2.x, 3.0-3.2): import.c compares the stored
   word, read by r_long as a sign-extended 32-bit value, with st_mtime (tv_sec, not
   the double) masked to 32 bits. A tv_sec whose low 32 bits are >= 2**31 never
   matches, however the file was written. */
static bool c_import_matches(uint32_t stored, int64_t tv_sec)
{
	int64_t pyc_mtime = (int32_t)stored;
	int64_t mtime = (int64_t)((uint64_t)tv_sec & 0xffffffffu);

	return pyc_mtime == mtime;
}

bool pyc_mtime_matches(const pyc_magic_info *info, uint32_t stored, int64_t tv_sec,
                       long tv_nsec)
{
	if (info->header_size == 16)
		return stored == pyc_mtime32(tv_sec, tv_nsec);
	if (info->major > 3 || (info->major == 3 && info->minor >= 3))
		return (int64_t)stored == pyc_mtime_int(tv_sec, tv_nsec);
	return c_import_matches(stored, tv_sec);
}

bool pyc_size_matches(const pyc_magic_info *info, uint32_t stored, uint64_t st_size)
{
	if (info->header_size < 12)
		return true;
	return stored == (uint32_t)(st_size & 0xffffffffu);
}
