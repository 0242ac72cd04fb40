/* `importtime --json`: JSON Lines, docs/schema/importtime.schema.json. */
#include "importtime_report.h"

static void json_spread(const char *key, const pyc_spread *sp, double scale)
{
	printf(",\"%s\":{\"min\":%.3f,\"median\":%.3f,\"max\":%.3f}", key, sp->min * scale,
	       sp->median * scale, sp->max * scale);
}

static void json_scenarios(const it_report *rep)
{
	for (int s = 0; s < IT_NSC; s++) {
		const pyc_importtime_scenario_result *sr = &rep->r->sc[s];
		printf("{\"type\":\"scenario\",\"scenario\":\"%s\",\"available\":%s,\"runs\":%zu",
		       pyc_importtime_scenario_name((enum pyc_importtime_scenario)s),
		       sr->available ? "true" : "false", sr->nsamples);
		if (it_report_has(rep, s)) {
			json_spread("import_ms", &rep->total[s], 1e-3);
			json_spread("wall_ms", &rep->wall[s], 1e3);
			printf(",\"from_pyc\":%zu,\"compiled\":%zu", sr->from_pyc, sr->compiled);
		}
		fputs("}\n", stdout);
	}
}

/* {"as-is":1.0,"no-caches":2.0,"all-fresh":null} */
static void json_per_scenario(const it_report *rep, const char *key, const double *v)
{
	printf(",\"%s\":{", key);
	for (int s = 0; s < IT_NSC; s++) {
		printf("%s\"%s\":", s ? "," : "",
		       pyc_importtime_scenario_name((enum pyc_importtime_scenario)s));
		if (it_report_has(rep, s))
			printf("%.3f", v[s] / 1e3);
		else
			fputs("null", stdout);
	}
	putchar('}');
}

static void json_modules(const it_report *rep)
{
	for (size_t i = 0; i < rep->top; i++) {
		const pyc_importtime_module *m = &rep->mods[i];
		printf("{\"type\":\"module\",\"rank\":%zu,\"name\":", i + 1);
		out_json_cstr(stdout, m->name);
		json_per_scenario(rep, "self_ms", m->self_us);
		json_per_scenario(rep, "cumulative_ms", m->cum_us);
		if (it_report_has(rep, IT_NONE) && it_report_has(rep, IT_FRESH))
			printf(",\"saving_ms\":%.3f}\n", m->saving_us / 1e3);
		else
			fputs(",\"saving_ms\":null}\n", stdout);
	}
}

static void json_caches(const it_report *rep)
{
	for (size_t i = 0; i < rep->r->nsources; i++) {
		const pyc_importtime_source *s = &rep->r->sources[i];
		if (s->state == PYC_STATE_FRESH)
			continue;
		fputs("{\"type\":\"cache\",\"module\":", stdout);
		out_json_cstr(stdout, s->module);
		fputs(",\"source\":", stdout);
		out_json_cstr(stdout, s->path);
		fputs(",\"path\":", stdout);
		out_json_cstr(stdout, s->cache);
		printf(",\"state\":\"%s\",\"reason\":", pyc_state_name(s->state));
		out_json_cstr(stdout, s->reason ? pyc_reason_name(s->reason) : NULL);
		double cost;
		if (it_report_cost(rep, s->module, &cost))
			printf(",\"cost_ms\":%.3f}\n", cost);
		else
			fputs(",\"cost_ms\":null}\n", stdout);
	}
}

/* "key":{"ms":X,"within_noise":B} comparing scenario a against b, or null. */
static void json_difference(const it_report *rep, const char *key, int a, int b)
{
	printf(",\"%s\":", key);
	if (!it_report_has(rep, a) || !it_report_has(rep, b)) {
		fputs("null", stdout);
		return;
	}
	printf("{\"ms\":%.3f,\"within_noise\":%s}",
	       (rep->total[a].median - rep->total[b].median) / 1e3,
	       pyc_importtime_overlap(&rep->total[a], &rep->total[b]) ? "true" : "false");
}

static void json_summary(const it_report *rep)
{
	const pyc_interp *in = rep->interp;
	fputs("{\"type\":\"summary\",\"python\":", stdout);
	out_json_cstr(stdout, in->exe);
	printf(",\"version\":\"%d.%d.%d\",\"modules\":[", in->major, in->minor, in->micro);
	for (size_t i = 0; i < rep->nmodules; i++) {
		if (i)
			putchar(',');
		out_json_cstr(stdout, rep->modules[i]);
	}
	printf("],\"runs\":%u,\"imported\":%zu,\"from_source\":%zu", rep->r->runs, rep->nmods,
	       rep->r->nsources);
	/* Where the private prefix applies: to every import, when there is one. */
	printf(",\"prefix_scope\":%s", it_report_has(rep, IT_NONE) ? "\"all-modules\"" : "null");
	json_difference(rep, "saving", IT_NONE, IT_FRESH);
	json_difference(rep, "loss", IT_AS_IS, IT_FRESH);
	printf(",\"fresh\":%zu,\"stale\":%zu,\"missing\":%zu,\"corrupt\":%zu,\"fix\":",
	       rep->nstate[PYC_STATE_FRESH], rep->nstate[PYC_STATE_STALE],
	       rep->nstate[PYC_STATE_MISSING], rep->nstate[PYC_STATE_CORRUPT]);
	out_json_cstr(stdout, rep->fix);
	printf(",\"disk\":{\"cache_bytes\":%llu,\"cache_files\":%zu,\"fresh_bytes\":",
	       (unsigned long long)rep->user_bytes, rep->user_files);
	if (it_report_has(rep, IT_FRESH))
		printf("%llu,\"fresh_files\":%zu}}\n", (unsigned long long)rep->fresh_bytes,
		       rep->fresh_files);
	else
		fputs("null,\"fresh_files\":null}}\n", stdout);
}

void it_report_json(const it_report *rep)
{
	json_scenarios(rep);
	json_modules(rep);
	json_caches(rep);
	json_summary(rep);
}
