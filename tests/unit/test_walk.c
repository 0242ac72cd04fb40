/*
 * The walker against the file system it walks: find(1) is the oracle for which entries
 * and kinds exist, strcmp for the order within a directory, stat(2) for mount points;
 * races (a directory removed or swapped for a symlink after its parent was listed)
 * are staged between two pyc_walker_next() calls, so error paths run as root too.
 */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/walk.h"
#include "walk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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


static char *walk_text(const char *root, unsigned flags, const char *const *excl)
{
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	walk_all(&log, root, flags, excl);
	char *t = pyc_buf_detach(&log.text);
	return t ? t : strdup("");
}

static void test_symlinks_never_followed(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "real/f.py", "");
	symlink_at("real", d, "link");
	symlink_at(".", d, "real/loop");
	symlink_at(d, d, "abs");
	char *t = walk_text(d, 0, NULL);
	assert_string_equal(t, "d 0 .\n"
	                       "l 1 abs\n"
	                       "l 1 link\n"
	                       "d 1 real\n"
	                       "f 2 real/f.py\n"
	                       "l 2 real/loop\n");
	free(t);
	/* A root that is a symlink is followed: the user named it. */
	const char *root = tu_path(d, "link");
	char *t2 = walk_text(root, 0, NULL);
	assert_string_equal(t2, "d 0 .\n"
	                        "f 1 f.py\n"
	                        "l 1 loop\n");
	free(t2);
	tu_rm_rf(d);
	free(d);
}

static void test_vcs_dirs_skipped(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	static const char *const vcs[] = {".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".jj"};
	for (size_t i = 0; i < sizeof(vcs) / sizeof(vcs[0]); i++)
		tu_write_str(d, tu_path(vcs[i], "x.py"), "");
	tu_write_str(d, "sub/.git", "gitdir: elsewhere\n"); /* a file named .git is kept */
	tu_write_str(d, ".github/w.py", "");
	char *t = walk_text(d, 0, NULL);
	assert_string_equal(t, "d 0 .\n"
	                       "d 1 .github\n"
	                       "f 2 .github/w.py\n"
	                       "d 1 sub\n"
	                       "f 2 sub/.git\n");
	free(t);
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	walk_all(&log, d, PYC_WALK_KEEP_VCS, NULL);
	assert_int_equal(log.count, 1 + 2 * 7 + 4);
	log_dispose(&log);
	tu_rm_rf(d);
	free(d);
}

/* The tree of test_env_dirs_skipped: sources, environments and look-alikes. */
static void make_env_tree(const char *d)
{
	static const char *const files[] = {
		"pkg/a.py", ".venv/pyvenv.cfg", ".venv/lib/site.py", "venv/pyvenv.cfg", "venv/x.py",
		"conda/conda-meta/history", "conda/lib/c.py", ".tox/py312/t.py", ".nox/n.py",
		"node_modules/m/m.py", "Lib/venv/__init__.py", "cfgdir/pyvenv.cfg/x.py",
		"notconda/conda-meta", "pkg/deep/.env/pyvenv.cfg", "pkg/deep/.env/e.py",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		tu_write_str(d, files[i], "");
	/* A pyvenv.cfg symlink is not followed, even to a directory: an environment. */
	mkdir_at(d, "lnk");
	symlink_at("../cfgdir/pyvenv.cfg", d, "lnk/pyvenv.cfg");
}

static size_t split_skipped;   /* what the split-off walkers of split_walk() skipped */
static void split_walk(struct walk_log *log, pyc_walker *w, size_t root_len, unsigned depth0,
                       int *splits, int *asked);

/*
 * Environments (pyvenv.cfg, conda-meta/) and tool directories are skipped and counted
 * with PYC_WALK_SKIP_ENVS, by content and not by name (CPython's own Lib/venv is a
 * package); never the root; a look-alike (pyvenv.cfg a directory, conda-meta a file) is
 * walked.
 */
static void test_env_dirs_skipped(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_env_tree(d);
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	pyc_walker *w;
	pyc_error err = {0};
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_SKIP_ENVS, &err), 0);
	const pyc_walk_entry *e;
	int rc;
	while ((rc = pyc_walker_next(w, &e)) > 0)
		log_entry(&log, e, strlen(d));
	assert_int_equal(rc, 0);
	assert_string_equal(pyc_buf_cstr(&log.text), "d 0 .\n"
	                                              "d 1 Lib\n"
	                                              "d 2 Lib/venv\n"
	                                              "f 3 Lib/venv/__init__.py\n"
	                                              "d 1 cfgdir\n"
	                                              "d 2 cfgdir/pyvenv.cfg\n"
	                                              "f 3 cfgdir/pyvenv.cfg/x.py\n"
	                                              "d 1 notconda\n"
	                                              "f 2 notconda/conda-meta\n"
	                                              "d 1 pkg\n"
	                                              "f 2 pkg/a.py\n"
	                                              "d 2 pkg/deep\n");
	/* .nox .tox .venv conda lnk node_modules venv pkg/deep/.env */
	assert_int_equal(pyc_walker_skipped(w), 8);
	pyc_walker_free(w);
	log_dispose(&log);

	/* Without the flag everything is walked and nothing counted. */
	char *all = walk_text(d, 0, NULL);
	assert_non_null(strstr(all, "f 3 .venv/lib/site.py\n"));
	assert_non_null(strstr(all, "f 3 node_modules/m/m.py\n"));
	assert_non_null(strstr(all, "f 4 pkg/deep/.env/e.py\n"));
	free(all);

	/* An environment named as the root is walked. */
	char *root = walk_text(tu_path(d, ".venv"), PYC_WALK_SKIP_ENVS, NULL);
	assert_string_equal(root, "d 0 .\n"
	                          "d 1 lib\n"
	                          "f 2 lib/site.py\n"
	                          "f 1 pyvenv.cfg\n");
	free(root);

	/* Split at every directory: the same entries, and the same count over all walkers. */
	char *plain = walk_text(d, PYC_WALK_SKIP_ENVS, NULL);
	struct walk_log slog = {PYC_BUF_INIT, 0, 0};
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_SKIP_ENVS, &err), 0);
	int splits = 0, asked = 0;
	split_skipped = 0;
	split_walk(&slog, w, strlen(d), 0, &splits, &asked);
	assert_string_equal(pyc_buf_cstr(&slog.text), plain);
	assert_true(splits >= 3);
	assert_int_equal(pyc_walker_skipped(w) + split_skipped, 8);
	pyc_walker_free(w);
	log_dispose(&slog);
	free(plain);
	tu_rm_rf(d);
	free(d);
}

