/* The scenarios of `importtime`, run by run: see pyc/importtime.h. */
#include "importtime_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* Everything a run needs, built once. */
typedef struct it_plan {
	const pyc_importtime_opts *o;
	const pyc_interp *interp;
	char **env;                 /* owned strings */
	pyc_buf timed, discover;    /* the -c scripts */
	pyc_buf prefix[PYC_IMPORTTIME_NSCENARIOS];  /* "pycache_prefix=DIR", or empty */
	unsigned done, total;       /* progress */
} it_plan;

static const char *const scenario_names[] = { "as-is", "no-caches", "all-fresh" };

const char *pyc_importtime_scenario_name(enum pyc_importtime_scenario s)
{
	return (unsigned)s < PYC_IMPORTTIME_NSCENARIOS ? scenario_names[s] : "?";
}

void pyc_importtime_opts_init(pyc_importtime_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->runs = 5;
	o->jobs = 2;
}

bool pyc_importtime_valid_module(const char *name)
{
	/* Letters, digits, '_' and non-ASCII bytes (Python identifiers may be Unicode), in
	 * dot-separated parts that do not start with a digit: nothing that could end the
	 * import statement it is pasted into. */
	bool part_start = true;
	for (const unsigned char *p = (const unsigned char *)name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (part_start)
				return false;
			if (*p == '\0')
				return true;
			part_start = true;
			continue;
		}
		bool digit = *p >= '0' && *p <= '9';
		bool ok = digit || *p == '_' || *p >= 0x80 || (unsigned)((*p | 0x20) - 'a') < 26u;
		if (!ok || (digit && part_start))
			return false;
		part_start = false;
	}
}

static bool dropped_var(const char *kv)
{
	/* Ours to set, or they would change what is measured (-v chatter, a second
	 * importtime, writes). The user's PYTHONPYCACHEPREFIX stays: it is part of "as it is". */
	static const char *const names[] = { "PYTHONDONTWRITEBYTECODE=", "PYTHONPATH=",
		                             "PYTHONPROFILEIMPORTTIME=", "PYTHONVERBOSE=" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

static int build_env(it_plan *p)
{
	size_t n = 0;
	while (environ[n])
		n++;
	if (!(p->env = calloc(n + 3, sizeof(char *))))
		return PYC_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!dropped_var(environ[i]) && !(p->env[k++] = strdup(environ[i])))
			return PYC_ENOMEM;
	if (!(p->env[k++] = strdup("PYTHONDONTWRITEBYTECODE=1")))
		return PYC_ENOMEM;
	const char *old = getenv("PYTHONPATH");
	pyc_buf path = PYC_BUF_INIT;
	int rc = pyc_buf_puts(&path, "PYTHONPATH=");
	for (size_t i = 0; rc == 0 && i < p->o->npaths; i++)
		rc = pyc_buf_printf(&path, "%s%s", i ? ":" : "", p->o->paths[i]);
	if (rc == 0 && old && *old)
		rc = pyc_buf_printf(&path, "%s%s", p->o->npaths ? ":" : "", old);
	if (rc < 0 || (!p->o->npaths && !(old && *old))) {
		pyc_buf_dispose(&path);
		return rc;
	}
	p->env[k] = pyc_buf_detach(&path);
	return 0;
}

/* The imports, after the marker (flushed: 3.7/3.8 buffer a piped sys.stderr, and
 * -X importtime writes through C stdio). */
static int build_scripts(it_plan *p)
{
	int rc = pyc_buf_puts(&p->timed, "import sys\nsys.stderr.write('\\n" IT_MARK "\\n')\n"
	                                  "sys.stderr.flush()\n");
	for (size_t i = 0; rc == 0 && i < p->o->nmodules; i++)
		rc = pyc_buf_printf(&p->timed, "import %s\n", p->o->modules[i]);
	if (rc == 0)
		rc = pyc_buf_puts(&p->discover, pyc_buf_cstr(&p->timed));
	if (rc == 0)
		rc = pyc_buf_puts(&p->discover,
			"mods = sorted(sys.modules.items())\n"
			"import os\n"
			"w = sys.stdout.buffer.write\n"
			"for n, m in mods:\n"
			"    s = getattr(m, '__spec__', None)\n"
			"    if s is not None and type(s.loader).__name__ == 'SourceFileLoader' "
			"and s.origin:\n"
			"        w(n.encode('utf-8', 'surrogateescape') + b'\\t' + "
			"os.fsencode(s.origin) + b'\\n')\n");
	return rc;
}

/* argv for one run: EXE [-v | -X importtime] [-X pycache_prefix=DIR] -c SCRIPT; mode is
 * "-v", "importtime" or NULL (neither). */
static void make_argv(char *argv[8], const it_plan *p, int scen, const char *mode,
                      const pyc_buf *script)
{
	size_t k = 0;
	argv[k++] = p->interp->exe;
	if (mode && strcmp(mode, "-v") == 0) {
		argv[k++] = "-v";
	} else if (mode) {
		argv[k++] = "-X";
		argv[k++] = "importtime";
	}
	if (p->prefix[scen].len) {
		argv[k++] = "-X";
		argv[k++] = p->prefix[scen].ptr;
	}
	argv[k++] = "-c";
	argv[k++] = script->ptr;
	argv[k] = NULL;
}

static int run_one(it_outcome *oc, it_plan *p, int scen, const char *mode,
                   const pyc_buf *script, pyc_error *err)
{
	char *argv[8];
	make_argv(argv, p, scen, mode, script);
	if (p->o->progress)
		p->o->progress(p->done++, p->total, p->o->progress_ctx);
	int rc = pyc_importtime__capture(oc, argv, p->env, script == &p->discover, err);
	if (rc < 0)
		return rc;
	if (!WIFEXITED(oc->status) || WEXITSTATUS(oc->status) != 0)
		return pyc_importtime__child_failed(err, oc, "cannot import the modules");
	return 0;
}

/* -v lines after the marker: "# X.pyc matches X.py" is a load from a cache, "# code
 * object from X.py" (unquoted; a pyc's is quoted) a compilation. */
static void count_loads(pyc_importtime_scenario_result *sr, const it_outcome *oc)
{
	size_t len;
	const char *s = pyc_importtime__after_mark(&oc->err, &len), *end = s + len;
	static const char from[] = "# code object from ";
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - s);
		if (n > sizeof(from) && memcmp(s, from, sizeof(from) - 1) == 0 &&
		    s[sizeof(from) - 1] != '\'')
			sr->compiled++;
		else if (n > 2 && s[0] == '#' && memmem(s, n, " matches ", 9))
			sr->from_pyc++;
		s = nl ? nl + 1 : end;
	}
}

