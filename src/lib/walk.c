/*
 * The directory walker: one frame per depth on the current path, each holding the
 * directory's fd and its sorted names. A frame's name arena and entry array are
 * reused by the next directory read at that depth, so a walk allocates only when a
 * directory is wider (or the tree deeper) than any seen before. See
 * include/pyc/walk.h for the contract.
 */
#include "pyc/walk.h"
#include "pyc/buf.h"
#include "walk_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open directory fds kept on the current path; deeper ancestors are reopened via "..". */
#define WALK_FD_WINDOW 32
#define WALK_DENTS_BUF 32768

#ifdef O_PATH
#define WALK_O_PATH O_PATH
#else
#define WALK_O_PATH O_RDONLY
#endif

/* d_type of an entry handed to another walker by pyc_walk__split(). */
#define WALK_DT_DELEGATED 0xff

struct walk_name {
	union {
		size_t off;      /* into the frame's arena while reading */
		void *cookie;    /* once delegated (type WALK_DT_DELEGATED) */
	} u;
	const char *name;    /* set once the arena stops moving */
	size_t len;
	unsigned char type;  /* DT_* */
};

struct frame {
	int fd;                  /* -1 when closed to bound fd use, or lost */
	int lost_errno;          /* the fd could not be reopened: report, then leave */
	dev_t dev;
	ino_t ino;
	size_t path_len;         /* this directory's path is path.ptr[0..path_len) */
	size_t name_off;         /* where its last component starts */
	struct walk_name *ents;
	size_t n, cap, next;
	size_t split_next;       /* entries before it were looked at by pyc_walk__split() */
	char *arena;
	size_t arena_len, arena_cap;
	bool post;               /* emit PYC_WALK_DIR_POST once its entries are done */
};

struct exclude {
	char *glob;
	bool on_path;            /* has a '/': matched against the root-relative path */
	bool dirs_only;          /* written with a trailing '/' */
};

/* A directory above the root of a split-off walker, for the bind-mount loop check. */
struct dev_ino {
	dev_t dev;
	ino_t ino;
};

struct pyc_walker {
	unsigned flags;
	int state;               /* 0 root not yet reported, 1 walking */
	int start_fd;            /* the root, already opened by pyc_walk__split(); else -1 */
	struct dev_ino *anc;     /* directories above the root (split-off walkers only) */
	size_t nanc;
	void *delegated;         /* cookie of the entry just returned, if handed over */
	struct stat root_st;
	int root_parent_fd;      /* dirfd reported for the root, AT_FDCWD or ours */
	size_t root_name_off;
	size_t rel_off;          /* where root-relative paths start in path */
	dev_t root_dev;
	struct frame *frames;
	size_t nframes, frames_cap;
	size_t split_lo;         /* frames below it have nothing left to hand over */
	bool pop_pending;        /* top frame's DIR_POST went out; pop on the next call */
	bool skippable;          /* the last entry was a DIR whose frame is on top */
	struct exclude *excl;
	size_t nexcl;
	size_t skipped;          /* environments passed over (PYC_WALK_SKIP_ENVS) */
	pyc_buf path;
	char *dents;             /* getdents64 buffer */
	pyc_walk_entry cur;
};

static bool is_dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct walk_name *)a)->name, ((const struct walk_name *)b)->name);
}

static int frame_add(struct frame *f, const char *name, unsigned char type)
{
	size_t len = strlen(name);
	if (f->arena_len + len + 1 > f->arena_cap) {
		size_t cap = f->arena_cap ? f->arena_cap : 4096;
		while (cap < f->arena_len + len + 1)
			cap *= 2;
		char *p = realloc(f->arena, cap);
		if (!p)
			return -ENOMEM;
		f->arena = p;
		f->arena_cap = cap;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct walk_name *p = realloc(f->ents, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->ents = p;
		f->cap = cap;
	}
	memcpy(f->arena + f->arena_len, name, len + 1);
	f->ents[f->n++] = (struct walk_name){{f->arena_len}, NULL, len, type};
	f->arena_len += len + 1;
	return 0;
}

#ifdef __linux__
/* getdents64 keeps the fd ours (no DIR to own it) and tells an error from the end. */
static int read_names(pyc_walker *w, struct frame *f, int fd)
{
	for (;;) {
		ssize_t got = getdents64(fd, w->dents, WALK_DENTS_BUF);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *d = (const struct dirent64 *)(w->dents + off);
			off += d->d_reclen;
			if (is_dot_or_dotdot(d->d_name))
				continue;
			int rc = frame_add(f, d->d_name, d->d_type);
			if (rc < 0)
				return rc;
		}
	}
}
#else
static int read_names(pyc_walker *w, struct frame *f, int fd)
{
	(void)w;
	int dup_fd = dup(fd);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!d) {
		int e = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		return -e;
	}
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (!is_dot_or_dotdot(de->d_name) && (rc = frame_add(f, de->d_name, de->d_type)) < 0)
			break;
	}
	closedir(d);
	return rc;
}
#endif

