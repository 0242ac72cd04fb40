/*
 * pyc/compileall.h - `python -m compileall`, reimplemented: walking, dfile computation,
 * freshness decisions and writing, for one target interpreter at a time.
 *
 * The rules are those of the TARGET interpreter's own compileall.py / py_compile.py
 * (3.6 - 3.13), read from its version: the default recursion depth (10 before 3.9,
 * sys.getrecursionlimit() after), what -d does on a directory (3.6 flattens, 3.7/3.8 join
 * per level, 3.9+ strip the directory and prepend DESTDIR), and the -s rule (3.9-3.12
 * drop equal components pairwise, 3.13 needs a whole-component prefix).
 *
 * Where pyc-tool deliberately differs (freshness, exit status, ...) see docs/compile.md.
 *
 *     pyc_compileall_opts o;
 *     pyc_compileall_opts_init(&o);
 *     o.paths = argv; o.npaths = n; ...
 *     if (pyc_compileall_validate(&o, &interp, &err) < 0) ...;   // usage errors
 *     pyc_compileall_stats st;
 *     rc = pyc_compileall_run(&o, &interp, on_event, ctx, &st, &err);
 *
 * The library never prints: everything a user sees comes through on_event.
 */
#ifndef PYC_COMPILEALL_H
#define PYC_COMPILEALL_H

#include "common.h"
#include "buf.h"
#include "header.h"
#include "interp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** At most this many distinct -o levels exist (0, 1, 2). */
#define PYC_COMPILEALL_MAX_LEVELS 3

typedef struct pyc_compileall_opts {
	const char *const *paths;   /**< FILE|DIR arguments (after -i); npaths 0 = sys.path mode */
	size_t npaths;
	int maxlevels;              /**< -r N / -l (0); -1 = the version's default */
	bool force;                 /**< -f */
	bool legacy;                /**< -b */
	bool dry_run;               /**< --dry-run: decide and report, write nothing */
	bool hardlink_dupes;        /**< --hardlink-dupes */
	const char *ddir;           /**< -d */
	const char *stripdir;       /**< -s (3.9+) */
	const char *prependdir;     /**< -p (3.9+) */
	const char *rx;             /**< -x, Python re syntax (compiled with PCRE2) */
	const char *limit_sl_dest;  /**< -e (3.9+); "" means unset, as in compileall */
	int levels[8];              /**< -o values as given; nlevels 0 = [-1] */
	size_t nlevels;
	bool mode_set;              /**< --invalidation-mode given */
	enum pyc_invalidation mode;
	const char *source_date_epoch; /**< $SOURCE_DATE_EPOCH, passed in by the caller */
	unsigned jobs;              /**< worker interpreters (>= 1) */
	double timeout_sec;         /**< per file; 0 = none */
	bool use_store;             /**< reuse and keep compile results (bodies, warnings, compile
	                                 errors) in the bytecode store (pyc/store.h,
	                                 docs/cache.md): a known source compiles without Python */
	const char *store_dir;      /**< the store; NULL = pyc_store_dir()'s default */
	const char *const *remotes; /**< with use_store: remote caches asked after the store, in
	                                 order (pyc/remote.h specs, checked with
	                                 pyc_remote_check); a miss is written through to them */
	size_t nremotes;
} pyc_compileall_opts;

/** Zero everything, maxlevels -1, jobs 1, timeout 600 s. */
PYC_API void pyc_compileall_opts_init(pyc_compileall_opts *o);

/**
 * Check the options against compileall's rules for `interp`'s version, in compileall's
 * order: --hardlink-dupes with a single -o level, -d with -s/-p, options the target's
 * compileall does not have (-s -p -o -e --hardlink-dupes before 3.9, --invalidation-mode
 * before 3.7), -o outside -1..2, an -x that does not compile. Returns 0, or PYC_EINVAL
 * with err holding compileall's message where it has one.
 */
PYC_API int pyc_compileall_validate(const pyc_compileall_opts *o, const pyc_interp *interp,
                                    pyc_error *err);

/** The default maxlevels of compileall for a version: 10 before 3.9, else recursion_limit. */
PYC_API int pyc_compileall_default_maxlevels(int major, int minor, int recursion_limit);

/** At most this many compiles per file: one per distinct -o value (-1, 0, 1, 2). */
#define PYC_COMPILEALL_MAX_COMPILES 4

