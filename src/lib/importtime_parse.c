/* The -X importtime parser and the statistics over runs: see pyc/importtime.h. */
#include "pyc/importtime.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char it_prefix[] = "import time:";

/* A decimal field between bars: digits with blanks around them. The header line's
 * "self [us]" is not one, so it is skipped. */
static bool parse_field(const char *s, const char *end, long *out)
{
	while (s < end && *s == ' ')
		s++;
	const char *digits = s;
	long v = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (LONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s++ - '0');
	}
	if (s == digits)
		return false;
	while (s < end && *s == ' ')
		s++;
	*out = v;
	return s == end;
}

static int push_node(pyc_importtime_tree *t, const char *name, size_t len, long self_us,
                     long cum_us, unsigned depth)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		pyc_importtime_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return PYC_ENOMEM;
		t->nodes = nodes;
		t->cap = cap;
	}
	char *copy = strndup(name, len);
	if (!copy)
		return PYC_ENOMEM;
	t->nodes[t->n++] = (pyc_importtime_node){ copy, self_us, cum_us, depth,
	                                           PYC_IMPORTTIME_ROOT };
	return 0;
}

/* One line: 1 when it was an import line (appended), 0 when skipped, or PYC_ENOMEM. */
static int parse_line(pyc_importtime_tree *t, const char *s, const char *end)
{
	size_t plen = sizeof(it_prefix) - 1;
	if ((size_t)(end - s) < plen || memcmp(s, it_prefix, plen) != 0)
		return 0;
	s += plen;
	const char *bar1 = memchr(s, '|', (size_t)(end - s));
	const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1)) : NULL;
	long self_us, cum_us;
	if (!bar2 || !parse_field(s, bar1, &self_us) || !parse_field(bar1 + 1, bar2, &cum_us))
		return 0;
	/* "| " then two spaces per level, then the name. */
	const char *name = bar2 + 1;
	if (name < end && *name == ' ')
		name++;
	const char *indent = name;
	while (name < end && *name == ' ')
		name++;
	if (name == end)
		return 0;
	int rc = push_node(t, name, (size_t)(end - name), self_us, cum_us,
	                   (unsigned)((name - indent) / 2));
	return rc < 0 ? rc : 1;
}

/*
 * A module's line comes after the lines of everything it imported, so the pending
 * entries deeper than a new line are its children; the stack holds the entries still
 * waiting for their parent, and what is left at the end is top level.
 */
int pyc_importtime_parse(pyc_importtime_tree *out, const char *text, size_t len)
{
	size_t *stack = NULL, depth = 0, first = out->n;
	const char *end = text + len;
	int rc = 0;
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		if (eol > s && eol[-1] == '\r')
			eol--;
		if ((rc = parse_line(out, s, eol)) < 0)
			break;
		s = nl ? nl + 1 : end;
		if (rc == 0)
			continue;
		size_t i = out->n - 1;
		while (depth > 0 && out->nodes[stack[depth - 1]].depth > out->nodes[i].depth)
			out->nodes[stack[--depth]].parent = i;
		/* The stack never holds more than the lines parsed so far. */
		size_t *grown = realloc(stack, (out->n - first) * sizeof(*stack));
		if (!grown) {
			rc = PYC_ENOMEM;
			break;
		}
		stack = grown;
		stack[depth++] = i;
	}
	free(stack);
	return rc < 0 ? rc : 0;
}

long pyc_importtime_total(const pyc_importtime_tree *t)
{
	long sum = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].parent == PYC_IMPORTTIME_ROOT)
			sum += t->nodes[i].cum_us;
	return sum;
}

void pyc_importtime_tree_dispose(pyc_importtime_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->nodes[i].name);
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

pyc_spread pyc_importtime_spread(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return (pyc_spread){ v[0], median, v[n - 1] };
}

bool pyc_importtime_overlap(const pyc_spread *a, const pyc_spread *b)
{
	return a->min <= b->max && b->min <= a->max;
}
