/*
 * pyc/cache_path.h - where a source's bytecode lives, exactly as CPython decides it
 * (importlib.util.cache_from_source / source_from_cache, PEP 3147, PEP 488, and
 * sys.pycache_prefix), plus the parsing pyc-tool needs to map caches back to sources.
 */
#ifndef PYC_CACHE_PATH_H
#define PYC_CACHE_PATH_H

#include "common.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * cache_from_source(source, optimization=opt) for cache tag `tag`.
 *  - opt NULL or "" : no ".opt-" part. Any other value must be ASCII alphanumeric
 *    (else PYC_EINVAL); note "0" gives ".opt-0" exactly like CPython.
 *    Callers map compileall's level 0 to "" themselves, as py_compile does.
 *  - prefix NULL : head/__pycache__/NAME. Otherwise sys.pycache_prefix semantics:
 *    prefix + abspath(head) (relative heads joined onto `cwd`, which must then be
 *    non-NULL) + NAME, with no __pycache__ part.
 * Quirks copied from CPython: "x.tar.py" -> "x.tar.TAG.pyc", ".hidden" -> "hidden.TAG.pyc",
 * "noext" -> "noextTAG.pyc", "/c.py" -> "__pycache__/c.TAG.pyc", ".." is not normalised.
 * Under a prefix, a head starting with "./" loses it before the cwd join when `tag` is
 * cpython-312 or later (or not a cpython tag), as 3.12's _path_abspath does; a head that
 * is "/" or ends up shorter than 2 bytes raises IndexError in CPython: PYC_EINVAL here.
 * The prefix is ignored for cpython-3N tags below 3.8, which had no sys.pycache_prefix.
 * Optimization levels are checked as ASCII alphanumerics (Python accepts any Unicode
 * letter or digit).
 * The result replaces out's contents. Returns 0, PYC_EINVAL or PYC_ENOMEM.
 */
PYC_API int pyc_cache_from_source(pyc_buf *out, const char *source, const char *tag,
                                  const char *opt, const char *prefix, const char *cwd);

/**
 * source_from_cache(cache) exactly as CPython: without a prefix (or when the path is not
 * under it) the parent directory must be __pycache__ and the name must have 2 dots, or 3
 * with an "opt-<alnum>" field; the source is the text before the first dot + ".py".
 * Under `prefix` (prefix.rstrip('/') + '/'), the prefix is stripped and no __pycache__
 * is required. Returns 0, PYC_EINVAL (CPython's ValueError) or PYC_ENOMEM.
 * The name's tag is not looked at: for a 3.6/3.7 cache, pass no prefix (they had none).
 */
PYC_API int pyc_source_from_cache(pyc_buf *out, const char *cache, const char *prefix);

/**
 * os.path.abspath(path): a relative path joined onto `cwd` (NULL: the current
 * directory), then "." and ".." components and repeated slashes removed lexically, as
 * a pycache prefix mirrors it. The result ("/" at the least) replaces out's contents.
 * Returns 0, PYC_EIO (no current directory) or PYC_ENOMEM, with err filled.
 */
PYC_API int pyc_abspath(pyc_buf *out, const char *path, const char *cwd, pyc_error *err);

/** The parts of a PEP 3147/488 cache file name, as spans of the name given. */
typedef struct pyc_cache_name {
	const char *stem; size_t stem_len;   /**< "mod" in "mod.cpython-312.opt-1.pyc" */
	const char *tag;  size_t tag_len;    /**< "cpython-312" */
	const char *opt;  size_t opt_len;    /**< "1", or opt_len 0 when absent */
} pyc_cache_name;

/**
 * Parse a file name found in a __pycache__ (or prefix) directory, from the right:
 * "<stem>.<tag>[.opt-<alnum>].pyc". Unlike source_from_cache this maps the caches of
 * "x.tar.py" back to "x.tar.py". Returns 0, or PYC_EINVAL when the name does not have
 * that shape (no ".pyc" suffix, empty stem or tag).
 */
PYC_API int pyc_cache_name_parse(pyc_cache_name *out, const char *name);

/** Where a cache file sits, which decides how it is judged (pyc_stale_check). */
enum pyc_cache_kind {
	PYC_CACHE_PEP3147,   /**< in __pycache__ or a prefix tree: <stem>.<tag>[.opt-N].pyc */
	PYC_CACHE_LEGACY,    /**< foo.pyc / foo.pyo beside foo.py */
};

/**
 * The source the bytecode file `path` (as a user names it) belongs to, into *out:
 *  - ".../__pycache__/NAME" with NAME as pyc_cache_name_parse() reads it (".pyo" taken
 *    too): ".../STEM.py", PEP 3147;
 *  - else, with a `prefix`, when NAME parses and abspath(path) is under it:
 *    the directory it mirrors + "/STEM.py", PEP 3147 (STEM as above, so unlike
 *    pyc_source_from_cache() the caches of "x.tar.py" map back to it);
 *  - else a name ending in ".pyc"/".pyo": the path minus its last letter, legacy.
 * *name gets NAME's parts for PEP 3147 (spans into `path`; the tag is what the file must
 * carry), zeroed otherwise. When no rule applies *out is empty: the file belongs to no
 * source. Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_cache_find_source(pyc_buf *out, pyc_cache_name *name, enum pyc_cache_kind *kind,
                                  const char *path, const char *prefix);

/** Legacy placement (compileall -b, Python 2, 3.0-3.1): "foo.py" -> "foo.pyc". */
PYC_API int pyc_legacy_from_source(pyc_buf *out, const char *source);

/** True for "__pycache__". */
PYC_API bool pyc_is_pycache_dir(const char *name);

/** True when a name ends in ".pyc" or ".pyo" (bytecode, never ".pyd"). */
PYC_API bool pyc_is_bytecode_name(const char *name);

/**
 * The effective pycache prefix: `override` when non-NULL, otherwise the environment's
 * PYTHONPYCACHEPREFIX; an empty value means none. Returns a borrowed string or NULL.
 */
PYC_API const char *pyc_pycache_prefix(const char *override);

#ifdef __cplusplus
}
#endif
#endif
