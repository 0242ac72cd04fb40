/*
 * pyc_scan over real trees: which files are caches, which source each maps to, the
 * MISSING records for a target, pycache prefix trees, and errors that do not stop it.
 * Headers are crafted with pyc_header_encode; the verdict rules themselves are
 * test_stale.c's business.
 */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/header.h"
#include "pyc/scan.h"
#include "scan_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define M 1700000000

static void put_pyc(const char *dir, const char *rel, uint16_t magic, uint32_t mtime,
                    uint32_t size)
{
	pyc_header h = { .magic = magic, .mode = PYC_INVALIDATION_TIMESTAMP };
	h.mtime = mtime;
	h.source_size = size;
	uint8_t buf[32] = { 0 };
	int n = pyc_header_encode(buf, sizeof(buf), &h);
	assert_true(n > 0);
	tu_write(dir, rel, buf, (size_t)n + 4);
}

static void put_src(const char *dir, const char *rel)
{
	tu_write_str(dir, rel, "x = 1\n");
	tu_set_mtime(dir, rel, M, 0);
}

/* Run a scan and render each record as "state[/reason] where path <- source".
 * Returns the count, or -1 (with the reason in out[0]) when the scan fails. */
static long scan_lines(const char *root, const pyc_scan_opts *o, char out[][512], size_t max)
{
	pyc_scan *s;
	pyc_error err = { 0 };
	if (pyc_scan_new(&s, root, o, &err) < 0) {
		snprintf(out[0], 512, "pyc_scan_new(%.150s): %.300s", root, err.message);
		return -1;
	}
	const pyc_scan_record *r;
	size_t n = 0;
	size_t skip = strlen(root) + 1;
	int rc;
	while ((rc = pyc_scan_next(s, &r)) > 0 && n < max) {
		if (r->error) {
			snprintf(out[n++], 512, "error %s", r->message);
			continue;
		}
		if (r->leftover) {
			snprintf(out[n++], 512, "temp/%s/%s %s %s", pyc_leftover_writer_name(r->leftover),
			         r->abandoned ? "abandoned" : "in-use", pyc_scan_where_name(r->where),
			         strlen(r->path) > skip ? r->path + skip : r->path);
			continue;
		}
		const char *p = strlen(r->path) > skip ? r->path + skip : r->path;
		const char *src = strlen(r->source) > skip ? r->source + skip : r->source;
		const char *reason = pyc_reason_name(r->verdict.reason);
		snprintf(out[n++], 512, "%s%s%s %s %s <- %s opt=%s", pyc_state_name(r->verdict.state),
		         *reason ? "/" : "", reason, pyc_scan_where_name(r->where), p, src, r->opt);
	}
	pyc_scan_free(s);
	if (rc != 0) {
		snprintf(out[0], 512, rc > 0 ? "more than %zu records" : "pyc_scan_next failed", max);
		return -1;
	}
	return (long)n;
}

static size_t collect(const char *root, const pyc_scan_opts *o, char out[][512], size_t max)
{
	long n = scan_lines(root, o, out, max);
	if (n < 0)
		fail_msg("%s", out[0]);
	return (size_t)n;
}

static void assert_lines(char got[][512], size_t n, const char *const *want, size_t nwant)
{
	for (size_t i = 0; i < n || i < nwant; i++) {
		const char *g = i < n ? got[i] : "(none)";
		const char *w = i < nwant ? want[i] : "(none)";
		if (strcmp(g, w) != 0) {
			for (size_t j = 0; j < n; j++)
				print_message("got: %s\n", got[j]);
			fail_msg("record %zu: got '%s', want '%s'", i, g, w);
		}
	}
}

