/*
 * remote_url_internal.h - parsing a remote spec "URL|attr|attr=value" into the
 * pyc_remote_url of the backend contract (remote_internal.h); remote_url.c.
 */
#ifndef PYC_REMOTE_URL_INTERNAL_H
#define PYC_REMOTE_URL_INTERNAL_H

#include "remote_internal.h"

/*
 * Parse spec into *u. Every string of *u lives in *mem (free it when done with u), also
 * after a failure. User and password come from the environment (PYC_TOOL_CACHE_REMOTE_USER,
 * PYC_TOOL_CACHE_REMOTE_PASSWORD) when the URL has none. Returns 0, PYC_EINVAL (err
 * names the redacted URL and the problem) or PYC_ENOMEM.
 */
int pyc_remote_url__parse(pyc_remote_url *u, char **mem, const char *spec, pyc_error *err);

/* PYC_EINVAL naming the first attribute that is neither common nor one of own[0..n). */
int pyc_remote_url__check_attrs(const pyc_remote_url *u, const char *const *own, size_t n,
                                pyc_error *err);

/* The value of attribute name, "" for a bare one; NULL when absent. */
const char *pyc_remote_url__attr(const pyc_remote_url *u, const char *name);

#endif
