/* interrupt_internal.h - the registry behind pyc/interrupt.h (writer and pool only). */
#ifndef PYC_INTERRUPT_INTERNAL_H
#define PYC_INTERRUPT_INTERNAL_H

#include "pyc/interrupt.h"

#include <signal.h>
#include <sys/types.h>

/* Block every blockable signal in the calling thread, the previous mask into *old: around
 * pthread_create, so a helper thread never runs the handler (pyc/interrupt.h). */
void pyc_interrupt__block_all(sigset_t *old);

/* Register the temporary file `name` in directory `dirfd` before creating it. Returns a
 * slot for pyc_interrupt__forget(), or -1 when every slot is taken (the file is then not
 * cleaned up by a signal, as before this registry existed). */
int pyc_interrupt__note_temp(int dirfd, const char *name);
/* The file was renamed or unlinked (or never created): forget it. -1 is ignored. */
void pyc_interrupt__forget(int slot);

/* A worker process started / is about to be reaped. */
void pyc_interrupt__note_pid(pid_t pid);
void pyc_interrupt__forget_pid(pid_t pid);

#endif