/**
 * The compiles compileall's compile_file makes for one source, in its order: one per
 * value of sorted(set(levels)) ([-1] for none), -1 mapped to interp_optimize (the level
 * it means). discard[i] is set when a later compile writes the same pyc (every one with
 * `legacy`; -1 and the level it means otherwise): compileall still compiles it, and that
 * compile changes the later one's marshal data (3.12 interns its strings for good).
 * Returns the count written (<= PYC_COMPILEALL_MAX_COMPILES).
 */
PYC_API size_t pyc_compileall_sequence(int seq[PYC_COMPILEALL_MAX_COMPILES],
                                       bool discard[PYC_COMPILEALL_MAX_COMPILES],
                                       const int *levels, size_t nlevels, int interp_optimize,
                                       bool legacy);

/**
 * The optimisation levels of the pycs compileall ends up writing: the compiles of
 * pyc_compileall_sequence that are not discarded, in its order (sorted, except that -1
 * comes first when it means a level given to no other -o). With `legacy` that is one,
 * the last compile (every level writes the same foo.pyc). Returns the count written to
 * out (<= PYC_COMPILEALL_MAX_LEVELS).
 */
PYC_API size_t pyc_compileall_levels(int out[PYC_COMPILEALL_MAX_LEVELS], const int *levels,
                                     size_t nlevels, int interp_optimize, bool legacy);

/** os.path.join(a, b) (POSIX), appended to out's current contents. */
PYC_API int pyc_compileall_path_join(pyc_buf *out, const char *b);

/**
 * compileall.compile_file's dfile for version 3.`minor`, given the ddir/stripdir/prependdir
 * compile_file receives (compile_dir has already turned -d on a directory into
 * stripdir/prependdir in 3.9+). *has_dfile is false when compileall passes dfile=None
 * (the source path is used). *strip_ignored is set when 3.13 ignores a stripdir that is not
 * a whole-component prefix (compileall prints a warning then). Returns 0, PYC_ENOMEM, or
 * PYC_EINVAL where compileall itself crashes (stripping leaves nothing: os.path.join()).
 */
PYC_API int pyc_compileall_dfile(pyc_buf *out, bool *has_dfile, bool *strip_ignored, int minor,
                                 const char *fullname, const char *ddir, const char *stripdir,
                                 const char *prependdir);

/** Why a source is (re)compiled; PYC_COMPILEALL_FRESH when it is not. */
enum pyc_compileall_why {
	PYC_COMPILEALL_FRESH = 0,
	PYC_COMPILEALL_WHY_FORCED,     /**< -f */
	PYC_COMPILEALL_WHY_MISSING,    /**< no cache file */
	PYC_COMPILEALL_WHY_UNREADABLE, /**< the cache exists but cannot be read */
	PYC_COMPILEALL_WHY_CORRUPT,    /**< truncated, bad magic, unknown flags, no body */
	PYC_COMPILEALL_WHY_VERSION,    /**< a valid pyc of another interpreter version */
	PYC_COMPILEALL_WHY_MODE,       /**< another invalidation mode than the one requested */
	PYC_COMPILEALL_WHY_MTIME,      /**< timestamp pyc, mtime differs */
	PYC_COMPILEALL_WHY_SIZE,       /**< timestamp pyc, size differs */
	PYC_COMPILEALL_WHY_HASH,       /**< hash-based pyc, source hash differs */
};

/** "fresh", "forced", "missing", "unreadable", "corrupt", "version", "mode", "mtime",
 *  "size", "hash". */
PYC_API const char *pyc_compileall_why_name(enum pyc_compileall_why why);

/**
 * Judge the first bytes of one cache file (hdr[0..n); file_size = its st_size, or any
 * lower bound of it above the header size, e.g. n after reading 17 bytes) as the
 * requested kind for `magic`: timestamp = magic, flags 0, mtime and size accepted by that
 * version's import system; hash modes = magic, flags 1 or 3 as requested and the 8-byte
 * `source_hash` (NULL when mode is timestamp). A file with nothing after its header is
 * CORRUPT (the import system would fail to unmarshal it).
 */
PYC_API enum pyc_compileall_why pyc_compileall_judge(const uint8_t *hdr, size_t n,
                                                     uint64_t file_size, uint16_t magic,
                                                     enum pyc_invalidation mode,
                                                     int64_t mtime_sec, long mtime_nsec,
                                                     uint64_t source_size,
                                                     const uint8_t *source_hash);

/** Where a compiled file's result came from. */
enum pyc_compileall_cache {
	PYC_COMPILEALL_CACHE_OFF = 0,  /**< no store in use */
	PYC_COMPILEALL_CACHE_MISS,     /**< compiled (and stored) */
	PYC_COMPILEALL_CACHE_HIT,      /**< from the store: no compile */
};

