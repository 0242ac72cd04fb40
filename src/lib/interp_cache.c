/*
 * The probe cache: see include/pyc/interp.h and docs/compile-engine.md ("Probe cache").
 *
 * An entry is found by a hash of its key and trusted only when the full key stored in it
 * matches (so hash collisions are harmless) and every validator still holds: the
 * identity of sys.executable and of the pyvenv.cfg candidates, and the *.pth files of
 * every site directory. The key says which interpreter the name means right now (PATH
 * resolution, realpath, stat identity, the environment variables that change the answer,
 * the cwd when relative PYTHONPATH entries make it matter, and for pyenv shims the version
 * selection); the validators catch what changes
 * behind it (a reinstalled binary, pip installing a .pth file).
 */
#include "pyc/interp.h"
#include "pyc/writer.h"
#include "interp_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_FORMAT "3"   /* 3: the build records of interp_identity.c */
#define CACHE_FILE_MAX (64u << 20)
#define SNIFF_BYTES 4096

/* The variables that change what the probe answers (docs/compile-engine.md). */
static const char *const key_env[] = {
	"PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE", "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH",
	"PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONPLATLIBDIR", "PYTHONEXECUTABLE",
	"VIRTUAL_ENV", "PYENV_VERSION", "PYENV_ROOT", "PYENV_DIR", "HOME",
	/* the stdout and file system encodings (PEP 538, PEP 540) */
	"LC_ALL", "LC_CTYPE", "LANG", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONCOERCECLOCALE",
	NULL,
};

static int rec_puts(pyc_buf *b, const char *name, const char *value)
{
	return pyc_interp__rec_put(b, name, value, value ? strlen(value) : 0);
}

bool pyc_interp_cache_enabled(void)
{
	const char *v = getenv("PYC_TOOL_NO_PROBE_CACHE");
	return !v || !*v || strcmp(v, "0") == 0;
}