static void test_exclude_globs(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "a/keep.py", "");
	tu_write_str(d, "a/notes.txt", "");
	tu_write_str(d, "a/build/x.py", "");
	tu_write_str(d, "a/sub/deep/y.py", "");
	tu_write_str(d, "b/sub/z.py", "");
	tu_write_str(d, "top.txt", "");
	static const char *const excl[] = {"*.txt", "build", "a/sub", NULL};
	char *t = walk_text(d, 0, excl);
	assert_string_equal(t, "d 0 .\n"
	                       "d 1 a\n"
	                       "f 2 a/keep.py\n"
	                       "d 1 b\n"
	                       "d 2 b/sub\n"
	                       "f 3 b/sub/z.py\n");
	free(t);
	/* A path glob's '*' crosses directories (fnmatch without FNM_PATHNAME). */
	static const char *const excl2[] = {"*/sub/*", "a", NULL};
	char *t2 = walk_text(d, 0, excl2);
	assert_string_equal(t2, "d 0 .\n"
	                        "d 1 b\n"
	                        "d 2 b/sub\n"
	                        "f 1 top.txt\n");
	free(t2);
	/* "./" is dropped; a trailing '/' restricts the glob to directories. */
	tu_write_str(d, "b/build", "");
	static const char *const excl3[] = {"./a/sub/", "build/", "b/sub/z.py/", NULL};
	char *t3 = walk_text(d, 0, excl3);
	assert_string_equal(t3, "d 0 .\n"
	                        "d 1 a\n"
	                        "f 2 a/keep.py\n"
	                        "f 2 a/notes.txt\n"
	                        "d 1 b\n"
	                        "f 2 b/build\n"
	                        "d 2 b/sub\n"
	                        "f 3 b/sub/z.py\n"
	                        "f 1 top.txt\n");
	free(t3);
	tu_rm_rf(d);
	free(d);
}

