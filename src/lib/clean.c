/*
 * The removal engine behind `pyc-tool clean` (include/pyc/clean.h, docs/clean.md).
 *
 * One pass of the walker per path (and one over its prefix mirror). A stack of frames, one
 * per directory on the current walk path, counts what stays in and what left each
 * directory, so a cache directory is removed on its post-order event exactly when nothing
 * is left in it. Every unlink is relative to the fd the walker holds for the entry's
 * directory; every rmdir is relative to the parent's fd after checking that the name
 * still refers to the directory we emptied.
 */
#include "pyc/clean.h"

#include "pyc/buf.h"
#include "pyc/cache_path.h"
#include "pyc/leftover.h"
#include "pyc/magic.h"
#include "pyc/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum frame_kind {
	FRAME_PLAIN,    /* a source directory: only legacy files are candidates */
	FRAME_PYCACHE,  /* a real __pycache__ directory */
	FRAME_MIRROR,   /* a directory of a pycache-prefix mirror */
};

struct frame {
	enum frame_kind kind;
	bool active;        /* entered, its post-order event not seen yet */
	uint64_t kept;      /* entries that stay in it */
	uint64_t removed;   /* entries this run removed from it (or would) */
};

enum sel { SEL_KEEP, SEL_REMOVE, SEL_FAILED };

struct clean_run {
	const pyc_clean_opts *o;
	pyc_clean_totals *t;
	pyc_walker *w;
	struct frame *frames;
	size_t nframes;
	int stop;                /* the callback's non-zero answer */
	enum pyc_leftover_kind leftover;   /* the entry being reported is a temporary file */
	/* The current root. */
	const char *root;
	size_t root_len;
	bool mirror;
	const char *src_root;    /* mirror walks: the source path the mirror stands for */
	int root_parent_fd;      /* the directory holding the root, or -1 */
	pyc_buf root_base;       /* the root's last component */
	bool skip_prefix;        /* source walks: prune the prefix directory if met */
	dev_t prefix_dev;
	ino_t prefix_ino;
	/* Mirror walks: the source directory of the last cache judged. */
	pyc_buf src_key;
	bool src_valid;
	int src_fd;              /* -1 when that directory does not exist */
	/* Scratch. */
	pyc_buf tag, src_name, tmp;
	pyc_error err;
};

static int emit(struct clean_run *r, enum pyc_clean_event ev, const char *path, size_t len,
                bool is_dir, uint64_t bytes, const pyc_verdict *v)
{
	if (!r->o->cb)
		return 0;
	pyc_clean_item it = { .event = ev, .path = path, .path_len = len, .is_dir = is_dir,
	                      .dry_run = r->o->dry_run, .bytes = bytes,
	                      .leftover = r->leftover };
	if (v) {
		it.judged = true;
		it.state = v->state;
		it.reason = v->reason;
	}
	if (ev == PYC_CLEAN_FAILED)
		it.error = &r->err;
	int rc = r->o->cb(&it, r->o->payload);
	if (rc != 0 && r->stop == 0)
		r->stop = rc;
	return 0;
}

/* Report r->err (already set) as a failure on `path`. */
static int failed(struct clean_run *r, const char *path, size_t len, bool is_dir)
{
	r->t->failed++;
	return emit(r, PYC_CLEAN_FAILED, path, len, is_dir, 0, NULL);
}

static int fail_errno(struct clean_run *r, const pyc_walk_entry *e, bool is_dir, int sys_errno,
                      const char *verb)
{
	pyc_error_set(&r->err, PYC_EIO, sys_errno, "cannot %s '%s'", verb, e->path);
	return failed(r, e->path, e->path_len, is_dir);
}

