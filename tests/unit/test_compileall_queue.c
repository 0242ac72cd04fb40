/*
 * test_compileall_queue.c - the compile pipeline's ordered queue alone, driven by a fake
 * producer and consumer over real items (pyc_ca_item, freed by the consumer as the
 * pipeline frees them, so ASan sees a lost or doubly released item): every item is judged
 * before it is consumed, consumed exactly once and in push order, helpers judge ahead of
 * the consumer, and a consumer error mid-stream drops the rest exactly once and still
 * stops every thread.
 */
#include "testutil.h"

#include "compileall_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NITEMS 3000

typedef struct fake {
	pthread_t pusher;
	atomic_uint judged[NITEMS];     /* per item: times judged */
	atomic_uint by_helper;          /* judged on another thread than the pusher's */
	unsigned consumed[NITEMS];      /* per item: times consumed (pusher only) */
	unsigned dropped[NITEMS];
	size_t next;                    /* the index the consumer expects next */
	size_t fail_at;                 /* consume returns an error at this index */
	unsigned slow_us;               /* consumer delay per item */
	size_t max_ahead;               /* most items judged beyond the one consumed */
	size_t pushed;
	bool locals_ok;                 /* each thread's local was zeroed for it */
	atomic_uint disposed;           /* locals released */
	const ca_queue *q;              /* when set, consume records queue_waiting per item */
	size_t waiting[NITEMS];
} fake;

static fake F;

typedef struct thread_local_state {
	unsigned count;
	uintptr_t owner;
} thread_local_state;
static _Thread_local char token;

static size_t index_of(const pyc_ca_item *it)
{
	return (size_t)strtoul(it->fullname, NULL, 10);
}

static void check(void *ctx, void *item, void *local)
{
	fake *f = ctx;
	pyc_ca_item *it = item;
	/* Each thread's own state: zeroed when it starts, never seen by another thread. */
	thread_local_state *mine = local;
	if (mine->count++ == 0)
		mine->owner = (uintptr_t)&token;
	if (mine->owner != (uintptr_t)&token)
		f->locals_ok = false;
	atomic_fetch_add(&f->judged[index_of(it)], 1);
	if (!pthread_equal(pthread_self(), f->pusher))
		atomic_fetch_add(&f->by_helper, 1);
	it->why = PYC_COMPILEALL_WHY_MISSING;   /* the verdict the consumer checks for */
}

static int consume(void *ctx, void *item)
{
	fake *f = ctx;
	pyc_ca_item *it = item;
	size_t i = index_of(it);
	assert_int_equal(i, f->next);
	assert_int_equal(atomic_load(&f->judged[i]), 1);
	assert_int_equal(it->why, PYC_COMPILEALL_WHY_MISSING);
	f->next++;
	f->consumed[i]++;
	if (f->q)
		f->waiting[i] = pyc_compileall__queue_waiting(f->q);
	size_t ahead = 0;
	for (size_t j = i + 1; j < f->pushed && atomic_load(&f->judged[j]); j++)
		ahead++;
	if (ahead > f->max_ahead)
		f->max_ahead = ahead;
	pyc_compileall__item_free(it);
	if (f->slow_us)
		usleep(f->slow_us);
	return i == f->fail_at ? PYC_EIO : 0;
}

static void drop(void *ctx, void *item)
{
	fake *f = ctx;
	pyc_ca_item *it = item;
	f->dropped[index_of(it)]++;
	pyc_compileall__item_free(it);
}

static void dispose(void *local)
{
	(void)local;
	atomic_fetch_add(&F.disposed, 1);
}

static const ca_queue_ops ops = { .check = check, .consume = consume, .drop = drop,
                                  .local_dispose = dispose, .local_size = sizeof(thread_local_state),
                                  .ctx = &F };

static void reset(size_t fail_at, unsigned slow_us)
{
	memset(&F, 0, sizeof(F));
	F.pusher = pthread_self();
	F.fail_at = fail_at;
	F.slow_us = slow_us;
	F.locals_ok = true;
}

/* Push items from..to-1; returns the first push error. */
static int push_range(ca_queue *q, size_t from, size_t to)
{
	int first = 0;
	for (size_t i = from; i < to; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%zu", i);
		pyc_ca_item *it = pyc_compileall__item_new(name);
		assert_non_null(it);
		F.pushed = i + 1;
		int rc = pyc_compileall__queue_push(q, it);
		if (rc < 0 && first == 0)
			first = rc;
	}
	return first;
}

/* Push n items through a new queue with `helpers` threads; returns the first push error. */
static int produce(ca_queue *q, unsigned helpers, size_t n)
{
	assert_int_equal(pyc_compileall__queue_start(q, &ops, helpers), 0);
	return push_range(q, 0, n);
}