static void test_skip_prunes(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "a/x", "");
	tu_write_str(d, "b/y", "");
	/* pyc_walker_skip after anything but a DIR changes nothing. */
	char *plain = walk_text(d, PYC_WALK_POSTORDER, NULL);
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_POSTORDER, NULL), 0);
	const pyc_walk_entry *e;
	while (pyc_walker_next(w, &e) > 0) {
		log_entry(&log, e, strlen(d));
		if (e->kind != PYC_WALK_DIR)
			pyc_walker_skip(w);
	}
	pyc_walker_free(w);
	assert_string_equal(log.text.ptr, plain);
	free(plain);
	log_dispose(&log);

	pyc_buf seen = PYC_BUF_INIT;
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_POSTORDER, NULL), 0);
	while (pyc_walker_next(w, &e) > 0) {
		assert_int_equal(pyc_buf_printf(&seen, "%c%u%s ", kind_letter[e->kind], e->depth, e->name), 0);
		if (e->kind == PYC_WALK_DIR && strcmp(e->name, "a") == 0)
			pyc_walker_skip(w);
	}
	pyc_walker_free(w);
	const char *root_name = strrchr(d, '/') + 1;
	char want[256];
	snprintf(want, sizeof(want), "d0%s d1a d1b f2y P1b P0%s ", root_name, root_name);
	assert_string_equal(seen.ptr, want);
	pyc_buf_dispose(&seen);
	tu_rm_rf(d);
	free(d);
}

static void test_file_and_missing_roots(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "f.py", "x");
	pyc_walker *w;
	const pyc_walk_entry *e;
	assert_int_equal(pyc_walker_new(&w, tu_path(d, "f.py"), PYC_WALK_POSTORDER, NULL), 0);
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_int_equal(e->kind, PYC_WALK_FILE);
	assert_int_equal(e->depth, 0);
	assert_string_equal(e->name, "f.py");
	struct stat st;
	assert_int_equal(fstatat(e->dirfd, e->name, &st, 0), 0);
	assert_int_equal(st.st_size, 1);
	assert_int_equal(pyc_walker_next(w, &e), 0);
	pyc_walker_free(w);

	pyc_error err = {0};
	assert_int_equal(pyc_walker_new(&w, tu_path(d, "nope"), 0, &err), PYC_ENOTFOUND);
	assert_null(w);
	assert_non_null(strstr(err.message, "nope"));
	assert_int_equal(err.sys_errno, ENOENT);
	assert_int_equal(pyc_walker_new(&w, tu_path(d, "f.py/x"), 0, &err), PYC_ENOTFOUND);
	tu_rm_rf(d);
	free(d);
}

/* Walk until the entry named `name` (its parent is listed by then), then return it. */
static const pyc_walk_entry *walk_until(pyc_walker *w, const char *name)
{
	const pyc_walk_entry *e;
	while (pyc_walker_next(w, &e) > 0)
		if (strcmp(e->name, name) == 0)
			return e;
	fail_msg("entry '%s' never came", name);
	return NULL;
}

/* Races staged between two calls: these error paths run as root too. */
static void test_races_after_listing(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "a", "");
	tu_write_str(d, "gone/x.py", "");
	tu_write_str(d, "swapped/secret.py", "");
	tu_write_str(d, "target/inside.py", "");
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_POSTORDER, NULL), 0);
	walk_until(w, "a");
	tu_rm_rf(tu_path(d, "gone"));
	assert_int_equal(rename(tu_path(d, "swapped"), tu_path(d, "moved")), 0);
	symlink_at("target", d, "swapped");
	const pyc_walk_entry *e;
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_string_equal(e->name, "gone");
	assert_int_equal(e->kind, PYC_WALK_ERROR);
	assert_int_equal(e->error, ENOENT);
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_string_equal(e->name, "swapped");
	assert_int_equal(e->kind, PYC_WALK_SYMLINK); /* not entered: no inside.py under it */
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_string_equal(e->name, "target");
	assert_int_equal(e->kind, PYC_WALK_DIR);
	pyc_walker_free(w);
	tu_rm_rf(d);
	free(d);
}

