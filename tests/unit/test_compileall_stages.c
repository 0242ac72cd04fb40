/*
 * test_compileall_stages.c - the pipeline stages after the queue, each driven alone with
 * real items:
 *
 * - freshness (pyc_compileall__check): the verdict and cache path of each file of a tree
 *   against the target interpreter's own import system (importlib's cache_from_source,
 *   _classify_pyc and _validate_timestamp_pyc on the pycs its py_compile wrote, then
 *   touched, grown, truncated or given another magic), for every CPython 3.7+;
 * - worker pool + write + lookup (pyc_compileall__compile, __write, __lookup): the pyc
 *   is the bytes py_compile writes for the same source, dfile and mtime (3.11+: marshal
 *   output of older versions varies with reference counts), a broken source one FAILED
 *   event with py_compile's error text; the same without a store, with a cold one (the
 *   write stage records both), warm (both are hits, no interpreter starts) and warm at
 *   another path (the stored body re-targeted: py_compile's bytes at that path);
 * - a cached probe re-checked by the first worker's hello, without a start of its own.
 */
#include "testutil.h"

#include "compileall_internal.h"
#include "pyc/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char fresh_oracle[] =
	"import importlib.util, os, py_compile, sys\n"
	"from importlib._bootstrap_external import _classify_pyc, _validate_timestamp_pyc\n"
	"names = ['fresh', 'missing', 'touched', 'grown', 'trunc', 'magic']\n"
	"os.makedirs('root/dir.py', exist_ok=True)\n"
	"for n in names:\n"
	"    with open('root/%s.py' % n, 'w') as f: f.write('x = 1\\n')\n"
	"    os.utime('root/%s.py' % n, (1700000000, 1700000000))\n"
	"    if n != 'missing': py_compile.compile('root/%s.py' % n, doraise=True)\n"
	"c = importlib.util.cache_from_source\n"
	"os.utime('root/touched.py', (1700000009, 1700000009))\n"
	"with open('root/grown.py', 'a') as f: f.write('y = 2\\n')\n"
	"os.utime('root/grown.py', (1700000000, 1700000000))\n"
	"with open(c('root/trunc.py'), 'r+b') as f: f.truncate(16)\n"
	"with open(c('root/magic.py'), 'r+b') as f: f.write(b'\\x01\\x02')\n"
	"for n in names:\n"
	"    p = 'root/%s.py' % n\n"
	"    try:\n"
	"        data = open(c(p), 'rb').read()\n"
	"        st = os.stat(p)\n"
	"        _classify_pyc(data, n, {})\n"
	"        _validate_timestamp_pyc(data, int(st.st_mtime), st.st_size, n, {})\n"
	"        v = 'fresh' if len(data) > 16 else 'stale'\n"
	"    except (OSError, ImportError, EOFError):\n"
	"        v = 'stale'\n"
	"    print('%s\\t%s\\t%s' % (p, v, c(p)))\n";

static void scratch_dispose(pyc_buf *scratch)
{
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		pyc_buf_dispose(&scratch[i]);
}

static void cfg_for(ca_cfg *cfg, pyc_compileall_opts *o, const pyc_interp *in)
{
	*cfg = (ca_cfg){ .o = o, .in = in, .mode = PYC_INVALIDATION_TIMESTAMP };
	cfg->nlevels = pyc_compileall_levels(cfg->levels, NULL, 0, in->optimize, false);
	cfg->cwd = getcwd(NULL, 0);
}

static pyc_ca_item *checked_item(const ca_cfg *cfg, const char *path)
{
	pyc_buf scratch[PYC_COMPILEALL_MAX_LEVELS] = { PYC_BUF_INIT, PYC_BUF_INIT, PYC_BUF_INIT };
	pyc_ca_item *it = pyc_compileall__item_new(path);
	assert_non_null(it);
	pyc_compileall__check(cfg, it, scratch);
	scratch_dispose(scratch);
	return it;
}

