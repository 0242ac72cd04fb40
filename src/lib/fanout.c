/* Fork-join pool for the scanner: see fanout.h. */
#include "fanout.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define FANOUT_MAX_HELPERS 3

struct pyc_fanout {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	pthread_t threads[FANOUT_MAX_HELPERS];
	unsigned want, started;
	unsigned long generation;  /* bumped for every parallel run */
	unsigned long spawn_gen;   /* generation when the helpers were started */
	unsigned busy;             /* helpers still inside the current run */
	bool stop;
	/* The current run; written by the caller before the generation bump. */
	pyc_fanout_fn fn;
	void *ctx;
	size_t n;
	atomic_size_t next;
};

static void drain(pyc_fanout *p)
{
	size_t i;
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(p->ctx, i);
}

static void *helper_main(void *arg)
{
	pyc_fanout *p = arg;
	pthread_mutex_lock(&p->mu);
	/* Not p->generation: the run that started us may have bumped it already. */
	unsigned long seen = p->spawn_gen;
	for (;;) {
		while (!p->stop && p->generation == seen)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		seen = p->generation;
		pthread_mutex_unlock(&p->mu);
		drain(p);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

pyc_fanout *pyc_fanout_new(unsigned helpers)
{
	if (helpers == 0)
		return NULL;
	pyc_fanout *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->want = helpers > FANOUT_MAX_HELPERS ? FANOUT_MAX_HELPERS : helpers;
	return p;
}

/* Start the helpers on first use, so a scan with only small directories never pays. */
static void start_helpers(pyc_fanout *p)
{
	p->spawn_gen = p->generation;
	while (p->started < p->want) {
		if (pthread_create(&p->threads[p->started], NULL, helper_main, p) != 0) {
			p->want = p->started;  /* run with what we have */
			break;
		}
		p->started++;
	}
}

void pyc_fanout_run(pyc_fanout *p, size_t n, size_t min_parallel, pyc_fanout_fn fn, void *ctx)
{
	if (!p || n < min_parallel || n < 2) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_lock(&p->mu);
	start_helpers(p);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	atomic_store(&p->next, 0);
	p->busy = p->started;
	p->generation++;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);

	drain(p);

	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void pyc_fanout_free(pyc_fanout *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

unsigned pyc_fanout_default_helpers(void)
{
	cpu_set_t set;
	int n = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 1)
		return 0;
	return (unsigned)(n - 1 > FANOUT_MAX_HELPERS ? FANOUT_MAX_HELPERS : n - 1);
}