static int timed_run(it_outcome *oc, it_plan *p, pyc_importtime_result *r, int scen,
                     pyc_error *err)
{
	pyc_importtime_scenario_result *sr = &r->sc[scen];
	int rc = run_one(oc, p, scen, "importtime", &p->timed, err);
	if (rc < 0)
		return rc;
	pyc_importtime_sample *smp = &sr->samples[sr->nsamples];
	size_t len;
	const char *text = pyc_importtime__after_mark(&oc->err, &len);
	if ((rc = pyc_importtime_parse(&smp->tree, text, len)) < 0)
		return pyc_error_set(err, rc, 0, "out of memory");
	smp->wall_sec = oc->wall_sec;
	sr->nsamples++;
	return 0;
}

/* Warm-up (-v, counted), then rounds of one run per scenario, the order rotating. */
static int run_scenarios(it_plan *p, pyc_importtime_result *r, pyc_error *err)
{
	it_outcome oc = { PYC_BUF_INIT, PYC_BUF_INIT, 0, 0 };
	int avail[PYC_IMPORTTIME_NSCENARIOS], navail = 0, rc = 0;
	for (int s = 0; s < PYC_IMPORTTIME_NSCENARIOS; s++) {
		if (!r->sc[s].available)
			continue;
		avail[navail++] = s;
		r->sc[s].samples = calloc(p->o->runs, sizeof(pyc_importtime_sample));
		if (!r->sc[s].samples) {
			rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
			goto done;
		}
	}
	for (int i = 0; i < navail; i++) {
		if ((rc = run_one(&oc, p, avail[i], "-v", &p->timed, err)) < 0)
			goto done;
		count_loads(&r->sc[avail[i]], &oc);
	}
	for (unsigned round = 0; round < p->o->runs; round++)
		for (int i = 0; i < navail; i++)
			if ((rc = timed_run(&oc, p, r, avail[(i + (int)round) % navail], err)) < 0)
				goto done;
done:
	pyc_importtime__outcome_dispose(&oc);
	return rc;
}

