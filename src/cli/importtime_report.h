/*
 * importtime_report.h - what `pyc-tool importtime` concludes from a measurement, and its
 * three renderings: the human table (importtime_report.c), JSON Lines (same file) and the
 * SVG icicle chart (importtime_svg.c). docs/importtime.md.
 */
#ifndef PYC_CLI_IMPORTTIME_REPORT_H
#define PYC_CLI_IMPORTTIME_REPORT_H

#include "pyc/importtime.h"
#include "out.h"

#include <stdio.h>

/* Short names for the scenarios, used as array indices. */
enum { IT_AS_IS = PYC_IMPORTTIME_AS_IS, IT_NONE = PYC_IMPORTTIME_NO_CACHES,
       IT_FRESH = PYC_IMPORTTIME_ALL_FRESH, IT_NSC = PYC_IMPORTTIME_NSCENARIOS };

/* "as it is", "no caches", "all fresh". */
extern const char *const it_scenario_labels[IT_NSC];

typedef struct it_report {
	const pyc_importtime_result *r;
	const pyc_interp *interp;
	const char *const *modules;      /* as requested */
	size_t nmodules;
	pyc_importtime_module *mods;     /* sorted by saving, owned */
	size_t nmods, top;               /* top: how many to show */
	pyc_spread total[PYC_IMPORTTIME_NSCENARIOS];  /* import time, microseconds */
	pyc_spread wall[PYC_IMPORTTIME_NSCENARIOS];   /* process wall time, seconds */
	size_t nstate[PYC_STATE_MISSING + 1];         /* as-is verdicts of the sources */
	uint64_t user_bytes, fresh_bytes;
	size_t user_files, fresh_files;
	char *fix;                       /* the command that fixes the caches, or NULL */
} it_report;

/* Conclude; the report borrows r and interp. Returns 0 or -1 (out of memory). */
int it_report_build(it_report *rep, const pyc_importtime_result *r, const pyc_interp *interp,
                    size_t top);
void it_report_dispose(it_report *rep);

/* Whether scenario s was measured (it is unavailable before 3.8). */
bool it_report_has(const it_report *rep, int s);

/* What a module's cache costs as it is: its median self time as it is minus all fresh,
 * in ms, into *ms. False when not measured (imported at start-up, or before 3.8). */
bool it_report_cost(const it_report *rep, const char *module, double *ms);

/* Whether the caches of this run's modules are not all fresh (the exit status 1). */
bool it_report_findings(const it_report *rep);

void it_report_human(const it_report *rep, const out_style *st, bool bars);
void it_report_json(const it_report *rep);

/* The icicle chart; 0, or -1 when writing failed. */
int it_report_svg(FILE *f, const it_report *rep);

#endif
