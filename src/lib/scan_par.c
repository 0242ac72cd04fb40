/*
 * Whole subtrees scanned on worker threads, records handed out in walk order.
 *
 * Why: status is system-call bound (a stat of the source and a 16-byte read of the cache
 * per cache file), so one thread cannot keep up with a walk that only stats. Judging the
 * caches of each directory on helpers cost a wake-up per directory and gained nothing.
 * Here each worker runs an ordinary sequential sub-scan over a whole subtree, and hands a
 * piece over only when another worker sits idle: the shallowest directory it has listed
 * but not entered yet (pyc_walk__split), so pieces are few and large.
 *
 * Order: a task writes its records, in its own walk order, to a stream of chunks; where
 * its walk reaches a directory it handed over, it writes a reference to that child task
 * instead. The reader (the caller of pyc_scan_next) reads the root task's stream and
 * descends into each child at its reference: exactly the order of a sequential scan.
 *
 * Memory: a task stops producing while more than task_cap bytes of its output wait
 * unread, and no task is split off while max_tasks exist, so memory is bounded whatever
 * the tree. Producers wait only for the reader; when every worker does, and the task the
 * reader needs is not started, the reader runs it itself, streaming: no deadlock.
 *
 * Locking: one mutex for the queue, the task states and the chunk lists. A published
 * chunk is immutable; the reader parses it without the lock and frees it when done.
 */
#include "scan_internal.h"
#include "walk_internal.h"

#include "pyc/cache_path.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PAR_MAX_WORKERS 8
#define PAR_CHUNK_BYTES (16u * 1024)
#define PAR_TASK_CAP (512u * 1024)
#define PAR_TASKS_PER_WORKER 8

struct par_chunk {
	struct par_chunk *next;
	size_t len, cap;
	unsigned char data[];
};

enum { ITEM_RECORD = 1, ITEM_CHILD = 2 };

/* A record in a stream, followed by its strings: path, source, tag, opt, message, each
 * NUL-terminated. Copied in and out with memcpy: items are not aligned. */
struct par_rec {
	unsigned char item;
	unsigned char where, leftover;
	bool has_tag, has_message, abandoned;
	int error;
	pyc_verdict verdict;
	uint32_t len[5];
};

struct par_ref {
	unsigned char item;
	struct par_task *task;
};

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE };

struct par_task {
	struct scan_par *par;
	struct par_task *next_queued;
	struct par_task *prev_all, *next_all;   /* every live task, for pyc_scan_free */
	pyc_walker *w;                 /* the subtree, until the task runs */
	enum scan_phase phase;
	enum task_state state;
	struct par_chunk *head, *tail; /* published, not yet taken by the reader */
	size_t unread;                 /* bytes published and not yet read */
	bool room_wait;                /* the producer waits for unread to drop */
	bool root_is_dir;              /* its walk started with a readable directory */
	bool wanted;                   /* the reader waits for this task's records */
	int rc;                        /* < 0: the worker failed (PYC_ENOMEM) */
	struct par_chunk *cur;         /* producer's: being filled, not published */
	struct par_chunk *rchunk;      /* reader's: being read */
	struct par_task *spare;        /* producer's: a task no split wanted, for the next */
	size_t read_off;
};

struct scan_par {
	pthread_mutex_t mu;
	pthread_cond_t work;           /* workers: a task was queued, or quit */
	pthread_cond_t progress;       /* reader: a chunk was published or a task ended */
	pthread_cond_t room;           /* producers: the reader freed a chunk */
	struct par_task *queue_head, *queue_tail;
	struct par_task *all;
	pthread_t workers[PAR_MAX_WORKERS];
	unsigned nworkers;
	unsigned room_waiters;         /* workers blocked in publish() */
	atomic_uint idle;              /* workers waiting for a task */
	atomic_uint queued;
	atomic_uint ntasks;            /* live tasks */
	atomic_size_t skipped;         /* environments the tasks' walks skipped */
	atomic_bool quit;
	size_t chunk_bytes, task_cap;
	unsigned max_tasks;
	bool reader_first;             /* tests: the reader starts any queued task it needs */
	unsigned made, ran_inline;     /* tasks made / run by the reader, for the tests */
	const pyc_scan *top;
	bool started;
	struct par_task **stack;       /* reader: the tasks being read, root first */
	size_t depth, stack_cap;
	pyc_scan *inline_scan;         /* reader: a task it runs itself (top of stack) */
};

