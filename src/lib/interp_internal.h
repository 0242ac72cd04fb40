/*
 * interp_internal.h - what interp.c (the probe and the record codec) offers
 * interp_cache.c (the probe cache), pool.c and the compile stage; not installed. Dependencies run one way:
 * interp_cache.c uses interp.c, never the reverse.
 */
#ifndef PYC_INTERP_INTERNAL_H
#define PYC_INTERP_INTERNAL_H

#include "pyc/interp.h"
#include "pyc/buf.h"

/* One "name LEN:BYTES\n" (or "name -\n") record of the probe / cache format. */
typedef struct pyc_rec {
	const char *name;
	size_t name_len;
	const char *value;  /* NULL for None */
	size_t len;
} pyc_rec;

typedef struct pyc_rec_reader {
	const char *data;
	size_t len, pos;
} pyc_rec_reader;

/* Next record: 1, 0 at the end, -1 when malformed. */
int pyc_interp__rec_next(pyc_rec_reader *r, pyc_rec *out);
bool pyc_interp__rec_is(const pyc_rec *rec, const char *name);
/* Append a record (value NULL = None). */
int pyc_interp__rec_put(pyc_buf *b, const char *name, const void *value, size_t len);

/* Run the probe and collect its raw output. */
int pyc_interp__run_probe(const char *exe, pyc_buf *output, pyc_error *err);
/* Parse raw probe output into *out (zeroed first; disposed on failure). */
int pyc_interp__parse(pyc_interp *out, const char *exe, const char *data, size_t len,
                     pyc_error *err);

/* Whether records in the probe's format (a worker's hello) give in's answers for version
 * (major.minor), magic, tag, optimize and prefix, all five present, before "end". */
bool pyc_interp__same_answer(const pyc_interp *in, const char *data, size_t len);

/* interp_identity.c: the records that describe the exact build (sys.version, ABI flags,
 * free-threading, the resolved executable, libpython) into *out; true for other names. */
bool pyc_interp__build_record(pyc_interp *out, const pyc_rec *rec);
void pyc_interp__build_dispose(pyc_interp *interp);
/* The SHA-256 of a file's content, remembered in the probe cache directory by (device,
 * inode, size, mtime, ctime): *hashed says whether the file was read. 0 or PYC_EIO/ENOMEM. */
int pyc_interp__file_sha256(const char *path, uint8_t out[32], bool *hashed, pyc_error *err);

/* interp_cache.c. Whether exe (searched on PATH) is a pyenv shim: a script that re-selects
 * a version. */
bool pyc_interp__is_pyenv_shim(const char *exe);

#endif
