/*
 * store_internal.h - what the files of the store module share; not installed.
 * store.c (open, get, put), store_key.c (the key builder), store_entry.c (the entry
 * codec), store_stats.c (the per-directory counter files), store_clean.c (cleanup, prune,
 * clear). Layout and reasons: docs/cache.md.
 */
#ifndef PYC_STORE_INTERNAL_H
#define PYC_STORE_INTERNAL_H

#include "pyc/store.h"

#include <stdatomic.h>
#include <sys/types.h>

/* Top-level directories "0".."f", each with "0".."f" below it: the key's first two hex
 * digits. Cleanup works on one top-level directory, 1/16 of the store. */
#define STORE_FANOUT 16
/* The remote caches' counter files (remote_stats.c), removed by clear with the store's. */
#define STORE_REMOTE_DIR "remote"

/* The entry header: magic, version, compression, reserved, key, lengths, compile time,
 * the SHA-256 of the stored payload. Little-endian, decoded field by field. */
#define STORE_HEADER_SIZE 104
#define STORE_ENTRY_MAX (UINT64_C(1) << 30)

/* Counters of one top-level directory (or their sum). entries/bytes may go down. The
 * last three are a remote's (remote_stats.c shares the file format), zero here. */
typedef struct store_counters {
	int64_t hits, misses, stores, errors, cleanups, entries, bytes, saved_us;
	int64_t bytes_read, bytes_written, time_us;
} store_counters;

/* Entry bytes for value into *out (replacing its contents), compressed at zstd `level`
 * when that is smaller (0: never). 0 or PYC_ENOMEM. */
int pyc_store__encode_level(pyc_buf *out, const pyc_store_key *key, const void *value,
                            size_t len, double compile_seconds, int level);
/* The same at zstd level 1 (as ccache): for entries that travel (remotes). */
int pyc_store__encode(pyc_buf *out, const pyc_store_key *key, const void *value, size_t len,
                      double compile_seconds);
/* Check and unpack an entry read from the key's place: 0 (value and *seconds set),
 * PYC_EINVAL (corrupt: err says what) or PYC_ENOMEM. */
int pyc_store__decode(const uint8_t *data, size_t len, const pyc_store_key *key,
                      pyc_buf *value, double *seconds, pyc_error *err);

/* The name "<h0>/<h1>/<64 hex>" of key's entry into out[67+1]. */
void pyc_store__entry_path(const pyc_store_key *key, char out[69]);

/* Add delta to directory `top`'s counter file under its lock (made when missing); with
 * set_size, entries and bytes are set to delta's instead. The totals after the update go
 * to *now when non-NULL. 0 or -1 with errno set. */
int pyc_store__counters_update(int rootfd, unsigned top, const store_counters *delta,
                               bool set_size, store_counters *now);
/* Read directory top's counters; an absent file is all zeros. 0 or -1 with errno set. */
int pyc_store__counters_read(int rootfd, unsigned top, store_counters *out);
/* The same on any counter file `name` in dirfd (its directory must exist). */
int pyc_store__counters_update_at(int dirfd, const char *name, const store_counters *delta,
                                  bool set_size, store_counters *now);
int pyc_store__counters_read_at(int dirfd, const char *name, store_counters *out);

/* Clean top-level directory `top` of the store at rootfd down to `target` bytes, oldest
 * entries first, and remove stale temporary files; then set its counters to what is left
 * and count one cleanup. 0 or a PYC_E* code. */
int pyc_store__clean_dir(int rootfd, unsigned top, uint64_t target, pyc_store_result *res);
/* Remove whatever is at `name` in dirfd (a directory tree in an entry's place), never
 * following a symlink. 0 or -1 with errno set. */
int pyc_store__remove_at(int dirfd, const char *name);

/* Whether a name in a leaf directory is an entry ("<64 hex>") or a temporary file. */
bool pyc_store__is_entry_name(const char *name);
bool pyc_store__is_temp_name(const char *name);

/* Read exactly size bytes of fd into out: 0, PYC_ETRUNCATED (a shorter file), PYC_EIO
 * (errno set) or PYC_ENOMEM. */
int pyc_store__read_fd(int fd, size_t size, pyc_buf *out);
/* The leaf directory "<h0>/<h1>" of entry name (as pyc_store__entry_path) below rootfd,
 * each level opened with O_NOFOLLOW (made first with create): an fd or -1, errno set. */
int pyc_store__open_leaf(int rootfd, const char *name, bool create);
/* Put data[0..len) into leaf as entry base: a new temporary file "<base>.<pid>.<seq>.tmp"
 * renamed into place (a symlink there is replaced, a directory removed first). *old gets
 * the size of the regular file it replaced, -1 when it made a new entry. 0, or -1 with
 * errno set and nothing left behind. */
int pyc_store__put_at(int leaf, const char *base, const void *data, size_t len,
                      atomic_uint *seq, int64_t *old);

/* Open the store directory (no creation): an O_DIRECTORY fd, or -1 with errno set. */
int pyc_store__open_root(const char *dir, bool create);

#endif
