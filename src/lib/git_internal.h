/*
 * git_internal.h - what src/lib/git_*.c share behind the opaque pyc_git handle.
 *
 * Only src/lib/git_*.c include this (and <git2.h>). The handle owns one libgit2
 * repository and, once asked for, one index reference; both stay valid until
 * pyc_git_free(). Keep git work single-threaded (libgit2 objects are not shared
 * across threads).
 */
#ifndef PYC_GIT_INTERNAL_H
#define PYC_GIT_INTERNAL_H

#include "pyc/git.h"

#include <git2.h>

/** The repository; borrowed for the handle's lifetime. Never bare. */
git_repository *pyc_git__repo(pyc_git *g);

/**
 * The index git would use: GIT_INDEX_FILE when it was set at open (already
 * installed with git_repository_set_index, so libgit2 calls that take the
 * repository's index, e.g. diffs, see the same one), else <gitdir>/index.
 * *out is borrowed (the handle keeps the reference). Returns 0, PYC_EUNSUPPORTED
 * for a split or sparse index (the message names the git command that converts
 * it) or PYC_EGIT.
 */
int pyc_git__index(pyc_git *g, git_index **out, pyc_error *err);

/** The resolved GIT_INDEX_FILE (absolute), or NULL when it was not set. Borrowed. */
const char *pyc_git__index_file(const pyc_git *g);

/**
 * Record a libgit2 failure: "<what>: <libgit2 message>" with `code`, which is
 * returned. Call right after the failing libgit2 call (git_error_last() can be
 * stale later). `what` is printf-style.
 */
int pyc_git__fail(pyc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Map a failure to read an index (libgit2 "unsupported mandatory extension")
 * into the split/sparse advice when it applies; otherwise like pyc_git__fail
 * with PYC_EGIT. `path` names the index file in the message.
 */
int pyc_git__index_fail(pyc_error *err, const char *path);

#endif
