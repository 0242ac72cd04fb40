/*
 * fuzz_marshal: the co_filename walker (pyc/marshal.h) on arbitrary bodies.
 *
 * Input: byte 0 picks the version (3.6 + byte % 8), byte 1 a second name, the rest is the
 * body. Invariants:
 *  - find returns 0 or a documented error, and never reads outside the body (ASan: libFuzzer
 *    hands over exactly `size` bytes);
 *  - when find succeeds, the slot lies in the body; re-targeting to the name it holds gives
 *    the original bytes; re-targeting to another name, then finding again, gives that name
 *    back, and re-targeting that to the first name gives the original bytes again;
 *  - check_clash agrees with find on the body.
 */
#include "fuzz.h"

#include "pyc/marshal.h"

#include <stdlib.h>
#include <string.h>

static char long_ascii[300], len255[255], len256[256];

/* One of each type marshal picks for a str, and the empty one. */
static const char *const names[] = { "/srv/m.py", "", len255, len256, long_ascii,
                                     "/tmp/\xc3\xbc/n\xc3\xa4me.py", "/tmp/\xed\xb3\xbf.py",
                                     "clash_target" };
static size_t name_len(size_t i)
{
	return names[i] == len255 ? 255 : names[i] == len256 ? 256 :
	       names[i] == long_ascii ? sizeof(long_ascii) : strlen(names[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	memset(long_ascii, 'l', sizeof(long_ascii));
	memset(len255, 'a', sizeof(len255));
	memset(len256, 'b', sizeof(len256));
	return 0;
}

static bool same(const pyc_buf *b, const uint8_t *data, size_t size)
{
	return b->len == size && (size == 0 || memcmp(b->ptr, data, size) == 0);
}

static void check_found(const uint8_t *body, size_t len, int minor, const pyc_marshal_slot *slot,
                        size_t other)
{
	pyc_buf name = PYC_BUF_INIT, out = PYC_BUF_INIT, back = PYC_BUF_INIT, again = PYC_BUF_INIT;
	FUZZ_CHECK(slot->offset < len && slot->length <= len - slot->offset);
	FUZZ_CHECK(pyc_marshal_slot_name(body, len, slot, &name, NULL) == 0);
	FUZZ_CHECK(pyc_marshal_retarget(body, len, slot, name.ptr, name.len, &out, NULL) == 0);
	FUZZ_CHECK(same(&out, body, len));

	pyc_buf_clear(&out);
	FUZZ_CHECK(pyc_marshal_retarget(body, len, slot, names[other], name_len(other), &out,
	                                NULL) == 0);
	pyc_marshal_slot moved;
	FUZZ_CHECK(pyc_marshal_find_filename((const uint8_t *)out.ptr, out.len, minor, &moved,
	                                     NULL) == 0);
	FUZZ_CHECK(moved.offset == slot->offset);
	FUZZ_CHECK(pyc_marshal_slot_name((const uint8_t *)out.ptr, out.len, &moved, &again,
	                                 NULL) == 0);
	FUZZ_CHECK(same(&again, (const uint8_t *)names[other], name_len(other)));
	FUZZ_CHECK(pyc_marshal_retarget((const uint8_t *)out.ptr, out.len, &moved, name.ptr,
	                                name.len, &back, NULL) == 0);
	FUZZ_CHECK(same(&back, body, len));

	bool clash;
	FUZZ_CHECK(pyc_marshal_check_clash(body, len, minor, slot, names[other], name_len(other),
	                                   PYC_MARSHAL_CLASH_ANY, &clash, NULL) == 0);
	pyc_buf_dispose(&name), pyc_buf_dispose(&out), pyc_buf_dispose(&back);
	pyc_buf_dispose(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int minor = 6 + data[0] % 8;
	size_t other = data[1] % (sizeof(names) / sizeof(names[0]));
	const uint8_t *body = data + 2;
	size_t len = size - 2;

	pyc_marshal_slot slot = { 0, 0 };
	pyc_error err = { 0 };
	int rc = pyc_marshal_find_filename(body, len, minor, &slot, &err);
	FUZZ_CHECK(rc == 0 || rc == PYC_ETRUNCATED || rc == PYC_EINVAL || rc == PYC_EUNSUPPORTED);
	FUZZ_CHECK(rc == 0 || (err.code == rc && err.message[0] != '\0'));
	if (rc == 0) {
		check_found(body, len, minor, &slot, other);
	} else {
		bool clash;
		FUZZ_CHECK(pyc_marshal_check_clash(body, len, minor, &slot, "x", 1, 0, &clash,
		                                   NULL) == rc);
	}
	return 0;
}
