/*
 * out.h - rendering helpers shared by the subcommands.
 *
 * JSON strings are written losslessly for any file name: valid UTF-8 passes through
 * (control characters, '"' and '\\' escaped), and each byte that is not part of valid
 * UTF-8 becomes the lone surrogate \udcXX, exactly Python's os.fsdecode()
 * ("surrogateescape"), so json.loads(line)["path"].encode("utf-8", "surrogateescape")
 * gives back the original bytes. Human output prints names as they are, except that
 * control characters and invalid UTF-8 bytes are shown as \xNN (and '\\' as "\\\\") so
 * one name never spans lines.
 */
#ifndef PYC_CLI_OUT_H
#define PYC_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write s[0..len) as a quoted JSON string. */
/* Length of the valid UTF-8 sequence at s (1-4; at most avail bytes), or 0 if the bytes
 * there are not one (overlong forms, surrogates and values past U+10FFFF are not). */
size_t out_utf8_seq_len(const unsigned char *s, size_t avail);

void out_json_string(FILE *f, const char *s, size_t len);
/* Same for a C string; NULL writes null. */
void out_json_cstr(FILE *f, const char *s);
/* The error record of every --json stream (docs/cli.md "JSON output"): the fields
 * "type":"error","path":PATH,"error":MESSAGE without braces, for a command that adds its
 * own (compile's "python"); PATH may be NULL (null). MESSAGE is the stderr line's text. */
void out_json_error_fields(FILE *f, const char *path, const char *message);
/* The same as one whole line. */
void out_json_error(FILE *f, const char *path, const char *message);
/* Write a name for humans (see above). */
void out_human_path(FILE *f, const char *s);

/* Colours for human output: empty strings unless enabled. */
typedef struct out_style {
	const char *bold, *red, *green, *yellow, *dim, *reset;
} out_style;
out_style out_style_for(bool color);

/* The summary's note that status/clean passed over n environments (default excludes):
 * "; skipped N environment directories (--no-default-excludes)"; nothing when n is 0. */
void out_skipped(FILE *f, uint64_t n);

/* Format n bytes as "1.2 MiB" style text into buf. */
void out_bytes_human(char *buf, size_t cap, uint64_t n);

#endif