static int foreign(struct clean_run *r, const pyc_walk_entry *e, bool is_dir)
{
	r->t->foreign++;
	return emit(r, PYC_CLEAN_KEPT_FOREIGN, e->path, e->path_len, is_dir, 0, NULL);
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int ensure_frames(struct clean_run *r, size_t n)
{
	if (n <= r->nframes)
		return 0;
	size_t cap = r->nframes ? r->nframes : 16;
	while (cap < n)
		cap *= 2;
	struct frame *f = realloc(r->frames, cap * sizeof(*f));
	if (!f)
		return PYC_ENOMEM;
	memset(f + r->nframes, 0, (cap - r->nframes) * sizeof(*f));
	r->frames = f;
	r->nframes = cap;
	return 0;
}

static struct frame *parent_frame(struct clean_run *r, const pyc_walk_entry *e)
{
	if (e->depth == 0 || e->depth - 1 >= r->nframes || !r->frames[e->depth - 1].active)
		return NULL;
	return &r->frames[e->depth - 1];
}

/*
 * Split a cache file name into r->tag and r->src_name ("<stem>.py"). The .pyo names
 * 3.2-3.4 wrote into __pycache__ are parsed as if they ended in .pyc. False when the
 * name has no <stem>.<tag>[.opt-N] shape (status calls such a file an orphan).
 */
static bool parse_cache_name(struct clean_run *r, const char *name, int *rc)
{
	size_t n = strlen(name);
	pyc_cache_name cn;
	*rc = pyc_buf_sets(&r->tmp, name);
	if (*rc < 0)
		return false;
	if (n >= 4 && strcmp(name + n - 4, ".pyo") == 0)
		r->tmp.ptr[n - 1] = 'c';
	if (pyc_cache_name_parse(&cn, r->tmp.ptr) < 0)
		return false;
	pyc_buf_clear(&r->tag);
	pyc_buf_clear(&r->src_name);
	if ((*rc = pyc_buf_put(&r->tag, cn.tag, cn.tag_len)) < 0 ||
	    (*rc = pyc_buf_put(&r->src_name, cn.stem, cn.stem_len)) < 0 ||
	    (*rc = pyc_buf_puts(&r->src_name, ".py")) < 0)
		return false;
	return true;
}

static bool wanted(const struct clean_run *r, enum pyc_state s)
{
	if (r->o->select == PYC_CLEAN_SELECT_ORPHANS)
		return s == PYC_STATE_ORPHAN || s == PYC_STATE_SOURCELESS;
	return s == PYC_STATE_STALE || s == PYC_STATE_ORPHAN || s == PYC_STATE_CORRUPT ||
	       s == PYC_STATE_SOURCELESS;
}

/*
 * Mirror walks: the fd of the source directory that the cache entry's directory mirrors,
 * opened by path (sources are only read, never removed, so following symlinks there is
 * what the import system does too). Sets *fd to -1 when it does not exist.
 */
static int mirror_src_fd(struct clean_run *r, const pyc_walk_entry *e, int *fd)
{
	size_t dir_end = (size_t)(e->name - e->path);
	const char *rel = e->path + r->root_len;
	size_t rel_len = dir_end > r->root_len ? dir_end - r->root_len : 0;
	if (!r->src_valid || r->src_key.len != rel_len || memcmp(r->src_key.ptr, rel, rel_len)) {
		if (r->src_fd >= 0)
			close(r->src_fd);
		r->src_fd = -1;
		r->src_valid = false;
		pyc_buf_clear(&r->src_key);
		if (pyc_buf_put(&r->src_key, rel, rel_len) < 0 ||
		    pyc_buf_sets(&r->tmp, r->src_root) < 0 ||
		    pyc_buf_put(&r->tmp, rel, rel_len) < 0)
			return PYC_ENOMEM;
		r->src_fd = open(r->tmp.len ? r->tmp.ptr : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->src_fd < 0 && errno != ENOENT && errno != ENOTDIR) {
			pyc_error_set(&r->err, PYC_EIO, errno, "cannot open '%s'", r->tmp.ptr);
			return PYC_EIO;
		}
		r->src_valid = true;
	}
	*fd = r->src_fd;
	return 0;
}

/* pyc_stale_check for a PEP 3147 cache; r->tag and r->src_name are set. */
static int judge_cache(struct clean_run *r, const pyc_walk_entry *e, pyc_verdict *v)
{
	int src_fd;
	memset(v, 0, sizeof(*v));
	if (r->mirror) {
		int rc = mirror_src_fd(r, e, &src_fd);
		if (rc < 0)
			return rc;
		if (src_fd < 0) {
			v->state = PYC_STATE_ORPHAN;
			return 0;
		}
	} else {
		/* The entry sits in a __pycache__ at depth-1; its sources are one level up. */
		src_fd = e->depth >= 2 ? pyc_walker_dirfd_at(r->w, e->depth - 2)
		                       : r->root_parent_fd;
		if (src_fd < 0) {
			pyc_error_set(&r->err, PYC_EIO, 0,
			              "cannot open the source directory of '%s'", e->path);
			return PYC_EIO;
		}
	}
	return pyc_stale_check(v, PYC_CACHE_PEP3147, e->dirfd, e->name, r->tag.ptr, src_fd,
	                       r->src_name.ptr, &r->err);
}

/* Does the selection remove this PEP 3147 cache file? */
static enum sel select_cache(struct clean_run *r, const pyc_walk_entry *e, pyc_verdict *v,
                             bool *judged, int *rc)
{
	const pyc_clean_opts *o = r->o;
	bool named = parse_cache_name(r, e->name, rc);
	if (*rc < 0)
		return SEL_FAILED;
	const char *tag = named ? r->tag.ptr : NULL;
	if (o->ntags && !(tag && in_list(o->tags, o->ntags, tag)))
		return SEL_KEEP;
	if (tag && in_list(o->keep_tags, o->nkeep_tags, tag))
		return SEL_KEEP;
	if (o->select == PYC_CLEAN_SELECT_ALL)
		return SEL_REMOVE;
	/* Another implementation's cache (pypy39): `status` does not judge it, nor do we. */
	if (named && strncmp(tag, "cpython-", 8) != 0)
		return SEL_KEEP;
	*judged = true;
	if (!named) {
		memset(v, 0, sizeof(*v));
		v->state = PYC_STATE_ORPHAN;
		v->reason = PYC_REASON_BAD_NAME;
	} else {
		int jr = judge_cache(r, e, v);
		if (jr == PYC_ENOMEM)
			*rc = jr;
		if (jr == PYC_ENOTFOUND)   /* a dangling link or gone: no cache to judge */
			return SEL_KEEP;
		if (jr < 0)
			return SEL_FAILED;
	}
	return wanted(r, v->state) ? SEL_REMOVE : SEL_KEEP;
}

/* Unlink one file relative to its directory fd and account for it. */
static int remove_file(struct clean_run *r, const pyc_walk_entry *e, struct frame *parent,
                       const pyc_verdict *v, bool regular_only)
{
	struct stat st;
	if (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) {   /* already gone: nothing left to do */
			parent->removed++;
			return 0;
		}
		parent->kept++;
		return fail_errno(r, e, false, errno, "stat");
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		parent->kept++;
		return 0;
	}
	if (!r->o->dry_run && unlinkat(e->dirfd, e->name, 0) != 0 && errno != ENOENT) {
		parent->kept++;
		return fail_errno(r, e, false, errno, "remove");
	}
	parent->removed++;
	if (r->leftover)
		r->t->leftovers++;
	else
		r->t->files++;
	r->t->bytes += (uint64_t)st.st_size;
	return emit(r, PYC_CLEAN_REMOVED, e->path, e->path_len, false, (uint64_t)st.st_size, v);
}

