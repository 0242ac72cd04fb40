/*
 * Keeping the store within its limit: the automatic cleanup of one top-level directory
 * after a put took it over its 1/16 share (so no run scans the whole store, as in ccache),
 * and the whole-store `prune` and `clear`. Entries are ordered by mtime, which a hit
 * refreshes (approximate LRU). Every removal opens the directories on the way with
 * O_NOFOLLOW: a symlink planted in the store is never followed into a deletion.
 */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A temporary file older than this belongs to a writer that died. */
#define STALE_TEMP_SEC 3600
#define REMOVE_DEPTH_MAX 32

typedef struct item {
	int64_t mtime_ns;
	uint64_t size;
	pyc_store_key key;
} item;

typedef struct items {
	item *v;
	size_t n, cap;
} items;

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool pyc_store__is_entry_name(const char *name)
{
	size_t i = 0;

	while (i < 64 && hexval(name[i]) >= 0)
		i++;
	return i == 64 && name[64] == '\0';
}

bool pyc_store__is_temp_name(const char *name)
{
	size_t len = strlen(name);

	return len > 68 && strspn(name, "0123456789abcdef") == 64 && name[64] == '.' &&
	       strcmp(name + len - 4, ".tmp") == 0;
}

static int remove_tree(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth > REMOVE_DEPTH_MAX)
		return -1;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			remove_tree(fd, e->d_name, depth + 1);
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

int pyc_store__remove_at(int dirfd, const char *name)
{
	return remove_tree(dirfd, name, 0);
}

static int open_sub(int parent, const char *name)
{
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int push(items *list, const struct stat *sb, const char *hex)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 256;
		item *grown = realloc(list->v, cap * sizeof(*grown));
		if (!grown)
			return PYC_ENOMEM;
		list->v = grown;
		list->cap = cap;
	}
	item *it = &list->v[list->n++];
	it->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	it->size = (uint64_t)sb->st_size;
	for (size_t i = 0; i < 32; i++)
		it->key.bytes[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return 0;
}

