/*
 * compileall.c - compileall's walk and per-file decisions for one target interpreter
 * (include/pyc/compileall.h). The stale files go to the worker pool (pool.h); the
 * results are written in compileall_write.c.
 */
#include "compileall_internal.h"
#include "pyc/cache_path.h"
#include "pyc/pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the dfile of the files in one directory comes from (see pyc_compileall_dfile). */
typedef struct file_ctx {
	const char *ddir;
	const char *stripdir;
	const char *prependdir;
	ca_dir *dir;       /* the directory being listed (relative *at() calls), or NULL */
} file_ctx;

void pyc_compileall__emit(ca_run *r, pyc_compileall_event *ev)
{
	if (r->on_event)
		r->on_event(ev, r->ctx);
}

void pyc_compileall__fail(ca_run *r, const char *path, const char *kind, const char *text)
{
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_FAILED, .path = path,
	                            .error_kind = kind, .error_text = text };
	r->st->failed++;
	pyc_compileall__emit(r, &ev);
}

/* -e: a symlinked file counts only when it resolves strictly below the limit directory
 * (Path(limit).resolve() in Path(fullname).resolve().parents). */
static bool outside_limit(const ca_run *r, const char *fullname)
{
	struct stat lst;
	if (!r->limit_real || lstat(fullname, &lst) != 0 || !S_ISLNK(lst.st_mode))
		return false;
	char *real = realpath(fullname, NULL);
	if (!real)
		return true;
	size_t n = strlen(r->limit_real);
	bool inside;
	if (n == 1 && r->limit_real[0] == '/')
		inside = real[1] != '\0';
	else
		inside = strncmp(real, r->limit_real, n) == 0 && real[n] == '/';
	free(real);
	return !inside;
}

static bool rx_excludes(ca_run *r, const char *fullname)
{
	if (!r->rx)
		return false;
	int rc = pcre2_match(r->rx, (PCRE2_SPTR)fullname, strlen(fullname), 0, 0, r->md, NULL);
	return rc >= 0;
}

/* Each level's cache path, into the checking thread's own buffers (most files are fresh
 * and never need them again: no allocation per file, none freed by another thread). */
