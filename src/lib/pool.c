/*
 * The compile engine: see include/pyc/pool.h and docs/compile-engine.md.
 *
 * Each slot owns at most one worker process and up to DEPTH jobs: the first one runs, the
 * others wait as request frames on the socket (the worker reads them one after the other),
 * so a worker starts its next job as soon as it has sent a reply, while the caller's
 * thread is still writing that reply's files. All I/O is non-blocking on a socketpair
 * (send with MSG_NOSIGNAL, so a dead worker is EPIPE, never SIGPIPE) and driven by poll()
 * in the caller's thread; a worker stuck in compile() can therefore always be timed out.
 * A worker that dies or times out is reaped at once (no zombies) and fails only the job it
 * was running; the jobs queued behind it go to a fresh worker in the same slot.
 */
#include "pyc/pool.h"
#include "interp_internal.h"
#include "interrupt_internal.h"
#include "proc_internal.h"
#include "worker_script_internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define IO_CHUNK (256u * 1024)
#define FRAME_MAX 0xffffffffu

/* Jobs in flight per worker: the running one and one waiting on the socket. */
#define DEPTH 2

typedef struct worker {
	pyc_proc proc;      /* pid -1 / sock -1 when not running (then njobs is 0) */
	pyc_job *jobs[DEPTH]; /* in request order: jobs[0] runs, the rest wait their turn */
	unsigned njobs;
	pyc_buf out;        /* request bytes not yet sent */
	size_t out_off;
	pyc_buf in;         /* reply bytes received so far */
	bool ready;         /* the hello frame arrived */
	double deadline;    /* jobs[0]'s, 0 = none */
} worker;

