/*
 * compile_scan.c - the ordered scan queue between compileall's walk and its consumer.
 *
 * A run with nothing to do is one stat() of each source plus an open/read/close of each
 * cache file: system-call bound, and each file is independent. The walk (main thread)
 * appends items to a ring in compileall's order; helper threads claim items from the
 * front and judge them (pyc_ca_check); the main thread consumes items strictly in order
 * (pyc_ca_consume: events, pool submissions), and when the item at the head is not
 * judged yet it judges the next unclaimed one itself instead of waiting. So output,
 * events and submissions happen exactly as in a sequential walk, only sooner.
 */
#include "compile_internal.h"

#include <stdlib.h>
#include <unistd.h>

#define QUEUE_CAP 512u

ca_dir *pyc_ca_dir_new(int fd)
{
	ca_dir *d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	d->fd = fd;
	atomic_init(&d->refs, 1);
	return d;
}

ca_dir *pyc_ca_dir_ref(ca_dir *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void pyc_ca_dir_unref(ca_dir *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		close(d->fd);
		free(d);
	}
}

static void *checker(void *arg)
{
	ca_run *r = arg;
	ca_queue *q = &r->q;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->quit && q->next == q->tail)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->next == q->tail)
			break;
		pyc_ca_item *it = q->ring[q->next++ & q->mask];
		pthread_mutex_unlock(&q->mu);
		pyc_ca_check(r, it);
		pthread_mutex_lock(&q->mu);
		it->checked = true;
		pthread_cond_signal(&q->done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int pyc_ca_queue_start(ca_run *r)
{
	ca_queue *q = &r->q;
	if (!(q->ring = calloc(QUEUE_CAP, sizeof(*q->ring))))
		return PYC_ENOMEM;
	q->mask = QUEUE_CAP - 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	q->started = true;
	/* The checks wait on the disk as much as on the CPU: two threads per job slot (at
	 * most 8, the main thread included), none besides the main thread for -j1. */
	unsigned want = r->o->jobs <= 1 ? 0 : 2 * r->o->jobs - 1;
	if (want > sizeof(q->threads) / sizeof(q->threads[0]) - 1)
		want = sizeof(q->threads) / sizeof(q->threads[0]) - 1;
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&q->threads[q->nthreads], NULL, checker, r) != 0)
			break;   /* fewer helpers, same results */
		q->nthreads++;
	}
	return 0;
}

/* Consume judged items from the head; with `all`, until the queue is empty, else until
 * there is room for one more. The main thread judges unclaimed items while it waits. */
static int pump(ca_run *r, bool all)
{
	ca_queue *q = &r->q;
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	while (q->head != q->tail && (all || q->tail - q->head >= QUEUE_CAP)) {
		pyc_ca_item *it = q->ring[q->head & q->mask];
		if (!it->checked) {
			if (q->next != q->tail) {
				pyc_ca_item *mine = q->ring[q->next++ & q->mask];
				pthread_mutex_unlock(&q->mu);
				pyc_ca_check(r, mine);
				pthread_mutex_lock(&q->mu);
				mine->checked = true;
			} else {
				pthread_cond_wait(&q->done, &q->mu);
			}
			continue;
		}
		q->head++;
		pthread_mutex_unlock(&q->mu);
		/* Consumption may call the pool (and its on_done); no lock held there. */
		int c = rc == 0 ? pyc_ca_consume(r, it) : (pyc_ca_item_free(it), 0);
		if (c < 0 && rc == 0)
			rc = c;
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int pyc_ca_queue_push(ca_run *r, pyc_ca_item *it)
{
	ca_queue *q = &r->q;
	int rc = pump(r, false);
	pthread_mutex_lock(&q->mu);
	q->ring[q->tail++ & q->mask] = it;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	/* Without helpers, keep the walk streaming: judge and consume right away. */
	if (rc == 0 && q->nthreads == 0)
		rc = pump(r, true);
	return rc;
}

int pyc_ca_queue_flush(ca_run *r)
{
	return r->q.started ? pump(r, true) : 0;
}

int pyc_ca_queue_finish(ca_run *r)
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
	free(q->ring);
	q->started = false;
	return rc;
}
