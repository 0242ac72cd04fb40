/*
 * compileall_walk.c - the first stage: compileall's walk (compile_dir, compile_path and
 * main()'s dispatch), in its order, one queue item per file it would hand to
 * compile_file and one per directory event. Everything about a file beyond its name and
 * -x is judged later, off this thread.
 */
#include "compileall_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

int pyc_compileall__walk_init(ca_walk *w, const ca_cfg *cfg, ca_queue *q, const bool *stop,
                              pyc_error *err)
{
	*w = (ca_walk){ .cfg = cfg, .q = q, .stop = stop };
	const pyc_compileall_opts *o = cfg->o;
	if (o->npaths == 0 || !o->rx)
		return 0;
	if (!(w->rx = pyc_compileall__rx_compile(o->rx, err)))
		return PYC_EINVAL;
	if (!(w->md = pcre2_match_data_create_from_pattern(w->rx, NULL)))
		return PYC_ENOMEM;
	return 0;
}

void pyc_compileall__walk_dispose(ca_walk *w)
{
	pcre2_match_data_free(w->md);
	pcre2_code_free(w->rx);
	w->md = NULL;
	w->rx = NULL;
}

static bool rx_excludes(ca_walk *w, const char *fullname)
{
	if (!w->rx)
		return false;
	int rc = pcre2_match(w->rx, (PCRE2_SPTR)fullname, strlen(fullname), 0, 0, w->md, NULL);
	return rc >= 0;
}

/* Queue one file of the walk. */
static int process_file(ca_walk *w, const char *fullname, const file_ctx *fc)
{
	/* Only a name ending in ".py" can matter, except that 3.13 warns about -s for every
	 * file: skip the rest early, this is most of a no-op run. */
	if (!pyc_compileall__is_py_name(fullname) && !(fc->stripdir && w->cfg->in->minor >= 13))
		return 0;
	if (w->found)
		*w->found += pyc_compileall__is_py_name(fullname);
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
	it->excluded = rx_excludes(w, fullname);
	return pyc_compileall__queue_push(w->q, it);
}