/* Fill frame f with the sorted names of directory fd. Returns 0 or -errno. */
static int frame_fill(pyc_walker *w, struct frame *f, int fd)
{
	f->n = 0;
	f->next = 0;
	f->split_next = 0;
	f->arena_len = 0;
	int rc = read_names(w, f, fd);
	if (rc < 0) {
		f->n = 0;
		return rc;
	}
	for (size_t i = 0; i < f->n; i++)
		f->ents[i].name = f->arena + f->ents[i].u.off;
	if (f->n > 1)
		qsort(f->ents, f->n, sizeof(*f->ents), name_cmp);
	return 0;
}

static int frames_reserve(pyc_walker *w, size_t n)
{
	if (n <= w->frames_cap)
		return 0;
	size_t cap = w->frames_cap ? w->frames_cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	struct frame *p = realloc(w->frames, cap * sizeof(*p));
	if (!p)
		return PYC_ENOMEM;
	memset(p + w->frames_cap, 0, (cap - w->frames_cap) * sizeof(*p));
	w->frames = p;
	w->frames_cap = cap;
	return 0;
}

static bool is_vcs_dir(const char *n)
{
	static const char *const vcs[] = {".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".jj"};
	if (n[0] != '.' && n[0] != '_' && n[0] != 'C')
		return false;
	for (size_t i = 0; i < sizeof(vcs) / sizeof(vcs[0]); i++)
		if (strcmp(n, vcs[i]) == 0)
			return true;
	return false;
}

/* rel: the entry's path relative to the root of the whole walk. */
static bool is_excluded(const pyc_walker *w, const char *rel, const char *name, bool is_dir)
{
	for (size_t i = 0; i < w->nexcl; i++) {
		if (w->excl[i].dirs_only && !is_dir)
			continue;
		const char *subject = w->excl[i].on_path ? rel : name;
		if (fnmatch(w->excl[i].glob, subject, 0) == 0)
			return true;
	}
	return false;
}

static unsigned char mode_to_dtype(mode_t m)
{
	if (S_ISDIR(m))
		return DT_DIR;
	if (S_ISREG(m))
		return DT_REG;
	if (S_ISLNK(m))
		return DT_LNK;
	return DT_FIFO; /* any other kind: reported as OTHER */
}

/* Tool directories that hold environments or other projects' trees, not this one's. */
static bool is_tool_dir(const char *n)
{
	return strcmp(n, ".tox") == 0 || strcmp(n, ".nox") == 0 || strcmp(n, "node_modules") == 0;
}

static const struct walk_name *frame_find(const struct frame *f, const char *name)
{
	struct walk_name key = { .name = name };
	if (f->n == 0)
		return NULL;
	return bsearch(&key, f->ents, f->n, sizeof(*f->ents), name_cmp);
}

/* The d_type of `name` in frame f, asking the file system when the listing did not say. */
static unsigned char frame_type(const struct frame *f, const struct walk_name *e)
{
	struct stat st;
	if (e->type != DT_UNKNOWN)
		return e->type;
	return fstatat(f->fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? mode_to_dtype(st.st_mode)
	                                                              : DT_UNKNOWN;
}

/* A virtual environment (PEP 405's pyvenv.cfg, anything but a directory) or a conda one
 * (a conda-meta directory), judged from the sorted listing: O(log n) comparisons, no
 * system call. Symlinks are not followed, as fd_is_env() does not follow them either. */
static bool frame_is_env(const struct frame *f)
{
	const struct walk_name *e = frame_find(f, "pyvenv.cfg");
	if (e && frame_type(f, e) != DT_DIR)
		return true;
	e = frame_find(f, "conda-meta");
	return e && frame_type(f, e) == DT_DIR;
}

/* The same answer for a directory not listed yet (pyc_walk__split): two fstatat calls. */
static bool fd_is_env(int fd)
{
	struct stat st;
	return (fstatat(fd, "pyvenv.cfg", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) ||
	       (fstatat(fd, "conda-meta", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
}

static enum pyc_walk_kind dtype_kind(unsigned char t)
{
	switch (t) {
	case DT_DIR: return PYC_WALK_DIR;
	case DT_LNK: return PYC_WALK_SYMLINK;
	case DT_FIFO: case DT_SOCK: case DT_CHR: case DT_BLK: return PYC_WALK_OTHER;
	default: return PYC_WALK_FILE;
	}
}

static int emit_error(pyc_walker *w, int error, const pyc_walk_entry **out)
{
	w->cur.kind = PYC_WALK_ERROR;
	w->cur.fd = -1;
	w->cur.error = error;
	*out = &w->cur;
	return 1;
}

/* Close the fd that just left the window of open ancestors. */
static void window_shrink(pyc_walker *w, size_t top)
{
	if (top < WALK_FD_WINDOW)
		return;
	struct frame *old = &w->frames[top - WALK_FD_WINDOW];
	if (old->fd >= 0) {
		close(old->fd);
		old->fd = -1;
	}
}

/* fd if it is the directory frame f was read from, else -1 (fd closed, errno set). */
static int same_dir(int fd, const struct frame *f)
{
	struct stat st;
	if (fd < 0)
		return -1;
	/* errno only when fstat failed; a successful call leaves an older one behind. */
	int e = fstat(fd, &st) < 0 ? errno : st.st_dev != f->dev || st.st_ino != f->ino ? ESTALE : 0;
	if (!e)
		return fd;
	close(fd);
	errno = e;
	return -1;
}

/*
 * Reopen the ancestor that re-enters the window: through ".." of its child, which
 * needs no path and sees through renames above; else (the child was moved away or
 * lost) by its path. Either way it must be the very directory that was listed.
 */
static void window_grow(pyc_walker *w, size_t top)
{
	if (top < WALK_FD_WINDOW)
		return;
	struct frame *f = &w->frames[top - WALK_FD_WINDOW];
	const struct frame *child = f + 1;
	if (f->fd >= 0 || f->lost_errno)
		return;
	errno = 0;
	int fd = -1;
	if (child->fd >= 0)
		fd = same_dir(openat(child->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC), f);
	if (fd < 0) {
		char saved = w->path.ptr[f->path_len];
		w->path.ptr[f->path_len] = '\0';
		errno = 0;
		fd = same_dir(open(w->path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC), f);
		w->path.ptr[f->path_len] = saved;
	}
	if (fd < 0)
		f->lost_errno = errno ? errno : ESTALE;
	f->fd = fd;
}

static void frame_pop(pyc_walker *w)
{
	size_t top = w->nframes - 1;
	window_grow(w, top);
	struct frame *f = &w->frames[top];
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->lost_errno = 0;
	w->nframes--;
}

/* A bind mount of an ancestor below itself would otherwise loop forever. */
static bool is_ancestor(const pyc_walker *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nframes; i++)
		if (w->frames[i].dev == st->st_dev && w->frames[i].ino == st->st_ino)
			return true;
	for (size_t i = 0; i < w->nanc; i++)
		if (w->anc[i].dev == st->st_dev && w->anc[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * Push frame `depth` for the just-opened directory fd (consumed) and read it unless it
 * is a mount point we stay out of. Returns 0, -errno (fd closed) or PYC_ENOMEM.
 */
static int frame_push(pyc_walker *w, size_t depth, int fd, const struct stat *st, bool *mount)
{
	struct frame *f = &w->frames[depth];
	*mount = depth > 0 && st->st_dev != w->root_dev && !(w->flags & PYC_WALK_CROSS_MOUNTS);
	f->n = f->next = f->split_next = 0;
	if (w->split_lo > depth)
		w->split_lo = depth;
	if (!*mount) {
		int rc = frame_fill(w, f, fd);
		if (rc < 0) {
			close(fd);
			return rc == -ENOMEM ? PYC_ENOMEM : rc;
		}
	}
	f->fd = fd;
	f->lost_errno = 0;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->path_len = w->path.len;
	f->name_off = (size_t)(w->cur.name - w->path.ptr);
	f->post = !*mount && (w->flags & PYC_WALK_POSTORDER);
	w->nframes = depth + 1;
	window_shrink(w, depth);
	return 0;
}

/* Push the frame of directory fd (consumed) at `depth` and report it as cur. */
static int report_dir(pyc_walker *w, size_t depth, int fd, const struct stat *st,
                      const pyc_walk_entry **out)
{
	bool mount;
	int rc = frame_push(w, depth, fd, st, &mount);
	if (rc == PYC_ENOMEM)
		return rc;
	if (rc < 0)
		return emit_error(w, -rc, out);
	if (depth > 0 && !mount && (w->flags & PYC_WALK_SKIP_ENVS) && frame_is_env(&w->frames[depth])) {
		frame_pop(w);
		w->skipped++;
		return 0;
	}
	w->cur.kind = PYC_WALK_DIR;
	w->cur.fd = fd;
	w->cur.is_mount_point = mount;
	w->skippable = true;
	*out = &w->cur;
	return 1;
}

/* Open and push a directory found at `depth` in its parent `pfd`; fills cur. */
static int enter_dir(pyc_walker *w, int pfd, size_t depth, const pyc_walk_entry **out)
{
	const char *name = w->cur.name;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		/* Replaced since it was listed: report what is there now, never follow it. */
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			w->cur.kind = dtype_kind(mode_to_dtype(st.st_mode));
			*out = &w->cur;
			return 1;
		}
	}
	if (fd < 0)
		return emit_error(w, errno, out);
	/* errno is only meaningful when fstat failed: a loop is ELOOP, whatever came before. */
	int e = fstat(fd, &st) < 0 ? errno : is_ancestor(w, &st) ? ELOOP : 0;
	if (e) {
		close(fd);
		return emit_error(w, e, out);
	}
	return report_dir(w, depth, fd, &st, out);
}

/* Report entry e of frame `t`. Returns 1 (reported), 0 (skipped) or PYC_ENOMEM. */
static int visit(pyc_walker *w, size_t t, const struct walk_name *e, const pyc_walk_entry **out)
{
	int pfd = w->frames[t].fd;
	unsigned char type = e->type;
	int stat_errno = 0;
	if (type == DT_UNKNOWN) {
		struct stat st;
		if (fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = mode_to_dtype(st.st_mode);
		else
			stat_errno = errno;
	}
	if (type == DT_DIR && !(w->flags & PYC_WALK_KEEP_VCS) && is_vcs_dir(e->name))
		return 0;

	pyc_buf_truncate(&w->path, w->frames[t].path_len);
	if ((w->path.len == 0 || w->path.ptr[w->path.len - 1] != '/') && pyc_buf_putc(&w->path, '/') < 0)
		return PYC_ENOMEM;
	size_t name_off = w->path.len;
	if (pyc_buf_put(&w->path, e->name, e->len) < 0)
		return PYC_ENOMEM;
	if (type != WALK_DT_DELEGATED && w->nexcl &&
	    is_excluded(w, w->path.ptr + w->rel_off, e->name, type == DT_DIR))
		return 0;
	if (type == DT_DIR && (w->flags & PYC_WALK_SKIP_ENVS) && is_tool_dir(e->name)) {
		w->skipped++;
		return 0;
	}

	w->cur = (pyc_walk_entry){.path = w->path.ptr, .path_len = w->path.len,
	                          .name = w->path.ptr + name_off, .dirfd = pfd, .fd = -1,
	                          .depth = (unsigned)(t + 1)};
	if (stat_errno)
		return emit_error(w, stat_errno, out);
	if (type == WALK_DT_DELEGATED) {
		/* Walked by another walker: reported here, in order, but not entered. */
		w->cur.kind = PYC_WALK_DIR;
		w->delegated = e->u.cookie;
		*out = &w->cur;
		return 1;
	}
	if (type != DT_DIR) {
		w->cur.kind = dtype_kind(type);
		*out = &w->cur;
		return 1;
	}
	if (frames_reserve(w, t + 2) < 0)
		return PYC_ENOMEM;
	return enter_dir(w, pfd, t + 1, out);
}

/* The entry for frame t's own directory (DIR_POST, or ERROR for a lost frame). */
static void self_entry(pyc_walker *w, size_t t)
{
	const struct frame *f = &w->frames[t];
	pyc_buf_truncate(&w->path, f->path_len);
	w->cur = (pyc_walk_entry){.kind = PYC_WALK_DIR_POST, .path = w->path.ptr,
	                          .path_len = w->path.len, .name = w->path.ptr + f->name_off,
	                          .dirfd = t ? w->frames[t - 1].fd : w->root_parent_fd,
	                          .fd = f->fd, .depth = (unsigned)t};
}

static int start(pyc_walker *w, const pyc_walk_entry **out)
{
	w->state = 1;
	w->cur = (pyc_walk_entry){.path = w->path.ptr, .path_len = w->path.len,
	                          .name = w->path.ptr + w->root_name_off,
	                          .dirfd = w->root_parent_fd, .fd = -1};
	*out = &w->cur;
	if (!S_ISDIR(w->root_st.st_mode)) {
		w->cur.kind = dtype_kind(mode_to_dtype(w->root_st.st_mode));
		return 1;
	}
	int fd = w->start_fd;
	w->start_fd = -1;
	if (fd < 0)
		fd = open(w->path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return emit_error(w, errno, out);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return emit_error(w, e, out);
	}
	if (!w->anc)   /* a split-off walker keeps the file system of the whole walk */
		w->root_dev = st.st_dev;
	if (frames_reserve(w, 1) < 0) {
		close(fd);
		return PYC_ENOMEM;
	}
	return report_dir(w, 0, fd, &st, out);
}

int pyc_walker_next(pyc_walker *w, const pyc_walk_entry **out)
{
	w->skippable = false;
	w->delegated = NULL;
	if (w->pop_pending) {
		frame_pop(w);
		w->pop_pending = false;
	}
	if (w->state == 0)
		return start(w, out);
	while (w->nframes > 0) {
		size_t t = w->nframes - 1;
		struct frame *f = &w->frames[t];
		if (f->fd < 0 && f->lost_errno) {
			self_entry(w, t);
			w->pop_pending = true;
			return emit_error(w, f->lost_errno, out);
		}
		if (f->next == f->n) {
			if (!f->post) {
				frame_pop(w);
				continue;
			}
			self_entry(w, t);
			w->pop_pending = true;
			*out = &w->cur;
			return 1;
		}
		int rc = visit(w, t, &f->ents[f->next++], out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void pyc_walker_skip(pyc_walker *w)
{
	if (!w || !w->skippable)
		return;
	struct frame *f = &w->frames[w->nframes - 1];
	f->next = f->n;
	f->post = false;
	w->skippable = false;
}

size_t pyc_walker_skipped(const pyc_walker *w)
{
	return w ? w->skipped : 0;
}

int pyc_walker_dirfd_at(const pyc_walker *w, unsigned depth)
{
	if (!w || depth >= w->nframes)
		return -1;
	return w->frames[depth].fd;
}

int pyc_walker_exclude(pyc_walker *w, const char *glob)
{
	struct exclude *p = realloc(w->excl, (w->nexcl + 1) * sizeof(*p));
	if (!p)
		return PYC_ENOMEM;
	w->excl = p;
	/* Relative paths never start with "./", and "build/" means the directory build. */
	while (glob[0] == '.' && glob[1] == '/')
		glob += 2;
	size_t n = strlen(glob);
	bool dirs_only = n > 1 && glob[n - 1] == '/';
	while (n > 1 && glob[n - 1] == '/')
		n--;
	char *copy = strndup(glob, n);
	if (!copy)
		return PYC_ENOMEM;
	w->excl[w->nexcl++] = (struct exclude){copy, memchr(copy, '/', n) != NULL, dirs_only};
	return 0;
}

/* The root's dirfd: its parent directory, so name-relative calls work on it too. */
static void open_root_parent(pyc_walker *w)
{
	char *p = w->path.ptr;
	char *slash = strrchr(p, '/');
	w->root_parent_fd = AT_FDCWD;
	w->root_name_off = 0;
	if (!slash || w->path.len == 1)
		return; /* a bare name, or "/" itself */
	pyc_buf dir = PYC_BUF_INIT;
	if (pyc_buf_put(&dir, p, slash == p ? 1 : (size_t)(slash - p)) < 0)
		return;
	int fd = open(dir.ptr, WALK_O_PATH | O_DIRECTORY | O_CLOEXEC);
	pyc_buf_dispose(&dir);
	if (fd >= 0) {
		w->root_parent_fd = fd;
		w->root_name_off = (size_t)(slash + 1 - p);
	}
}

int pyc_walker_new(pyc_walker **out, const char *root, unsigned flags, pyc_error *err)
{
	*out = NULL;
	struct stat st;
	if (stat(root, &st) < 0) {
		int e = errno;
		return pyc_error_set(err, e == ENOENT || e == ENOTDIR ? PYC_ENOTFOUND : PYC_EIO, e,
		                     "cannot walk '%s'", root);
	}
	pyc_walker *w = calloc(1, sizeof(*w));
	if (w) {
		w->root_parent_fd = AT_FDCWD;
		w->start_fd = -1;
	}
	if (!w || !(w->dents = malloc(WALK_DENTS_BUF)) || pyc_buf_sets(&w->path, root) < 0) {
		pyc_walker_free(w);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory walking '%s'", root);
	}
	w->flags = flags;
	w->root_st = st;
	/* "a/b/" walks as "a/b", so children read "a/b/x"; "/" stays "/". */
	while (w->path.len > 1 && w->path.ptr[w->path.len - 1] == '/')
		pyc_buf_truncate(&w->path, w->path.len - 1);
	w->rel_off = w->path.len + (w->path.ptr[w->path.len - 1] == '/' ? 0 : 1);
	open_root_parent(w);
	*out = w;
	return 0;
}

void pyc_walker_free(pyc_walker *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->frames_cap; i++) {
		if (i < w->nframes && w->frames[i].fd >= 0)
			close(w->frames[i].fd);
		free(w->frames[i].ents);
		free(w->frames[i].arena);
	}
	free(w->frames);
	for (size_t i = 0; i < w->nexcl; i++)
		free(w->excl[i].glob);
	free(w->excl);
	free(w->anc);
	if (w->start_fd >= 0)
		close(w->start_fd);
	if (w->root_parent_fd >= 0)
		close(w->root_parent_fd);
	free(w->dents);
	pyc_buf_dispose(&w->path);
	free(w);
}

void *pyc_walk__delegated(const pyc_walker *w)
{
	return w ? w->delegated : NULL;
}

/* out = the path of entry e of frame t, as visit() would build it. */
static int entry_path(const pyc_walker *w, size_t t, const struct walk_name *e, pyc_buf *out)
{
	size_t plen = w->frames[t].path_len;
	pyc_buf_clear(out);
	if (pyc_buf_put(out, w->path.ptr, plen) < 0 ||
	    ((plen == 0 || w->path.ptr[plen - 1] != '/') && pyc_buf_putc(out, '/') < 0) ||
	    pyc_buf_put(out, e->name, e->len) < 0)
		return PYC_ENOMEM;
	return 0;
}

/* A walker for the directory fd (not consumed) found in frame t of w at `path`. */
static int split_child(const pyc_walker *w, size_t t, const pyc_buf *path, const struct stat *st,
                       pyc_walker **child)
{
	pyc_walker *c = calloc(1, sizeof(*c));
	if (!c)
		return PYC_ENOMEM;
	c->root_parent_fd = AT_FDCWD;   /* the root's name is its whole path */
	c->start_fd = -1;
	c->flags = w->flags;
	c->root_st = *st;
	c->root_dev = w->root_dev;
	c->rel_off = w->rel_off;         /* same root-joined prefix as the parent's paths */
	c->nanc = w->nanc + t + 1;
	c->anc = malloc(c->nanc * sizeof(*c->anc));
	c->dents = malloc(WALK_DENTS_BUF);
	c->excl = w->nexcl ? calloc(w->nexcl, sizeof(*c->excl)) : NULL;
	if (!c->anc || !c->dents || (w->nexcl && !c->excl) ||
	    pyc_buf_put(&c->path, path->ptr, path->len) < 0)
		goto nomem;
	if (w->nanc)
		memcpy(c->anc, w->anc, w->nanc * sizeof(*c->anc));
	for (size_t i = 0; i <= t; i++)
		c->anc[w->nanc + i] = (struct dev_ino){w->frames[i].dev, w->frames[i].ino};
	for (; c->nexcl < w->nexcl; c->nexcl++) {
		c->excl[c->nexcl] = w->excl[c->nexcl];
		if (!(c->excl[c->nexcl].glob = strdup(w->excl[c->nexcl].glob)))
			goto nomem;
	}
	*child = c;
	return 0;
nomem:
	pyc_walker_free(c);
	return PYC_ENOMEM;
}

/* Open entry e of frame t and give it to a new walker: 1, 0 (left to w) or PYC_ENOMEM. */
static int hand_over(pyc_walker *w, size_t t, struct walk_name *e, const pyc_buf *path,
                     void *cookie, pyc_walker **child)
{
	int fd = openat(w->frames[t].fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	/* An environment is left to w, which skips and counts it when it gets there. */
	if (fstat(fd, &st) < 0 || is_ancestor(w, &st) ||
	    (st.st_dev != w->root_dev && !(w->flags & PYC_WALK_CROSS_MOUNTS)) ||
	    ((w->flags & PYC_WALK_SKIP_ENVS) && fd_is_env(fd))) {
		close(fd);
		return 0;
	}
	int rc = split_child(w, t, path, &st, child);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	(*child)->start_fd = fd;
	e->type = WALK_DT_DELEGATED;
	e->u.cookie = cookie;
	return 1;
}

/* Where pyc_walk__split() resumes in frame f: an entry it looked at once, or one already
 * visited, never becomes worth handing over again. */
static size_t split_cursor(const struct frame *f)
{
	return f->split_next > f->next ? f->split_next : f->next;
}

/*
 * Every entry is looked at most once per listing (each frame's cursor only moves on,
 * split_lo passes exhausted frames), and only the frames in the window of open fds are
 * searched: a split costs O(1) amortised, however wide or deep the tree. A worker goes
 * idle often; rescanning each frame from its next entry made wide directories quadratic.
 */
int pyc_walk__split(pyc_walker *w, walk_split_filter accept, void *ctx, void *cookie,
               pyc_walker **child)
{
	*child = NULL;
	size_t lo = w->split_lo < w->nframes ? w->split_lo : w->nframes;
	while (lo < w->nframes && split_cursor(&w->frames[lo]) >= w->frames[lo].n)
		lo++;
	w->split_lo = lo;
	if (w->nframes > WALK_FD_WINDOW && lo < w->nframes - WALK_FD_WINDOW)
		lo = w->nframes - WALK_FD_WINDOW;   /* fds above were closed: not split there */
	pyc_buf path = PYC_BUF_INIT;
	int rc = 0;
	/* Shallowest first: the biggest piece of work, and the first of it in walk order,
	 * so the parent reaches (and the reader drains) the child's output soonest. */
	for (size_t t = lo; t < w->nframes && rc == 0; t++) {
		struct frame *f = &w->frames[t];
		if (f->fd < 0)
			continue;
		for (f->split_next = split_cursor(f); f->split_next < f->n && rc == 0;) {
			struct walk_name *e = &f->ents[f->split_next++];
			if (e->type != DT_DIR || (!(w->flags & PYC_WALK_KEEP_VCS) && is_vcs_dir(e->name)) ||
			    ((w->flags & PYC_WALK_SKIP_ENVS) && is_tool_dir(e->name)))
				continue;
			if ((rc = entry_path(w, t, e, &path)) < 0)
				break;
			if ((w->nexcl && is_excluded(w, path.ptr + w->rel_off, e->name, true)) ||
			    !accept(ctx, path.ptr, e->name))
				continue;
			rc = hand_over(w, t, e, &path, cookie, child);
		}
	}
	pyc_buf_dispose(&path);
	return rc;
}
