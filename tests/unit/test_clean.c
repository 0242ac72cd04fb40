/*
 * pyc_clean_run on real temporary trees: what goes, what stays (compared by snapshotting
 * the whole scratch directory, inside and outside the cleaned path), what is reported,
 * and that removal cannot be redirected through a symlink swapped in during the run.
 * Bytecode contents come from the pyc_file table of tests/fixtures/vectors.tsv (files
 * written by the real interpreters for b"x = 1\n" at mtime 1700000000).
 */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/clean.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VEC_MTIME 1700000000

/* The pyc_file vector for `version` ("3.12.1") and mode; returns its length. */
static size_t load_vector(const char *version, const char *mode, uint8_t *out, size_t cap)
{
	FILE *f = fopen(tu_fixture("vectors.tsv"), "r");
	assert_non_null(f);
	char line[8192];
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *fld[8];
		if (strncmp(line, "pyc_file\t", 9) != 0 || tu_split_tabs(line, fld, 8) < 6)
			continue;
		if (strcmp(fld[1], version) == 0 && strcmp(fld[2], mode) == 0) {
			n = tu_unhex(fld[5], out, cap);
			break;
		}
	}
	fclose(f);
	assert_true(n > 0);
	return n;
}

static void put_vector(const char *dir, const char *rel, const char *version)
{
	uint8_t b[512];
	size_t n = load_vector(version, "timestamp", b, sizeof(b));
	tu_write(dir, rel, b, n);
}

/* A source the vectors are fresh for. */
static void put_source(const char *dir, const char *rel, int64_t mtime)
{
	tu_write_str(dir, rel, "x = 1\n");
	tu_set_mtime(dir, rel, mtime, 0);
}

static void mkdir_p(const char *dir, const char *rel)
{
	char keep[4096];
	snprintf(keep, sizeof(keep), "%s/.keep", rel);
	tu_write_str(dir, keep, "");
	assert_int_equal(unlink(tu_path(dir, keep)), 0);
}

static void symlink_at(const char *target, const char *dir, const char *rel)
{
	if (symlink(target, tu_path(dir, rel)) != 0)
		fail_msg("symlink %s: %s", rel, strerror(errno));
}

/*
 * The scratch tree. "src" is cleaned; "outside" must never change.
 *   src/pkg/a.py                         fresh for a.cpython-312 and a.cpython-311
 *   src/pkg/b.py                         newer: b.cpython-312 is stale
 *   src/pkg/c.py                         c.cpython-312 is truncated (corrupt)
 *   src/pkg/__pycache__/gone.cpython-312.pyc    no source (orphan)
 *   src/pkg/__pycache__/ln.cpython-312.pyc -> outside/target.pyc   (a symlinked pyc)
 *   src/other/__pycache__/notes.txt      not bytecode: stays, with its directory
 *   src/.git/__pycache__/v.cpython-312.pyc        VCS metadata: never entered
 *   src/link -> ../outside               symlinked directory: never entered
 *   src/q/__pycache__ -> ../../outside/__pycache__   symlink named __pycache__
 *   src/legacy.py + src/legacy.pyc (2.7), src/lonely.pyc (2.7, no source)
 */
static char *make_tree(void)
{
	char *d = tu_mkdtemp();
	put_source(d, "src/pkg/a.py", VEC_MTIME);
	put_vector(d, "src/pkg/__pycache__/a.cpython-312.pyc", "3.12.1");
	put_vector(d, "src/pkg/__pycache__/a.cpython-311.pyc", "3.11.7");
	put_source(d, "src/pkg/b.py", VEC_MTIME + 100);
	put_vector(d, "src/pkg/__pycache__/b.cpython-312.pyc", "3.12.1");
	put_source(d, "src/pkg/c.py", VEC_MTIME);
	tu_write(d, "src/pkg/__pycache__/c.cpython-312.pyc", "\xcb\x0d\x0d", 3);
	put_vector(d, "src/pkg/__pycache__/gone.cpython-312.pyc", "3.12.1");
	put_vector(d, "outside/target.pyc", "3.12.1");
	symlink_at("../../../outside/target.pyc", d, "src/pkg/__pycache__/ln.cpython-312.pyc");
	put_source(d, "src/other/x.py", VEC_MTIME);
	put_vector(d, "src/other/__pycache__/x.cpython-312.pyc", "3.12.1");
	tu_write_str(d, "src/other/__pycache__/notes.txt", "mine\n");
	put_vector(d, "src/.git/__pycache__/v.cpython-312.pyc", "3.12.1");
	put_vector(d, "outside/__pycache__/o.cpython-312.pyc", "3.12.1");
	symlink_at("../outside", d, "src/link");
	mkdir_p(d, "src/q");
	symlink_at("../../outside/__pycache__", d, "src/q/__pycache__");
	put_source(d, "src/legacy.py", VEC_MTIME);
	put_vector(d, "src/legacy.pyc", "2.7.18");
	put_vector(d, "src/lonely.pyc", "2.7.18");
	return d;
}

