/*
 * The store's counters: one small text file "<top>/stats" per top-level directory, so
 * that `cache stats` reads 16 files and never scans the store, and so that processes
 * updating different directories do not contend.
 *
 * An update is read-add-rewrite under flock() of the file itself, held for a few system
 * calls. ccache takes a lock file instead; flock is released by the kernel when a process
 * dies, so there is no stale lock to detect and break. O_APPEND records summed later were
 * the other choice; they grow without bound and still need a lock to compact.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATS_MAX 4096

static const struct {
	const char *name;
	size_t off;
} fields[] = {
	{ "hits", offsetof(store_counters, hits) },
	{ "misses", offsetof(store_counters, misses) },
	{ "stores", offsetof(store_counters, stores) },
	{ "errors", offsetof(store_counters, errors) },
	{ "cleanups", offsetof(store_counters, cleanups) },
	{ "entries", offsetof(store_counters, entries) },
	{ "bytes", offsetof(store_counters, bytes) },
	{ "saved_us", offsetof(store_counters, saved_us) },
	{ "bytes_read", offsetof(store_counters, bytes_read) },
	{ "bytes_written", offsetof(store_counters, bytes_written) },
	{ "time_us", offsetof(store_counters, time_us) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int64_t *field(store_counters *c, size_t i)
{
	return (int64_t *)((char *)c + fields[i].off);
}

/* "name value\n" lines; unknown names and malformed lines are skipped (a torn write costs
 * counts, never the store). */
static void parse(const char *text, store_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (const char *p = text; *p;) {
		const char *nl = strchrnul(p, '\n'), *sp = memchr(p, ' ', (size_t)(nl - p));
		for (size_t i = 0; sp && i < NFIELDS; i++) {
			if ((size_t)(sp - p) != strlen(fields[i].name) || memcmp(p, fields[i].name, (size_t)(sp - p)))
				continue;
			char *end;
			long long v = strtoll(sp + 1, &end, 10);
			if (end == nl)
				*field(out, i) = v;
		}
		p = *nl ? nl + 1 : nl;
	}
}

static int read_fd(int fd, store_counters *out)
{
	char text[STATS_MAX + 1];
	size_t len = 0;

	while (len < STATS_MAX) {
		ssize_t n = pread(fd, text + len, STATS_MAX - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	parse(text, out);
	return 0;
}

static void stats_name(unsigned top, char path[24])
{
	snprintf(path, 24, "%x/stats", top);
}

int pyc_store__counters_read(int rootfd, unsigned top, store_counters *out)
{
	char path[24];

	stats_name(top, path);
	return pyc_store__counters_read_at(rootfd, path, out);
}

int pyc_store__counters_read_at(int dirfd, const char *name, store_counters *out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = read_fd(fd, out);
	close(fd);
	return rc;
}

static int rewrite(int fd, const store_counters *c)
{
	char text[STATS_MAX];
	int len = snprintf(text, sizeof(text), "pyc-tool-store-stats 1\n");

	for (size_t i = 0; i < NFIELDS; i++)
		len += snprintf(text + len, sizeof(text) - (size_t)len, "%s %" PRId64 "\n", fields[i].name,
		                *field((store_counters *)c, i));
	if (pwrite(fd, text, (size_t)len, 0) != len || ftruncate(fd, len) != 0)
		return -1;
	return 0;
}

int pyc_store__counters_update(int rootfd, unsigned top, const store_counters *delta,
                               bool set_size, store_counters *now)
{
	char dir[16], path[24];

	snprintf(dir, sizeof(dir), "%x", top);
	if (mkdirat(rootfd, dir, 0777) != 0 && errno != EEXIST)
		return -1;
	stats_name(top, path);
	return pyc_store__counters_update_at(rootfd, path, delta, set_size, now);
}

int pyc_store__counters_update_at(int dirfd, const char *name, const store_counters *delta,
                                  bool set_size, store_counters *now)
{
	store_counters c;
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	int rc = -1;
	while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
		;
	if (rc == 0 && (rc = read_fd(fd, &c)) == 0) {
		for (size_t i = 0; i < NFIELDS; i++)
			*field(&c, i) += *field((store_counters *)delta, i);
		if (set_size) {
			c.entries = delta->entries;
			c.bytes = delta->bytes;
		}
		rc = rewrite(fd, &c);
	}
	int e = errno;
	close(fd);   /* releases the lock */
	errno = e;
	if (rc == 0 && now)
		*now = c;
	return rc;
}

int pyc_store_stats(const char *dir, pyc_store_counts *out, pyc_error *err)
{
	pyc_buf path = PYC_BUF_INIT;
	store_counters sum = { 0 }, c;
	int rc = pyc_store_dir(&path, dir);

	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return pyc_error_set(err, rc, 0, rc == PYC_ENOMEM ? "out of memory" :
		                     "no cache directory: set PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME or HOME");
	int rootfd = pyc_store__open_root(path.ptr, false);
	if (rootfd < 0 && errno != ENOENT)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", path.ptr);
	for (unsigned top = 0; rootfd >= 0 && rc == 0 && top < STORE_FANOUT; top++) {
		if (pyc_store__counters_read(rootfd, top, &c) != 0) {
			rc = pyc_error_set(err, PYC_EIO, errno, "cannot read '%s/%x/stats'", path.ptr, top);
			break;
		}
		for (size_t i = 0; i < NFIELDS; i++)
			*field(&sum, i) += *field(&c, i);
	}
	if (rootfd >= 0)
		close(rootfd);
	out->hits = sum.hits > 0 ? (uint64_t)sum.hits : 0;
	out->misses = sum.misses > 0 ? (uint64_t)sum.misses : 0;
	out->stores = sum.stores > 0 ? (uint64_t)sum.stores : 0;
	out->errors = sum.errors > 0 ? (uint64_t)sum.errors : 0;
	out->cleanups = sum.cleanups > 0 ? (uint64_t)sum.cleanups : 0;
	out->entries = sum.entries > 0 ? (uint64_t)sum.entries : 0;
	out->bytes = sum.bytes > 0 ? (uint64_t)sum.bytes : 0;
	out->seconds_saved = sum.saved_us > 0 ? (double)sum.saved_us / 1e6 : 0;
	pyc_buf_dispose(&path);
	return rc;
}
