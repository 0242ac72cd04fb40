/*
 * The compiler identity for the store key (pyc_interp_identity in pyc/interp.h): the build
 * records the probe reports beyond the magic, and content fingerprints of the executable
 * and libpython, remembered like ccache's compiler_check=content so a warm run hashes
 * nothing. The memo files "fp-<dev>-<ino>" live in the probe cache directory.
 */
#include "pyc/interp.h"
#include "pyc/writer.h"
#include "interp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define IDENTITY_FORMAT "1"
#define MEMO_FORMAT "1"
#define MEMO_MAX 4096

static char *dup_value(const pyc_rec *rec, bool *bad)
{
	char *s;

	if (!rec->value)
		return NULL;
	if (memchr(rec->value, '\0', rec->len) || !(s = strndup(rec->value, rec->len)))
		*bad = true;
	return *bad ? NULL : s;
}

bool pyc_interp__build_record(pyc_interp *out, const pyc_rec *rec)
{
	bool bad = false;

	if (pyc_interp__rec_is(rec, "sysversion"))
		return (out->sys_version = dup_value(rec, &bad)) != NULL;
	if (pyc_interp__rec_is(rec, "abiflags"))
		return (out->abiflags = dup_value(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "realexe"))
		return (out->real_executable = dup_value(rec, &bad)) != NULL;
	if (pyc_interp__rec_is(rec, "libpython"))
		return (out->libpython = dup_value(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "gil_disabled")) {
		out->gil_disabled = rec->value && rec->len == 1 && rec->value[0] == '1';
		return rec->value && rec->len == 1;
	}
	return true;   /* unknown names are skipped */
}

void pyc_interp__build_dispose(pyc_interp *interp)
{
	free(interp->sys_version);
	free(interp->abiflags);
	free(interp->real_executable);
	free(interp->libpython);
}

/* What must be unchanged for a remembered hash to hold. ctime too: a rewrite that restores
 * the mtime (cp -p, tar, rsync -t) keeps device, inode, size and mtime. */
