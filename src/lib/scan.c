/*
 * Streaming cache scanner: see include/pyc/scan.h and docs/status.md.
 *
 * This is the hot path of `pyc-tool status`. Per walker entry it does string work on
 * the borrowed name only; per cache it costs pyc_stale_check()'s four syscalls, with the
 * source looked up relative to the walker's open directory fds (no path resolution from
 * the root). Records point into the walker's entry or into buffers reused across calls.
 */
#include "scan_internal.h"
#include "walk_internal.h"

#include "pyc/cache_path.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

bool pyc_scan__in_pycache(const char *path, size_t name_off)
{
	if (name_off < PYCACHE_SLASH_LEN)
		return false;
	const char *p = path + name_off - PYCACHE_SLASH_LEN;
	return memcmp(p, PYCACHE_SLASH, PYCACHE_SLASH_LEN) == 0 && (p == path || p[-1] == '/');
}

static bool in_pycache(const pyc_walk_entry *e)
{
	return pyc_scan__in_pycache(e->path, (size_t)(e->name - e->path));
}

static void rec_reset(pyc_scan *s, enum pyc_scan_where where)
{
	memset(&s->rec, 0, sizeof(s->rec));
	s->rec.where = where;
	s->rec.source = "";
	s->rec.opt = "";
}