static void test_unreadable_directory(void **state)
{
	(void)state;
	if (geteuid() == 0) {
		print_message("SKIP: running as root, mode 000 does not stop root "
		              "(test_races_after_listing covers error entries)\n");
		skip();
	}
	char *d = tu_mkdtemp();
	tu_write_str(d, "locked/x.py", "");
	tu_write_str(d, "z.py", "");
	assert_int_equal(chmod(tu_path(d, "locked"), 0), 0);
	char *t = walk_text(d, PYC_WALK_POSTORDER, NULL);
	assert_string_equal(t, "d 0 .\n"
	                       "E 1 locked\n"
	                       "f 1 z.py\n"
	                       "P 0 .\n");
	free(t);
	tu_rm_rf(d);
	free(d);
}


/* A chain root/d/d/.../d of `levels` directories with a file "leaf" at the bottom. */
static void make_chain(const char *root, int levels)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	for (int i = 0; i < levels; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	int f = openat(fd, "leaf", O_WRONLY | O_CREAT, 0644);
	assert_true(f >= 0);
	close(f);
	close(fd);
}

/* 300 levels with only 48 fds allowed: the fd window must hold, post-order included. */
static void test_deep_tree_bounded_fds(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_chain(d, 300);
	tu_write_str(d, "z", "");
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 48;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	walk_all(&log, d, PYC_WALK_POSTORDER, NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(log.errors, 0);
	/* root + 300 dirs, each twice, + leaf + z */
	assert_int_equal(log.count, 2 * 301 + 2);
	const char *tail = log.text.ptr + log.text.len - strlen("f 1 z\nP 0 .\n");
	assert_string_equal(tail, "f 1 z\nP 0 .\n");
	log_dispose(&log);
	tu_rm_rf(d);
	free(d);
}

/* An ancestor above the fd window that vanishes is an error entry; its parent goes on. */
static void test_deep_ancestor_removed(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	make_chain(d, 40);
	tu_write_str(d, "z", "");
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_POSTORDER, NULL), 0);
	walk_until(w, "leaf");
	/* Move d/d out of d, then remove d: frame 1 is gone, its subtree lives on elsewhere. */
	char from[4200], to[4200];
	snprintf(from, sizeof(from), "%s/d/d", d);
	snprintf(to, sizeof(to), "%s/moved", d);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(rmdir(tu_path(d, "d")), 0);
	const pyc_walk_entry *e;
	int posts = 0, rc;
	while ((rc = pyc_walker_next(w, &e)) > 0 && e->kind == PYC_WALK_DIR_POST)
		posts++;
	assert_int_equal(rc, 1);
	assert_int_equal(posts, 39); /* depths 40..2 */
	assert_int_equal(e->kind, PYC_WALK_ERROR);
	assert_int_equal(e->depth, 1);
	assert_int_equal(e->error, ENOENT);
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_string_equal(e->name, "z");
	assert_int_equal(e->kind, PYC_WALK_FILE);
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_int_equal(e->kind, PYC_WALK_DIR_POST);
	assert_int_equal(e->depth, 0);
	assert_int_equal(pyc_walker_next(w, &e), 0);
	pyc_walker_free(w);
	tu_rm_rf(d);
	free(d);
}

static void test_wide_directory(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	int fd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	enum { N = 20000 };
	int f = openat(fd, "m00000.py", O_WRONLY | O_CREAT, 0644);
	assert_true(f >= 0);
	close(f);
	/* Hard links: a new name costs a fraction of a new inode, and the walker sees names. */
	for (int i = 1; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "m%05d.py", (i * 7919) % N); /* created out of order */
		assert_int_equal(linkat(fd, "m00000.py", fd, name, 0), 0);
	}
	close(fd);
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, 0, NULL), 0);
	const pyc_walk_entry *e;
	assert_int_equal(pyc_walker_next(w, &e), 1);
	int i = 0;
	while (pyc_walker_next(w, &e) > 0) {
		char want[32];
		snprintf(want, sizeof(want), "m%05d.py", i++);
		assert_string_equal(e->name, want);
	}
	assert_int_equal(i, N);
	pyc_walker_free(w);
	tu_rm_rf(d);
	free(d);
}

