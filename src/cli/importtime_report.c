/* `importtime`'s conclusions, as a table or JSON Lines: see importtime_report.h. */
#include "importtime_report.h"

#include <stdlib.h>
#include <string.h>

const char *const it_scenario_labels[IT_NSC] = { "as it is", "no caches", "all fresh" };

bool it_report_has(const it_report *rep, int s)
{
	return rep->r->sc[s].nsamples > 0;
}

static int spreads(it_report *rep)
{
	for (int s = 0; s < IT_NSC; s++) {
		const pyc_importtime_scenario_result *sr = &rep->r->sc[s];
		if (!sr->nsamples)
			continue;
		double *v = malloc(sr->nsamples * 2 * sizeof(double));
		if (!v)
			return -1;
		for (size_t k = 0; k < sr->nsamples; k++) {
			v[k] = (double)pyc_importtime_total(&sr->samples[k].tree);
			v[sr->nsamples + k] = sr->samples[k].wall_sec;
		}
		rep->total[s] = pyc_importtime_spread(v, sr->nsamples);
		rep->wall[s] = pyc_importtime_spread(v + sr->nsamples, sr->nsamples);
		free(v);
	}
	return 0;
}

/* A shell word: as it is when it is plain, else single-quoted. */
static int put_word(pyc_buf *b, const char *w)
{
	if (w[0] && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                      "0123456789_./+-=:,") == strlen(w))
		return pyc_buf_printf(b, " %s", w);
	int rc = pyc_buf_puts(b, " '");
	for (const char *p = w; rc == 0 && *p; p++)
		rc = *p == '\'' ? pyc_buf_puts(b, "'\\''") : pyc_buf_putc(b, *p);
	return rc < 0 ? rc : pyc_buf_putc(b, '\'');
}

/* `pyc-tool compile --python PY FILE...` over the sources whose cache is not fresh. */
static int fix_command(it_report *rep)
{
	pyc_buf b = PYC_BUF_INIT;
	int rc = pyc_buf_puts(&b, "pyc-tool compile");
	if (rc == 0)
		rc = put_word(&b, "--python");
	if (rc == 0)
		rc = put_word(&b, rep->interp->exe);
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < rep->r->nsources; i++) {
		const pyc_importtime_source *s = &rep->r->sources[i];
		if (s->state != PYC_STATE_FRESH) {
			rc = put_word(&b, s->path);
			n++;
		}
	}
	if (rc < 0) {
		pyc_buf_dispose(&b);
		return -1;
	}
	rep->fix = n ? pyc_buf_detach(&b) : NULL;
	pyc_buf_dispose(&b);
	return 0;
}

int it_report_build(it_report *rep, const pyc_importtime_result *r, const pyc_interp *interp,
                    size_t top)
{
	memset(rep, 0, sizeof(*rep));
	rep->r = r;
	rep->interp = interp;
	if (pyc_importtime_modules(&rep->mods, &rep->nmods, r) < 0 || spreads(rep) < 0)
		return -1;
	rep->top = top == 0 || top > rep->nmods ? rep->nmods : top;
	for (size_t i = 0; i < r->nsources; i++) {
		const pyc_importtime_source *s = &r->sources[i];
		rep->nstate[s->state]++;
		rep->user_bytes += s->cache_bytes;
		rep->user_files += s->cache_bytes > 0;
		rep->fresh_bytes += s->fresh_bytes;
		rep->fresh_files += s->fresh_bytes > 0;
	}
	return fix_command(rep);
}

void it_report_dispose(it_report *rep)
{
	free(rep->mods);
	free(rep->fix);
	memset(rep, 0, sizeof(*rep));
}

bool it_report_cost(const it_report *rep, const char *module, double *ms)
{
	if (!it_report_has(rep, IT_FRESH))
		return false;
	for (size_t i = 0; i < rep->nmods; i++)
		if (strcmp(rep->mods[i].name, module) == 0) {
			*ms = (rep->mods[i].self_us[IT_AS_IS] - rep->mods[i].self_us[IT_FRESH]) / 1e3;
			return true;
		}
	return false;
}

bool it_report_findings(const it_report *rep)
{
	return rep->fix != NULL;
}

/* ---- human ---------------------------------------------------------------------- */

static void bar(double v, double max, int width)
{
	int n = max > 0 ? (int)(v / max * width + 0.5) : 0;
	for (int i = 0; i < n; i++)
		fputs("\xe2\x96\x88", stdout);  /* U+2588 FULL BLOCK */
}

static void human_header(const it_report *rep, const out_style *st)
{
	const pyc_interp *in = rep->interp;
	printf("%simporttime%s: %s (CPython %d.%d.%d):", st->bold, st->reset, in->exe, in->major,
	       in->minor, in->micro);
	for (size_t i = 0; i < rep->nmodules; i++) {
		putchar(' ');
		out_human_path(stdout, rep->modules[i]);
	}
	printf("\n%u timed runs per scenario, interleaved after a warm-up; %zu modules imported, "
	       "%zu from source files.\n", rep->r->runs, rep->nmods, rep->r->nsources);
	if (it_report_has(rep, IT_NONE))
		fputs("The private pycache prefix of \"no caches\" and \"all fresh\" applies to every "
		      "import, the standard library's included.\n", stdout);
	else
		printf("Python %d.%d has no pycache prefix: \"no caches\" and \"all fresh\" are "
		       "unavailable.\n", in->major, in->minor);
}