/* An error record for PATH; the message is FMT. */
static int rec_error(pyc_scan *s, const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int rec_error(pyc_scan *s, const char *path, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pyc_buf_clear(&s->msg);
	int rc = pyc_buf_vprintf(&s->msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
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
		return rec_error(s, cache_path, rc, "%s: %s", cache_path, s->err.message);
	s->rec.path = cache_path;
	s->rec.source = pyc_buf_cstr(&s->source);
	return 1;
}

/*
 * What both PEP 3147 layouts (__pycache__ and the prefix tree) start with: parse the name;
 * a name no source maps to is an orphan (bad-name) at once, and a tag that is not
 * CPython's is not judged. Returns 1 to go on to the source, 2 with the bad-name record,
 * 0 when there is nothing to report, <0 on error.
 */
static int judge_cache_name(pyc_scan *s, const pyc_walk_entry *e, enum pyc_scan_where kind,
                            pyc_cache_name *cn)
{
	int p = parse_cache_name(s, e->name, cn);
	if (p < 0)
		return p;
	pyc_buf_clear(&s->source);
	if (p == 0) {
		rec_reset(s, kind);
		s->rec.path = e->path;
		s->rec.verdict.state = PYC_STATE_ORPHAN;
		s->rec.verdict.reason = PYC_REASON_BAD_NAME;
		return 2;
	}
	return is_cpython_tag(s->tagbuf) ? 1 : 0;
}

/* Judge the PEP 3147 cache at e, whose source is s->source (of which the last sname_len
 * bytes are its name in sdirfd, or all of it with AT_FDCWD). */
static int judge_pep3147(pyc_scan *s, const pyc_walk_entry *e, enum pyc_scan_where where,
                         int sdirfd, size_t sname_len)
{
	rec_reset(s, where);
	s->rec.tag = s->tagbuf;
	s->rec.opt = s->optbuf;
	const char *src = pyc_buf_cstr(&s->source);
	const char *sname = sdirfd == AT_FDCWD ? src : src + s->source.len - sname_len;
	if (e->depth >= 1)
		return judge(s, e->path, PYC_CACHE_PEP3147, e->dirfd, e->name, s->tagbuf, sdirfd, sname);
	return judge(s, e->path, PYC_CACHE_PEP3147, AT_FDCWD, e->path, s->tagbuf, sdirfd, sname);
}

/* A file in a __pycache__ directory: <dir>/__pycache__/<stem>.<tag>[.opt-N].pyc. */
static int judge_pycache(pyc_scan *s, const pyc_walk_entry *e)
{
	pyc_cache_name cn;
	int go = judge_cache_name(s, e, PYC_SCAN_PYCACHE, &cn);
	if (go != 1)
		return go == 2 ? 1 : go;
	size_t dir_len = (size_t)(e->name - e->path) - PYCACHE_SLASH_LEN;
	if (pyc_buf_put(&s->source, e->path, dir_len) < 0 ||
	    pyc_buf_put(&s->source, cn.stem, cn.stem_len) < 0 || pyc_buf_puts(&s->source, ".py") < 0)
		return PYC_ENOMEM;
	int sdirfd = e->depth >= 2 ? pyc_walker_dirfd_at(s->w, e->depth - 2) : -1;
	if (sdirfd < 0)
		sdirfd = AT_FDCWD;
	return judge_pep3147(s, e, PYC_SCAN_PYCACHE, sdirfd, s->source.len - dir_len);
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
	int go = judge_cache_name(s, e, PYC_SCAN_PREFIX, &cn);
	if (go != 1)
		return go == 2 ? 1 : go;
	/* e->path is mirror + "/rel/dir/" + name; keep "/rel/dir/". */
	const char *rel = e->path + s->cfg->mirror_len;
	size_t rel_len = (size_t)(e->name - rel);
	if (pyc_buf_puts(&s->source, s->cfg->root) < 0 || pyc_buf_put(&s->source, rel, rel_len) < 0 ||
	    pyc_buf_put(&s->source, cn.stem, cn.stem_len) < 0 || pyc_buf_puts(&s->source, ".py") < 0)
		return PYC_ENOMEM;
	return judge_pep3147(s, e, PYC_SCAN_PREFIX, AT_FDCWD, 0);
}

/* Put the expected cache of source `src` (a name relative to dirfd, or a path) in out. */
static int expected_cache(pyc_scan *s, pyc_buf *out, const char *src, int level)
{
	const char *opt = "";
	if (level > 0) {
		snprintf(s->optbuf, sizeof(s->optbuf), "%d", level);
		opt = s->optbuf;
	}
	if (!s->cfg->tag) {
		pyc_buf_clear(out);
		if (pyc_buf_put(out, src, strlen(src) - 1) < 0 ||
		    pyc_buf_puts(out, level > 0 ? "yo" : "yc") < 0)
			return PYC_ENOMEM;
		return 0;
	}
	if (s->cfg->prefix)
		return pyc_cache_from_source(out, src, s->cfg->tag, opt, s->cfg->prefix, s->cfg->cwd);
	return pyc_cache_from_source(out, src, s->cfg->tag, opt, NULL, NULL);
}

/* The MISSING checks of the pending source, one level per call. Returns 1, 0 or <0. */
static int next_missing(pyc_scan *s)
{
	const pyc_walk_entry *e = s->pending;
	while (s->pending_level < s->cfg->nlevels) {
		int level = s->cfg->levels[s->pending_level++];
		/* Check relative to the open directory unless the cache lives elsewhere. */
		bool relative = e->depth >= 1 && !(s->cfg->prefix && s->cfg->tag);
		int rc = expected_cache(s, &s->tmp, relative ? e->name : e->path, level);
		if (rc < 0)
			return rc == PYC_EINVAL ? 0 : rc;
		struct stat st;
		if (fstatat(relative ? e->dirfd : AT_FDCWD, pyc_buf_cstr(&s->tmp), &st, 0) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR))
			continue;
		if (relative && (rc = expected_cache(s, &s->path, e->path, level)) < 0)
			return rc;
		rec_reset(s, s->cfg->prefix && s->cfg->tag ? PYC_SCAN_PREFIX
		                                 : s->cfg->tag ? PYC_SCAN_PYCACHE : PYC_SCAN_LEGACY);
		s->rec.path = pyc_buf_cstr(relative ? &s->path : &s->tmp);
		s->rec.source = e->path;
		s->rec.tag = s->cfg->tag;
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

bool pyc_scan__is_prefix_dir(const struct scan_cfg *c, const char *path)
{
	const char *p = path;
	if (!c->prefix_abs)
		return false;
	if (p[0] == '/')
		return strcmp(p, c->prefix_abs) == 0;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	size_t cl = strlen(c->cwd);
	if (cl == 1)
		cl = 0;  /* cwd "/" */
	return strncmp(c->prefix_abs, c->cwd, cl) == 0 && c->prefix_abs[cl] == '/' &&
	       strcmp(c->prefix_abs + cl + 1, p) == 0;
}

/* A writer's temporary file in a cache directory: a record of its own (1), else 0. One
 * that vanished meanwhile was renamed into place by its writer: nothing to report. */
static int judge_leftover(pyc_scan *s, const pyc_walk_entry *e, enum pyc_scan_where where)
{
	long pid;
	struct stat st;
	enum pyc_leftover_kind k = pyc_leftover_kind(e->name, &pid);
	if (k == PYC_LEFTOVER_NONE || e->kind != PYC_WALK_FILE ||
	    fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	rec_reset(s, where);
	s->rec.path = e->path;
	s->rec.leftover = k;
	s->rec.abandoned = pyc_leftover_abandoned(k, pid, &st, time(NULL));
	return 1;
}

static int handle_tree_entry(pyc_scan *s, const pyc_walk_entry *e)
{
	if (e->kind == PYC_WALK_DIR) {
		/* Nothing below a __pycache__ is a cache of the import system; clean does not
		 * enter there either (docs/status.md). */
		if (e->depth == 0)
			s->root_is_dir = true;
		else if (in_pycache(e) || pyc_scan__is_prefix_dir(s->cfg, e->path))
			pyc_walker_skip(s->w);
		else if (s->task)
			return pyc_scan__par_offer(s);
		return 0;
	}
	if (e->kind != PYC_WALK_FILE && e->kind != PYC_WALK_SYMLINK)
		return 0;
	bool cache_dir = in_pycache(e);
	if (ends_with(e->name, e->path_len - (size_t)(e->name - e->path), ".py")) {
		if (s->cfg->target && !cache_dir)
			maybe_source(s, e);
		return 0;
	}
	if (!pyc_is_bytecode_name(e->name))
		return cache_dir ? judge_leftover(s, e, PYC_SCAN_PYCACHE) : 0;
	return cache_dir ? judge_pycache(s, e) : judge_legacy(s, e);
}

static int handle_entry(pyc_scan *s, const pyc_walk_entry *e)
{
	/* Worded as clean words it (and git): the problem first, the path quoted. */
	if (e->kind == PYC_WALK_ERROR)
		return rec_error(s, e->path, PYC_EIO, "cannot read directory '%s': %s", e->path,
		                 strerror(e->error));
	void *handed_over = e->kind == PYC_WALK_DIR ? pyc_walk__delegated(s->w) : NULL;
	if (handed_over)
		return pyc_scan__par_child(s, handed_over);
	/* A FIFO, socket or device with a cache's name: named, never opened (a FIFO would
	 * block an import that opened it). */
	if (e->kind == PYC_WALK_OTHER && pyc_is_bytecode_name(e->name))
		return rec_error(s, e->path, PYC_EIO, "%s: not a regular file", e->path);
	if (s->phase == PHASE_TREE)
		return handle_tree_entry(s, e);
	if ((e->kind == PYC_WALK_FILE || e->kind == PYC_WALK_SYMLINK) && pyc_is_bytecode_name(e->name))
		return judge_prefix(s, e);
	return judge_leftover(s, e, PYC_SCAN_PREFIX);
}

int pyc_scan__open_walker(pyc_scan *s, const char *root)
{
	int rc = pyc_walker_new(&s->w, root, s->cfg->walk_flags, &s->err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->cfg->nexcludes; i++)
		if ((rc = pyc_walker_exclude(s->w, s->cfg->excludes[i])) < 0)
			return rc;
	return 0;
}

int pyc_scan__end_of_walk(pyc_scan *s)
{
	bool was_tree = s->phase == PHASE_TREE;
	pyc_scan__add_skipped(s, pyc_walker_skipped(s->w));
	pyc_walker_free(s->w);
	s->w = NULL;
	s->phase = PHASE_DONE;
	/* A sub-scan's subtree is part of the tree: the top scan walks the mirror. */
	if (!was_tree || !s->cfg->mirror || !s->root_is_dir || s->cfg != &s->own)
		return 0;
	pyc_error_clear(&s->err);
	int rc = pyc_scan__open_walker(s, s->cfg->mirror);
	if (rc == PYC_ENOTFOUND)
		return 0;
	if (rc == PYC_ENOMEM)
		return rc;
	s->phase = PHASE_PREFIX;
	if (rc < 0) {
		pyc_walker_free(s->w);
		s->w = NULL;
		s->phase = PHASE_DONE;
		return rec_error(s, s->cfg->mirror, rc, "%s: %s", s->cfg->mirror, s->err.message);
	}
	return 0;
}

/* One step of the scan: 1 with a record in s->rec, 0 to go on, <0 fatal, 2 at the end. */
static int scan_step(pyc_scan *s)
{
	if (s->pending)
		return next_missing(s);
	if (s->phase == PHASE_DONE)
		return 2;
	const pyc_walk_entry *e;
	int rc = pyc_walker_next(s->w, &e);
	if (rc < 0)
		return rc;
	return rc == 0 ? pyc_scan__end_of_walk(s) : handle_entry(s, e);
}

int pyc_scan_next(pyc_scan *s, const pyc_scan_record **out)
{
	if (s->par)
		return pyc_scan__par_next(s, out);
	for (;;) {
		int rc = scan_step(s);
		if (rc == 2)
			return 0;
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*out = &s->rec;
			return 1;
		}
	}
}
