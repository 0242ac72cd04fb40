/*
 * `importtime --svg FILE`: an icicle chart of each scenario's median run, one above the
 * other on one time scale, so the widths compare across scenarios. Self-contained SVG
 * (no script, no external font or stylesheet); each box carries a <title> tooltip.
 */
#include "importtime_report.h"

#include <stdlib.h>
#include <string.h>

#define SVG_WIDTH 1200.0
#define SVG_MARGIN 10.0
#define SVG_ROW 18.0
#define SVG_HEAD 34.0

/* Text content or attribute value: XML-escaped, invalid UTF-8 and control characters as
 * U+FFFD (XML 1.0 cannot carry them), at most max_chars characters. */
static void svg_text(FILE *f, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), chars = 0;
	for (size_t i = 0; i < len && chars < max_chars; chars++) {
		size_t n = out_utf8_seq_len(p + i, len - i);
		if (n == 0 || (n == 1 && p[i] < 0x20)) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		switch (p[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fwrite(p + i, 1, n, f);
		}
		i += n;
	}
}

/* The run whose import total is the median one (the lower middle for an even count). */
static size_t median_run(const pyc_importtime_scenario_result *sr)
{
	size_t best = 0;
	for (size_t i = 0; i < sr->nsamples; i++) {
		long ti = pyc_importtime_total(&sr->samples[i].tree);
		size_t below = 0, equal_before = 0;
		for (size_t j = 0; j < sr->nsamples; j++) {
			long tj = pyc_importtime_total(&sr->samples[j].tree);
			below += tj < ti;
			equal_before += tj == ti && j < i;
		}
		if (below + equal_before == (sr->nsamples - 1) / 2)
			best = i;
	}
	return best;
}

static unsigned max_depth(const pyc_importtime_tree *t)
{
	unsigned d = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].depth > d)
			d = t->nodes[i].depth;
	return d;
}

/* Left edges in microseconds. A parent's line comes after its children's, so walking
 * backwards places every parent first; its children fill it from the right, in import
 * order, leaving its own time as the gap on the left. */
static int layout(const pyc_importtime_tree *t, double *x)
{
	double *end = malloc((t->n + 1) * sizeof(double));
	if (!end)
		return -1;
	double roots = (double)pyc_importtime_total(t);
	for (size_t k = t->n; k-- > 0;) {
		const pyc_importtime_node *nd = &t->nodes[k];
		double *cursor = nd->parent == PYC_IMPORTTIME_ROOT ? &roots : &end[nd->parent];
		*cursor -= (double)nd->cum_us;
		x[k] = *cursor < 0 ? 0 : *cursor;
		end[k] = x[k] + (double)nd->cum_us;
	}
	free(end);
	return 0;
}

static void svg_box(FILE *f, const pyc_importtime_node *nd, double x, double y, double w)
{
	unsigned h = 5381;
	for (const unsigned char *p = (const unsigned char *)nd->name; *p; p++)
		h = h * 33 + *p;
	fprintf(f, "<g><title>");
	svg_text(f, nd->name, SIZE_MAX);
	fprintf(f, ": self %.2f ms, cumulative %.2f ms</title>", nd->self_us / 1e3,
	        nd->cum_us / 1e3);
	fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
	           "fill=\"rgb(%u,%u,%u)\"/>", x, y, w > 0.5 ? w - 0.5 : w, SVG_ROW - 1,
	        220 + h % 36, 90 + (h >> 8) % 120, 40 + (h >> 16) % 50);
	size_t fits = w > 24 ? (size_t)((w - 6) / 7) : 0;
	if (fits) {
		fprintf(f, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + SVG_ROW - 5);
		svg_text(f, nd->name, fits);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
}

static int svg_chart(FILE *f, const it_report *rep, int s, double top, double scale)
{
	const pyc_importtime_scenario_result *sr = &rep->r->sc[s];
	const pyc_importtime_tree *t = &sr->samples[median_run(sr)].tree;
	fprintf(f, "<text class=\"h\" x=\"%.1f\" y=\"%.1f\">%s: %.1f ms of imports "
	           "(median of %zu runs; from pyc %zu, compiled %zu)</text>\n",
	        SVG_MARGIN, top + 20, it_scenario_labels[s], (double)pyc_importtime_total(t) / 1e3,
	        sr->nsamples, sr->from_pyc, sr->compiled);
	double *x = malloc((t->n + 1) * sizeof(double));
	if (!x || layout(t, x) < 0) {
		free(x);
		return -1;
	}
	for (size_t i = 0; i < t->n; i++)
		svg_box(f, &t->nodes[i], SVG_MARGIN + x[i] * scale,
		        top + SVG_HEAD + t->nodes[i].depth * SVG_ROW, t->nodes[i].cum_us * scale);
	free(x);
	return 0;
}

static void svg_open(FILE *f, const it_report *rep, double height)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\">\n"
	           "<style>text{font:12px monospace;fill:#000}.h{font:bold 14px sans-serif}"
	           "rect{stroke:none}</style>\n"
	           "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
	           "<text class=\"h\" x=\"%.1f\" y=\"22\">pyc-tool importtime: ",
	        SVG_WIDTH, height, SVG_WIDTH, height, SVG_MARGIN);
	svg_text(f, rep->interp->exe, SIZE_MAX);
	fprintf(f, " (%d.%d.%d):", rep->interp->major, rep->interp->minor, rep->interp->micro);
	for (size_t i = 0; i < rep->nmodules; i++) {
		fputc(' ', f);
		svg_text(f, rep->modules[i], SIZE_MAX);
	}
	fputs(" - width = cumulative import time</text>\n", f);
}

int it_report_svg(FILE *f, const it_report *rep)
{
	double longest = 0, height = SVG_HEAD;
	for (int s = 0; s < IT_NSC; s++) {
		const pyc_importtime_scenario_result *sr = &rep->r->sc[s];
		if (!sr->nsamples)
			continue;
		const pyc_importtime_tree *t = &sr->samples[median_run(sr)].tree;
		double total = (double)pyc_importtime_total(t);
		longest = total > longest ? total : longest;
		height += SVG_HEAD + (max_depth(t) + 1) * SVG_ROW + SVG_MARGIN;
	}
	double scale = longest > 0 ? (SVG_WIDTH - 2 * SVG_MARGIN) / longest : 0;
	svg_open(f, rep, height);
	double top = SVG_HEAD;
	for (int s = 0; s < IT_NSC; s++) {
		const pyc_importtime_scenario_result *sr = &rep->r->sc[s];
		if (!sr->nsamples)
			continue;
		if (svg_chart(f, rep, s, top, scale) < 0)
			return -1;
		top += SVG_HEAD + (max_depth(&sr->samples[median_run(sr)].tree) + 1) * SVG_ROW +
		       SVG_MARGIN;
	}
	fputs("</svg>\n", f);
	return ferror(f) ? -1 : 0;
}