static void make_tree(const char *d)
{
	put_src(d, "pkg/a.py");
	put_pyc(d, "pkg/__pycache__/a.cpython-312.pyc", 3531, M, 6);
	put_pyc(d, "pkg/__pycache__/a.pypy39.pyc", 3531, 1, 1);          /* not CPython's */
	/* Not a cache: importlib's temporary file, just written (its writer may be running). */
	tu_write_str(d, "pkg/__pycache__/a.cpython-312.pyc.1234", "tmp");
	put_src(d, "pkg/b.py");
	put_pyc(d, "pkg/__pycache__/b.cpython-312.opt-1.pyc", 3531, M - 1, 6);
	put_pyc(d, "pkg/__pycache__/gone.cpython-312.pyc", 3531, M, 6);
	put_pyc(d, "pkg/__pycache__/junk.pyc", 3531, M, 6);
	put_src(d, "pkg/c.py");
	put_pyc(d, "pkg/lone.pyc", 62211, M, 0);
	put_src(d, "pkg/leg.py");
	put_pyc(d, "pkg/leg.pyc", 62211, M, 0);
}

static void test_scan_tree(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_tree(d);
	char got[32][512];
	size_t n = collect(d, NULL, got, 32);
	static const char *const want[] = {
		"fresh pycache pkg/__pycache__/a.cpython-312.pyc <- pkg/a.py opt=",
		"temp/importlib/in-use pycache pkg/__pycache__/a.cpython-312.pyc.1234",
		"stale/mtime pycache pkg/__pycache__/b.cpython-312.opt-1.pyc <- pkg/b.py opt=1",
		"orphan pycache pkg/__pycache__/gone.cpython-312.pyc <- pkg/gone.py opt=",
		"orphan/bad-name pycache pkg/__pycache__/junk.pyc <-  opt=",
		"fresh legacy pkg/leg.pyc <- pkg/leg.py opt=",
		"sourceless legacy pkg/lone.pyc <- pkg/lone.py opt=",
	};
	assert_lines(got, n, want, sizeof(want) / sizeof(want[0]));
	tu_rm_rf(d);
	free(d);
}

static void test_scan_missing(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_tree(d);
	static const int levels[] = { 1, 0, 1 };
	pyc_scan_opts o = { .target = true, .target_tag = "cpython-312", .levels = levels,
	                    .nlevels = 3 };
	char got[32][512];
	char root[4200];
	snprintf(root, sizeof(root), "%s/pkg", d);
	size_t n = collect(root, &o, got, 32);
	static const char *const want[] = {
		"fresh pycache __pycache__/a.cpython-312.pyc <- a.py opt=",
		"temp/importlib/in-use pycache __pycache__/a.cpython-312.pyc.1234",
		"stale/mtime pycache __pycache__/b.cpython-312.opt-1.pyc <- b.py opt=1",
		"orphan pycache __pycache__/gone.cpython-312.pyc <- gone.py opt=",
		"orphan/bad-name pycache __pycache__/junk.pyc <-  opt=",
		"missing pycache __pycache__/a.cpython-312.opt-1.pyc <- a.py opt=1",
		"missing pycache __pycache__/b.cpython-312.pyc <- b.py opt=",
		"missing pycache __pycache__/c.cpython-312.pyc <- c.py opt=",
		"missing pycache __pycache__/c.cpython-312.opt-1.pyc <- c.py opt=1",
		"missing pycache __pycache__/leg.cpython-312.pyc <- leg.py opt=",
		"missing pycache __pycache__/leg.cpython-312.opt-1.pyc <- leg.py opt=1",
		"fresh legacy leg.pyc <- leg.py opt=",
		"sourceless legacy lone.pyc <- lone.py opt=",
	};
	assert_lines(got, n, want, sizeof(want) / sizeof(want[0]));

	/* A tagless target (Python 2): foo.pyc / foo.pyo beside the source. */
	pyc_scan_opts o2 = { .target = true, .levels = levels, .nlevels = 2 };
	n = collect(root, &o2, got, 32);
	size_t missing = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(got[i], "missing legacy ", 15) == 0)
			missing++;
	/* a, b, c: .pyc and .pyo; leg: only .pyo */
	assert_int_equal(missing, 7);
	tu_rm_rf(d);
	free(d);
}

