/*
 * The local store: see include/pyc/store.h and docs/cache.md. This file opens the store,
 * gets and puts entries and keeps the counters in memory until they are flushed to the
 * per-directory files (store_stats.c), which is also when a directory over its share of the
 * limit is cleaned (store_clean.c).
 */
#include "store_internal.h"
#include "atomic_file_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A hit refreshes the mtime only when it is older than this: LRU order at a coarse grain
 * for one write per entry per interval instead of one per hit. */
#define TOUCH_AFTER_SEC 600
/* Flush a directory's counters after this many updates (and at pyc_store_free): often
 * enough for the size check, rarely enough to cost nothing next to the puts. */
#define FLUSH_EVERY 32
/* Clean a directory down to this fraction of its share, so the next cleanup is not the next
 * put (ccache's limit_multiple). */
#define CLEAN_TO 0.8

struct pyc_store {
	char *path;
	int rootfd;
	uint64_t max_size;
	int level;              /* zstd level of the entries written; 0: none */
	atomic_bool degraded;
	/* The 256 leaf directories, opened (and made) by the first put into each and kept
	 * for the handle's life: a put is then a temporary file and a rename, not two
	 * mkdirat, two opens and two closes. -1: not open yet. */
	atomic_int leaf[STORE_FANOUT * STORE_FANOUT];
	int *retired;           /* kept leaves that went away, closed with the handle (lock) */
	size_t nretired;
	atomic_uint tmp_seq;
	pthread_mutex_t lock;   /* guards pending, updates and cleaning */
	store_counters pending[STORE_FANOUT];
	unsigned updates[STORE_FANOUT];
	bool cleaning[STORE_FANOUT];
};

int pyc_store_dir(pyc_buf *out, const char *dir)
{
	const char *env = getenv("PYC_TOOL_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int rc;

	pyc_buf_clear(out);
	if (dir && *dir)
		rc = pyc_buf_puts(out, dir);
	else if (env && *env)
		rc = pyc_buf_puts(out, env);
	else if (xdg && xdg[0] == '/')   /* XDG: a relative value is invalid, ignored */
		rc = pyc_buf_printf(out, "%s/pyc-tool", xdg);
	else if (home && *home)
		rc = pyc_buf_printf(out, "%s/.cache/pyc-tool", home);
	else
		return PYC_ENOTFOUND;
	return rc < 0 ? PYC_ENOMEM : 0;
}

int pyc_store__open_root(const char *dir, bool create)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		/* make_parent_dirs makes the directories of a path's parent: give it one below. */
		pyc_buf child = PYC_BUF_INIT;
		if (pyc_buf_printf(&child, "%s/x", dir) == 0 &&
		    pyc_atomic_file__make_parent_dirs(child.ptr, NULL) == 0)
			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else if (errno == 0)
			errno = ENOMEM;
		pyc_buf_dispose(&child);
	}
	return fd;
}

