/*
 * scan_internal.h - the scanner's state, shared by scan.c (the walk and the verdicts),
 * scan_setup.c (options, prefix mirror, lifetime) and scan_par.c (whole subtrees scanned
 * on worker threads, records handed out in walk order). Not a public header.
 */
#ifndef PYC_SCAN_INTERNAL_H
#define PYC_SCAN_INTERNAL_H

#include "pyc/buf.h"
#include "pyc/scan.h"
#include "pyc/walk.h"

#define PYCACHE_SLASH "__pycache__/"
#define PYCACHE_SLASH_LEN 12
#define SCAN_MAX_LEVELS 16

enum scan_phase { PHASE_TREE, PHASE_PREFIX, PHASE_DONE };

/* What a scan was asked for: set up once, shared read-only by its sub-scans. */
struct scan_cfg {
	char *root;
	char *cwd;                 /* only with a prefix */
	char *prefix;              /* NULL when none */
	char *mirror;              /* prefix + abspath(root): where the root's caches go */
	size_t mirror_len;
	char *prefix_abs;          /* absolute prefix without trailing '/', skipped in the tree */
	bool target;
	char *tag;                 /* target tag, NULL for a tagless target */
	int levels[SCAN_MAX_LEVELS];
	size_t nlevels;
	char **excludes;
	size_t nexcludes;
	unsigned walk_flags;
	unsigned threads;
};

struct scan_par;
struct par_task;

struct pyc_scan {
	pyc_walker *w;
	enum scan_phase phase;
	bool root_is_dir;
	const struct scan_cfg *cfg;   /* &own, or the top scan's for a sub-scan */
	struct scan_cfg own;
	struct scan_par *par;         /* the top scan: its worker threads, when it has them */
	struct par_task *task;        /* a sub-scan: the subtree it runs, on a worker */
	const pyc_walk_entry *pending;  /* a source still to be checked for MISSING */
	size_t pending_level;
	pyc_buf path, source, tmp, msg;
	char tagbuf[64];
	char optbuf[32];
	pyc_scan_record rec;
	pyc_error err;
	size_t skipped;               /* environments skipped by this scan's own walks */
};

int pyc_scan__open_walker(pyc_scan *s, const char *root);
/* After the tree: s->w walks the root's prefix mirror (or the scan is done). Returns 1
 * with an error record, 0, or PYC_ENOMEM. */
int pyc_scan__end_of_walk(pyc_scan *s);
/* Is the parent of the entry at `path`, whose last component starts at path[name_off],
 * a directory named __pycache__? */
bool pyc_scan__in_pycache(const char *path, size_t name_off);
/* Is this directory of the tree the pycache prefix itself (walked separately)? */
bool pyc_scan__is_prefix_dir(const struct scan_cfg *c, const char *path);

/* A scan of the subtree walked by w (owned), for worker task t; borrows top's config. */
int pyc_scan__sub_new(pyc_scan **out, const pyc_scan *top, pyc_walker *w, enum scan_phase phase,
                 struct par_task *t);

/* scan_par.c. Start worker threads if the options and the root allow (0 or PYC_ENOMEM);
 * stop them and free every task (NULL par: no-op). */
int pyc_scan__par_start(pyc_scan *s);
void pyc_scan__par_stop(pyc_scan *s);
/* The parallel pyc_scan_next(). */
int pyc_scan__par_next(pyc_scan *s, const pyc_scan_record **out);
/* In a sub-scan: w just returned the directory handed to another task (cookie); put
 * that task's records here in this one's output. 0 or PYC_ENOMEM. */
int pyc_scan__par_child(pyc_scan *s, void *cookie);
/* In a sub-scan: hand a subtree over if a worker is idle. 0 or PYC_ENOMEM. */
int pyc_scan__par_offer(pyc_scan *s);
/* Count n directories skipped by a walk of s: in s, or for a sub-scan in its top scan
 * (from any thread). */
void pyc_scan__add_skipped(pyc_scan *s, size_t n);
/* Tests, before the first pyc_scan_next(): small buffers and task limits, so that every
 * waiting path runs; reader_first makes the reader start every task it reaches queued. */
struct scan_par_tuning {
	size_t chunk_bytes, task_cap_bytes;
	unsigned max_tasks;
	bool reader_first;
};
void pyc_scan__par_tune(pyc_scan *s, const struct scan_par_tuning *t);
/* Tests: tasks made and tasks the reader ran itself so far (0 when sequential). */
void pyc_scan__par_counts(const pyc_scan *s, unsigned *tasks, unsigned *ran_inline);

#endif
