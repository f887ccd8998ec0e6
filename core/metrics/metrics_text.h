/* metrics_text.h - Prometheus text exposition (format 0.0.4): families, samples, histograms, the counter page. */
#ifndef VEX_METRICS_TEXT_H
#define VEX_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/metrics/metrics.h"

/* "# HELP <name> <help>\n# TYPE <name> <type>\n"; "type" counter | gauge | histogram. */
void vex_mtext_family(struct vex_buf *b, const char *name, const char *type, const char *help);

/*
 * One sample line: name{k="v",...} value. "labels" holds key, value pairs and ends with NULL (NULL: no
 * labels); values are escaped (\\, \", \n). Errors stick in b->err.
 */
void vex_mtext_sample(struct vex_buf *b, const char *name, const char *const *labels, uint64_t value);
void vex_mtext_sample_i(struct vex_buf *b, const char *name, const char *const *labels, int64_t value);

/* A histogram's _bucket (cumulative, le="..." added to "labels"), _sum (seconds) and _count lines. */
void vex_mtext_hist(struct vex_buf *b, const char *name, const char *const *labels, const struct vex_metrics_hist *h,
		    const struct vex_metrics_bounds *bounds);

/* The route of each request row: method and pattern of row i (i < n, at most VEX_METRICS_ROUTE_ROWS). */
struct vex_mtext_routes {
	const char *const *method;
	const char *const *pattern;
	size_t n;
};

/*
 * Every family the counter page holds (requests, tools, dispatch, runners, MCP servers, webhooks, streams,
 * cache, committer), read with relaxed loads: a scrape racing an add sees it or not. Cells of one tool name
 * are added together; runners silent for 10 s (by "now_us") and their MCP servers are left out.
 */
void vex_mtext_page(struct vex_buf *b, const struct vex_metrics_page *p, const struct vex_mtext_routes *routes,
		    int64_t now_us);

#endif
