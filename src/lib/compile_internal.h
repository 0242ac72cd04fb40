/* compile_internal.h - shared between the compileall source files, not public. */
#ifndef PYC_COMPILE_INTERNAL_H
#define PYC_COMPILE_INTERNAL_H

#include "pyc/compileall.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Compile a Python-syntax -x pattern for rx.search() on paths (any bytes). NULL and err
 * set when it does not compile. Free with pcre2_code_free(). */
pcre2_code *pyc_compileall_rx_compile(const char *pattern, pyc_error *err);

#include "pyc/compile.h"

#include <sys/stat.h>

typedef struct pyc_ca_failcache pyc_ca_failcache;

/* One compileall run for one interpreter (pyc_compileall_run's state). */
typedef struct ca_run {
	const pyc_compileall_opts *o;
	const pyc_interp *in;
	pyc_compileall_event_fn on_event;
	void *ctx;
	pyc_compileall_stats *st;
	pyc_error *err;
	enum pyc_invalidation mode;      /* after the SOURCE_DATE_EPOCH rule */
	int levels[PYC_COMPILEALL_MAX_LEVELS];
	size_t nlevels;
	int maxlevels;
	char *cwd;                       /* for a relative head under a pycache prefix */
	pcre2_code *rx;
	pcre2_match_data *md;
	char *limit_real;                /* -e DIR resolved */
	bool sys_path_mode;
	bool walk_ddir;                  /* 3.7/3.8: -d joined per directory level */
	pyc_pool *pool;                  /* started on the first stale file */
	bool verified;                   /* the probe was re-checked (or did not need it) */
	pyc_ca_failcache *fails;         /* known compile errors, opened on first need */
	bool fails_opened;
	bool stop;                       /* stop walking (fatal error or stale probe) */
	int fatal;                       /* first fatal error code */
} ca_run;

/* One source on its way through the pool. */
typedef struct pyc_ca_item {
	pyc_job job;                     /* first: the pool hands &job back */
	ca_run *run;
	char *fullname;
	char *cfiles[PYC_COMPILEALL_MAX_LEVELS];
	pyc_buf dfile;
	bool has_dfile;
	struct stat st;                  /* the source, taken when judging */
	uint8_t *source;
	size_t source_len;
	uint8_t hash[8];
	bool has_hash;
	enum pyc_compileall_why why;
	uint64_t fail_key;               /* failure-cache key, when the cache is in use */
} pyc_ca_item;

pyc_ca_item *pyc_ca_item_new(ca_run *r, const char *fullname);
void pyc_ca_item_free(pyc_ca_item *it);
/* Read the source (and hash it in hash modes). 1 read, 0 failed (reported), <0 fatal. */
int pyc_ca_read_source(ca_run *r, pyc_ca_item *it);
/* Dry run: report; else read if needed and hand to the pool. Takes ownership of it. */
int pyc_ca_submit(ca_run *r, pyc_ca_item *it);
/* Drain and free the pool. */
int pyc_ca_finish(ca_run *r);
/* The failure cache (compile_failcache.c). open returns NULL when there is no cache. */
pyc_ca_failcache *pyc_ca_failcache_open(void);
uint64_t pyc_ca_failcache_key(const ca_run *r, const char *dfile, const uint8_t *src,
                              size_t len);
const char *pyc_ca_failcache_get(const pyc_ca_failcache *fc, uint64_t key);
void pyc_ca_failcache_put(pyc_ca_failcache *fc, uint64_t key, const char *text);
void pyc_ca_failcache_close(pyc_ca_failcache *fc);

/* Hand an event to the caller. */
void pyc_ca_emit(ca_run *r, pyc_compileall_event *ev);
/* Count and report a failed file. */
void pyc_ca_fail(ca_run *r, const char *path, const char *kind, const char *text);

#endif