static unsigned usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

/* ---- tasks (p->mu held where it says so) ---- */

static struct par_task *task_new(struct scan_par *p, enum scan_phase phase)
{
	struct par_task *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->par = p;
	t->phase = phase;
	return t;
}

static void chunks_free(struct par_chunk *c)
{
	while (c) {
		struct par_chunk *next = c->next;
		free(c);
		c = next;
	}
}

static void task_free(struct par_task *t)
{
	if (!t)
		return;
	task_free(t->spare);
	pyc_walker_free(t->w);
	chunks_free(t->head);
	chunks_free(t->cur);
	chunks_free(t->rchunk);
	free(t);
}

/* Make t live and queue it for the workers. */
static void enqueue(struct scan_par *p, struct par_task *t)
{
	pthread_mutex_lock(&p->mu);
	t->next_all = p->all;
	if (p->all)
		p->all->prev_all = t;
	p->all = t;
	if (p->queue_tail)
		p->queue_tail->next_queued = t;
	else
		p->queue_head = t;
	p->queue_tail = t;
	atomic_fetch_add(&p->ntasks, 1);
	atomic_fetch_add(&p->queued, 1);
	p->made++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* Take t (queued) off the queue; p->mu held. */
static void unqueue_locked(struct scan_par *p, struct par_task *t)
{
	struct par_task **pp = &p->queue_head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->next_queued;
	}
	if (!*pp)
		return;
	*pp = t->next_queued;
	if (p->queue_tail == t)
		p->queue_tail = prev;
	t->next_queued = NULL;
	atomic_fetch_sub(&p->queued, 1);
}

/* The reader is done with t: forget and free it. */
static void retire(struct scan_par *p, struct par_task *t)
{
	pthread_mutex_lock(&p->mu);
	if (t->prev_all)
		t->prev_all->next_all = t->next_all;
	else
		p->all = t->next_all;
	if (t->next_all)
		t->next_all->prev_all = t->prev_all;
	pthread_mutex_unlock(&p->mu);
	atomic_fetch_sub(&p->ntasks, 1);
	task_free(t);
}

/* ---- the producer side (a worker thread) ---- */

/* Hand the chunk being filled to the reader; with `wait`, then wait while too much of
 * t's output waits unread. */
