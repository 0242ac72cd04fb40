/*
 * Streaming cache scanner: see include/pyc/scan.h and docs/status.md.
 *
 * This is the hot path of `pyc-tool status`. Per walker entry it does string work on
 * the borrowed name only; per cache it costs pyc_stale_check()'s four syscalls, with the
 * source looked up relative to the walker's open directory fds (no path resolution from
 * the root). Records point into the walker's entry or into buffers reused across calls.
 */
#include "pyc/scan.h"

#include "pyc/buf.h"
#include "pyc/cache_path.h"
#include "pyc/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYCACHE_SLASH "__pycache__/"
#define PYCACHE_SLASH_LEN 12
#define SCAN_MAX_LEVELS 16

enum scan_phase { PHASE_TREE, PHASE_PREFIX, PHASE_DONE };

struct pyc_scan {
	pyc_walker *w;
	enum scan_phase phase;
	char *root;
	bool root_is_dir;
	char *cwd;                 /* only with a prefix */
	char *prefix;              /* NULL when none */
	char *mirror;              /* prefix + abspath(root): where the root's caches go */
	size_t mirror_len;
	char *prefix_abs;          /* absolute prefix without trailing '/', skipped in the tree */
	bool target;
	char *tag;                 /* target tag, NULL for a tagless target */
	int levels[SCAN_MAX_LEVELS];
	size_t nlevels;
	char **excludes;
	size_t nexcludes;
	unsigned walk_flags;
	const pyc_walk_entry *pending;  /* a source still to be checked for MISSING */
	size_t pending_level;
	pyc_buf path, source, tmp, msg;
	char tagbuf[64];
	char optbuf[32];
	pyc_scan_record rec;
	pyc_error err;
};

