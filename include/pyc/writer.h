/*
 * pyc/writer.h - write a .pyc the way py_compile does: never a partial file visible.
 *
 * Header + body go to a temporary file "<name>.<pid>.<n>.tmp" in the target directory
 * (O_EXCL, the mode CPython gives it: (source mode | 0200) & 0666, minus the umask), then
 * rename() over the target. A target that is a symlink or an existing non-regular file is
 * refused, as py_compile refuses it (FileExistsError). On any failure the temporary file
 * is removed and the old .pyc is left intact; while it exists it is registered for
 * pyc_interrupt_cleanup() (pyc/interrupt.h).
 *
 * The *_at functions work relative to a directory fd from pyc_cache_dir_open(), which
 * opens the directories below a trusted base without following symlinks: unlike
 * py_compile, a __pycache__ that is a symlink (even one swapped in mid-run) is refused,
 * never written through.
 */
#ifndef PYC_WRITER_H
#define PYC_WRITER_H

#include "common.h"
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Open the directory `sub` below the open directory `basefd` for writing cache files
 * into: each component of `sub` ("__pycache__", or the mirror path under a pycache
 * prefix; "" for basefd itself) is opened with O_NOFOLLOW and made (0777 & ~umask) when
 * missing. `base_shown` names basefd in messages. *out is a new O_DIRECTORY fd.
 * Returns 0, PYC_EUNSAFE (a component is a symlink), PYC_EIO (cannot open or create one;
 * a file in the way is ENOTDIR) or PYC_ENOMEM.
 */
PYC_API int pyc_cache_dir_open(int *out, int basefd, const char *base_shown, const char *sub,
                               pyc_error *err);

/**
 * Write header[0..hlen) + body[0..blen) to `name` in directory `dirfd` atomically, with
 * mode `mode` (before umask); `shown` names the file in messages. Returns 0, PYC_EEXISTS
 * (symlink / non-regular target), PYC_EIO (err names the path and the reason, e.g.
 * ENOSPC) or PYC_ENOMEM.
 */
PYC_API int pyc_write_pyc_at(int dirfd, const char *name, const char *shown,
                             const uint8_t *header, size_t hlen, const uint8_t *body,
                             size_t blen, mode_t mode, pyc_error *err);

/**
 * The same for a path: its missing parent directories are made (following symlinks, as
 * py_compile's os.makedirs does), then pyc_write_pyc_at() in the parent. For files the
 * caller owns (the probe cache); compile uses pyc_cache_dir_open() + pyc_write_pyc_at().
 */
PYC_API int pyc_write_pyc(const char *path, const uint8_t *header, size_t hlen,
                          const uint8_t *body, size_t blen, mode_t mode, pyc_error *err);

/**
 * Replace `name` in `dirfd` by a hard link to `existing` in the same directory
 * (compileall --hardlink-dupes), atomically: a link "<name>.<pid>.link", then rename().
 * The target is refused as pyc_write_pyc_at refuses it. Returns 0, PYC_EEXISTS, PYC_EIO
 * or PYC_ENOMEM.
 */
PYC_API int pyc_link_pyc_at(int dirfd, const char *existing, const char *name,
                            const char *shown, pyc_error *err);

/** CPython's _calc_mode: (st_mode | 0200) & 0666 of the source, 0666 if it cannot be stat'ed. */
PYC_API mode_t pyc_pyc_mode_for_source(const char *source_path);

/** The same from a stat of the source already taken; NULL (the stat failed) gives 0666. */
PYC_API mode_t pyc_pyc_mode_from_stat(const struct stat *source_st);

#ifdef __cplusplus
}
#endif
#endif