/* Every path under root, relative, sorted, one per line; dirs end in '/', links in '@'. */
struct snap { pyc_buf names[256]; size_t n; size_t root_len; };
static struct snap *snap_cur;   /* nftw() passes no user pointer to its callback */

static int snap_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	struct snap *s = snap_cur;
	if (strlen(p) <= s->root_len)
		return 0;
	assert_true(s->n < 256);
	pyc_buf *b = &s->names[s->n++];
	*b = (pyc_buf)PYC_BUF_INIT;
	pyc_buf_puts(b, p + s->root_len + 1);
	if (flag == FTW_SL || S_ISLNK(st->st_mode))
		pyc_buf_putc(b, '@');
	else if (flag == FTW_D || flag == FTW_DP)
		pyc_buf_putc(b, '/');
	return 0;
}

static int cmp_buf(const void *a, const void *b)
{
	return strcmp(((const pyc_buf *)a)->ptr, ((const pyc_buf *)b)->ptr);
}

static char *snapshot(const char *root)
{
	static struct snap s;
	memset(&s, 0, sizeof(s));
	s.root_len = strlen(root);
	snap_cur = &s;
	assert_int_equal(nftw(root, snap_one, 32, FTW_PHYS), 0);
	qsort(s.names, s.n, sizeof(s.names[0]), cmp_buf);
	pyc_buf out = PYC_BUF_INIT;
	pyc_buf_puts(&out, "");
	for (size_t i = 0; i < s.n; i++) {
		pyc_buf_printf(&out, "%s\n", s.names[i].ptr);
		pyc_buf_dispose(&s.names[i]);
	}
	return pyc_buf_detach(&out);
}

/* The snapshot of the fresh tree minus the listed entries (NULL-terminated). */
static char *expected_without(const char *const *gone)
{
	char *d = make_tree();
	char *all = snapshot(d);
	tu_rm_rf(d);
	free(d);
	pyc_buf out = PYC_BUF_INIT;
	pyc_buf_puts(&out, "");
	for (char *line = all, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		bool drop = false;
		for (size_t i = 0; gone[i]; i++)
			drop = drop || strcmp(gone[i], line) == 0;
		if (!drop)
			pyc_buf_printf(&out, "%s\n", line);
	}
	free(all);
	return pyc_buf_detach(&out);
}

/* What the callback saw: "R path", "K path", "F path" lines in call order. */
struct seen { pyc_buf log; unsigned removed, kept, failed; int stop_after; };

static int record(const pyc_clean_item *it, void *payload)
{
	struct seen *s = payload;
	char c = it->event == PYC_CLEAN_REMOVED        ? 'R'
	         : it->event == PYC_CLEAN_KEPT_FOREIGN ? 'K'
	                                               : 'F';
	if (c == 'R')
		s->removed++;
	else if (c == 'K')
		s->kept++;
	else
		s->failed++;
	if (c == 'F') {
		assert_non_null(it->error);
		assert_non_null(strstr(it->error->message, it->path));
	}
	pyc_buf_printf(&s->log, "%c %s%s\n", c, it->path, it->is_dir ? "/" : "");
	if (s->stop_after && s->removed + s->kept + s->failed >= (unsigned)s->stop_after)
		return 42;
	return 0;
}

