/*
 * importtime_internal.h - what the parts of `importtime` share (importtime_run.c runs the
 * processes, importtime_setup.c prepares the private prefixes and judges the caches).
 */
#ifndef PYC_IMPORTTIME_INTERNAL_H
#define PYC_IMPORTTIME_INTERNAL_H

#include "pyc/buf.h"
#include "pyc/importtime.h"

/* The line the scripts write to stderr before importing the requested modules: what
 * comes before it is the interpreter's start-up. */
#define IT_MARK "@pyc-tool-importtime@"

/* One run's outcome. */
typedef struct it_outcome {
	pyc_buf out, err;   /* stdout (when asked for) and stderr */
	int status;         /* wait status */
	double wall_sec;
} it_outcome;

void pyc_importtime__outcome_dispose(it_outcome *oc);

/* Run argv with envp, capturing stderr (and stdout when want_out). Returns 0 whatever
 * the child's exit status, or PYC_EINTERP / PYC_EIO / PYC_ENOMEM. */
int pyc_importtime__capture(it_outcome *oc, char *const argv[], char *const envp[], bool want_out,
               pyc_error *err);

/* The text after the marker line (the whole text when there is none). */
const char *pyc_importtime__after_mark(const pyc_buf *b, size_t *len);

/* A failed child's complaint: its last non-empty line of stderr, into err. */
int pyc_importtime__child_failed(pyc_error *err, const it_outcome *oc, const char *what);

/* Temporary directory with `empty` and `fresh` in it; the private prefixes. */
typedef struct it_dirs {
	char *root, *empty, *fresh;
} it_dirs;

int pyc_importtime__dirs_make(it_dirs *d, pyc_error *err);
/* Remove the whole tree (never following symlinks) and free the names. */
void pyc_importtime__dirs_remove(it_dirs *d);

/* Which modules load from source files (module \t path lines from the discovery run)
 * into r->sources, sorted by module name. */
int pyc_importtime__sources_parse(pyc_importtime_result *r, const char *text, size_t len);

/* Compile every source into `prefix` with pyc-tool's compile engine. */
int pyc_importtime__compile_fresh(const pyc_importtime_result *r, const pyc_interp *interp,
                     const char *prefix, unsigned jobs, pyc_error *err);

/* Judge the user's cache of every source and measure the caches' sizes. */
int pyc_importtime__judge_sources(pyc_importtime_result *r, const pyc_interp *interp, const char *fresh);

#endif
