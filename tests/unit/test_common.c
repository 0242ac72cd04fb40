/*
 * Error records (common.h): the message a failing OS call produces, against the C
 * library's own strerror() for the errno the kernel really set, and the cut-off of an
 * over-long message.
 */
#include "testutil.h"

#include "pyc/common.h"
#include "pyc/pyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_errno_suffix_from_a_real_failure(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	const char *missing = tu_path(dir, "absent");
	pyc_error err = { 0 };
	char want[512];

	assert_int_equal(open(missing, O_RDONLY), -1);
	int e = errno;
	assert_int_equal(pyc_error_set(&err, PYC_EIO, e, "cannot open '%s'", missing), PYC_EIO);
	snprintf(want, sizeof(want), "cannot open '%s': %s", missing, strerror(ENOENT));
	assert_string_equal(err.message, want);
	assert_int_equal(err.code, PYC_EIO);
	assert_int_equal(err.sys_errno, ENOENT);
	pyc_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.message, "");
	/* No record: the code still comes back, so callers can `return pyc_error_set(...)`. */
	assert_int_equal(pyc_error_set(NULL, PYC_ENOMEM, 0, "out of memory"), PYC_ENOMEM);
	tu_rm_rf(dir);
	free(dir);
}

static void test_long_message_is_marked_cut(void **state)
{
	(void)state;
	char path[3 * PYC_ERROR_MSG_MAX];
	pyc_error err = { 0 };

	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	pyc_error_set(&err, PYC_EIO, EACCES, "cannot open '%s'", path);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
	assert_string_equal(err.message + sizeof(err.message) - 4, "...");
	assert_memory_equal(err.message, "cannot open 'ppp", 16);
}

static void test_names_and_version(void **state)
{
	(void)state;
	/* Every code has its own name, and unknown ones say so (PYC_EUNSAFE is the lowest). */
	for (int a = PYC_EUNSAFE; a <= PYC_OK; a++)
		for (int b = a + 1; b <= PYC_OK; b++)
			assert_string_not_equal(pyc_code_name(a), pyc_code_name(b));
	assert_string_equal(pyc_code_name(PYC_EUNSAFE - 1), "unknown error");
	assert_string_equal(pyc_code_name(PYC_EIO), "io");
	/* The version CMake's project() declares, from the top-level CMakeLists.txt. */
	char line[256], want[64] = "";
	snprintf(line, sizeof(line), "%s/CMakeLists.txt", getenv("PYC_SOURCE_DIR"));
	FILE *f = fopen(line, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "project(pyc-tool VERSION %63[0-9.]", want) == 1)
			break;
	fclose(f);
	assert_string_equal(pyc_version(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_suffix_from_a_real_failure),
		cmocka_unit_test(test_long_message_is_marked_cut),
		cmocka_unit_test(test_names_and_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