static void test_check_agrees_with_importlib(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, 0);
	tu_interps_since(&list, 3, 7);
	if (list.n == 0)
		tu_skip("no CPython 3.7+ found");
	char *oldcwd = getcwd(NULL, 0);
	static char out[8192];
	for (size_t i = 0; i < list.n; i++) {
		char *dir = tu_mkdtemp();
		assert_int_equal(chdir(dir), 0);
		assert_int_equal(tu_run_python(list.path[i], dir, fresh_oracle, out, sizeof(out)), 0);
		pyc_interp in;
		pyc_error err = { 0 };
		if (pyc_interp_probe_fresh(&in, list.path[i], &err) < 0)
			fail_msg("probe %s: %s", list.path[i], err.message);
		pyc_compileall_opts o;
		pyc_compileall_opts_init(&o);
		ca_cfg cfg;
		cfg_for(&cfg, &o, &in);
		size_t n = 0;
		for (char *save, *line = strtok_r(out, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save), n++) {
			char *f[3];
			assert_int_equal(tu_split_tabs(line, f, 3), 3);
			pyc_ca_item *it = checked_item(&cfg, f[0]);
			bool stale = it->why != PYC_COMPILEALL_FRESH;
			if (!it->candidate || stale != (strcmp(f[1], "stale") == 0))
				fail_msg("3.%d %s: importlib says %s, ours %s", in.minor, f[0], f[1],
				         pyc_compileall_why_name(it->why));
			/* A stale file carries its cache path and its source, read off-thread. */
			if (stale) {
				assert_string_equal(it->cfiles[0], f[2]);
				assert_non_null(it->source);
				assert_int_equal(it->source_len, (size_t)it->st.st_size);
			}
			pyc_compileall__item_free(it);
		}
		assert_int_equal(n, 6);
		/* A directory named like a source is no candidate. */
		pyc_ca_item *it = checked_item(&cfg, "root/dir.py");
		assert_false(it->candidate);
		pyc_compileall__item_free(it);
		free(cfg.cwd);
		pyc_interp_dispose(&in);
		assert_int_equal(chdir(oldcwd), 0);
		tu_rm_rf(dir);
		free(dir);
	}
	free(oldcwd);
	tu_interps_free(&list);
}

/* Events as text, one line each: kind, path, cache, error text. */
static void log_event(const pyc_compileall_event *ev, void *ctx)
{
	pyc_buf_printf(ctx, "%d %s %s %s\n", (int)ev->kind, ev->path ? ev->path : "-",
	               pyc_compileall_cache_name(ev->cache), ev->error_text ? ev->error_text : "");
}

typedef struct pipe_end {
	ca_cfg cfg;
	pyc_compileall_opts o;
	pyc_compileall_stats st;
	ca_sink sink;
	ca_lookup lookup;
	ca_writer writer;
	ca_compiler comp;
	pyc_buf events;
	pyc_error err;
} pipe_end;

/* The stages from the lookup on, wired as pyc_compileall_run wires them. */
static void pipe_init(pipe_end *p, const pyc_interp *in, const char *store)
{
	memset(p, 0, sizeof(*p));
	pyc_compileall_opts_init(&p->o);
	p->o.use_store = store != NULL;
	p->o.store_dir = store;
	cfg_for(&p->cfg, &p->o, in);
	p->sink = (ca_sink){ .on_event = log_event, .ctx = &p->events, .st = &p->st,
	                     .err = &p->err };
	pyc_compileall__lookup_init(&p->lookup, &p->cfg);
	p->writer = (ca_writer){ .cfg = &p->cfg, .sink = &p->sink, .store = &p->lookup };
	p->comp = (ca_compiler){ .cfg = &p->cfg, .sink = &p->sink, .writer = &p->writer };
}

/* Check, look up, then compile or write, as the queue's consumer does. */
static void pipe_file(pipe_end *p, const char *path)
{
	pyc_ca_item *it = checked_item(&p->cfg, path);
	assert_true(it->candidate);
	assert_int_equal(it->why, PYC_COMPILEALL_WHY_MISSING);
	pyc_compileall__lookup(&p->lookup, it);
	if (pyc_compileall__lookup_resolve(&p->lookup, &p->sink, it))
		pyc_compileall__write(&p->writer, it);
	else
		assert_int_equal(pyc_compileall__compile(&p->comp, it), 0);
}

