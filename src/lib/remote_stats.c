/*
 * remote_stats.c - per-remote counters (pyc/remote.h, pyc_remote_stats), one file per
 * remote in <store>/remote/, named by its redacted URL with every byte outside
 * [A-Za-z0-9._-] written %XX, so the name gives the URL back and never holds a password.
 * The file format and its locking are the local store's (store_stats.c).
 */
#include "remote_stats_internal.h"
#include "pyc/remote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REMOTE_DIR STORE_REMOTE_DIR
/* A longer escaped URL is cut at a whole escape: its counters are still kept, under
 * the shortened URL. */
#define NAME_MAX_LEN 240

static void escape(const char *url, char out[NAME_MAX_LEN + 1])
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') || strchr("._-", *p);
		if (o + (plain ? 1 : 3) > NAME_MAX_LEN)
			break;
		if (plain)
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, 4, "%%%02X", *p);
	}
	out[o] = '\0';
	/* "." and ".." cannot be a URL's escape: a URL has "://" */
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The URL of a counter file name; NULL (errno set) for a name escape() cannot make. */
static char *unescape(const char *name)
{
	char *out = malloc(strlen(name) + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = name; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*o = '\0';
	return out;
}

int pyc_remote_stats__add(const char *dir, const char *url, const store_counters *d)
{
	char name[NAME_MAX_LEN + 1];
	int rootfd = pyc_store__open_root(dir, true);
	if (rootfd < 0)
		return -1;
	int rc = mkdirat(rootfd, REMOTE_DIR, 0777) != 0 && errno != EEXIST ? -1 : 0;
	int fd = rc == 0 ? openat(rootfd, REMOTE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	escape(url, name);
	if (fd >= 0)
		rc = pyc_store__counters_update_at(fd, name, d, false, NULL);
	int e = errno;
	if (fd >= 0)
		close(fd);
	close(rootfd);
	errno = e;
	return fd < 0 ? -1 : rc;
}

static uint64_t pos(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

/* One counter file into c (url set); 1 taken, 0 not a counter file, -1 failed. */
static int read_one(int fd, const char *name, pyc_remote_counts *c)
{
	store_counters s;
	struct stat sb;
	if (name[0] == '.' || fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	if (pyc_store__counters_read_at(fd, name, &s) != 0)
		return -1;
	if (!(c->url = unescape(name)))
		return errno == ENOMEM ? -1 : 0;
	c->hits = pos(s.hits);
	c->misses = pos(s.misses);
	c->stores = pos(s.stores);
	c->errors = pos(s.errors);
	c->bytes_read = pos(s.bytes_read);
	c->bytes_written = pos(s.bytes_written);
	c->seconds = (double)pos(s.time_us) / 1e6;
	return 1;
}

static int by_url(const void *a, const void *b)
{
	return strcmp(((const pyc_remote_counts *)a)->url, ((const pyc_remote_counts *)b)->url);
}

/* Every counter file of the open directory fd (consumed) into *out. */
static int read_all(int fd, pyc_remote_counts **out, size_t *n, const char *path, pyc_error *err)
{
	DIR *d = fdopendir(fd);
	size_t cap = 0;
	int rc = 0;
	if (!d) {
		close(fd);
		return pyc_error_set(err, PYC_EIO, errno, "cannot read '%s'", path);
	}
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		if (*n == cap) {
			pyc_remote_counts *p = realloc(*out, (cap = cap ? 2 * cap : 8) * sizeof(*p));
			if (!p) {
				rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
				break;
			}
			*out = p;
		}
		memset(&(*out)[*n], 0, sizeof(**out));
		int got = read_one(dirfd(d), de->d_name, &(*out)[*n]);
		if (got < 0)
			rc = pyc_error_set(err, errno == ENOMEM ? PYC_ENOMEM : PYC_EIO, errno,
			                   "cannot read '%s/%s'", path, de->d_name);
		*n += got > 0;
	}
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), by_url);
	return rc;
}

int pyc_remote_stats(const char *dir, pyc_remote_counts **out, size_t *n, pyc_error *err)
{
	pyc_buf path = PYC_BUF_INIT;
	int rc = pyc_store_dir(&path, dir);
	*out = NULL;
	*n = 0;
	if (rc < 0)
		return pyc_error_set(err, rc, 0, rc == PYC_ENOMEM ? "out of memory" :
		                     "no cache directory: set PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME or HOME");
	if (pyc_buf_puts(&path, "/" REMOTE_DIR) < 0) {
		pyc_buf_dispose(&path);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	int fd = open(path.ptr, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", path.ptr);
	else if (fd >= 0)
		rc = read_all(fd, out, n, path.ptr, err);
	if (rc < 0) {
		pyc_remote_counts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	pyc_buf_dispose(&path);
	return rc;
}

void pyc_remote_counts_free(pyc_remote_counts *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].url);
	free(c);
}
