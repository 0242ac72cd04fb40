/*
 * walk_internal.h - splitting a walk across threads (used by the parallel scanner).
 * Not a public header.
 *
 * A walker can hand one of the directories it has listed but not yet visited to a new
 * walker (the "child"), to be walked elsewhere, typically on another thread. The parent
 * later reaches that entry in its normal order and reports it as a PYC_WALK_DIR that it
 * does not enter (fd -1, no DIR_POST); pyc_walk__delegated() then returns the cookie given at
 * the split, so the caller can put the child's output at exactly that place. The child
 * walks as the parent would have: same flags and excludes (globs with '/' still match
 * paths relative to the parent's root), same file system, and a bind-mount loop through
 * any ancestor of either is still caught. Its paths are root-joined like the parent's;
 * its depths start again at 0 for the delegated directory.
 */
#ifndef PYC_WALK_INTERNAL_H
#define PYC_WALK_INTERNAL_H

#include "pyc/walk.h"

/* May directory `path` (entry `name`) be handed over? Called before it is opened. */
typedef bool (*walk_split_filter)(void *ctx, const char *path, const char *name);

/*
 * Hand over the shallowest directory not yet visited (the first one in walk order at
 * that depth) that passes `accept`: open it, mark it with `cookie` (not NULL) and put a
 * walker for it in *child (owned by the caller, independent of w). Directories that are
 * VCS metadata, excluded, on another file system or not openable are left to the parent,
 * which reports them as usual. Returns 1 (split), 0 (nothing to hand over) or PYC_ENOMEM.
 */
int pyc_walk__split(pyc_walker *w, walk_split_filter accept, void *ctx, void *cookie,
               pyc_walker **child);

/* The cookie of the PYC_WALK_DIR entry just returned if it was handed over, else NULL. */
void *pyc_walk__delegated(const pyc_walker *w);

#endif