static void pipe_finish(pipe_end *p)
{
	assert_int_equal(pyc_compileall__compile_finish(&p->comp), 0);
	pyc_compileall__write_dispose(&p->writer);
	pyc_compileall__lookup_dispose(&p->lookup);
	free(p->cfg.cwd);
}

/* Compile root/ok.py, root/bad.py and (a copy elsewhere) root2/ok.py with py_compile. */
static const char pycompile_oracle[] =
	"import py_compile\n"
	"for d in ('root', 'root2'):\n"
	"    py_compile.compile(d + '/ok.py', cfile=d + '-ok.pyc', dfile=d + '/ok.py', doraise=True)\n"
	"try:\n"
	"    py_compile.compile('root/bad.py', cfile='bad.pyc', doraise=True)\n"
	"except py_compile.PyCompileError as e:\n"
	"    print(e.msg)\n";

/* Run the pipe's stages over paths; the events it logged must be `want`. */
static void run_pipe(const pyc_interp *in, const char *store, const char *const *paths,
                     size_t n, const char *want, size_t workers)
{
	pipe_end p;
	pipe_init(&p, in, store);
	for (size_t i = 0; i < n; i++)
		pipe_file(&p, paths[i]);
	pipe_finish(&p);
	assert_string_equal(pyc_buf_cstr(&p.events), want);
	assert_int_equal(p.st.workers_started, workers);
	pyc_buf_dispose(&p.events);
}

static void test_compile_write_and_store(void **state)
{
	(void)state;
	char *exe = tu_python3();
	if (!exe)
		tu_skip("no CPython 3 found");
	pyc_interp in;
	pyc_error err = { 0 };
	assert_int_equal(pyc_interp_probe_fresh(&in, exe, &err), 0);
	if (in.minor < 11) {
		pyc_interp_dispose(&in);
		free(exe);
		tu_skip("newest CPython is 3.%d: its marshal bytes vary (3.11+ needed)", in.minor);
	}
	char *dir = tu_mkdtemp(), *oldcwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	static const char ok_src[] = "def f(a):\n    return [a, 'x', (1, 2), 'root/ok.py']\n";
	tu_write_str(dir, "root/ok.py", ok_src);
	tu_write_str(dir, "root2/ok.py", ok_src);
	tu_write_str(dir, "root/bad.py", "def f(:\n");
	static char errtext[4096];
	assert_int_equal(tu_run_python(exe, dir, pycompile_oracle, errtext, sizeof(errtext)), 0);
	size_t elen = strlen(errtext);
	assert_true(elen > 0 && errtext[elen - 1] == '\n');
	errtext[elen - 1] = '\0';   /* print()'s newline */
	const char *store = tu_path(dir, "store");
	static const char *const both[] = { "root/ok.py", "root/bad.py" };
	const int C = PYC_COMPILEALL_COMPILED, F = PYC_COMPILEALL_FAILED;
	pyc_buf want = PYC_BUF_INIT;

	/* Without a store, and cold: compiled by the pool (misses are recorded). */
	for (int pass = 0; pass < 2; pass++) {
		const char *c = pass ? "miss" : "off";
		pyc_buf_clear(&want);
		pyc_buf_printf(&want, "%d root/ok.py %s \n%d root/bad.py %s %s\n", C, c, F, c, errtext);
		run_pipe(&in, pass ? store : NULL, both, 2, pyc_buf_cstr(&want), 1);
		tu_sh("cmp root-ok.pyc root/__pycache__/ok.%s.pyc", in.cache_tag);
		tu_sh("rm -r root/__pycache__");
	}
	/* Warm: both from the store, reported the same, no interpreter started. */
	pyc_buf_clear(&want);
	pyc_buf_printf(&want, "%d root/ok.py hit \n%d root/bad.py hit %s\n", C, F, errtext);
	run_pipe(&in, store, both, 2, pyc_buf_cstr(&want), 0);
	tu_sh("cmp root-ok.pyc root/__pycache__/ok.%s.pyc", in.cache_tag);
	/* At another path: the body re-targeted is what py_compile writes there. */
	static const char *const other[] = { "root2/ok.py" };
	pyc_buf_clear(&want);
	pyc_buf_printf(&want, "%d root2/ok.py hit \n", C);
	run_pipe(&in, store, other, 1, pyc_buf_cstr(&want), 0);
	tu_sh("cmp root2-ok.pyc root2/__pycache__/ok.%s.pyc", in.cache_tag);
	pyc_buf_dispose(&want);

	assert_int_equal(chdir(oldcwd), 0);
	free(oldcwd);
	pyc_interp_dispose(&in);
	tu_rm_rf(dir);
	free(dir);
	free(exe);
}

