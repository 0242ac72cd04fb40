/*
 * pyc/importtime.h - what the bytecode caches buy: the import time of some modules with
 * the caches as they stand, with none, and with all of them fresh (docs/importtime.md).
 *
 * Three scenarios, each in fresh interpreter processes with PYTHONDONTWRITEBYTECODE=1, so
 * nothing is ever written into the user's tree or caches:
 *  - AS_IS:     the user's caches as they stand (their PYTHONPYCACHEPREFIX included);
 *  - NO_CACHES: `-X pycache_prefix=EMPTY`, an empty private directory: every import
 *               compiles, the standard library's too (the prefix applies to every module);
 *  - ALL_FRESH: `-X pycache_prefix=FRESH`, into which pyc-tool's compile engine first
 *               wrote a cache for every module the imports load from source.
 * The prefix arrived in 3.8: with 3.7 the last two are reported unavailable.
 * After one warm-up run per scenario (run with -v, to count what was loaded from a pyc
 * and what was compiled), the timed runs are interleaved, the order rotating each round.
 *
 *     pyc_importtime_opts o;
 *     pyc_importtime_opts_init(&o);
 *     o.modules = names; o.nmodules = n; o.runs = 5;
 *     pyc_importtime_result res;
 *     if (pyc_importtime_measure(&res, &o, &interp, &err) < 0) ...;
 *     ... pyc_importtime_modules(), pyc_importtime_spread() ...
 *     pyc_importtime_result_dispose(&res);
 */
#ifndef PYC_IMPORTTIME_H
#define PYC_IMPORTTIME_H

#include "common.h"
#include "interp.h"
#include "stale.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The -X importtime parser ------------------------------------------------------ */

/** parent of a top-level import */
#define PYC_IMPORTTIME_ROOT ((size_t)-1)

typedef struct pyc_importtime_node {
	char *name;          /**< the module as the line names it ("json.decoder") */
	long self_us;        /**< "self [us]" */
	long cum_us;         /**< "cumulative" */
	unsigned depth;      /**< nesting level from the indentation (0 = top level) */
	size_t parent;       /**< index of the importing module, or PYC_IMPORTTIME_ROOT */
} pyc_importtime_node;

/** The lines in output order, which is post-order: children before their parent. */
typedef struct pyc_importtime_tree {
	pyc_importtime_node *nodes;
	size_t n, cap;
} pyc_importtime_tree;

/**
 * Parse the stderr of `python -X importtime` (3.7 - 3.13 share one line format:
 * "import time: SELF | CUMULATIVE | <2 spaces per level>NAME"; the numbers are not
 * padded past their column when they grow). Other lines (the header, warnings,
 * tracebacks, -v chatter) are skipped. The tree is appended to *out (zeroed first by the
 * caller). Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_importtime_parse(pyc_importtime_tree *out, const char *text, size_t len);

/** Sum of the top-level imports' cumulative times, in microseconds. */
PYC_API long pyc_importtime_total(const pyc_importtime_tree *t);

PYC_API void pyc_importtime_tree_dispose(pyc_importtime_tree *t);

/* ---- Statistics ---------------------------------------------------------------------- */

/** min, median, max of v[0..n) (sorted in place; n > 0). */
typedef struct pyc_spread {
	double min, median, max;
} pyc_spread;
PYC_API pyc_spread pyc_importtime_spread(double *v, size_t n);

/** Whether two spreads overlap: a difference between them is within the noise. */
PYC_API bool pyc_importtime_overlap(const pyc_spread *a, const pyc_spread *b);

/* ---- Measuring --------------------------------------------------------------------- */

enum pyc_importtime_scenario {
	PYC_IMPORTTIME_AS_IS = 0,
	PYC_IMPORTTIME_NO_CACHES,
	PYC_IMPORTTIME_ALL_FRESH,
	PYC_IMPORTTIME_NSCENARIOS
};

/** "as-is", "no-caches", "all-fresh". */
PYC_API const char *pyc_importtime_scenario_name(enum pyc_importtime_scenario s);

