/*
 * Interpreter probe: see include/pyc/interp.h. The probe cache lives in interp_cache.c,
 * which builds on this file (the record codec, running and parsing the probe); nothing
 * here calls into it.
 *
 * The probe writes records "name LEN:BYTES\n" (or "name -\n" for None) as raw bytes, so a
 * sys.path entry may hold any byte, newlines included. It runs on 2.7 and every 3.x.
 */
#include "pyc/interp.h"
#include "interp_internal.h"
#include "proc_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Long enough for a cold start on a loaded machine; a hung interpreter must not hang us. */
#define PROBE_TIMEOUT_SEC 120.0
#define PROBE_OUTPUT_MAX (64u << 20)
/* How much of a failed probe's stderr its error message keeps (stderr_tail). */
#define PROBE_ERR_LINES 20

static const char probe_script[] =
	"import sys, os\n"
	"o = getattr(sys.stdout, 'buffer', sys.stdout)\n"
	"def w(k, v):\n"
	"    if v is None:\n"
	"        o.write(k.encode('ascii') + b' -\\n')\n"
	"        return\n"
	"    if not isinstance(v, bytes):\n"
	"        try:\n"
	"            v = os.fsencode(v)\n"
	"        except AttributeError:\n"
	"            v = v.encode(sys.getfilesystemencoding() or 'utf-8')\n"
	"    o.write(k.encode('ascii') + b' ' + str(len(v)).encode('ascii') + b':' + v + b'\\n')\n"
	"try:\n"
	"    from _frozen_importlib_external import MAGIC_NUMBER as m\n"
	"except ImportError:\n"
	"    try:\n"
	"        from importlib.util import MAGIC_NUMBER as m\n"
	"    except ImportError:\n"
	"        import imp\n"
	"        m = imp.get_magic()\n"
	"i = getattr(sys, 'implementation', None)\n"
	"if i is not None:\n"
	"    n, t = i.name, i.cache_tag\n"
	"else:\n"
	"    import platform\n"
	"    n, t = platform.python_implementation().lower(), None\n"
	"try:\n"
	"    import site\n"
	"    u = site.getusersitepackages()\n"
	"except Exception:\n"
	"    u = None\n"
	"w('impl', n)\n"
	"w('version', '%d.%d.%d' % tuple(sys.version_info[:3]))\n"
	"w('magic', m)\n"
	"w('tag', t)\n"
	"w('optimize', str(sys.flags.optimize))\n"
	"w('prefix', getattr(sys, 'pycache_prefix', None))\n"
	"w('recursion', str(sys.getrecursionlimit()))\n"
	"w('executable', sys.executable or '')\n"
	"w('cwd', os.getcwd())\n"
	"w('usersite', u)\n"
	"def enc(name):\n"
	"    try:\n"
	"        import codecs\n"
	"        return codecs.lookup(name).name\n"
	"    except Exception:\n"
	"        return None\n"
	"w('stdout', enc(getattr(sys.stdout, 'encoding', None) or sys.getdefaultencoding()))\n"
	"w('stdout_errors', getattr(sys.stdout, 'errors', None))\n"
	"w('fsenc', enc(sys.getfilesystemencoding()))\n"
	"try:\n"
	"    import sysconfig\n"
	"    cv = sysconfig.get_config_var\n"
	"except Exception:\n"
	"    cv = lambda k: None\n"
	"w('sysversion', sys.version)\n"
	"w('abiflags', getattr(sys, 'abiflags', None))\n"
	"w('gil_disabled', str(int(bool(cv('Py_GIL_DISABLED')))))\n"
	"w('realexe', os.path.realpath(sys.executable) if sys.executable else '')\n"
	"lp = None\n"
	"if cv('Py_ENABLE_SHARED'):\n"
	"    try:\n"
	"        for l in open('/proc/self/maps'):\n"
	"            f = l.rstrip('\\n').split(None, 5)[-1]\n"
	"            if '/libpython' in f and os.path.isfile(f):\n"
	"                lp = f\n"
	"                break\n"
	"    except Exception:\n"
	"        f = os.path.join(cv('LIBDIR') or '', cv('INSTSONAME') or '')\n"
	"        lp = f if os.path.isfile(f) else None\n"
	"w('libpython', lp)\n"
	"for p in sys.path:\n"
	"    w('path', p)\n"
	"w('end', '')\n"
	"o.flush()\n";

void pyc_interp_dispose(pyc_interp *interp)
{
	if (!interp)
		return;
	free(interp->exe);
	free(interp->cache_tag);
	free(interp->pycache_prefix);
	free(interp->executable);
	free(interp->cwd);
	free(interp->user_site);
	free(interp->stdout_encoding);
	free(interp->stdout_errors);
	free(interp->fs_encoding);
	pyc_interp__build_dispose(interp);
	if (interp->sys_path) {
		for (size_t i = 0; i < interp->sys_path_len; i++)
			free(interp->sys_path[i]);
		free(interp->sys_path);
	}
	memset(interp, 0, sizeof(*interp));
}