/** "off", "miss", "hit". */
PYC_API const char *pyc_compileall_cache_name(enum pyc_compileall_cache c);

/** What on_event reports. */
enum pyc_compileall_event_kind {
	PYC_COMPILEALL_LISTING,         /**< "Listing 'DIR'..." (path) */
	PYC_COMPILEALL_CANT_LIST,       /**< a directory/path cannot be listed (path, sys_errno) */
	PYC_COMPILEALL_SKIP_CURDIR,     /**< sys.path mode skipped '' or '.' */
	PYC_COMPILEALL_STRIP_IGNORED,   /**< 3.13: -s is not a prefix of path (stripdir) */
	PYC_COMPILEALL_COMPILING,       /**< a stale file is about to be compiled (path, why) */
	PYC_COMPILEALL_COMPILED,        /**< written (path, why, outputs) */
	PYC_COMPILEALL_UP_TO_DATE,      /**< nothing to do (path) */
	PYC_COMPILEALL_WOULD_COMPILE,   /**< --dry-run (path, why, outputs) */
	PYC_COMPILEALL_FAILED,          /**< (path, error_kind, error_text) */
	PYC_COMPILEALL_WARNED,          /**< what compiling wrote to stderr (path, warnings), just
	                                     before its COMPILED or FAILED */
	PYC_COMPILEALL_STORE_WARNING,   /**< the store or a remote cache cannot be used or
	                                     written: compiling goes on without it (error_text);
	                                     at most once a run for the store, once per remote */
};

typedef struct pyc_compileall_event {
	enum pyc_compileall_event_kind kind;
	const char *path;            /**< the source path as compileall builds it */
	enum pyc_compileall_why why;
	const char *const *outputs;  /**< cache files (written or to be written) */
	size_t noutputs;
	const char *stripdir;        /**< STRIP_IGNORED */
	const char *error_kind;      /**< FAILED: "compile", "io", "timeout", "crash", "internal" */
	const char *error_text;      /**< FAILED: compile errors exactly as py_compile words them
	                                 (multi-line, no trailing newline); else one line */
	int sys_errno;               /**< CANT_LIST */
	bool sys_path_mode;          /**< CANT_LIST: an absent sys.path entry (not an error) */
	const char *warnings;        /**< WARNED: the bytes compileall's process would write to
	                                  its stderr for the file (SyntaxWarning lines...) */
	size_t warnings_len;
	enum pyc_compileall_cache cache; /**< COMPILED, FAILED: where the result came from */
	bool cache_remote;           /**< cache HIT: from a remote cache (now in the store too) */
} pyc_compileall_event;

typedef void (*pyc_compileall_event_fn)(const pyc_compileall_event *ev, void *ctx);

typedef struct pyc_compileall_stats {
	size_t compiled;      /**< sources written (or that would be, with dry_run) */
	size_t up_to_date;
	size_t failed;
	size_t unlisted;      /**< paths that did not exist or could not be listed */
	size_t files_written; /**< cache files written or linked */
	/** For progress: sources (names ending in .py) the walk has found so far. The walk
	 *  runs ahead of the work, so this grows until walk_done; then compiled + up_to_date
	 *  + failed + skipped reach it. */
	size_t found;
	size_t skipped;       /**< found but neither judged nor compiled (-x, -e, not a file) */
	bool walk_done;       /**< the walk has ended: `found` is the total */
	unsigned workers_started;
	size_t cache_hits;    /**< files whose result came from the store */
	size_t cache_misses;  /**< files compiled with the store in use */
	size_t cache_remote_hits; /**< of cache_hits, those from a remote cache */
	bool reprobed;        /**< a cached probe turned out stale and was replaced */
} pyc_compileall_stats;

/**
 * Compile for one interpreter. Call pyc_compileall_validate first. Returns 0 when the run
 * went through (failed files are counted in stats, not errors), or a negative code when it
 * could not go on (PYC_EINTERP: no worker can start; PYC_ENOMEM). stats accumulate (the
 * caller zeroes them). An interp that came from the probe cache (from_cache) is checked
 * again before the first write, by the first worker's hello (pool.h, pyc_pool_hello); if
 * the answer changed, the run stops there with stats.reprobed set, for the caller to
 * start over with a fresh probe.
 */
PYC_API int pyc_compileall_run(const pyc_compileall_opts *o, const pyc_interp *interp,
                               pyc_compileall_event_fn on_event, void *ctx,
                               pyc_compileall_stats *stats, pyc_error *err);

#ifdef __cplusplus
}
#endif
#endif
