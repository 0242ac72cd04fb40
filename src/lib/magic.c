/*
 * magic.c - the CPython magic-number table (include/pyc/magic.h).
 *
 * The rows live in magic_table.inc, generated from tests/fixtures/vectors.tsv by
 * tests/fixtures/gen_magic_table.py; the derivation rules are in docs/pyc-format.md.
 */
#include "pyc/magic.h"

#include <string.h>

#include "magic_table.inc"

#define N_ROWS (sizeof(magic_rows) / sizeof(magic_rows[0]))
#define N_INDEX (sizeof(magic_index) / sizeof(magic_index[0]))

size_t pyc_magic_count(void)
{
	return N_ROWS;
}

const pyc_magic_info *pyc_magic_at(size_t i)
{
	return i < N_ROWS ? &magic_rows[i] : NULL;
}

const pyc_magic_info *pyc_magic_lookup(uint16_t number)
{
	size_t lo = 0, hi = N_INDEX;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (magic_index[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < N_INDEX && magic_index[lo].number == number)
		return &magic_rows[magic_index[lo].row];
	return NULL;
}

const pyc_magic_info *pyc_magic_for_version(int major, int minor)
{
	const pyc_magic_info *found = NULL;

	/* The last final row wins, so 3.5 gives 3351 (what 3.5.3+ writes). */
	for (size_t i = 0; i < N_ROWS; i++) {
		const pyc_magic_info *m = &magic_rows[i];
		if (m->is_final && m->major == major && m->minor == minor)
			found = m;
	}
	return found;
}

const pyc_magic_info *pyc_magic_for_tag(const char *tag)
{
	static const char prefix[] = "cpython-";
	const size_t plen = sizeof(prefix) - 1;

	if (tag == NULL || strncmp(tag, prefix, plen) != 0)
		return NULL;
	const pyc_magic_info *found = NULL;
	for (size_t i = 0; i < N_ROWS; i++) {
		const pyc_magic_info *m = &magic_rows[i];
		if (m->is_final && m->cache_tag != NULL && strcmp(m->cache_tag, tag) == 0)
			found = m;
	}
	return found;
}