int pyc_interp_cache_dir(pyc_buf *out)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int rc;

	pyc_buf_clear(out);
	/* XDG: a relative XDG_CACHE_HOME is invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		rc = pyc_buf_printf(out, "%s/pyc-tool/interp", xdg);
	else if (home && home[0])
		rc = pyc_buf_printf(out, "%s/.cache/pyc-tool/interp", home);
	else
		return PYC_ENOTFOUND;
	return rc < 0 ? PYC_ENOMEM : 0;
}

/* What execvp would run for exe: the name itself when it has a '/', else a PATH search. */
static int resolve_exe(const char *exe, pyc_buf *out)
{
	const char *path = getenv("PATH");
	struct stat st;

	pyc_buf_clear(out);
	if (strchr(exe, '/'))
		return pyc_buf_puts(out, exe) < 0 ? PYC_ENOMEM : 0;
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *colon = strchrnul(p, ':');
		pyc_buf_clear(out);
		if (colon == p)
			pyc_buf_putc(out, '.');
		else
			pyc_buf_put(out, p, (size_t)(colon - p));
		if (pyc_buf_printf(out, "/%s", exe) < 0)
			return PYC_ENOMEM;
		if (access(out->ptr, X_OK) == 0 && stat(out->ptr, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		if (!*colon)
			break;
		p = colon;
	}
	return PYC_ENOTFOUND;
}

/* A file's identity: any rewrite, replacement or chmod changes it. */
static int put_identity(pyc_buf *b, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pyc_buf_printf(b, errno == ENOENT || errno == ENOTDIR ? "absent" : "error %d",
		                      errno);
	return pyc_buf_printf(b, "%ju:%ju:%jd:%jd.%09ld:%jd.%09ld:%o", (uintmax_t)st.st_dev,
	                      (uintmax_t)st.st_ino, (intmax_t)st.st_size,
	                      (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	                      (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
	                      (unsigned)st.st_mode);
}

/* Read at most max bytes of a small file into out; -1 when it cannot be read. */
static int slurp(const char *path, pyc_buf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[4096];
	ssize_t n;

	if (fd < 0)
		return -1;
	pyc_buf_clear(out);
	while (out->len < max && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pyc_buf_put(out, chunk, (size_t)n) < 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* PYENV_ROOT as the shim script exports it ('export PYENV_ROOT="..."'), else the env. */
static int shim_root(const pyc_buf *script, pyc_buf *root)
{
	static const char needle[] = "export PYENV_ROOT=\"";
	const char *at = script->ptr ? strstr(script->ptr, needle) : NULL;
	const char *env = getenv("PYENV_ROOT");

	pyc_buf_clear(root);
	if (at) {
		at += sizeof(needle) - 1;
		const char *q = strchr(at, '"');
		if (!q || memchr(at, '$', (size_t)(q - at)))
			return PYC_EUNSUPPORTED;
		return pyc_buf_put(root, at, (size_t)(q - at));
	}
	if (env && *env)
		return pyc_buf_puts(root, env);
	return PYC_EUNSUPPORTED;
}

/* The nearest .python-version from dir upwards (pyenv-version-file), as key records. */
static int put_local_version(pyc_buf *key, const char *dir, pyc_buf *tmp)
{
	pyc_buf cur = PYC_BUF_INIT;
	int rc = pyc_buf_puts(&cur, dir);

	while (rc == 0) {
		size_t base = cur.len;
		pyc_buf_puts(&cur, "/.python-version");
		if (slurp(cur.ptr, tmp, 65536) == 0) {
			rc = rec_puts(key, "pyenv-file", cur.ptr);
			rc = rc ? rc : pyc_interp__rec_put(key, "pyenv-local", tmp->ptr ? tmp->ptr : "", tmp->len);
			break;
		}
		if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
			rc = PYC_EUNSUPPORTED;
			break;
		}
		pyc_buf_truncate(&cur, base);
		char *slash = strrchr(cur.ptr, '/');
		if (!slash || cur.len <= 1) {
			rc = rec_puts(key, "pyenv-local", NULL);
			break;
		}
		pyc_buf_truncate(&cur, slash == cur.ptr ? 1 : (size_t)(slash - cur.ptr));
	}
	pyc_buf_dispose(&cur);
	return rc;
}

/*
 * A pyenv shim runs whatever version PYENV_VERSION, a .python-version file or the global
 * version file selects; put all of that (and PATH, for "system") in the key.
 */
static int put_pyenv_key(pyc_buf *key, const pyc_buf *script, const char *cwd)
{
	pyc_buf root = PYC_BUF_INIT, tmp = PYC_BUF_INIT;
	const char *dir = getenv("PYENV_DIR");
	int rc = shim_root(script, &root);

	if (rc == 0)
		rc = rec_puts(key, "pyenv-root", root.ptr);
	if (rc == 0)
		rc = rec_puts(key, "PATH", getenv("PATH"));
	if (rc == 0 && dir && *dir && strcmp(dir, cwd) != 0)
		rc = put_local_version(key, dir, &tmp);
	if (rc == 0)
		rc = put_local_version(key, cwd, &tmp);
	if (rc == 0 && pyc_buf_puts(&root, "/version") == 0) {
		if (slurp(root.ptr, &tmp, 65536) == 0)
			rc = pyc_interp__rec_put(key, "pyenv-global", tmp.ptr ? tmp.ptr : "", tmp.len);
		else
			rc = errno == ENOENT ? rec_puts(key, "pyenv-global", NULL) : PYC_EUNSUPPORTED;
	}
	pyc_buf_dispose(&root);
	pyc_buf_dispose(&tmp);
	return rc;
}

/*
 * Whether the answer depends on the cwd beyond what the key already holds: site.py makes
 * relative PYTHONPATH entries absolute against it. (The "" that -c puts first stays "".)
 */
static bool cwd_matters(void)
{
	const char *pp = getenv("PYTHONPATH");

	if (!pp || !*pp)
		return false;
	for (const char *p = pp;; p++) {
		const char *colon = strchrnul(p, ':');
		if (colon == p || *p != '/')
			return true;
		if (!*colon)
			return false;
		p = colon;
	}
}

/*
 * pyenv's shim template, not any script that mentions pyenv: a user's wrapper that execs
 * ~/.pyenv/versions/X/bin/python3 after setting up its environment must be run as written.
 */
static bool is_pyenv_shim(const pyc_buf *script)
{
	static const char program_line[] = "program=\"${0##*/}\"";
	static const char exec_line[] = "/libexec/pyenv\" exec \"$program\"";
	return script->len > 2 && memcmp(script->ptr, "#!", 2) == 0 &&
	       memmem(script->ptr, script->len, program_line, sizeof(program_line) - 1) != NULL &&
	       memmem(script->ptr, script->len, exec_line, sizeof(exec_line) - 1) != NULL;
}

bool pyc_interp__is_pyenv_shim(const char *exe)
{
	pyc_buf resolved = PYC_BUF_INIT, script = PYC_BUF_INIT;
	bool shim = resolve_exe(exe, &resolved) == 0 && slurp(resolved.ptr, &script, SNIFF_BYTES) == 0 &&
	            is_pyenv_shim(&script);

	pyc_buf_dispose(&resolved);
	pyc_buf_dispose(&script);
	return shim;
}

static int put_exe_key(pyc_buf *key, const char *exe, const char *resolved, const char *cwd)
{
	char real[PATH_MAX];
	pyc_buf id = PYC_BUF_INIT, script = PYC_BUF_INIT, abs = PYC_BUF_INIT;
	int rc = 0;

	/* The unresolved location decides venv detection, so it is kept, made absolute. */
	if (resolved[0] != '/')
		rc |= pyc_buf_printf(&abs, "%s/", cwd);
	rc |= pyc_buf_puts(&abs, resolved);
	rc |= rec_puts(key, "format", CACHE_FORMAT);
	rc |= rec_puts(key, "exe", exe);
	rc |= rec_puts(key, "resolved", pyc_buf_cstr(&abs));
	rc |= rec_puts(key, "real", realpath(resolved, real) ? real : NULL);
	rc |= put_identity(&id, resolved);
	rc |= pyc_interp__rec_put(key, "id", id.ptr, id.len);
	rc |= rec_puts(key, "cwd", cwd_matters() ? cwd : NULL);
	for (size_t i = 0; key_env[i]; i++) {
		rc |= rec_puts(key, "env", key_env[i]);
		rc |= rec_puts(key, "value", getenv(key_env[i]));
	}
	if (rc == 0 && slurp(resolved, &script, SNIFF_BYTES) == 0 && is_pyenv_shim(&script))
		rc = put_pyenv_key(key, &script, cwd);
	pyc_buf_dispose(&id);
	pyc_buf_dispose(&script);
	pyc_buf_dispose(&abs);
	return rc < 0 ? rc : 0;
}

int pyc_interp_cache_key(pyc_buf *out, const char *exe)
{
	pyc_buf resolved = PYC_BUF_INIT;
	char *cwd = getcwd(NULL, 0);
	int rc;

	pyc_buf_clear(out);
	if (!cwd)
		return PYC_EUNSUPPORTED;
	rc = resolve_exe(exe, &resolved);
	if (rc == 0)
		rc = put_exe_key(out, exe, resolved.ptr, cwd);
	free(cwd);
	pyc_buf_dispose(&resolved);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.pth files of a site directory (what site.py reads): sorted names + identities. */
static int put_site_signature(pyc_buf *b, const char *dir)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;

	if (!d)
		return pyc_buf_printf(b, errno == ENOENT || errno == ENOTDIR ? "absent" : "error %d",
		                      errno);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".pth") != 0)
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));
			rc = grown ? 0 : PYC_ENOMEM;
			names = grown ? grown : names;
		}
		if (rc == 0 && !(names[n++] = strdup(e->d_name)))
			rc = PYC_ENOMEM;
	}
	closedir(d);
	if (rc == 0 && n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && names[i]) {
			rc = pyc_interp__rec_put(b, "pth", names[i], strlen(names[i]));
			pyc_buf path = PYC_BUF_INIT;
			pyc_buf_printf(&path, "%s/%s", dir, names[i]);
			rc = rc ? rc : put_identity(b, pyc_buf_cstr(&path));
			pyc_buf_dispose(&path);
		}
		free(names[i]);
	}
	free(names);
	return rc < 0 ? rc : 0;
}

