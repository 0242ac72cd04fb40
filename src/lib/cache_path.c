/*
 * Cache paths: a transcription of importlib._bootstrap_external's POSIX code
 * (cache_from_source, source_from_cache, _path_split, _path_join, _path_abspath)
 * for CPython 3.6-3.13. See include/pyc/cache_path.h.
 */
#include "pyc/cache_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYCACHE "__pycache__"
#define OPT_PREFIX "opt-"

/* str.isalnum() restricted to ASCII; "" is not alphanumeric, as in Python. */
static bool ascii_alnum(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

/* _path_split: everything before the last '/', and after it ("" head when none). */
static void path_split(const char *p, size_t n, size_t *head_len, const char **tail)
{
	const char *slash = NULL;
	for (size_t i = n; i > 0; i--) {
		if (p[i - 1] == '/') {
			slash = p + i - 1;
			break;
		}
	}
	if (!slash) {
		*head_len = 0;
		*tail = p;
		return;
	}
	*head_len = (size_t)(slash - p);
	*tail = slash + 1;
}

/*
 * One step of _path_join: empty parts are dropped, every kept part loses its
 * trailing slashes, and kept parts are joined with '/'. `first` tracks whether a
 * part was kept yet (a part of only slashes is kept, as the empty string).
 */
static int join_part(pyc_buf *out, bool *first, const char *part, size_t n)
{
	if (n == 0)
		return 0;
	while (n > 0 && part[n - 1] == '/')
		n--;
	if (!*first && pyc_buf_putc(out, '/') < 0)
		return PYC_ENOMEM;
	*first = false;
	return pyc_buf_put(out, part, n);
}

/* N for a "cpython-3N" tag, -1 for any other tag (another implementation or version). */
static long cpython3_minor(const char *tag)
{
	const char *p = "cpython-3";
	size_t n = strlen(p);
	if (strncmp(tag, p, n) != 0)
		return -1;
	char *end;
	long minor = strtol(tag + n, &end, 10);
	return end == tag + n || *end != '\0' ? -1 : minor;
}

/*
 * 3.12 made _path_abspath drop one leading "./" before joining onto the cwd; 3.8-3.11
 * joined the head as it was. Tags of other implementations get today's behaviour.
 */
static bool abspath_strips_dot_slash(const char *tag)
{
	long minor = cpython3_minor(tag);
	return minor < 0 || minor >= 12;
}

/* prefix + abspath(head).lstrip('/') + filename, as cache_from_source does. */
static int prefixed_cache(pyc_buf *out, const char *head, size_t head_len, const char *filename,
                          const char *tag, const char *prefix, const char *cwd)
{
	pyc_buf abs = PYC_BUF_INIT;
	int rc = 0;
	bool first = true;
	if (head_len > 0 && head[0] == '/') {
		rc = pyc_buf_put(&abs, head, head_len);
	} else {
		if (!cwd)
			return PYC_EINVAL;
		if (abspath_strips_dot_slash(tag) && head_len >= 2 && head[0] == '.' && head[1] == '/') {
			head += 2;
			head_len -= 2;
		}
		rc = join_part(&abs, &first, cwd, strlen(cwd));
		if (rc == 0)
			rc = join_part(&abs, &first, head, head_len);
	}
	/* CPython then reads head[1] (a Windows drive check): IndexError on "" or "/". */
	if (rc == 0 && abs.len < 2)
		rc = PYC_EINVAL;
	if (rc == 0) {
		const char *h = pyc_buf_cstr(&abs);
		while (*h == '/')
			h++;
		pyc_buf_clear(out);
		first = true;
		rc = join_part(out, &first, prefix, strlen(prefix));
		if (rc == 0)
			rc = join_part(out, &first, h, strlen(h));
		if (rc == 0)
			rc = join_part(out, &first, filename, strlen(filename));
	}
	pyc_buf_dispose(&abs);
	return rc;
}

/* The file name part: (base or rest) + sep + tag [+ ".opt-" opt] + ".pyc". */
static int cache_filename(pyc_buf *name, const char *tail, const char *tag, const char *opt)
{
	/* tail.rpartition('.') */
	const char *dot = strrchr(tail, '.');
	int rc;
	if (!dot)
		rc = pyc_buf_puts(name, tail);           /* base "" -> rest, sep "" */
	else if (dot == tail)
		rc = pyc_buf_puts(name, dot + 1);        /* ".hidden": base "" -> rest + "." */
	else
		rc = pyc_buf_put(name, tail, (size_t)(dot - tail));
	if (rc == 0 && dot)
		rc = pyc_buf_putc(name, '.');
	if (rc == 0)
		rc = pyc_buf_puts(name, tag);
	if (rc == 0 && opt && *opt)
		rc = pyc_buf_printf(name, "." OPT_PREFIX "%s", opt);
	if (rc == 0)
		rc = pyc_buf_puts(name, ".pyc");
	return rc;
}

int pyc_cache_from_source(pyc_buf *out, const char *source, const char *tag, const char *opt,
                          const char *prefix, const char *cwd)
{
	if (!out || !source || !tag)
		return PYC_EINVAL;
	if (opt && *opt && !ascii_alnum(opt, strlen(opt)))
		return PYC_EINVAL;
	size_t head_len;
	const char *tail;
	path_split(source, strlen(source), &head_len, &tail);

	pyc_buf name = PYC_BUF_INIT;
	int rc = cache_filename(&name, tail, tag, opt);
	/* sys.pycache_prefix arrived in 3.8: older versions never look at it. */
	long minor = cpython3_minor(tag);
	if (minor >= 0 && minor < 8)
		prefix = NULL;
	if (rc == 0 && prefix) {
		rc = prefixed_cache(out, source, head_len, pyc_buf_cstr(&name), tag, prefix, cwd);
	} else if (rc == 0) {
		bool first = true;
		pyc_buf_clear(out);
		rc = join_part(out, &first, source, head_len);
		if (rc == 0)
			rc = join_part(out, &first, PYCACHE, strlen(PYCACHE));
		if (rc == 0)
			rc = join_part(out, &first, name.ptr, name.len);
	}
	pyc_buf_dispose(&name);
	return rc;
}

/* The 2-or-3-dots rule of source_from_cache on the file name. */
static int check_cache_filename(const char *name)
{
	size_t dots = 0;
	const char *d[3] = {NULL, NULL, NULL};
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (dots < 3)
				d[dots] = p;
			dots++;
		}
	}
	if (dots != 2 && dots != 3)
		return PYC_EINVAL;
	if (dots == 3) {
		/* rsplit('.', 2)[-2]: the field between the second and third dot. */
		const char *f = d[1] + 1;
		size_t n = (size_t)(d[2] - f);
		size_t pn = strlen(OPT_PREFIX);
		if (n < pn || memcmp(f, OPT_PREFIX, pn) != 0)
			return PYC_EINVAL;
		if (!ascii_alnum(f + pn, n - pn))
			return PYC_EINVAL;
	}
	return 0;
}

