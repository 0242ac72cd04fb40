/*
 * compileall_internal.h - the stages of the compile engine, not public.
 *
 * pyc_compileall_run is a one-way pipeline (docs/compile-engine.md, "The pipeline"):
 *
 *     walk ──> ordered queue ──> freshness ──> cache lookup ──> worker pool ──> write
 *   (main)    (compileall_queue.c) (helpers)     (helpers+main)  (main)          (main)
 *
 * Each stage has its own state struct and file, reads the run's fixed settings (ca_cfg),
 * hands an item to the next stage and reports to the sink (ca_sink: events, counters);
 * nothing calls back up. An item that a stage settles (up to date, failed, a hit) goes
 * straight to the write stage or the sink.
 */
#ifndef PYC_COMPILEALL_INTERNAL_H
#define PYC_COMPILEALL_INTERNAL_H

#include "pyc/compileall.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pyc/marshal.h"
#include "pyc/pool.h"
#include "pyc/remote.h"
#include "pyc/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

/* Compile a Python-syntax -x pattern for rx.search() on paths (any bytes). NULL and err
 * set when it does not compile. Free with pcre2_code_free(). compileall_opts.c. */
pcre2_code *pyc_compileall__rx_compile(const char *pattern, pyc_error *err);

/* The run's settings, fixed before the first item: every stage reads them, from any
 * thread. */
typedef struct ca_cfg {
	const pyc_compileall_opts *o;
	const pyc_interp *in;
	enum pyc_invalidation mode;      /* after the SOURCE_DATE_EPOCH rule */
	int levels[PYC_COMPILEALL_MAX_LEVELS];
	size_t nlevels;
	int maxlevels;
	char *cwd;                       /* for a relative head under a pycache prefix */
	char *limit_real;                /* -e DIR resolved */
} ca_cfg;

/* The pipeline's output end (main thread only): the caller's events and counters, and
 * the run's fatal error, which also stops the walk. compileall_sink.c. */
typedef struct ca_sink {
	pyc_compileall_event_fn on_event;
	void *ctx;
	pyc_compileall_stats *st;
	pyc_error *err;
	int fatal;                       /* first fatal error code */
	bool stop;                       /* stop walking (fatal error or stale probe) */
} ca_sink;

void pyc_compileall__emit(ca_sink *s, pyc_compileall_event *ev);
/* Count and report a failed file. */
void pyc_compileall__fail(ca_sink *s, const char *path, const char *kind, const char *text);
/* Record a fatal error (the first one wins) and stop the walk; returns rc. */
int pyc_compileall__stop(ca_sink *s, int rc);

/* ---- Items (compileall_item.c) ---- */

/* An open directory shared by its queued files, so their checks use *at() calls (a path
 * walk of one component instead of the whole path). Closed by the last reference. */
typedef struct ca_dir {
	int fd;
	atomic_int refs;
} ca_dir;

ca_dir *pyc_compileall__dir_new(int fd);
ca_dir *pyc_compileall__dir_ref(ca_dir *d);
void pyc_compileall__dir_unref(ca_dir *d);

enum ca_item_kind { CA_ITEM_FILE, CA_ITEM_LISTING, CA_ITEM_CANT_LIST, CA_ITEM_SKIP_CURDIR };

