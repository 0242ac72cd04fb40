/* Temporary files of interrupted writers: see include/pyc/leftover.h. */
#include "pyc/leftover.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The length of the run of digits at p (0 when none). */
static size_t digits(const char *p)
{
	size_t n = 0;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	return n;
}

/* What follows "<name>.pyc." in a temporary file's name. */
static enum pyc_leftover_kind judge_tail(const char *t, long *pid)
{
	size_t n = digits(t);
	if (n == 0 || n > 20)
		return PYC_LEFTOVER_NONE;
	if (t[n] == '\0')
		return PYC_LEFTOVER_IMPORTLIB;
	if (n > 9)
		return PYC_LEFTOVER_NONE;   /* a pid has at most 7 digits on Linux */
	long p = strtol(t, NULL, 10);
	const char *rest = t + n;
	size_t m = rest[0] == '.' ? digits(rest + 1) : 0;
	if (strcmp(rest, ".link") == 0 || (m > 0 && strcmp(rest + 1 + m, ".tmp") == 0)) {
		*pid = p;
		return PYC_LEFTOVER_PYC_TOOL;
	}
	return PYC_LEFTOVER_NONE;
}

enum pyc_leftover_kind pyc_leftover_kind(const char *name, long *pid)
{
	*pid = 0;
	/* The tail is digits, dots and "tmp"/"link": the last ".pyc." starts it. */
	const char *at = NULL;
	for (const char *p = strstr(name, ".pyc."); p; p = strstr(p + 1, ".pyc."))
		at = p;
	if (!at || at == name)
		return PYC_LEFTOVER_NONE;
	return judge_tail(at + 5, pid);
}

static bool process_gone(long pid)
{
	return pid > 0 && pid <= INT_MAX && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

bool pyc_leftover_abandoned(enum pyc_leftover_kind kind, long pid, const struct stat *st,
                            time_t now)
{
	double age = difftime(now, st->st_mtime);
	if (kind == PYC_LEFTOVER_NONE)
		return false;
	if (age >= PYC_LEFTOVER_MAX_AGE)
		return true;
	return kind == PYC_LEFTOVER_PYC_TOOL && age >= PYC_LEFTOVER_DEAD_GRACE &&
	       process_gone(pid);
}

const char *pyc_leftover_writer_name(enum pyc_leftover_kind kind)
{
	switch (kind) {
	case PYC_LEFTOVER_PYC_TOOL: return "pyc-tool";
	case PYC_LEFTOVER_IMPORTLIB: return "importlib";
	default: return NULL;
	}
}