typedef struct pyc_importtime_opts {
	const char *const *modules; /**< dotted module names, imported in this order */
	size_t nmodules;
	const char *const *paths;   /**< directories put first on PYTHONPATH */
	size_t npaths;
	unsigned runs;              /**< timed runs per scenario (>= 1) */
	unsigned jobs;              /**< compile workers for ALL_FRESH (>= 1) */
	/** Called before each process starts (done of total), e.g. for a progress line. */
	void (*progress)(unsigned done, unsigned total, void *ctx);
	void *progress_ctx;
} pyc_importtime_opts;

/** No modules, no paths, 5 runs, 2 jobs, no progress. */
PYC_API void pyc_importtime_opts_init(pyc_importtime_opts *o);

/** Whether `name` is a dotted module name that is safe to put in an import statement. */
PYC_API bool pyc_importtime_valid_module(const char *name);

/** One timed run. */
typedef struct pyc_importtime_sample {
	pyc_importtime_tree tree;  /**< the imports of the requested modules only */
	double wall_sec;           /**< the whole process, start-up included */
} pyc_importtime_sample;

typedef struct pyc_importtime_scenario_result {
	bool available;            /**< false for NO_CACHES and ALL_FRESH before 3.8 */
	size_t from_pyc;           /**< warm-up: modules loaded from a pyc (-v "X matches Y") */
	size_t compiled;           /**< warm-up: modules compiled from source */
	pyc_importtime_sample *samples;
	size_t nsamples;
} pyc_importtime_scenario_result;

/** A module the imports load from a source file, and the state of its cache as it is. */
typedef struct pyc_importtime_source {
	char *module;
	char *path;                /**< its source */
	char *cache;               /**< where the interpreter looks for its cache */
	enum pyc_state state;      /**< FRESH, STALE, CORRUPT or MISSING */
	enum pyc_reason reason;
	uint64_t cache_bytes;      /**< the user's cache file, 0 when missing */
	uint64_t fresh_bytes;      /**< the cache pyc-tool compiled (0 before 3.8) */
} pyc_importtime_source;

typedef struct pyc_importtime_result {
	pyc_importtime_scenario_result sc[PYC_IMPORTTIME_NSCENARIOS];
	pyc_importtime_source *sources; /**< sorted by module name */
	size_t nsources;
	unsigned runs;
} pyc_importtime_result;

/**
 * Run the scenarios for `interp` (3.7+, else PYC_EUNSUPPORTED). Everything is written
 * under one temporary directory ($TMPDIR or /tmp), removed before returning. Returns 0,
 * or PYC_EINVAL (a module name that is not one), PYC_EINTERP (an interpreter failed: err
 * holds its last line of stderr, e.g. "cannot import 'x': ModuleNotFoundError: ..."),
 * PYC_EIO, PYC_ENOMEM. *out is caller-owned (dispose it whatever the return).
 */
PYC_API int pyc_importtime_measure(pyc_importtime_result *out, const pyc_importtime_opts *o,
                                   const pyc_interp *interp, pyc_error *err);

PYC_API void pyc_importtime_result_dispose(pyc_importtime_result *r);

/* ---- Per-module medians ------------------------------------------------------------ */

typedef struct pyc_importtime_module {
	const char *name;           /**< borrowed from the result */
	double self_us[PYC_IMPORTTIME_NSCENARIOS];  /**< medians over the runs (0 if absent) */
	double cum_us[PYC_IMPORTTIME_NSCENARIOS];
	double saving_us;           /**< self NO_CACHES - self ALL_FRESH; 0 when those are
	                                 unavailable (3.7) */
} pyc_importtime_module;

/**
 * Every module imported in any run, with its median times per scenario, sorted by
 * saving (largest first; ties by name). *out is caller-owned (free()); it borrows names
 * from r. Returns 0 or PYC_ENOMEM.
 */
PYC_API int pyc_importtime_modules(pyc_importtime_module **out, size_t *n,
                                   const pyc_importtime_result *r);

#ifdef __cplusplus
}
#endif
#endif
