/*
 * pyc/git.h - the repository pyc-tool's git commands work on, opened through libgit2 the
 * way git itself would find it, including inside hooks (docs/git.md):
 *  - GIT_DIR set: opened without searching; GIT_WORK_TREE set: used as the work tree;
 *    GIT_INDEX_FILE set: that index (relative values resolved against the cwd at open);
 *  - otherwise searched upward from start_dir, honouring GIT_CEILING_DIRECTORIES;
 *  - a bare repository is refused (PYC_EUNSUPPORTED, "... is a bare repository");
 *  - libgit2 1.5.1's safe.directory failure is reported as dubious ownership with the
 *    `git config --global --add safe.directory` hint.
 * Only the git modules (PYC_GIT_SOURCES in CMakeLists.txt) include <git2.h>; the handle
 * is opaque.
 */
#ifndef PYC_GIT_H
#define PYC_GIT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_git pyc_git;

/** Open the repository for start_dir (NULL = cwd). Returns 0, PYC_ENOTFOUND (not a git
 *  repository), PYC_EUNSUPPORTED (bare, unsupported extension) or PYC_EGIT. */
PYC_API int pyc_git_open(pyc_git **out, const char *start_dir, pyc_error *err);

/** The work tree with a trailing '/'; borrowed for the handle's lifetime. */
PYC_API const char *pyc_git_workdir(const pyc_git *g);
/** The git dir (per-worktree) and the common dir, trailing '/'; borrowed. */
PYC_API const char *pyc_git_gitdir(const pyc_git *g);
PYC_API const char *pyc_git_commondir(const pyc_git *g);

/** True for a repository-relative path that is bytecode: a ".pyc"/".pyo" name or any
 *  component named "__pycache__". Never true for ".pyd" (native extensions). */
PYC_API bool pyc_git_is_bytecode_path(const char *path);

/** Close the repository (libgit2 shutdown is balanced). NULL is a no-op. */
PYC_API void pyc_git_free(pyc_git *g);

#ifdef __cplusplus
}
#endif
#endif