static void publish(struct scan_par *p, struct par_task *t, bool wait)
{
	struct par_chunk *c = t->cur;
	t->cur = NULL;
	pthread_mutex_lock(&p->mu);
	if (c) {
		if (t->tail)
			t->tail->next = c;
		else
			t->head = c;
		t->tail = c;
		t->unread += c->len;
	}
	if (t->wanted) {
		t->wanted = false;
		pthread_cond_broadcast(&p->progress);
	}
	if (wait && t->unread > p->task_cap && !atomic_load(&p->quit)) {
		/* The reader may be waiting for a task no worker is free to start. */
		p->room_waiters++;
		pthread_cond_broadcast(&p->progress);
		while (t->unread > p->task_cap && !atomic_load(&p->quit)) {
			t->room_wait = true;
			pthread_cond_wait(&p->room, &p->mu);
		}
		t->room_wait = false;
		p->room_waiters--;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Room for `need` more bytes of t's stream at *dst. */
static int reserve(struct scan_par *p, struct par_task *t, size_t need, unsigned char **dst)
{
	if (t->cur && t->cur->len + need > t->cur->cap)
		publish(p, t, true);
	if (!t->cur) {
		size_t cap = need > p->chunk_bytes ? need : p->chunk_bytes;
		struct par_chunk *c = malloc(sizeof(*c) + cap);
		if (!c)
			return PYC_ENOMEM;
		c->next = NULL;
		c->len = 0;
		c->cap = cap;
		t->cur = c;
	}
	*dst = t->cur->data + t->cur->len;
	t->cur->len += need;
	return 0;
}

static int put_record(struct scan_par *p, struct par_task *t, const pyc_scan_record *r)
{
	const char *str[5] = {r->path, r->source ? r->source : "", r->tag ? r->tag : "",
	                      r->opt ? r->opt : "", r->message ? r->message : ""};
	struct par_rec h;
	memset(&h, 0, sizeof(h));
	h.item = ITEM_RECORD;
	h.where = (unsigned char)r->where;
	h.leftover = (unsigned char)r->leftover;
	h.abandoned = r->abandoned;
	h.has_tag = r->tag != NULL;
	h.has_message = r->message != NULL;
	h.error = r->error;
	h.verdict = r->verdict;
	size_t need = sizeof(h);
	for (int i = 0; i < 5; i++) {
		h.len[i] = (uint32_t)strlen(str[i]) + 1;
		need += h.len[i];
	}
	unsigned char *dst;
	if (reserve(p, t, need, &dst) < 0)
		return PYC_ENOMEM;
	memcpy(dst, &h, sizeof(h));
	dst += sizeof(h);
	for (int i = 0; i < 5; i++) {
		memcpy(dst, str[i], h.len[i]);
		dst += h.len[i];
	}
	return 0;
}

int pyc_scan__par_child(pyc_scan *s, void *cookie)
{
	struct par_task *t = s->task;
	struct par_ref ref = {ITEM_CHILD, cookie};
	unsigned char *dst;
	if (!t || reserve(t->par, t, sizeof(ref), &dst) < 0)
		return PYC_ENOMEM;
	memcpy(dst, &ref, sizeof(ref));
	return 0;
}

/* Hand over neither a cache directory (its sources are the parent's business), nor one
 * inside it (not walked), nor the prefix directory (walked after the tree). */
static bool may_hand_over(void *ctx, const char *path, const char *name)
{
	const pyc_scan *s = ctx;
	return !pyc_is_pycache_dir(name) && !pyc_scan__in_pycache(path, strlen(path) - strlen(name)) &&
	       !pyc_scan__is_prefix_dir(s->cfg, path);
}

int pyc_scan__par_offer(pyc_scan *s)
{
	struct par_task *t = s->task;
	if (!t)
		return 0;
	struct scan_par *p = t->par;
	/* Cheap checks first: this runs at every directory and every record. */
	if (atomic_load_explicit(&p->idle, memory_order_relaxed) == 0 ||
	    atomic_load_explicit(&p->queued, memory_order_relaxed) != 0 ||
	    atomic_load_explicit(&p->ntasks, memory_order_relaxed) >= p->max_tasks)
		return 0;
	/* Most offers find nothing to split (a wide directory of files): keep the task for
	 * the next one rather than allocate one per record. */
	struct par_task *child = t->spare ? t->spare : task_new(p, s->phase);
	if (!child)
		return PYC_ENOMEM;
	t->spare = NULL;
	int rc = pyc_walk__split(s->w, may_hand_over, s, child, &child->w);
	if (rc <= 0) {
		t->spare = child;
		return rc;
	}
	enqueue(p, child);
	return 0;
}

static int run_task(struct scan_par *p, struct par_task *t)
{
	pyc_scan *sub;
	pyc_walker *w = t->w;
	t->w = NULL;
	int rc = pyc_scan__sub_new(&sub, p->top, w, t->phase, t);
	if (rc < 0)
		return rc;
	const pyc_scan_record *r;
	while (!atomic_load_explicit(&p->quit, memory_order_relaxed) &&
	       (rc = pyc_scan_next(sub, &r)) > 0) {
		if ((rc = put_record(p, t, r)) < 0 || (rc = pyc_scan__par_offer(sub)) < 0)
			break;
		/* Whole chunks only, even when the reader waits: handing records over one by
		 * one would cost a wake-up each (the reader is faster than any producer). */
		if (t->cur->len >= p->chunk_bytes)
			publish(p, t, true);
	}
	t->root_is_dir = sub->root_is_dir;
	pyc_scan_free(sub);
	return rc < 0 ? rc : 0;
}

static void *worker_main(void *arg)
{
	struct scan_par *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!atomic_load(&p->quit) && !p->queue_head) {
			atomic_fetch_add(&p->idle, 1);
			pthread_cond_wait(&p->work, &p->mu);
			atomic_fetch_sub(&p->idle, 1);
		}
		if (atomic_load(&p->quit))
			break;
		struct par_task *t = p->queue_head;
		unqueue_locked(p, t);
		t->state = TASK_RUNNING;
		pthread_mutex_unlock(&p->mu);
		int rc = run_task(p, t);
		publish(p, t, false);
		pthread_mutex_lock(&p->mu);
		t->rc = rc;
		t->state = TASK_DONE;
		pthread_cond_broadcast(&p->progress);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- the reader side (the caller of pyc_scan_next) ---- */

static int push(struct scan_par *p, struct par_task *t)
{
	if (p->depth == p->stack_cap) {
		size_t cap = p->stack_cap ? 2 * p->stack_cap : 16;
		struct par_task **st = realloc(p->stack, cap * sizeof(*st));
		if (!st)
			return PYC_ENOMEM;
		p->stack = st;
		p->stack_cap = cap;
	}
	p->stack[p->depth++] = t;
	return 0;
}

/* The task on top is read to its end. The root task tells whether the root could be
 * walked as a directory (then its prefix mirror is walked next). */
static void pop(pyc_scan *s)
{
	struct scan_par *p = s->par;
	struct par_task *t = p->stack[--p->depth];
	if (p->depth == 0 && t->phase == PHASE_TREE)
		s->root_is_dir = t->root_is_dir;
	retire(p, t);
}

enum fill { FILL_DATA, FILL_END, FILL_UNSTARTED };

/* Give t a chunk with something left to read, waiting for its producer if need be. */
static enum fill fill(struct scan_par *p, struct par_task *t)
{
	if (t->rchunk && t->read_off < t->rchunk->len)
		return FILL_DATA;
	pthread_mutex_lock(&p->mu);
	if (t->rchunk) {
		t->unread -= t->rchunk->len;
		free(t->rchunk);
		t->rchunk = NULL;
		if (t->room_wait)
			pthread_cond_broadcast(&p->room);
	}
	enum fill rc;
	for (;;) {
		if (t->head) {
			t->rchunk = t->head;
			t->head = t->head->next;
			if (!t->head)
				t->tail = NULL;
			t->rchunk->next = NULL;
			t->read_off = 0;
			rc = FILL_DATA;
			break;
		}
		if (t->state == TASK_DONE) {
			rc = FILL_END;
			break;
		}
		if (t->state == TASK_QUEUED && (p->room_waiters == p->nworkers || p->reader_first)) {
			/* Every worker waits for the reader: only the reader can start t. */
			unqueue_locked(p, t);
			t->state = TASK_RUNNING;
			rc = FILL_UNSTARTED;
			break;
		}
		t->wanted = true;
		pthread_cond_wait(&p->progress, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Decode the item at t's read position: 1 a record in s->rec, 0 a child pushed. */
static int read_item(pyc_scan *s, struct par_task *t)
{
	struct scan_par *p = s->par;
	const unsigned char *d = t->rchunk->data + t->read_off;
	if (d[0] == ITEM_CHILD) {
		struct par_ref ref;
		memcpy(&ref, d, sizeof(ref));
		t->read_off += sizeof(ref);
		return push(p, ref.task);
	}
	struct par_rec h;
	memcpy(&h, d, sizeof(h));
	const char *str[5];
	const char *at = (const char *)d + sizeof(h);
	size_t total = sizeof(h);
	for (int i = 0; i < 5; i++) {
		str[i] = at;
		at += h.len[i];
		total += h.len[i];
	}
	t->read_off += total;
	/* The strings stay in rchunk, which lives until the next call: the record's
	 * borrowing rule. */
	memset(&s->rec, 0, sizeof(s->rec));
	s->rec.path = str[0];
	s->rec.source = str[1];
	s->rec.tag = h.has_tag ? str[2] : NULL;
	s->rec.opt = str[3];
	s->rec.message = h.has_message ? str[4] : NULL;
	s->rec.where = (enum pyc_scan_where)h.where;
	s->rec.leftover = (enum pyc_leftover_kind)h.leftover;
	s->rec.abandoned = h.abandoned;
	s->rec.error = h.error;
	s->rec.verdict = h.verdict;
	return 1;
}

/* The stack is empty: after the tree comes the prefix mirror. 1 (error record), 0 (a
 * new root task, or the end), <0. */
static int next_phase(pyc_scan *s)
{
	struct scan_par *p = s->par;
	if (s->phase == PHASE_DONE)
		return 0;
	int rc = pyc_scan__end_of_walk(s);
	if (rc != 0 || s->phase != PHASE_PREFIX)
		return rc;
	struct par_task *t = task_new(p, PHASE_PREFIX);
	if (!t)
		return PYC_ENOMEM;
	t->w = s->w;
	s->w = NULL;
	enqueue(p, t);
	return push(p, t);
}

/* The reader runs task t itself; its records come straight from the sub-scan. */
static int run_inline(pyc_scan *s, struct par_task *t)
{
	pyc_walker *w = t->w;
	t->w = NULL;
	s->par->ran_inline++;
	return pyc_scan__sub_new(&s->par->inline_scan, s, w, t->phase, NULL);
}

int pyc_scan__par_next(pyc_scan *s, const pyc_scan_record **out)
{
	struct scan_par *p = s->par;
	int rc;
	if (!p->started) {
		p->started = true;
		struct par_task *root = task_new(p, PHASE_TREE);
		if (!root)
			return PYC_ENOMEM;
		root->w = s->w;
		s->w = NULL;
		enqueue(p, root);
		if ((rc = push(p, root)) < 0)
			return rc;
	}
	for (;;) {
		if (p->depth == 0) {
			if ((rc = next_phase(s)) != 0 || p->depth == 0) {
				if (rc == 1)
					*out = &s->rec;
				return rc;
			}
		}
		struct par_task *t = p->stack[p->depth - 1];
		if (p->inline_scan) {
			if ((rc = pyc_scan_next(p->inline_scan, out)) != 0)
				return rc;
			t->root_is_dir = p->inline_scan->root_is_dir;
			pyc_scan_free(p->inline_scan);
			p->inline_scan = NULL;
			pop(s);
			continue;
		}
		switch (fill(p, t)) {
		case FILL_DATA:
			if ((rc = read_item(s, t)) != 0) {
				if (rc == 1)
					*out = &s->rec;
				return rc;
			}
			break;
		case FILL_END:
			rc = t->rc;
			pop(s);
			if (rc < 0)
				return rc;
			break;
		case FILL_UNSTARTED:
			if ((rc = run_inline(s, t)) < 0)
				return rc;
			break;
		}
	}
}

/* ---- lifetime ---- */

int pyc_scan__par_start(pyc_scan *s)
{
	unsigned n = s->cfg->threads ? s->cfg->threads : usable_cpus();
	if (n > PAR_MAX_WORKERS)
		n = PAR_MAX_WORKERS;
	struct stat st;
	if (n <= 1 || stat(s->cfg->root, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;   /* sequential: nothing to split */
	struct scan_par *p = calloc(1, sizeof(*p));
	if (!p)
		return PYC_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->progress, NULL);
	pthread_cond_init(&p->room, NULL);
	atomic_init(&p->idle, 0);
	atomic_init(&p->queued, 0);
	atomic_init(&p->ntasks, 0);
	atomic_init(&p->skipped, 0);
	atomic_init(&p->quit, false);
	p->chunk_bytes = PAR_CHUNK_BYTES;
	p->task_cap = PAR_TASK_CAP;
	p->max_tasks = PAR_TASKS_PER_WORKER * n;
	p->top = s;
	s->par = p;
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&p->workers[p->nworkers], NULL, worker_main, p) != 0)
			break;   /* fewer workers, same records */
		p->nworkers++;
	}
	if (p->nworkers == 0)
		pyc_scan__par_stop(s);   /* no thread at all: scan sequentially */
	return 0;
}

void pyc_scan__par_tune(pyc_scan *s, const struct scan_par_tuning *t)
{
	struct scan_par *p = s->par;
	if (!p)
		return;
	p->chunk_bytes = t->chunk_bytes;
	p->task_cap = t->task_cap_bytes;
	p->max_tasks = t->max_tasks;
	p->reader_first = t->reader_first;
}

void pyc_scan__add_skipped(pyc_scan *s, size_t n)
{
	if (s->task)
		atomic_fetch_add_explicit(&s->task->par->skipped, n, memory_order_relaxed);
	else
		s->skipped += n;
}

/* A task's count is added before its last records are published, under p->mu, so the
 * reader sees every count once it has read every record. */
size_t pyc_scan_skipped(const pyc_scan *s)
{
	return s->skipped + (s->par ? atomic_load(&s->par->skipped) : 0);
}

void pyc_scan__par_counts(const pyc_scan *s, unsigned *tasks, unsigned *ran_inline)
{
	*tasks = s->par ? s->par->made : 0;
	*ran_inline = s->par ? s->par->ran_inline : 0;
}

void pyc_scan__par_stop(pyc_scan *s)
{
	struct scan_par *p = s->par;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->quit, true);
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->room);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	pyc_scan_free(p->inline_scan);
	while (p->all) {
		struct par_task *t = p->all;
		p->all = t->next_all;
		task_free(t);
	}
	free(p->stack);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->progress);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->mu);
	free(p);
	s->par = NULL;
}