static void test_scan_prefix(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	char tree[4200], pfx[4200], inner[4300];
	snprintf(tree, sizeof(tree), "%s/tree", d);
	snprintf(pfx, sizeof(pfx), "%s/pfx", d);
	put_src(tree, "m.py");
	put_src(tree, "sub/n.py");
	put_pyc(pfx, tu_path(tree + 1, "m.cpython-312.pyc"), 3531, M, 6);
	put_pyc(pfx, tu_path(tree + 1, "sub/n.cpython-312.pyc"), 3531, M + 5, 6);
	put_pyc(pfx, tu_path(tree + 1, "sub/o.cpython-312.pyc"), 3531, M, 6);
	pyc_scan_opts o = { .prefix = pfx };
	char got[16][512];
	size_t n = collect(tree, &o, got, 16);
	assert_int_equal(n, 3);
	assert_non_null(strstr(got[0], "fresh prefix "));
	assert_non_null(strstr(got[0], "<- m.py"));
	assert_non_null(strstr(got[1], "stale/mtime prefix "));
	assert_non_null(strstr(got[1], "<- sub/n.py"));
	assert_non_null(strstr(got[2], "orphan prefix "));

	/* A prefix inside the root is not walked as part of the tree. */
	snprintf(inner, sizeof(inner), "%s/.pfx", tree);
	put_pyc(inner, tu_path(tree + 1, "m.cpython-312.pyc"), 3531, M, 6);
	pyc_scan_opts o2 = { .prefix = inner };
	n = collect(tree, &o2, got, 16);
	assert_int_equal(n, 1);
	assert_non_null(strstr(got[0], "fresh prefix "));
	tu_rm_rf(d);
	free(d);
}

/* Root reads everything: check as nobody in a child process (no cmocka asserts there). */
static long scan_unprivileged(const char *root, char out[][512], size_t max)
{
	if (geteuid() != 0)
		return scan_lines(root, NULL, out, max);
	char (*shared)[512] = mmap(NULL, 512 * max, PROT_READ | PROT_WRITE,
	                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shared != MAP_FAILED);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(255);
		long n = scan_lines(root, NULL, shared, max);
		_exit(n < 0 ? 254 : (int)n);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	long n = WEXITSTATUS(status);
	memcpy(out, shared, 512 * max);
	munmap(shared, 512 * max);
	if (n == 255)
		fail_msg("cannot drop privileges");
	return n == 254 ? -1 : n;
}

static void test_scan_errors_continue(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	put_src(d, "a/x.py");
	put_pyc(d, "a/__pycache__/x.cpython-312.pyc", 3531, M, 6);
	put_src(d, "b/y.py");
	put_pyc(d, "b/__pycache__/y.cpython-312.pyc", 3531, M - 1, 6);
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(chmod(tu_path(d, "a"), 0), 0);
	char got[8][512];
	long n = scan_unprivileged(d, got, 8);
	assert_int_equal(chmod(tu_path(d, "a"), 0755), 0);
	if (n < 0)
		fail_msg("%s", got[0]);
	assert_int_equal(n, 2);
	assert_non_null(strstr(got[0], "error "));
	assert_non_null(strstr(got[0], "/a"));
	assert_non_null(strstr(got[0], "Permission denied"));
	assert_non_null(strstr(got[1], "stale/mtime pycache b/__pycache__/y.cpython-312.pyc"));
	tu_rm_rf(d);
	free(d);
}