static pyc_clean_totals run(const char *root, const char *rel, pyc_clean_opts o, struct seen *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	const char *paths[] = { path };
	pyc_clean_totals t;
	pyc_error err = { 0 };
	if (s) {
		o.cb = record;
		o.payload = s;
	}
	int rc = pyc_clean_run(&t, paths, 1, &o, &err);
	assert_true(rc == 0 || (s && s->stop_after && rc == 42));
	return t;
}

static void check_tree(const char *root, const char *const *gone)
{
	char *got = snapshot(root);
	char *want = expected_without(gone);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static uint64_t file_size(const char *dir, const char *rel)
{
	struct stat st;
	assert_int_equal(lstat(tu_path(dir, rel), &st), 0);
	return (uint64_t)st.st_size;
}

static void test_default_removes_caches_only(void **state)
{
	(void)state;
	char *d = make_tree();
	uint64_t bytes = 0;
	const char *files[] = { "a.cpython-312.pyc", "a.cpython-311.pyc", "b.cpython-312.pyc",
	                        "c.cpython-312.pyc", "gone.cpython-312.pyc", "ln.cpython-312.pyc" };
	for (size_t i = 0; i < 6; i++)
		bytes += file_size(d, tu_path("src/pkg/__pycache__", files[i]));
	bytes += file_size(d, "src/other/__pycache__/x.cpython-312.pyc");
	struct seen s = { PYC_BUF_INIT };
	pyc_clean_totals t = run(d, "src", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, &s);
	static const char *const gone[] = {
		"src/pkg/__pycache__/", "src/pkg/__pycache__/a.cpython-311.pyc",
		"src/pkg/__pycache__/a.cpython-312.pyc", "src/pkg/__pycache__/b.cpython-312.pyc",
		"src/pkg/__pycache__/c.cpython-312.pyc", "src/pkg/__pycache__/gone.cpython-312.pyc",
		"src/pkg/__pycache__/ln.cpython-312.pyc@",
		"src/other/__pycache__/x.cpython-312.pyc",
		NULL };
	check_tree(d, gone);
	assert_int_equal(t.files, 7);
	assert_int_equal(t.dirs, 1);
	assert_int_equal(t.bytes, bytes);
	assert_int_equal(t.foreign, 1);
	assert_int_equal(t.failed, 0);
	assert_int_equal(s.kept, 1);
	assert_non_null(strstr(s.log.ptr, "K "));
	assert_non_null(strstr(s.log.ptr, "src/other/__pycache__/notes.txt\n"));
	/* A directory is reported after its contents. */
	assert_true(strstr(s.log.ptr, "gone.cpython-312.pyc") <
	            strstr(s.log.ptr, "pkg/__pycache__/\n"));
	pyc_buf_dispose(&s.log);
	tu_rm_rf(d);
	free(d);
}

static void test_dry_run_matches_real_run(void **state)
{
	(void)state;
	char *d = make_tree();
	char *before = snapshot(d);
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.dry_run = true;
	o.sourceless = true;
	struct seen dry = { PYC_BUF_INIT }, real = { PYC_BUF_INIT };
	pyc_clean_totals td = run(d, "src", o, &dry);
	char *after = snapshot(d);
	assert_string_equal(before, after);
	o.dry_run = false;
	pyc_clean_totals tr = run(d, "src", o, &real);
	assert_string_equal(dry.log.ptr, real.log.ptr);
	assert_memory_equal(&td, &tr, sizeof(td));
	assert_int_equal(tr.files, 9);   /* 7 in caches + 2 legacy */
	free(before);
	free(after);
	pyc_buf_dispose(&dry.log);
	pyc_buf_dispose(&real.log);
	tu_rm_rf(d);
	free(d);
}

static void test_stale_keeps_fresh(void **state)
{
	(void)state;
	char *d = make_tree();
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.select = PYC_CLEAN_SELECT_STALE;
	pyc_clean_totals t = run(d, "src", o, NULL);
	/* ln.cpython-312.pyc has no ln.py: an orphan, removed as a link. */
	static const char *const gone[] = {
		"src/pkg/__pycache__/b.cpython-312.pyc", "src/pkg/__pycache__/c.cpython-312.pyc",
		"src/pkg/__pycache__/gone.cpython-312.pyc",
		"src/pkg/__pycache__/ln.cpython-312.pyc@",
		NULL };
	check_tree(d, gone);
	assert_int_equal(t.files, 4);
	assert_int_equal(t.kept, 3);   /* a.312, a.311, other/x.312 */
	assert_int_equal(t.dirs, 0);
	tu_rm_rf(d);
	free(d);
}

static void test_orphans_only(void **state)
{
	(void)state;
	char *d = make_tree();
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.select = PYC_CLEAN_SELECT_ORPHANS;
	struct seen s = { PYC_BUF_INIT };
	run(d, "src", o, &s);
	static const char *const gone[] = { "src/pkg/__pycache__/gone.cpython-312.pyc",
	                                    "src/pkg/__pycache__/ln.cpython-312.pyc@", NULL };
	check_tree(d, gone);
	pyc_buf_dispose(&s.log);
	tu_rm_rf(d);
	free(d);
}

static void test_tags_and_keep_tags(void **state)
{
	(void)state;
	char *d = make_tree();
	const char *only[] = { "cpython-311" };
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.tags = only;
	o.ntags = 1;
	run(d, "src", o, NULL);
	static const char *const gone1[] = { "src/pkg/__pycache__/a.cpython-311.pyc", NULL };
	check_tree(d, gone1);
	tu_rm_rf(d);
	free(d);

	d = make_tree();
	const char *keep[] = { "cpython-312" };
	o = (pyc_clean_opts)PYC_CLEAN_OPTS_INIT;
	o.keep_tags = keep;
	o.nkeep_tags = 1;
	o.legacy = true;
	const uint16_t py27 = 62211;   /* keeps legacy.pyc, written by 2.7 */
	o.keep_magics = &py27;
	o.nkeep_magics = 1;
	run(d, "src", o, NULL);
	check_tree(d, gone1);
	tu_rm_rf(d);
	free(d);
}

static void test_legacy_and_sourceless(void **state)
{
	(void)state;
	char *d = make_tree();
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.legacy = true;
	o.tags = (const char *const[]){ "none-such" };
	o.ntags = 1;   /* only legacy files could match; a 2.7 file has no tag */
	pyc_clean_totals t = run(d, "src", o, NULL);
	static const char *const none[] = { NULL };
	check_tree(d, none);
	assert_int_equal(t.files, 0);

	o = (pyc_clean_opts)PYC_CLEAN_OPTS_INIT;
	o.legacy = true;
	o.select = PYC_CLEAN_SELECT_STALE;   /* legacy.pyc is fresh for legacy.py */
	t = run(d, "src", o, NULL);
	static const char *const stale[] = {
		"src/pkg/__pycache__/b.cpython-312.pyc", "src/pkg/__pycache__/c.cpython-312.pyc",
		"src/pkg/__pycache__/gone.cpython-312.pyc",
		"src/pkg/__pycache__/ln.cpython-312.pyc@",
		NULL };
	check_tree(d, stale);
	tu_rm_rf(d);
	free(d);

	d = make_tree();
	o = (pyc_clean_opts)PYC_CLEAN_OPTS_INIT;
	o.legacy = true;
	o.select = PYC_CLEAN_SELECT_ORPHANS;
	run(d, "src", o, NULL);
	check_tree(d, (const char *const[]){ "src/pkg/__pycache__/gone.cpython-312.pyc",
	                                     "src/pkg/__pycache__/ln.cpython-312.pyc@", NULL });
	o.sourceless = true;
	run(d, "src", o, NULL);
	check_tree(d, (const char *const[]){ "src/pkg/__pycache__/gone.cpython-312.pyc",
	                                     "src/pkg/__pycache__/ln.cpython-312.pyc@",
	                                     "src/lonely.pyc", NULL });
	tu_rm_rf(d);
	free(d);
}

/* The root may itself be a __pycache__; a symlink named __pycache__ is refused. */
static void test_root_is_cache_dir(void **state)
{
	(void)state;
	char *d = make_tree();
	struct seen s = { PYC_BUF_INIT };
	pyc_clean_totals t = run(d, "src/q/__pycache__", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, &s);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.files, 0);
	pyc_buf_dispose(&s.log);
	t = run(d, "src/other/__pycache__/", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, NULL);
	assert_int_equal(t.files, 1);
	assert_int_equal(t.dirs, 0);   /* notes.txt keeps it */
	unlink(tu_path(d, "src/other/__pycache__/notes.txt"));
	t = run(d, "src/other/__pycache__", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, NULL);
	assert_int_equal(t.dirs, 1);
	assert_int_equal(access(tu_path(d, "src/other/__pycache__"), F_OK), -1);
	tu_rm_rf(d);
	free(d);
}