static int stat_line(pyc_buf *b, const struct stat *sb)
{
	return pyc_buf_printf(b, "%jd:%jd.%09ld:%jd.%09ld", (intmax_t)sb->st_size,
	                      (intmax_t)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec,
	                      (intmax_t)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
}

static int memo_path(pyc_buf *out, const struct stat *sb)
{
	if (!pyc_interp_cache_enabled() || pyc_interp_cache_dir(out) != 0)
		return -1;
	return pyc_buf_printf(out, "/fp-%jx-%jx", (uintmax_t)sb->st_dev, (uintmax_t)sb->st_ino);
}

/* The remembered hash when the memo holds for this stat line. */
static bool memo_read(const char *memo, const pyc_buf *line, uint8_t out[32])
{
	char data[MEMO_MAX];
	ssize_t n = -1;
	int fd = open(memo, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	pyc_rec rec;

	if (fd >= 0) {
		n = read(fd, data, sizeof(data));
		close(fd);
	}
	if (n <= 0)
		return false;
	pyc_rec_reader r = { data, (size_t)n, 0 };
	if (pyc_interp__rec_next(&r, &rec) != 1 || !pyc_interp__rec_is(&rec, "pyc-tool-fingerprint") ||
	    !rec.value || rec.len != 1 || rec.value[0] != MEMO_FORMAT[0])
		return false;
	if (pyc_interp__rec_next(&r, &rec) != 1 || !pyc_interp__rec_is(&rec, "stat") || !rec.value ||
	    rec.len != line->len || memcmp(rec.value, line->ptr, line->len) != 0)
		return false;
	if (pyc_interp__rec_next(&r, &rec) != 1 || !pyc_interp__rec_is(&rec, "sha256") ||
	    !rec.value || rec.len != 32)
		return false;
	memcpy(out, rec.value, 32);
	return true;
}

static void memo_write(const char *memo, const pyc_buf *line, const uint8_t sum[32])
{
	pyc_buf b = PYC_BUF_INIT;
	int rc = pyc_interp__rec_put(&b, "pyc-tool-fingerprint", MEMO_FORMAT, 1);

	rc = rc ? rc : pyc_interp__rec_put(&b, "stat", line->ptr, line->len);
	rc = rc ? rc : pyc_interp__rec_put(&b, "sha256", sum, 32);
	if (rc == 0)   /* best effort: without it the next run hashes again */
		pyc_write_pyc(memo, NULL, 0, (const uint8_t *)b.ptr, b.len, 0666, NULL);
	pyc_buf_dispose(&b);
}

static int hash_fd(int fd, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char chunk[1 << 16];
	unsigned int n = 0;
	int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : PYC_ENOMEM;

	while (rc == 0) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? PYC_EIO : 0;
			break;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)got) != 1)
			rc = PYC_ENOMEM;
	}
	if (rc == 0 && (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32))
		rc = PYC_ENOMEM;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int pyc_interp__file_sha256(const char *path, uint8_t out[32], bool *hashed, pyc_error *err)
{
	pyc_buf line = PYC_BUF_INIT, memo = PYC_BUF_INIT;
	struct stat before, after;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	*hashed = false;
	if (fd < 0 || fstat(fd, &before) != 0) {
		rc = pyc_error_set(err, PYC_EINTERP, errno, "cannot read '%s'", path);
		goto done;
	}
	if (stat_line(&line, &before) < 0) {
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	bool memo_ok = memo_path(&memo, &before) == 0;
	if (memo_ok && memo_read(memo.ptr, &line, out))
		goto done;
	*hashed = true;
	rc = hash_fd(fd, out);
	if (rc < 0) {
		rc = pyc_error_set(err, rc == PYC_EIO ? PYC_EINTERP : rc, rc == PYC_EIO ? errno : 0,
		                   "cannot read '%s'", path);
		goto done;
	}
	/* Changed while we read it: use the hash now, remember nothing. */
	if (memo_ok && fstat(fd, &after) == 0 && same_file_state(&before, &after))
		memo_write(memo.ptr, &line, out);
done:
	if (fd >= 0)
		close(fd);
	pyc_buf_dispose(&line);
	pyc_buf_dispose(&memo);
	return rc;
}

static int put_str(pyc_buf *b, const char *name, const char *value)
{
	return pyc_interp__rec_put(b, name, value, value ? strlen(value) : 0);
}

static int put_fingerprint(pyc_buf *b, const char *name, const char *path, pyc_error *err)
{
	uint8_t sum[32];
	bool hashed;

	if (!path)
		return pyc_interp__rec_put(b, name, NULL, 0);
	int rc = pyc_interp__file_sha256(path, sum, &hashed, err);
	return rc < 0 ? rc : pyc_interp__rec_put(b, name, sum, sizeof(sum));
}

int pyc_interp_identity(const pyc_interp *in, pyc_buf *out, pyc_error *err)
{
	uint8_t magic[2] = { (uint8_t)(in->magic & 0xff), (uint8_t)(in->magic >> 8) };
	char gil[2] = { in->gil_disabled ? '1' : '0', '\0' };
	int rc = 0;

	pyc_buf_clear(out);
	if (!in->real_executable || !*in->real_executable || !in->sys_version)
		return pyc_error_set(err, PYC_EINTERP, 0,
		                     "'%s' does not say which executable it is", in->exe);
	rc |= put_str(out, "pyc-tool-identity", IDENTITY_FORMAT);
	rc |= pyc_interp__rec_put(out, "magic", magic, sizeof(magic));
	rc |= put_str(out, "tag", in->cache_tag);
	rc |= put_str(out, "sys.version", in->sys_version);
	rc |= put_str(out, "abiflags", in->abiflags);
	rc |= put_str(out, "gil_disabled", gil);
	if (rc < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	rc = put_fingerprint(out, "executable", in->real_executable, err);
	if (rc == 0)
		rc = put_fingerprint(out, "libpython", in->libpython, err);
	if (rc == PYC_ENOMEM)
		pyc_error_set(err, rc, 0, "out of memory");
	return rc;
}
