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

/* A fresh directory under $TMPDIR; caller frees the string and removes the tree. */
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

#endif
