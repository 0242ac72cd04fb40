/*
 * pyc/untrack.h - stop tracking Python bytecode: the equivalent of
 * `git rm -r --cached` for every tracked .pyc/.pyo file and everything under a
 * __pycache__ directory (pyc_git_is_bytecode_path). The work tree is never touched and
 * .pyd files (native extensions) are never removed (docs/git.md).
 */
#ifndef PYC_UNTRACK_H
#define PYC_UNTRACK_H

#include "common.h"
#include "git.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_untrack_opts {
	bool dry_run;   /**< list what would be removed, write nothing */
} pyc_untrack_opts;

/** Caller-allocated; release with pyc_untrack_result_dispose. */
typedef struct pyc_untrack_result {
	char **paths;      /**< owned: repository-relative paths removed (or to remove), in
	                        index order, each once even when it has conflict stages */
	size_t n_paths;
	bool wrote;        /**< the index file was written */
} pyc_untrack_result;

/**
 * Re-read the index from disk (git_index_read(ix, 1)) immediately before changing it, so
 * a `git add` made since the repository was opened is kept; remove every bytecode entry
 * and write the index (only when something was removed).
 * Returns 0; PYC_ELOCKED when another process holds '<index>.lock' (nothing written;
 * the message names the lock file); PYC_EUNSUPPORTED for a split or sparse index, which
 * libgit2 cannot read or write (the message names the git command that converts it);
 * PYC_EGIT otherwise. *out is valid (possibly partly filled) even on failure.
 */
PYC_API int pyc_untrack_bytecode(pyc_git *g, const pyc_untrack_opts *opts,
                                     pyc_untrack_result *out, pyc_error *err);

/** Free what a result owns and zero it. NULL is fine. */
PYC_API void pyc_untrack_result_dispose(pyc_untrack_result *r);

#ifdef __cplusplus
}
#endif
#endif