/* One walk record; for a source, its way through the stages. */
typedef struct pyc_ca_item {
	pyc_job job;                     /* first: the pool hands &job back; also the result
	                                    of a hit (status, bodies or error text) */
	enum ca_item_kind kind;
	char *fullname;                  /* FILE: the source; else the directory */
	int sys_errno;                   /* CANT_LIST */
	bool sys_path_mode;              /* CANT_LIST: an absent sys.path entry */
	/* set by the walk (main thread) */
	char *ddir;                      /* compile_file's ddir (owned copy) */
	const char *stripdir, *prependdir;
	bool excluded;                   /* -x matched */
	ca_dir *dir;                     /* the directory holding it (NULL: use full paths) */
	size_t dirlen;                   /* fullname + dirlen is the name inside dir */
	/* set by the freshness stage (any thread) */
	int dfile_rc;                    /* pyc_compileall_dfile's result */
	bool strip_ignored;              /* 3.13 warns that -s is not a prefix */
	pyc_buf dfile;
	bool has_dfile;
	bool candidate;                  /* a regular file named *.py, not excluded */
	int cache_err;                   /* the cache path could not be computed */
	int read_errno;                  /* the source could not be read */
	char *cfiles[PYC_COMPILEALL_MAX_LEVELS];
	struct stat st;                  /* the source, taken when judging */
	uint8_t *source;
	size_t source_len;
	uint8_t hash[8];
	bool has_hash;
	enum pyc_compileall_why why;
	/* set by the lookup stage */
	enum pyc_compileall_cache cache; /* HIT: job holds a stored result */
	bool by_path;                    /* its entry is keyed with the dfile */
	bool portable;                   /* the dfile can be re-targeted to (UTF-8) */
	bool keep_template;              /* the path-less entry's texts are templates that
	                                    cannot be expanded to this dfile: no marker */
	pyc_store_key key;               /* the path-less key */
	bool remote_hit;                 /* HIT: the entry came from a remote */
	/* set by the pool stage */
	double submitted, compile_seconds;
} pyc_ca_item;

pyc_ca_item *pyc_compileall__item_new(const char *fullname);
void pyc_compileall__item_free(pyc_ca_item *it);
/* The dfile the pool compiles in (the source path when compileall passes None). */
const char *pyc_compileall__item_dfile(const pyc_ca_item *it);
/* Read the source (and hash it in hash modes); thread-safe. 0 or an errno value. */
int pyc_compileall__load_source(const ca_cfg *c, pyc_ca_item *it);
/* Same, reporting a failure (main thread). 1 read, 0 failed (reported). */
int pyc_compileall__read_source(const ca_cfg *c, ca_sink *s, pyc_ca_item *it);

/* ---- The ordered queue (compileall_queue.c) ----
 *
 * A producer pushes items in order; helper threads (and the pushing thread while it
 * waits) judge them with ops.check, in any order; the pushing thread consumes them
 * strictly in push order with ops.consume. After a consume error the remaining items go
 * to ops.drop instead, each exactly once. Items are opaque to the queue. */
typedef struct ca_queue_ops {
	/* Judge one item (any thread); local is that thread's own ops.local_size bytes,
	 * zeroed at thread start and released with local_dispose (may be NULL). */
	void (*check)(void *ctx, void *item, void *local);
	/* Consume one judged item (the pushing thread, push order); <0 stops consuming. */
	int (*consume)(void *ctx, void *item);
	/* Release an item that is not consumed (after an error). */
	void (*drop)(void *ctx, void *item);
	void (*local_dispose)(void *local);
	size_t local_size;
	void *ctx;
} ca_queue_ops;

typedef struct ca_slot {
	void *item;
	atomic_bool checked;             /* published last, with release order */
} ca_slot;

typedef struct ca_queue {
	ca_queue_ops ops;
	ca_slot *ring;
	size_t mask;                     /* capacity - 1 (a power of two) */
	size_t head, filled;             /* pushing thread only: consume / append positions */
	size_t next, tail;               /* under mu: claim position, end published to helpers */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	unsigned sleepers;               /* under mu: helpers waiting for work */
	_Atomic(ca_slot *) awaited;      /* the slot the pushing thread sleeps on, or NULL */
	pthread_t threads[8];
	unsigned nthreads;
	int rc;                          /* first consume error */
	bool quit, started;
	void *local;                     /* the pushing thread's check state */
} ca_queue;

/* Helper threads worth starting for `jobs` worker slots: one per core besides the main
 * thread, none for -j1 (compileall's sequential mode), at most 7; with remote caches,
 * whose lookups wait on the network rather than use a core, 8 (but none for -j1). */
unsigned pyc_compileall__queue_helpers(unsigned jobs, bool remote);
/* Start with up to `helpers` threads (fewer if they cannot start: same results). Returns
 * 0 or PYC_ENOMEM. */
int pyc_compileall__queue_start(ca_queue *q, const ca_queue_ops *ops, unsigned helpers);
/* Append one item; may consume earlier ones first (room is bounded). Returns the first
 * consume error so far, or 0. */
