/* compileall_internal.h - shared between the compileall source files, not public. */
#ifndef PYC_COMPILEALL_INTERNAL_H
#define PYC_COMPILEALL_INTERNAL_H

#include "pyc/compileall.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Compile a Python-syntax -x pattern for rx.search() on paths (any bytes). NULL and err
 * set when it does not compile. Free with pcre2_code_free(). */
pcre2_code *pyc_compileall__rx_compile(const char *pattern, pyc_error *err);

#include "pyc/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

typedef struct pyc_ca_failcache pyc_ca_failcache;
typedef struct pyc_ca_item pyc_ca_item;

/* An open directory shared by its queued files, so their checks use *at() calls (a path
 * walk of one component instead of the whole path). Closed by the last reference. */
typedef struct ca_dir {
	int fd;
	atomic_int refs;
} ca_dir;

ca_dir *pyc_compileall__dir_new(int fd);
ca_dir *pyc_compileall__dir_ref(ca_dir *d);
void pyc_compileall__dir_unref(ca_dir *d);

/* The ordered scan queue (compileall_scan.c): the walk appends items in compileall's order,
 * helper threads judge the files' freshness (stat + header reads, the bulk of a no-op
 * run), the main thread consumes the items in order (events, submissions). */
typedef struct ca_queue {
	pyc_ca_item **ring;
	size_t mask;                     /* capacity - 1 (a power of two) */
	size_t head, filled;             /* main thread only: consume / append positions */
	size_t next, tail;               /* under mu: claim position, end published to helpers */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	unsigned sleepers;               /* under mu: helpers waiting for work */
	_Atomic(pyc_ca_item *) awaited;  /* the item the main thread sleeps on, or NULL */
	pthread_t threads[8];
	unsigned nthreads;
	bool quit, started;
	pyc_buf scratch[PYC_COMPILEALL_MAX_LEVELS];  /* the main thread's check buffers */
} ca_queue;

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
	ca_queue q;
} ca_run;

enum ca_item_kind { CA_ITEM_FILE, CA_ITEM_LISTING, CA_ITEM_CANT_LIST, CA_ITEM_SKIP_CURDIR };

/* One walk record; for a source, its way through the check, the pool and the writer. */
struct pyc_ca_item {
	pyc_job job;                     /* first: the pool hands &job back */
	enum ca_item_kind kind;
	char *fullname;                  /* FILE: the source; else the directory */
	int sys_errno;                   /* CANT_LIST */
	/* set when queued (main thread) */
	char *ddir;                      /* compile_file's ddir (owned copy) */
	const char *stripdir, *prependdir;
	bool excluded;                   /* -x matched */
	ca_dir *dir;                     /* the directory holding it (NULL: use full paths) */
	size_t dirlen;                   /* fullname + dirlen is the name inside dir */
	/* set by the check (any thread) */
	atomic_bool checked;             /* published last, with release order */
	bool candidate;                  /* a regular file named *.py, not excluded */
	int cache_err;                   /* the cache path could not be computed */
	int read_errno;                  /* hash modes: the source could not be read */
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
};

pyc_ca_item *pyc_compileall__item_new(const char *fullname);
void pyc_compileall__item_free(pyc_ca_item *it);
/* Read the source (and hash it in hash modes); thread-safe. 0 or an errno value. */
int pyc_compileall__load_source(const ca_run *r, pyc_ca_item *it);
/* Same, reporting a failure (main thread). 1 read, 0 failed (reported). */
int pyc_compileall__read_source(ca_run *r, pyc_ca_item *it);
/* The freshness check of one queued item; thread-safe, with the calling thread's own
 * PYC_COMPILEALL_MAX_LEVELS scratch buffers (compileall.c). */
void pyc_compileall__check(const ca_run *r, pyc_ca_item *it, pyc_buf *scratch);
/* Consume one checked item in walk order: events, submission (compileall.c). */
int pyc_compileall__consume(ca_run *r, pyc_ca_item *it);
/* The queue (compileall_scan.c). start never fails (no threads = check inline). */
int pyc_compileall__queue_start(ca_run *r);
int pyc_compileall__queue_push(ca_run *r, pyc_ca_item *it);
/* Consume everything queued so far (releases the directories the items hold). */
int pyc_compileall__queue_flush(ca_run *r);
/* Consume everything queued, then stop the helper threads. */
int pyc_compileall__queue_finish(ca_run *r);
/* Dry run: report; else read if needed and hand to the pool. Takes ownership of it. */
int pyc_compileall__submit(ca_run *r, pyc_ca_item *it);
/* Open the source's directory (*srcfd) and, below it without following symlinks or
 * below the pycache prefix, the directory of its cache files (*cachefd); compile_dest.c.
 * Returns 0 or <0 (err names the path; PYC_EUNSAFE for a symlink on the way). */
int pyc_compileall__open_dests(const ca_run *r, const pyc_ca_item *it, int *srcfd, int *cachefd,
                      pyc_error *err);
/* Drain and free the pool. */
int pyc_compileall__finish(ca_run *r);
/* The failure cache (compileall_failcache.c). open returns NULL when there is no cache. */
pyc_ca_failcache *pyc_compileall__failcache_open(void);
uint64_t pyc_compileall__failcache_key(const ca_run *r, const char *dfile, const uint8_t *src,
                              size_t len);
const char *pyc_compileall__failcache_get(const pyc_ca_failcache *fc, uint64_t key);
void pyc_compileall__failcache_put(pyc_ca_failcache *fc, uint64_t key, const char *text);
void pyc_compileall__failcache_close(pyc_ca_failcache *fc);

/* Hand an event to the caller. */
void pyc_compileall__emit(ca_run *r, pyc_compileall_event *ev);
/* Count and report a failed file. */
void pyc_compileall__fail(ca_run *r, const char *path, const char *kind, const char *text);

#endif
