/*
 * pyc/store.h - the local content-addressed store of compile results (docs/cache.md).
 *
 * A store maps a key (a SHA-256 over everything a .pyc body depends on) to opaque bytes.
 * Entries live at <dir>/<h0>/<h1>/<64 hex digits>, each with a checksummed header, zstd
 * compressed when that saves space, written to a temporary file and renamed into place,
 * so several threads and processes may get and put at once without a lock held while
 * compiling. A corrupt, truncated or unreadable entry, or anything that is not a regular
 * file in its place, is a miss and is replaced by the next put.
 *
 * Size is kept near a limit by an approximate LRU: a hit refreshes the entry's mtime, and a
 * put that takes one of the 16 top-level directories over 1/16 of the limit cleans that
 * directory alone, oldest entries first. Counters (hits, misses, ...) are kept per
 * top-level directory in small files, so statistics never scan the store.
 *
 * Typical use:
 *
 *     pyc_store_keyer k;
 *     pyc_store_key key;
 *     pyc_store_key_init(&k);
 *     pyc_store_key_add(&k, identity.ptr, identity.len);
 *     pyc_store_key_add_u64(&k, optimize);
 *     pyc_store_key_add(&k, NULL, 0);               // no dfile
 *     pyc_store_key_add(&k, source, source_len);
 *     if (pyc_store_key_final(&k, &key) == 0 && pyc_store_get(st, &key, &value, &err) == 0)
 *             ... use value ...
 *     else
 *             ... compile, then pyc_store_put(st, &key, rec, rec_len, seconds, &err) ...
 */
#ifndef PYC_STORE_H
#define PYC_STORE_H

#include "common.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A store key: the SHA-256 of the fields given to the key builder. */
typedef struct {
	uint8_t bytes[32];
} pyc_store_key;

/** Builds a key; caller-allocated, opaque inside. */
typedef struct pyc_store_keyer {
	void *ctx;   /**< the hash state (NULL after a failed init or after final) */
	int rc;      /**< the first failure of init or add, reported by final */
} pyc_store_keyer;

/** The schema version hashed first: bump it whenever the meaning of the fields changes. */
#define PYC_STORE_KEY_SCHEMA 1u

/**
 * Start a key: the schema version goes in first. Returns 0 or PYC_ENOMEM (then add does
 * nothing and final reports the failure and frees nothing more).
 */
PYC_API int pyc_store_key_init(pyc_store_keyer *k);

/**
 * Add one field: its length (8 bytes, little-endian) then its bytes, so that no two
 * sequences of fields hash the same input. data == NULL is "no value", distinct from an
 * empty field (its length is written as 2^64-1).
 */
PYC_API void pyc_store_key_add(pyc_store_keyer *k, const void *data, size_t len);

/** Add an integer field (8 bytes, little-endian). */
PYC_API void pyc_store_key_add_u64(pyc_store_keyer *k, uint64_t v);

/** Finish into *out and release the hash state. Returns 0 or PYC_ENOMEM. */
PYC_API int pyc_store_key_final(pyc_store_keyer *k, pyc_store_key *out);

/** Release a keyer without finishing it (accepts one already finished). */
PYC_API void pyc_store_key_dispose(pyc_store_keyer *k);

/** The key as 64 lower-case hex digits and a NUL. */
PYC_API void pyc_store_key_hex(const pyc_store_key *key, char out[65]);

/** The default size limit: 1 GiB. */
#define PYC_STORE_DEFAULT_MAX_SIZE (UINT64_C(1) << 30)

typedef struct pyc_store_opts {
	uint64_t max_size;   /**< bytes of entries to keep; 0 = PYC_STORE_DEFAULT_MAX_SIZE */
	/** zstd level for the entries this handle writes (negative: zstd's fast levels);
	 *  0 = stored uncompressed, the default (docs/cache.md, "Entries"). Entries of
	 *  either kind are read. */
	int compress_level;
} pyc_store_opts;

typedef struct pyc_store pyc_store;

/**
 * The store directory for `dir`: dir itself when non-NULL, else $PYC_TOOL_CACHE_DIR, else
 * $XDG_CACHE_HOME/pyc-tool (absolute XDG_CACHE_HOME only), else $HOME/.cache/pyc-tool.
 * Returns 0, PYC_ENOTFOUND (none of them is set) or PYC_ENOMEM.
 */
