/*
 * test_writer.c - atomic .pyc writes: modes against CPython's own py_compile, failures
 * against the filesystem (old file intact, no temporary left behind).
 */
#include "testutil.h"
#include "pyc/buf.h"
#include "pyc/writer.h"

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const uint8_t header[16] = { 0xa7, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t body[] = "\xe3 pretend marshal data";

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void assert_content(const char *path, const void *want, size_t len)
{
	char buf[256];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, len);
	assert_memory_equal(buf, want, len);
}

static void test_writes_and_creates_parents(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[4096], both[sizeof(header) + sizeof(body)];
	pyc_error err = { 0 };

	snprintf(path, sizeof(path), "%s/a/b/__pycache__/m.cpython-311.pyc", dir);
	assert_int_equal(pyc_write_pyc(path, header, sizeof(header), body, sizeof(body), 0644, &err), 0);
	memcpy(both, header, sizeof(header));
	memcpy(both + sizeof(header), body, sizeof(body));
	assert_content(path, both, sizeof(both));
	assert_int_equal(entries(tu_path(dir, "a/b/__pycache__")), 1);

	/* Replacing: a new inode (rename), never a rewrite in place. */
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(pyc_write_pyc(path, header, 4, body, 3, 0644, &err), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_size, 7);
	assert_int_equal(entries(tu_path(dir, "a/b/__pycache__")), 1);
	tu_rm_rf(dir);
	free(dir);
}

static const mode_t src_modes[] = { 0644, 0444, 0755, 0600, 0400, 0666, 0640 };
static const mode_t masks[] = { 022, 077, 0, 027 };
#define NMODES (sizeof(src_modes) / sizeof(src_modes[0]))
#define NMASKS (sizeof(masks) / sizeof(masks[0]))

/* py_compile's mode for every source mode under every umask, as the interpreter itself
 * computes and applies it, into want[mode][mask]: one interpreter for all of them. */
static void python_modes(const char *python, const char *src, const char *dir,
                         mode_t want[NMODES][NMASKS])
{
	pyc_buf cmd = PYC_BUF_INIT;
	assert_int_equal(pyc_buf_printf(&cmd, "cd '%s' && '%s' -c \"import os, py_compile, sys\n"
	                 "for m in sys.argv[2].split():\n"
	                 "    os.chmod(sys.argv[1], int(m, 8))\n"
	                 "    for k in sys.argv[3].split():\n"
	                 "        os.umask(int(k, 8))\n"
	                 "        py_compile.compile(sys.argv[1], 'oracle.pyc', doraise=True)\n"
	                 "        print('%%o' %% (os.stat('oracle.pyc').st_mode & 0o7777))\n"
	                 "        os.unlink('oracle.pyc')\" '%s' '", dir, python, src), 0);
	for (size_t i = 0; i < NMODES; i++)
		assert_int_equal(pyc_buf_printf(&cmd, " %o", (unsigned)src_modes[i]), 0);
	assert_int_equal(pyc_buf_puts(&cmd, "' '"), 0);
	for (size_t j = 0; j < NMASKS; j++)
		assert_int_equal(pyc_buf_printf(&cmd, " %03o", (unsigned)masks[j]), 0);
	assert_int_equal(pyc_buf_puts(&cmd, "'"), 0);
	FILE *p = popen(pyc_buf_cstr(&cmd), "r");
	assert_non_null(p);
	for (size_t i = 0; i < NMODES; i++) {
		for (size_t j = 0; j < NMASKS; j++) {
			unsigned m;
			assert_int_equal(fscanf(p, "%o", &m), 1);
			want[i][j] = (mode_t)m;
		}
	}
	assert_int_equal(pclose(p), 0);
	pyc_buf_dispose(&cmd);
}

static void test_mode_matches_py_compile(void **state)
{
	(void)state;
	mode_t want[NMODES][NMASKS];
	pyc_error err = { 0 };

	char *python = tu_python3();
	if (!python)
		tu_skip("no python3 to ask py_compile");
	char *dir = tu_mkdtemp();
	tu_write_str(dir, "m.py", "x = 1\n");
	const char *src = strdup(tu_path(dir, "m.py"));
	const char *ours = strdup(tu_path(dir, "ours.pyc"));
	python_modes(python, src, dir, want);
	for (size_t i = 0; i < NMODES; i++) {
		assert_int_equal(chmod(src, src_modes[i]), 0);
		for (size_t j = 0; j < NMASKS; j++) {
			mode_t old = umask(masks[j]);
			int rc = pyc_write_pyc(ours, header, 16, body, 4, pyc_pyc_mode_for_source(src), &err);
			umask(old);
			assert_int_equal(rc, 0);
			struct stat st;
			assert_int_equal(stat(ours, &st), 0);
			if ((st.st_mode & 07777) != want[i][j])
				fail_msg("source %o umask %03o: ours %o, py_compile %o", (unsigned)src_modes[i],
				         (unsigned)masks[j], (unsigned)(st.st_mode & 07777),
				         (unsigned)want[i][j]);
			unlink(ours);
		}
	}
	assert_int_equal(pyc_pyc_mode_for_source(tu_path(dir, "missing.py")), 0666);
	free((char *)src);
	free((char *)ours);
	free(python);
	tu_rm_rf(dir);
	free(dir);
}

/* In a child limited to 10-byte files (SIGXFSZ ignored, so write() fails with EFBIG). */
static void test_failed_write_keeps_old_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	tu_write_str(dir, "x.pyc", "OLD");
	const char *path = tu_path(dir, "x.pyc");
	uint8_t big[100] = { 0 };

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 10, 10 };
		pyc_error err = { 0 };
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		int rc = pyc_write_pyc(path, header, 16, big, sizeof(big), 0644, &err);
		if (rc != PYC_EIO)
			_exit(11);
		if (err.sys_errno != EFBIG)
			_exit(12);
		if (!strstr(err.message, path) || !strstr(err.message, "File too large"))
			_exit(13);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_content(path, "OLD", 3);
	assert_int_equal(entries(dir), 1);
	tu_rm_rf(dir);
	free(dir);
}