/*
 * A writer's temporary file (pyc/leftover.h): removed once abandoned; until then kept
 * like a foreign file, and so is its directory, since its writer may still rename it
 * into place. Returns 1 when e is one (*rc is the result), else 0.
 */
static int leftover_file(struct clean_run *r, const pyc_walk_entry *e, struct frame *parent,
                         int *rc)
{
	long pid;
	struct stat st;
	enum pyc_leftover_kind k = pyc_leftover_kind(e->name, &pid);
	if (k == PYC_LEFTOVER_NONE || e->kind != PYC_WALK_FILE ||
	    fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return 0;
	r->leftover = k;
	if (pyc_leftover_abandoned(k, pid, &st, time(NULL))) {
		*rc = remove_file(r, e, parent, NULL, true);
	} else {
		parent->kept++;
		*rc = foreign(r, e, false);
	}
	r->leftover = PYC_LEFTOVER_NONE;
	return 1;
}

/* An entry directly inside a __pycache__ or a mirror directory. */
static int cache_file(struct clean_run *r, const pyc_walk_entry *e, struct frame *parent)
{
	int rc = 0;
	if (e->kind == PYC_WALK_OTHER || !pyc_is_bytecode_name(e->name)) {
		if (leftover_file(r, e, parent, &rc))
			return rc;
		parent->kept++;
		return foreign(r, e, false);
	}
	pyc_verdict v;
	bool judged = false;
	enum sel s = select_cache(r, e, &v, &judged, &rc);
	if (rc < 0)
		return rc;
	if (s == SEL_FAILED) {
		parent->kept++;
		return failed(r, e->path, e->path_len, false);
	}
	if (s == SEL_KEEP) {
		parent->kept++;
		r->t->kept++;
		return 0;
	}
	return remove_file(r, e, parent, judged ? &v : NULL, false);
}

/* The magic number of a legacy file, or 0 when it has none (short, unreadable). */
static uint16_t read_magic(int dirfd, const char *name)
{
	unsigned char b[4];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b));
	close(fd);
	if (n != (ssize_t)sizeof(b) || b[2] != '\r' || b[3] != '\n')
		return 0;
	return (uint16_t)(b[0] | b[1] << 8);
}

