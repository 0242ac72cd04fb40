/*
 * pyc/hook.h - install and remove the pre-commit hook that runs `pyc-tool check
 * --staged` (docs/git-hooks.md).
 *
 * Where: core.hooksPath when set (`~` expanded; a relative value is relative to the work
 * tree root, as githooks(5) says), else <commondir>/hooks, which linked worktrees share
 * and a submodule has for itself (.git/modules/<name>/hooks). A hooksPath that comes from
 * the global, XDG or system configuration is shared by every repository of the user, so
 * installing there needs PYC_HOOK_FORCE; one set in the repository's own config is used.
 *
 * What: a `#!/bin/sh` script carrying PYC_HOOK_MARKER, written to a temporary file in the
 * hooks directory, given mode 0755 and renamed over `pre-commit`. A hook without the
 * marker is never replaced silently:
 *  - default: refused with PYC_EEXISTS;
 *  - PYC_HOOK_CHAIN: it is renamed to PYC_HOOK_LEGACY_NAME (bytes and mode kept) and our
 *    script runs it first with the same arguments and stdin; its failure aborts the commit;
 *  - PYC_HOOK_FORCE: it is replaced (and lost).
 * Uninstall removes only a marked hook and renames a chained one back into place.
 */
#ifndef PYC_HOOK_H
#define PYC_HOOK_H

#include "common.h"
#include "git.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The line that identifies a hook written by pyc-tool. */
#define PYC_HOOK_MARKER "# pyc-tool-hook: v1"
/** Where --chain keeps the hook it found; distinct from the pre-commit framework's own
 *  "pre-commit.legacy" so the two tools can chain each other. */
#define PYC_HOOK_LEGACY_NAME "pre-commit.pyc-tool-legacy"

typedef enum pyc_hook_mode {
	PYC_HOOK_PLAIN = 0,   /**< refuse to touch a foreign hook */
	PYC_HOOK_CHAIN,       /**< keep a foreign hook, run it first */
	PYC_HOOK_FORCE,       /**< replace a foreign hook; allow a shared core.hooksPath */
} pyc_hook_mode;

/** What install/uninstall did. */
typedef enum pyc_hook_action {
	PYC_HOOK_UNCHANGED,   /**< ours was already there with the same bytes: nothing written */
	PYC_HOOK_INSTALLED,   /**< no hook was there */
	PYC_HOOK_UPDATED,     /**< ours was there with other bytes (e.g. another tool path) */
	PYC_HOOK_CHAINED,     /**< a foreign hook was moved to legacy_path */
	PYC_HOOK_REPLACED,    /**< a foreign hook was overwritten (PYC_HOOK_FORCE) */
	PYC_HOOK_REMOVED,     /**< uninstall: ours removed, nothing to restore */
	PYC_HOOK_RESTORED,    /**< uninstall: ours removed, the chained hook put back */
	PYC_HOOK_ABSENT,      /**< uninstall: no hook of ours was there */
} pyc_hook_action;

typedef struct pyc_hook_result {
	pyc_hook_action action;
	char *hook_path;      /**< the pre-commit hook path; owned */
	char *legacy_path;    /**< the chained hook's path when one is involved, else NULL */
	bool from_hooks_path; /**< the directory came from core.hooksPath */
} pyc_hook_result;

typedef struct pyc_hook_opts {
	pyc_hook_mode mode;
	/** The pyc-tool the script runs: an absolute path, tried first; the script falls back
	 *  to `pyc-tool` on PATH when it is not executable any more. NULL: PATH only. */
	const char *tool_path;
} pyc_hook_opts;

/**
 * The hooks directory for g (see above) into *out (malloc'd, no trailing '/'), and
 * whether it came from core.hooksPath at global/XDG/system level (*shared, may be NULL)
 * or at all (*from_config, may be NULL). Returns 0 or PYC_EGIT / PYC_ENOMEM.
 */
PYC_API int pyc_hook_dir(pyc_git *g, char **out, bool *from_config, bool *shared,
                         pyc_error *err);

/**
 * The script install writes, into *out (malloc'd). Exposed for tests and --dry-run style
 * display. Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_hook_script(char **out, const char *tool_path, pyc_error *err);

/** True when the bytes are a hook pyc-tool wrote (they carry PYC_HOOK_MARKER). */
PYC_API bool pyc_hook_is_ours(const char *data, size_t len);

/**
 * Install the hook. Returns 0 (see out->action), PYC_EEXISTS (a foreign hook and no
 * CHAIN/FORCE, a leftover legacy hook blocks chaining, or a shared core.hooksPath without
 * FORCE; the message says which and what to do), PYC_EIO or PYC_EGIT.
 * out is filled on success and, where known, on failure; dispose it either way.
 */
PYC_API int pyc_hook_install(pyc_git *g, const pyc_hook_opts *opts, pyc_hook_result *out,
                             pyc_error *err);

/**
 * Remove our hook and put a chained one back. A foreign hook is left alone (PYC_EEXISTS).
 * Returns 0 (see out->action), PYC_EEXISTS, PYC_EIO or PYC_EGIT.
 */
PYC_API int pyc_hook_uninstall(pyc_git *g, pyc_hook_result *out, pyc_error *err);

/** Free the strings and zero the result. NULL is a no-op. */
PYC_API void pyc_hook_result_dispose(pyc_hook_result *r);

#ifdef __cplusplus
}
#endif
#endif
