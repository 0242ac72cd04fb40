/*
 * suggest.c - "did you mean ...?" (suggest.h). git's rule, our code: git's help.c scores
 * each candidate 0 when the typed word is its prefix, else by levenshtein(typed, cand,
 * swap 0, substitution 2, insertion 1, deletion 3) + 1, and names the best ones when
 * that score is below SIMILARITY_FLOOR (7). Unlike git we name the prefix matches on
 * their own when there are some: they are what the user started to type.
 */
#include "suggest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COST_SWAP 0
#define COST_SUBST 2
#define COST_INSERT 1
#define COST_DELETE 3
#define SIMILARITY_FLOOR 7

static int min2(int a, int b)
{
	return a < b ? a : b;
}

int cli_edit_cost(const char *typed, const char *cand)
{
	/* Three rows over CAND: the one before the previous one feeds the swap. */
	int rows[3][CLI_SUGGEST_MAX_NAME + 1];
	size_t m = strlen(cand);
	if (m > CLI_SUGGEST_MAX_NAME)
		return -1;
	int *older = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= m; j++)
		prev[j] = (int)j * COST_INSERT;
	for (size_t i = 0; typed[i]; i++) {
		cur[0] = (int)(i + 1) * COST_DELETE;
		for (size_t j = 0; j < m; j++) {
			int c = prev[j] + (typed[i] == cand[j] ? 0 : COST_SUBST);
			if (i > 0 && j > 0 && typed[i - 1] == cand[j] && typed[i] == cand[j - 1])
				c = min2(c, older[j - 1] + COST_SWAP);
			c = min2(c, prev[j + 1] + COST_DELETE);
			cur[j + 1] = min2(c, cur[j] + COST_INSERT);
		}
		int *t = older;
		older = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

static bool is_prefix(const char *typed, const char *name)
{
	return strncmp(name, typed, strlen(typed)) == 0;
}

size_t cli_similar(const char *typed, const char *const *names, size_t n, bool *pick)
{
	size_t nprefix = 0;
	int best = SIMILARITY_FLOOR;
	for (size_t i = 0; i < n; i++) {
		pick[i] = is_prefix(typed, names[i]);
		nprefix += pick[i];
		int cost = cli_edit_cost(typed, names[i]);
		if (cost >= 0 && cost + 1 < best)
			best = cost + 1;
	}
	if (nprefix == n) {
		/* Everything starts that way (or nothing was typed): too ambiguous. */
		memset(pick, 0, n * sizeof(*pick));
		return 0;
	}
	if (nprefix > 0)
		return nprefix;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int cost = cli_edit_cost(typed, names[i]);
		pick[i] = cost >= 0 && cost + 1 == best;
		k += pick[i];
	}
	return k;
}

/* Room for the hint of any candidate list we have: a few options of <= 63 bytes. */
static char hint[1024];

const char *cli_suggest(const char *typed, const char *const *names, size_t n, const char *lead)
{
	bool pick[64];
	if (n > sizeof(pick) / sizeof(pick[0]))
		n = sizeof(pick) / sizeof(pick[0]);
	size_t k = cli_similar(typed, names, n, pick);
	size_t len = 0;
	hint[0] = '\0';
	for (size_t i = 0, shown = 0; i < n && k > 0; i++) {
		if (!pick[i])
			continue;
		const char *sep = shown == 0 ? "; did you mean " : shown + 1 == k ? " or " : ", ";
		int w = snprintf(hint + len, sizeof(hint) - len, "%s'%s%s'", sep, lead, names[i]);
		if (w < 0 || (size_t)w >= sizeof(hint) - len - 1) {
			hint[0] = '\0';  /* never a truncated list */
			return hint;
		}
		len += (size_t)w;
		shown++;
	}
	if (k > 0) {
		hint[len] = '?';
		hint[len + 1] = '\0';
	}
	return hint;
}

const char *cli_suggest_option(const char *arg, const struct option *longopts)
{
	const char *names[64];
	size_t n = 0;
	char typed[CLI_SUGGEST_MAX_NAME + 1];
	if (strncmp(arg, "--", 2) != 0)
		return "";
	size_t tlen = strcspn(arg + 2, "=");
	if (tlen > CLI_SUGGEST_MAX_NAME)
		return "";
	memcpy(typed, arg + 2, tlen);
	typed[tlen] = '\0';
	for (; longopts[n].name && n < sizeof(names) / sizeof(names[0]); n++)
		names[n] = longopts[n].name;
	return cli_suggest(typed, names, n, "--");
}

#define DIGITS "0123456789"
#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

static bool is_cpython_tag(const char *t)
{
	size_t n = strncmp(t, "cpython-", 8) == 0 ? strspn(t + 8, DIGITS) : 0;
	return n >= 2 && t[8 + n] == '\0';
}

/* A cache tag is sys.implementation.cache_tag: the implementation's name, then its
 * version: "cpython-312" (CPython's sysmodule.c), "pypy39" (PyPy's importing.py). It sits
 * between the dots of NAME.TAG.pyc, so it has none. Other implementations' tags are taken
 * as they come; CPython's own form is exact. */
static bool tag_ok(const char *t)
{
	if (!t[0] || !strchr(LETTERS, t[0]) || t[strspn(t, LETTERS DIGITS "-_")] != '\0')
		return false;
	return strncasecmp(t, "cpython", 7) != 0 || is_cpython_tag(t);
}

/* The CPython tag for a version written another way (312, 3.12, cpython312, cpython-3.12,
 * py312, cp312: "cpython-312") into out; false when T does not look like a version. */
static bool cpython_tag_for(const char *t, char *out, size_t size)
{
	static const char *const names[] = { "cpython", "python", "cp", "py" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncasecmp(t, names[i], n) == 0) {
			t += n;
			break;
		}
	}
	t += strspn(t, "-_");
	if (t[0] != '2' && t[0] != '3')
		return false;
	const char *minor = t + 1 + (t[1] == '.');
	size_t n = strspn(minor, DIGITS);
	if (n < 1 || n > 2 || minor[n] != '\0')
		return false;
	int w = snprintf(out, size, "cpython-%c%s", t[0], minor);
	return w > 0 && (size_t)w < size;
}

const char *cli_suggest_tag(const char *tag)
{
	char want[16];
	if (is_cpython_tag(tag))
		return NULL;
	/* A version in disguise is refused even where the form would pass (py312, cp312). */
	if (cpython_tag_for(tag, want, sizeof(want))) {
		int w = snprintf(hint, sizeof(hint), "; did you mean '%s'?", want);
		return w > 0 && (size_t)w < sizeof(hint) ? hint : "";
	}
	return tag_ok(tag) ? NULL : "";
}
