/*
 * compileall_item.c - what travels through the compile pipeline: one walk record, the
 * directory it was listed from, and its source bytes (read once, by whichever thread
 * needs them first).
 */
#include "compileall_internal.h"
#include "pyc/magic.h"
#include "pyc/source_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ca_dir *pyc_compileall__dir_new(int fd)
{
	ca_dir *d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	d->fd = fd;
	atomic_init(&d->refs, 1);
	return d;
}

ca_dir *pyc_compileall__dir_ref(ca_dir *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void pyc_compileall__dir_unref(ca_dir *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		close(d->fd);
		free(d);
	}
}

pyc_ca_item *pyc_compileall__item_new(const char *fullname)
{
	pyc_ca_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	if (!(it->fullname = strdup(fullname))) {
		free(it);
		return NULL;
	}
	return it;
}

void pyc_compileall__item_free(pyc_ca_item *it)
{
	if (!it)
		return;
	pyc_job_dispose(&it->job);
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		free(it->cfiles[i]);
	pyc_buf_dispose(&it->dfile);
	free(it->source);
	free(it->fullname);
	free(it->ddir);
	pyc_compileall__dir_unref(it->dir);
	free(it);
}

const char *pyc_compileall__item_dfile(const pyc_ca_item *it)
{
	return it->has_dfile ? pyc_buf_cstr(&it->dfile) : it->fullname;
}

static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			return errno = ENOMEM, -1;
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

int pyc_compileall__load_source(const ca_cfg *c, pyc_ca_item *it)
{
	if (it->source)
		return 0;
	int fd = open(it->fullname, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_all(fd, &it->source, &it->source_len) != 0) {
		int e = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	if (c->mode != PYC_INVALIDATION_TIMESTAMP && !it->has_hash) {
		const pyc_magic_info *info = c->in->info ? c->in->info : pyc_magic_lookup(c->in->magic);
		/* validate() refused hash modes for versions without them: cannot fail here. */
		if (pyc_source_hash(it->hash, info, it->source, it->source_len) < 0)
			return EINVAL;
		it->has_hash = true;
	}
	return 0;
}

int pyc_compileall__read_source(const ca_cfg *c, ca_sink *s, pyc_ca_item *it)
{
	int e = it->read_errno ? it->read_errno : pyc_compileall__load_source(c, it);
	if (e == 0)
		return 1;
	char msg[PYC_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), "cannot read '%s': %s", it->fullname, strerror(e));
	pyc_compileall__fail(s, it->fullname, "io", msg);
	return 0;
}
