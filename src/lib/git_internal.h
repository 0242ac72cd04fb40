/*
 * git_internal.h - what the git modules (PYC_GIT_SOURCES in CMakeLists.txt: the opener and
 * the ignore, untrack, check and hook code) share behind the opaque pyc_git handle.
 *
 * Only they include this (and <git2.h>; tests/check_layout.py checks). The handle owns one libgit2
 * repository and, once asked for, one index reference; both stay valid until
 * pyc_git_free(). Keep git work single-threaded (libgit2 objects are not shared
 * across threads).
 */
#ifndef PYC_GIT_INTERNAL_H
#define PYC_GIT_INTERNAL_H

#include "pyc/git.h"

#include "pyc/buf.h"

#include <sys/stat.h>

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

/*
 * Shared by ignore.c and ignore_patch.c.
 */
/** Could an ignore pattern match bytecode files (".pyc", ".pyo", "*.py[co]", "*.py?")? */
bool pyc_git__mentions_files(const char *pattern);
/** Does a rules file spell out a rule equivalent to ours, for __pycache__/ (dir) and for
 *  *.py[co] (files: *.py[co], *.py[cod] and reorderings, or both *.pyc and *.pyo)? */
void pyc_git__rules_present(const char *data, size_t len, bool *dir, bool *files);
/** Does an ignore pattern name __pycache__? */
bool pyc_git__mentions_dir(const char *pattern);
/**
 * Append the whole content of the regular file dirfd/name to out, refusing to follow a
 * symlink. Returns 0, PYC_ENOTFOUND (absent; err untouched), PYC_EUNSUPPORTED (a
 * symlink, not a regular file, or over 16 MiB), PYC_EIO. `shown` names it in messages;
 * `st` (optional) receives its status.
 */
int pyc_git__read_rules_file(int dirfd, const char *name, const char *shown, pyc_buf *out,
                             struct stat *st, pyc_error *err);
/** `path` relative to the work tree when inside it, else as is; caller frees (NULL: ENOMEM). */
char *pyc_git__shown_path(pyc_git *g, const char *path);

#endif