static int validator_value(pyc_buf *out, const pyc_rec *kind, const char *path)
{
	pyc_buf_clear(out);
	if (pyc_interp__rec_is(kind, "wf"))
		return put_identity(out, path) < 0 ? PYC_ENOMEM : 0;
	return put_site_signature(out, path);
}

static int put_validator(pyc_buf *b, const char *kind, const char *path)
{
	pyc_rec rec = { kind, strlen(kind), NULL, 0 };
	pyc_buf value = PYC_BUF_INIT;
	int rc = validator_value(&value, &rec, path);

	rc = rc ? rc : rec_puts(b, kind, path);
	rc = rc ? rc : pyc_interp__rec_put(b, "id", pyc_buf_cstr(&value), value.len);
	pyc_buf_dispose(&value);
	return rc;
}

static bool is_site_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strcmp(base, "site-packages") == 0 || strcmp(base, "dist-packages") == 0;
}

/* pyvenv.cfg next to the binary or one level up decides whether it is a venv. */
static int put_venv_validators(pyc_buf *b, const char *binary)
{
	const char *slash = strrchr(binary, '/');
	pyc_buf cfg = PYC_BUF_INIT;
	int rc = 0;

	if (!slash || !*binary)
		return 0;
	rc |= pyc_buf_put(&cfg, binary, (size_t)(slash - binary));
	rc |= pyc_buf_puts(&cfg, "/pyvenv.cfg");
	rc |= put_validator(b, "wf", cfg.ptr);
	pyc_buf_truncate(&cfg, (size_t)(slash - binary));
	rc |= pyc_buf_puts(&cfg, "/../pyvenv.cfg");
	rc |= put_validator(b, "wf", cfg.ptr);
	pyc_buf_dispose(&cfg);
	return rc < 0 ? PYC_ENOMEM : 0;
}