/* A single file as the root: a cache is judged, the same way as in a walk. */
static void test_scan_file_root(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	put_src(d, "p/a.py");
	put_pyc(d, "p/__pycache__/a.cpython-312.pyc", 3531, M, 7);
	char got[4][512];
	const char *root = tu_path(d, "p/__pycache__/a.cpython-312.pyc");
	char copy[4200];
	snprintf(copy, sizeof(copy), "%s", root);
	size_t n = collect(copy, NULL, got, 4);
	assert_int_equal(n, 1);
	assert_non_null(strstr(got[0], "stale/size pycache "));
	tu_rm_rf(d);
	free(d);
}

static void test_scan_bad_opts(void **state)
{
	(void)state;
	pyc_scan *s;
	pyc_error err = { 0 };
	static const int bad[] = { -1 };
	pyc_scan_opts o = { .target = true, .target_tag = "cpython-312", .levels = bad, .nlevels = 1 };
	assert_int_equal(pyc_scan_new(&s, ".", &o, &err), PYC_EINVAL);
	assert_null(s);
	pyc_scan_opts o2 = { .target = true, .target_tag = "a/b" };
	assert_int_equal(pyc_scan_new(&s, ".", &o2, &err), PYC_EINVAL);
	assert_int_equal(pyc_scan_new(&s, "/nonexistent/pyc-tool-test", NULL, &err), PYC_ENOTFOUND);
}

/* A directory big enough to be judged by several threads: verdicts and walk order intact. */
static void test_scan_large_dir_parallel(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	char name[64];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%03d.py", i);
		put_src(d, name);
		snprintf(name, sizeof(name), "__pycache__/m%03d.cpython-312.pyc", i);
		put_pyc(d, name, 3531, i % 3 ? M : M - 1, 6);
	}
	char (*got)[512] = calloc(620, 512);
	assert_non_null(got);
	static const int levels[] = { 0, 1 };
	pyc_scan_opts o = { .target = true, .target_tag = "cpython-312", .levels = levels,
	                    .nlevels = 2 };
	size_t n = collect(d, &o, got, 620);
	assert_int_equal(n, 600);
	for (int i = 0; i < 300; i++) {
		char want[512];
		snprintf(want, sizeof(want), "%s pycache __pycache__/m%03d.cpython-312.pyc <- m%03d.py opt=",
		         i % 3 ? "fresh" : "stale/mtime", i, i);
		assert_string_equal(got[i], want);
		snprintf(want, sizeof(want), "missing pycache __pycache__/m%03d.cpython-312.opt-1.pyc <- m%03d.py opt=1",
		         i, i);
		assert_string_equal(got[300 + i], want);
	}
	free(got);
	tu_rm_rf(d);
	free(d);
}

/* A tree with many directories, each with caches in every state, for the parallel scan. */
static void make_wide_tree(const char *d, const char *pfx_tree)
{
	char rel[4096 + 256];   /* pfx_tree is a whole path */
	for (int top = 0; top < 6; top++)
		for (int mid = 0; mid < 4; mid++)
			for (int leaf = 0; leaf < 3; leaf++) {
				char dir[64];
				snprintf(dir, sizeof(dir), "t%d/m%d/l%d", top, mid, leaf);
				for (int f = 0; f < 4; f++) {
					snprintf(rel, sizeof(rel), "%s/s%d.py", dir, f);
					put_src(d, rel);
					if (f == 3)
						continue;   /* no cache: MISSING for a target */
					snprintf(rel, sizeof(rel), "%s/__pycache__/s%d.cpython-312.pyc", dir, f);
					put_pyc(d, rel, 3531, f == 1 ? M + 1 : M, f == 2 ? 7 : 6);
				}
				snprintf(rel, sizeof(rel), "%s/__pycache__/gone.cpython-312.pyc", dir);
				put_pyc(d, rel, 3531, M, 6);
				snprintf(rel, sizeof(rel), "%s/old.pyc", dir);
				put_pyc(d, rel, 62211, M, 0);
				if (pfx_tree) {
					snprintf(rel, sizeof(rel), "%s/%s/s0.cpython-312.pyc", pfx_tree, dir);
					put_pyc(d, rel, 3531, M, 6);
				}
			}
	put_src(d, "t0/.git/x.py");   /* never walked */
	put_pyc(d, "t0/.git/__pycache__/x.cpython-312.pyc", 3531, 1, 1);
	put_src(d, "top.py");
	put_pyc(d, "__pycache__/top.cpython-312.pyc", 3531, M, 6);
}

