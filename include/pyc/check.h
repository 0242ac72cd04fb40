/*
 * pyc/check.h - the read-only gate behind `pyc-tool check`: which bytecode files are
 * about to be committed, are tracked, or are named on a command line (docs/git-hooks.md).
 *
 * Nothing here writes to the repository, the index or the work tree. A check collects
 * its findings into a caller-owned pyc_check_list; an empty list means "clean". Paths are
 * repository-relative as git spells them ('/'-separated), except for pyc_check_files(),
 * which reports each name exactly as given.
 *
 * "Bytecode" is pyc_git_is_bytecode_path(): a .pyc/.pyo name or anything under a
 * __pycache__ directory; never .pyd.
 *
 *     pyc_check_list l = PYC_CHECK_LIST_INIT;
 *     if (pyc_check_staged(g, &l, &err) < 0) ...;
 *     for (size_t i = 0; i < l.count; i++)
 *         printf("%s %s\n", pyc_check_kind_name(l.items[i].kind), l.items[i].path);
 *     pyc_check_list_dispose(&l);
 */
#ifndef PYC_CHECK_H
#define PYC_CHECK_H

#include "common.h"
#include "git.h"
#include "ignore.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How an offending path gets into the commit or the index. */
typedef enum pyc_check_kind {
	PYC_CHECK_ADDED,       /**< staged: new in the index (every path on an unborn HEAD) */
	PYC_CHECK_MODIFIED,    /**< staged: tracked bytecode with new content */
	PYC_CHECK_RENAMED,     /**< staged: moved (old_path is the source); rename detection on */
	PYC_CHECK_TYPECHANGE,  /**< staged: was a symlink/file/submodule, is now another type */
	PYC_CHECK_CONFLICTED,  /**< an unmerged path (index stages 1-3), reported once */
	PYC_CHECK_TRACKED,     /**< index mode: a tracked bytecode file */
	PYC_CHECK_NAMED,       /**< file mode: a named path that is bytecode */
	PYC_CHECK_NOT_IGNORED, /**< ignore-rule mode: a probe path git would not ignore */
} pyc_check_kind;

typedef struct pyc_check_finding {
	char *path;            /**< the offending (new) path; owned by the list */
	char *old_path;        /**< PYC_CHECK_RENAMED: the path it came from; else NULL */
	pyc_check_kind kind;
} pyc_check_finding;

/** Findings in the order git lists them (index order, i.e. sorted by path). */
typedef struct pyc_check_list {
	pyc_check_finding *items;
	size_t count;
	size_t cap;
} pyc_check_list;

#define PYC_CHECK_LIST_INIT { NULL, 0, 0 }

/**
 * What `git commit` is about to record: the index the handle uses (GIT_INDEX_FILE in a
 * hook, see git.h) against HEAD^{tree}, or against the empty tree when HEAD is unborn,
 * with rename detection. Every delta that is not a deletion and whose new path is
 * bytecode is a finding, so deleting or renaming bytecode away passes.
 * Returns 0 or PYC_EGIT / PYC_ENOMEM; the list is appended to.
 */
PYC_API int pyc_check_staged(pyc_git *g, pyc_check_list *out, pyc_error *err);

/**
 * Every tracked bytecode path in the index (CI on the whole repository). Unmerged paths
 * appear once, as PYC_CHECK_CONFLICTED. Returns 0 or PYC_EGIT / PYC_ENOMEM.
 */
PYC_API int pyc_check_index(pyc_git *g, pyc_check_list *out, pyc_error *err);

/**
 * Whether the repository's own ignore rules cover bytecode: every probe of
 * pyc_ignore_probe() (ignore.h; a developer's global excludes do not count) that is
 * not ignored is a PYC_CHECK_NOT_IGNORED finding, its path a synthetic probe such as
 * "pkg/__pycache__/". When report is not NULL it receives the probe report (negation
 * rules included, for warnings); dispose it with pyc_ignore_report_dispose() either way.
 * Returns 0, PYC_EIO or PYC_EGIT.
 */
PYC_API int pyc_check_ignore_rule(pyc_git *g, pyc_check_list *out, pyc_ignore_report *report,
                                  pyc_error *err);

/**
 * The names among paths[0..n) that are bytecode, judged by name only (the files need not
 * exist, no repository is needed): what the pre-commit framework passes with
 * pass_filenames. Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_check_files(const char *const *paths, size_t n, pyc_check_list *out,
                            pyc_error *err);

/** A stable lowercase name for JSON and humans: "added", "modified", "renamed",
 *  "typechange", "conflicted", "tracked", "named", "not-ignored". */
PYC_API const char *pyc_check_kind_name(pyc_check_kind kind);

/** Free every finding and reset the list to PYC_CHECK_LIST_INIT. NULL is a no-op. */
PYC_API void pyc_check_list_dispose(pyc_check_list *l);

#ifdef __cplusplus
}
#endif
#endif
