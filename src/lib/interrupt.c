/*
 * The in-flight registry: see include/pyc/interrupt.h.
 *
 * Lock-free atomics are async-signal-safe, a mutex is not: each slot is claimed with a
 * compare-and-swap and published (state ARMED) only once its name is complete, so a
 * handler that interrupts the owner half-way sees a slot it must skip, never a torn name.
 */
#include "interrupt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Writes in flight at once: one per thread that writes (the compile writes on one). */
#define TEMP_SLOTS 32
/* Workers at once: more are not registered (they still exit when their socket closes). */
#define PID_SLOTS 256

enum { SLOT_FREE, SLOT_FILLING, SLOT_ARMED };

static struct temp_slot {
	atomic_int state;
	int dirfd;
	char name[NAME_MAX + 1];
} temps[TEMP_SLOTS];

static atomic_int pids[PID_SLOTS];

int pyc_interrupt__note_temp(int dirfd, const char *name)
{
	size_t n = strlen(name);
	if (n > NAME_MAX)
		return -1;
	for (int i = 0; i < TEMP_SLOTS; i++) {
		int expect = SLOT_FREE;
		if (!atomic_compare_exchange_strong(&temps[i].state, &expect, SLOT_FILLING))
			continue;
		temps[i].dirfd = dirfd;
		memcpy(temps[i].name, name, n + 1);
		atomic_store(&temps[i].state, SLOT_ARMED);
		return i;
	}
	return -1;
}

void pyc_interrupt__forget(int slot)
{
	if (slot >= 0 && slot < TEMP_SLOTS)
		atomic_store(&temps[slot].state, SLOT_FREE);
}

void pyc_interrupt__note_pid(pid_t pid)
{
	for (int i = 0; i < PID_SLOTS; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&pids[i], &expect, (int)pid))
			return;
	}
}

void pyc_interrupt__forget_pid(pid_t pid)
{
	for (int i = 0; i < PID_SLOTS; i++) {
		int expect = (int)pid;
		if (atomic_compare_exchange_strong(&pids[i], &expect, 0))
			return;
	}
}

void pyc_interrupt_cleanup(void)
{
	int saved = errno;
	for (int i = 0; i < TEMP_SLOTS; i++)
		if (atomic_load(&temps[i].state) == SLOT_ARMED)
			unlinkat(temps[i].dirfd, temps[i].name, 0);
	for (int i = 0; i < PID_SLOTS; i++) {
		int pid = atomic_load(&pids[i]);
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
	}
	errno = saved;
}

void pyc_interrupt__block_all(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}
