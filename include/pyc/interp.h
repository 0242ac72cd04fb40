/*
 * pyc/interp.h - ask a Python interpreter what it is, once.
 *
 * Runs `EXE -c <probe>` (with -E unset: the user's PYTHON* environment matters, e.g.
 * PYTHONPYCACHEPREFIX) and reads back its magic, cache tag, version, optimisation flag,
 * pycache prefix, recursion limit and sys.path.
 */
#ifndef PYC_INTERP_H
#define PYC_INTERP_H

#include "common.h"
#include "magic.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_interp {
	char *exe;                 /**< as given (resolved through PATH by execvp) */
	int major, minor, micro;
	uint16_t magic;            /**< from importlib.util.MAGIC_NUMBER */
	const pyc_magic_info *info;/**< table row for magic (NULL if unknown to the table) */
	char *cache_tag;           /**< sys.implementation.cache_tag, NULL when None */
	int optimize;              /**< sys.flags.optimize */
	char *pycache_prefix;      /**< sys.pycache_prefix, NULL when None */
	int recursion_limit;       /**< sys.getrecursionlimit() */
	char **sys_path;           /**< NULL-terminated */
	size_t sys_path_len;
} pyc_interp;

/**
 * Run `exe` and fill *out (caller-owned; release with pyc_interp_dispose). Returns 0,
 * or PYC_EINTERP with err naming exe and the reason (not found, not CPython 2.7/3.x,
 * probe output malformed).
 */
PYC_API int pyc_interp_probe(pyc_interp *out, const char *exe, pyc_error *err);

/** Free what pyc_interp_probe allocated; the struct is zeroed. */
PYC_API void pyc_interp_dispose(pyc_interp *interp);

#ifdef __cplusplus
}
#endif
#endif
