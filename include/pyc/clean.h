/*
 * pyc/clean.h - remove bytecode caches precisely and safely (the engine of `pyc-tool clean`).
 *
 * What is a candidate:
 *  - every .pyc/.pyo (regular file or symlink, never followed) directly inside a
 *    __pycache__ directory under the paths;
 *  - with a pycache prefix, every <stem>.<tag>[.opt-N].pyc/.pyo under the mirror
 *    prefix + abspath(path) of each path (and nothing else in the prefix);
 *  - with `legacy`, foo.pyc/foo.pyo beside an existing foo.py (regular files only; a
 *    legacy symlink is never touched), and with `sourceless` also those without foo.py.
 * The selection (all / stale / orphans, tags to remove, tags to keep) then decides which
 * candidates go. A __pycache__ left empty is removed; so is a mirror directory that this
 * run emptied. A temporary file an interrupted writer left there (pyc/leftover.h) is
 * removed once abandoned, whatever the selection. Anything else found in a cache
 * directory is left in place, reported as PYC_CLEAN_KEPT_FOREIGN, and keeps its
 * directory.
 *
 * Safety: every removal is unlinkat() relative to a directory fd held by the walker, so a
 * directory swapped for a symlink during the run cannot redirect it. Symlinked
 * directories, a symlink named __pycache__, VCS metadata directories and (unless
 * `cross_mounts`) other file systems are never entered; with `skip_envs` neither are
 * environments (counted in `skipped`). A failure to remove or read is
 * reported as PYC_CLEAN_FAILED and the run goes on.
 *
 * Typical use:
 *
 *     pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
 *     o.select = PYC_CLEAN_SELECT_STALE;
 *     o.cb = on_item; o.payload = &state;
 *     pyc_clean_totals t;
 *     if (pyc_clean_run(&t, paths, npaths, &o, &err) < 0) ...;   (fatal: ENOMEM)
 *     if (t.failed) ...;                                        (some path could not go)
 */
#ifndef PYC_CLEAN_H
#define PYC_CLEAN_H

#include "common.h"
#include "buf.h"
#include "leftover.h"
#include "stale.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which candidates are removed. */
enum pyc_clean_select {
	PYC_CLEAN_SELECT_ALL = 0,  /**< every candidate */
	PYC_CLEAN_SELECT_STALE,    /**< not fresh by pyc_stale_check: stale, orphan, corrupt
	                                (and sourceless, which only `sourceless` makes a
	                                candidate) */
	PYC_CLEAN_SELECT_ORPHANS,  /**< caches whose source is gone: orphan (and sourceless) */
};

/** What happened to one path; passed to the callback. */
enum pyc_clean_event {
	PYC_CLEAN_REMOVED,        /**< removed, or would be removed when dry_run */
	PYC_CLEAN_KEPT_FOREIGN,   /**< not bytecode, found in a cache directory: left there */
	PYC_CLEAN_FAILED,         /**< could not be removed, opened or judged */
};

typedef struct pyc_clean_item {
	enum pyc_clean_event event;
	const char *path;         /**< as walked (root-joined); borrowed for the callback only */
	size_t path_len;
	bool is_dir;              /**< a directory (a __pycache__ or a mirror directory) */
	bool dry_run;             /**< REMOVED means "would be removed" */
	uint64_t bytes;           /**< st_size of a removed file (of the link itself for a
	                               symlink); 0 for directories */
	bool judged;              /**< state/reason are valid (stale/orphans selection) */
	enum pyc_state state;
	enum pyc_reason reason;
	const pyc_error *error;   /**< FAILED only: code, errno and a message naming path */
	enum pyc_leftover_kind leftover; /**< a writer's temporary file: REMOVED when
	                                      abandoned, else KEPT_FOREIGN (still in use) */
} pyc_clean_item;

/**
 * Called once per removed, would-be-removed, kept-foreign or failed path, in walk order
 * (a directory after its contents). Return 0 to go on; any other value stops the run and
 * is returned by pyc_clean_run().
 */
typedef int (*pyc_clean_cb)(const pyc_clean_item *item, void *payload);

typedef struct pyc_clean_opts {
	enum pyc_clean_select select;
	const char *const *tags;       /**< remove only caches with these tags ("cpython-312");
	                                    a legacy file matches through its magic's tag */
	size_t ntags;                  /**< 0: any tag */
	const char *const *keep_tags;  /**< never remove caches with these tags */
	size_t nkeep_tags;
	const uint16_t *keep_magics;   /**< never remove legacy files with these magics (for
	                                    interpreters without a cache tag, e.g. 2.7) */
	size_t nkeep_magics;
	bool legacy;                   /**< also foo.pyc/foo.pyo beside an existing foo.py */
	bool sourceless;               /**< also legacy files with no source; implies legacy */
	const char *prefix;            /**< pycache prefix (sys.pycache_prefix); NULL: none. The
	                                    caller resolves PYTHONPYCACHEPREFIX
	                                    (pyc_pycache_prefix()). */
	bool cross_mounts;             /**< enter other file systems */
	bool skip_envs;                /**< skip virtual/conda environments, .tox, .nox and
	                                    node_modules below the paths (PYC_WALK_SKIP_ENVS) */
	const char *const *excludes;   /**< fnmatch globs, as pyc_walker_exclude() */
	size_t nexcludes;
	bool dry_run;                  /**< remove nothing; report what would go */
	pyc_clean_cb cb;               /**< may be NULL */
	void *payload;
} pyc_clean_opts;

#define PYC_CLEAN_OPTS_INIT { PYC_CLEAN_SELECT_ALL }

typedef struct pyc_clean_totals {
	uint64_t files;    /**< bytecode files removed (or that would be) */
	uint64_t dirs;     /**< directories removed (or that would be) */
	uint64_t bytes;    /**< sum of the removed files' st_size (each name counted) */
	uint64_t kept;     /**< candidates the selection kept (fresh, other tags, ...) */
	uint64_t foreign;  /**< non-bytecode entries left in cache directories (temporary
	                        files still in use included) */
	uint64_t leftovers; /**< abandoned temporary files removed (or that would be) */
	uint64_t failed;   /**< paths that could not be removed, opened or judged */
	uint64_t skipped;  /**< directories not entered because of skip_envs */
} pyc_clean_totals;

/**
 * Clean `paths` (npaths > 0). *out is always filled. Returns 0 when the run finished
 * (check out->failed), the callback's non-zero value when it stopped the run, or
 * PYC_ENOMEM / PYC_EINVAL (bad glob or option) with err filled. A path that does not
 * exist is reported as FAILED, not as an error of the call.
 */
PYC_API int pyc_clean_run(pyc_clean_totals *out, const char *const *paths, size_t npaths,
                          const pyc_clean_opts *opts, pyc_error *err);

/**
 * The mirror of `path` under `prefix`: prefix + abspath(path), where abspath joins a
 * relative path onto `cwd` (NULL: the current directory) and removes "." and ".."
 * components and repeated slashes lexically, as os.path.abspath does. The result replaces
 * out's contents. Returns 0, PYC_EIO (no cwd) or PYC_ENOMEM.
 */
PYC_API int pyc_clean_mirror_path(pyc_buf *out, const char *prefix, const char *path,
                                  const char *cwd, pyc_error *err);

#ifdef __cplusplus
}
#endif
#endif