int pyc_interp__rec_next(pyc_rec_reader *r, pyc_rec *out)
{
	const char *p = r->data + r->pos, *end = r->data + r->len;
	const char *sp = memchr(p, ' ', (size_t)(end - p));

	if (r->pos >= r->len)
		return 0;
	if (!sp || sp == p || sp - p > 31)
		return -1;
	out->name = p;
	out->name_len = (size_t)(sp - p);
	p = sp + 1;
	if (p + 1 < end && p[0] == '-' && p[1] == '\n') {
		out->value = NULL;
		out->len = 0;
		r->pos = (size_t)(p + 2 - r->data);
		return 1;
	}
	size_t n = 0;
	const char *digits = p;
	while (p < end && *p >= '0' && *p <= '9' && p - digits < 12)
		n = n * 10 + (size_t)(*p++ - '0');
	if (p == digits || p >= end || *p != ':' || (size_t)(end - p - 1) < n + 1 || p[1 + n] != '\n')
		return -1;
	out->value = p + 1;
	out->len = n;
	r->pos = (size_t)(p + 2 + n - r->data);
	return 1;
}

bool pyc_interp__rec_is(const pyc_rec *rec, const char *name)
{
	return rec->name_len == strlen(name) && memcmp(rec->name, name, rec->name_len) == 0;
}

int pyc_interp__rec_put(pyc_buf *b, const char *name, const void *value, size_t len)
{
	if (!value)
		return pyc_buf_printf(b, "%s -\n", name);
	if (pyc_buf_printf(b, "%s %zu:", name, len) < 0 || pyc_buf_put(b, value, len) < 0)
		return PYC_ENOMEM;
	return pyc_buf_putc(b, '\n');
}

/* A NUL-free copy of a record value; NULL for None or on failure (*bad set then). */
static char *rec_str(const pyc_rec *rec, bool *bad)
{
	if (!rec->value)
		return NULL;
	if (memchr(rec->value, '\0', rec->len)) {
		*bad = true;
		return NULL;
	}
	char *s = strndup(rec->value, rec->len);
	if (!s)
		*bad = true;
	return s;
}

static bool rec_int(const pyc_rec *rec, int *out)
{
	char tmp[24];
	char *end;

	if (!rec->value || rec->len == 0 || rec->len >= sizeof(tmp))
		return false;
	memcpy(tmp, rec->value, rec->len);
	tmp[rec->len] = '\0';
	long v = strtol(tmp, &end, 10);
	if (*end || v < -1000000000L || v > 1000000000L)
		return false;
	*out = (int)v;
	return true;
}

static bool add_path(pyc_interp *out, const pyc_rec *rec)
{
	bool bad = false;
	char *s = rec_str(rec, &bad);
	if (!s)
		return false;
	char **grown = realloc(out->sys_path, (out->sys_path_len + 2) * sizeof(char *));
	if (!grown) {
		free(s);
		return false;
	}
	out->sys_path = grown;
	out->sys_path[out->sys_path_len++] = s;
	out->sys_path[out->sys_path_len] = NULL;
	return true;
}

static bool parse_version(const pyc_rec *rec, pyc_interp *out)
{
	char tmp[32];

	if (!rec->value || rec->len == 0 || rec->len >= sizeof(tmp))
		return false;
	memcpy(tmp, rec->value, rec->len);
	tmp[rec->len] = '\0';
	char *p = tmp, *end;
	long v[3];
	for (int i = 0; i < 3; i++) {
		v[i] = strtol(p, &end, 10);
		if (end == p || v[i] < 0 || v[i] > 1000 || *end != (i < 2 ? '.' : '\0'))
			return false;
		p = end + 1;
	}
	out->major = (int)v[0];
	out->minor = (int)v[1];
	out->micro = (int)v[2];
	return true;
}