int pyc_compileall__queue_push(ca_queue *q, void *item);
/* Consume everything pushed so far. */
int pyc_compileall__queue_flush(ca_queue *q);
/* Items pushed and not consumed yet, the one being consumed excepted (pushing thread):
 * an upper bound of the compiles still to come, or SIZE_MAX when the queue streams (no
 * helpers: each item is consumed as soon as it is pushed, so nothing is known ahead). */
size_t pyc_compileall__queue_waiting(const ca_queue *q);
/* Consume everything, then stop the helpers and free the queue. */
int pyc_compileall__queue_finish(ca_queue *q);

/* ---- The walk (compileall_walk.c): compileall's order, into the queue ---- */
typedef struct ca_walk {
	const ca_cfg *cfg;
	ca_queue *q;
	const bool *stop;                /* the sink's stop flag */
	pcre2_code *rx;
	pcre2_match_data *md;
	bool sys_path_mode;
	bool walk_ddir;                  /* 3.7/3.8: -d joined per directory level */
	size_t *found;                   /* progress: the stats' sources found so far, or NULL */
} ca_walk;

/* Set up -x; 0 or <0 with err set. */
int pyc_compileall__walk_init(ca_walk *w, const ca_cfg *cfg, ca_queue *q, const bool *stop,
                              pyc_error *err);
/* Walk every FILE|DIR argument, or sys.path when there is none. */
int pyc_compileall__walk(ca_walk *w);
void pyc_compileall__walk_dispose(ca_walk *w);

/* ---- Freshness (compileall_fresh.c) ---- */
/* The dfile and the freshness verdict of one queued item; thread-safe, with the calling
 * thread's own PYC_COMPILEALL_MAX_LEVELS scratch buffers. Reads a stale source. */
void pyc_compileall__check(const ca_cfg *c, pyc_ca_item *it, pyc_buf *scratch);
/* A name compileall would compile: its base name is at least 3 bytes, ending in ".py". */
bool pyc_compileall__is_py_name(const char *fullname);

/* ---- The cache lookup (compileall_lookup.c, compileall_record.c) ---- */

/* Bytes inside a store value. */
typedef struct ca_span {
	const uint8_t *p;
	size_t len;
} ca_span;

/* A parsed store value (compileall_record.c: the format), pointing into the value. */
typedef struct ca_record {
	char kind;                       /* 'B' bodies, 'E' compile error, 'P' by path */
	size_t n;                        /* B: bodies, one per level kept */
	ca_span body[PYC_JOB_MAX_LEVELS];
	pyc_marshal_slot slot[PYC_JOB_MAX_LEVELS];
	ca_span error_type, error_text;  /* E */
	ca_span warnings;                /* B, E */
	bool templated;                  /* B, E: the texts are templates (stored 'T', 'F') */
} ca_record;

/* Encode a record into *out (replacing its contents). 0 or PYC_ENOMEM. */
int pyc_compileall__record_bodies(pyc_buf *out, const pyc_buf *bodies, size_t n,
                                  const pyc_marshal_slot *slots, const pyc_buf *warnings,
                                  bool templated);
int pyc_compileall__record_error(pyc_buf *out, const pyc_buf *type, const pyc_buf *text,
                                 const pyc_buf *warnings, bool templated);
int pyc_compileall__record_marker(pyc_buf *out);
/* Parse a value: 0, or PYC_EINVAL when it is not one whole record. */
int pyc_compileall__record_parse(ca_record *r, const uint8_t *v, size_t len);

/* Texts that name the dfile, re-targetable to any path (compileall_retarget.c). */
/* Whether it's dfile can be put into (taken out of) a text exactly. */
bool pyc_compileall__text_portable(const pyc_ca_item *it);
/* text with it's dfile replaced by a placeholder into out: 1 done, 0 not provably exact
 * (keep the entry by path), PYC_ENOMEM. */
int pyc_compileall__text_template(const pyc_ca_item *it, const pyc_buf *text, pyc_buf *out);
/* A template with it's dfile put back into out: 0, PYC_EINVAL (not portable), PYC_ENOMEM. */
int pyc_compileall__text_expand(const pyc_ca_item *it, ca_span tmpl, pyc_buf *out);