static int put_validators(pyc_buf *b, const pyc_interp *in, const char *resolved)
{
	int rc = 0;

	if (in->executable[0])
		rc |= put_validator(b, "wf", in->executable);
	rc |= put_venv_validators(b, resolved);
	rc |= put_venv_validators(b, in->executable);
	for (size_t i = 0; i < in->sys_path_len; i++)
		if (is_site_dir(in->sys_path[i]))
			rc |= put_validator(b, "ws", in->sys_path[i]);
	if (in->user_site)
		rc |= put_validator(b, "ws", in->user_site);
	return rc < 0 ? PYC_ENOMEM : 0;
}

/* Does a stored validator still hold? */
static bool validator_holds(const pyc_rec *kind, const pyc_rec *id)
{
	pyc_buf now = PYC_BUF_INIT;
	char *path = kind->value ? strndup(kind->value, kind->len) : NULL;
	bool ok = path && id->value && validator_value(&now, kind, path) == 0 &&
	          now.len == id->len && memcmp(pyc_buf_cstr(&now), id->value, id->len) == 0;

	free(path);
	pyc_buf_dispose(&now);
	return ok;
}

/* A valid entry in data for key fills *out and returns 0; anything else is a miss. */
static int cache_match(const pyc_buf *data, const pyc_buf *key, const char *exe,
                       pyc_interp *out)
{
	pyc_rec_reader r = { data->ptr, data->len, 0 };
	pyc_rec rec, id;

	if (pyc_interp__rec_next(&r, &rec) != 1 || !pyc_interp__rec_is(&rec, "pyc-tool-probe-cache") ||
	    !rec.value || rec.len != 1 || rec.value[0] != CACHE_FORMAT[0])
		return -1;
	if (pyc_interp__rec_next(&r, &rec) != 1 || !pyc_interp__rec_is(&rec, "key") || !rec.value ||
	    rec.len != key->len || memcmp(rec.value, key->ptr, key->len) != 0)
		return -1;
	while (pyc_interp__rec_next(&r, &rec) == 1) {
		if (pyc_interp__rec_is(&rec, "probe"))
			return rec.value ? pyc_interp__parse(out, exe, rec.value, rec.len, NULL) : -1;
		if (!pyc_interp__rec_is(&rec, "wf") && !pyc_interp__rec_is(&rec, "ws"))
			return -1;
		if (pyc_interp__rec_next(&r, &id) != 1 || !pyc_interp__rec_is(&id, "id") || !validator_holds(&rec, &id))
			return -1;
	}
	return -1;
}