struct pyc_pool {
	char *exe;
	char **envp;        /* a copy of environ + PYTHONHASHSEED=0 unless set */
	unsigned jobs;
	double timeout;
	pyc_job_done_fn on_done;
	void *ctx;
	worker *w;
	unsigned started;
	unsigned busy;
	int fatal;          /* set when workers cannot start at all */
	pyc_error fatal_err;
	size_t more;        /* the caller's backlog (pyc_pool_expect); SIZE_MAX: not said */
	bool greeted;       /* the first hello arrived: its payload is in hello */
	pyc_buf hello;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int build_env(pyc_pool *pool)
{
	size_t n = 0, k = 0;
	bool has_seed = getenv("PYTHONHASHSEED") != NULL;

	while (environ[n])
		n++;
	pool->envp = calloc(n + 2, sizeof(char *));
	if (!pool->envp)
		return PYC_ENOMEM;
	/* Copies: the caller may change its environment while the pool lives. */
	for (; k < n; k++)
		if (!(pool->envp[k] = strdup(environ[k])))
			return PYC_ENOMEM;
	if (!has_seed && !(pool->envp[k] = strdup("PYTHONHASHSEED=0")))
		return PYC_ENOMEM;
	return 0;
}

int pyc_pool_new(pyc_pool **out, const pyc_interp *interp, unsigned jobs, double timeout_sec,
                 pyc_job_done_fn on_done, void *ctx, pyc_error *err)
{
	*out = NULL;
	if (interp->major != 3 || interp->minor < 6)
		return pyc_error_set(err, PYC_EUNSUPPORTED, 0,
		                     "cannot compile for '%s': CPython %d.%d is not supported "
		                     "(3.6 or later is needed)", interp->exe, interp->major,
		                     interp->minor);
	pyc_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	pool->jobs = jobs ? jobs : 1;
	pool->timeout = timeout_sec > 0 ? timeout_sec : 0;
	pool->on_done = on_done;
	pool->ctx = ctx;
	pool->more = SIZE_MAX;
	/*
	 * A pyenv shim costs a bash and a pyenv run per worker only to exec the binary the
	 * probe already named (sys.executable, validated by the probe cache): go there directly.
	 */
	bool direct = interp->executable && interp->executable[0] == '/' &&
	              pyc_interp__is_pyenv_shim(interp->exe);
	pool->exe = strdup(direct ? interp->executable : interp->exe);
	pool->w = calloc(pool->jobs, sizeof(worker));
	if (!pool->exe || !pool->w || build_env(pool) != 0) {
		pyc_pool_free(pool);
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	}
	for (unsigned i = 0; i < pool->jobs; i++)
		pool->w[i].proc.pid = pool->w[i].proc.sock = -1;
	*out = pool;
	return 0;
}

unsigned pyc_pool_started(const pyc_pool *pool)
{
	return pool ? pool->started : 0;
}

long pyc_pool_worker_pid(const pyc_pool *pool, unsigned slot)
{
	if (!pool || slot >= pool->jobs || pool->w[slot].proc.pid <= 0)
		return -1;
	return (long)pool->w[slot].proc.pid;
}

/* Kill (if still running) and reap a worker; returns its wait status or -1. */
static int stop_worker(worker *w, bool kill_it)
{
	if (w->proc.pid <= 0)
		return -1;
	if (kill_it)
		kill(w->proc.pid, SIGKILL);
	/* Before the reap frees the pid for reuse. */
	pyc_interrupt__forget_pid(w->proc.pid);
	pyc_proc__close(&w->proc);
	int status = pyc_proc__wait(&w->proc);
	w->ready = false;
	pyc_buf_clear(&w->in);
	pyc_buf_clear(&w->out);
	w->out_off = 0;
	return status;
}

static void describe_status(pyc_buf *b, int status)
{
	if (status >= 0 && WIFSIGNALED(status))
		pyc_buf_printf(b, "killed by signal %d", WTERMSIG(status));
	else if (status >= 0 && WIFEXITED(status))
		pyc_buf_printf(b, "exited with status %d", WEXITSTATUS(status));
	else
		pyc_buf_puts(b, "vanished");
}

/* Seconds a worker may take to start, on top of the job's own timeout. */
#define STARTUP_GRACE 30.0

/* jobs[0]'s deadline, counted from now: it starts running now (it was just sent to an
 * idle worker, or the worker just replied to the job before it). */
static void arm_deadline(pyc_pool *pool, worker *w)
{
	w->deadline = pool->timeout <= 0 || w->njobs == 0 ? 0 :
	              pyc_proc__now() + pool->timeout + (w->ready ? 0 : STARTUP_GRACE);
}

/* Hand jobs[0] back to the caller with its outcome; the next queued job (already sent,
 * the worker is on it now) becomes jobs[0]. */
static void finish(pyc_pool *pool, worker *w, int status)
{
	pyc_job *job = w->jobs[0];

	for (unsigned i = 1; i < w->njobs; i++)
		w->jobs[i - 1] = w->jobs[i];
	w->jobs[--w->njobs] = NULL;
	arm_deadline(pool, w);
	pool->busy--;
	job->status = status;
	if (pool->on_done)
		pool->on_done(job, pool->ctx);
}

static int spawn_worker(pyc_pool *pool, worker *w, pyc_error *err);
static int encode_request(pyc_buf *out, size_t out_off, const pyc_job *job);

/* The slot's worker is gone (reaped) with jobs still queued that it never started: send
 * them to a fresh worker in the same slot, or fail them when no worker can start. */
static void resubmit_queued(pyc_pool *pool, worker *w)
{
	pyc_error e = { 0 };

	if (w->njobs == 0)
		return;
	if (!pool->fatal && spawn_worker(pool, w, &e) == 0) {
		unsigned sent = 0;
		while (sent < w->njobs && encode_request(&w->out, w->out_off, w->jobs[sent]) == 0)
			sent++;
		while (w->njobs > sent) {
			/* Out of memory for its frame: fail it rather than leave it waiting forever. */
			pyc_job *job = w->jobs[--w->njobs];
			w->jobs[w->njobs] = NULL;
			pool->busy--;
			pyc_buf_clear(&job->error_text);
			pyc_buf_puts(&job->error_text, "out of memory");
			job->status = PYC_EINTERP;
			if (pool->on_done)
				pool->on_done(job, pool->ctx);
		}
		arm_deadline(pool, w);
		return;          /* the poll loop sends the frames */
	}
	while (w->njobs > 0) {
		pyc_buf_clear(&w->jobs[0]->error_text);
		pyc_buf_puts(&w->jobs[0]->error_text, pool->fatal_err.message);
		finish(pool, w, PYC_EINTERP);
	}
}

/* The worker died or broke the protocol: fail the job it was running, reap it; the jobs
 * queued behind it go to a fresh worker. */
static void worker_lost(pyc_pool *pool, worker *w, const char *what)
{
	bool was_ready = w->ready;
	int status = stop_worker(w, true);
	pyc_job *job = w->jobs[0];

	pyc_buf_clear(&job->error_text);
	pyc_buf_printf(&job->error_text, "compile worker '%s' %s", pool->exe, what);
	if (!*what)
		describe_status(&job->error_text, status);
	if (!was_ready && !pool->fatal) {
		/* It never got as far as saying hello: every restart would fail the same way. */
		pool->fatal = PYC_EINTERP;
		pyc_error_set(&pool->fatal_err, PYC_EINTERP, 0,
		              "cannot start a compile worker: %s", pyc_buf_cstr(&job->error_text));
	}
	finish(pool, w, PYC_EINTERP);
	resubmit_queued(pool, w);
}

static int spawn_worker(pyc_pool *pool, worker *w, pyc_error *err)
{
	char *argv[] = { pool->exe, (char *)"-c", (char *)pyc_worker_script__text, NULL };
	int rc = pyc_proc__spawn(&w->proc, argv, pool->envp, PYC_PROC_SOCK3 | PYC_PROC_NULLOUT, err);

	if (rc < 0) {
		pool->fatal = PYC_EINTERP;
		if (err)
			pool->fatal_err = *err;
		return rc;
	}
	pyc_interrupt__note_pid(w->proc.pid);
	pool->started++;
	w->ready = false;
	return 0;
}

/* An idle worker is still usable unless it hung up (died) while we were not looking. */
static bool idle_alive(worker *w)
{
	struct pollfd p = { w->proc.sock, POLLIN, 0 };

	return poll(&p, 1, 0) == 0;
}

/* Append job's request frame to out (whose first out_off bytes are already sent); out is
 * unchanged on failure. */
static int encode_request(pyc_buf *out, size_t out_off, const pyc_job *job)
{
	size_t dlen = strlen(job->dfile);
	uint8_t word[4];
	size_t body = 4 + 4 * job->nlevels + 4 + 4 + dlen + job->source_len;
	uint32_t drop = 0;

	for (size_t i = 0; i < job->nlevels; i++)
		drop |= (uint32_t)job->discard[i] << i;

	if (dlen > FRAME_MAX || job->source_len > FRAME_MAX || body > FRAME_MAX)
		return PYC_EINVAL;
	if (out_off >= out->len)
		pyc_buf_clear(out);
	if (pyc_buf_grow(out, body + 4) < 0)
		return PYC_ENOMEM;
	put_u32(word, (uint32_t)body);
	pyc_buf_put(out, word, 4);
	put_u32(word, (uint32_t)job->nlevels);
	pyc_buf_put(out, word, 4);
	for (size_t i = 0; i < job->nlevels; i++) {
		put_u32(word, (uint32_t)job->levels[i]);
		pyc_buf_put(out, word, 4);
	}
	put_u32(word, drop);
	pyc_buf_put(out, word, 4);
	put_u32(word, (uint32_t)dlen);
	pyc_buf_put(out, word, 4);
	pyc_buf_put(out, job->dfile, dlen);
	pyc_buf_put(out, job->source, job->source_len);
	return 0;
}

/* Send what the socket takes now: 0 (maybe more pending), -1 when the worker is gone. */
static int flush_out(worker *w)
{
	while (w->out_off < w->out.len) {
		size_t n = w->out.len - w->out_off;
		ssize_t sent = send(w->proc.sock, w->out.ptr + w->out_off, n > IO_CHUNK ? IO_CHUNK : n,
		                    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		w->out_off += (size_t)sent;
	}
	pyc_buf_clear(&w->out);
	w->out_off = 0;
	return 0;
}

/* Take what has arrived: 0, or -1 on EOF / error (after keeping what came before it). */
static int read_in(worker *w)
{
	for (;;) {
		if (pyc_buf_grow(&w->in, IO_CHUNK) < 0)
			return -1;
		ssize_t got = recv(w->proc.sock, w->in.ptr + w->in.len, IO_CHUNK, MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		if (got == 0)
			return -1;
		w->in.len += (size_t)got;
		w->in.ptr[w->in.len] = '\0';
	}
}

/* A length-prefixed field at *pos of p[0..len); false when it overruns. */
static bool take_field(const uint8_t *p, size_t len, size_t *pos, const uint8_t **data,
                       size_t *n)
{
	if (len - *pos < 4)
		return false;
	*n = get_u32(p + *pos);
	*pos += 4;
	if (len - *pos < *n)
		return false;
	*data = p + *pos;
	*pos += *n;
	return true;
}

/* The last field of a reply: what the compiles printed on stderr. */
static bool take_warnings(pyc_job *job, const uint8_t *p, size_t len, size_t *pos)
{
	const uint8_t *data;
	size_t n;

	return take_field(p, len, pos, &data, &n) && pyc_buf_put(&job->warnings, data, n) == 0 &&
	       *pos == len;
}

/* Fill the job from an 'R' or 'E' payload; false when the payload is malformed. */
static bool take_reply(pyc_job *job, const uint8_t *p, size_t len, int *status)
{
	size_t pos = 1, n;
	const uint8_t *data;

	if (p[0] == 'E') {
		*status = PYC_ECOMPILE;
		return take_field(p, len, &pos, &data, &n) &&
		       pyc_buf_put(&job->error_type, data, n) == 0 &&
		       take_field(p, len, &pos, &data, &n) &&
		       pyc_buf_put(&job->error_text, data, n) == 0 &&
		       take_warnings(job, p, len, &pos);
	}
	*status = 0;
	size_t kept = 0;
	for (size_t i = 0; i < job->nlevels; i++)
		kept += !job->discard[i];
	if (len < 5 || get_u32(p + 1) != kept)
		return false;
	pos = 5;
	for (size_t i = 0; i < kept; i++)
		if (!take_field(p, len, &pos, &data, &n) || pyc_buf_put(&job->body[i], data, n) < 0)
			return false;
	return take_warnings(job, p, len, &pos);
}

/* Act on every complete frame received; -1 on a protocol violation. */
static int take_frames(pyc_pool *pool, worker *w)
{
	while (w->in.len >= 4) {
		const uint8_t *p = (const uint8_t *)w->in.ptr;
		size_t len = get_u32(p);
		if (w->in.len - 4 < len)
			return 0;
		p += 4;
		if (len == 0)
			return -1;
		if (p[0] == 'H' && !w->ready) {
			w->ready = true;
			arm_deadline(pool, w);
			if (!pool->greeted)
				pool->greeted = pyc_buf_put(&pool->hello, p + 1, len - 1) == 0;
		} else if ((p[0] == 'R' || p[0] == 'E') && w->njobs > 0 && w->ready) {
			int status;
			if (!take_reply(w->jobs[0], p, len, &status))
				return -1;
			finish(pool, w, status);
		} else {
			return -1;
		}
		size_t rest = w->in.len - 4 - len;
		memmove(w->in.ptr, w->in.ptr + 4 + len, rest);
		pyc_buf_truncate(&w->in, rest);
	}
	return 0;
}

static void on_ready_io(pyc_pool *pool, worker *w, short revents)
{
	if ((revents & POLLOUT) && flush_out(w) != 0) {
		worker_lost(pool, w, "");
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	int eof = read_in(w);
	if (take_frames(pool, w) != 0) {
		if (w->njobs > 0)
			worker_lost(pool, w, "broke the protocol");
		else
			stop_worker(w, true);
		return;
	}
	if (eof && w->njobs > 0)
		worker_lost(pool, w, "");
	else if (eof)
		stop_worker(w, true);
}

/* jobs[0] ran past its deadline: kill the worker, fail that job, requeue the others. */
static void expire(pyc_pool *pool, worker *w)
{
	stop_worker(w, true);
	pyc_buf_clear(&w->jobs[0]->error_text);
	pyc_buf_printf(&w->jobs[0]->error_text, "compiling took longer than %g seconds",
	               pool->timeout);
	finish(pool, w, PYC_ETIMEOUT);
	resubmit_queued(pool, w);
}

/* Wait until at least one busy worker has made progress; handles results and timeouts. */
static int wait_some(pyc_pool *pool, pyc_error *err)
{
	struct pollfd fds[pool->jobs];
	unsigned idx[pool->jobs], n = 0;
	double now = pyc_proc__now(), next = 0;

	for (unsigned i = 0; i < pool->jobs; i++) {
		worker *w = &pool->w[i];
		if (w->njobs == 0)
			continue;
		fds[n] = (struct pollfd){ w->proc.sock, POLLIN, 0 };
		if (w->out.len > w->out_off)
			fds[n].events |= POLLOUT;
		idx[n++] = i;
		if (w->deadline > 0 && (next == 0 || w->deadline < next))
			next = w->deadline;
	}
	if (n == 0)
		return 0;
	int ms = next == 0 ? -1 : next <= now ? 0 : (int)((next - now) * 1000.0) + 1;
	int got = poll(fds, n, ms);
	if (got < 0 && errno != EINTR)
		return pyc_error_set(err, PYC_EIO, errno, "cannot wait for the compile workers");
	for (unsigned k = 0; got > 0 && k < n; k++)
		if (fds[k].revents)
			on_ready_io(pool, &pool->w[idx[k]], fds[k].revents);
	now = pyc_proc__now();
	for (unsigned k = 0; k < n; k++) {
		worker *w = &pool->w[idx[k]];
		if (w->njobs > 0 && w->deadline > 0 && now >= w->deadline)
			expire(pool, w);
	}
	return 0;
}

void pyc_pool_expect(pyc_pool *pool, size_t more)
{
	pool->more = more;
}

/* Whether a job that finds no idle worker may start one more, `running` being up. */
static bool worth_starting(const pyc_pool *pool, unsigned running)
{
	return running == 0 || pool->more >= (size_t)running * PYC_POOL_JOBS_PER_WORKER;
}

/* Where the next job goes: an idle running worker (so no more interpreters start than
 * there is work for), else an empty slot (start one more) when worth it, else behind the
 * job of a worker with room in its queue; NULL when every queue is full. */
static worker *pick_slot(pyc_pool *pool)
{
	worker *empty = NULL, *queue = NULL;
	unsigned running = 0;

	for (unsigned i = 0; i < pool->jobs; i++) {
		worker *w = &pool->w[i];
		if (w->proc.pid > 0 && w->njobs == 0)
			return w;
		if (w->proc.pid <= 0 && !empty)
			empty = w;
		if (w->proc.pid > 0) {
			running++;
			if (w->njobs < DEPTH && (!queue || w->njobs < queue->njobs))
				queue = w;
		}
	}
	return empty && worth_starting(pool, running) ? empty : queue;
}

static void reset_results(pyc_job *job)
{
	job->status = 0;
	for (size_t i = 0; i < PYC_JOB_MAX_LEVELS; i++)
		pyc_buf_clear(&job->body[i]);
	pyc_buf_clear(&job->error_text);
	pyc_buf_clear(&job->error_type);
	pyc_buf_clear(&job->warnings);
}

static int fatal_error(pyc_pool *pool, pyc_error *err)
{
	if (err)
		*err = pool->fatal_err;
	return pool->fatal;
}

int pyc_pool_submit(pyc_pool *pool, pyc_job *job, pyc_error *err)
{
	worker *w;
	int rc;

	if (job->nlevels < 1 || job->nlevels > PYC_JOB_MAX_LEVELS || !job->dfile)
		return pyc_error_set(err, PYC_EINVAL, 0, "a compile job needs 1 to %d levels and a dfile",
		                     PYC_JOB_MAX_LEVELS);
	while (!pool->fatal && !(w = pick_slot(pool)))
		if ((rc = wait_some(pool, err)) < 0)
			return rc;
	if (pool->fatal)
		return fatal_error(pool, err);
	if (w->proc.pid > 0 && w->njobs == 0 && !idle_alive(w))
		stop_worker(w, true);
	if (w->proc.pid <= 0 && spawn_worker(pool, w, err) < 0)
		return pool->fatal;
	reset_results(job);
	if ((rc = encode_request(&w->out, w->out_off, job)) < 0)
		return pyc_error_set(err, rc, 0, rc == PYC_ENOMEM ? "out of memory" :
		                     "'%s' is too large to compile", job->dfile);
	w->jobs[w->njobs++] = job;
	pool->busy++;
	if (w->njobs == 1)
		arm_deadline(pool, w);
	if (flush_out(w) != 0)
		worker_lost(pool, w, "");
	return 0;
}

/* The first worker failed before its hello: no worker will start (as in worker_lost). */
static int hello_failed(pyc_pool *pool, worker *w, const char *why, pyc_error *err)
{
	pyc_buf text = PYC_BUF_INIT;
	int status = stop_worker(w, true);

	pyc_buf_printf(&text, "compile worker '%s' %s", pool->exe, why);
	if (!*why)
		describe_status(&text, status);
	pool->fatal = PYC_EINTERP;
	pyc_error_set(&pool->fatal_err, PYC_EINTERP, 0, "cannot start a compile worker: %s",
	              pyc_buf_cstr(&text));
	pyc_buf_dispose(&text);
	return fatal_error(pool, err);
}

int pyc_pool_hello(pyc_pool *pool, const char **data, size_t *len, pyc_error *err)
{
	worker *w = &pool->w[0];
	double deadline = pyc_proc__now() + STARTUP_GRACE + pool->timeout;

	while (!pool->greeted && !pool->fatal) {
		if (w->proc.pid <= 0 && spawn_worker(pool, w, err) < 0)
			break;
		struct pollfd p = { w->proc.sock, POLLIN, 0 };
		double left = deadline - pyc_proc__now();
		if (left <= 0)
			return hello_failed(pool, w, "did not say hello in time", err);
		int got = poll(&p, 1, (int)(left * 1000.0) + 1);
		if (got < 0 && errno != EINTR)
			return pyc_error_set(err, PYC_EIO, errno, "cannot wait for the compile workers");
		if (got <= 0)
			continue;
		int eof = read_in(w);
		if (take_frames(pool, w) != 0)
			return hello_failed(pool, w, "broke the protocol", err);
		if (eof && !w->ready)
			return hello_failed(pool, w, "", err);
	}
	if (pool->fatal)
		return fatal_error(pool, err);
	*data = pool->hello.ptr ? pool->hello.ptr : "";
	*len = pool->hello.len;
	return 0;
}

int pyc_pool_drain(pyc_pool *pool, pyc_error *err)
{
	while (pool->busy > 0) {
		int rc = wait_some(pool, err);
		if (rc < 0)
			return rc;
	}
	return pool->fatal ? fatal_error(pool, err) : 0;
}

void pyc_pool_free(pyc_pool *pool)
{
	if (!pool)
		return;
	if (pool->w) {
		/* Idle workers exit on EOF; close every socket first so they finish together. */
		for (unsigned i = 0; i < pool->jobs; i++) {
			worker *w = &pool->w[i];
			if (w->njobs > 0 && w->proc.pid > 0)
				kill(w->proc.pid, SIGKILL);
			pyc_proc__close(&w->proc);
		}
		for (unsigned i = 0; i < pool->jobs; i++) {
			if (pool->w[i].proc.pid > 0)
				pyc_interrupt__forget_pid(pool->w[i].proc.pid);
			pyc_proc__wait(&pool->w[i].proc);
			pyc_buf_dispose(&pool->w[i].in);
			pyc_buf_dispose(&pool->w[i].out);
		}
	}
	free(pool->w);
	pyc_buf_dispose(&pool->hello);
	for (size_t i = 0; pool->envp && pool->envp[i]; i++)
		free(pool->envp[i]);
	free(pool->envp);
	free(pool->exe);
	free(pool);
}

void pyc_job_dispose(pyc_job *job)
{
	if (!job)
		return;
	for (size_t i = 0; i < PYC_JOB_MAX_LEVELS; i++)
		pyc_buf_dispose(&job->body[i]);
	pyc_buf_dispose(&job->error_text);
	pyc_buf_dispose(&job->error_type);
	pyc_buf_dispose(&job->warnings);
}
