/*
 * The walker against the file system it walks: find(1) is the oracle for which entries
 * and kinds exist, strcmp for the order within a directory, stat(2) for mount points;
 * races (a directory removed or swapped for a symlink after its parent was listed)
 * are staged between two pyc_walker_next() calls, so error paths run as root too.
 */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* One line per entry: "<kind letter> <depth> <path relative to the root>". */
struct walk_log {
	pyc_buf text;
	size_t count;
	size_t errors;
};

static const char kind_letter[] = "fdPloE";

static void log_entry(struct walk_log *log, const pyc_walk_entry *e, size_t root_len)
{
	const char *rel = e->path_len > root_len ? e->path + root_len + 1 : ".";
	assert_int_equal(pyc_buf_printf(&log->text, "%c %u %s\n", kind_letter[e->kind], e->depth, rel), 0);
	log->count++;
	if (e->kind == PYC_WALK_ERROR)
		log->errors++;
}

/* Walk root with flags and excludes (NULL-terminated), checking invariants on the way. */
static void walk_all(struct walk_log *log, const char *root, unsigned flags, const char *const *excl)
{
	pyc_walker *w;
	pyc_error err = {0};
	assert_int_equal(pyc_walker_new(&w, root, flags, &err), 0);
	for (; excl && *excl; excl++)
		assert_int_equal(pyc_walker_exclude(w, *excl), 0);
	const pyc_walk_entry *e;
	int rc;
	while ((rc = pyc_walker_next(w, &e)) > 0) {
		assert_int_equal(strlen(e->path), e->path_len);
		assert_true(e->name >= e->path && e->name < e->path + e->path_len);
		if (e->kind == PYC_WALK_DIR || e->kind == PYC_WALK_DIR_POST) {
			struct stat a, b;
			/* Its fd is that directory, and dirfd + name reach it too. */
			assert_int_equal(fstat(e->fd, &a), 0);
			assert_int_equal(fstatat(e->dirfd, e->name, &b, e->depth ? AT_SYMLINK_NOFOLLOW : 0), 0);
			assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
			if (e->depth > 0)
				assert_true(pyc_walker_dirfd_at(w, e->depth - 1) >= 0);
		}
		log_entry(log, e, strlen(root));
	}
	assert_int_equal(rc, 0);
	pyc_walker_free(w);
}

static void log_dispose(struct walk_log *log)
{
	pyc_buf_dispose(&log->text);
}

static void mkdir_at(const char *dir, const char *rel)
{
	if (mkdir(tu_path(dir, rel), 0755) != 0)
		fail_msg("mkdir %s/%s: %s", dir, rel, strerror(errno));
}

static void symlink_at(const char *target, const char *dir, const char *rel)
{
	if (symlink(target, tu_path(dir, rel)) != 0)
		fail_msg("symlink %s/%s: %s", dir, rel, strerror(errno));
}

static void test_order_pre_and_post(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "b.py", "");
	tu_write_str(d, "a/z", "");
	tu_write_str(d, "a/y.py", "");
	tu_write_str(d, "a-b", "");
	tu_write_str(d, "A", "");
	tu_write_str(d, "__pycache__/b.cpython-312.pyc", "");
	mkdir_at(d, "empty");
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	walk_all(&log, d, PYC_WALK_POSTORDER, NULL);
	/* Bytewise order: 'A' < '_' < 'a'; "a" < "a-b" although '-' < '/'. */
	assert_string_equal(log.text.ptr,
	                    "d 0 .\n"
	                    "f 1 A\n"
	                    "d 1 __pycache__\n"
	                    "f 2 __pycache__/b.cpython-312.pyc\n"
	                    "P 1 __pycache__\n"
	                    "d 1 a\n"
	                    "f 2 a/y.py\n"
	                    "f 2 a/z\n"
	                    "P 1 a\n"
	                    "f 1 a-b\n"
	                    "f 1 b.py\n"
	                    "d 1 empty\n"
	                    "P 1 empty\n"
	                    "P 0 .\n");
	log_dispose(&log);
	struct walk_log pre = {PYC_BUF_INIT, 0, 0};
	walk_all(&pre, d, 0, NULL);
	assert_null(strstr(pre.text.ptr, "P "));
	assert_int_equal(pre.count, 10);
	log_dispose(&pre);
	tu_rm_rf(d);
	free(d);
}

/* find -printf '%y %d %P\0' gives the oracle set; compare sorted line sets. */
static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_lines(char *text, size_t *n)
{
	size_t cap = 16, k = 0;
	char **v = malloc(cap * sizeof(*v));
	assert_non_null(v);
	for (char *p = text; *p;) {
		char *end = strchr(p, '\x1e');
		assert_non_null(end);
		*end = '\0';
		if (k == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[k++] = p;
		p = end + 1;
	}
	qsort(v, k, sizeof(*v), line_cmp);
	*n = k;
	return v;
}

/* Our walk of root, as "%y %d %P" records separated by 0x1e (names may hold '\n'). */
static void walk_records(pyc_buf *out, const char *root, unsigned flags)
{
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, root, flags, NULL), 0);
	const pyc_walk_entry *e;
	size_t root_len = strlen(root);
	char last[4][256];
	memset(last, 0, sizeof(last));
	while (pyc_walker_next(w, &e) > 0) {
		const char *rel = e->path_len > root_len ? e->path + root_len + 1 : "";
		char y = e->kind == PYC_WALK_DIR ? 'd' : e->kind == PYC_WALK_SYMLINK ? 'l'
		       : e->kind == PYC_WALK_FILE ? 'f' : e->kind == PYC_WALK_OTHER ? 'p' : 'E';
		assert_int_equal(pyc_buf_printf(out, "%c %u %s\x1e", y, e->depth, rel), 0);
		/* Siblings come in strcmp order. */
		assert_true(e->depth < 4);
		if (e->depth > 0)
			assert_true(strcmp(last[e->depth], e->name) < 0);
		snprintf(last[e->depth], sizeof(last[0]), "%s", e->name);
		if (e->kind == PYC_WALK_DIR && e->depth + 1 < 4)
			last[e->depth + 1][0] = '\0';
	}
	pyc_walker_free(w);
}

static void test_matches_find_odd_names(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "new\nline.py", "");
	tu_write_str(d, "sp ace/x.py", "");
	tu_write_str(d, "\xff\xfe.py", "");
	tu_write_str(d, "\x01ctl/\x7f", "");
	tu_write_str(d, "-dash", "");
	tu_write_str(d, "dir.with.dots/__pycache__/m.cpython-311.opt-1.pyc", "");
	symlink_at("nowhere", d, "dangling");
	assert_int_equal(mkfifo(tu_path(d, "fifo"), 0600), 0);
	pyc_buf ours = PYC_BUF_INIT, theirs = PYC_BUF_INIT;
	walk_records(&ours, d, 0);

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "find '%s' -printf '%%y %%d %%P\\036'", d);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(pyc_buf_put(&theirs, chunk, got), 0);
	assert_int_equal(pclose(p), 0);

	size_t n1, n2;
	char **a = sorted_lines(ours.ptr, &n1), **b = sorted_lines(theirs.ptr, &n2);
	assert_int_equal(n1, n2);
	assert_int_equal(n1, 13);
	for (size_t i = 0; i < n1; i++)
		assert_string_equal(a[i], b[i]);
	free(a);
	free(b);
	pyc_buf_dispose(&ours);
	pyc_buf_dispose(&theirs);
	tu_rm_rf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_pre_and_post),
		cmocka_unit_test(test_matches_find_odd_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
