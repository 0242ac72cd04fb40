/*
 * pyc/pool.h - the compile engine: a pool of long-lived worker interpreters.
 *
 * Only turning source text into a code object runs in Python. pyc-tool reads the source,
 * sends it to a worker over a pipe in length-prefixed binary frames (any file name, any
 * bytes), and gets back marshal.dumps(code) per requested optimisation level, or the error
 * text compileall would print. Workers start lazily on the first submit (a no-op run
 * starts no interpreter), at most one per job slot, each with up to two jobs in flight (one
 * running, one queued on its socket), and a caller that says how many jobs are coming
 * (pyc_pool_expect) gets a second worker only when there is work enough for it; a worker that crashes or exceeds the timeout fails
 * only the job it was running, is replaced, and the replacement gets the queued job.
 * Single-threaded: the caller's thread drives poll().
 *
 *     pyc_pool *pool;
 *     pyc_pool_new(&pool, &interp, jobs, timeout, on_done, ctx, &err);
 *     for each file: fill a pyc_job; pyc_pool_submit(pool, job, &err);  // may call on_done
 *     pyc_pool_drain(pool, &err);                                         // calls on_done
 *     pyc_pool_free(pool);
 */
#ifndef PYC_POOL_H
#define PYC_POOL_H

#include "common.h"
#include "buf.h"
#include "interp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pyc_pool pyc_pool;

#define PYC_JOB_MAX_LEVELS 8

/**
 * One source to compile at one or more optimisation levels. Caller-owned: zero it before
 * its first submit (the out buffers are reused by later submits of the same struct) and
 * release them with pyc_job_dispose.
 */
typedef struct pyc_job {
	/* in */
	const uint8_t *source;      /**< source bytes (borrowed until on_done) */
	size_t source_len;
	const char *dfile;          /**< name compiled into co_filename / error messages: any
	                                 bytes but NUL (the worker applies os.fsdecode) */
	int levels[PYC_JOB_MAX_LEVELS]; /**< optimize= values, -1 = interpreter default, in
	                                     the order compile() is called */
	bool discard[PYC_JOB_MAX_LEVELS]; /**< compile and marshal this level like the others
	                                     but return no body: compileall compiles it into a
	                                     pyc a later level overwrites, and that compile
	                                     changes what the later one's marshal data looks
	                                     like (3.12 interning) */
	size_t nlevels;
	void *user;                 /**< caller's context, untouched */
	/* out, valid in on_done */
	int status;                 /**< 0, PYC_ECOMPILE, PYC_ETIMEOUT or PYC_EINTERP (crash) */
	pyc_buf body[PYC_JOB_MAX_LEVELS]; /**< marshal.dumps(code) per level not discarded,
	                                       in order: body[k] is the k-th kept level's
	                                       (status 0) */
	pyc_buf error_text;         /**< PYC_ECOMPILE: py_compile.PyCompileError(...).msg as
	                                 UTF-8 (unencodable characters backslash-escaped, as
	                                 compileall prints it on a UTF-8 stdout), no trailing
	                                 newline added; otherwise a one-line reason */
	pyc_buf error_type;         /**< PYC_ECOMPILE: the exception class name, e.g.
	                                 "SyntaxError", "IndentationError", "UnicodeDecodeError",
	                                 "ValueError" (null bytes before 3.12) */
	pyc_buf warnings;           /**< status 0 or PYC_ECOMPILE: what the compiles wrote to
	                                 sys.stderr (SyntaxWarning lines...), as bytes in its
	                                 encoding: what compileall's process writes to its
	                                 stderr for this file; often empty */
} pyc_job;

/**
 * Called once per accepted job, from inside submit/drain, after which the pool no longer
 * touches the job. It must not call back into the pool.
 */
typedef void (*pyc_job_done_fn)(pyc_job *job, void *ctx);

/**
 * Make a pool for `interp` with `jobs` worker slots (>= 1) and a per-job timeout in
 * seconds (0 = none). Workers get PYTHONHASHSEED=0 unless the environment sets it.
 * Nothing is started yet. Returns 0, PYC_ENOMEM, or PYC_EUNSUPPORTED when interp is not
 * CPython 3.6 or later (compiling for 2.7 is not supported).
 */
PYC_API int pyc_pool_new(pyc_pool **out, const pyc_interp *interp, unsigned jobs,
                         double timeout_sec, pyc_job_done_fn on_done, void *ctx, pyc_error *err);

/**
 * Hand a job to an idle worker, else to a new worker in an empty slot (see
 * pyc_pool_expect), else queue it behind a worker's only job; when every worker has two, wait for one to finish first
 * (calling on_done for it). Returns 0 when the job was accepted (on_done
 * will be called for it exactly once), or an error and on_done is not called for it:
 * PYC_EINTERP when no worker can be started at all (err says why; a worker that dies
 * before it is ready makes the pool fail every later submit the same way), PYC_EINVAL for
 * a job with no or too many levels or a source over 4 GiB.
 */
PYC_API int pyc_pool_submit(pyc_pool *pool, pyc_job *job, pyc_error *err);

/**
 * Say that about `more` jobs will be submitted after the next one (an upper bound is
 * fine). Until a caller says so, or while it says SIZE_MAX (not known), every slot gets
 * a worker as soon as two jobs overlap. Otherwise a submit that finds no idle worker
 * starts another one only while at least PYC_POOL_JOBS_PER_WORKER jobs wait per worker
 * running, and else queues the job behind a running worker's. A worker costs an
 * interpreter start (about 35 ms of CPU with the modules compileall has loaded): a
 * handful of files compile sooner in the worker that is already up than it takes another
 * one to start.
 */
PYC_API void pyc_pool_expect(pyc_pool *pool, size_t more);

/** Jobs that must wait per running worker before pyc_pool_expect lets one more start. */
#define PYC_POOL_JOBS_PER_WORKER 16

/**
 * Start the first worker if none has started, and wait for its hello: *data and *len are
 * what it said after 'H' (records in the probe's format: version, magic, tag, optimize,
 * prefix; docs/compile-engine.md, "Protocol"), valid while the pool lives. The caller
 * checks a cached probe with it instead of starting one more interpreter. Returns 0, or
 * PYC_EINTERP when the worker cannot start (as for pyc_pool_submit).
 */
PYC_API int pyc_pool_hello(pyc_pool *pool, const char **data, size_t *len, pyc_error *err);

/** Wait for every submitted job, calling on_done for each. Returns 0 or a fatal error. */
PYC_API int pyc_pool_drain(pyc_pool *pool, pyc_error *err);

/** Workers started so far (0 after a no-op run). */
PYC_API unsigned pyc_pool_started(const pyc_pool *pool);

/** For tests: the pid of slot's worker process, or -1 when none is running. */
PYC_API long pyc_pool_worker_pid(const pyc_pool *pool, unsigned slot);

/** Stop the workers and free the pool. NULL is a no-op. */
PYC_API void pyc_pool_free(pyc_pool *pool);

/** Release a job's result buffers (not the job itself). */
PYC_API void pyc_job_dispose(pyc_job *job);

#ifdef __cplusplus
}
#endif
#endif
