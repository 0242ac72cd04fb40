/*
 * progress.h - one progress line on stderr for the long commands (compile, clean), in
 * uv's manner: redrawn in place at most 10 times a second, shown only after the run has
 * taken PYC_PROGRESS_DELAY seconds (0.5 by default, like git's GIT_PROGRESS_DELAY, so
 * short runs print nothing), and erased when the run ends or before any other line.
 * Nothing at all unless stderr is a terminal that can redraw: not with TERM=dumb (no
 * cursor movement), and the commands turn it off for -q, --json and listing modes.
 */
#ifndef PYC_CLI_PROGRESS_H
#define PYC_CLI_PROGRESS_H

#include "cli.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_progress {
	bool on;           /* may draw at all */
	bool shown;        /* a line is on the terminal now */
	bool utf8;         /* the locale can show "≥" */
	unsigned cols;     /* terminal width: the line must never wrap, or \r cannot erase it */
	const char *what;  /* "compile", "clean" */
	double started, last, delay;
} cli_progress;

/* Start the clock. `wanted`: the command's own conditions (not -q, not --json...). */
void cli_progress_init(cli_progress *p, const char *what, const cli_ctx *ctx, bool wanted);

/*
 * Redraw if it is time: "pyc-tool compile: 1234/≥5000 files, 850/s" while the total is
 * still growing (the walk runs ahead of the work), "1234/5000 files, 850/s, 4s left" once
 * total_final. With total 0 there is no total: "1234 files, 850/s". `extra` (may be NULL)
 * is appended after a comma ("1.2 MiB").
 */
void cli_progress_update(cli_progress *p, size_t done, size_t total, bool total_final,
                         const char *unit, const char *extra);

/* Erase the line, if one is shown (before other output, and at the end). */
void cli_progress_clear(cli_progress *p);

#endif