int pyc_store_open(pyc_store **out, const char *dir, const pyc_store_opts *o, pyc_error *err)
{
	pyc_buf path = PYC_BUF_INIT;
	pyc_store *st = NULL;
	int rc = pyc_store_dir(&path, dir);

	*out = NULL;
	if (rc < 0)
		return pyc_error_set(err, rc, 0, rc == PYC_ENOMEM ? "out of memory" :
		                     "no cache directory: set PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME or HOME");
	errno = 0;
	int fd = pyc_store__open_root(path.ptr, true);
	if (fd < 0) {
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot open the cache '%s'", path.ptr);
		pyc_buf_dispose(&path);
		return rc;
	}
	if (!(st = calloc(1, sizeof(*st)))) {
		close(fd);
		pyc_buf_dispose(&path);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	st->path = pyc_buf_detach(&path);
	st->rootfd = fd;
	st->max_size = o && o->max_size ? o->max_size : PYC_STORE_DEFAULT_MAX_SIZE;
	st->level = o ? o->compress_level : 0;
	for (size_t i = 0; i < STORE_FANOUT * STORE_FANOUT; i++)
		atomic_init(&st->leaf[i], -1);
	pthread_mutex_init(&st->lock, NULL);
	*out = st;
	return 0;
}

const char *pyc_store_path(const pyc_store *st)
{
	return st->path;
}

bool pyc_store_degraded(const pyc_store *st)
{
	return atomic_load(&((pyc_store *)st)->degraded);
}

/* Write directory top's pending counters; the caller holds st->lock. The totals after the
 * update tell whether the directory is over its share of the limit. */
static bool flush_locked(pyc_store *st, unsigned top)
{
	store_counters now;
	bool over = false;

	if (st->updates[top] == 0)
		return false;
	if (pyc_store__counters_update(st->rootfd, top, &st->pending[top], false, &now) == 0)
		over = now.bytes > 0 && (uint64_t)now.bytes > st->max_size / STORE_FANOUT;
	/* Not written (read-only store): the counts are dropped rather than retried forever. */
	memset(&st->pending[top], 0, sizeof(st->pending[top]));
	st->updates[top] = 0;
	return over;
}

static void clean_if_over(pyc_store *st, unsigned top, bool over)
{
	pyc_store_result res;

	if (!over || st->cleaning[top])
		return;
	st->cleaning[top] = true;
	pthread_mutex_unlock(&st->lock);
	pyc_store__clean_dir(st->rootfd, top,
	                     (uint64_t)((double)(st->max_size / STORE_FANOUT) * CLEAN_TO), &res);
	pthread_mutex_lock(&st->lock);
	st->cleaning[top] = false;
}

/* Add to the counters of the key's directory; flush (and clean) every FLUSH_EVERY. */
static void count(pyc_store *st, const pyc_store_key *key, const store_counters *d)
{
	unsigned top = key->bytes[0] >> 4;

	pthread_mutex_lock(&st->lock);
	store_counters *p = &st->pending[top];
	p->hits += d->hits;
	p->misses += d->misses;
	p->stores += d->stores;
	p->errors += d->errors;
	p->entries += d->entries;
	p->bytes += d->bytes;
	p->saved_us += d->saved_us;
	if (++st->updates[top] >= FLUSH_EVERY)
		clean_if_over(st, top, flush_locked(st, top));
	pthread_mutex_unlock(&st->lock);
}

void pyc_store_free(pyc_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	for (unsigned top = 0; top < STORE_FANOUT; top++)
		clean_if_over(st, top, flush_locked(st, top));
	pthread_mutex_unlock(&st->lock);
	pthread_mutex_destroy(&st->lock);
	for (size_t i = 0; i < STORE_FANOUT * STORE_FANOUT; i++)
		if (atomic_load(&st->leaf[i]) >= 0)
			close(atomic_load(&st->leaf[i]));
	for (size_t i = 0; i < st->nretired; i++)
		close(st->retired[i]);
	free(st->retired);
	close(st->rootfd);
	free(st->path);
	free(st);
}

int pyc_store__read_fd(int fd, size_t size, pyc_buf *out)
{
	pyc_buf_clear(out);
	if (pyc_buf_grow(out, size) < 0)
		return PYC_ENOMEM;
	while (out->len < size) {
		ssize_t n = read(fd, out->ptr + out->len, size - out->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? PYC_ETRUNCATED : PYC_EIO;
		out->len += (size_t)n;
	}
	return 0;
}

/* Open, check and unpack key's entry. 0 hit; PYC_ENOTFOUND absent; PYC_EINVAL/PYC_EIO a bad
 * entry (err says why); PYC_ENOMEM. */
static int load(pyc_store *st, const pyc_store_key *key, const char *name, pyc_buf *value,
                double *seconds, pyc_error *err)
{
	pyc_buf data = PYC_BUF_INIT;
	struct stat sb;
	int rc;
	/* O_NOFOLLOW: a symlink in the entry's place is a bad entry, never read through;
	 * O_NONBLOCK: a FIFO there must not hang us. */
	int fd = openat(st->rootfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? PYC_ENOTFOUND :
		       pyc_error_set(err, PYC_EIO, errno, "cannot open '%s/%s'", st->path, name);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		rc = pyc_error_set(err, PYC_EINVAL, 0, "'%s/%s' is not a regular file", st->path, name);
	else if ((uint64_t)sb.st_size > STORE_ENTRY_MAX + STORE_HEADER_SIZE)
		rc = pyc_error_set(err, PYC_EINVAL, 0, "'%s/%s' is too large", st->path, name);
	else if ((rc = pyc_store__read_fd(fd, (size_t)sb.st_size, &data)) < 0 && rc != PYC_ENOMEM)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot read '%s/%s'", st->path, name);
	if (rc == 0)
		rc = pyc_store__decode((const uint8_t *)data.ptr, data.len, key, value, seconds, err);
	if (rc == 0 && time(NULL) - sb.st_mtime > TOUCH_AFTER_SEC)
		futimens(fd, NULL);   /* LRU: best effort; a read-only store just ages */
	close(fd);
	pyc_buf_dispose(&data);
	return rc;
}

int pyc_store_get(pyc_store *st, const pyc_store_key *key, pyc_buf *value, pyc_error *err)
{
	store_counters d = { 0 };
	char name[69];
	double seconds = 0;

	pyc_store__entry_path(key, name);
	int rc = load(st, key, name, value, &seconds, err);
	if (rc == PYC_ENOMEM)
		return rc;
	if (rc == 0) {
		d.hits = 1;
		d.saved_us = (int64_t)(seconds * 1e6);
	} else {
		d.misses = 1;
		d.errors = rc != PYC_ENOTFOUND;
		pyc_buf_clear(value);
	}
	count(st, key, &d);
	return rc == 0 ? 0 : PYC_ENOTFOUND;
}

/* Open one directory level below parent (making it with create), never through a
 * symlink. Opened first: it exists on every put but the first few hundred. */
static int open_level(int parent, const char *name, bool create)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(parent, name, flags);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(parent, name, 0777) != 0 && errno != EEXIST)
		return -1;
	return openat(parent, name, flags);
}

int pyc_store__open_leaf(int rootfd, const char *name, bool create)
{
	char level[2] = { name[0], '\0' };
	int top = open_level(rootfd, level, create);

	if (top < 0)
		return -1;
	level[0] = name[2];
	int leaf = open_level(top, level, create);
	int e = errno;
	close(top);
	errno = e;
	return leaf;
}

/* Write data[0..len) to a new temporary file in leaf; its name into tmp. 0 or -1 with
 * errno set (nothing left behind). */
static int write_temp(int leaf, const char *base, const void *data, size_t len,
                      atomic_uint *seq, char tmp[112])
{
	int fd = -1;

	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		snprintf(tmp, 112, "%s.%ld.%u.tmp", base, (long)getpid(), atomic_fetch_add(seq, 1));
		fd = openat(leaf, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	int rc = pyc_atomic_file__write_all(fd, data, len);
	int e = errno;
	if (close(fd) != 0 && rc == 0)
		rc = -1, e = errno;
	if (rc != 0)
		unlinkat(leaf, tmp, 0);
	errno = e;
	return rc;
}

/* Move tmp into the entry's place base. RENAME_NOREPLACE first, so that of several
 * processes putting one key at once exactly one counts a new entry. */
static int install(int leaf, const char *tmp, const char *base, int64_t *old)
{
	struct stat sb;

	*old = -1;
	if (renameat2(leaf, tmp, leaf, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST && errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(leaf, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(sb.st_mode))
			*old = (int64_t)sb.st_size;
		else if (S_ISDIR(sb.st_mode))   /* a directory in an entry's place: replaced */
			pyc_store__remove_at(leaf, base);
	}
	return renameat(leaf, tmp, leaf, base);
}

/* The leaf directory of entry `name` ("h/h/..."), kept open in st->leaf[slot]; a thread
 * that loses the race to open it closes its own fd and takes the winner's. */
static int leaf_fd(pyc_store *st, const char *name, unsigned slot)
{
	int fd = atomic_load(&st->leaf[slot]), none = -1;

	if (fd >= 0)
		return fd;
	if ((fd = pyc_store__open_leaf(st->rootfd, name, true)) < 0)
		return -1;
	if (!atomic_compare_exchange_strong(&st->leaf[slot], &none, fd)) {
		close(fd);
		fd = none;
	}
	return fd;
}

/* Forget a kept leaf directory that went away (a `cache clear` by another process): the
 * next put opens (makes) it again. The descriptor stays open until the handle closes:
 * another thread may be putting through it right now, and a closed number can come back
 * from any open in the process, which would make that put write into another directory. */
static void leaf_forget(pyc_store *st, unsigned slot, int fd)
{
	if (!atomic_compare_exchange_strong(&st->leaf[slot], &fd, -1))
		return;
	pthread_mutex_lock(&st->lock);
	int *grown = realloc(st->retired, (st->nretired + 1) * sizeof(*grown));
	if (grown) {            /* else it stays open until exit: never closed under a put */
		st->retired = grown;
		st->retired[st->nretired++] = fd;
	}
	pthread_mutex_unlock(&st->lock);
}

static int degrade(pyc_store *st, const pyc_store_key *key, const char *name, int e,
                   pyc_error *err)
{
	store_counters d = { .errors = 1 };

	atomic_store(&st->degraded, true);
	count(st, key, &d);
	return pyc_error_set(err, PYC_EIO, e, "cannot write to the cache '%s/%s'", st->path, name);
}

int pyc_store__put_at(int leaf, const char *base, const void *data, size_t len,
                      atomic_uint *seq, int64_t *old)
{
	char tmp[112];

	if (write_temp(leaf, base, data, len, seq, tmp) != 0)
		return -1;
	if (install(leaf, tmp, base, old) != 0) {
		int e = errno;
		unlinkat(leaf, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Write the entry into the leaf directory at slot: 0, or -1 with errno set. */
static int write_entry(pyc_store *st, unsigned slot, const char *name, const pyc_buf *entry,
                       int64_t *old)
{
	for (int tries = 0; tries < 2; tries++) {
		int leaf = leaf_fd(st, name, slot);
		if (leaf < 0)
			return -1;
		if (pyc_store__put_at(leaf, name + 4, entry->ptr, entry->len, &st->tmp_seq, old) == 0)
			return 0;
		/* ENOENT: the kept directory was removed since it was opened. */
		if (errno != ENOENT || tries)
			return -1;
		leaf_forget(st, slot, leaf);
	}
	return -1;
}

int pyc_store_put(pyc_store *st, const pyc_store_key *key, const void *value, size_t len,
                  double compile_seconds, pyc_error *err)
{
	pyc_buf entry = PYC_BUF_INIT;
	char name[69];
	int64_t old;
	int rc = 0;

	if (atomic_load(&st->degraded))
		return 0;
	if (len > STORE_ENTRY_MAX)
		return pyc_error_set(err, PYC_EINVAL, 0, "value too large for the cache (%zu bytes)", len);
	pyc_store__entry_path(key, name);
	if (pyc_store__encode_level(&entry, key, value, len, compile_seconds, st->level) < 0) {
		pyc_buf_dispose(&entry);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	if (write_entry(st, key->bytes[0], name, &entry, &old) != 0) {
		rc = degrade(st, key, name, errno, err);
	} else {
		store_counters d = { .stores = 1, .entries = old < 0,
		                     .bytes = (int64_t)entry.len - (old < 0 ? 0 : old) };
		count(st, key, &d);
	}
	pyc_buf_dispose(&entry);
	return rc;
}
