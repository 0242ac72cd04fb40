/*
 * pyc/interp.h - ask a Python interpreter what it is, once.
 *
 * Runs `EXE -c <probe>` (with -E unset: the user's PYTHON* environment matters, e.g.
 * PYTHONPYCACHEPREFIX) and reads back its magic, cache tag, version, optimisation flag,
 * pycache prefix, recursion limit and sys.path.
 *
 * The answer is cached on disk (docs/compile-engine.md, "Probe cache") so that a run with
 * nothing to do starts no interpreter at all: pyc_interp_probe() consults the cache,
 * pyc_interp_probe_fresh() never does. PYC_TOOL_NO_PROBE_CACHE=1 disables the cache.
 */
#ifndef PYC_INTERP_H
#define PYC_INTERP_H

#include "common.h"
#include "magic.h"
#include "buf.h"

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
	char **sys_path;           /**< NULL-terminated; as `EXE -c` sees it, so sys.path[0]
	                                is "" (the current directory) unless PYTHONSAFEPATH */
	size_t sys_path_len;
	char *executable;          /**< sys.executable ("" when unknown), e.g. the real binary
	                                behind a pyenv shim */
	char *cwd;                 /**< the directory the probe ran in (relative sys.path
	                                entries are relative to it) */
	char *user_site;           /**< site.getusersitepackages(), NULL when unavailable */
	char *stdout_encoding;     /**< codecs.lookup(sys.stdout.encoding).name on a pipe, e.g.
	                                "utf-8", "ascii", "iso8859-1"; NULL when unknown */
	char *stdout_errors;       /**< sys.stdout.errors, e.g. "strict", "surrogateescape" */
	char *fs_encoding;         /**< codecs.lookup(sys.getfilesystemencoding()).name */
	bool from_cache;           /**< the answer came from the probe cache */
	/* The exact build, for pyc_interp_identity(): the magic alone does not tell Debian's
	 * 3.11.2 from pyenv's 3.11.7, which compile differently. */
	char *sys_version;         /**< sys.version */
	char *abiflags;            /**< sys.abiflags, NULL when the build has none (2.7) */
	bool gil_disabled;         /**< a free-threading build (Py_GIL_DISABLED) */
	char *real_executable;     /**< realpath(sys.executable), "" when unknown */
	char *libpython;           /**< the libpython it loaded (Py_ENABLE_SHARED), else NULL */
} pyc_interp;

/**
 * Describe `exe` in *out (caller-owned; release with pyc_interp_dispose): from the probe
 * cache when a valid entry exists, otherwise by running it (and storing the answer).
 * Returns 0, or PYC_EINTERP with err naming exe and the reason (not found, not CPython
 * 2.7/3.x, exited with status N, probe output malformed). When the interpreter exited
 * with an error or was killed, the message goes on after a '\n' with the end of its
 * stderr (its last 20 lines, at most half the message's room): the one exception to the
 * one-line message. A cache that cannot be read or written is never an error.
 */
PYC_API int pyc_interp_probe(pyc_interp *out, const char *exe, pyc_error *err);

/** Same, but always runs the interpreter and neither reads nor writes the cache. */
PYC_API int pyc_interp_probe_fresh(pyc_interp *out, const char *exe, pyc_error *err);

/**
 * The probe cache directory: ${XDG_CACHE_HOME:-$HOME/.cache}/pyc-tool/interp, into *out.
 * Returns 0, PYC_ENOTFOUND when neither variable is set (no cache), or PYC_ENOMEM.
 */
PYC_API int pyc_interp_cache_dir(pyc_buf *out);

/**
 * The cache key for `exe` in the current environment, into *out (binary-safe). Returns 0,
 * PYC_ENOTFOUND when exe cannot be found on PATH, or PYC_EUNSUPPORTED when exe must not be
 * cached (e.g. a pyenv shim whose selection cannot be determined; see the docs).
 */
PYC_API int pyc_interp_cache_key(pyc_buf *out, const char *exe);

/** Whether the cache is in use (PYC_TOOL_NO_PROBE_CACHE unset, empty or "0"). */
PYC_API bool pyc_interp_cache_enabled(void);

/**
 * The bytes that identify the compiler for the store key (pyc/store.h), into *out
 * (replacing its contents): the magic, cache tag, sys.version, ABI flags, free-threading,
 * and the SHA-256 of the content of the executable and of its libpython. The hashes are
 * remembered in the probe cache directory by (device, inode, size, mtime, ctime), so a
 * warm run reads no binary. Paths are not part of it: a copy of the same build compiles
 * the same. Returns 0, PYC_EINTERP (the executable is unknown or cannot be read: err says
 * why) or PYC_ENOMEM.
 */
PYC_API int pyc_interp_identity(const pyc_interp *in, pyc_buf *out, pyc_error *err);

/** Free what pyc_interp_probe allocated; the struct is zeroed. */
PYC_API void pyc_interp_dispose(pyc_interp *interp);

#ifdef __cplusplus
}
#endif
#endif
