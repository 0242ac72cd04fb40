/*
 * progress.c - the progress line of compile and clean (progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_DELAY_DEFAULT 0.5
#define PROGRESS_INTERVAL 0.1

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first of LC_ALL, LC_CTYPE, LANG that is set decides, as setlocale() would. */
static bool locale_is_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

static double delay_from_env(void)
{
	const char *v = getenv("PYC_PROGRESS_DELAY");
	char *end;
	double d = v && *v ? strtod(v, &end) : -1;
	return v && *v && *end == '\0' && d >= 0 ? d : PROGRESS_DELAY_DEFAULT;
}

void cli_progress_init(cli_progress *p, const char *what, const cli_ctx *ctx, bool wanted)
{
	const char *term = getenv("TERM");
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->on = wanted && ctx->stderr_tty && !(term && strcmp(term, "dumb") == 0);
	if (!p->on)
		return;
	struct winsize ws;
	p->cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
	p->utf8 = locale_is_utf8();
	p->delay = delay_from_env();
	p->started = now_sec();
}

/* "4s", "2m10s", "1h05m": short enough to leave room for the counts. */
static void fmt_duration(char *buf, size_t cap, double secs)
{
	unsigned long s = (unsigned long)(secs + 0.5);
	if (s < 60)
		snprintf(buf, cap, "%lus", s);
	else if (s < 3600)
		snprintf(buf, cap, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(buf, cap, "%luh%02lum", s / 3600, s / 60 % 60);
}

/* Cut the line to fit the terminal (one column per character; "≥" is 3 bytes, 1 column). */
static void fit(char *line, unsigned cols)
{
	unsigned col = 0;
	for (char *c = line; *c; c++) {
		if (((unsigned char)*c & 0xc0) == 0x80)
			continue;
		if (++col >= cols) {
			*c = '\0';
			return;
		}
	}
}

void cli_progress_update(cli_progress *p, size_t done, size_t total, bool total_final,
                         const char *unit, const char *extra)
{
	if (!p->on)
		return;
	double t = now_sec();
	if (t - p->started < p->delay || t - p->last < PROGRESS_INTERVAL)
		return;
	p->last = t;
	double rate = t > p->started ? (double)done / (t - p->started) : 0;
	if (total && total < done)
		total = done;
	char line[512], left[32] = "";
	int n = snprintf(line, sizeof(line), "pyc-tool %s: %zu", p->what, done);
	if (total)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "/%s%zu",
		              total_final ? "" : p->utf8 ? "\xe2\x89\xa5" : ">=", total);
	if (total && total_final && rate > 0)
		fmt_duration(left, sizeof(left), (double)(total - done) / rate);
	snprintf(line + n, sizeof(line) - (size_t)n, " %s, %.0f/s%s%s%s%s", unit, rate,
	         extra ? ", " : "", extra ? extra : "", left[0] ? ", " : "",
	         left[0] ? left : "");
	if (left[0])
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " left");
	fit(line, p->cols);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	p->shown = true;
}

void cli_progress_clear(cli_progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = false;
}
