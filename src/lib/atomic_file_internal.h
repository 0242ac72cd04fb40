/*
 * atomic_file_internal.h (internal) - replace a file so that readers see the old or the new
 * contents, never a mix: used by the .gitignore patcher and the hook installer. The pyc
 * writer (writer.c) shares write_all() and make_parent_dirs() (as does the compile failure
 * cache) but keeps py_compile's own recipe (O_EXCL temp with the final mode, no fsync).
 */
#ifndef PYC_ATOMIC_FILE_INTERNAL_H
#define PYC_ATOMIC_FILE_INTERNAL_H

#include "pyc/common.h"

#include <sys/stat.h>

/* Write all n bytes, retrying short writes and EINTR. Returns 0, or -1 with errno set. */
int pyc_atomic_file__write_all(int fd, const void *data, size_t n);
/* Write a then b whole, in one writev when the kernel takes it all (a pyc's header and
 * body: one system call per file instead of two). 0 or -1 with errno set. */
int pyc_atomic_file__write_two(int fd, const void *a, size_t alen, const void *b, size_t blen);

/*
 * mkdir -p of the directory part of `path` (0777 before the umask), the way py_compile's
 * os.makedirs does it. Returns 0, PYC_ENOMEM or PYC_EIO (err names the directory that
 * could not be made; a file in the way is ENOTDIR).
 */
int pyc_atomic_file__make_parent_dirs(const char *path, pyc_error *err);

/*
 * Replace `target` by data[0..len): a mkostemp() file "<target>.pyc-tool.XXXXXX" in the
 * same directory, fchmod(mode) (mkstemp creates 0600), fchown to keep_owner's uid/gid
 * when keep_owner is non-NULL (EPERM is not an error), fsync, rename over target. `shown`
 * names the file in messages. The temporary file is removed on any failure.
 * Returns 0, PYC_ENOMEM or PYC_EIO.
 */
int pyc_atomic_file__replace(const char *target, const char *shown, const void *data, size_t len,
                     mode_t mode, const struct stat *keep_owner, pyc_error *err);

#endif