int pyc_source_from_cache(pyc_buf *out, const char *cache, const char *prefix)
{
	if (!out || !cache)
		return PYC_EINVAL;
	size_t head_len;
	const char *name;
	path_split(cache, strlen(cache), &head_len, &name);
	const char *head = cache;
	bool in_prefix = false;
	if (prefix) {
		size_t pn = strlen(prefix);
		while (pn > 0 && prefix[pn - 1] == '/')
			pn--;
		if (head_len > pn && memcmp(head, prefix, pn) == 0 && head[pn] == '/') {
			head += pn;
			head_len -= pn;
			in_prefix = true;
		}
	}
	if (!in_prefix) {
		size_t parent_len;
		const char *last;
		path_split(head, head_len, &parent_len, &last);
		size_t last_len = head_len - (size_t)(last - head);
		if (last_len != strlen(PYCACHE) || memcmp(last, PYCACHE, last_len) != 0)
			return PYC_EINVAL;
		head_len = parent_len;
	}
	if (check_cache_filename(name) < 0)
		return PYC_EINVAL;
	/* name.partition('.')[0] + ".py", joined onto head. */
	size_t base_len = (size_t)(strchr(name, '.') - name);
	pyc_buf_clear(out);
	bool first = true;
	int rc = join_part(out, &first, head, head_len);
	if (rc == 0 && !first)
		rc = pyc_buf_putc(out, '/');
	if (rc == 0)
		rc = pyc_buf_put(out, name, base_len);
	if (rc == 0)
		rc = pyc_buf_puts(out, ".py");
	return rc;
}

