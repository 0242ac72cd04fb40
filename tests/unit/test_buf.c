/* pyc_buf and pyc_error: growth, formatting, truncation of long messages. */
#include "testutil.h"

#include "pyc/buf.h"
#include "pyc/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_buf_grows_and_terminates(void **state)
{
	(void)state;
	pyc_buf b = PYC_BUF_INIT;
	assert_string_equal(pyc_buf_cstr(&b), "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pyc_buf_puts(&b, "abc/"), 0);
	assert_int_equal(b.len, 4000);
	assert_int_equal(b.ptr[b.len], '\0');
	pyc_buf_truncate(&b, 3);
	assert_string_equal(pyc_buf_cstr(&b), "abc");
	assert_int_equal(pyc_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	assert_string_equal(b.ptr, "abc-42-x");
	pyc_buf_dispose(&b);
	assert_null(b.ptr);
}

static void test_buf_printf_long(void **state)
{
	(void)state;
	pyc_buf b = PYC_BUF_INIT;
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pyc_buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.ptr[0], '<');
	assert_int_equal(b.ptr[1000], '>');
	char *owned = pyc_buf_detach(&b);
	assert_null(b.ptr);
	free(owned);
}

static void test_error_message_has_errno_text(void **state)
{
	(void)state;
	pyc_error err = { 0 };
	int rc = pyc_error_set(&err, PYC_EIO, ENOENT, "cannot open '%s'", "a/b.pyc");
	assert_int_equal(rc, PYC_EIO);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_string_equal(err.message, "cannot open 'a/b.pyc': No such file or directory");
	assert_int_equal(pyc_error_set(NULL, PYC_EINVAL, 0, "x"), PYC_EINVAL);
	char big[3000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pyc_error_set(&err, PYC_EIO, 0, "%s", big);
	assert_int_equal(strlen(err.message), PYC_ERROR_MSG_MAX - 1);
	assert_string_equal(err.message + PYC_ERROR_MSG_MAX - 4, "...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_grows_and_terminates),
		cmocka_unit_test(test_buf_printf_long),
		cmocka_unit_test(test_error_message_has_errno_text),
	};
	return tu_run_tests("buf", tests);
}
