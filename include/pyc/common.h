/*
 * pyc/common.h - status codes and the error record shared by every pyc_* call.
 *
 * Conventions (docs/conventions.md):
 *  - A function returns int: 0 (PYC_OK) on success, a negative PYC_E* code on failure.
 *    Verdicts (fresh/stale, ignored or not) come back through out-parameters, never
 *    through the error channel.
 *  - Details go into an optional caller-supplied pyc_error (NULL is allowed everywhere):
 *    a one-line message in git's style, "cannot open 'x/y.pyc': Permission denied".
 *  - The library never prints, exits or aborts; assert() marks programmer errors only.
 */
#ifndef PYC_COMMON_H
#define PYC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PYC_API extern

/** Status codes. Only failures a caller acts on get their own code. */
enum pyc_code {
	PYC_OK = 0,
	PYC_EIO = -1,           /**< an OS call failed; errno is in pyc_error.sys_errno */
	PYC_ENOMEM = -2,        /**< allocation failed */
	PYC_ENOTFOUND = -3,     /**< a path, entry or repository does not exist */
	PYC_ETRUNCATED = -4,    /**< input shorter than its format requires */
	PYC_EBADMAGIC = -5,     /**< not a known CPython magic number */
	PYC_EBADFLAGS = -6,     /**< PEP 552 flags word has bits other than 0b11 */
	PYC_EINVAL = -7,        /**< an argument or input is malformed */
	PYC_EUNSUPPORTED = -8,  /**< valid, but not something this version can do */
	PYC_EGIT = -9,          /**< libgit2 reported an error */
	PYC_ELOCKED = -10,      /**< a lock (git index.lock) is held by someone else */
	PYC_EEXISTS = -11,      /**< the target exists and may not be replaced */
	PYC_ECOMPILE = -12,     /**< the interpreter refused the source (syntax/encoding) */
	PYC_EINTERP = -13,      /**< the interpreter could not be run or answered nonsense */
	PYC_ETIMEOUT = -14,     /**< a worker exceeded its time limit */
	PYC_EUNSAFE = -15,      /**< the path leads through a symlink where none may be */
};

/** Room for one message; longer messages are truncated with "...". */
#define PYC_ERROR_MSG_MAX 1024

/** Details of a failure. Caller-allocated; a zeroed struct is a valid "no error". */
typedef struct pyc_error {
	int code;                         /**< the enum pyc_code returned */
	int sys_errno;                    /**< errno of the failing OS call, or 0 */
	char message[PYC_ERROR_MSG_MAX];  /**< one line, no trailing newline (a failed
	                                       interpreter probe adds its stderr: interp.h) */
} pyc_error;

/**
 * Record a failure and return `code`, so a caller can write
 * `return pyc_error_set(err, PYC_EIO, errno, "cannot open '%s'", path);`.
 * When sys_errno is non-zero, ": strerror(sys_errno)" is appended.
 * err may be NULL (nothing is recorded).
 */
PYC_API int pyc_error_set(pyc_error *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** Reset to "no error". err may be NULL. */
PYC_API void pyc_error_clear(pyc_error *err);

/** A static name for a code, e.g. "truncated" for PYC_ETRUNCATED. */
PYC_API const char *pyc_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