/* Records of a scan as one text, with the parallel machinery tuned before the start. */
static char *scan_text(const char *root, const pyc_scan_opts *o,
                       const struct scan_par_tuning *tune, unsigned counts[2])
{
	pyc_scan *s;
	pyc_error err = { 0 };
	assert_int_equal(pyc_scan_new(&s, root, o, &err), 0);
	if (tune)
		pyc_scan__par_tune(s, tune);
	pyc_buf out = PYC_BUF_INIT;
	const pyc_scan_record *r;
	int rc;
	while ((rc = pyc_scan_next(s, &r)) > 0)
		assert_int_equal(pyc_buf_printf(&out, "%d %s %s %s %s %s/%s %s\n", r->error, r->path,
		                                r->source, r->tag ? r->tag : "-", r->opt,
		                                pyc_state_name(r->verdict.state),
		                                pyc_reason_name(r->verdict.reason),
		                                r->message ? r->message : "-"), 0);
	assert_int_equal(rc, 0);
	unsigned tasks, ran_inline;
	pyc_scan__par_counts(s, &tasks, &ran_inline);
	if (counts) {
		counts[0] += tasks;
		counts[1] += ran_inline;
	}
	pyc_scan_free(s);
	char *t = pyc_buf_detach(&out);
	return t ? t : strdup("");
}

/*
 * Whole subtrees on worker threads: the records, their order and their strings are the
 * sequential scan's, whatever the thread count, and also when tiny buffers make workers
 * wait for the reader and the reader start tasks itself. Repeated to shake out races.
 */
static void test_scan_parallel_equals_sequential(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	char tree[4200], pfx[4200];
	snprintf(tree, sizeof(tree), "%s/tree", d);
	snprintf(pfx, sizeof(pfx), "%s/pfx", d);
	make_wide_tree(tree, NULL);
	make_wide_tree(pfx, tree + 1);   /* the prefix mirror of tree */
	static const int levels[] = { 0, 2 };
	static const char *const excl[] = { "t5/m1", "l2/" };
	pyc_scan_opts opts[3] = {
		{ .threads = 1 },
		{ .threads = 1, .target = true, .target_tag = "cpython-312", .levels = levels,
		  .nlevels = 2, .excludes = excl, .nexcludes = 2 },
		{ .threads = 1, .prefix = pfx },
	};
	static const struct scan_par_tuning tunes[] = {
		{ 16384, 512 * 1024, 64, false },   /* the defaults */
		{ 1, 1, 2, false },        /* every record its own chunk, producers always wait */
		{ 300, 2000, 5, false },
		{ 64, 256, 8, true },      /* the reader runs the tasks it finds queued */
	};
	unsigned counts[2] = { 0, 0 };
	for (size_t o = 0; o < 3; o++) {
		char *want = scan_text(tree, &opts[o], NULL, NULL);
		assert_true(strlen(want) > 1000);
		for (unsigned threads = 2; threads <= 5; threads += 3)
			for (size_t k = 0; k < sizeof(tunes) / sizeof(tunes[0]); k++)
				for (int round = 0; round < 4; round++) {
					pyc_scan_opts po = opts[o];
					po.threads = threads;
					char *got = scan_text(tree, &po, &tunes[k], counts);
					if (strcmp(got, want) != 0)
						fail_msg("opts %zu, %u threads, tune %zu: records differ", o, threads, k);
					free(got);
				}
		free(want);
	}
	/* The work was split (more tasks than the 2 roots per scan), and the reader's own
	 * runs happened. */
	print_message("parallel scans: %u tasks, %u run by the reader\n", counts[0], counts[1]);
	assert_true(counts[0] > 3 * 2 * 4 * 4 * 2);
	assert_true(counts[1] > 0);
	tu_rm_rf(d);
	free(d);
}

