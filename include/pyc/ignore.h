/*
 * pyc/ignore.h - does git ignore Python bytecode in this repository, and making it so
 * (docs/git.md).
 *
 * "Ignored" means by the repository's own rules: every .gitignore in the work tree and
 * <commondir>/info/exclude (plus a core.excludesFile set in the repository's own config).
 * A developer's global excludes (core.excludesFile in ~/.gitconfig, ~/.config/git/ignore)
 * are deliberately not consulted: they protect one person only, so they must neither make
 * `ignore` skip writing nor make `check --ignore-rule` pass. The answers come from
 * libgit2's own matcher, asked about synthetic probe paths (none has to exist on disk).
 */
#ifndef PYC_IGNORE_H
#define PYC_IGNORE_H

#include "common.h"
#include "git.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How many synthetic probes there are (see pyc_ignore_probe_paths). */
#define PYC_IGNORE_NPROBES 7

/** The rules `ignore` appends, and the comment line above them. */
#define PYC_IGNORE_RULE_DIR "__pycache__/"
#define PYC_IGNORE_RULE_FILES "*.py[co]"
#define PYC_IGNORE_COMMENT "# Python bytecode caches (added by pyc-tool ignore)"

/** A negation rule ("!...") that mentions bytecode: __pycache__, .pyc, .pyo, .py[co]... */
typedef struct pyc_ignore_negation {
	char *file;        /**< owned: repository-relative (".gitignore", "pkg/.gitignore",
	                        ".git/info/exclude"), absolute when outside the work tree */
	size_t line;       /**< 1-based line number */
	char *rule;        /**< owned: the line as written, without EOL or BOM */
	bool overridden;   /**< set by pyc_ignore_patch: the block it appended comes later
	                        with higher or equal precedence, so this rule no longer
	                        un-ignores anything (git: the last matching rule wins) */
} pyc_ignore_negation;

/** The outcome of one probe run. Caller-allocated; release with pyc_ignore_report_dispose. */
typedef struct pyc_ignore_report {
	/** The probe paths that are NOT ignored, borrowed static strings, in probe order. */
	const char *not_ignored[PYC_IGNORE_NPROBES];
	size_t n_not_ignored;
	/** Every bytecode negation found, in file order (root first, then depth-first
	 *  by name, info/exclude last). Owned array. */
	pyc_ignore_negation *negations;
	size_t n_negations;
} pyc_ignore_report;

/** The probe paths, relative to the work tree; directories end in '/'. Static. */
PYC_API const char *const *pyc_ignore_probe_paths(void);

/**
 * Ask libgit2 which probes the repository's rules leave un-ignored, and scan every
 * .gitignore (not inside ignored directories, .git or nested repositories) and
 * info/exclude for negations that mention bytecode. Changes nothing.
 * *out is overwritten (dispose a previous report first). Returns 0 (the verdict is
 * out->n_not_ignored == 0), PYC_EIO or PYC_EGIT.
 * It briefly changes libgit2's process-wide search paths (restored before it returns),
 * so it must not run concurrently with other libgit2 work.
 */
PYC_API int pyc_ignore_probe(pyc_git *g, pyc_ignore_report *out, pyc_error *err);

/** Free what a report owns and zero it. NULL and zeroed reports are fine. */
PYC_API void pyc_ignore_report_dispose(pyc_ignore_report *r);

typedef struct pyc_ignore_opts {
	bool exclude_file;  /**< write <commondir>/info/exclude instead of <workdir>/.gitignore */
	bool dry_run;       /**< decide and report, write nothing */
} pyc_ignore_opts;

/** What pyc_ignore_patch did (or, with dry_run, would do). */
typedef struct pyc_ignore_result {
	char *target;        /**< owned: the file written or to be written (absolute) */
	char *target_shown;  /**< owned: the same, relative to the work tree when inside it */
	const char *added[2];/**< static: the rules appended (or to append), in order */
	size_t n_added;      /**< 0: nothing to do (already ignored, or the rules are already
	                          in the target and a negation overrides them) */
	bool created;        /**< the target did not exist */
	bool wrote;          /**< the file was actually replaced (false with dry_run) */
	pyc_ignore_report before;  /**< probes before any change */
	pyc_ignore_report after;   /**< probes after the write; zeroed when nothing was written */
} pyc_ignore_result;

/**
 * Make git ignore bytecode: probe, and if a probe is not ignored and the target lacks
 * the rules, append "\n" PYC_IGNORE_COMMENT, PYC_IGNORE_RULE_DIR, PYC_IGNORE_RULE_FILES
 * (only the missing ones) to the target, keeping its bytes (BOM, CRLF taken from the
 * first line ending, a missing final newline added first). Written to a temporary file
 * in the same directory, given the old mode (a new file gets 0666 & ~umask), fsynced and
 * renamed over the target; info/ is created for --exclude-file. Then probes again.
 * Idempotent: with the rules present nothing is written.
 * Returns 0, PYC_EUNSUPPORTED (target is a symbolic link or not a regular file), PYC_EIO,
 * PYC_EGIT. *out is filled even on failure as far as it got; always dispose it.
 */
PYC_API int pyc_ignore_patch(pyc_git *g, const pyc_ignore_opts *opts,
                                pyc_ignore_result *out, pyc_error *err);

/** Free what a result owns and zero it. NULL is fine. */
PYC_API void pyc_ignore_result_dispose(pyc_ignore_result *r);

#ifdef __cplusplus
}
#endif
#endif
