/*
 * pyc/scan.h - stream every bytecode cache under a root, with its verdict.
 *
 * Built on the walker (walk.h), so memory does not grow with the tree and records come
 * out in a deterministic order (the walk order: sorted within each directory). A scan
 * reports, for one root:
 *  - caches in __pycache__ directories: <stem>.<tag>[.opt-N].pyc, judged against
 *    ../<stem>.py (a file there whose name does not parse is ORPHAN/BAD_NAME; one whose
 *    tag is not "cpython-*" belongs to another implementation and is not reported);
 *  - legacy caches beside their source: foo.pyc / foo.pyo -> foo.py (SOURCELESS when
 *    there is no foo.py);
 *  - caches mirrored under a pycache prefix: prefix + abspath(root), walked after the
 *    root itself (no __pycache__ part there); the prefix directory is skipped when it
 *    lies inside the root;
 *  - with a target (tag + optimisation levels), MISSING records for sources (*.py,
 *    outside __pycache__) that have no cache for it.
 * Per cache the cost is one fstatat() of the source and openat()/read()/close() of its
 * first 16 bytes (pyc_stale_check); hash-based pycs also read their source.
 *
 * Typical loop:
 *
 *     pyc_scan *s;
 *     const pyc_scan_record *r;
 *     if (pyc_scan_new(&s, root, &opts, &err) < 0) ...;
 *     while ((rc = pyc_scan_next(s, &r)) > 0) {
 *         if (r->error) report(r->message); else print(r);
 *     }
 *     pyc_scan_free(s);
 */
#ifndef PYC_SCAN_H
#define PYC_SCAN_H

#include "common.h"
#include "leftover.h"
#include "stale.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_scan pyc_scan;

typedef struct pyc_scan_opts {
	/** Pycache prefix in effect (already resolved, e.g. by pyc_pycache_prefix()); NULL
	 *  or "" for none. */
	const char *prefix;
	/** Report MISSING caches for this target. */
	bool target;
	/** The target's cache tag ("cpython-312"), or NULL for a tagless target (2.x,
	 *  3.0/3.1): then the expected cache is foo.pyc (level 0) / foo.pyo (level >= 1)
	 *  beside the source. */
	const char *target_tag;
	/** Optimisation levels to expect (0 = no ".opt-" part); NULL/0 means { 0 }. */
	const int *levels;
	size_t nlevels;
	/** fnmatch(3) globs passed to pyc_walker_exclude(). */
	const char *const *excludes;
	size_t nexcludes;
	/** Extra pyc_walk_flags (e.g. PYC_WALK_CROSS_MOUNTS; PYC_WALK_SKIP_ENVS for the
	 *  default excludes of `status`, then see pyc_scan_skipped()). */
	unsigned walk_flags;
	/** Worker threads scanning whole subtrees of a directory root: 0 = one per usable
	 *  CPU (at most 8), 1 = none, the caller's thread does everything. Records come out
	 *  in walk order either way, and memory stays bounded (a worker more than 512 KiB
	 *  of records ahead of the caller waits). */
	unsigned threads;
} pyc_scan_opts;

/** Where a record's cache sits. */
enum pyc_scan_where {
	PYC_SCAN_PYCACHE,   /**< in a __pycache__ directory */
	PYC_SCAN_LEGACY,    /**< foo.pyc / foo.pyo beside the source */
	PYC_SCAN_PREFIX,    /**< under the pycache prefix */
};

/** One result. Every pointer is borrowed until the next pyc_scan_next() call. */
typedef struct pyc_scan_record {
	const char *path;        /**< the cache (for MISSING: where it would be) */
	const char *source;      /**< the source it belongs to (or would); "" for BAD_NAME */
	const char *tag;         /**< cache tag from the name, NULL for legacy files */
	const char *opt;         /**< "" or the N of ".opt-N" */
	enum pyc_scan_where where;
	pyc_verdict verdict;     /**< meaningless when error != 0 */
	/** 0, or the PYC_E* code of a runtime failure (unreadable directory, cache or
	 *  source); then `message` names the path and the reason, and the scan goes on. */
	int error;
	const char *message;
	/** Not NONE: `path` is a writer's temporary file in a cache directory, not a cache
	 *  (pyc/leftover.h); only path, where and abandoned are then meaningful. */
	enum pyc_leftover_kind leftover;
	bool abandoned;          /**< its writer cannot still be running: safe to remove */
} pyc_scan_record;

/**
 * Start scanning `root` (a directory, or a single file: a cache is judged, a source
 * checked for MISSING). opts is copied; NULL means defaults. Returns 0, or
 * PYC_ENOTFOUND / PYC_EIO (root cannot be opened), PYC_EINVAL (bad level or tag),
 * PYC_ENOMEM, with err filled.
 */
PYC_API int pyc_scan_new(pyc_scan **out, const char *root, const pyc_scan_opts *opts,
                         pyc_error *err);

/** Next record: 1 with *out set, 0 at the end, <0 on a fatal error (PYC_ENOMEM). */
PYC_API int pyc_scan_next(pyc_scan *s, const pyc_scan_record **out);

/**
 * Directories skipped as environments (PYC_WALK_SKIP_ENVS, pyc_walker_skipped()), in the
 * tree and the prefix mirror, by every thread. Final once pyc_scan_next() returned 0.
 */
PYC_API size_t pyc_scan_skipped(const pyc_scan *s);

/** Free the scan and close its fds. NULL is a no-op. */
PYC_API void pyc_scan_free(pyc_scan *s);

/** The state names of stale.h, plus the kind of a record: "pycache", "legacy", "prefix". */
PYC_API const char *pyc_scan_where_name(enum pyc_scan_where w);

#ifdef __cplusplus
}
#endif
#endif