/* Freeing a parallel scan part-way stops its workers and frees every task. */
static void test_scan_parallel_early_free(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_wide_tree(d, NULL);
	for (int stop = 0; stop < 40; stop += 7) {
		pyc_scan *s;
		pyc_error err = { 0 };
		pyc_scan_opts o = { .threads = 3 };
		assert_int_equal(pyc_scan_new(&s, d, &o, &err), 0);
		static const struct scan_par_tuning tiny = { 64, 256, 4, false };
		pyc_scan__par_tune(s, &tiny);
		const pyc_scan_record *r;
		for (int i = 0; i < stop; i++)
			assert_int_equal(pyc_scan_next(s, &r), 1);
		pyc_scan_free(s);
	}
	tu_rm_rf(d);
	free(d);
}

/*
 * Below a __pycache__ nothing is a cache (clean does not enter there either): no
 * "sourceless legacy" record for sub/x.pyc, whichever thread walks the tree. A FIFO or
 * socket with a cache's name is an error record naming it, never opened.
 */
static void test_scan_below_pycache_and_special_files(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	put_src(d, "pkg/a.py");
	put_pyc(d, "pkg/__pycache__/a.cpython-312.pyc", 3531, M, 6);
	for (int i = 0; i < 40; i++) {   /* enough directories for the workers to split */
		char rel[64];
		snprintf(rel, sizeof(rel), "pkg/__pycache__/sub%02d/x.pyc", i);
		put_pyc(d, rel, 62211, M, 0);
		snprintf(rel, sizeof(rel), "pkg/__pycache__/sub%02d/deep/y.py", i);
		put_src(d, rel);
		snprintf(rel, sizeof(rel), "pkg/__pycache__/sub%02d/deep/__pycache__/y.cpython-312.pyc", i);
		put_pyc(d, rel, 3531, 1, 1);
	}
	assert_int_equal(mkfifo(tu_path(d, "pkg/fifo.pyc"), 0644), 0);
	int sock = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *sp = tu_path(d, "pkg/__pycache__/s.cpython-312.pyc");
	assert_true(sock >= 0 && strlen(sp) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sp, strlen(sp) + 1);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char want_sock[600], want_fifo[600];
	snprintf(want_sock, sizeof(want_sock), "error %s: not a regular file", sp);
	snprintf(want_fifo, sizeof(want_fifo), "error %s: not a regular file",
	         tu_path(d, "pkg/fifo.pyc"));
	const char *const want[] = {
		"fresh pycache pkg/__pycache__/a.cpython-312.pyc <- pkg/a.py opt=",
		want_sock,
		want_fifo,
	};
	for (unsigned threads = 1; threads <= 3; threads++)
		for (int round = 0; round < (threads > 1 ? 10 : 1); round++) {
			char got[8][512];
			pyc_scan_opts o = { .threads = threads };
			size_t n = collect(d, &o, got, 8);
			assert_lines(got, n, want, sizeof(want) / sizeof(want[0]));
		}
	close(sock);
	tu_rm_rf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_tree),
		cmocka_unit_test(test_scan_below_pycache_and_special_files),
		cmocka_unit_test(test_scan_missing),
		cmocka_unit_test(test_scan_prefix),
		cmocka_unit_test(test_scan_errors_continue),
		cmocka_unit_test(test_scan_file_root),
		cmocka_unit_test(test_scan_bad_opts),
		cmocka_unit_test(test_scan_large_dir_parallel),
		cmocka_unit_test(test_scan_parallel_equals_sequential),
		cmocka_unit_test(test_scan_parallel_early_free),
	};
	return tu_run_tests("scan", tests);
}