static void assert_all_once(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(atomic_load(&F.judged[i]), 1);
		assert_int_equal(F.consumed[i] + F.dropped[i], 1);
	}
}

static void test_order_kept_each_once(void **state)
{
	(void)state;
	for (unsigned helpers = 0; helpers <= 3; helpers++) {
		ca_queue q;
		reset(SIZE_MAX, 0);
		assert_int_equal(produce(&q, helpers, NITEMS), 0);
		assert_int_equal(pyc_compileall__queue_finish(&q), 0);
		assert_int_equal(F.next, NITEMS);
		assert_all_once(NITEMS);
		for (size_t i = 0; i < NITEMS; i++)
			assert_int_equal(F.dropped[i], 0);
		assert_true(F.locals_ok);
		/* The pusher's local and one per helper, each released once. */
		assert_int_equal(atomic_load(&F.disposed), helpers + 1);
	}
}

static void test_helpers_run_ahead(void **state)
{
	(void)state;
	ca_queue q;
	/* A slow consumer (like one that waits for the pool): the helpers keep judging. */
	reset(SIZE_MAX, 200);
	assert_int_equal(produce(&q, 2, 1000), 0);
	assert_int_equal(pyc_compileall__queue_finish(&q), 0);
	assert_int_equal(F.next, 1000);
	assert_all_once(1000);
	assert_true(atomic_load(&F.by_helper) > 0);
	/* Far more than one claim (16) ahead of the item being consumed. */
	assert_true(F.max_ahead > 64);
}

static void test_no_helper_judges_inline(void **state)
{
	(void)state;
	ca_queue q;
	reset(SIZE_MAX, 0);
	assert_int_equal(produce(&q, 0, 100), 0);
	/* Without helpers every push is judged and consumed before it returns. */
	assert_int_equal(F.next, 100);
	assert_int_equal(pyc_compileall__queue_finish(&q), 0);
	assert_int_equal(atomic_load(&F.by_helper), 0);
}

static void test_error_mid_stream_drops_the_rest(void **state)
{
	(void)state;
	for (unsigned helpers = 0; helpers <= 2; helpers++) {
		ca_queue q;
		reset(700, 0);
		int rc = produce(&q, helpers, NITEMS);
		assert_int_equal(pyc_compileall__queue_finish(&q), PYC_EIO);
		/* push reports the error once it has happened (the walk stops on it). */
		assert_true(rc == PYC_EIO || helpers > 0);
		assert_int_equal(F.next, 701);
		assert_all_once(NITEMS);
		for (size_t i = 0; i < NITEMS; i++)
			assert_int_equal(F.consumed[i], i <= 700 ? 1 : 0);
	}
}

static void test_finish_with_work_in_flight(void **state)
{
	(void)state;
	ca_queue q;
	/* A flush (the walk out of descriptors) consumes everything so far and the queue
	 * goes on; finish right after the last push, with items unjudged or being judged. */
	reset(SIZE_MAX, 0);
	assert_int_equal(produce(&q, 3, 400), 0);
	assert_int_equal(pyc_compileall__queue_flush(&q), 0);
	assert_int_equal(F.next, 400);
	assert_int_equal(push_range(&q, 400, 800), 0);
	assert_int_equal(pyc_compileall__queue_finish(&q), 0);
	assert_int_equal(F.next, 800);
	assert_all_once(800);
}

/* What the compile stage tells the pool (pyc_pool_expect): with helpers, a tree that
 * fits the ring is all pushed before the first consume, so each item sees exactly the
 * items behind it; without helpers nothing is known ahead. */
static void test_waiting_counts_the_items_behind(void **state)
{
	(void)state;
	for (unsigned helpers = 0; helpers <= 1; helpers++) {
		ca_queue q;
		reset(SIZE_MAX, 0);
		F.q = &q;
		assert_int_equal(produce(&q, helpers, 100), 0);
		assert_int_equal(pyc_compileall__queue_finish(&q), 0);
		for (size_t i = 0; i < 100; i++)
			assert_int_equal(F.waiting[i], helpers ? 99 - i : SIZE_MAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_kept_each_once),
		cmocka_unit_test(test_helpers_run_ahead),
		cmocka_unit_test(test_no_helper_judges_inline),
		cmocka_unit_test(test_error_mid_stream_drops_the_rest),
		cmocka_unit_test(test_finish_with_work_in_flight),
		cmocka_unit_test(test_waiting_counts_the_items_behind),
	};
	return tu_run_tests("compileall_queue", tests);
}
