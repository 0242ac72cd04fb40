/*
 * scan_internal.h - the scanner's state, shared by scan.c (the walk and the verdicts)
 * and scan_setup.c (options, prefix mirror, lifetime). Not a public header.
 */
#ifndef PYC_SCAN_INTERNAL_H
#define PYC_SCAN_INTERNAL_H

#include "pyc/buf.h"
#include "pyc/scan.h"
#include "pyc/walk.h"
#include "fanout.h"

#define PYCACHE_SLASH "__pycache__/"
#define PYCACHE_SLASH_LEN 12
#define SCAN_MAX_LEVELS 16

enum scan_phase { PHASE_TREE, PHASE_PREFIX, PHASE_DONE };

/* One cache of the directory being batched; strings are offsets into the batch arena. */
struct scan_item {
	size_t path, source, tag, opt;
	size_t cname, sname;          /* names handed to pyc_stale_check, relative to the fds */
	int cdirfd, sdirfd;
	enum pyc_scan_where where;
	bool bad_name;
	int rc;                       /* pyc_stale_check()'s result */
	pyc_error *err;               /* its details when rc < 0 (allocated) */
	pyc_verdict v;
};

/*
 * The caches of one directory are collected, judged together (fanned out to helper threads: the checks
 * are syscall-bound and independent), then handed out in walk order. The walk runs with
 * PYC_WALK_POSTORDER so the directory's DIR_POST ends the batch while its fd and its
 * parent's are still open.
 */
struct scan_batch {
	struct scan_item *items;
	size_t n, cap;
	pyc_buf arena;
	int dirfd;                    /* the walker's fd of the directory being batched */
	unsigned depth;
	size_t emit;                  /* next item to hand out once judged */
	bool judged;
};

struct pyc_scan {
	pyc_walker *w;
	enum scan_phase phase;
	char *root;
	bool root_is_dir;
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
	const pyc_walk_entry *pending;  /* a source still to be checked for MISSING */
	size_t pending_level;
	struct scan_batch batch;
	const pyc_walk_entry *held;     /* the entry that ended the batch, handled after it */
	bool held_end;                  /* ... or the end of the walk */
	pyc_fanout *fanout;          /* NULL on one core: everything runs inline */
	pyc_buf path, source, tmp, msg;
	char tagbuf[64];
	char optbuf[32];
	pyc_scan_record rec;
	pyc_error err;
};

int scan_open_walker(pyc_scan *s, const char *root);
void scan_batch_dispose(struct scan_batch *b);

#endif