static void expect_refused(const char *path, const char *why)
{
	pyc_error err = { 0 };
	assert_int_equal(pyc_write_pyc(path, header, 16, body, 4, 0644, &err), PYC_EEXISTS);
	if (!strstr(err.message, path) || !strstr(err.message, why))
		fail_msg("message '%s'", err.message);
}

static void test_refuses_symlink_and_special_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct stat st;

	tu_write_str(dir, "real.pyc", "REAL");
	assert_int_equal(symlink("real.pyc", tu_path(dir, "link.pyc")), 0);
	expect_refused(tu_path(dir, "link.pyc"), "symlink");
	assert_content(tu_path(dir, "real.pyc"), "REAL", 4);
	assert_int_equal(lstat(tu_path(dir, "link.pyc"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	assert_int_equal(symlink("nowhere.pyc", tu_path(dir, "dangling.pyc")), 0);
	expect_refused(tu_path(dir, "dangling.pyc"), "symlink");
	assert_int_equal(lstat(tu_path(dir, "nowhere.pyc"), &st), -1);

	assert_int_equal(mkfifo(tu_path(dir, "fifo.pyc"), 0644), 0);
	expect_refused(tu_path(dir, "fifo.pyc"), "is a non-regular file and will be changed");
	assert_int_equal(mkdir(tu_path(dir, "dir.pyc"), 0755), 0);
	expect_refused(tu_path(dir, "dir.pyc"), "is a non-regular file and will be changed");
	assert_int_equal(entries(dir), 5);
	tu_rm_rf(dir);
	free(dir);
}

static void test_unwritable_places_name_the_path(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_error err = { 0 };
	char path[4096];

	/* A parent that is a file: mkdir -p cannot make it a directory. */
	tu_write_str(dir, "pkg", "not a directory");
	snprintf(path, sizeof(path), "%s/pkg/__pycache__/m.pyc", dir);
	assert_int_equal(pyc_write_pyc(path, header, 16, body, 4, 0644, &err), PYC_EIO);
	assert_int_equal(err.sys_errno, ENOTDIR);
	assert_non_null(strstr(err.message, tu_path(dir, "pkg")));
	tu_rm_rf(dir);
	free(dir);
}

/* A read-only __pycache__; root ignores modes, so then the check runs as nobody. */
static void test_readonly_pycache_names_the_path(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_error err = { 0 };
	char path[4096];

	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(mkdir(tu_path(dir, "__pycache__"), 0555), 0);
	snprintf(path, sizeof(path), "%s/__pycache__/m.pyc", dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
			_exit(10);
		if (pyc_write_pyc(path, header, 16, body, 4, 0644, &err) != PYC_EIO)
			_exit(11);
		if (err.sys_errno != EACCES || !strstr(err.message, path))
			_exit(12);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	size_t left = entries(tu_path(dir, "__pycache__"));
	tu_rm_rf(dir);
	free(dir);
	if (WEXITSTATUS(status) == 10)
		tu_skip("cannot drop root privileges for the read-only directory case");
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(left, 0);
}

/* The directories below the base are made, never followed when they are symlinks. */
static void test_cache_dir_open_refuses_symlinks(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	pyc_error err = { 0 };
	struct stat a, b;
	int base = open(dir, O_RDONLY | O_DIRECTORY), fd = -1;
	assert_true(base >= 0);

	assert_int_equal(pyc_cache_dir_open(&fd, base, dir, "m/n/__pycache__", &err), 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(tu_path(dir, "m/n/__pycache__"), &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_int_equal(pyc_write_pyc_at(fd, "x.pyc", "x.pyc", header, 16, body, 4, 0644, &err), 0);
	assert_int_equal(pyc_link_pyc_at(fd, "x.pyc", "y.pyc", "y.pyc", &err), 0);
	assert_int_equal(stat(tu_path(dir, "m/n/__pycache__/y.pyc"), &b), 0);
	assert_int_equal(b.st_nlink, 2);
	close(fd);

	assert_int_equal(mkdir(tu_path(dir, "outside"), 0755), 0);
	assert_int_equal(mkdir(tu_path(dir, "pkg"), 0755), 0);
	assert_int_equal(symlink("../outside", tu_path(dir, "pkg/__pycache__")), 0);
	assert_int_equal(pyc_cache_dir_open(&fd, base, dir, "pkg/__pycache__/deeper", &err),
	                 PYC_EUNSAFE);
	if (!strstr(err.message, tu_path(dir, "pkg/__pycache__")) || !strstr(err.message, "symlink"))
		fail_msg("message '%s'", err.message);
	assert_int_equal(entries(tu_path(dir, "outside")), 0);

	tu_write_str(dir, "file", "x");
	assert_int_equal(pyc_cache_dir_open(&fd, base, dir, "file/__pycache__", &err), PYC_EIO);
	assert_int_equal(err.sys_errno, ENOTDIR);
	close(base);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_and_creates_parents),
		cmocka_unit_test(test_mode_matches_py_compile),
		cmocka_unit_test(test_failed_write_keeps_old_file),
		cmocka_unit_test(test_refuses_symlink_and_special_files),
		cmocka_unit_test(test_unwritable_places_name_the_path),
		cmocka_unit_test(test_cache_dir_open_refuses_symlinks),
		cmocka_unit_test(test_readonly_pycache_names_the_path),
	};
	return tu_run_tests("writer", tests);
}
