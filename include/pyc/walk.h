/*
 * pyc/walk.h - a streaming, deterministic directory walker built on directory fds.
 *
 * Memory grows with depth times the widest directory, never with the tree. Entries of
 * each directory are sorted bytewise (strcmp), so output is reproducible. Symlinked
 * directories are reported (PYC_WALK_SYMLINK) but never entered; VCS metadata
 * directories (.git .hg .svn .bzr _darcs CVS .jj) are skipped; by default the walk
 * stays on the root's file system. A directory that cannot be opened or read is
 * reported as a PYC_WALK_ERROR entry and the walk goes on. Names may hold any byte
 * but '/' and NUL.
 *
 * Descriptors: only the directories of the current path are open, and of those only the
 * deepest 32; an ancestor further up is closed and later reopened through ".." of its
 * child, checked by device and inode. Deep trees therefore need about 32 fds; if that
 * reopening fails (the tree was moved meanwhile), the ancestor is reported as a
 * PYC_WALK_ERROR (ESTALE or the errno) and its remaining entries are not walked.
 * A directory that was skipped, excluded or not entered gets no PYC_WALK_DIR_POST.
 * An entry that vanishes between its directory's listing and its use is reported as
 * PYC_WALK_ERROR (ENOENT) when the walker notices; one swapped for a symlink or a file
 * is reported as what it now is, never followed.
 *
 * Every entry carries the fd of the directory holding it, so callers can use
 * fstatat/openat/unlinkat relative to it: swapping a directory for a symlink mid-walk
 * cannot redirect them outside the tree.
 *
 * Typical loop:
 *
 *     pyc_walker *w;
 *     const pyc_walk_entry *e;
 *     if (pyc_walker_new(&w, root, PYC_WALK_POSTORDER, &err) < 0) ...;
 *     while ((rc = pyc_walker_next(w, &e)) > 0) {
 *         if (e->kind == PYC_WALK_DIR && pyc_is_pycache_dir(e->name)) ...;
 *     }
 *     pyc_walker_free(w);
 */
#ifndef PYC_WALK_H
#define PYC_WALK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_walker pyc_walker;

enum pyc_walk_flags {
	PYC_WALK_POSTORDER = 1u << 0,     /**< also emit PYC_WALK_DIR_POST after a dir's contents */
	PYC_WALK_CROSS_MOUNTS = 1u << 1,  /**< enter directories on other file systems */
	PYC_WALK_KEEP_VCS = 1u << 2,      /**< do not skip VCS metadata directories */
	/** Skip environments below the root (never the root itself): a directory holding
	 *  pyvenv.cfg (a virtual environment, PEP 405: venv, virtualenv >= 20, uv, tox,
	 *  nox), one holding a conda-meta/ directory (conda, mamba, pixi), and the tool
	 *  directories .tox, .nox and node_modules. A venv is recognised from its listing,
	 *  which the walk reads anyway: no extra system call per directory. Counted by
	 *  pyc_walker_skipped(). */
	PYC_WALK_SKIP_ENVS = 1u << 3,
};

enum pyc_walk_kind {
	PYC_WALK_FILE,       /**< a regular file (or unknown non-directory type) */
	PYC_WALK_DIR,        /**< a directory, before its contents; pyc_walker_skip() prunes it */
	PYC_WALK_DIR_POST,   /**< a directory, after its contents (PYC_WALK_POSTORDER only) */
	PYC_WALK_SYMLINK,    /**< a symbolic link of any kind; never followed by the walker */
	PYC_WALK_OTHER,      /**< fifo, socket, device */
	PYC_WALK_ERROR,      /**< could not open/read this directory, or the entry vanished */
};

typedef struct pyc_walk_entry {
	enum pyc_walk_kind kind;
	const char *path;     /**< root-joined path; borrowed until the next call */
	size_t path_len;
	const char *name;     /**< last component, points into path */
	int dirfd;            /**< open fd of the directory holding the entry (AT_FDCWD-like
	                           for a root given as a bare name); borrowed */
	int fd;               /**< for PYC_WALK_DIR and _DIR_POST: the directory's own fd; else -1 */
	unsigned depth;       /**< 0 for the root itself */
	int error;            /**< errno for PYC_WALK_ERROR, else 0 */
	bool is_mount_point;  /**< a directory on another file system that was not entered */
} pyc_walk_entry;

/**
 * Start a walk at `root` (a directory or any other file; a root that is a symlink is
 * followed, as `find -H` does, because the user named it). Returns 0, or PYC_ENOTFOUND /
 * PYC_EIO with err filled when root cannot be stat()ed. The first entry is the root itself
 * (depth 0): a PYC_WALK_ERROR when it is a directory that cannot be opened or read.
 * Trailing slashes are dropped ("a/b/" walks as "a/b"); the root's dirfd is its parent
 * directory (AT_FDCWD with name == path when that cannot be opened).
 */
PYC_API int pyc_walker_new(pyc_walker **out, const char *root, unsigned flags, pyc_error *err);

/**
 * Skip entries matching an fnmatch(3) glob (flags 0: '*' also matches '/' and a leading
 * '.'). A glob without '/' is matched against each entry's name; one with '/' against
 * its path relative to the root ("a/b"; leading "./" in the glob is ignored). A glob
 * ending in '/' matches directories only ("build/"). Excluded entries are not reported and
 * excluded directories are not entered; the root itself is never excluded. Call before
 * the first pyc_walker_next(). Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_walker_exclude(pyc_walker *w, const char *glob);

/** Next entry: 1 with *out set, 0 at the end, <0 on a fatal error (PYC_ENOMEM). */
PYC_API int pyc_walker_next(pyc_walker *w, const pyc_walk_entry **out);

/** Do not descend into the PYC_WALK_DIR entry just returned. */
PYC_API void pyc_walker_skip(pyc_walker *w);

/**
 * The fd of the directory at `depth` on the current path (0 = root dir), e.g. the
 * parent of a __pycache__ when looking up sources. -1 when out of range, or for an
 * ancestor more than 32 levels above the current directory (see above). Borrowed.
 */
PYC_API int pyc_walker_dirfd_at(const pyc_walker *w, unsigned depth);

/**
 * Directories skipped so far by PYC_WALK_SKIP_ENVS (not VCS metadata, not excluded ones),
 * so that a caller can say that something was left out.
 */
PYC_API size_t pyc_walker_skipped(const pyc_walker *w);

/** Free the walker and close its fds. NULL is a no-op. */
PYC_API void pyc_walker_free(pyc_walker *w);

#ifdef __cplusplus
}
#endif
#endif