/* stat(2) says which top-level directories are other file systems; never enter them. */
static void test_mount_points_not_entered(void **state)
{
	(void)state;
	struct stat root_st;
	assert_int_equal(stat("/", &root_st), 0);
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, "/", 0, NULL), 0);
	const pyc_walk_entry *e;
	int mounts = 0;
	while (pyc_walker_next(w, &e) > 0) {
		if (e->depth == 0) {
			assert_string_equal(e->path, "/");
			continue;
		}
		assert_int_equal(e->depth, 1); /* everything below is skipped */
		assert_true(e->path[0] == '/' && e->path[1] != '/');
		if (e->kind != PYC_WALK_DIR)
			continue;
		struct stat st;
		assert_int_equal(fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(e->is_mount_point, st.st_dev != root_st.st_dev);
		mounts += e->is_mount_point;
		pyc_walker_skip(w);
	}
	pyc_walker_free(w);
	if (mounts == 0)
		print_message("note: no mount point directly under / to check\n");
	/* With PYC_WALK_CROSS_MOUNTS they are entered like any directory. */
	assert_int_equal(pyc_walker_new(&w, "/", PYC_WALK_CROSS_MOUNTS, NULL), 0);
	while (pyc_walker_next(w, &e) > 0) {
		assert_false(e->is_mount_point);
		if (e->kind == PYC_WALK_DIR && e->depth == 1)
			pyc_walker_skip(w);
	}
	pyc_walker_free(w);
}


/* Roots as users type them: ".", "sub/", "sub//deep"; every root's dirfd + name reach it. */
static void test_relative_roots(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "sub/deep/x.py", "");
	char *old = getcwd(NULL, 0);
	assert_non_null(old);
	assert_int_equal(chdir(d), 0);
	pyc_walker *w;
	const pyc_walk_entry *e;
	static const char *const roots[] = {".", "./", "sub/", "sub//deep", "sub/deep/x.py"};
	static const char *const names[] = {".", ".", "sub", "deep", "x.py"};
	static const char *const first_child[] = {"./sub", "./sub", "sub/deep", "sub//deep/x.py", NULL};
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		assert_int_equal(pyc_walker_new(&w, roots[i], 0, NULL), 0);
		assert_int_equal(pyc_walker_dirfd_at(w, 0), -1); /* nothing open before the first call */
		assert_int_equal(pyc_walker_next(w, &e), 1);
		assert_int_equal(e->depth, 0);
		assert_string_equal(e->name, names[i]);
		struct stat a, b;
		assert_int_equal(stat(roots[i], &a), 0);
		assert_int_equal(fstatat(e->dirfd, e->name, &b, 0), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		if (first_child[i]) {
			assert_int_equal(pyc_walker_dirfd_at(w, 0), e->fd);
			assert_int_equal(pyc_walker_dirfd_at(w, 1), -1);
			assert_int_equal(pyc_walker_next(w, &e), 1);
			assert_string_equal(e->path, first_child[i]);
		}
		pyc_walker_free(w);
	}
	assert_int_equal(chdir(old), 0);
	free(old);
	tu_rm_rf(d);
	free(d);
}

/*
 * Splitting: hand a directory over at every directory entered, walk each handed-over
 * directory where its parent reports it, and the log must be the plain walk's, entry
 * for entry (depths shifted back), with excludes, VCS directories and a refusing filter.
 */
struct split_slot {
	pyc_walker *child;
};

static bool refuse_named_a(void *ctx, const char *path, const char *name)
{
	(void)path;
	(*(int *)ctx)++;
	return strcmp(name, "a") != 0;
}

static bool refuse_all(void *ctx, const char *path, const char *name)
{
	(void)path;
	(void)name;
	(*(int *)ctx)++;
	return false;
}