/* pyc_cache_name_parse(), also taking ".pyo" when pyo (3.0-3.4 wrote -O caches so). */
static int parse_cache_name(pyc_cache_name *out, const char *name, bool pyo)
{
	if (!out || !name)
		return PYC_EINVAL;
	memset(out, 0, sizeof(*out));
	size_t n = strlen(name);
	if (n < 4 || !(memcmp(name + n - 4, ".pyc", 4) == 0 ||
	               (pyo && memcmp(name + n - 4, ".pyo", 4) == 0)))
		return PYC_EINVAL;
	n -= 4;
	/* Last field: an optimization level when it reads "opt-..." */
	const char *dot = memrchr(name, '.', n);
	if (!dot)
		return PYC_EINVAL;
	size_t pn = strlen(OPT_PREFIX);
	const char *field = dot + 1;
	size_t field_len = (size_t)(name + n - field);
	if (field_len >= pn && memcmp(field, OPT_PREFIX, pn) == 0) {
		if (!ascii_alnum(field + pn, field_len - pn))
			return PYC_EINVAL;
		out->opt = field + pn;
		out->opt_len = field_len - pn;
		n = (size_t)(dot - name);
		dot = memrchr(name, '.', n);
		if (!dot)
			return PYC_EINVAL;
	}
	out->tag = dot + 1;
	out->tag_len = (size_t)(name + n - out->tag);
	out->stem = name;
	out->stem_len = (size_t)(dot - name);
	if (out->tag_len == 0 || out->stem_len == 0) {
		memset(out, 0, sizeof(*out));
		return PYC_EINVAL;
	}
	return 0;
}

int pyc_cache_name_parse(pyc_cache_name *out, const char *name)
{
	return parse_cache_name(out, name, false);
}

/*
 * The source of cache `name` (parsed from base) when abspath(path) lies under the prefix:
 * the mirrored directory + stem + ".py". Parsed from the right like the __pycache__ case,
 * not by source_from_cache, whose first-dot rule rejects the caches of "x.tar.py".
 * 0, PYC_EINVAL (not under the prefix) or PYC_ENOMEM.
 */
static int prefixed_source(pyc_buf *out, const pyc_cache_name *name, const char *path,
                           const char *prefix)
{
	pyc_buf abs = PYC_BUF_INIT, pfx = PYC_BUF_INIT;
	int rc = pyc_abspath(&abs, path, NULL, NULL);

	rc = rc ? rc : pyc_abspath(&pfx, prefix, NULL, NULL);
	if (rc == 0) {
		const char *slash = strrchr(abs.ptr, '/');
		size_t plen = strcmp(pfx.ptr, "/") == 0 ? 0 : pfx.len;
		if (strncmp(abs.ptr, pfx.ptr, plen) != 0 || abs.ptr[plen] != '/')
			rc = PYC_EINVAL;
		else if (pyc_buf_put(out, abs.ptr + plen, (size_t)(slash + 1 - abs.ptr) - plen) < 0 ||
		         pyc_buf_put(out, name->stem, name->stem_len) < 0 || pyc_buf_puts(out, ".py") < 0)
			rc = PYC_ENOMEM;
	} else if (rc != PYC_ENOMEM) {
		rc = PYC_EINVAL;   /* no current directory: the path cannot be placed */
	}
	pyc_buf_dispose(&abs);
	pyc_buf_dispose(&pfx);
	return rc;
}