static size_t lines_in(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int ch;
	while (f && (ch = fgetc(f)) != EOF)
		n += ch == '\n';
	if (f)
		fclose(f);
	return n;
}

/*
 * A cached probe is re-checked before the first compile by the first worker's hello: one
 * interpreter start in all (a wrapper logs each), the file compiled when the answer holds;
 * when it no longer does (here: the cached optimize level), the run stops with reprobed
 * set, for the caller to probe afresh, and writes nothing.
 */
static void test_cached_probe_checked_by_hello(void **state)
{
	(void)state;
	char *exe = tu_python3();
	if (!exe)
		tu_skip("no CPython 3 found");
	char *dir = tu_mkdtemp(), *oldcwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	char *log = strdup(tu_path(dir, "log")), *wrapper = strdup(tu_path(dir, "py"));
	tu_write_str(dir, "py", "#!/bin/sh\necho start >> \"$PYC_TEST_LOG\"\n"
	             "exec \"$PYC_TEST_REAL\" \"$@\"\n");
	assert_int_equal(chmod(wrapper, 0755), 0);
	assert_int_equal(setenv("PYC_TEST_REAL", exe, 1) | setenv("PYC_TEST_LOG", log, 1), 0);
	tu_write_str(dir, "root/ok.py", "x = 1\n");
	pyc_interp in;
	pyc_error err = { 0 };
	assert_int_equal(pyc_interp_probe_fresh(&in, wrapper, &err), 0);
	in.from_cache = true;
	for (int stale = 0; stale < 2; stale++) {
		unlink(log);
		tu_sh("rm -rf root/__pycache__");
		in.optimize = stale;
		pipe_end p;
		pipe_init(&p, &in, NULL);
		pipe_file(&p, "root/ok.py");
		pipe_finish(&p);
		pyc_buf_dispose(&p.events);
		assert_int_equal(lines_in(log), 1);
		assert_int_equal(p.st.reprobed, stale);
		char pyc[256];
		snprintf(pyc, sizeof(pyc), "root/__pycache__/ok.%s.pyc", in.cache_tag);
		assert_int_equal(access(pyc, F_OK) == 0, !stale);
	}
	unsetenv("PYC_TEST_REAL");
	unsetenv("PYC_TEST_LOG");
	assert_int_equal(chdir(oldcwd), 0);
	free(oldcwd);
	pyc_interp_dispose(&in);
	tu_rm_rf(dir);
	free(dir), free(log), free(wrapper), free(exe);
}

/* The store value format: what is written parses back to the same fields, and no
 * truncation or extension of it parses (a damaged value is a miss, never half a result). */