static void split_walk(struct walk_log *log, pyc_walker *w, size_t root_len, unsigned depth0,
                       int *splits, int *asked)
{
	const pyc_walk_entry *e;
	int rc;
	while ((rc = pyc_walker_next(w, &e)) > 0) {
		struct split_slot *slot = pyc_walk__delegated(w);
		if (slot) {
			assert_int_equal(e->kind, PYC_WALK_DIR);
			assert_int_equal(e->fd, -1);
			pyc_walker_skip(w);   /* a no-op: it was never entered */
			split_walk(log, slot->child, root_len, depth0 + e->depth, splits, asked);
			split_skipped += pyc_walker_skipped(slot->child);
			pyc_walker_free(slot->child);
			free(slot);
			continue;
		}
		pyc_walk_entry shifted = *e;
		shifted.depth += depth0;
		log_entry(log, &shifted, root_len);
		if (e->kind != PYC_WALK_DIR)
			continue;
		struct split_slot *next = calloc(1, sizeof(*next));
		assert_non_null(next);
		rc = pyc_walk__split(w, refuse_named_a, asked, next, &next->child);
		assert_true(rc == 0 || rc == 1);
		if (rc == 1) {
			assert_non_null(next->child);
			(*splits)++;
		} else {
			assert_null(next->child);
			free(next);
		}
	}
	assert_int_equal(rc, 0);
}

static void test_split_walk_matches_plain_walk(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	static const char *const files[] = {
		"a/x.py", "a/b/c/d/y.py", "a/b/c/e/z.py", "a/b/f.py", "a/keep/k.py", "a/keep/in/k2.py",
		"g/h/i.py", "g/.git/objects/o", "g/build/skip.py", "g/j/build/skip2.py", "g/j/ok.py",
		"m/n/o/p/q/r.py", "top.py", "z/1/2/3.py", "z/1/4/5.py", "z/6.py",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		tu_write_str(d, files[i], "");
	symlink_at("a", d, "z/link");
	static const char *const excl[] = {"build/", "m/n/o", NULL};
	for (unsigned flags = 0; flags <= PYC_WALK_POSTORDER; flags += PYC_WALK_POSTORDER) {
		char *plain = walk_text(d, flags, excl);
		struct walk_log log = {PYC_BUF_INIT, 0, 0};
		pyc_walker *w;
		pyc_error err = {0};
		assert_int_equal(pyc_walker_new(&w, d, flags, &err), 0);
		for (const char *const *x = excl; *x; x++)
			assert_int_equal(pyc_walker_exclude(w, *x), 0);
		int splits = 0, asked = 0;
		split_walk(&log, w, strlen(d), 0, &splits, &asked);
		pyc_walker_free(w);
		assert_string_equal(pyc_buf_cstr(&log.text), plain);
		assert_true(splits >= 5);        /* it did split, and more than the top level */
		assert_true(asked > splits);     /* "a" was offered and refused */
		log_dispose(&log);
		free(plain);
	}
	tu_rm_rf(d);
	free(d);
}

static bool accept_all(void *ctx, const char *path, const char *name)
{
	(void)ctx;
	(void)path;
	(void)name;
	return true;
}

/* Walk w to its end with a stale errno before each step; count the ELOOP entries. */
static int count_loops(pyc_walker *w)
{
	const pyc_walk_entry *e;
	int loops = 0;
	for (;;) {
		errno = ENOTTY;
		if (pyc_walker_next(w, &e) <= 0)
			return loops;
		if (e->kind == PYC_WALK_ERROR) {
			assert_string_equal(e->name, "loop");
			assert_int_equal(e->error, ELOOP);
			loops++;
		}
	}
}

/*
 * A bind mount of the root below itself: the loop is an ELOOP error entry, whatever
 * errno held before (it said "Inappropriate ioctl for device", left by an isatty()).
 * Split-off walkers must catch it too. Needs root for mount(2).
 */
static char *bind_root;   /* the tree whose mount the teardown removes, even on failure */

static int unmount_loop(void **state)
{
	(void)state;
	if (bind_root) {
		umount2(tu_path(bind_root, "a/loop"), MNT_DETACH);
		tu_rm_rf(bind_root);
		free(bind_root);
		bind_root = NULL;
	}
	return 0;
}

static void test_bind_mount_loop(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	tu_write_str(d, "a/loop/.keep", "");
	if (geteuid() != 0 || mount(d, tu_path(d, "a/loop"), NULL, MS_BIND, NULL) < 0) {
		print_message("skip: mount --bind needs root (euid %d)\n", (int)geteuid());
		tu_rm_rf(d);
		free(d);
		skip();
	}
	bind_root = d;
	pyc_walker *w, *child = NULL;
	assert_int_equal(pyc_walker_new(&w, d, 0, NULL), 0);
	assert_int_equal(count_loops(w), 1);
	pyc_walker_free(w);
	/* Split "a" off right after the root: the child knows the root as an ancestor. */
	assert_int_equal(pyc_walker_new(&w, d, 0, NULL), 0);
	const pyc_walk_entry *e;
	int cookie;
	assert_int_equal(pyc_walker_next(w, &e), 1);
	assert_int_equal(pyc_walk__split(w, accept_all, NULL, &cookie, &child), 1);
	assert_int_equal(count_loops(child), 1);
	pyc_walker_free(child);
	pyc_walker_free(w);
}

/* Splits from a chain deeper than the fd window: frames whose fd was closed are not
 * searched, and are again once the walk climbs back to them; the walk stays the same. */
static void test_split_deep_tree(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	char rel[256], leaf[300];
	for (int i = 0; i <= 45; i++) {
		memset(rel, 0, sizeof(rel));
		for (int k = 0; k < i; k++)
			memcpy(rel + 2 * k, "d/", 2);
		snprintf(leaf, sizeof(leaf), i < 45 ? "%ss%d/f.py" : "%send.py", rel, i);
		tu_write_str(d, leaf, "");
	}
	char *plain = walk_text(d, PYC_WALK_POSTORDER, NULL);
	struct walk_log log = {PYC_BUF_INIT, 0, 0};
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, PYC_WALK_POSTORDER, NULL), 0);
	int splits = 0, asked = 0;
	split_walk(&log, w, strlen(d), 0, &splits, &asked);
	pyc_walker_free(w);
	assert_string_equal(pyc_buf_cstr(&log.text), plain);
	assert_true(splits >= 45);
	log_dispose(&log);
	free(plain);
	tu_rm_rf(d);
	free(d);
}