static int cache_file(pyc_buf *file, const pyc_buf *key)
{
	uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a: only a bucket name, the key is checked */

	for (size_t i = 0; i < key->len; i++)
		h = (h ^ (uint8_t)key->ptr[i]) * 0x100000001b3u;
	if (pyc_interp_cache_dir(file) != 0)
		return -1;
	return pyc_buf_printf(file, "/%016" PRIx64, h) < 0 ? -1 : 0;
}

static void cache_store(const char *file, const pyc_buf *key, const pyc_interp *in,
                        const char *exe, const pyc_buf *output)
{
	pyc_buf entry = PYC_BUF_INIT, resolved = PYC_BUF_INIT;
	int rc = rec_puts(&entry, "pyc-tool-probe-cache", CACHE_FORMAT);

	rc = rc ? rc : pyc_interp__rec_put(&entry, "key", key->ptr, key->len);
	rc = rc ? rc : resolve_exe(exe, &resolved);
	rc = rc ? rc : put_validators(&entry, in, resolved.ptr);
	rc = rc ? rc : pyc_interp__rec_put(&entry, "probe", output->ptr ? output->ptr : "", output->len);
	if (rc == 0)
		pyc_write_pyc(file, NULL, 0, (const uint8_t *)entry.ptr, entry.len, 0666, NULL);
	pyc_buf_dispose(&entry);
	pyc_buf_dispose(&resolved);
}

int pyc_interp_probe(pyc_interp *out, const char *exe, pyc_error *err)
{
	pyc_buf key = PYC_BUF_INIT, file = PYC_BUF_INIT, data = PYC_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!exe || !*exe || !pyc_interp_cache_enabled() || pyc_interp_cache_key(&key, exe) != 0 ||
	    cache_file(&file, &key) != 0) {
		rc = pyc_interp_probe_fresh(out, exe, err);
		goto done;
	}
	if (slurp(file.ptr, &data, CACHE_FILE_MAX) == 0 && data.len < CACHE_FILE_MAX &&
	    cache_match(&data, &key, exe, out) == 0) {
		/* The entry may come from another directory (the cwd is rarely in the key). */
		char *cwd = getcwd(NULL, 0);
		if (cwd) {
			free(out->cwd);
			out->cwd = cwd;
		}
		out->from_cache = true;
		rc = 0;
		goto done;
	}
	pyc_buf_clear(&data);
	rc = pyc_interp__run_probe(exe, &data, err);
	if (rc == 0)
		rc = pyc_interp__parse(out, exe, data.ptr ? data.ptr : "", data.len, err);
	if (rc == 0)
		cache_store(file.ptr, &key, out, exe, &data);
done:
	pyc_buf_dispose(&key);
	pyc_buf_dispose(&file);
	pyc_buf_dispose(&data);
	return rc;
}