static bool magic_listed(const uint16_t *list, size_t n, uint16_t m)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == m)
			return true;
	return false;
}

/* Does the selection remove this legacy foo.pyc? r->src_name holds "foo.py". */
static enum sel select_legacy(struct clean_run *r, const pyc_walk_entry *e, bool has_src,
                              pyc_verdict *v, bool *judged)
{
	const pyc_clean_opts *o = r->o;
	if (o->ntags || o->nkeep_tags || o->nkeep_magics) {
		uint16_t magic = read_magic(e->dirfd, e->name);
		const pyc_magic_info *info = magic ? pyc_magic_lookup(magic) : NULL;
		const char *tag = info ? info->cache_tag : NULL;
		if (o->ntags && !(tag && in_list(o->tags, o->ntags, tag)))
			return SEL_KEEP;
		if ((magic && magic_listed(o->keep_magics, o->nkeep_magics, magic)) ||
		    (tag && in_list(o->keep_tags, o->nkeep_tags, tag)))
			return SEL_KEEP;
	}
	if (o->select == PYC_CLEAN_SELECT_ALL)
		return SEL_REMOVE;
	*judged = true;
	memset(v, 0, sizeof(*v));
	if (o->select == PYC_CLEAN_SELECT_ORPHANS || !has_src) {
		v->state = has_src ? PYC_STATE_FRESH : PYC_STATE_SOURCELESS;
		if (has_src && o->select == PYC_CLEAN_SELECT_ORPHANS)
			return SEL_KEEP;   /* beside its source: never an orphan, fresh or not */
	} else if (pyc_stale_check(v, PYC_CACHE_LEGACY, e->dirfd, e->name, NULL, e->dirfd,
	                           r->src_name.ptr, &r->err) < 0) {
		return SEL_FAILED;
	}
	return wanted(r, v->state) ? SEL_REMOVE : SEL_KEEP;
}

/* A .pyc/.pyo in a source directory (only with legacy/sourceless). */
static int legacy_file(struct clean_run *r, const pyc_walk_entry *e, struct frame *parent)
{
	/* A legacy symlink is not inside a cache directory: never touched. */
	if (e->kind != PYC_WALK_FILE || !pyc_is_bytecode_name(e->name))
		return 0;
	size_t n = strlen(e->name);
	pyc_buf_clear(&r->src_name);
	if (pyc_buf_put(&r->src_name, e->name, n - 1) < 0)   /* "foo.pyc" -> "foo.py" */
		return PYC_ENOMEM;
	struct stat st;
	/* As FileFinder sees it: symlinks followed, only a regular file is a source. */
	bool has_src = fstatat(e->dirfd, r->src_name.ptr, &st, 0) == 0 && S_ISREG(st.st_mode);
	if (!has_src && !r->o->sourceless)
		return 0;   /* maybe the only copy of a module: not a candidate */
	pyc_verdict v;
	bool judged = false;
	enum sel s = select_legacy(r, e, has_src, &v, &judged);
	if (s == SEL_FAILED)
		return failed(r, e->path, e->path_len, false);
	if (s == SEL_KEEP) {
		r->t->kept++;
		return 0;
	}
	return remove_file(r, e, parent, judged ? &v : NULL, true);
}

