/*
 * compileall_scan.c - the ordered scan queue between compileall's walk and its consumer.
 *
 * A run with nothing to do is one stat() of each source plus an open/read/close of each
 * cache file: system-call bound, and each file is independent. The walk (main thread)
 * appends items to a ring in compileall's order; helper threads claim items from the
 * front and judge them (pyc_compileall__check); the main thread consumes items strictly in order
 * (pyc_compileall__consume: events, pool submissions), and when the item at the head is not
 * judged yet it judges the next unclaimed ones itself instead of waiting. So output,
 * events and submissions happen exactly as in a sequential walk, only sooner.
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

ca_dir *pyc_compileall__dir_new(int fd)
{
	ca_dir *d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	d->fd = fd;
	atomic_init(&d->refs, 1);
	return d;
}

ca_dir *pyc_compileall__dir_ref(ca_dir *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void pyc_compileall__dir_unref(ca_dir *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		close(d->fd);
		free(d);
	}
}

/* Judge ring[from, from + n), claimed by the calling thread. */
static void check_run(ca_run *r, size_t from, size_t n, pyc_buf *scratch)
{
	ca_queue *q = &r->q;
	for (size_t i = 0; i < n; i++) {
		pyc_ca_item *it = q->ring[(from + i) & q->mask];
		pyc_compileall__check(r, it, scratch);
		/* Store the verdict, then look for a sleeper (both sequentially consistent, the
		 * mirror image of wait_checked): one of the two sides always sees the other. */
		atomic_store(&it->checked, true);
		if (atomic_load(&q->awaited) == it) {
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

/* Make every appended item visible to the helpers (main thread, mu held). */
static void publish_locked(ca_queue *q)
{
	if (q->tail == q->filled)
		return;
	q->tail = q->filled;
	if (q->sleepers > 0)
		pthread_cond_signal(&q->work);
}

static void *checker(void *arg)
{
	ca_run *r = arg;
	ca_queue *q = &r->q;
	pyc_buf scratch[PYC_COMPILEALL_MAX_LEVELS];
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		scratch[i] = (pyc_buf)PYC_BUF_INIT;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		size_t from, n;
		if (claim_locked(q, &from, &n)) {
			/* More left: let another sleeping helper have it. */
			if (q->next != q->tail && q->sleepers > 0)
				pthread_cond_signal(&q->work);
			pthread_mutex_unlock(&q->mu);
			check_run(r, from, n, scratch);
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
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		pyc_buf_dispose(&scratch[i]);
	return NULL;
}

/* Helper threads for `jobs` worker slots: one per core besides the main thread, none for
 * -j1 (compileall's sequential mode), at most 7. */
static unsigned helper_count(unsigned jobs)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = jobs;
	if (cores > 0 && (unsigned long)cores < n)
		n = (unsigned)cores;
	n = n > 0 ? n - 1 : 0;
	return n > 7 ? 7 : n;
}

int pyc_compileall__queue_start(ca_run *r)
{
	ca_queue *q = &r->q;
	if (!(q->ring = calloc(QUEUE_CAP, sizeof(*q->ring))))
		return PYC_ENOMEM;
	q->mask = QUEUE_CAP - 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	atomic_init(&q->awaited, NULL);
	q->started = true;
	unsigned want = helper_count(r->o->jobs);
	/* The helpers inherit a full mask: SIGINT and the like reach the main thread, which
	 * does every write, so the handler's cleanup cannot race a write (pyc/interrupt.h). */
	sigset_t old;
	pyc_interrupt__block_all(&old);
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&q->threads[q->nthreads], NULL, checker, r) != 0)
			break;   /* fewer helpers, same results */
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Sleep until a helper has judged `it` (which it has claimed). */
static void wait_checked(ca_queue *q, pyc_ca_item *it)
{
	pthread_mutex_lock(&q->mu);
	atomic_store(&q->awaited, it);
	while (!atomic_load(&it->checked))
		pthread_cond_wait(&q->done, &q->mu);
	atomic_store(&q->awaited, NULL);
	pthread_mutex_unlock(&q->mu);
}

/* Consume judged items from the head; with `all`, until the queue is empty, else until
 * there is room for one more. The main thread judges unclaimed items while it waits. */
static int pump(ca_run *r, bool all)
{
	ca_queue *q = &r->q;
	int rc = 0;
	while (q->head != q->filled && (all || q->filled - q->head >= QUEUE_CAP)) {
		pyc_ca_item *it = q->ring[q->head & q->mask];
		if (!atomic_load_explicit(&it->checked, memory_order_acquire)) {
			size_t from, n;
			pthread_mutex_lock(&q->mu);
			publish_locked(q);
			bool mine = claim_locked(q, &from, &n);
			pthread_mutex_unlock(&q->mu);
			if (mine)
				check_run(r, from, n, q->scratch);
			else
				wait_checked(q, it);
			continue;
		}
		q->head++;
		/* Consumption may call the pool (and its on_done); no lock held there. */
		int c = rc == 0 ? pyc_compileall__consume(r, it) : (pyc_compileall__item_free(it), 0);
		if (c < 0 && rc == 0)
			rc = c;
	}
	return rc;
}

int pyc_compileall__queue_push(ca_run *r, pyc_ca_item *it)
{
	ca_queue *q = &r->q;
	int rc = pump(r, false);
	atomic_init(&it->checked, false);
	q->ring[q->filled++ & q->mask] = it;
	if (q->nthreads == 0)
		/* Without helpers, keep the walk streaming: judge and consume right away. */
		return rc == 0 ? pump(r, true) : rc;
	if (q->filled - q->tail >= BATCH) {
		pthread_mutex_lock(&q->mu);
		publish_locked(q);
		pthread_mutex_unlock(&q->mu);
	}
	return rc;
}

int pyc_compileall__queue_flush(ca_run *r)
{
	return r->q.started ? pump(r, true) : 0;
}

int pyc_compileall__queue_finish(ca_run *r)
{
	ca_queue *q = &r->q;
	if (!q->started)
		return 0;
	int rc = pump(r, true);
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	pthread_mutex_destroy(&q->mu);
	for (size_t i = 0; i < PYC_COMPILEALL_MAX_LEVELS; i++)
		pyc_buf_dispose(&q->scratch[i]);
	free(q->ring);
	q->started = false;
	return rc;
}