static void test_missing_path_fails_and_goes_on(void **state)
{
	(void)state;
	char *d = make_tree();
	char p1[4096], p2[4096];
	snprintf(p1, sizeof(p1), "%s/nope", d);
	snprintf(p2, sizeof(p2), "%s/src/other", d);
	const char *paths[] = { p1, p2 };
	pyc_clean_totals t;
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	assert_int_equal(pyc_clean_run(&t, paths, 2, &o, NULL), 0);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.files, 1);
	tu_rm_rf(d);
	free(d);
}

/* chattr +i makes a directory whose entries even root cannot unlink. */
static bool chattr(const char *flag, const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("chattr", "chattr", flag, path, (char *)NULL);
		_exit(127);
	}
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_unremovable_is_reported(void **state)
{
	(void)state;
	char *d = make_tree();
	const char *locked = tu_path(d, "src/pkg/__pycache__");
	char lockpath[4096];
	snprintf(lockpath, sizeof(lockpath), "%s", locked);
	if (!chattr("+i", lockpath)) {
		tu_rm_rf(d);
		free(d);
		print_message("SKIP: chattr +i is not available here\n");
		skip();
	}
	struct seen s = { PYC_BUF_INIT };
	pyc_clean_totals t = run(d, "src", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, &s);
	chattr("-i", lockpath);
	if (t.failed == 0 && geteuid() != 0)
		fail_msg("nothing failed in an immutable directory");
	assert_int_equal(t.failed, 6);   /* the six entries of pkg/__pycache__ */
	assert_int_equal(s.failed, 6);
	static const char *const gone[] = { "src/other/__pycache__/x.cpython-312.pyc", NULL };
	check_tree(d, gone);   /* the run went on */
	pyc_buf_dispose(&s.log);
	tu_rm_rf(d);
	free(d);
}

