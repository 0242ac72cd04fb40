/*
 * test_interp_identity.c - pyc_interp_identity and the content fingerprints behind it,
 * against the interpreters on this machine and copies of their binaries.
 *
 * Oracles: each interpreter's own sys.version (through the probe), the file system (the
 * fingerprint memo files), and sha256sum for the content hash.
 */
#include "testutil.h"
#include "pyc/interp.h"
#include "interp_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char *dir;
	char *saved_xdg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *xdg = getenv("XDG_CACHE_HOME");

	f->dir = tu_mkdtemp();
	f->saved_xdg = xdg ? strdup(xdg) : NULL;
	setenv("XDG_CACHE_HOME", tu_path(f->dir, "cache"), 1);
	unsetenv("PYC_TOOL_NO_PROBE_CACHE");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->saved_xdg)
		setenv("XDG_CACHE_HOME", f->saved_xdg, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->saved_xdg);
	free(f);
	return 0;
}

static void identity_of(const char *exe, pyc_buf *out, pyc_interp *in)
{
	pyc_error err = { 0 };

	if (pyc_interp_probe(in, exe, &err) != 0)
		fail_msg("probe %s: %s", exe, err.message);
	if (pyc_interp_identity(in, out, &err) != 0)
		fail_msg("identity %s: %s", exe, err.message);
}

static bool same(const pyc_buf *a, const pyc_buf *b)
{
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* sha256sum's answer, the oracle for the fingerprint. */
static void sha256sum(const char *path, uint8_t out[32])
{
	char cmd[4200], hex[80] = "";
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(hex, sizeof(hex), p));
	assert_int_equal(pclose(p), 0);
	assert_int_equal(tu_unhex(hex, out, 32), 32);
}

/* The probe reports the build; the same interpreter gives the same identity twice, the
 * second time from the remembered fingerprint. */
static void test_same_interpreter_same_identity(void **state)
{
	(void)state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no python3");
	pyc_buf a = PYC_BUF_INIT, b = PYC_BUF_INIT;
	pyc_interp in1, in2;
	identity_of(py, &a, &in1);
	identity_of(py, &b, &in2);
	assert_true(same(&a, &b));
	assert_non_null(in1.sys_version);
	assert_true(strchr(in1.sys_version, '(') != NULL);   /* "3.x.y (main, date) [GCC]" */
	assert_true(in1.real_executable[0] == '/');
	assert_string_equal(in1.real_executable, in2.real_executable);
	uint8_t sum[32], want[32];
	bool hashed = true;
	assert_int_equal(pyc_interp__file_sha256(in1.real_executable, sum, &hashed, NULL), 0);
	assert_false(hashed);
	sha256sum(in1.real_executable, want);
	assert_memory_equal(sum, want, 32);
	if (in1.libpython) {
		assert_int_equal(access(in1.libpython, R_OK), 0);
		assert_non_null(strstr(in1.libpython, "libpython"));
	}
	pyc_interp_dispose(&in1);
	pyc_interp_dispose(&in2);
	pyc_buf_dispose(&a);
	pyc_buf_dispose(&b);
	free(py);
}

/* Different builds differ, also (when both exist) two that share a magic number. */
static void test_different_interpreters_differ(void **state)
{
	(void)state;
	tu_interps list;
	tu_interps_find(&list, TU_INTERPS_EVERY);
	if (list.n < 2) {
		tu_interps_free(&list);
		tu_skip("fewer than two interpreters");
	}
	size_t x = 0, y = 1;
	for (size_t i = 0; i < list.n; i++)
		for (size_t j = i + 1; j < list.n; j++)
			if (list.major[i] == list.major[j] && list.minor[i] == list.minor[j])
				x = i, y = j;
	pyc_buf a = PYC_BUF_INIT, b = PYC_BUF_INIT;
	pyc_interp in1, in2;
	identity_of(list.path[x], &a, &in1);
	identity_of(list.path[y], &b, &in2);
	print_message("comparing %s and %s (magic %u, %u)\n", list.path[x], list.path[y],
	              in1.magic, in2.magic);
	assert_false(same(&a, &b));
	pyc_interp_dispose(&in1);
	pyc_interp_dispose(&in2);
	pyc_buf_dispose(&a);
	pyc_buf_dispose(&b);
	tu_interps_free(&list);
}

/* A copy of a binary: hashed once, then remembered; a new mtime hashes again to the same
 * sum; new content gives a new one. The copy runs and has the original's identity. */
static void test_fingerprint_follows_content(void **state)
{
	struct fixture *f = *state;
	char *py = tu_python3();
	if (!py)
		tu_skip("no python3");
	pyc_buf orig = PYC_BUF_INIT, copied = PYC_BUF_INIT, changed = PYC_BUF_INIT;
	pyc_interp in, cin;
	identity_of(py, &orig, &in);
	char copy[4200];
	snprintf(copy, sizeof(copy), "%s/python-copy", f->dir);
	tu_sh("cp '%s' '%s'", in.real_executable, copy);

	uint8_t s1[32], s2[32], s3[32], s4[32], want[32];
	bool hashed;
	assert_int_equal(pyc_interp__file_sha256(copy, s1, &hashed, NULL), 0);
	assert_true(hashed);
	assert_int_equal(pyc_interp__file_sha256(copy, s2, &hashed, NULL), 0);
	assert_false(hashed);
	assert_memory_equal(s1, s2, 32);
	tu_set_mtime(f->dir, "python-copy", time(NULL) - 100, 5);
	assert_int_equal(pyc_interp__file_sha256(copy, s3, &hashed, NULL), 0);
	assert_true(hashed);
	assert_memory_equal(s1, s3, 32);

	identity_of(copy, &copied, &cin);
	assert_string_equal(cin.real_executable, copy);
	assert_true(same(&orig, &copied));
	pyc_interp_dispose(&cin);

	/* trailing bytes: the binary still runs, its content differs */
	tu_sh("printf x >> '%s'", copy);
	assert_int_equal(pyc_interp__file_sha256(copy, s4, &hashed, NULL), 0);
	assert_true(hashed);
	sha256sum(copy, want);
	assert_memory_equal(s4, want, 32);
	assert_memory_not_equal(s1, s4, 32);
	identity_of(copy, &changed, &cin);
	assert_false(same(&orig, &changed));
	pyc_interp_dispose(&cin);
	pyc_interp_dispose(&in);
	pyc_buf_dispose(&orig);
	pyc_buf_dispose(&copied);
	pyc_buf_dispose(&changed);
	free(py);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_interpreter_same_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_different_interpreters_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_follows_content, setup, teardown),
	};
	return tu_run_tests("interp_identity", tests);
}
