/*
 * pyout.h - text printed as a target interpreter's print() would print it.
 *
 * compileall's lines are Python str objects: file names decoded with the interpreter's
 * file-system encoding (surrogateescape), shown with repr(), then encoded by sys.stdout
 * with its encoding and error handler. Both depend on the locale and on PEP 538/540
 * (3.7+), so they come from the probe (pyc_interp), not from rules derived here.
 * Encodings known exactly: UTF-8, ASCII, Latin-1; any other is treated as UTF-8.
 */
#ifndef PYC_CLI_PYOUT_H
#define PYC_CLI_PYOUT_H

#include <stdio.h>

typedef struct pyc_interp pyc_interp;

typedef struct pyout_enc {
	int fs;         /* PYOUT_UTF8 / PYOUT_ASCII / PYOUT_LATIN1 */
	int out;        /* same, for sys.stdout */
	int errors;     /* PYOUT_STRICT / PYOUT_SURROGATEESCAPE / ... */
} pyout_enc;

enum { PYOUT_UTF8, PYOUT_ASCII, PYOUT_LATIN1 };
enum { PYOUT_STRICT, PYOUT_SURROGATEESCAPE, PYOUT_BACKSLASHREPLACE, PYOUT_REPLACE,
       PYOUT_IGNORE };

/* The encodings `in` reported (UTF-8 and strict for what it did not report). */
void pyout_enc_for(pyout_enc *e, const pyc_interp *in);

/* print(repr(os.fsdecode(name)), end='') */
void pyout_repr(FILE *f, const pyout_enc *e, const char *name);

/* print(os.fsdecode(name), end='') */
void pyout_str(FILE *f, const pyout_enc *e, const char *name);

/* compileall's error message: msg (UTF-8) escaped with backslashreplace to what the stdout
 * encoding can hold, then printed: print(msg.encode(enc, 'backslashreplace').decode(enc)) */
void pyout_msg(FILE *f, const pyout_enc *e, const char *utf8);

#endif
