/*
 * fanout.h (internal) - a tiny fork-join pool: run fn(ctx, i) for every i in [0, n) on the
 * calling thread plus a few helper threads, and return when all are done.
 *
 * Used by the scanner to judge the caches of one directory in parallel: the work is
 * syscall-bound (fstatat + openat/read/close per cache), so a second core nearly halves
 * the wall time. Indices are handed out one at a time through an atomic counter, so the
 * order in which items run is unspecified; callers store results per index.
 */
#ifndef PYC_FANOUT_H
#define PYC_FANOUT_H

#include <stddef.h>

typedef struct pyc_fanout pyc_fanout;
typedef void (*pyc_fanout_fn)(void *ctx, size_t i);

/* A pool with up to `helpers` threads (started lazily). NULL when helpers == 0 or
 * allocation fails: pyc_fanout_run() then runs everything on the caller. */
pyc_fanout *pyc_fanout_new(unsigned helpers);

/* Run fn for each index; batches below `min_parallel` items stay on the caller. */
void pyc_fanout_run(pyc_fanout *p, size_t n, size_t min_parallel, pyc_fanout_fn fn, void *ctx);

/* Stop and join the helpers. NULL is a no-op. */
void pyc_fanout_free(pyc_fanout *p);

/* How many helpers are worth having here: online CPUs usable by us, minus one, at most 3. */
unsigned pyc_fanout_default_helpers(void);

#endif
