/*
 * pyc/writer.h - write a .pyc the way py_compile does: never a partial file visible.
 *
 * Header + body go to a temporary file in the target directory (O_EXCL, the mode CPython
 * gives it: (source mode | 0200) & 0666, minus the umask), then rename() over the target.
 * A target that is a symlink or an existing non-regular file is refused, as py_compile
 * refuses it (FileExistsError). Missing parent directories are created (0777 & ~umask).
 * On any failure the temporary file is removed and the old .pyc is left intact.
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
 * Write header[0..hlen) + body[0..blen) to `path` atomically with mode `mode` (before
 * umask). Returns 0, PYC_EEXISTS (symlink / non-regular target) or PYC_EIO (err names
 * the path and the reason, e.g. ENOSPC).
 */
PYC_API int pyc_write_pyc(const char *path, const uint8_t *header, size_t hlen,
                          const uint8_t *body, size_t blen, mode_t mode, pyc_error *err);

/**
 * Replace `path` by a hard link to `existing` (compileall --hardlink-dupes), atomically:
 * a link under a temporary name in the same directory, then rename(). The target is
 * refused as pyc_write_pyc refuses it. Returns 0, PYC_EEXISTS, PYC_EIO or PYC_ENOMEM.
 */
PYC_API int pyc_link_pyc(const char *existing, const char *path, pyc_error *err);

/** CPython's _calc_mode: (st_mode | 0200) & 0666 of the source, 0666 if it cannot be stat'ed. */
PYC_API mode_t pyc_pyc_mode_for_source(const char *source_path);

/** The same from a stat of the source already taken; NULL (the stat failed) gives 0666. */
PYC_API mode_t pyc_pyc_mode_from_stat(const struct stat *source_st);

#ifdef __cplusplus
}
#endif
#endif
