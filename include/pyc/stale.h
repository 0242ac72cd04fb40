/*
 * pyc/stale.h - is a bytecode cache usable, by the rules of the version that wrote it?
 *
 * The rules are those of SourceLoader.get_code() in that file's own version
 * (docs/pyc-format.md section 3): timestamp pycs need mtime AND size to match (3.3+;
 * mtime only before), hash-based pycs need the keyed source hash to match. Unchecked-hash
 * pycs are hashed too: the interpreter would load them even when stale, which is exactly
 * what a user wants to hear about (the verdict says so through `unchecked`).
 */
#ifndef PYC_STALE_H
#define PYC_STALE_H

#include "common.h"
#include "cache_path.h"
#include "header.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pyc_state {
	PYC_STATE_FRESH = 0,    /**< the import system would use it and it matches its source */
	PYC_STATE_STALE,        /**< valid header, but its source changed */
	PYC_STATE_ORPHAN,       /**< a cache whose source is gone */
	PYC_STATE_SOURCELESS,   /**< legacy foo.pyc with no foo.py: importable on its own */
	PYC_STATE_CORRUPT,      /**< unreadable as a pyc of the version its name claims */
	PYC_STATE_MISSING,      /**< a source with no cache for the requested tag/level */
};

enum pyc_reason {
	PYC_REASON_NONE = 0,
	PYC_REASON_MTIME,         /**< stale: the mtime field differs */
	PYC_REASON_SIZE,          /**< stale: mtime matches, the size field differs */
	PYC_REASON_HASH,          /**< stale: the source hash differs */
	PYC_REASON_TRUNCATED,     /**< corrupt: shorter than its header, or nothing after a
	                               header the import system would accept */
	PYC_REASON_BAD_FLAGS,     /**< corrupt: unknown PEP 552 flag bits */
	PYC_REASON_UNKNOWN_MAGIC, /**< corrupt: not a CPython magic number */
	PYC_REASON_TAG_MISMATCH,  /**< corrupt: the name's cache tag disagrees with the magic */
	PYC_REASON_BAD_NAME,      /**< orphan: a file in __pycache__ no source maps to */
};

/** Stable lower-case names used in output and JSON: "fresh", "stale", ... */
PYC_API const char *pyc_state_name(enum pyc_state s);
/** "" for NONE, else "mtime", "size", "hash", "truncated", "bad-flags", "unknown-magic",
 *  "tag-mismatch", "bad-name". */
PYC_API const char *pyc_reason_name(enum pyc_reason r);

/** The parts of a source's stat the checks need. */
typedef struct pyc_source_stat {
	int64_t mtime_sec;
	long mtime_nsec;
	uint64_t size;
} pyc_source_stat;

typedef struct pyc_verdict {
	enum pyc_state state;
	enum pyc_reason reason;
	bool header_ok;          /**< `header` is fully decoded */
	bool unchecked;          /**< unchecked-hash pyc: the interpreter skips the check */
	pyc_header header;
	pyc_source_stat source;  /**< valid when the source exists */
	bool source_exists;
} pyc_verdict;

/**
 * Judge one cache file.
 *  cache_dirfd/cache_name: the cache file (opened relative, O_NOFOLLOW is not used: a
 *      symlinked pyc is read through, as the import system would).
 *  expected_tag: the tag from the file name (PEP 3147), or NULL (legacy) - a magic whose
 *      cache tag differs gives CORRUPT/TAG_MISMATCH.
 *  src_dirfd/src_name: where the source would be; stat()ed following symlinks, as the
 *      import system does (only a regular file counts). Missing -> ORPHAN (PEP 3147,
 *      whatever the header holds: the import system never reads it) or SOURCELESS
 *      (legacy, unless the header is corrupt).
 * Precedence: orphan, corrupt (truncated/unknown-magic/bad-flags), tag-mismatch,
 * sourceless, then stale (mtime before size, or hash) / fresh.
 * Returns 0 with *out filled, PYC_ENOTFOUND when the cache itself is not a readable file
 * (gone since it was listed, a dangling or looping symlink, a symlink to a directory or
 * FIFO: no cache for the import system either), or
 * PYC_EIO (err names the name given and the reason) when the cache or the source exists
 * but cannot be read.
 */
PYC_API int pyc_stale_check(pyc_verdict *out, enum pyc_cache_kind kind, int cache_dirfd,
                            const char *cache_name, const char *expected_tag, int src_dirfd,
                            const char *src_name, pyc_error *err);

/**
 * The pure decision for a decoded header against a source stat; `source_hash` (8 bytes)
 * is needed only for hash-based pycs and may be NULL otherwise. Sets state/reason.
 */
PYC_API void pyc_stale_judge(pyc_verdict *v, const pyc_header *h, const pyc_source_stat *src,
                             const uint8_t *source_hash);

#ifdef __cplusplus
}
#endif
#endif
