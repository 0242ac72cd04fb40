/*
 * compileall_queue.c - the ordered queue between compileall's walk and its consumer.
 *
 * A run with nothing to do is one stat() of each source plus an open/read/close of each
 * cache file: system-call bound, and each file is independent. The walk (the pushing
 * thread) appends items to a ring in compileall's order; helper threads claim items from
 * the front and judge them (ops.check); the pushing thread consumes items strictly in
 * order (ops.consume), and when the item at the head is not judged yet it judges the next
 * unclaimed ones itself instead of waiting. So everything the consumer does happens
 * exactly as in a sequential walk, only sooner.
 *
 * The per-item synchronisation is kept small, because a no-op item costs only ~4 us of
 * system calls: the walk publishes items to the helpers BATCH at a time, helpers claim up
 * to BATCH at a time, a verdict is published with an atomic flag, and the condition
 * variables are signalled only when someone sleeps on them. One helper per core besides
 * the main thread: more only share the same cores (and the kernel's per-process file
 * table) and cost more than they bring (docs/benchmarks.md).
 */
#include "compileall_internal.h"
#include "interrupt_internal.h"

#include <stdlib.h>
#include <unistd.h>

#define QUEUE_CAP 512u
#define BATCH 16u

/* Judge ring[from, from + n), claimed by the calling thread. */
static void check_run(ca_queue *q, size_t from, size_t n, void *local)
{
	for (size_t i = 0; i < n; i++) {
		ca_slot *s = &q->ring[(from + i) & q->mask];
		q->ops.check(q->ops.ctx, s->item, local);
		/* Store the verdict, then look for a sleeper (both sequentially consistent, the
		 * mirror image of wait_checked): one of the two sides always sees the other. */
		atomic_store(&s->checked, true);
		if (atomic_load(&q->awaited) == s) {
			pthread_mutex_lock(&q->mu);
			pthread_cond_signal(&q->done);
			pthread_mutex_unlock(&q->mu);
		}
	}
}

/* Claim up to BATCH unclaimed items (mu held): false when there are none. */
static bool claim_locked(ca_queue *q, size_t *from, size_t *n)
{
	if (q->next == q->tail)
		return false;
	*from = q->next;
	*n = q->tail - q->next < BATCH ? q->tail - q->next : BATCH;
	q->next += *n;
	return true;
}

/* Make every appended item visible to the helpers (pushing thread, mu held). */
static void publish_locked(ca_queue *q)
{
	if (q->tail == q->filled)
		return;
	q->tail = q->filled;
	if (q->sleepers > 0)
		pthread_cond_signal(&q->work);
}

static void *local_new(const ca_queue *q)
{
	return calloc(1, q->ops.local_size ? q->ops.local_size : 1);
}

static void local_free(const ca_queue *q, void *local)
{
	if (local && q->ops.local_dispose)
		q->ops.local_dispose(local);
	free(local);
}

static void *helper(void *arg)
{
	ca_queue *q = arg;
	void *local = local_new(q);
	pthread_mutex_lock(&q->mu);
	/* Without its own state a helper cannot judge: it only waits to quit. */
	for (;;) {
		size_t from, n;
		if (local && claim_locked(q, &from, &n)) {
			/* More left: let another sleeping helper have it. */
			if (q->next != q->tail && q->sleepers > 0)
				pthread_cond_signal(&q->work);
			pthread_mutex_unlock(&q->mu);
			check_run(q, from, n, local);
			pthread_mutex_lock(&q->mu);
			continue;
		}
		if (q->quit)
			break;
		q->sleepers++;
		pthread_cond_wait(&q->work, &q->mu);
		q->sleepers--;
	}
	pthread_mutex_unlock(&q->mu);
	local_free(q, local);
	return NULL;
}