static void test_record_round_trip(void **state)
{
	(void)state;
	pyc_buf bodies[2] = { PYC_BUF_INIT, PYC_BUF_INIT }, warn = PYC_BUF_INIT, v = PYC_BUF_INIT;
	pyc_buf_puts(&bodies[0], "\xe3" "body-zero");
	pyc_buf_put(&bodies[1], "\0\1\2", 3);
	pyc_buf_puts(&warn, "x.py:1: SyntaxWarning: invalid escape sequence '\\d'\n");
	pyc_marshal_slot slots[2] = { { 5, 12 }, { 1, 2 } };
	assert_int_equal(pyc_compileall__record_bodies(&v, bodies, 2, slots, &warn, false), 0);
	ca_record r;
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len), 0);
	assert_int_equal(r.kind, 'B');
	assert_false(r.templated);
	assert_int_equal(r.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(r.body[i].len, bodies[i].len);
		assert_memory_equal(r.body[i].p, bodies[i].ptr, bodies[i].len);
		assert_int_equal(r.slot[i].offset, slots[i].offset);
		assert_int_equal(r.slot[i].length, slots[i].length);
	}
	assert_int_equal(r.warnings.len, warn.len);
	assert_memory_equal(r.warnings.p, warn.ptr, warn.len);
	for (size_t n = 0; n < v.len; n++)
		assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, n),
		                 PYC_EINVAL);
	pyc_buf_putc(&v, 0);
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len),
	                 PYC_EINVAL);

	pyc_job job = { 0 };
	pyc_buf_puts(&job.error_type, "SyntaxError");
	pyc_buf_puts(&job.error_text, "  File \"x.py\", line 1\nSyntaxError: invalid syntax");
	assert_int_equal(pyc_compileall__record_error(&v, &job.error_type, &job.error_text,
	                                              &job.warnings, false), 0);
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len), 0);
	assert_int_equal(r.kind, 'E');
	assert_false(r.templated);
	assert_int_equal(r.error_text.len, job.error_text.len);
	assert_memory_equal(r.error_type.p, "SyntaxError", 11);
	assert_int_equal(r.warnings.len, 0);
	/* Templates: the same fields, flagged, under kinds of their own. */
	assert_int_equal(pyc_compileall__record_error(&v, &job.error_type, &job.error_text,
	                                              &warn, true), 0);
	assert_int_equal(v.ptr[4], 'F');
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len), 0);
	assert_true(r.kind == 'E' && r.templated);
	assert_int_equal(r.warnings.len, warn.len);
	assert_int_equal(pyc_compileall__record_bodies(&v, bodies, 2, slots, &warn, true), 0);
	assert_int_equal(v.ptr[4], 'T');
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len), 0);
	assert_true(r.kind == 'B' && r.templated && r.n == 2);
	assert_int_equal(pyc_compileall__record_marker(&v), 0);
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len), 0);
	assert_int_equal(r.kind, 'P');
	v.ptr[0] = 'q';
	assert_int_equal(pyc_compileall__record_parse(&r, (const uint8_t *)v.ptr, v.len),
	                 PYC_EINVAL);
	pyc_job_dispose(&job);
	pyc_buf_dispose(&bodies[0]);
	pyc_buf_dispose(&bodies[1]);
	pyc_buf_dispose(&warn);
	pyc_buf_dispose(&v);
}

/* A text naming the dfile becomes a template only when putting another dfile in is
 * provably what the compiler would print there; it expands to the new path exactly. */