/*
 * Remove an emptied directory with unlinkat(parent_fd, name, AT_REMOVEDIR), after
 * checking that the name still refers to the directory whose fd we hold. Sets *gone.
 */
static int remove_dir(struct clean_run *r, const pyc_walk_entry *e, bool *gone)
{
	int pfd = e->depth ? e->dirfd : r->root_parent_fd;
	const char *name = e->depth ? e->name : pyc_buf_cstr(&r->root_base);
	struct stat self, there;
	*gone = false;
	if (pfd < 0 && pfd != AT_FDCWD)
		return 0;
	if (fstat(e->fd, &self) != 0)
		return fail_errno(r, e, true, errno, "stat");
	if (fstatat(pfd, name, &there, AT_SYMLINK_NOFOLLOW) != 0) {
		*gone = errno == ENOENT;
		return *gone ? 0 : fail_errno(r, e, true, errno, "stat");
	}
	if (self.st_dev != there.st_dev || self.st_ino != there.st_ino) {
		if (e->depth == 0)   /* a root named through a symlink: the link stays */
			return 0;
		pyc_error_set(&r->err, PYC_EIO, 0,
		              "cannot remove '%s': replaced during the run, left alone", e->path);
		return failed(r, e->path, e->path_len, true);
	}
	if (!r->o->dry_run && unlinkat(pfd, name, AT_REMOVEDIR) != 0) {
		/* Not empty: something we did not list (excluded, or new) stays with it. */
		if (errno == ENOTEMPTY || errno == EEXIST)
			return 0;
		*gone = errno == ENOENT;
		return *gone ? 0 : fail_errno(r, e, true, errno, "remove");
	}
	*gone = true;
	r->t->dirs++;
	return emit(r, PYC_CLEAN_REMOVED, e->path, e->path_len, true, 0, NULL);
}

static bool is_prefix_dir(const struct clean_run *r, const pyc_walk_entry *e)
{
	struct stat st;
	return r->skip_prefix && fstat(e->fd, &st) == 0 && st.st_dev == r->prefix_dev &&
	       st.st_ino == r->prefix_ino;
}

static int on_dir(struct clean_run *r, const pyc_walk_entry *e)
{
	/* Grow first: a parent pointer taken before the realloc would dangle. */
	if (ensure_frames(r, (size_t)e->depth + 1) < 0)
		return PYC_ENOMEM;
	struct frame *parent = parent_frame(r, e);
	struct frame *f = &r->frames[e->depth];
	memset(f, 0, sizeof(*f));
	if (e->is_mount_point) {
		if (parent)
			parent->kept++;
		return 0;
	}
	if (parent && parent->kind == FRAME_PYCACHE) {
		pyc_walker_skip(r->w);
		parent->kept++;
		return foreign(r, e, true);
	}
	if (!r->mirror && is_prefix_dir(r, e)) {   /* its own walk cleans the mirror */
		pyc_walker_skip(r->w);
		if (parent)
			parent->kept++;
		return 0;
	}
	f->active = true;
	f->kind = r->mirror ? FRAME_MIRROR
	                    : pyc_is_pycache_dir(e->depth ? e->name : pyc_buf_cstr(&r->root_base))
	                              ? FRAME_PYCACHE
	                              : FRAME_PLAIN;
	return 0;
}

