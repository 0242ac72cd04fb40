/*
 * proc_internal.h - internal: start a child process with pipes, no shell (interp.c, pool.c).
 *
 * Every descriptor we create is O_CLOEXEC; the child gets its ends dup2()ed onto 0/1/2,
 * SIGPIPE back at its default disposition and an empty signal mask.
 */
#ifndef PYC_PROC_INTERNAL_H
#define PYC_PROC_INTERNAL_H

#include "pyc/common.h"
#include <sys/types.h>

enum pyc_proc_flags {
	PYC_PROC_STDIN = 1u << 0,   /**< pipe to the child's stdin (else /dev/null) */
	PYC_PROC_STDOUT = 1u << 1,  /**< pipe from its stdout (else inherited) */
	PYC_PROC_STDERR = 1u << 2,  /**< pipe from its stderr (else inherited) */
	PYC_PROC_SOCK3 = 1u << 3,   /**< a socketpair end as the child's fd 3: a channel that
	                                 send(MSG_NOSIGNAL) can use without SIGPIPE */
	PYC_PROC_NULLOUT = 1u << 4, /**< stdout to /dev/null (when not piped) */
};

typedef struct pyc_proc {
	pid_t pid;
	int in, out, err;           /**< our ends, -1 when not piped */
	int sock;                   /**< our end of the fd-3 channel, or -1 */
} pyc_proc;

/**
 * Start argv[0] (searched on PATH when it has no '/') with envp (NULL = our environ).
 * Returns 0, or PYC_EINTERP with err saying "cannot run 'argv[0]': reason".
 */
int pyc_proc__spawn(pyc_proc *p, char *const argv[], char *const envp[], unsigned flags,
                   pyc_error *err);

/** Close our ends that are still open (sets them to -1). */
void pyc_proc__close(pyc_proc *p);

/** waitpid() through EINTR; returns the wait status, or -1. Sets pid to -1. */
int pyc_proc__wait(pyc_proc *p);

/** Monotonic seconds. */
double pyc_proc__now(void);

#endif