int pyc_cache_find_source(pyc_buf *out, pyc_cache_name *name, enum pyc_cache_kind *kind,
                          const char *path, const char *prefix)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dir_len = slash ? (size_t)(slash - path) : 0, pn = strlen(PYCACHE);
	bool in_pycache = dir_len >= pn && memcmp(path + dir_len - pn, PYCACHE, pn) == 0 &&
	                  (dir_len == pn || path[dir_len - pn - 1] == '/');
	int rc;

	pyc_buf_clear(out);
	*kind = PYC_CACHE_PEP3147;
	if (in_pycache && parse_cache_name(name, base, true) == 0) {
		if (pyc_buf_put(out, path, dir_len - pn) < 0 ||
		    pyc_buf_put(out, name->stem, name->stem_len) < 0 || pyc_buf_puts(out, ".py") < 0)
			return PYC_ENOMEM;
		return 0;
	}
	if (prefix && parse_cache_name(name, base, true) == 0) {
		rc = prefixed_source(out, name, path, prefix);
		if (rc != PYC_EINVAL)
			return rc;
	}
	pyc_buf_clear(out);
	memset(name, 0, sizeof(*name));
	*kind = PYC_CACHE_LEGACY;
	if (pyc_is_bytecode_name(base))
		return pyc_buf_put(out, path, strlen(path) - 1) < 0 ? PYC_ENOMEM : 0;
	return 0;
}

int pyc_legacy_from_source(pyc_buf *out, const char *source)
{
	if (!out || !source)
		return PYC_EINVAL;
	/* py_compile/compileall -b and Python 2 all append the letter to the source name. */
	int rc = pyc_buf_sets(out, source);
	if (rc == 0)
		rc = pyc_buf_putc(out, 'c');
	return rc;
}

bool pyc_is_pycache_dir(const char *name)
{
	return name && strcmp(name, PYCACHE) == 0;
}

bool pyc_is_bytecode_name(const char *name)
{
	if (!name)
		return false;
	size_t n = strlen(name);
	return n >= 4 && (memcmp(name + n - 4, ".pyc", 4) == 0 || memcmp(name + n - 4, ".pyo", 4) == 0);
}

const char *pyc_pycache_prefix(const char *override)
{
	const char *p = override ? override : getenv("PYTHONPYCACHEPREFIX");
	return p && *p ? p : NULL;
}

/* Append `comp` to the normalised absolute path in b, handling "." and "..". */
static int push_component(pyc_buf *b, const char *comp, size_t len)
{
	if (len == 0 || (len == 1 && comp[0] == '.'))
		return 0;
	if (len == 2 && comp[0] == '.' && comp[1] == '.') {
		size_t keep = b->len;
		while (keep > 0 && b->ptr[keep - 1] != '/')
			keep--;
		pyc_buf_truncate(b, keep > 0 ? keep - 1 : 0);   /* and the slash before it */
		return 0;
	}
	int rc = pyc_buf_putc(b, '/');
	return rc < 0 ? rc : pyc_buf_put(b, comp, len);
}

static int push_path(pyc_buf *b, const char *p)
{
	while (*p) {
		const char *s = strchr(p, '/');
		size_t len = s ? (size_t)(s - p) : strlen(p);
		int rc = push_component(b, p, len);
		if (rc < 0)
			return rc;
		p += len + (s ? 1 : 0);
	}
	return 0;
}

int pyc_abspath(pyc_buf *out, const char *path, const char *cwd, pyc_error *err)
{
	char *here = NULL;
	int rc = 0;
	pyc_buf_clear(out);
	if (path[0] != '/') {
		if (!cwd && !(cwd = here = getcwd(NULL, 0)))
			return pyc_error_set(err, PYC_EIO, errno, "cannot get the current directory");
		rc = push_path(out, cwd);
	}
	if (rc == 0)
		rc = push_path(out, path);
	if (rc == 0 && out->len == 0)
		rc = pyc_buf_putc(out, '/');
	free(here);
	if (rc == PYC_ENOMEM)
		pyc_error_set(err, rc, 0, "out of memory");
	return rc;
}
