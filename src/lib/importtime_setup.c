/*
 * What `importtime` prepares around the runs: the private temporary directory, the list
 * of modules loaded from source, their fresh caches (compiled by the compile engine into
 * the private prefix) and the verdict on the user's caches (importtime_internal.h).
 */
#include "importtime_internal.h"

#include "pyc/cache_path.h"
#include "pyc/compileall.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pyc_importtime__dirs_make(it_dirs *d, pyc_error *err)
{
	const char *tmp = getenv("TMPDIR");
	pyc_buf b = PYC_BUF_INIT;
	if (pyc_buf_printf(&b, "%s/pyc-tool-importtime.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	if (!mkdtemp(b.ptr)) {
		int e = errno;
		pyc_error_set(err, PYC_EIO, e, "cannot create a temporary directory '%s'", b.ptr);
		pyc_buf_dispose(&b);
		return PYC_EIO;
	}
	d->root = pyc_buf_detach(&b);
	if (pyc_buf_printf(&b, "%s/empty", d->root) < 0 || !(d->empty = pyc_buf_detach(&b)) ||
	    pyc_buf_printf(&b, "%s/fresh", d->root) < 0 || !(d->fresh = pyc_buf_detach(&b)))
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	if (mkdir(d->empty, 0700) != 0 || mkdir(d->fresh, 0700) != 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot create '%s'", d->empty);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void pyc_importtime__dirs_remove(it_dirs *d)
{
	/* Depth first and FTW_PHYS: a symlink in the tree is removed, never followed. */
	if (d->root)
		nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(d->root);
	free(d->empty);
	free(d->fresh);
	memset(d, 0, sizeof(*d));
}

static int cmp_source(const void *a, const void *b)
{
	return strcmp(((const pyc_importtime_source *)a)->module,
	              ((const pyc_importtime_source *)b)->module);
}

int pyc_importtime__sources_parse(pyc_importtime_result *r, const char *text, size_t len)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (!(r->sources = calloc(lines + 1, sizeof(*r->sources))))
		return PYC_ENOMEM;
	const char *end = text + len;
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		const char *tab = memchr(s, '\t', (size_t)(eol - s));
		if (tab && tab > s && eol > tab + 1) {
			pyc_importtime_source *src = &r->sources[r->nsources++];
			src->module = strndup(s, (size_t)(tab - s));
			src->path = strndup(tab + 1, (size_t)(eol - tab - 1));
			if (!src->module || !src->path)
				return PYC_ENOMEM;
		}
		s = nl ? nl + 1 : end;
	}
	qsort(r->sources, r->nsources, sizeof(*r->sources), cmp_source);
	return 0;
}

typedef struct compile_tally {
	pyc_error *err;
	int rc;
} compile_tally;

static void on_compile_event(const pyc_compileall_event *ev, void *ctx)
{
	compile_tally *t = ctx;
	if (ev->kind != PYC_COMPILEALL_FAILED || t->rc < 0)
		return;
	const char *text = ev->error_text ? ev->error_text : "";
	int first_line = (int)strcspn(text, "\n");
	t->rc = pyc_error_set(t->err, PYC_ECOMPILE, 0, "cannot compile '%s': %.*s", ev->path,
	                      first_line, text);
}

int pyc_importtime__compile_fresh(const pyc_importtime_result *r, const pyc_interp *interp,
                     const char *prefix, unsigned jobs, pyc_error *err)
{
	const char **paths = calloc(r->nsources + 1, sizeof(char *));
	if (!paths)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < r->nsources; i++)
		paths[i] = r->sources[i].path;
	pyc_compileall_opts co;
	pyc_compileall_opts_init(&co);
	co.paths = paths;
	co.npaths = r->nsources;
	co.jobs = jobs ? jobs : 1;
	/* The interpreter as probed, but writing under the private prefix. Not from_cache:
	 * a re-probe would see the user's prefix and stop the run as "changed". */
	pyc_interp in = *interp;
	in.pycache_prefix = (char *)prefix;
	in.from_cache = false;
	compile_tally t = { err, 0 };
	pyc_compileall_stats st = { 0 };
	int rc = pyc_compileall_validate(&co, &in, err);
	if (rc == 0 && r->nsources)
		rc = pyc_compileall_run(&co, &in, on_compile_event, &t, &st, err);
	free(paths);
	return rc < 0 ? rc : t.rc;
}

/* Open the directory of path; *name points at its last component. */
static int open_parent(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	if (!slash)
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* The user's cache as the import system would judge it (stale.h); an unreadable one
 * costs what a missing one does, so it counts as corrupt. */
static void judge_one(pyc_importtime_source *s, const char *tag)
{
	const char *cname, *sname;
	int cfd = open_parent(s->cache, &cname);
	int sfd = open_parent(s->path, &sname);
	pyc_verdict v;
	int rc = cfd < 0 || sfd < 0 ? PYC_ENOTFOUND
	                            : pyc_stale_check(&v, PYC_CACHE_PEP3147, cfd, cname, tag, sfd,
	                                              sname, NULL);
	if (rc == PYC_ENOTFOUND) {
		s->state = PYC_STATE_MISSING;
	} else if (rc < 0) {
		s->state = PYC_STATE_CORRUPT;
	} else {
		s->state = v.state;
		s->reason = v.reason;
	}
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
	s->cache_bytes = s->state == PYC_STATE_MISSING ? 0 : file_size(s->cache);
}

int pyc_importtime__judge_sources(pyc_importtime_result *r, const pyc_interp *interp, const char *fresh)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	char opt[12] = "";
	if (interp->optimize > 0)
		snprintf(opt, sizeof(opt), "%d", interp->optimize);
	pyc_buf b = PYC_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->nsources; i++) {
		pyc_importtime_source *s = &r->sources[i];
		rc = pyc_cache_from_source(&b, s->path, interp->cache_tag, opt,
		                           interp->pycache_prefix, cwd);
		if (rc == PYC_EINVAL) {
			/* A path CPython itself could not map (IndexError there): no cache. */
			s->state = PYC_STATE_MISSING;
			rc = 0;
			continue;
		}
		if (rc < 0 || !(s->cache = strdup(pyc_buf_cstr(&b)))) {
			rc = rc < 0 ? rc : PYC_ENOMEM;
			break;
		}
		judge_one(s, interp->cache_tag);
		if (fresh && (rc = pyc_cache_from_source(&b, s->path, interp->cache_tag, opt, fresh,
		                                          cwd)) == 0)
			s->fresh_bytes = file_size(pyc_buf_cstr(&b));
		if (rc == PYC_EINVAL)
			rc = 0;
	}
	pyc_buf_dispose(&b);
	return rc;
}