/* One record into *out; false when it is malformed. Unknown names are skipped. */
static bool apply_record(pyc_interp *out, const pyc_rec *rec, pyc_buf *impl)
{
	bool bad = false;

	if (pyc_interp__rec_is(rec, "impl"))
		return rec->value && pyc_buf_put(impl, rec->value, rec->len) == 0;
	if (pyc_interp__rec_is(rec, "version"))
		return parse_version(rec, out);
	if (pyc_interp__rec_is(rec, "magic")) {
		const uint8_t *m = (const uint8_t *)rec->value;
		if (!m || rec->len != 4 || m[2] != '\r' || m[3] != '\n')
			return false;
		out->magic = (uint16_t)(m[0] | m[1] << 8);
		return true;
	}
	if (pyc_interp__rec_is(rec, "tag"))
		return (out->cache_tag = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "prefix"))
		return (out->pycache_prefix = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "executable"))
		return (out->executable = rec_str(rec, &bad)) != NULL;
	if (pyc_interp__rec_is(rec, "cwd"))
		return (out->cwd = rec_str(rec, &bad)) != NULL;
	if (pyc_interp__rec_is(rec, "usersite"))
		return (out->user_site = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "stdout"))
		return (out->stdout_encoding = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "stdout_errors"))
		return (out->stdout_errors = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "fsenc"))
		return (out->fs_encoding = rec_str(rec, &bad)), !bad;
	if (pyc_interp__rec_is(rec, "optimize"))
		return rec_int(rec, &out->optimize);
	if (pyc_interp__rec_is(rec, "recursion"))
		return rec_int(rec, &out->recursion_limit);
	if (pyc_interp__rec_is(rec, "path"))
		return add_path(out, rec);
	return pyc_interp__build_record(out, rec);
}

/* Check what the records said: a CPython 2.7 or 3.x with a magic that fits. */
static int validate(pyc_interp *out, const pyc_buf *impl, pyc_error *err)
{
	if (strcmp(pyc_buf_cstr(impl), "cpython") != 0)
		return pyc_error_set(err, PYC_EINTERP, 0, "'%s' is not CPython (it is %s)",
		                     out->exe, pyc_buf_cstr(impl));
	if (!(out->major == 3 || (out->major == 2 && out->minor == 7)))
		return pyc_error_set(err, PYC_EINTERP, 0,
		                     "'%s' is CPython %d.%d; only 2.7 and 3.x are supported",
		                     out->exe, out->major, out->minor);
	if (out->magic == 0 || !out->executable || !out->cwd)
		return pyc_error_set(err, PYC_EINTERP, 0,
		                     "'%s' gave an incomplete answer to the probe", out->exe);
	if (!out->sys_path && !(out->sys_path = calloc(1, sizeof(char *))))
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	out->info = pyc_magic_lookup(out->magic);
	return 0;
}

static bool rec_equals(const pyc_rec *rec, const char *value)
{
	if (!rec->value || !value)
		return !rec->value && !value;
	return rec->len == strlen(value) && memcmp(rec->value, value, rec->len) == 0;
}

/* One record of a re-check: false when it contradicts in (unknown names are no answer). */
static bool same_record(const pyc_interp *in, const pyc_rec *rec, unsigned *answered)
{
	pyc_interp got = { 0 };
	bool ok;

	if (pyc_interp__rec_is(rec, "version"))
		ok = parse_version(rec, &got) && got.major == in->major && got.minor == in->minor;
	else if (pyc_interp__rec_is(rec, "magic"))
		ok = rec->len == 4 && (uint16_t)((uint8_t)rec->value[0] |
		                                 (uint8_t)rec->value[1] << 8) == in->magic;
	else if (pyc_interp__rec_is(rec, "tag"))
		ok = rec_equals(rec, in->cache_tag);
	else if (pyc_interp__rec_is(rec, "optimize"))
		ok = rec_int(rec, &got.optimize) && got.optimize == in->optimize;
	else if (pyc_interp__rec_is(rec, "prefix"))
		ok = rec_equals(rec, in->pycache_prefix);
	else
		return true;
	*answered += ok;
	return ok;
}

bool pyc_interp__same_answer(const pyc_interp *in, const char *data, size_t len)
{
	pyc_rec_reader r = { data, len, 0 };
	pyc_rec rec;
	unsigned answered = 0;

	while (pyc_interp__rec_next(&r, &rec) > 0) {
		if (pyc_interp__rec_is(&rec, "end"))
			return answered == 5;
		if (!same_record(in, &rec, &answered))
			return false;
	}
	return false;
}

int pyc_interp__parse(pyc_interp *out, const char *exe, const char *data, size_t len,
                     pyc_error *err)
{
	pyc_rec_reader r = { data, len, 0 };
	pyc_buf impl = PYC_BUF_INIT;
	pyc_rec rec;
	bool ended = false;
	int rc, more;

	memset(out, 0, sizeof(*out));
	out->exe = strdup(exe);
	if (!out->exe)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	while (!ended && (more = pyc_interp__rec_next(&r, &rec)) > 0) {
		if (pyc_interp__rec_is(&rec, "end"))
			ended = true;
		else if (!apply_record(out, &rec, &impl))
			break;
	}
	if (!ended)
		rc = pyc_error_set(err, PYC_EINTERP, 0,
		                   "'%s' gave a malformed answer to the probe (at byte %zu)",
		                   exe, r.pos);
	else
		rc = validate(out, &impl, err);
	pyc_buf_dispose(&impl);
	if (rc < 0)
		pyc_interp_dispose(out);
	return rc;
}