PYC_API int pyc_store_dir(pyc_buf *out, const char *dir);

/**
 * Open (creating when missing) the store in `dir` (see pyc_store_dir; o may be NULL).
 * Returns 0, PYC_ENOTFOUND, PYC_EIO (the directory cannot be made or opened: err says
 * why) or PYC_ENOMEM. Thread-safe once open: get and put may run on several threads.
 */
PYC_API int pyc_store_open(pyc_store **out, const char *dir, const pyc_store_opts *o,
                           pyc_error *err);

/** The directory the store opened (borrowed, until pyc_store_free). */
PYC_API const char *pyc_store_path(const pyc_store *st);

/**
 * Look `key` up: 0 and value = the stored bytes (replacing value's contents), or
 * PYC_ENOTFOUND for a miss: absent, corrupt, truncated, unreadable or not a regular file
 * (a corrupt entry also counts as an error; err says what was wrong). Never another code
 * but PYC_ENOMEM. A hit older than a few minutes gets its mtime refreshed.
 */
PYC_API int pyc_store_get(pyc_store *st, const pyc_store_key *key, pyc_buf *value,
                          pyc_error *err);

/**
 * Store value[0..len) under key, with the seconds its compile took (summed over hits as
 * "compile time saved"). Replaces whatever is in the entry's place (a symlink is replaced,
 * never followed; a directory is removed). Returns 0, PYC_EIO or PYC_ENOMEM. When the
 * store cannot be written at all (read-only, full, permission denied, a file where a
 * directory belongs), the first such put returns PYC_EIO naming the path and the reason and
 * the store becomes degraded: later puts do nothing and return 0, gets still work.
 */
PYC_API int pyc_store_put(pyc_store *st, const pyc_store_key *key, const void *value,
                          size_t len, double compile_seconds, pyc_error *err);

/** Whether a put found the store unwritable (the caller warns once). */
PYC_API bool pyc_store_degraded(const pyc_store *st);

/** Flush the statistics counters and close the store. Accepts NULL. */
PYC_API void pyc_store_free(pyc_store *st);

/** What `pyc-tool cache stats` shows: summed over the per-directory counter files. */
typedef struct pyc_store_counts {
	uint64_t hits, misses;  /**< gets that found a valid entry / did not */
	uint64_t stores;        /**< successful puts */
	uint64_t errors;        /**< corrupt entries found, failed puts */
	uint64_t cleanups;      /**< directories cleaned (automatic and prune) */
	uint64_t entries;       /**< entry files, as counted (exact after prune) */
	uint64_t bytes;         /**< their apparent size */
	double seconds_saved;   /**< compile seconds of the entries that hit */
} pyc_store_counts;

/**
 * The counters of the store in dir (NULL: the default, as pyc_store_dir). A store that
 * does not exist yet has all zeros. Returns 0, PYC_ENOTFOUND (no directory configured),
 * PYC_EIO (a counter file cannot be read) or PYC_ENOMEM.
 */
PYC_API int pyc_store_stats(const char *dir, pyc_store_counts *out, pyc_error *err);

/** What prune and clear did. */
typedef struct pyc_store_result {
	uint64_t removed_entries, removed_bytes;  /**< entry files removed, their size */
	uint64_t entries, bytes;                  /**< what is left */
} pyc_store_result;

/**
 * Scan the whole store, remove the least recently used entries until at most max_size
 * bytes remain (0 = the default), also stale temporary files, and set the entry and byte
 * counters to what the scan found. Returns 0, PYC_ENOTFOUND, PYC_EIO or PYC_ENOMEM.
 */
PYC_API int pyc_store_prune(const char *dir, uint64_t max_size, pyc_store_result *out,
                            pyc_error *err);

/**
 * Remove every entry, temporary and counter file of the store (the remote caches'
 * counters too, pyc/remote.h) and its empty fan-out directories; nothing else (the interpreter probe cache in <dir>/interp stays).
 * Returns 0, PYC_ENOTFOUND, PYC_EIO or PYC_ENOMEM.
 */
PYC_API int pyc_store_clear(const char *dir, pyc_store_result *out, pyc_error *err);

#ifdef __cplusplus
}
#endif
#endif