static void human_scenarios(const it_report *rep, bool bars)
{
	double max = 0;
	for (int s = 0; s < IT_NSC; s++)
		if (it_report_has(rep, s) && rep->total[s].median > max)
			max = rep->total[s].median;
	printf("\n%-10s  %26s  %13s  %8s  %8s\n", "scenario", "imports ms min/median/max",
	       "process ms", "from pyc", "compiled");
	for (int s = 0; s < IT_NSC; s++) {
		if (!it_report_has(rep, s))
			continue;
		const pyc_spread *t = &rep->total[s];
		printf("%-10s  %8.1f %8.1f %8.1f  %13.1f  %8zu  %8zu", it_scenario_labels[s], t->min / 1e3,
		       t->median / 1e3, t->max / 1e3, rep->wall[s].median * 1e3, rep->r->sc[s].from_pyc,
		       rep->r->sc[s].compiled);
		if (bars) {
			fputs("  ", stdout);
			bar(t->median, max, 30);
		}
		putchar('\n');
	}
}

static void human_verdict(const it_report *rep, const out_style *st)
{
	if (!it_report_has(rep, IT_NONE) || !it_report_has(rep, IT_FRESH))
		return;
	const pyc_spread *none = &rep->total[IT_NONE], *fresh = &rep->total[IT_FRESH];
	const pyc_spread *asis = &rep->total[IT_AS_IS];
	double save = none->median - fresh->median;
	putchar('\n');
	if (pyc_importtime_overlap(none, fresh))
		printf("no caches vs all fresh: %+.1f ms, within noise (the spreads overlap)\n",
		       -save / 1e3);
	else
		printf("%scaches save %.1f ms%s per import of these modules (%.1fx faster than "
		       "no caches)\n", st->green, save / 1e3, st->reset,
		       fresh->median > 0 ? none->median / fresh->median : 0.0);
	double loss = asis->median - fresh->median;
	if (pyc_importtime_overlap(asis, fresh))
		printf("as it is vs all fresh: %+.1f ms, within noise (the spreads overlap)\n",
		       loss / 1e3);
	else if (loss > 0)
		printf("%sas it is loses %.1f ms%s against all fresh\n", st->yellow, loss / 1e3,
		       st->reset);
	else
		printf("as it is is %.1f ms faster than all fresh\n", -loss / 1e3);
}

static void human_caches(const it_report *rep, const out_style *st)
{
	size_t bad = rep->r->nsources - rep->nstate[PYC_STATE_FRESH];
	printf("\ncaches as they are: %zu fresh, %zu stale, %zu missing, %zu corrupt\n",
	       rep->nstate[PYC_STATE_FRESH], rep->nstate[PYC_STATE_STALE],
	       rep->nstate[PYC_STATE_MISSING], rep->nstate[PYC_STATE_CORRUPT]);
	for (size_t i = 0; i < rep->r->nsources && bad; i++) {
		const pyc_importtime_source *s = &rep->r->sources[i];
		if (s->state == PYC_STATE_FRESH)
			continue;
		printf("  %s%s", st->yellow, pyc_state_name(s->state));
		if (s->reason)
			printf(" (%s)", pyc_reason_name(s->reason));
		printf("%s  ", st->reset);
		out_human_path(stdout, s->module);
		fputs("  ", stdout);
		out_human_path(stdout, s->path);
		double cost;
		if (it_report_cost(rep, s->module, &cost))
			printf("  (%+.2f ms as it is vs all fresh)", cost);
		putchar('\n');
	}
	if (rep->fix) {
		fputs("fix: ", stdout);
		out_human_path(stdout, rep->fix);
		putchar('\n');
	}
	char user[32], fresh[32];
	out_bytes_human(user, sizeof(user), rep->user_bytes);
	out_bytes_human(fresh, sizeof(fresh), rep->fresh_bytes);
	printf("disk: the existing caches of these modules take %s (%llu bytes, %zu files)",
	       user, (unsigned long long)rep->user_bytes, rep->user_files);
	if (it_report_has(rep, IT_FRESH))
		printf("; all fresh, %s (%llu bytes, %zu files)", fresh,
		       (unsigned long long)rep->fresh_bytes, rep->fresh_files);
	putchar('\n');
}

static void human_modules(const it_report *rep, bool bars)
{
	if (!rep->top)
		return;
	bool all = it_report_has(rep, IT_FRESH);
	printf("\ntop %zu module%s by saving, medians in ms (self; cumulative)\n", rep->top,
	       rep->top == 1 ? "" : "s");
	printf("%-28s %8s %8s %8s  %8s %8s %8s  %8s\n", "module", "as-is", "none", "fresh",
	       "as-is", "none", "fresh", "saving");
	double max = rep->nmods ? rep->mods[0].saving_us : 0;
	for (size_t i = 0; i < rep->top; i++) {
		const pyc_importtime_module *m = &rep->mods[i];
		out_human_path(stdout, m->name);
		int w = 28 - (int)strlen(m->name);
		printf("%*s", w > 0 ? w + 1 : 1, "");
		printf("%8.2f ", m->self_us[IT_AS_IS] / 1e3);
		if (all)
			printf("%8.2f %8.2f  ", m->self_us[IT_NONE] / 1e3, m->self_us[IT_FRESH] / 1e3);
		else
			printf("%8s %8s  ", "-", "-");
		printf("%8.2f ", m->cum_us[IT_AS_IS] / 1e3);
		if (all)
			printf("%8.2f %8.2f  %8.2f", m->cum_us[IT_NONE] / 1e3, m->cum_us[IT_FRESH] / 1e3,
			       m->saving_us / 1e3);
		else
			printf("%8s %8s  %8s", "-", "-", "-");
		if (bars && all && m->saving_us > 0) {
			fputs("  ", stdout);
			bar(m->saving_us, max, 20);
		}
		putchar('\n');
	}
}

void it_report_human(const it_report *rep, const out_style *st, bool bars)
{
	human_header(rep, st);
	human_scenarios(rep, bars);
	human_verdict(rep, st);
	human_caches(rep, st);
	human_modules(rep, bars);
}
