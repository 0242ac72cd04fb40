/* Per-module medians over the runs of every scenario: see pyc/importtime.h. */
#include "pyc/importtime.h"

#include <stdlib.h>
#include <string.h>

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every distinct module name of every run, sorted; *out borrows them from r. */
static int collect_names(const char ***out, size_t *n, const pyc_importtime_result *r)
{
	size_t total = 0;
	for (int s = 0; s < PYC_IMPORTTIME_NSCENARIOS; s++)
		for (size_t k = 0; k < r->sc[s].nsamples; k++)
			total += r->sc[s].samples[k].tree.n;
	const char **names = malloc((total + 1) * sizeof(*names));
	if (!names)
		return PYC_ENOMEM;
	size_t m = 0;
	for (int s = 0; s < PYC_IMPORTTIME_NSCENARIOS; s++)
		for (size_t k = 0; k < r->sc[s].nsamples; k++)
			for (size_t i = 0; i < r->sc[s].samples[k].tree.n; i++)
				names[m++] = r->sc[s].samples[k].tree.nodes[i].name;
	qsort(names, m, sizeof(*names), cmp_name);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
			names[u++] = names[i];
	*out = names;
	*n = u;
	return 0;
}

/* Medians of one scenario's self and cumulative times per module (a module imported
 * twice in a run, after a failure, counts with the sum of its lines). */
static int scenario_medians(pyc_importtime_module *mods, const char **names, size_t n,
                            const pyc_importtime_scenario_result *sr, int s)
{
	size_t runs = sr->nsamples;
	if (runs == 0)
		return 0;
	double *self = calloc(n * runs * 2, sizeof(double));
	if (!self)
		return PYC_ENOMEM;
	double *cum = self + n * runs;
	for (size_t k = 0; k < runs; k++) {
		const pyc_importtime_tree *t = &sr->samples[k].tree;
		for (size_t i = 0; i < t->n; i++) {
			const char *key = t->nodes[i].name;
			const char **hit = bsearch(&key, names, n, sizeof(*names), cmp_name);
			size_t j = (size_t)(hit - names);
			self[j * runs + k] += (double)t->nodes[i].self_us;
			cum[j * runs + k] += (double)t->nodes[i].cum_us;
		}
	}
	for (size_t j = 0; j < n; j++) {
		mods[j].self_us[s] = pyc_importtime_spread(&self[j * runs], runs).median;
		mods[j].cum_us[s] = pyc_importtime_spread(&cum[j * runs], runs).median;
	}
	free(self);
	return 0;
}

static int cmp_saving(const void *a, const void *b)
{
	const pyc_importtime_module *x = a, *y = b;
	if (x->saving_us != y->saving_us)
		return x->saving_us < y->saving_us ? 1 : -1;
	double xs = x->self_us[PYC_IMPORTTIME_AS_IS], ys = y->self_us[PYC_IMPORTTIME_AS_IS];
	if (xs != ys)
		return xs < ys ? 1 : -1;
	return strcmp(x->name, y->name);
}

int pyc_importtime_modules(pyc_importtime_module **out, size_t *n,
                           const pyc_importtime_result *r)
{
	const char **names;
	size_t count;
	*out = NULL;
	*n = 0;
	if (collect_names(&names, &count, r) < 0)
		return PYC_ENOMEM;
	pyc_importtime_module *mods = calloc(count + 1, sizeof(*mods));
	int rc = mods ? 0 : PYC_ENOMEM;
	for (int s = 0; rc == 0 && s < PYC_IMPORTTIME_NSCENARIOS; s++)
		rc = scenario_medians(mods, names, count, &r->sc[s], s);
	if (rc < 0) {
		free(mods);
		free(names);
		return rc;
	}
	bool both = r->sc[PYC_IMPORTTIME_NO_CACHES].nsamples && r->sc[PYC_IMPORTTIME_ALL_FRESH].nsamples;
	for (size_t j = 0; j < count; j++) {
		mods[j].name = names[j];
		if (both)
			mods[j].saving_us = mods[j].self_us[PYC_IMPORTTIME_NO_CACHES] -
			                    mods[j].self_us[PYC_IMPORTTIME_ALL_FRESH];
	}
	free(names);
	qsort(mods, count, sizeof(*mods), cmp_saving);
	*out = mods;
	*n = count;
	return 0;
}