static int on_dir_post(struct clean_run *r, const pyc_walk_entry *e)
{
	if (e->depth >= r->nframes || !r->frames[e->depth].active)
		return 0;
	struct frame *f = &r->frames[e->depth];
	f->active = false;
	bool go = (f->kind == FRAME_PYCACHE && f->kept == 0) ||
	          (f->kind == FRAME_MIRROR && f->kept == 0 && f->removed > 0);
	bool gone = false;
	int rc = go ? remove_dir(r, e, &gone) : 0;
	struct frame *parent = parent_frame(r, e);
	if (parent) {
		if (gone)
			parent->removed++;
		else
			parent->kept++;
	}
	return rc;
}

static int on_entry(struct clean_run *r, const pyc_walk_entry *e)
{
	struct frame *parent;
	switch (e->kind) {
	case PYC_WALK_DIR:
		return on_dir(r, e);
	case PYC_WALK_DIR_POST:
		return on_dir_post(r, e);
	case PYC_WALK_ERROR:
		/* A directory that could not be opened, or one lost mid-walk (no DIR_POST
		 * follows then): either way it stays, and so does its parent. */
		if (e->depth < r->nframes)
			r->frames[e->depth].active = false;
		if ((parent = parent_frame(r, e)) != NULL)
			parent->kept++;
		return fail_errno(r, e, true, e->error, "read directory");
	default:
		break;
	}
	parent = parent_frame(r, e);
	if (!parent) {
		if (e->depth == 0)
			return fail_errno(r, e, false, ENOTDIR, "clean");
		return 0;
	}
	if (parent->kind != FRAME_PLAIN)
		return cache_file(r, e, parent);
	if (r->o->legacy || r->o->sourceless)
		return legacy_file(r, e, parent);
	return 0;
}

/*
 * Note the root's last component and open the directory holding it, needed to judge or
 * remove a root that is itself a cache directory. The user named the root, so its path
 * is followed, except that a root that is a symlink named __pycache__ is refused.
 */
