/*
 * pyc/interrupt.h - what a run has in flight, for a signal handler to undo.
 *
 * The pyc writer registers each temporary file while it exists (its directory fd and its
 * name) and the compile pool registers each worker process while it runs. A program that
 * catches SIGINT/SIGTERM/SIGHUP calls pyc_interrupt_cleanup() from its handler: the
 * temporary files are unlinked and the workers are killed, so an interrupted run leaves
 * only complete .pyc files behind.
 *
 * The registry is a fixed set of lock-free slots (no allocation, no lock), so the cleanup
 * is async-signal-safe. A handler may run on any thread, but a temporary file created by
 * another thread after the cleanup ran would escape it: block the signals in every thread
 * that does not write, so the handler runs on the writer's (the compile's helper threads
 * do).
 *
 * Typical use (the handler, installed with sigaction and SA_RESETHAND):
 *
 *     static void on_signal(int sig) { pyc_interrupt_cleanup(); raise(sig); }
 */
#ifndef PYC_INTERRUPT_H
#define PYC_INTERRUPT_H

#include "common.h"


#ifdef __cplusplus
extern "C" {
#endif

/** Unlink the registered temporary files, SIGKILL the registered workers.
 *  Async-signal-safe; errno is preserved. */
PYC_API void pyc_interrupt_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