unsigned pyc_compileall__queue_helpers(unsigned jobs, bool remote)
{
	if (remote && jobs > 1)
		return 8;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = jobs;
	if (cores > 0 && (unsigned long)cores < n)
		n = (unsigned)cores;
	n = n > 0 ? n - 1 : 0;
	return n > 7 ? 7 : n;
}

int pyc_compileall__queue_start(ca_queue *q, const ca_queue_ops *ops, unsigned helpers)
{
	*q = (ca_queue){ .ops = *ops };
	q->ring = calloc(QUEUE_CAP, sizeof(*q->ring));
	q->local = local_new(q);
	if (!q->ring || !q->local) {
		free(q->ring);
		free(q->local);
		return PYC_ENOMEM;
	}
	q->mask = QUEUE_CAP - 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	atomic_init(&q->awaited, NULL);
	q->started = true;
	if (helpers > sizeof(q->threads) / sizeof(q->threads[0]))
		helpers = sizeof(q->threads) / sizeof(q->threads[0]);
	/* The helpers inherit a full mask: SIGINT and the like reach the main thread, which
	 * does every write, so the handler's cleanup cannot race a write (pyc/interrupt.h). */
	sigset_t old;
	pyc_interrupt__block_all(&old);
	for (unsigned i = 0; i < helpers; i++) {
		if (pthread_create(&q->threads[q->nthreads], NULL, helper, q) != 0)
			break;   /* fewer helpers, same results */
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Sleep until a helper has judged slot s (which it has claimed). */
static void wait_checked(ca_queue *q, ca_slot *s)
{
	pthread_mutex_lock(&q->mu);
	atomic_store(&q->awaited, s);
	while (!atomic_load(&s->checked))
		pthread_cond_wait(&q->done, &q->mu);
	atomic_store(&q->awaited, NULL);
	pthread_mutex_unlock(&q->mu);
}

/* Consume judged items from the head; with `all`, until the queue is empty, else until
 * there is room for one more. The pushing thread judges unclaimed items while it waits. */
static int pump(ca_queue *q, bool all)
{
	while (q->head != q->filled && (all || q->filled - q->head >= QUEUE_CAP)) {
		ca_slot *s = &q->ring[q->head & q->mask];
		if (!atomic_load_explicit(&s->checked, memory_order_acquire)) {
			size_t from, n;
			pthread_mutex_lock(&q->mu);
			publish_locked(q);
			bool mine = claim_locked(q, &from, &n);
			pthread_mutex_unlock(&q->mu);
			if (mine)
				check_run(q, from, n, q->local);
			else
				wait_checked(q, s);
			continue;
		}
		q->head++;
		/* The consumer may block (the pool); no lock is held here. */
		if (q->rc < 0) {
			q->ops.drop(q->ops.ctx, s->item);
		} else {
			int c = q->ops.consume(q->ops.ctx, s->item);
			if (c < 0)
				q->rc = c;
		}
	}
	return q->rc;
}

int pyc_compileall__queue_push(ca_queue *q, void *item)
{
	int rc = pump(q, false);
	ca_slot *s = &q->ring[q->filled++ & q->mask];
	s->item = item;
	atomic_init(&s->checked, false);
	if (q->nthreads == 0)
		/* Without helpers, keep the walk streaming: judge and consume right away. */
		return pump(q, true);
	if (q->filled - q->tail >= BATCH) {
		pthread_mutex_lock(&q->mu);
		publish_locked(q);
		pthread_mutex_unlock(&q->mu);
	}
	return rc;
}

int pyc_compileall__queue_flush(ca_queue *q)
{
	return q->started ? pump(q, true) : 0;
}

size_t pyc_compileall__queue_waiting(const ca_queue *q)
{
	return q->nthreads == 0 ? SIZE_MAX : q->filled - q->head;
}

int pyc_compileall__queue_finish(ca_queue *q)
{
	if (!q->started)
		return 0;
	int rc = pump(q, true);
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	pthread_mutex_destroy(&q->mu);
	local_free(q, q->local);
	free(q->ring);
	q->started = false;
	return rc;
}