static void test_text_templates(void **state)
{
	(void)state;
	pyc_ca_item *p = pyc_compileall__item_new("/a/p/mod.py");
	pyc_ca_item *q = pyc_compileall__item_new("/elsewhere/q/mod.py");
	pyc_buf text = PYC_BUF_INIT, tmpl = PYC_BUF_INIT, out = PYC_BUF_INIT;
	static const char src[] = "x = '\\d'\n";
	p->source = (uint8_t *)strdup(src);
	p->source_len = strlen(src);
	pyc_buf_puts(&text, "/a/p/mod.py:1: SyntaxWarning: invalid escape sequence '\\d'\n"
	                    "  File \"/a/p/mod.py\", line 1\n");
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 1);
	assert_null(memmem(tmpl.ptr, tmpl.len, "/a/p", 4));
	ca_span t = { (const uint8_t *)tmpl.ptr, tmpl.len };
	assert_int_equal(pyc_compileall__text_expand(q, t, &out), 0);
	assert_string_equal(pyc_buf_cstr(&out),
	                    "/elsewhere/q/mod.py:1: SyntaxWarning: invalid escape sequence '\\d'\n"
	                    "  File \"/elsewhere/q/mod.py\", line 1\n");
	assert_int_equal(pyc_compileall__text_expand(p, t, &out), 0);
	assert_string_equal(pyc_buf_cstr(&out), pyc_buf_cstr(&text));

	/* The base name alone (py_compile's "Sorry: IndentationError: ... (mod.py, line
	 * 2)") follows the new path's base name. */
	pyc_buf_clear(&text);
	pyc_buf_puts(&text, "Sorry: IndentationError: expected (mod.py, line 2)");
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 1);
	pyc_ca_item *r = pyc_compileall__item_new("/a/p/other.py");
	ca_span tb = { (const uint8_t *)tmpl.ptr, tmpl.len };
	assert_int_equal(pyc_compileall__text_expand(r, tb, &out), 0);
	assert_string_equal(pyc_buf_cstr(&out), "Sorry: IndentationError: expected (other.py, line 2)");
	pyc_compileall__item_free(r);
	/* The source holds the base name: an occurrence may be the source's. */
	free(p->source);
	p->source = (uint8_t *)strdup("import mod.py\n");
	p->source_len = strlen((const char *)p->source);
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 0);
	/* The source quotes its own path: an occurrence may be the source's. */
	pyc_buf_clear(&text);
	pyc_buf_puts(&text, "/a/p/mod.py:1: SyntaxWarning: x\n");
	free(p->source);
	p->source = (uint8_t *)strdup("W = '/a/p/mod.py'\n");
	p->source_len = strlen((const char *)p->source);
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 0);
	/* A dfile that is not the source's path (-d), or not printable ASCII: neither way. */
	p->source_len = 0;
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 1);
	pyc_buf_puts(&p->dfile, "/srv/mod.py");
	p->has_dfile = true;
	assert_int_equal(pyc_compileall__text_template(p, &text, &tmpl), 0);
	assert_int_equal(pyc_compileall__text_expand(p, t, &out), PYC_EINVAL);
	pyc_ca_item *u = pyc_compileall__item_new("/a/\xc3\xbc/mod.py");
	assert_int_equal(pyc_compileall__text_expand(u, t, &out), PYC_EINVAL);
	pyc_compileall__item_free(u);
	pyc_compileall__item_free(p);
	pyc_compileall__item_free(q);
	pyc_buf_dispose(&text);
	pyc_buf_dispose(&tmpl);
	pyc_buf_dispose(&out);
}

/* The write stage keeps the last file's directories open; a __pycache__ removed between
 * two files of one directory is opened (made) again, not a failed write. */
static void test_write_after_cache_dir_removed(void **state)
{
	(void)state;
	char *exe = tu_python3();
	if (!exe)
		tu_skip("no CPython 3 found");
	pyc_interp in;
	pyc_error err = { 0 };
	assert_int_equal(pyc_interp_probe_fresh(&in, exe, &err), 0);
	char *dir = tu_mkdtemp(), *oldcwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	tu_write_str(dir, "root/a.py", "A = 1\n");
	tu_write_str(dir, "root/b.py", "B = 2\n");
	pipe_end p;
	pipe_init(&p, &in, NULL);
	char *written[2];
	for (int i = 0; i < 2; i++) {
		pyc_ca_item *it = checked_item(&p.cfg, i ? "root/b.py" : "root/a.py");
		for (size_t l = 0; l < p.cfg.nlevels; l++)
			pyc_buf_puts(&it->job.body[l], "\xe3 not really code");
		written[i] = strdup(it->cfiles[0]);
		pyc_compileall__write(&p.writer, it);
		if (i == 0)
			tu_rm_rf(tu_path(dir, "root/__pycache__"));
	}
	assert_int_equal(p.st.failed, 0);
	assert_int_equal(p.st.compiled, 2);
	assert_int_equal(access(written[1], F_OK), 0);
	assert_int_not_equal(access(written[0], F_OK), 0);
	pipe_finish(&p);
	pyc_buf_dispose(&p.events);
	assert_int_equal(chdir(oldcwd), 0);
	tu_rm_rf(dir);
	free(written[0]);
	free(written[1]);
	free(oldcwd);
	free(dir);
	pyc_interp_dispose(&in);
	free(exe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_agrees_with_importlib),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_text_templates),
		cmocka_unit_test(test_write_after_cache_dir_removed),
		cmocka_unit_test(test_compile_write_and_store),
		cmocka_unit_test(test_cached_probe_checked_by_hello),
	};
	return tu_run_tests("compileall_stages", tests);
}