/*
 * A worker goes idle over and over while its peer walks one wide directory: each split
 * must look at an entry at most once per listing, not rescan what is left (quadratic:
 * 200,000 entries took 39 s instead of 1.8). The filter refuses everything and counts.
 */
static void test_split_looks_at_each_entry_once(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	enum { N = 3000 };
	int fd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%05d", i);
		assert_int_equal(mkdirat(fd, name, 0755), 0);
	}
	close(fd);
	pyc_walker *w;
	assert_int_equal(pyc_walker_new(&w, d, 0, NULL), 0);
	const pyc_walk_entry *e;
	int asked = 0, slot, visited = 0;
	pyc_walker *child;
	while (pyc_walker_next(w, &e) > 0) {
		visited++;
		for (int k = 0; k < 3; k++) {
			assert_int_equal(pyc_walk__split(w, refuse_all, &asked, &slot, &child), 0);
			assert_null(child);
		}
	}
	pyc_walker_free(w);
	assert_int_equal(visited, N + 1);
	assert_int_equal(asked, N);
	tu_rm_rf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_pre_and_post),
		cmocka_unit_test(test_matches_find_odd_names),
		cmocka_unit_test(test_symlinks_never_followed),
		cmocka_unit_test(test_vcs_dirs_skipped),
		cmocka_unit_test(test_exclude_globs),
		cmocka_unit_test(test_env_dirs_skipped),
		cmocka_unit_test(test_skip_prunes),
		cmocka_unit_test(test_file_and_missing_roots),
		cmocka_unit_test(test_relative_roots),
		cmocka_unit_test(test_split_walk_matches_plain_walk),
		cmocka_unit_test(test_split_deep_tree),
		cmocka_unit_test(test_split_looks_at_each_entry_once),
		cmocka_unit_test_teardown(test_bind_mount_loop, unmount_loop),
		cmocka_unit_test(test_races_after_listing),
		cmocka_unit_test(test_unreadable_directory),
		cmocka_unit_test(test_deep_tree_bounded_fds),
		cmocka_unit_test(test_deep_ancestor_removed),
		cmocka_unit_test(test_wide_directory),
		cmocka_unit_test(test_mount_points_not_entered),
	};
	return tu_run_tests("walk", tests);
}
