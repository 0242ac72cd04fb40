/*
 * pyc/remote.h - remote caches: the local store's entries shared on a server the team
 * already runs (Redis, HTTP/WebDAV) or in a shared directory (docs/cache.md, "Remote
 * cache"). A remote is written as ccache's remote_storage: "URL|attr|attr=value", e.g.
 *
 *     redis://:secret@cache.example:6379/2|read-only|connect-timeout=200
 *     https://user:pw@cache.example/pyc|operation-timeout=5000
 *     file:///srv/pyc-cache
 *
 * Remotes are asked in order after the local store; every entry they return is verified
 * (its key and SHA-256, as the local store's) and a bad one is a miss counted as an error.
 * A remote that fails (refused, timed out, an I/O error) is disabled for the rest of the
 * run, so a run with a broken remote ends within its timeouts and its output is never
 * different. Credentials come from the URL, or from PYC_TOOL_CACHE_REMOTE_USER and
 * PYC_TOOL_CACHE_REMOTE_PASSWORD when the URL has none; they never appear in a message.
 *
 * Typical use:
 *
 *     pyc_remotes *r;
 *     if (pyc_remotes_new(&r, specs, nspecs, store_dir, &err) < 0) ... a bad URL ...
 *     if (pyc_remotes_get(r, &key, &value, &seconds, NULL) == 0) ... a verified hit ...
 *     pyc_remotes_put(r, &key, value, len, seconds);
 *     while (pyc_remotes_warning(r, &msg)) ... warn once per disabled remote ...
 *     pyc_remotes_free(r);   // adds this run's counts to the statistics
 */
#ifndef PYC_REMOTE_H
#define PYC_REMOTE_H

#include "buf.h"
#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The environment variable holding remote URLs, separated by spaces (as ccache's). */
#define PYC_REMOTE_ENV "PYC_TOOL_CACHE_REMOTE"

typedef struct pyc_remotes pyc_remotes;

/**
 * Check one remote spec ("URL|attr..."): scheme, URL, attributes, and that its backend
 * is built in. Returns 0 or PYC_EINVAL (err names the redacted URL and the problem; it
 * never holds a password), PYC_ENOMEM.
 */
PYC_API int pyc_remote_check(const char *spec, pyc_error *err);

/**
 * The specs in a PYC_TOOL_CACHE_REMOTE value (space-separated) appended to *specs (a
 * malloc'd array of malloc'd strings, *n entries; free them with pyc_remote_specs_free).
 * Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_remote_specs_split(const char *value, char ***specs, size_t *n);
PYC_API void pyc_remote_specs_free(char **specs, size_t n);

/**
 * Parse and configure remotes (none is contacted yet: connections open on first use).
 * Statistics go to the local store in store_dir (NULL: pyc_store_dir()'s default; none
 * when no directory is configured). Returns 0, PYC_EINVAL (a bad spec, as
 * pyc_remote_check) or PYC_ENOMEM. Thread-safe once made: get and put may run on several
 * threads, each with its own connection.
 */
PYC_API int pyc_remotes_new(pyc_remotes **out, const char *const *specs, size_t n,
                            const char *store_dir, pyc_error *err);

/** How many remotes there are. */
PYC_API size_t pyc_remotes_count(const pyc_remotes *r);

/**
 * Ask each enabled remote in order for key's entry: 0 with the verified value (replacing
 * value's contents), the compile seconds it records, and the index of the remote that
 * had it in *which (may be NULL); else PYC_ENOTFOUND (a miss everywhere, a bad entry or a
 * failed remote: err says the last problem) or PYC_ENOMEM.
 */
PYC_API int pyc_remotes_get(pyc_remotes *r, const pyc_store_key *key, pyc_buf *value,
                            double *seconds, size_t *which, pyc_error *err);

/**
 * Store value[0..len) under key (as pyc_store_put would encode it) on every enabled
 * remote that is not read-only. Returns how many took it; a failure disables the remote.
 */
PYC_API size_t pyc_remotes_put(pyc_remotes *r, const pyc_store_key *key, const void *value,
                               size_t len, double compile_seconds);

/**
 * The next warning not yet taken: a remote disabled this run, with the reason (the URL
 * redacted). true and out set (replacing its contents), or false when there is none.
 * Each remote warns at most once a run.
 */
PYC_API bool pyc_remotes_warning(pyc_remotes *r, pyc_buf *out);

/** Add this run's counts to the statistics, close every connection, free. Accepts NULL. */
PYC_API void pyc_remotes_free(pyc_remotes *r);

/** One remote's counters, as `pyc-tool cache stats` shows them. */
typedef struct pyc_remote_counts {
	char *url;                /**< the redacted URL */
	uint64_t hits, misses;    /**< gets that found a valid entry / did not */
	uint64_t stores;          /**< puts that succeeded */
	uint64_t errors;          /**< failures and bad entries */
	uint64_t bytes_read, bytes_written;
	double seconds;           /**< time spent waiting on the remote */
} pyc_remote_counts;

/**
 * The counters of every remote the store in dir (NULL: the default) has seen, sorted by
 * URL: *out (n entries) is freed with pyc_remote_counts_free. Returns 0 (none: *n = 0),
 * PYC_ENOTFOUND (no directory configured), PYC_EIO or PYC_ENOMEM.
 */
PYC_API int pyc_remote_stats(const char *dir, pyc_remote_counts **out, size_t *n,
                             pyc_error *err);
PYC_API void pyc_remote_counts_free(pyc_remote_counts *c, size_t n);

#ifdef __cplusplus
}
#endif
#endif
