/* The scanner's options, prefix mirror and lifetime: see include/pyc/scan.h. */
#include "scan_internal.h"

#include "pyc/cache_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	s->threads = o->threads;
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
	if ((rc = scan_open_walker(s, root)) < 0) {
		if (err && rc != PYC_ENOMEM)
			*err = s->err;
		goto fail;
	}
	s->fanout = pyc_fanout_new(s->threads ? s->threads - 1 : pyc_fanout_default_helpers());
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
	pyc_fanout_free(s->fanout);
	scan_batch_dispose(&s->batch);
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