static int queue_dir_event(ca_walk *w, enum ca_item_kind kind, const char *dir, int sys_errno)
{
	pyc_ca_item *it = pyc_compileall__item_new(dir);
	if (!it)
		return PYC_ENOMEM;
	it->kind = kind;
	it->sys_errno = sys_errno;
	it->sys_path_mode = w->sys_path_mode;
	return pyc_compileall__queue_push(w->q, it);
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

static int walk_dir(ca_walk *w, const char *dir, int maxlevels, const char *ddir,
                    const file_ctx *fc);

/* One directory entry: compileall's `if not isdir: yield; elif maxlevels > 0 and not
 * islink: recurse` (isdir follows symlinks, so a link to a directory is neither). */
static int walk_entry(ca_walk *w, const char *fullname, const char *name, unsigned char type,
                      int maxlevels, const char *ddir, const file_ctx *fc)
{
	struct stat st;
	int dfd = fc->dir ? fc->dir->fd : AT_FDCWD;
	const char *rel = fc->dir ? name : fullname;
	bool isdir = type == DT_DIR ||
	             (type != DT_REG && fstatat(dfd, rel, &st, 0) == 0 && S_ISDIR(st.st_mode));
	if (!isdir) {
		file_ctx here = *fc;
		if (w->walk_ddir)
			here.ddir = ddir;
		return process_file(w, fullname, &here);
	}
	struct stat lst;
	if (maxlevels <= 0)
		return 0;
	if (type != DT_DIR && (fstatat(dfd, rel, &lst, AT_SYMLINK_NOFOLLOW) != 0 ||
	                       S_ISLNK(lst.st_mode)))
		return 0;
	pyc_buf sub = PYC_BUF_INIT;
	if (ddir && w->walk_ddir &&
	    (pyc_buf_puts(&sub, ddir) < 0 || pyc_compileall_path_join(&sub, name) < 0)) {
		pyc_buf_dispose(&sub);
		return PYC_ENOMEM;
	}
	int rc = walk_dir(w, fullname, maxlevels - 1, ddir ? pyc_buf_cstr(&sub) : NULL, fc);
	pyc_buf_dispose(&sub);
	return rc;
}

static int walk_dir(ca_walk *w, const char *dir, int maxlevels, const char *ddir,
                    const file_ctx *fc)
{
	int rc = queue_dir_event(w, CA_ITEM_LISTING, dir, 0);
	if (rc < 0)
		return rc;
	char **names;
	size_t n;
	int sys_errno = 0, dfd;
	rc = list_dir(dir, &dfd, &names, &n, &sys_errno);
	if (rc == PYC_EIO && (sys_errno == EMFILE || sys_errno == ENFILE)) {
		/* Queued files hold their directories open: consume them, then retry. */
		if ((rc = pyc_compileall__queue_flush(w->q)) < 0)
			return rc;
		rc = list_dir(dir, &dfd, &names, &n, &sys_errno);
	}
	if (rc == PYC_ENOMEM)
		return rc;
	if (rc < 0)
		return queue_dir_event(w, CA_ITEM_CANT_LIST, dir, sys_errno);
	pyc_buf full = PYC_BUF_INIT;
	file_ctx here = *fc;
	here.dir = dfd != AT_FDCWD ? pyc_compileall__dir_new(dfd) : NULL;
	if (dfd != AT_FDCWD && !here.dir)
		close(dfd);
	for (size_t i = 0; i < n && rc == 0 && !*w->stop; i++) {
		const char *name = names[i] + 1;
		if (strcmp(name, "__pycache__") == 0)
			continue;
		if (pyc_buf_sets(&full, dir) < 0 || pyc_compileall_path_join(&full, name) < 0)
			rc = PYC_ENOMEM;
		else
			rc = walk_entry(w, pyc_buf_cstr(&full), name, (unsigned char)names[i][0],
			                maxlevels, ddir, &here);
	}
	pyc_buf_dispose(&full);
	free_names(names, n);
	pyc_compileall__dir_unref(here.dir);
	return rc;
}

/* One FILE|DIR argument, as compileall's main() dispatches it. */
static int compile_dest(ca_walk *w, const char *dest)
{
	const pyc_compileall_opts *o = w->cfg->o;
	int minor = w->cfg->in->minor;
	file_ctx fc = { o->ddir, o->stripdir, o->prependdir, NULL };
	struct stat st;
	if (stat(dest, &st) == 0 && S_ISREG(st.st_mode))
		return process_file(w, dest, &fc);
	/* compile_dir(): 3.9+ turns -d into stripdir=dir, prependdir=ddir; 3.7/3.8 join ddir
	 * with each directory level; 3.6 uses ddir as it is for every file. */
	w->walk_ddir = minor == 7 || minor == 8;
	if (minor >= 9 && o->ddir) {
		fc.stripdir = dest;
		fc.prependdir = o->ddir;
		fc.ddir = NULL;
	}
	int rc = walk_dir(w, dest, w->cfg->maxlevels, w->walk_ddir ? o->ddir : NULL, &fc);
	w->walk_ddir = false;
	return rc;
}

/* compile_path(): every sys.path entry at maxlevels 0, without -d -x -o -s -p -e. */
static int compile_sys_path(ca_walk *w)
{
	const pyc_interp *in = w->cfg->in;
	file_ctx fc = { NULL, NULL, NULL, NULL };
	int rc = 0;
	w->sys_path_mode = true;
	for (size_t i = 0; i < in->sys_path_len && rc == 0 && !*w->stop; i++) {
		const char *dir = in->sys_path[i];
		/* The probe ran with -c, which puts '' first; `python -m compileall` (3.7+) puts
		 * the working directory's full path there instead, and so compiles it. */
		if (i == 0 && dir[0] == '\0' && in->minor >= 7)
			dir = w->cfg->cwd;
		if (dir[0] == '\0' || strcmp(dir, ".") == 0) {
			rc = queue_dir_event(w, CA_ITEM_SKIP_CURDIR, dir, 0);
			continue;
		}
		rc = walk_dir(w, dir, 0, NULL, &fc);
	}
	return rc;
}

int pyc_compileall__walk(ca_walk *w)
{
	const pyc_compileall_opts *o = w->cfg->o;
	if (o->npaths == 0)
		return compile_sys_path(w);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->npaths && !*w->stop; i++)
		rc = compile_dest(w, o->paths[i]);
	return rc;
}
