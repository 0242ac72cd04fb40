/*
 * remote_file.c - the file:// backend (remote_internal.h): a shared directory (NFS and
 * the like) holding entries in the local store's layout, <dir>/<h0>/<h1>/<64 hex>, with
 * its write rules: a temporary file in the entry's directory renamed into place, so a
 * reader sees a whole entry or none. No symlink below the directory is ever followed (a
 * symlinked level or entry is a miss; a put replaces an entry's symlink, never writes
 * through it). File system calls cannot be timed out: a hung NFS mount hangs the run.
 */
#include "remote_internal.h"
#include "remote_url_internal.h"
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct file_cfg {
	char *dir, *shown;
} file_cfg;

typedef struct file_client {
	const file_cfg *cfg;
	int rootfd;
	atomic_uint seq;
} file_client;

static void file_config_free(void *cfg)
{
	file_cfg *c = cfg;
	if (c) {
		free(c->dir);
		free(c->shown);
	}
	free(c);
}

static int file_config(const pyc_remote_url *u, void **cfg, pyc_error *err)
{
	int rc = pyc_remote_url__check_attrs(u, NULL, 0, err);
	file_cfg *c;
	*cfg = NULL;
	if (rc < 0)
		return rc;
	if (!(c = calloc(1, sizeof(*c))) || !(c->dir = strdup(u->path)) ||
	    !(c->shown = strdup(u->redacted))) {
		file_config_free(c);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	*cfg = c;
	return 0;
}

static int file_connect(const void *cfg, void **client, pyc_error *err)
{
	const file_cfg *c = cfg;
	file_client *fc = calloc(1, sizeof(*fc));
	*client = NULL;
	if (!fc)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	fc->cfg = c;
	if ((fc->rootfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;
		free(fc);
		return pyc_error_set(err, PYC_EIO, e, "cannot open the remote cache '%s'", c->shown);
	}
	*client = fc;
	return 0;
}

static void file_disconnect(void *client)
{
	file_client *fc = client;
	if (fc)
		close(fc->rootfd);
	free(fc);
}

/* Absent, or something no entry can be (a symlink, a file where a level belongs). */
static bool missing(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ELOOP || e == EXDEV;
}

/* Open entry `name` ("h0/h1/hex") for reading with no symlink followed anywhere in it:
 * one openat2(RESOLVE_NO_SYMLINKS) where the kernel has it (5.6+), else level by level.
 * O_NONBLOCK: a FIFO in an entry's place must not hang us. An fd, or -1 with errno. */
static int open_entry(int rootfd, const char *name)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct open_how how = { .flags = flags, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
	int fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	int leaf = pyc_store__open_leaf(rootfd, name, false);
	fd = leaf < 0 ? -1 : openat(leaf, name + 4, flags);
	int e = errno;
	if (leaf >= 0)
		close(leaf);
	errno = e;
	return fd;
}

static int file_get(void *client, const char *hex, pyc_buf *out, pyc_error *err)
{
	file_client *fc = client;
	char name[69];
	struct stat sb;
	snprintf(name, sizeof(name), "%c/%c/%s", hex[0], hex[1], hex);
	int fd = open_entry(fc->rootfd, name), e = errno, rc = 0;
	if (fd < 0)
		return missing(e) ? PYC_ENOTFOUND : pyc_error_set(err, PYC_EIO, e,
		                    "cannot read from the remote cache '%s'", fc->cfg->shown);
	if (fstat(fd, &sb) != 0)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot read from the remote cache '%s'",
		                   fc->cfg->shown);
	else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > STORE_ENTRY_MAX + STORE_HEADER_SIZE)
		rc = PYC_ENOTFOUND;
	else if ((rc = pyc_store__read_fd(fd, (size_t)sb.st_size, out)) == PYC_ETRUNCATED)
		rc = 0;   /* shrunk while read: what was read fails verification */
	else if (rc == PYC_EIO)
		rc = pyc_error_set(err, PYC_EIO, errno, "cannot read from the remote cache '%s'",
		                   fc->cfg->shown);
	close(fd);
	return rc;
}

static int file_put(void *client, const char *hex, const void *data, size_t len, pyc_error *err)
{
	file_client *fc = client;
	char name[69];
	int64_t old;
	snprintf(name, sizeof(name), "%c/%c/%s", hex[0], hex[1], hex);
	int leaf = pyc_store__open_leaf(fc->rootfd, name, true);
	int rc = leaf < 0 ? -1 : pyc_store__put_at(leaf, hex, data, len, &fc->seq, &old);
	int e = errno;
	if (leaf >= 0)
		close(leaf);
	return rc == 0 ? 0 : pyc_error_set(err, PYC_EIO, e, "cannot write to the remote cache '%s'",
	                                   fc->cfg->shown);
}

const pyc_remote_backend pyc_remote__file = {
	.scheme = "file",
	.config = file_config,
	.config_free = file_config_free,
	.connect = file_connect,
	.get = file_get,
	.put = file_put,
	.disconnect = file_disconnect,
};