/* Read stdout and stderr of the probe until both close, or the deadline passes. */
static int drain_probe(pyc_proc *p, pyc_buf *out, pyc_buf *errtext, const char *exe,
                       pyc_error *err)
{
	double deadline = pyc_proc__now() + PROBE_TIMEOUT_SEC;
	char chunk[65536];

	while (p->out >= 0 || p->err >= 0) {
		struct pollfd fds[2] = { { p->out, POLLIN, 0 }, { p->err, POLLIN, 0 } };
		double left = deadline - pyc_proc__now();
		if (left <= 0) {
			kill(p->pid, SIGKILL);
			return pyc_error_set(err, PYC_EINTERP, 0,
			                     "'%s' did not answer the probe within %.0f seconds",
			                     exe, PROBE_TIMEOUT_SEC);
		}
		int n = poll(fds, 2, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			return pyc_error_set(err, PYC_EINTERP, errno, "cannot read from '%s'", exe);
		for (int i = 0; n > 0 && i < 2; i++) {
			if (!fds[i].revents)
				continue;
			int *fd = i == 0 ? &p->out : &p->err;
			pyc_buf *b = i == 0 ? out : errtext;
			ssize_t got = read(*fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(*fd);
				*fd = -1;
			} else if (b->len + (size_t)got > PROBE_OUTPUT_MAX || pyc_buf_put(b, chunk, (size_t)got) < 0) {
				kill(p->pid, SIGKILL);
				return pyc_error_set(err, PYC_EINTERP, 0, "'%s' answered the probe with too much output", exe);
			}
		}
	}
	return 0;
}

/*
 * The end of a child's stderr for an error message: its last PROBE_ERR_LINES lines, as
 * many as fit in ROOM bytes ("" when it wrote nothing). A shim's diagnosis spans lines
 * (pyenv: "command not found", then the versions that have the command, then a note),
 * and the last one alone hides the cause.
 */
static const char *stderr_tail(pyc_buf *b, size_t room)
{
	while (b->len && (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == '\r'))
		b->ptr[--b->len] = '\0';
	if (!b->len)
		return "";
	size_t start = b->len, pos = b->len;
	for (int n = 0; n < PROBE_ERR_LINES && pos > 0; n++) {
		const char *nl = memrchr(b->ptr, '\n', pos);
		size_t line = nl ? (size_t)(nl - b->ptr) + 1 : 0;
		if (b->len - line > room)
			break;
		start = line;
		pos = nl ? (size_t)(nl - b->ptr) : 0;
	}
	if (start == b->len)
		start = b->len - room;   /* one line longer than the room: its end */
	return b->ptr + start;
}

/* "'EXE' exited with status N", then the end of its stderr on the following lines. */
static int exit_error(const char *exe, int status, pyc_buf *errtext, pyc_error *err)
{
	const char *why = stderr_tail(errtext, PYC_ERROR_MSG_MAX / 2);
	const char *sep = *why ? "\n" : "";

	if (WIFSIGNALED(status))
		return pyc_error_set(err, PYC_EINTERP, 0, "'%s' was killed by signal %d%s%s", exe,
		                     WTERMSIG(status), sep, why);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*why)
		return pyc_error_set(err, PYC_EINTERP, 0, "cannot run '%s': not found", exe);
	return pyc_error_set(err, PYC_EINTERP, 0, "'%s' exited with status %d%s%s", exe,
	                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, sep, why);
}

int pyc_interp__run_probe(const char *exe, pyc_buf *output, pyc_error *err)
{
	char *argv[] = { (char *)exe, (char *)"-c", (char *)probe_script, NULL };
	pyc_buf errtext = PYC_BUF_INIT;
	pyc_proc p;

	if (!exe || !*exe)
		return pyc_error_set(err, PYC_EINTERP, 0, "no interpreter given");
	int rc = pyc_proc__spawn(&p, argv, NULL, PYC_PROC_STDOUT | PYC_PROC_STDERR, err);
	if (rc < 0)
		return rc;
	rc = drain_probe(&p, output, &errtext, exe, err);
	pyc_proc__close(&p);
	int status = pyc_proc__wait(&p);
	if (rc == 0 && (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = exit_error(exe, status, &errtext, err);
	pyc_buf_dispose(&errtext);
	return rc;
}

int pyc_interp_probe_fresh(pyc_interp *out, const char *exe, pyc_error *err)
{
	pyc_buf output = PYC_BUF_INIT;

	memset(out, 0, sizeof(*out));
	int rc = pyc_interp__run_probe(exe, &output, err);
	if (rc == 0)
		rc = pyc_interp__parse(out, exe, output.ptr ? output.ptr : "", output.len, err);
	pyc_buf_dispose(&output);
	return rc;
}