/* Collect the entries of one leaf directory; remove stale temporary files there. */
static int scan_leaf(int leaf, items *list, bool remove_all, pyc_store_result *res)
{
	DIR *d = fdopendir(leaf);
	struct dirent *e;
	struct stat sb;
	time_t now = time(NULL);
	int rc = 0;

	if (!d) {
		close(leaf);
		return 0;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		bool entry = pyc_store__is_entry_name(e->d_name);
		if ((!entry && !pyc_store__is_temp_name(e->d_name)) ||
		    fstatat(leaf, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (remove_all || (!entry && now - sb.st_mtime > STALE_TEMP_SEC)) {
			if (pyc_store__remove_at(leaf, e->d_name) == 0 && entry && S_ISREG(sb.st_mode)) {
				res->removed_entries++;
				res->removed_bytes += (uint64_t)sb.st_size;
			}
		} else if (entry && S_ISREG(sb.st_mode)) {
			rc = push(list, &sb, e->d_name);
		}
	}
	closedir(d);
	return rc;
}

/* Scan top-level directory `top` (and, with remove_all, empty it). */
static int scan_top(int rootfd, unsigned top, items *list, bool remove_all, pyc_store_result *res)
{
	char name[16];
	int rc = 0;

	snprintf(name, sizeof(name), "%x", top);
	int tfd = open_sub(rootfd, name);
	/* A symlink or a file in its place is not the store's: neither followed nor removed. */
	if (tfd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : PYC_EIO;
	for (unsigned sub = 0; rc == 0 && sub < STORE_FANOUT; sub++) {
		char leaf[16];
		snprintf(leaf, sizeof(leaf), "%x", sub);
		int lfd = open_sub(tfd, leaf);
		if (lfd >= 0)
			rc = scan_leaf(lfd, list, remove_all, res);
		if (remove_all)
			unlinkat(tfd, leaf, AT_REMOVEDIR);   /* only when empty: nothing foreign goes */
	}
	if (remove_all) {
		unlinkat(tfd, "stats", 0);
		unlinkat(rootfd, name, AT_REMOVEDIR);
	}
	close(tfd);
	return rc;
}

static int by_age(const void *a, const void *b)
{
	const item *x = a, *y = b;
	return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

static void unlink_entry(int rootfd, const pyc_store_key *key)
{
	char name[69];

	pyc_store__entry_path(key, name);
	name[1] = name[3] = '\0';
	int tfd = open_sub(rootfd, name);
	int lfd = tfd >= 0 ? open_sub(tfd, name + 2) : -1;
	if (lfd >= 0)
		unlinkat(lfd, name + 4, 0);
	if (lfd >= 0)
		close(lfd);
	if (tfd >= 0)
		close(tfd);
}

/* Remove the oldest items until at most target bytes remain; sizes left per top. */
static void evict(int rootfd, items *list, uint64_t target, pyc_store_result *res,
                  store_counters left[STORE_FANOUT])
{
	uint64_t total = 0;

	qsort(list->v, list->n, sizeof(item), by_age);
	for (size_t i = 0; i < list->n; i++)
		total += list->v[i].size;
	for (size_t i = 0; i < list->n; i++) {
		item *it = &list->v[i];
		if (total > target) {
			unlink_entry(rootfd, &it->key);
			total -= it->size;
			res->removed_entries++;
			res->removed_bytes += it->size;
			left[it->key.bytes[0] >> 4].cleanups = 1;
			continue;
		}
		left[it->key.bytes[0] >> 4].entries++;
		left[it->key.bytes[0] >> 4].bytes += (int64_t)it->size;
		res->entries++;
		res->bytes += it->size;
	}
}

/* Scan tops [first, last), evict down to target, set their counters. */
static int clean_range(int rootfd, unsigned first, unsigned last, uint64_t target,
                       bool count_cleanup, pyc_store_result *res)
{
	items list = { 0 };
	store_counters left[STORE_FANOUT] = { 0 };
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (unsigned top = first; rc == 0 && top < last; top++)
		rc = scan_top(rootfd, top, &list, false, res);
	if (rc == 0) {
		evict(rootfd, &list, target, res, left);
		for (unsigned top = first; top < last; top++) {
			char name[16];
			snprintf(name, sizeof(name), "%x", top);
			if (count_cleanup)
				left[top].cleanups = 1;
			/* A directory never made stays unmade (prune of an empty store adds nothing). */
			if (faccessat(rootfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				pyc_store__counters_update(rootfd, top, &left[top], true, NULL);
		}
	}
	free(list.v);
	return rc;
}

int pyc_store__clean_dir(int rootfd, unsigned top, uint64_t target, pyc_store_result *res)
{
	return clean_range(rootfd, top, top + 1, target, true, res);
}

/* Open the store of dir for prune/clear: 0 and *fd, or an error (no store is no error:
 * *fd = -1). */
static int open_existing(const char *dir, int *fd, pyc_buf *path, pyc_error *err)
{
	int rc = pyc_store_dir(path, dir);

	*fd = -1;
	if (rc < 0)
		return pyc_error_set(err, rc, 0, rc == PYC_ENOMEM ? "out of memory" :
		                     "no cache directory: set PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME or HOME");
	*fd = pyc_store__open_root(path->ptr, false);
	if (*fd < 0 && errno != ENOENT)
		return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", path->ptr);
	return 0;
}

int pyc_store_prune(const char *dir, uint64_t max_size, pyc_store_result *out, pyc_error *err)
{
	pyc_buf path = PYC_BUF_INIT;
	int fd, rc = open_existing(dir, &fd, &path, err);

	memset(out, 0, sizeof(*out));
	if (rc == 0 && fd >= 0) {
		rc = clean_range(fd, 0, STORE_FANOUT, max_size ? max_size : PYC_STORE_DEFAULT_MAX_SIZE,
		                 false, out);
		if (rc == PYC_EIO)
			rc = pyc_error_set(err, rc, errno, "cannot scan '%s'", path.ptr);
		else if (rc < 0)
			rc = pyc_error_set(err, rc, 0, "out of memory");
	}
	if (fd >= 0)
		close(fd);
	pyc_buf_dispose(&path);
	return rc;
}

int pyc_store_clear(const char *dir, pyc_store_result *out, pyc_error *err)
{
	pyc_buf path = PYC_BUF_INIT;
	items none = { 0 };
	int fd, rc = open_existing(dir, &fd, &path, err);

	memset(out, 0, sizeof(*out));
	for (unsigned top = 0; rc == 0 && fd >= 0 && top < STORE_FANOUT; top++)
		if (scan_top(fd, top, &none, true, out) < 0)
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot clear '%s/%x'", path.ptr, top);
	if (rc == 0 && fd >= 0 && pyc_store__remove_at(fd, STORE_REMOTE_DIR) != 0 && errno != ENOENT)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot clear '%s/%s'", path.ptr, STORE_REMOTE_DIR);
	if (fd >= 0)
		close(fd);
	free(none.v);
	pyc_buf_dispose(&path);
	return rc;
}
