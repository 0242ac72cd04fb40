/*
 * testutil.h - helpers for the cmocka unit tests: scratch directories, files, and the
 * fixture folder. Every helper fails the running test (cmocka assert) on error.
 */
#ifndef PYC_TESTUTIL_H
#define PYC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <sys/types.h>

#include "pyc/store.h"

/* A fresh directory under $TMPDIR, else /dev/shm (a tmpfs with room) or /tmp; caller frees
 * the string and removes the tree. */
char *tu_mkdtemp(void);
/* Remove a tree (never following symlinks). */
void tu_rm_rf(const char *path);
/* Write bytes to dir/rel, creating parent directories. */
void tu_write(const char *dir, const char *rel, const void *data, size_t len);
/* Same for a C string. */
void tu_write_str(const char *dir, const char *rel, const char *text);
/* Set a file's mtime (seconds + nanoseconds) without following symlinks. */
void tu_set_mtime(const char *dir, const char *rel, int64_t sec, long nsec);
/* "dir/rel" in a static rotating buffer (valid for a few calls). */
const char *tu_path(const char *dir, const char *rel);
/* $PYC_FIXTURES/name: the tests/fixtures folder. */
const char *tu_fixture(const char *name);
/* Parse lowercase hex into out (at most cap bytes); returns the byte count. */
size_t tu_unhex(const char *hex, uint8_t *out, size_t cap);
/* Split a TSV line in place into at most max fields; returns the count. */
size_t tu_split_tabs(char *line, char **fields, size_t max);

/* Run a shell command built printf-style; a non-zero exit fails the test. */
void tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write `script` to dir/oracle.py and run `exe oracle.py` in dir; its stdout and stderr
 * into out (NUL-terminated, truncated to cap - 1). Returns the exit status. */
int tu_run_python(const char *exe, const char *dir, const char *script, char *out, size_t cap);

/* Run a shell command and append all it writes on stdout to out (NUL-terminated after);
 * returns its pclose() status. */
int tu_popen_read(const char *cmd, pyc_buf *out);

/* Isolate git for a test: unset GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_COMMON_DIR,
 * GIT_CEILING_DIRECTORIES and GIT_PREFIX; HOME and XDG_CONFIG_HOME under `home`;
 * GIT_CONFIG_NOSYSTEM=1; a fixed author and committer. tu_git_clear_env() only unsets. */
void tu_git_sandbox(const char *home);
void tu_git_clear_env(void);
/* A scratch directory (its realpath, owned by the caller) made the git sandbox's home,
 * with the current directory saved in *oldcwd; NULL on failure. tu_git_scratch_end goes
 * back to oldcwd, then removes and frees root; 0, or -1 if the way back failed. */
char *tu_git_scratch(int *oldcwd);
int tu_git_scratch_end(char *root, int oldcwd);
/* pyc_git_open() of the repository around the current directory; fails the test if none. */
struct pyc_git *tu_git_open_cwd(void);

/* The store key of one field, text (test_store and test_remote key their entries so). */
pyc_store_key tu_store_key(const char *text);

/* Interpreters to use as oracles, oldest first: pyenv's versions (under `pyenv root`, else
 * $PYENV_ROOT, else ~/.pyenv of the real user: CTest gives tests their own HOME),
 * /usr/bin/python3*, then python3 on PATH; the same places pyc_e2e.interpreters() looks.
 * One per minor version, the first found winning (pyenv before /usr/bin), unless
 * TU_INTERPS_EVERY asks for every distinct binary. Python 2 only with TU_INTERPS_PY2.
 * The list owns its strings; release with tu_interps_free. */
#define TU_MAX_INTERPS 32
enum { TU_INTERPS_PY2 = 1, TU_INTERPS_EVERY = 2 };
typedef struct tu_interps {
	char *path[TU_MAX_INTERPS];
	int major[TU_MAX_INTERPS], minor[TU_MAX_INTERPS];
	size_t n;
} tu_interps;
void tu_interps_find(tu_interps *list, unsigned flags);
void tu_interps_free(tu_interps *list);
/* Drop the interpreters older than major.minor. */
void tu_interps_since(tu_interps *list, int major, int minor);
/* The newest CPython 3 the finder knows (caller frees), or NULL: for tests where any will do. */
char *tu_python3(void);
/* pyenv's root directory as the finder sees it (static storage), or NULL when there is none. */
const char *tu_pyenv_root(void);

/* cmocka 1.1 exits 0 when every test skipped, which CTest reports as Passed; counting the
 * skips lets tu_run_tests exit 77 (SKIP_RETURN_CODE) then, so the skip shows. */
extern size_t tu_skipped;
#undef skip
#define skip() (tu_skipped++, _skip(__FILE__, __LINE__))
/* Say why on the test's output, then skip it. */
#define tu_skip(...) \
	do { \
		print_message("SKIP: "); \
		print_message(__VA_ARGS__); \
		print_message("\n"); \
		skip(); \
	} while (0)
#define tu_run_tests(name, tests) tu_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]))
int tu_run_group(const char *name, const struct CMUnitTest *tests, size_t n);

/* Call fn for each row of one table of tests/fixtures/vectors.tsv (first column == table),
 * with the row split into at most TU_VECTOR_FIELDS fields; returns the number of rows. */
#define TU_VECTOR_FIELDS 12
typedef void (*tu_row_fn)(char **fields, size_t n, void *ctx);
size_t tu_vectors_foreach(const char *table, tu_row_fn fn, void *ctx);

#endif