/* Swap src/pkg for a symlink to a look-alike outside after the first removal in it. */
struct swap { struct seen s; const char *root; bool done; };

static int swap_after_first(const pyc_clean_item *it, void *payload)
{
	struct swap *w = payload;
	record(it, &w->s);
	if (!w->done && it->event == PYC_CLEAN_REMOVED &&
	    strstr(it->path, "/src/pkg/__pycache__/")) {
		w->done = true;
		char from[4096], to[4096];
		snprintf(from, sizeof(from), "%s/src/pkg", w->root);
		snprintf(to, sizeof(to), "%s/moved", w->root);
		assert_int_equal(rename(from, to), 0);
		symlink_at("../decoy", w->root, "src/pkg");
	}
	return 0;
}

static void test_swap_mid_run_is_not_followed(void **state)
{
	(void)state;
	char *d = make_tree();
	const char *names[] = { "a.cpython-311.pyc", "a.cpython-312.pyc", "b.cpython-312.pyc",
	                        "gone.cpython-312.pyc" };
	for (size_t i = 0; i < 4; i++)
		put_vector(d, tu_path("decoy/__pycache__", names[i]), "3.12.1");
	char *decoy_before = snapshot(tu_path(d, "decoy"));
	struct swap w = { { PYC_BUF_INIT }, d, false };
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.cb = swap_after_first;
	o.payload = &w;
	char path[4096];
	snprintf(path, sizeof(path), "%s/src", d);
	const char *paths[] = { path };
	pyc_clean_totals t;
	assert_int_equal(pyc_clean_run(&t, paths, 1, &o, NULL), 0);
	assert_true(w.done);
	char *decoy_after = snapshot(tu_path(d, "decoy"));
	assert_string_equal(decoy_before, decoy_after);
	/* The directory that was moved away was emptied and removed through its fds. */
	char *moved = snapshot(tu_path(d, "moved"));
	assert_string_equal(moved, "a.py\nb.py\nc.py\n");
	assert_int_equal(t.files, 7);
	assert_int_equal(t.failed, 0);
	free(decoy_before);
	free(decoy_after);
	free(moved);
	pyc_buf_dispose(&w.s.log);
	tu_rm_rf(d);
	free(d);
}