static int open_root(struct clean_run *r, bool *refuse)
{
	size_t n = strlen(r->root);
	while (n > 1 && r->root[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && r->root[b - 1] != '/')
		b--;
	pyc_buf_clear(&r->root_base);
	if (pyc_buf_put(&r->root_base, r->root + b, n - b) < 0)
		return PYC_ENOMEM;
	*refuse = false;
	bool is_cache = r->mirror || pyc_is_pycache_dir(pyc_buf_cstr(&r->root_base));
	if (!is_cache)
		return 0;
	struct stat st;
	if (!r->mirror && lstat(r->root, &st) == 0 && S_ISLNK(st.st_mode)) {
		*refuse = true;
		pyc_error_set(&r->err, PYC_EINVAL, 0,
		              "cannot clean '%s': a symbolic link named __pycache__ is not entered",
		              r->root);
		return 0;
	}
	if (pyc_buf_sets(&r->tmp, b == 0 ? "." : "") < 0 ||
	    pyc_buf_put(&r->tmp, r->root, b == 1 ? 1 : b ? b - 1 : 0) < 0)
		return PYC_ENOMEM;
	r->root_parent_fd = open(r->tmp.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static void end_root(struct clean_run *r)
{
	pyc_walker_free(r->w);
	r->w = NULL;
	if (r->root_parent_fd >= 0)
		close(r->root_parent_fd);
	r->root_parent_fd = -1;
	if (r->src_fd >= 0)
		close(r->src_fd);
	r->src_fd = -1;
	r->src_valid = false;
	for (size_t i = 0; i < r->nframes; i++)
		r->frames[i].active = false;
}

/* Walk one root (a path, or the prefix mirror of one) and clean what it holds. */
static int walk_root(struct clean_run *r, const char *root, bool mirror, const char *src_root,
                     pyc_error *err)
{
	r->root = root;
	r->root_len = strlen(root);
	r->mirror = mirror;
	r->src_root = src_root;
	bool refuse;
	int rc = open_root(r, &refuse);
	if (rc < 0 || refuse) {
		end_root(r);
		return rc < 0 ? rc : failed(r, root, r->root_len, true);
	}
	unsigned flags = PYC_WALK_POSTORDER | (r->o->cross_mounts ? PYC_WALK_CROSS_MOUNTS : 0u) |
	                 (r->o->skip_envs ? PYC_WALK_SKIP_ENVS : 0u);
	rc = pyc_walker_new(&r->w, root, flags, &r->err);
	if (rc < 0) {
		end_root(r);
		if (rc == PYC_ENOMEM)
			return pyc_error_set(err, rc, 0, "out of memory");
		return mirror && rc == PYC_ENOTFOUND ? 0 : failed(r, root, r->root_len, true);
	}
	for (size_t i = 0; i < r->o->nexcludes && rc == 0; i++)
		rc = pyc_walker_exclude(r->w, r->o->excludes[i]);
	const pyc_walk_entry *e;
	while (rc == 0 && (rc = pyc_walker_next(r->w, &e)) > 0) {
		rc = on_entry(r, e);
		if (r->stop)
			break;
	}
	r->t->skipped += pyc_walker_skipped(r->w);
	end_root(r);
	if (rc < 0)
		return pyc_error_set(err, rc, r->err.sys_errno, "%s",
		                     rc == PYC_ENOMEM ? "out of memory" : r->err.message);
	return 0;
}

/* Prune the prefix directory from source walks (the tree may contain it). */
static void note_prefix(struct clean_run *r)
{
	struct stat st;
	r->skip_prefix = r->o->prefix && stat(r->o->prefix, &st) == 0 && S_ISDIR(st.st_mode);
	if (r->skip_prefix) {
		r->prefix_dev = st.st_dev;
		r->prefix_ino = st.st_ino;
	}
}

static int clean_path(struct clean_run *r, const char *path, pyc_error *err)
{
	if (!r->o->prefix)
		return walk_root(r, path, false, NULL, err);
	pyc_buf mirror = PYC_BUF_INIT;
	int rc = pyc_clean_mirror_path(&mirror, r->o->prefix, path, NULL, err);
	if (rc < 0)
		return rc;
	/* A source tree that is gone may still have a mirror full of orphans. */
	struct stat st;
	bool src_gone = lstat(path, &st) != 0 && errno == ENOENT && stat(mirror.ptr, &st) == 0;
	if (!src_gone)
		rc = walk_root(r, path, false, NULL, err);
	if (rc == 0 && !r->stop)
		rc = walk_root(r, mirror.ptr, true, path, err);
	pyc_buf_dispose(&mirror);
	return rc;
}

int pyc_clean_run(pyc_clean_totals *out, const char *const *paths, size_t npaths,
                  const pyc_clean_opts *opts, pyc_error *err)
{
	memset(out, 0, sizeof(*out));
	struct clean_run r = { .o = opts, .t = out, .root_parent_fd = -1, .src_fd = -1 };
	note_prefix(&r);
	int rc = 0;
	for (size_t i = 0; i < npaths && rc == 0 && !r.stop; i++)
		rc = clean_path(&r, paths[i], err);
	free(r.frames);
	pyc_buf_dispose(&r.root_base);
	pyc_buf_dispose(&r.src_key);
	pyc_buf_dispose(&r.tag);
	pyc_buf_dispose(&r.src_name);
	pyc_buf_dispose(&r.tmp);
	return rc < 0 ? rc : r.stop;
}

int pyc_clean_mirror_path(pyc_buf *out, const char *prefix, const char *path, const char *cwd,
                          pyc_error *err)
{
	pyc_buf abs = PYC_BUF_INIT;
	int rc = pyc_abspath(&abs, path, cwd, err);
	if (rc < 0)
		goto done;
	/* sys.pycache_prefix semantics: the prefix without trailing slashes, then the path. */
	size_t plen = strlen(prefix);
	while (plen > 1 && prefix[plen - 1] == '/')
		plen--;
	if (plen == 1 && prefix[0] == '/')
		plen = 0;
	pyc_buf_clear(out);
	bool root = abs.len == 1;   /* "/": nothing to add to a prefix */
	if ((rc = pyc_buf_put(out, prefix, plen)) == 0 && !(root && plen))
		rc = pyc_buf_put(out, abs.ptr, abs.len);
	if (rc == PYC_ENOMEM)
		pyc_error_set(err, rc, 0, "out of memory");
done:
	pyc_buf_dispose(&abs);
	return rc;
}