static int discover(it_plan *p, pyc_importtime_result *r, pyc_error *err)
{
	it_outcome oc = { PYC_BUF_INIT, PYC_BUF_INIT, 0, 0 };
	int rc = run_one(&oc, p, PYC_IMPORTTIME_NO_CACHES, NULL, &p->discover, err);
	if (rc == 0 && (rc = pyc_importtime__sources_parse(r, oc.out.ptr ? oc.out.ptr : "", oc.out.len)) < 0)
		pyc_error_set(err, rc, 0, "out of memory");
	pyc_importtime__outcome_dispose(&oc);
	return rc;
}

static int check_args(const pyc_importtime_opts *o, const pyc_interp *interp, pyc_error *err)
{
	if (interp->major != 3 || interp->minor < 7)
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "'%s' is Python %d.%d: -X importtime needs 3.7 or later",
		                     interp->exe, interp->major, interp->minor);
	if (o->nmodules == 0 || o->runs == 0)
		return pyc_error_set(err, PYC_EINVAL, 0, "no modules or no runs");
	for (size_t i = 0; i < o->nmodules; i++)
		if (!pyc_importtime_valid_module(o->modules[i]))
			return pyc_error_set(err, PYC_EINVAL, 0, "invalid module name '%s'",
			                     o->modules[i]);
	return 0;
}

static void plan_dispose(it_plan *p)
{
	for (size_t i = 0; p->env && p->env[i]; i++)
		free(p->env[i]);
	free(p->env);
	pyc_buf_dispose(&p->timed);
	pyc_buf_dispose(&p->discover);
	for (int s = 0; s < PYC_IMPORTTIME_NSCENARIOS; s++)
		pyc_buf_dispose(&p->prefix[s]);
}

int pyc_importtime_measure(pyc_importtime_result *out, const pyc_importtime_opts *o,
                           const pyc_interp *interp, pyc_error *err)
{
	memset(out, 0, sizeof(*out));
	out->runs = o->runs;
	int rc = check_args(o, interp, err);
	if (rc < 0)
		return rc;
	it_plan p = { .o = o, .interp = interp };
	it_dirs d = { 0 };
	/* sys.pycache_prefix arrived in 3.8: before, only "as it is" can be measured. */
	bool prefixes = interp->minor >= 8;
	out->sc[PYC_IMPORTTIME_AS_IS].available = true;
	out->sc[PYC_IMPORTTIME_NO_CACHES].available = prefixes;
	out->sc[PYC_IMPORTTIME_ALL_FRESH].available = prefixes;
	unsigned nscen = prefixes ? 3 : 1;
	p.total = 1 + nscen + nscen * o->runs;
	if ((rc = pyc_importtime__dirs_make(&d, err)) < 0)
		goto done;
	if (build_env(&p) < 0 || build_scripts(&p) < 0 ||
	    (prefixes && (pyc_buf_printf(&p.prefix[1], "pycache_prefix=%s", d.empty) < 0 ||
	                  pyc_buf_printf(&p.prefix[2], "pycache_prefix=%s", d.fresh) < 0))) {
		rc = pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
		goto done;
	}
	if ((rc = discover(&p, out, err)) < 0)
		goto done;
	if (prefixes && (rc = pyc_importtime__compile_fresh(out, interp, d.fresh, o->jobs, err)) < 0)
		goto done;
	if ((rc = pyc_importtime__judge_sources(out, interp, prefixes ? d.fresh : NULL)) < 0) {
		pyc_error_set(err, rc, 0, "out of memory");
		goto done;
	}
	rc = run_scenarios(&p, out, err);
done:
	pyc_importtime__dirs_remove(&d);
	plan_dispose(&p);
	return rc;
}

void pyc_importtime_result_dispose(pyc_importtime_result *r)
{
	for (int s = 0; s < PYC_IMPORTTIME_NSCENARIOS; s++) {
		for (size_t i = 0; i < r->sc[s].nsamples; i++)
			pyc_importtime_tree_dispose(&r->sc[s].samples[i].tree);
		free(r->sc[s].samples);
	}
	for (size_t i = 0; i < r->nsources; i++) {
		free(r->sources[i].module);
		free(r->sources[i].path);
		free(r->sources[i].cache);
	}
	free(r->sources);
	memset(r, 0, sizeof(*r));
}