const char *pyc_scan_where_name(enum pyc_scan_where w)
{
	switch (w) {
	case PYC_SCAN_PYCACHE: return "pycache";
	case PYC_SCAN_LEGACY: return "legacy";
	case PYC_SCAN_PREFIX: return "prefix";
	}
	return "?";
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Is the entry's parent directory named __pycache__? Decided on the path alone. */
static bool in_pycache(const pyc_walk_entry *e)
{
	size_t off = (size_t)(e->name - e->path);
	if (off < PYCACHE_SLASH_LEN)
		return false;
	const char *p = e->name - PYCACHE_SLASH_LEN;
	return memcmp(p, PYCACHE_SLASH, PYCACHE_SLASH_LEN) == 0 && (p == e->path || p[-1] == '/');
}

static void rec_reset(pyc_scan *s, enum pyc_scan_where where)
{
	memset(&s->rec, 0, sizeof(s->rec));
	s->rec.where = where;
	s->rec.source = "";
	s->rec.opt = "";
}

static int rec_error(pyc_scan *s, const char *path, int code, const char *what)
{
	pyc_buf_clear(&s->msg);
	if (pyc_buf_printf(&s->msg, "%s: %s", path, what) < 0)
		return PYC_ENOMEM;
	rec_reset(s, PYC_SCAN_PYCACHE);
	s->rec.path = path;
	s->rec.error = code;
	s->rec.message = pyc_buf_cstr(&s->msg);
	return 1;
}

/* Fill tagbuf/optbuf from a parsed name. Returns false for a tag too long to be real. */
static bool copy_name_parts(pyc_scan *s, const pyc_cache_name *cn)
{
	if (cn->tag_len >= sizeof(s->tagbuf) || cn->opt_len >= sizeof(s->optbuf))
		return false;
	memcpy(s->tagbuf, cn->tag, cn->tag_len);
	s->tagbuf[cn->tag_len] = '\0';
	if (cn->opt_len)  /* cn->opt may be NULL when there is no ".opt-" part */
		memcpy(s->optbuf, cn->opt, cn->opt_len);
	s->optbuf[cn->opt_len] = '\0';
	return true;
}

static bool is_cpython_tag(const char *tag)
{
	return strncmp(tag, "cpython-", 8) == 0;
}

/*
 * Parse a cache name found in __pycache__ or under the prefix. 3.2-3.4 wrote -O caches
 * as __pycache__/foo.cpython-34.pyo, so ".pyo" is parsed as if it were ".pyc".
 * Returns 1 parsed, 0 bad name.
 */
static int parse_cache_name(pyc_scan *s, const char *name, pyc_cache_name *cn)
{
	size_t len = strlen(name);
	if (ends_with(name, len, ".pyo")) {
		pyc_buf_clear(&s->tmp);
		if (pyc_buf_put(&s->tmp, name, len - 1) < 0 || pyc_buf_putc(&s->tmp, 'c') < 0)
			return PYC_ENOMEM;
		name = pyc_buf_cstr(&s->tmp);
	}
	if (pyc_cache_name_parse(cn, name) < 0 || !copy_name_parts(s, cn))
		return 0;
	return 1;
}

/* Run the checker and turn its outcome into a record (1), nothing (0) or an error record. */
static int judge(pyc_scan *s, const char *cache_path, enum pyc_cache_kind kind, int cdirfd,
                 const char *cname, const char *tag, int sdirfd, const char *sname)
{
	pyc_error_clear(&s->err);
	int rc = pyc_stale_check(&s->rec.verdict, kind, cdirfd, cname, tag, sdirfd, sname, &s->err);
	if (rc == PYC_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rec_error(s, cache_path, rc, s->err.message);
	s->rec.path = cache_path;
	s->rec.source = pyc_buf_cstr(&s->source);
	return 1;
}

static int bad_name(pyc_scan *s, const char *path, enum pyc_scan_where where)
{
	rec_reset(s, where);
	s->rec.path = path;
	s->rec.verdict.state = PYC_STATE_ORPHAN;
	s->rec.verdict.reason = PYC_REASON_BAD_NAME;
	return 1;
}

/* A file in a __pycache__ directory: <dir>/__pycache__/<stem>.<tag>[.opt-N].pyc. */
static int judge_pycache(pyc_scan *s, const pyc_walk_entry *e)
{
	pyc_cache_name cn;
	int p = parse_cache_name(s, e->name, &cn);
	if (p < 0)
		return p;
	if (p == 0)
		return bad_name(s, e->path, PYC_SCAN_PYCACHE);
	if (!is_cpython_tag(s->tagbuf))
		return 0;
	rec_reset(s, PYC_SCAN_PYCACHE);
	s->rec.tag = s->tagbuf;
	s->rec.opt = s->optbuf;

	size_t dir_len = (size_t)(e->name - e->path) - PYCACHE_SLASH_LEN;
	pyc_buf_clear(&s->source);
	if (pyc_buf_put(&s->source, e->path, dir_len) < 0 ||
	    pyc_buf_put(&s->source, cn.stem, cn.stem_len) < 0 || pyc_buf_puts(&s->source, ".py") < 0)
		return PYC_ENOMEM;

	int sdirfd = e->depth >= 2 ? pyc_walker_dirfd_at(s->w, e->depth - 2) : -1;
	const char *sname = pyc_buf_cstr(&s->source);
	if (sdirfd < 0)
		sdirfd = AT_FDCWD;
	else
		sname += dir_len;
	int cdirfd = e->depth >= 1 ? e->dirfd : AT_FDCWD;
	const char *cname = e->depth >= 1 ? e->name : e->path;
	return judge(s, e->path, PYC_CACHE_PEP3147, cdirfd, cname, s->tagbuf, sdirfd, sname);
}

/* foo.pyc / foo.pyo beside foo.py (compileall -b, Python 2, 3.0-3.1). */
static int judge_legacy(pyc_scan *s, const pyc_walk_entry *e)
{
	rec_reset(s, PYC_SCAN_LEGACY);
	pyc_buf_clear(&s->source);
	if (pyc_buf_put(&s->source, e->path, e->path_len - 1) < 0)
		return PYC_ENOMEM;
	const char *src = pyc_buf_cstr(&s->source);
	if (e->depth >= 1)
		return judge(s, e->path, PYC_CACHE_LEGACY, e->dirfd, e->name, NULL, e->dirfd,
		             src + (e->name - e->path));
	return judge(s, e->path, PYC_CACHE_LEGACY, AT_FDCWD, e->path, NULL, AT_FDCWD, src);
}

/* A file under prefix + abspath(root): its source is root + the same relative path. */
static int judge_prefix(pyc_scan *s, const pyc_walk_entry *e)
{
	if (e->depth == 0)
		return 0;
	pyc_cache_name cn;
	int p = parse_cache_name(s, e->name, &cn);
	if (p < 0)
		return p;
	if (p == 0)
		return bad_name(s, e->path, PYC_SCAN_PREFIX);
	if (!is_cpython_tag(s->tagbuf))
		return 0;
	rec_reset(s, PYC_SCAN_PREFIX);
	s->rec.tag = s->tagbuf;
	s->rec.opt = s->optbuf;
	/* e->path is mirror + "/rel/dir/" + name; keep "/rel/dir/". */
	const char *rel = e->path + s->mirror_len;
	size_t rel_len = (size_t)(e->name - rel);
	pyc_buf_clear(&s->source);
	if (pyc_buf_puts(&s->source, s->root) < 0 || pyc_buf_put(&s->source, rel, rel_len) < 0 ||
	    pyc_buf_put(&s->source, cn.stem, cn.stem_len) < 0 || pyc_buf_puts(&s->source, ".py") < 0)
		return PYC_ENOMEM;
	return judge(s, e->path, PYC_CACHE_PEP3147, e->dirfd, e->name, s->tagbuf, AT_FDCWD,
	             pyc_buf_cstr(&s->source));
}

/* Put the expected cache of source `src` (a name relative to dirfd, or a path) in out. */
static int expected_cache(pyc_scan *s, pyc_buf *out, const char *src, int level)
{
	const char *opt = "";
	if (level > 0) {
		snprintf(s->optbuf, sizeof(s->optbuf), "%d", level);
		opt = s->optbuf;
	}
	if (!s->tag) {
		pyc_buf_clear(out);
		if (pyc_buf_put(out, src, strlen(src) - 1) < 0 ||
		    pyc_buf_puts(out, level > 0 ? "yo" : "yc") < 0)
			return PYC_ENOMEM;
		return 0;
	}
	if (s->prefix)
		return pyc_cache_from_source(out, src, s->tag, opt, s->prefix, s->cwd);
	return pyc_cache_from_source(out, src, s->tag, opt, NULL, NULL);
}

/* The MISSING checks of the pending source, one level per call. Returns 1, 0 or <0. */
static int next_missing(pyc_scan *s)
{
	const pyc_walk_entry *e = s->pending;
	while (s->pending_level < s->nlevels) {
		int level = s->levels[s->pending_level++];
		/* Check relative to the open directory unless the cache lives elsewhere. */
		bool relative = e->depth >= 1 && !(s->prefix && s->tag);
		int rc = expected_cache(s, &s->tmp, relative ? e->name : e->path, level);
		if (rc < 0)
			return rc == PYC_EINVAL ? 0 : rc;
		struct stat st;
		if (fstatat(relative ? e->dirfd : AT_FDCWD, pyc_buf_cstr(&s->tmp), &st, 0) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR))
			continue;
		if (relative && (rc = expected_cache(s, &s->path, e->path, level)) < 0)
			return rc;
		rec_reset(s, s->prefix && s->tag ? PYC_SCAN_PREFIX
		                                 : s->tag ? PYC_SCAN_PYCACHE : PYC_SCAN_LEGACY);
		s->rec.path = pyc_buf_cstr(relative ? &s->path : &s->tmp);
		s->rec.source = e->path;
		s->rec.tag = s->tag;
		s->rec.opt = level > 0 ? s->optbuf : "";
		s->rec.verdict.state = PYC_STATE_MISSING;
		return 1;
	}
	s->pending = NULL;
	return 0;
}

/* A *.py entry: queue it for the MISSING checks if it is a source file. */
static void maybe_source(pyc_scan *s, const pyc_walk_entry *e)
{
	if (e->kind == PYC_WALK_SYMLINK) {
		struct stat st;
		int dirfd = e->depth >= 1 ? e->dirfd : AT_FDCWD;
		if (fstatat(dirfd, e->depth >= 1 ? e->name : e->path, &st, 0) != 0 ||
		    !S_ISREG(st.st_mode))
			return;
	}
	s->pending = e;
	s->pending_level = 0;
}

/* Is this tree directory the pycache prefix itself (its caches are walked separately)? */
static bool is_prefix_dir(const pyc_scan *s, const pyc_walk_entry *e)
{
	const char *p = e->path;
	if (p[0] == '/')
		return strcmp(p, s->prefix_abs) == 0;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	size_t cl = strlen(s->cwd);
	if (cl == 1)
		cl = 0;  /* cwd "/" */
	return strncmp(s->prefix_abs, s->cwd, cl) == 0 && s->prefix_abs[cl] == '/' &&
	       strcmp(s->prefix_abs + cl + 1, p) == 0;
}

static int handle_tree_entry(pyc_scan *s, const pyc_walk_entry *e)
{
	if (e->kind == PYC_WALK_DIR) {
		if (e->depth == 0)
			s->root_is_dir = true;
		else if (s->prefix_abs && is_prefix_dir(s, e))
			pyc_walker_skip(s->w);
		return 0;
	}
	if (e->kind != PYC_WALK_FILE && e->kind != PYC_WALK_SYMLINK)
		return 0;
	bool cache_dir = in_pycache(e);
	if (ends_with(e->name, e->path_len - (size_t)(e->name - e->path), ".py")) {
		if (s->target && !cache_dir)
			maybe_source(s, e);
		return 0;
	}
	if (!pyc_is_bytecode_name(e->name))
		return 0;
	return cache_dir ? judge_pycache(s, e) : judge_legacy(s, e);
}

static int handle_entry(pyc_scan *s, const pyc_walk_entry *e)
{
	if (e->kind == PYC_WALK_ERROR) {
		char what[256];
		snprintf(what, sizeof(what), "cannot read directory: %s", strerror(e->error));
		return rec_error(s, e->path, PYC_EIO, what);
	}
	if (s->phase == PHASE_TREE)
		return handle_tree_entry(s, e);
	if ((e->kind == PYC_WALK_FILE || e->kind == PYC_WALK_SYMLINK) && pyc_is_bytecode_name(e->name))
		return judge_prefix(s, e);
	return 0;
}

static int open_walker(pyc_scan *s, const char *root)
{
	int rc = pyc_walker_new(&s->w, root, s->walk_flags, &s->err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->nexcludes; i++)
		if ((rc = pyc_walker_exclude(s->w, s->excludes[i])) < 0)
			return rc;
	return 0;
}

/* At the end of a walk: after the tree, walk the root's prefix mirror if there is one. */
static int end_of_walk(pyc_scan *s)
{
	bool was_tree = s->phase == PHASE_TREE;
	pyc_walker_free(s->w);
	s->w = NULL;
	s->phase = PHASE_DONE;
	if (!was_tree || !s->mirror || !s->root_is_dir)
		return 0;
	pyc_error_clear(&s->err);
	int rc = open_walker(s, s->mirror);
	if (rc == PYC_ENOTFOUND)
		return 0;
	if (rc == PYC_ENOMEM)
		return rc;
	s->phase = PHASE_PREFIX;
	if (rc < 0) {
		pyc_walker_free(s->w);
		s->w = NULL;
		s->phase = PHASE_DONE;
		return rec_error(s, s->mirror, rc, s->err.message);
	}
	return 0;
}

int pyc_scan_next(pyc_scan *s, const pyc_scan_record **out)
{
	for (;;) {
		int rc;
		if (s->pending) {
			rc = next_missing(s);
		} else if (s->phase == PHASE_DONE) {
			return 0;
		} else {
			const pyc_walk_entry *e;
			rc = pyc_walker_next(s->w, &e);
			if (rc < 0)
				return rc;
			rc = rc == 0 ? end_of_walk(s) : handle_entry(s, e);
		}
		if (rc < 0)
			return rc;
		if (rc > 0) {
			*out = &s->rec;
			return 1;
		}
	}
}

/* prefix + abspath(root), computed by the same code that places caches there. */
static int compute_mirror(pyc_scan *s)
{
	pyc_buf src = PYC_BUF_INIT, out = PYC_BUF_INIT;
	int rc = PYC_ENOMEM;
	if (pyc_buf_puts(&src, s->root) < 0 || pyc_buf_puts(&src, "/x.py") < 0)
		goto done;
	rc = pyc_cache_from_source(&out, pyc_buf_cstr(&src), "t", NULL, s->prefix, s->cwd);
	if (rc < 0)
		goto done;
	char *slash = strrchr(out.ptr, '/');
	if (slash)
		pyc_buf_truncate(&out, (size_t)(slash - out.ptr));
	s->mirror_len = out.len;
	s->mirror = pyc_buf_detach(&out);
	rc = s->mirror ? 0 : PYC_ENOMEM;
done:
	pyc_buf_dispose(&src);
	pyc_buf_dispose(&out);
	return rc;
}

static int setup_prefix(pyc_scan *s, const char *prefix, pyc_error *err)
{
	pyc_buf b = PYC_BUF_INIT;
	s->cwd = getcwd(NULL, 0);
	if (!s->cwd)
		return pyc_error_set(err, PYC_EIO, errno, "cannot get the current directory");
	s->prefix = strdup(prefix);
	if (!s->prefix)
		return PYC_ENOMEM;
	if (prefix[0] != '/' && (pyc_buf_puts(&b, s->cwd) < 0 || pyc_buf_putc(&b, '/') < 0))
		goto nomem;
	if (pyc_buf_puts(&b, prefix) < 0)
		goto nomem;
	while (b.len > 1 && b.ptr[b.len - 1] == '/')
		pyc_buf_truncate(&b, b.len - 1);
	s->prefix_abs = pyc_buf_detach(&b);
	if (!s->prefix_abs)
		return PYC_ENOMEM;
	int rc = compute_mirror(s);
	if (rc < 0)
		return pyc_error_set(err, rc, 0, "cannot place caches of '%s' under prefix '%s'",
		                     s->root, prefix);
	return 0;
nomem:
	pyc_buf_dispose(&b);
	return PYC_ENOMEM;
}

static int insert_level(pyc_scan *s, int level)
{
	size_t i = 0;
	while (i < s->nlevels && s->levels[i] < level)
		i++;
	if (i < s->nlevels && s->levels[i] == level)
		return 0;
	if (s->nlevels == SCAN_MAX_LEVELS)
		return PYC_EINVAL;
	memmove(s->levels + i + 1, s->levels + i, (s->nlevels - i) * sizeof(int));
	s->levels[i] = level;
	s->nlevels++;
	return 0;
}

static int copy_opts(pyc_scan *s, const pyc_scan_opts *o, pyc_error *err)
{
	s->walk_flags = o->walk_flags;
	s->target = o->target;
	if (o->target && o->target_tag) {
		if (!o->target_tag[0] || strchr(o->target_tag, '/'))
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid cache tag '%s'", o->target_tag);
		if (!(s->tag = strdup(o->target_tag)))
			return PYC_ENOMEM;
	}
	for (size_t i = 0; i < o->nlevels; i++)
		if (o->levels[i] < 0 || insert_level(s, o->levels[i]) < 0)
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid optimisation level %d",
			                     o->levels[i]);
	if (s->nlevels == 0)
		insert_level(s, 0);
	if (o->nexcludes) {
		s->excludes = calloc(o->nexcludes, sizeof(char *));
		if (!s->excludes)
			return PYC_ENOMEM;
		for (size_t i = 0; i < o->nexcludes; i++, s->nexcludes++)
			if (!(s->excludes[i] = strdup(o->excludes[i])))
				return PYC_ENOMEM;
	}
	if (o->prefix && o->prefix[0])
		return setup_prefix(s, o->prefix, err);
	return 0;
}

int pyc_scan_new(pyc_scan **out, const char *root, const pyc_scan_opts *opts, pyc_error *err)
{
	static const pyc_scan_opts defaults;
	*out = NULL;
	pyc_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	int rc = PYC_ENOMEM;
	if (!(s->root = strdup(root)))
		goto fail;
	if ((rc = copy_opts(s, opts ? opts : &defaults, err)) < 0)
		goto fail;
	if ((rc = open_walker(s, root)) < 0) {
		if (err && rc != PYC_ENOMEM)
			*err = s->err;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	pyc_scan_free(s);
	if (rc == PYC_ENOMEM)
		pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	return rc;
}

void pyc_scan_free(pyc_scan *s)
{
	if (!s)
		return;
	pyc_walker_free(s->w);
	free(s->root);
	free(s->cwd);
	free(s->prefix);
	free(s->mirror);
	free(s->prefix_abs);
	free(s->tag);
	for (size_t i = 0; i < s->nexcludes; i++)
		free(s->excludes[i]);
	free(s->excludes);
	pyc_buf_dispose(&s->path);
	pyc_buf_dispose(&s->source);
	pyc_buf_dispose(&s->tmp);
	pyc_buf_dispose(&s->msg);
	free(s);
}