typedef struct ca_lookup {
	const ca_cfg *cfg;
	pthread_mutex_t mu;
	atomic_bool ready;               /* the store was opened (or found unusable) */
	pyc_store *store;                /* NULL: no store this run */
	pyc_remotes *remotes;            /* NULL: none this run */
	pyc_buf identity;                /* the compiler, for the keys */
	bool utf8_fs;                    /* dfile bytes are co_filename's UTF-8 */
	char *seed;                      /* PYTHONHASHSEED, where the bytes depend on it */
	pyc_buf env;                     /* the workers' environment that changes what a
	                                    compile gives (compileall_lookup.c, worker_env) */
	pyc_buf warning;                 /* under mu: why the store is not used */
	bool warned;                     /* main thread: a warning was reported */
	pyc_buf remote_warning;          /* main thread: a remote's warning */
	pyc_buf scratch;                 /* main thread: record encoding */
} ca_lookup;

void pyc_compileall__lookup_init(ca_lookup *l, const ca_cfg *cfg);
/* Any thread, after the check of a stale item whose source is read: with a store, its
 * key, and on a hit its result (re-targeted to its dfile) in it->job. Sets it->cache. */
void pyc_compileall__lookup(ca_lookup *l, pyc_ca_item *it);
/* Main thread, in order: reports a store problem (once), then true when it->job holds a
 * stored result, which goes to the write stage instead of the pool. */
bool pyc_compileall__lookup_resolve(ca_lookup *l, ca_sink *s, pyc_ca_item *it);
/* Keep what the pool made of a miss (the write stage calls it; main thread). */
void pyc_compileall__lookup_record(ca_lookup *l, ca_sink *s, const pyc_ca_item *it);
void pyc_compileall__lookup_dispose(ca_lookup *l);

/* ---- The write stage (compileall_write.c, compileall_dest.c) ---- */
typedef struct ca_writer {
	const ca_cfg *cfg;
	ca_sink *sink;
	ca_lookup *store;                /* where a miss's result is recorded */
	/* The last file's directories, kept open for the next file of the same directory
	 * (the walk's order keeps them together): its source directory and cache directory
	 * paths, and their fds (-1 or 0 before the first: `open` says which). */
	pyc_buf src_dir, cache_dir;
	int srcfd, cachefd;
	bool open;
} ca_writer;

/* Write a finished item's pycs (job.status 0) or report its failure; takes ownership. */
void pyc_compileall__write(ca_writer *w, pyc_ca_item *it);
/* Close the directories the writer keeps. */
void pyc_compileall__write_dispose(ca_writer *w);
/* Open the source's directory (*srcfd) and, below it without following symlinks or
 * below the pycache prefix, the directory of its cache files (*cachefd).
 * Returns 0 or <0 (err names the path; PYC_EUNSAFE for a symlink on the way). */
int pyc_compileall__open_dests(const ca_cfg *c, const pyc_ca_item *it, int *srcfd,
                               int *cachefd, pyc_error *err);

/* ---- The worker pool stage (compileall_compile.c) ---- */
typedef struct ca_compiler {
	const ca_cfg *cfg;
	ca_sink *sink;
	ca_writer *writer;               /* where results go */
	pyc_pool *pool;                  /* started on the first miss */
	size_t backlog;                  /* queued items behind the current one (the pool's
	                                    pyc_pool_expect), SIZE_MAX when unknown */
	bool verified;                   /* the probe was re-checked (or did not need it) */
} ca_compiler;

/* The compiles the pool makes for each file (pyc_compileall_sequence): levels in order,
 * and which of them only make a pyc a later one overwrites (PYC_COMPILEALL_MAX_COMPILES
 * each). */
size_t pyc_compileall__sequence(const ca_cfg *c, int *seq, bool *discard);
/* Hand a stale item to the pool (its result goes to the writer); takes ownership.
 * Returns 0 or a fatal error (also recorded in the sink). */
int pyc_compileall__compile(ca_compiler *c, pyc_ca_item *it);
/* Drain and free the pool. */
int pyc_compileall__compile_finish(ca_compiler *c);

#endif