static void test_callback_stops_run(void **state)
{
	(void)state;
	char *d = make_tree();
	struct seen s = { PYC_BUF_INIT };
	s.stop_after = 2;
	pyc_clean_totals t = run(d, "src", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, &s);
	assert_int_equal(s.removed + s.kept + s.failed, 2);   /* nothing reported after the stop */
	assert_int_equal(t.files, s.removed);
	assert_true(t.files >= 1);
	pyc_buf_dispose(&s.log);
	tu_rm_rf(d);
	free(d);
}

/*
 * Regression: on_dir took its parent frame before growing the frame array, so from
 * depth 16 on (the first growth) the parent's counters were written to freed memory.
 * A __pycache__ holding a pyc and a foreign sub-directory must stay at every depth, and
 * a dry run must not announce its removal.
 */
static void test_deep_tree_keeps_nonempty_cache_dir(void **state)
{
	(void)state;
	for (int depth = 1; depth <= 40; depth++) {
		char *d = tu_mkdtemp();
		pyc_buf rel = PYC_BUF_INIT;
		pyc_buf_puts(&rel, "src");
		for (int i = 0; i < depth; i++)
			pyc_buf_puts(&rel, "/a");
		pyc_buf_puts(&rel, "/__pycache__");
		char cache[4096];
		snprintf(cache, sizeof(cache), "%s", rel.ptr);
		put_vector(d, tu_path(cache, "x.cpython-312.pyc"), "3.12.1");
		mkdir_p(d, tu_path(cache, "sub"));
		pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
		o.dry_run = true;
		struct seen dry = { PYC_BUF_INIT };
		run(d, "src", o, &dry);
		if (strstr(dry.log.ptr, "__pycache__/\n"))
			fail_msg("depth %d: dry run announces removal of a non-empty __pycache__:\n%s",
			         depth, dry.log.ptr);
		o.dry_run = false;
		struct seen real = { PYC_BUF_INIT };
		pyc_clean_totals t = run(d, "src", o, &real);
		assert_int_equal(t.files, 1);
		assert_int_equal(t.dirs, 0);
		struct stat st;
		assert_int_equal(stat(tu_path(d, tu_path(cache, "sub")), &st), 0);
		assert_string_equal(dry.log.ptr, real.log.ptr);
		pyc_buf_dispose(&dry.log);
		pyc_buf_dispose(&real.log);
		pyc_buf_dispose(&rel);
		tu_rm_rf(d);
		free(d);
	}
}

static void test_odd_names(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	const char *names[] = { "sp ace.cpython-312.pyc", "new\nline.cpython-312.pyc",
	                        "bad\xff.cpython-312.pyc" };
	for (size_t i = 0; i < 3; i++)
		put_vector(d, tu_path("t/odd \xfe dir/__pycache__", names[i]), "3.12.1");
	put_source(d, "t/odd \xfe dir/sp ace.py", VEC_MTIME);
	struct seen s = { PYC_BUF_INIT };
	pyc_clean_totals t = run(d, "t", (pyc_clean_opts)PYC_CLEAN_OPTS_INIT, &s);
	assert_int_equal(t.files, 3);
	assert_int_equal(t.dirs, 1);
	char *left = snapshot(d);
	assert_string_equal(left, "t/\nt/odd \xfe dir/\nt/odd \xfe dir/sp ace.py\n");
	free(left);
	pyc_buf_dispose(&s.log);
	tu_rm_rf(d);
	free(d);
}