static int cache_files(const ca_run *r, const char *fullname, pyc_buf *paths)
{
	for (size_t i = 0; i < r->nlevels; i++) {
		int rc;
		if (r->o->legacy) {
			rc = pyc_legacy_from_source(&paths[i], fullname);
		} else {
			char opt[12] = "";
			if (r->levels[i] > 0)
				snprintf(opt, sizeof(opt), "%d", r->levels[i]);
			rc = pyc_cache_from_source(&paths[i], fullname, r->in->cache_tag, opt,
			                           r->in->pycache_prefix, r->cwd);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A stale file keeps its cache paths (for the writes and the events). */
static int keep_cache_files(const ca_run *r, pyc_ca_item *it, const pyc_buf *paths)
{
	for (size_t i = 0; i < r->nlevels; i++)
		if (!(it->cfiles[i] = strdup(pyc_buf_cstr(&paths[i]))))
			return PYC_ENOMEM;
	return 0;
}

/* The verdict over every level's cache file: the first one that is not fresh. */
static enum pyc_compileall_why freshness(const ca_run *r, const pyc_ca_item *it,
                                         const pyc_buf *paths)
{
	if (r->o->force)
		return PYC_COMPILEALL_WHY_FORCED;
	int dfd = it->dir ? it->dir->fd : AT_FDCWD;
	for (size_t i = 0; i < r->nlevels; i++) {
		/* A cache beside the source (__pycache__/, legacy) opens relative to its dir. */
		const char *c = pyc_buf_cstr(&paths[i]);
		bool rel = it->dir && strncmp(c, it->fullname, it->dirlen) == 0;
		/* O_NONBLOCK: a FIFO planted at a cache path must not hang the run. */
		int fd = openat(rel ? dfd : AT_FDCWD, rel ? c + it->dirlen : c,
		                O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return errno == ENOENT || errno == ENOTDIR ? PYC_COMPILEALL_WHY_MISSING
			                                            : PYC_COMPILEALL_WHY_UNREADABLE;
		/* One byte past the largest header tells whether a body follows (no fstat). */
		uint8_t hdr[PYC_HEADER_MAX + 1];
		ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
		close(fd);
		if (n < 0)
			return PYC_COMPILEALL_WHY_UNREADABLE;
		enum pyc_compileall_why why = pyc_compileall_judge(
			hdr, (size_t)n, (uint64_t)n, r->in->magic, r->mode,
			it->st.st_mtim.tv_sec, it->st.st_mtim.tv_nsec, (uint64_t)it->st.st_size,
			it->has_hash ? it->hash : NULL);
		if (why != PYC_COMPILEALL_FRESH)
			return why;
	}
	return PYC_COMPILEALL_FRESH;
}

static bool is_py_name(const char *fullname)
{
	size_t n = strlen(fullname);
	const char *base = strrchr(fullname, '/');
	base = base ? base + 1 : fullname;
	return strlen(base) >= 3 && strcmp(fullname + n - 3, ".py") == 0;
}

void pyc_compileall__check(const ca_run *r, pyc_ca_item *it, pyc_buf *scratch)
{
	/* compileall's order after the dfile: -x (tested when queued), -e, isfile, ".py". */
	int dfd = it->dir ? it->dir->fd : AT_FDCWD;
	const char *rel = it->dir ? it->fullname + it->dirlen : it->fullname;
	if (it->kind != CA_ITEM_FILE || it->excluded || !is_py_name(it->fullname) ||
	    outside_limit(r, it->fullname) || fstatat(dfd, rel, &it->st, 0) != 0 ||
	    !S_ISREG(it->st.st_mode))
		goto done;
	it->candidate = true;
	if ((it->cache_err = cache_files(r, it->fullname, scratch)) < 0)
		goto done;
	/* Hash modes need the source to judge; read it once and keep it for the compile. */
	if (r->mode != PYC_INVALIDATION_TIMESTAMP && !r->o->force &&
	    (it->read_errno = pyc_compileall__load_source(r, it)) != 0) {
		it->why = PYC_COMPILEALL_WHY_UNREADABLE;   /* reported when it is compiled */
		it->cache_err = keep_cache_files(r, it, scratch);
		goto done;
	}
	it->why = freshness(r, it, scratch);
	if (it->why == PYC_COMPILEALL_FRESH)
		goto done;
	it->cache_err = keep_cache_files(r, it, scratch);
	/* A stale source will be compiled: read it here, off the main thread, which then only
	 * hands it to the pool. */
	if (!r->o->dry_run && !it->source)
		it->read_errno = pyc_compileall__load_source(r, it);
done:
	/* Only the check uses the directory: let it close as soon as possible. */
	pyc_compileall__dir_unref(it->dir);
	it->dir = NULL;
}

static int consume_dir_event(ca_run *r, pyc_ca_item *it)
{
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_LISTING, .path = it->fullname };
	if (it->kind == CA_ITEM_SKIP_CURDIR)
		ev.kind = PYC_COMPILEALL_SKIP_CURDIR;
	if (it->kind == CA_ITEM_CANT_LIST) {
		ev.kind = PYC_COMPILEALL_CANT_LIST;
		ev.sys_errno = it->sys_errno;
		ev.sys_path_mode = r->sys_path_mode;
		if (!r->sys_path_mode)
			r->st->unlisted++;
	}
	pyc_compileall__emit(r, &ev);
	pyc_compileall__item_free(it);
	return 0;
}

int pyc_compileall__consume(ca_run *r, pyc_ca_item *it)
{
	if (it->kind != CA_ITEM_FILE)
		return consume_dir_event(r, it);
	/* The dfile comes first in compile_file, with 3.13's -s warning for every file. */
	bool strip_ignored = false;
	int rc = pyc_compileall_dfile(&it->dfile, &it->has_dfile, &strip_ignored, r->in->minor,
	                              it->fullname, it->ddir, it->stripdir, it->prependdir);
	if (strip_ignored) {
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_STRIP_IGNORED,
		                            .path = it->fullname, .stripdir = it->stripdir };
		pyc_compileall__emit(r, &ev);
	}
	if (rc == PYC_ENOMEM || !it->candidate) {
		if (is_py_name(it->fullname))
			r->st->skipped++;
		pyc_compileall__item_free(it);
		return rc == PYC_ENOMEM ? rc : 0;
	}
	if (rc < 0 || it->cache_err < 0) {
		/* compileall crashes in os.path.join(); we fail just this file. */
		pyc_compileall__fail(r, it->fullname, "internal", rc < 0
		            ? "-s strips the whole path: nothing is left"
		            : "cannot compute the cache path");
	} else if (it->why == PYC_COMPILEALL_FRESH) {
		pyc_compileall_event ev = { .kind = PYC_COMPILEALL_UP_TO_DATE, .path = it->fullname };
		r->st->up_to_date++;
		pyc_compileall__emit(r, &ev);
	} else {
		return pyc_compileall__submit(r, it);
	}
	pyc_compileall__item_free(it);
	return 0;
}

/* Queue one file of the walk (main thread). */
static int process_file(ca_run *r, const char *fullname, const file_ctx *fc)
{
	/* Only a name ending in ".py" can matter, except that 3.13 warns about -s for every
	 * file: skip the rest early, this is most of a no-op run. */
	if (!is_py_name(fullname) && !(fc->stripdir && r->in->minor >= 13))
		return 0;
	r->st->found += is_py_name(fullname);
	pyc_ca_item *it = pyc_compileall__item_new(fullname);
	if (!it || (fc->ddir && !(it->ddir = strdup(fc->ddir)))) {
		pyc_compileall__item_free(it);
		return PYC_ENOMEM;
	}
	it->stripdir = fc->stripdir;
	it->prependdir = fc->prependdir;
	const char *slash = strrchr(fullname, '/');
	if (fc->dir && slash) {
		it->dir = pyc_compileall__dir_ref(fc->dir);
		it->dirlen = (size_t)(slash + 1 - fullname);
	}
	it->excluded = rx_excludes(r, fullname);
	return pyc_compileall__queue_push(r, it);
}

static int queue_dir_event(ca_run *r, enum ca_item_kind kind, const char *dir, int sys_errno)
{
	pyc_ca_item *it = pyc_compileall__item_new(dir);
	if (!it)
		return PYC_ENOMEM;
	it->kind = kind;
	it->sys_errno = sys_errno;
	return pyc_compileall__queue_push(r, it);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

/* Append one entry (its d_type byte, then the name) to *v; false when out of memory. */
static bool add_name(char ***v, size_t *n, size_t *cap, const char *name, unsigned char type)
{
	if (*n + 1 >= *cap) {
		char **nv = realloc(*v, (*cap *= 2) * sizeof(**v));
		if (!nv)
			return false;
		*v = nv;
	}
	size_t len = strlen(name);
	char *e = malloc(len + 2);
	if (!e)
		return false;
	/* One leading byte keeps d_type, so most entries need no stat(). */
	e[0] = (char)type;
	memcpy(e + 1, name, len + 1);
	(*v)[(*n)++] = e;
	return true;
}

/* os.listdir + sort, without "." and ".."; *out NULL-terminated, each entry is its d_type
 * byte followed by the name; *dfd is the directory, open, for the entries' *at() calls.
 * Reads with getdents64 on that one descriptor: an opendir() would add a dup, two fcntl,
 * an fstat and a close per directory (8 % of a no-op run's system calls). */
static int list_dir(const char *dir, int *dfd, char ***out, size_t *count, int *sys_errno)
{
	_Alignas(struct dirent64) char buf[32768];
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0) {
		*sys_errno = errno;
		*dfd = AT_FDCWD;
		return PYC_EIO;
	}
	size_t n = 0, cap = 64;
	char **v = malloc(cap * sizeof(*v));
	int e = v ? 0 : ENOMEM;
	while (!e) {
		ssize_t got = getdents64(*dfd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			e = got < 0 ? errno : 0;
			break;
		}
		for (ssize_t off = 0; off < got && !e;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			off += de->d_reclen;
			const char *name = de->d_name;
			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
			    !add_name(&v, &n, &cap, name, de->d_type))
				e = ENOMEM;
		}
	}
	if (e) {
		for (size_t i = 0; v && i < n; i++)
			free(v[i]);
		free(v);
		close(*dfd);
		*dfd = AT_FDCWD;
		*sys_errno = e;
		return e == ENOMEM ? PYC_ENOMEM : PYC_EIO;
	}
	qsort(v, n, sizeof(*v), cmp_names);
	v[n] = NULL;
	*out = v;
	*count = n;
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int walk_dir(ca_run *r, const char *dir, int maxlevels, const char *ddir,
                    const file_ctx *fc);

/* One directory entry: compileall's `if not isdir: yield; elif maxlevels > 0 and not
 * islink: recurse` (isdir follows symlinks, so a link to a directory is neither). */
static int walk_entry(ca_run *r, const char *fullname, const char *name, unsigned char type,
                      int maxlevels, const char *ddir, const file_ctx *fc)
{
	struct stat st;
	int dfd = fc->dir ? fc->dir->fd : AT_FDCWD;
	const char *rel = fc->dir ? name : fullname;
	bool isdir = type == DT_DIR ||
	             (type != DT_REG && fstatat(dfd, rel, &st, 0) == 0 && S_ISDIR(st.st_mode));
	if (!isdir) {
		file_ctx here = *fc;
		if (r->walk_ddir)
			here.ddir = ddir;
		return process_file(r, fullname, &here);
	}
	struct stat lst;
	if (maxlevels <= 0)
		return 0;
	if (type != DT_DIR && (fstatat(dfd, rel, &lst, AT_SYMLINK_NOFOLLOW) != 0 ||
	                       S_ISLNK(lst.st_mode)))
		return 0;
	pyc_buf sub = PYC_BUF_INIT;
	if (ddir && r->walk_ddir &&
	    (pyc_buf_puts(&sub, ddir) < 0 || pyc_compileall_path_join(&sub, name) < 0)) {
		pyc_buf_dispose(&sub);
		return PYC_ENOMEM;
	}
	int rc = walk_dir(r, fullname, maxlevels - 1, ddir ? pyc_buf_cstr(&sub) : NULL, fc);
	pyc_buf_dispose(&sub);
	return rc;
}

static int walk_dir(ca_run *r, const char *dir, int maxlevels, const char *ddir,
                    const file_ctx *fc)
{
	int rc = queue_dir_event(r, CA_ITEM_LISTING, dir, 0);
	if (rc < 0)
		return rc;
	char **names;
	size_t n;
	int sys_errno = 0, dfd;
	rc = list_dir(dir, &dfd, &names, &n, &sys_errno);
	if (rc == PYC_EIO && (sys_errno == EMFILE || sys_errno == ENFILE)) {
		/* Queued files hold their directories open: consume them, then retry. */
		if ((rc = pyc_compileall__queue_flush(r)) < 0)
			return rc;
		rc = list_dir(dir, &dfd, &names, &n, &sys_errno);
	}
	if (rc == PYC_ENOMEM)
		return rc;
	if (rc < 0)
		return queue_dir_event(r, CA_ITEM_CANT_LIST, dir, sys_errno);
	pyc_buf full = PYC_BUF_INIT;
	file_ctx here = *fc;
	here.dir = dfd != AT_FDCWD ? pyc_compileall__dir_new(dfd) : NULL;
	if (dfd != AT_FDCWD && !here.dir)
		close(dfd);
	for (size_t i = 0; i < n && rc == 0 && !r->stop; i++) {
		const char *name = names[i] + 1;
		if (strcmp(name, "__pycache__") == 0)
			continue;
		if (pyc_buf_sets(&full, dir) < 0 || pyc_compileall_path_join(&full, name) < 0)
			rc = PYC_ENOMEM;
		else
			rc = walk_entry(r, pyc_buf_cstr(&full), name, (unsigned char)names[i][0],
			                maxlevels, ddir, &here);
	}
	pyc_buf_dispose(&full);
	free_names(names, n);
	pyc_compileall__dir_unref(here.dir);
	return rc;
}

/* One FILE|DIR argument, as compileall's main() dispatches it. */
static int compile_dest(ca_run *r, const char *dest)
{
	const pyc_compileall_opts *o = r->o;
	file_ctx fc = { o->ddir, o->stripdir, o->prependdir, NULL };
	struct stat st;
	if (stat(dest, &st) == 0 && S_ISREG(st.st_mode))
		return process_file(r, dest, &fc);
	/* compile_dir(): 3.9+ turns -d into stripdir=dir, prependdir=ddir; 3.7/3.8 join ddir
	 * with each directory level; 3.6 uses ddir as it is for every file. */
	r->walk_ddir = r->in->minor == 7 || r->in->minor == 8;
	if (r->in->minor >= 9 && o->ddir) {
		fc.stripdir = dest;
		fc.prependdir = o->ddir;
		fc.ddir = NULL;
	}
	int rc = walk_dir(r, dest, r->maxlevels, r->walk_ddir ? o->ddir : NULL, &fc);
	r->walk_ddir = false;
	return rc;
}

/* compile_path(): every sys.path entry at maxlevels 0, without -d -x -o -s -p -e. */
static int compile_sys_path(ca_run *r)
{
	file_ctx fc = { NULL, NULL, NULL, NULL };
	int rc = 0;
	r->sys_path_mode = true;
	for (size_t i = 0; i < r->in->sys_path_len && rc == 0 && !r->stop; i++) {
		const char *dir = r->in->sys_path[i];
		/* The probe ran with -c, which puts '' first; `python -m compileall` (3.7+) puts
		 * the working directory's full path there instead, and so compiles it. */
		if (i == 0 && dir[0] == '\0' && r->in->minor >= 7)
			dir = r->cwd;
		if (dir[0] == '\0' || strcmp(dir, ".") == 0) {
			rc = queue_dir_event(r, CA_ITEM_SKIP_CURDIR, dir, 0);
			continue;
		}
		rc = walk_dir(r, dir, 0, NULL, &fc);
	}
	return rc;
}

static int run_setup(ca_run *r, const pyc_compileall_opts *o, pyc_error *err)
{
	if (o->source_date_epoch && *o->source_date_epoch && !o->mode_set && r->in->minor >= 7)
		r->mode = PYC_INVALIDATION_CHECKED_HASH;
	else
		r->mode = o->mode_set ? o->mode : PYC_INVALIDATION_TIMESTAMP;
	bool sys_path = o->npaths == 0;
	r->nlevels = pyc_compileall_levels(r->levels, sys_path ? NULL : o->levels,
	                                   sys_path ? 0 : o->nlevels, r->in->optimize, o->legacy);
	r->maxlevels = o->maxlevels >= 0 ? o->maxlevels
	               : pyc_compileall_default_maxlevels(r->in->major, r->in->minor,
	                                                  r->in->recursion_limit);
	if (!(r->cwd = getcwd(NULL, 0)))
		return pyc_error_set(err, PYC_EIO, errno, "cannot get the current directory");
	if (!sys_path && o->rx) {
		if (!(r->rx = pyc_compileall__rx_compile(o->rx, err)))
			return PYC_EINVAL;
		if (!(r->md = pcre2_match_data_create_from_pattern(r->rx, NULL)))
			return PYC_ENOMEM;
	}
	if (!sys_path && o->limit_sl_dest && *o->limit_sl_dest) {
		r->limit_real = realpath(o->limit_sl_dest, NULL);
		if (!r->limit_real && !(r->limit_real = strdup(o->limit_sl_dest)))
			return PYC_ENOMEM;
	}
	return 0;
}

int pyc_compileall_run(const pyc_compileall_opts *o, const pyc_interp *interp,
                       pyc_compileall_event_fn on_event, void *ctx,
                       pyc_compileall_stats *stats, pyc_error *err)
{
	ca_run r = { .o = o, .in = interp, .on_event = on_event, .ctx = ctx, .st = stats,
	             .err = err };
	int rc = run_setup(&r, o, err);
	if (rc == 0)
		rc = pyc_compileall__queue_start(&r);
	if (rc == 0 && o->npaths == 0)
		rc = compile_sys_path(&r);
	for (size_t i = 0; rc == 0 && i < o->npaths && !r.stop; i++)
		rc = compile_dest(&r, o->paths[i]);
	stats->walk_done = true;
	int qrc = pyc_compileall__queue_finish(&r);
	if (rc == 0)
		rc = qrc;
	int drc = pyc_compileall__finish(&r);
	if (rc == 0)
		rc = drc ? drc : r.fatal;
	pcre2_match_data_free(r.md);
	pcre2_code_free(r.rx);
	free(r.limit_real);
	free(r.cwd);
	return rc;
}
