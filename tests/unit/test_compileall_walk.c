/*
 * test_compileall_walk.c - the walk stage alone: the items it queues, in order, against
 * what each installed CPython 3.6+'s own compileall.compile_dir does on the same tree
 * (its compile_file replaced by a recorder that prints the arguments the walk decides:
 * the path, ddir, stripdir, prependdir and whether -x matches; "Listing" lines as it
 * prints them). The queue is driven with a consumer that only records. Each interpreter
 * walks every case in one process, a line "== N" before case N's lines.
 */
#include "testutil.h"

#include "compileall_internal.h"
#include "pyc/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char oracle[] =
	"import compileall, re, sys\n"
	"def rec(fullname, ddir=None, force=False, rx=None, *a, **k):\n"
	"    if fullname.endswith('.py'):\n"
	"        x = 'x' if rx is not None and rx.search(fullname) else '-'\n"
	"        print('F\\t%s\\t%s\\t%s\\t%s\\t%s' % (fullname, ddir, k.get('stripdir'),\n"
	"              k.get('prependdir'), x))\n"
	"    return True\n"
	"compileall.compile_file = rec\n"
	"for n, line in enumerate(open('args')):\n"
	"    maxlevels, ddir, rx = line.split()\n"
	"    print('== %d' % n)\n"
	"    kw = {} if maxlevels == '-' else {'maxlevels': int(maxlevels)}\n"
	"    compileall.compile_dir('root', ddir=None if ddir == '-' else ddir,\n"
	"                           rx=None if rx == '-' else re.compile(rx), quiet=0, **kw)\n";

typedef struct recorder {
	pyc_buf out;
} recorder;

static void no_check(void *ctx, void *item, void *local)
{
	(void)ctx;
	(void)item;
	(void)local;
}

static const char *or_none(const char *s)
{
	return s ? s : "None";
}

/* The same lines as the oracle prints, from the queued items. */
static int record(void *ctx, void *item)
{
	recorder *r = ctx;
	pyc_ca_item *it = item;
	if (it->kind == CA_ITEM_LISTING)
		pyc_buf_printf(&r->out, "Listing '%s'...\n", it->fullname);
	else if (it->kind == CA_ITEM_FILE && pyc_compileall__is_py_name(it->fullname))
		pyc_buf_printf(&r->out, "F\t%s\t%s\t%s\t%s\t%s\n", it->fullname, or_none(it->ddir),
		               or_none(it->stripdir), or_none(it->prependdir),
		               it->excluded ? "x" : "-");
	else if (it->kind != CA_ITEM_FILE)
		pyc_buf_printf(&r->out, "? %d %s\n", (int)it->kind, it->fullname);
	pyc_compileall__item_free(it);
	return 0;
}

static void drop(void *ctx, void *item)
{
	(void)ctx;
	pyc_compileall__item_free(item);
}

/* Our walk of `root` (the current directory holds it) for interp, into out. */
static void walk(const pyc_interp *in, int maxlevels, const char *ddir, const char *rx,
                 pyc_buf *out)
{
	static const char *const paths[] = { "root" };
	pyc_compileall_opts o;
	pyc_compileall_opts_init(&o);
	o.paths = paths;
	o.npaths = 1;
	o.ddir = ddir;
	o.rx = rx;
	ca_cfg cfg = { .o = &o, .in = in };
	cfg.maxlevels = maxlevels >= 0 ? maxlevels
	                : pyc_compileall_default_maxlevels(in->major, in->minor,
	                                                   in->recursion_limit);
	recorder r = { PYC_BUF_INIT };
	ca_queue q;
	ca_walk w;
	bool stop = false;
	ca_queue_ops ops = { .check = no_check, .consume = record, .drop = drop, .ctx = &r };
	pyc_error err = { 0 };
	assert_int_equal(pyc_compileall__walk_init(&w, &cfg, &q, &stop, &err), 0);
	assert_int_equal(pyc_compileall__queue_start(&q, &ops, 2), 0);
	assert_int_equal(pyc_compileall__walk(&w), 0);
	assert_int_equal(pyc_compileall__queue_finish(&q), 0);
	pyc_compileall__walk_dispose(&w);
	*out = r.out;
}

static void make_tree(const char *dir)
{
	static const char *const files[] = {
		"root/B.py", "root/a.py", "root/a.txt", "root/.py", "root/__pycache__/z.py",
		"root/sub/c.py", "root/sub/deep/d.py", "root/sub/deep/deeper/e.py",
		"root/sub/deep/deeper/deepest/f.py", "root/pkg/__init__.py",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		tu_write_str(dir, files[i], "x = 1\n");
	tu_sh("cd '%s'/root && ln -s sub linkdir && ln -s a.py link.py && ln -s gone dangling.py",
	      dir);
}

static void test_walk_matches_compile_dir(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, 0);
	tu_interps_since(&list, 3, 6);
	if (list.n == 0)
		tu_skip("no CPython 3.6+ found");
	char *dir = tu_mkdtemp();
	make_tree(dir);
	char *oldcwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	/* maxlevels (- = default), -d, -x */
	static const char *const cases[][3] = {
		{ "-", "-", "-" }, { "1", "-", "-" }, { "0", "-", "-" }, { "-", "/dest", "deep|B" },
	};
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	pyc_buf args = PYC_BUF_INIT;
	for (size_t c = 0; c < ncases; c++)
		pyc_buf_printf(&args, "%s %s %s\n", cases[c][0], cases[c][1], cases[c][2]);
	tu_write_str(dir, "args", pyc_buf_cstr(&args));
	static char all[65536];
	for (size_t i = 0; i < list.n; i++) {
		pyc_interp in;
		pyc_error err = { 0 };
		if (pyc_interp_probe_fresh(&in, list.path[i], &err) < 0)
			fail_msg("probe %s: %s", list.path[i], err.message);
		assert_int_equal(tu_run_python(list.path[i], dir, oracle, all, sizeof(all)), 0);
		char *next = all;
		for (size_t c = 0; c < ncases; c++) {
			char mark[32];
			snprintf(mark, sizeof(mark), "== %zu\n", c);
			if (strncmp(next, mark, strlen(mark)) != 0)
				fail_msg("3.%d: no case %zu in the oracle's answer:\n%s", in.minor, c, next);
			char *expect = next + strlen(mark);
			next = strstr(expect, "\n== ");
			next = next ? next + 1 : expect + strlen(expect);
			char saved = *next;
			*next = '\0';
			/* The oracle saw the tree (a broken script would print nothing). */
			assert_non_null(strstr(expect, "Listing 'root'..."));
			pyc_buf got;
			walk(&in, strcmp(cases[c][0], "-") ? (int)strtol(cases[c][0], NULL, 10) : -1,
			     strcmp(cases[c][1], "-") ? cases[c][1] : NULL,
			     strcmp(cases[c][2], "-") ? cases[c][2] : NULL, &got);
			if (strcmp(pyc_buf_cstr(&got), expect) != 0)
				fail_msg("3.%d, case %zu (%s %s %s):\ncompileall:\n%sours:\n%s", in.minor, c,
				         cases[c][0], cases[c][1], cases[c][2], expect, pyc_buf_cstr(&got));
			pyc_buf_dispose(&got);
			*next = saved;
		}
		pyc_interp_dispose(&in);
	}
	pyc_buf_dispose(&args);
	assert_int_equal(chdir(oldcwd), 0);
	free(oldcwd);
	tu_rm_rf(dir);
	free(dir);
	tu_interps_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_matches_compile_dir),
	};
	return tu_run_tests("compileall_walk", tests);
}