static void test_mirror_path(void **state)
{
	(void)state;
	/* os.path.abspath semantics, then sys.pycache_prefix joining (docs/pyc-format.md 5). */
	static const char *const rows[][4] = {
		{ "/pfx", "/a/b", NULL, "/pfx/a/b" },
		{ "/pfx/", "rel/./x/../y", "/cwd", "/pfx/cwd/rel/y" },
		{ "pfx", "/a//b/", NULL, "pfx/a/b" },
		{ "/pfx", ".", "/w/d", "/pfx/w/d" },
		{ "/pfx", "../..", "/w", "/pfx" },
		{ "/", "/a", NULL, "/a" },
	};
	pyc_buf out = PYC_BUF_INIT;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(
			pyc_clean_mirror_path(&out, rows[i][0], rows[i][1], rows[i][2], NULL), 0);
		assert_string_equal(pyc_buf_cstr(&out), rows[i][3]);
	}
	pyc_buf_dispose(&out);
}

static void test_prefix_mirror(void **state)
{
	(void)state;
	char *d = make_tree();
	char pfx[4096], src[4096];
	snprintf(pfx, sizeof(pfx), "%s/pfx", d);
	snprintf(src, sizeof(src), "%s/src", d);
	pyc_buf m = PYC_BUF_INIT;
	assert_int_equal(pyc_clean_mirror_path(&m, pfx, src, NULL, NULL), 0);
	/* The mirror of src/pkg (no __pycache__ there), a foreign file, and a sibling tree. */
	const char *mirror = m.ptr + strlen(d) + 1;
	put_vector(d, tu_path(mirror, "pkg/a.cpython-312.pyc"), "3.12.1");
	put_vector(d, tu_path(mirror, "pkg/gone.cpython-312.pyc"), "3.12.1");
	put_vector(d, tu_path(mirror, "sub/only.cpython-312.pyc"), "3.12.1");
	tu_write_str(d, tu_path(mirror, "readme"), "x");
	pyc_buf sib = PYC_BUF_INIT;   /* pfx/<d>/elsewhere: mirrors no given path */
	pyc_buf_printf(&sib, "pfx%s/elsewhere/z.cpython-312.pyc", d);
	put_vector(d, sib.ptr, "3.12.1");
	pyc_clean_opts o = PYC_CLEAN_OPTS_INIT;
	o.prefix = pfx;
	o.select = PYC_CLEAN_SELECT_STALE;
	pyc_clean_totals t = run(d, "src", o, NULL);
	assert_int_equal(t.files, 6);   /* 4 in src (see the stale test) + gone + only */
	assert_int_equal(t.dirs, 1);    /* mirror/sub, emptied by this run */
	assert_int_equal(t.foreign, 2); /* notes.txt in src, readme in the mirror */
	assert_int_equal(access(tu_path(d, tu_path(mirror, "pkg/a.cpython-312.pyc")), F_OK), 0);
	assert_int_equal(access(tu_path(d, sib.ptr), F_OK), 0);
	assert_int_equal(access(tu_path(d, tu_path(mirror, "sub")), F_OK), -1);
	pyc_buf_dispose(&sib);
	pyc_buf_dispose(&m);
	tu_rm_rf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_removes_caches_only),
		cmocka_unit_test(test_dry_run_matches_real_run),
		cmocka_unit_test(test_stale_keeps_fresh),
		cmocka_unit_test(test_orphans_only),
		cmocka_unit_test(test_tags_and_keep_tags),
		cmocka_unit_test(test_legacy_and_sourceless),
		cmocka_unit_test(test_root_is_cache_dir),
		cmocka_unit_test(test_missing_path_fails_and_goes_on),
		cmocka_unit_test(test_unremovable_is_reported),
		cmocka_unit_test(test_swap_mid_run_is_not_followed),
		cmocka_unit_test(test_callback_stops_run),
		cmocka_unit_test(test_deep_tree_keeps_nonempty_cache_dir),
		cmocka_unit_test(test_odd_names),
		cmocka_unit_test(test_mirror_path),
		cmocka_unit_test(test_prefix_mirror),
	};
	return tu_run_tests("clean", tests);
}
