/*
 * remote_stats_internal.h - the per-remote counters, kept next to the local store's
 * (store_stats.c's file format, flock'd) in <store>/remote/<the redacted URL, escaped>;
 * remote_stats.c.
 */
#ifndef PYC_REMOTE_STATS_INTERNAL_H
#define PYC_REMOTE_STATS_INTERNAL_H

#include "store_internal.h"

/* Add d to the counters of the remote whose redacted URL is url, in the store at dir (a
 * resolved store directory). Best effort: 0 or -1 with errno set. */
int pyc_remote_stats__add(const char *dir, const char *url, const store_counters *d);

#endif
