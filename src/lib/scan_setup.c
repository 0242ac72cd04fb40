/* The scanner's options, prefix mirror and lifetime: see include/pyc/scan.h. */
#include "scan_internal.h"

#include "pyc/cache_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* prefix + abspath(root), computed by the same code that places caches there. */
static int compute_mirror(struct scan_cfg *c)
{
	pyc_buf src = PYC_BUF_INIT, out = PYC_BUF_INIT;
	int rc = PYC_ENOMEM;
	if (pyc_buf_puts(&src, c->root) < 0 || pyc_buf_puts(&src, "/x.py") < 0)
		goto done;
	rc = pyc_cache_from_source(&out, pyc_buf_cstr(&src), "t", NULL, c->prefix, c->cwd);
	if (rc < 0)
		goto done;
	char *slash = strrchr(out.ptr, '/');
	if (slash)
		pyc_buf_truncate(&out, (size_t)(slash - out.ptr));
	c->mirror_len = out.len;
	c->mirror = pyc_buf_detach(&out);
	rc = c->mirror ? 0 : PYC_ENOMEM;
done:
	pyc_buf_dispose(&src);
	pyc_buf_dispose(&out);
	return rc;
}

static int setup_prefix(struct scan_cfg *c, const char *prefix, pyc_error *err)
{
	pyc_buf b = PYC_BUF_INIT;
	c->cwd = getcwd(NULL, 0);
	if (!c->cwd)
		return pyc_error_set(err, PYC_EIO, errno, "cannot get the current directory");
	c->prefix = strdup(prefix);
	if (!c->prefix)
		return PYC_ENOMEM;
	if (prefix[0] != '/' && (pyc_buf_puts(&b, c->cwd) < 0 || pyc_buf_putc(&b, '/') < 0))
		goto nomem;
	if (pyc_buf_puts(&b, prefix) < 0)
		goto nomem;
	while (b.len > 1 && b.ptr[b.len - 1] == '/')
		pyc_buf_truncate(&b, b.len - 1);
	c->prefix_abs = pyc_buf_detach(&b);
	if (!c->prefix_abs)
		return PYC_ENOMEM;
	int rc = compute_mirror(c);
	if (rc < 0)
		return pyc_error_set(err, rc, 0, "cannot place caches of '%s' under prefix '%s'",
		                     c->root, prefix);
	return 0;
nomem:
	pyc_buf_dispose(&b);
	return PYC_ENOMEM;
}

static int insert_level(struct scan_cfg *c, int level)
{
	size_t i = 0;
	while (i < c->nlevels && c->levels[i] < level)
		i++;
	if (i < c->nlevels && c->levels[i] == level)
		return 0;
	if (c->nlevels == SCAN_MAX_LEVELS)
		return PYC_EINVAL;
	memmove(c->levels + i + 1, c->levels + i, (c->nlevels - i) * sizeof(int));
	c->levels[i] = level;
	c->nlevels++;
	return 0;
}

static int copy_opts(struct scan_cfg *c, const pyc_scan_opts *o, pyc_error *err)
{
	c->walk_flags = o->walk_flags;
	c->threads = o->threads;
	c->target = o->target;
	if (o->target && o->target_tag) {
		if (!o->target_tag[0] || strchr(o->target_tag, '/'))
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid cache tag '%s'", o->target_tag);
		if (!(c->tag = strdup(o->target_tag)))
			return PYC_ENOMEM;
	}
	for (size_t i = 0; i < o->nlevels; i++)
		if (o->levels[i] < 0 || insert_level(c, o->levels[i]) < 0)
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid optimisation level %d",
			                     o->levels[i]);
	if (c->nlevels == 0)
		insert_level(c, 0);
	if (o->nexcludes) {
		c->excludes = calloc(o->nexcludes, sizeof(char *));
		if (!c->excludes)
			return PYC_ENOMEM;
		for (size_t i = 0; i < o->nexcludes; i++, c->nexcludes++)
			if (!(c->excludes[i] = strdup(o->excludes[i])))
				return PYC_ENOMEM;
	}
	if (o->prefix && o->prefix[0])
		return setup_prefix(c, o->prefix, err);
	return 0;
}

int pyc_scan_new(pyc_scan **out, const char *root, const pyc_scan_opts *opts, pyc_error *err)
{
	static const pyc_scan_opts defaults;
	*out = NULL;
	pyc_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	struct scan_cfg *c = &s->own;
	s->cfg = c;
	int rc = PYC_ENOMEM;
	if (!(c->root = strdup(root)))
		goto fail;
	if ((rc = copy_opts(c, opts ? opts : &defaults, err)) < 0)
		goto fail;
	if ((rc = pyc_scan__open_walker(s, root)) < 0) {
		if (err && rc != PYC_ENOMEM)
			*err = s->err;
		goto fail;
	}
	if ((rc = pyc_scan__par_start(s)) < 0)
		goto fail;
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
	pyc_scan__par_stop(s);
	pyc_walker_free(s->w);
	pyc_buf_dispose(&s->path);
	pyc_buf_dispose(&s->source);
	pyc_buf_dispose(&s->tmp);
	pyc_buf_dispose(&s->msg);
	struct scan_cfg *c = &s->own;   /* empty in a sub-scan, which borrows its parent's */
	free(c->root);
	free(c->cwd);
	free(c->prefix);
	free(c->mirror);
	free(c->prefix_abs);
	free(c->tag);
	for (size_t i = 0; i < c->nexcludes; i++)
		free(c->excludes[i]);
	free(c->excludes);
	free(s);
}

int pyc_scan__sub_new(pyc_scan **out, const pyc_scan *top, pyc_walker *w, enum scan_phase phase,
                 struct par_task *t)
{
	pyc_scan *s = calloc(1, sizeof(*s));
	if (!s) {
		pyc_walker_free(w);
		return PYC_ENOMEM;
	}
	s->cfg = top->cfg;
	s->w = w;
	s->phase = phase;
	s->par = NULL;   /* only the top scan hands records out of the workers */
	s->task = t;
	*out = s;
	return 0;
}
