/* metrics_text.c - Prometheus text exposition 0.0.4 of the counter page and of the values /metrics adds. */
#include "core/metrics/metrics_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RUNNER_LIVE_US (10 * 1000000LL) /* as /health/detailed: a runner silent longer is down */

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void vex_mtext_family(struct vex_buf *b, const char *name, const char *type, const char *help)
{
	vex_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(struct vex_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			vex_buf_puts(b, "\\\\");
		else if (*v == '"')
			vex_buf_puts(b, "\\\"");
		else if (*v == '\n')
			vex_buf_puts(b, "\\n");
		else
			vex_buf_add(b, v, 1);
	}
}

static void put_labels(struct vex_buf *b, const char *name, const char *suffix, const char *const *labels,
		       const char *le)
{
	size_t i;
	int any = 0;

	vex_buf_printf(b, "%s%s", name, suffix);
	for (i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		vex_buf_printf(b, "%s%s=\"", any ? "," : "{", labels[i]);
		put_value(b, labels[i + 1]);
		vex_buf_puts(b, "\"");
		any = 1;
	}
	if (le)
		vex_buf_printf(b, "%sle=\"%s\"", any ? "," : "{", le);
	if (any || le)
		vex_buf_puts(b, "}");
}

void vex_mtext_sample(struct vex_buf *b, const char *name, const char *const *labels, uint64_t value)
{
	put_labels(b, name, "", labels, NULL);
	vex_buf_printf(b, " %" PRIu64 "\n", value);
}

void vex_mtext_sample_i(struct vex_buf *b, const char *name, const char *const *labels, int64_t value)
{
	put_labels(b, name, "", labels, NULL);
	vex_buf_printf(b, " %" PRId64 "\n", value);
}

void vex_mtext_hist(struct vex_buf *b, const char *name, const char *const *labels, const struct vex_metrics_hist *h,
		    const struct vex_metrics_bounds *bounds)
{
	uint64_t cum = 0;
	char le[32];
	size_t i;

	for (i = 0; i <= bounds->n; i++) {
		cum += ld(&h->bucket[i]);
		if (i < bounds->n)
			snprintf(le, sizeof(le), "%g", (double)bounds->us[i] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		put_labels(b, name, "_bucket", labels, le);
		vex_buf_printf(b, " %" PRIu64 "\n", cum);
	}
	put_labels(b, name, "_sum", labels, NULL);
	vex_buf_printf(b, " %.6f\n", (double)ld(&h->sum_us) / 1e6);
	put_labels(b, name, "_count", labels, NULL);
	vex_buf_printf(b, " %" PRIu64 "\n", cum); /* the +Inf bucket: always consistent with it */
}

/* ---- the page ---- */

static void requests(struct vex_buf *b, const struct vex_metrics_page *p, const struct vex_mtext_routes *rt)
{
	char code[16];
	size_t r;
	int c;

	vex_mtext_family(b, "vex_http_requests_total", "counter",
			 "Requests vex-api answered, by method, route pattern and status code.");
	for (r = 0; r < VEX_METRICS_ROUTES; r++) {
		const char *method = "", *route = NULL;

		if (r < VEX_METRICS_ROUTE_ROWS) {
			if (r >= rt->n)
				continue;
			method = rt->method[r];
			route = rt->pattern[r];
		} else if (r == VEX_METRICS_ROUTE_NONE) {
			method = "";
			route = "unmatched";
		} else {
			method = "GET";
			route = r == VEX_METRICS_ROUTE_STREAM_VEX ? "/api/v1/jobs/{id}/stream" : "/jobs/{id}/stream";
		}
		for (c = 0; c < VEX_METRICS_CODES; c++) {
			uint64_t n = ld(&p->requests[r][c]);

			if (n == 0)
				continue;
			if (c < VEX_METRICS_CODES - 1)
				snprintf(code, sizeof(code), "%d", vex_metrics_codes[c]);
			else
				snprintf(code, sizeof(code), "other");
			vex_mtext_sample(b, "vex_http_requests_total",
					 (const char *const[]){ "method", method, "route", route, "code", code, NULL }, n);
		}
	}
}

/* Tool cells added up by name (two processes may have taken a cell each for one new name). */
struct tool_sum {
	const char *name;
	int agent;
	uint64_t submits, completions, failed, timeout, canceled;
	struct vex_metrics_hist wait, run;
};

static void hist_add(struct vex_metrics_hist *to, const struct vex_metrics_hist *from)
{
	for (size_t i = 0; i < VEX_METRICS_BUCKETS; i++)
		to->bucket[i] += ld(&from->bucket[i]);
	to->sum_us += ld(&from->sum_us);
}

static size_t tool_sums(const struct vex_metrics_page *p, struct tool_sum *out)
{
	size_t n = 0, k;
	int i;

	for (i = 0; i < VEX_METRICS_TOOLS; i++) {
		const struct vex_metrics_tool *t = &p->tools[i];

		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != 2 || memchr(t->name, '\0', sizeof(t->name)) == NULL)
			continue;
		for (k = 0; k < n && strcmp(out[k].name, t->name) != 0; k++)
			;
		if (k == n) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].name = t->name;
			out[n].agent = i == VEX_METRICS_TOOL_AGENT;
			n++;
		}
		out[k].submits += ld(&t->submits);
		out[k].completions += ld(&t->completions);
		out[k].failed += ld(&t->failed);
		out[k].timeout += ld(&t->timeout);
		out[k].canceled += ld(&t->canceled);
		hist_add(&out[k].wait, &t->wait);
		hist_add(&out[k].run, &t->run);
	}
	return n;
}

static void tools(struct vex_buf *b, const struct vex_metrics_page *p)
{
	static struct tool_sum sums[VEX_METRICS_TOOLS]; /* a worker answers one request at a time */
	size_t n = tool_sums(p, sums), i;

#define TOOL_LABELS(s) "kind", (s)->agent ? "agent" : "tool", "tool", (s)->name
	vex_mtext_family(b, "vex_job_submits_total", "counter", "Jobs accepted, by kind and tool.");
	for (i = 0; i < n; i++)
		vex_mtext_sample(b, "vex_job_submits_total", (const char *const[]){ TOOL_LABELS(&sums[i]), NULL },
				 sums[i].submits);
	vex_mtext_family(b, "vex_job_completions_total", "counter", "Jobs that completed, by kind and tool.");
	for (i = 0; i < n; i++)
		vex_mtext_sample(b, "vex_job_completions_total", (const char *const[]){ TOOL_LABELS(&sums[i]), NULL },
				 sums[i].completions);
	vex_mtext_family(b, "vex_job_failures_total", "counter",
			 "Jobs that failed (status failed or timeout), by kind, tool and status.");
	for (i = 0; i < n; i++) {
		vex_mtext_sample(b, "vex_job_failures_total",
				 (const char *const[]){ TOOL_LABELS(&sums[i]), "status", "failed", NULL }, sums[i].failed);
		vex_mtext_sample(b, "vex_job_failures_total",
				 (const char *const[]){ TOOL_LABELS(&sums[i]), "status", "timeout", NULL },
				 sums[i].timeout);
	}
	vex_mtext_family(b, "vex_job_cancellations_total", "counter",
			 "Running jobs that ended canceled, by kind and tool.");
	for (i = 0; i < n; i++)
		vex_mtext_sample(b, "vex_job_cancellations_total", (const char *const[]){ TOOL_LABELS(&sums[i]), NULL },
				 sums[i].canceled);
	vex_mtext_family(b, "vex_job_queue_wait_seconds", "histogram",
			 "Time from a job's creation to its first claim, by kind and tool.");
	for (i = 0; i < n; i++)
		vex_mtext_hist(b, "vex_job_queue_wait_seconds", (const char *const[]){ TOOL_LABELS(&sums[i]), NULL },
			       &sums[i].wait, &vex_metrics_wait_bounds);
	vex_mtext_family(b, "vex_job_run_seconds", "histogram",
			 "Time from a job's first claim to its end, by kind and tool.");
	for (i = 0; i < n; i++)
		vex_mtext_hist(b, "vex_job_run_seconds", (const char *const[]){ TOOL_LABELS(&sums[i]), NULL },
			       &sums[i].run, &vex_metrics_wait_bounds);
#undef TOOL_LABELS
}

static int runner_live(const struct vex_metrics_page *p, int i, int64_t now_us)
{
	const struct vex_metrics_runner *r = &p->runners[i];
	int64_t beat = __atomic_load_n(&r->beat_us, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == 2 && beat > 0 && now_us - beat <= RUNNER_LIVE_US;
}

static void runners(struct vex_buf *b, const struct vex_metrics_page *p, int64_t now_us)
{
	char id[VEX_METRICS_NAME_MAX], name[VEX_METRICS_NAME_MAX];
	int i, k;

	vex_mtext_family(b, "vex_runner_slots", "gauge", "Job slots of each live runner.");
	for (i = 0; i < VEX_METRICS_RUNNERS; i++)
		if (runner_live(p, i, now_us)) {
			snprintf(id, sizeof(id), "%s", p->runners[i].id);
			vex_mtext_sample(b, "vex_runner_slots", (const char *const[]){ "runner", id, NULL },
					 ld(&p->runners[i].slots));
		}
	vex_mtext_family(b, "vex_runner_slots_busy", "gauge", "Job slots of each live runner holding a job.");
	for (i = 0; i < VEX_METRICS_RUNNERS; i++)
		if (runner_live(p, i, now_us)) {
			snprintf(id, sizeof(id), "%s", p->runners[i].id);
			vex_mtext_sample(b, "vex_runner_slots_busy", (const char *const[]){ "runner", id, NULL },
					 ld(&p->runners[i].busy));
		}
	vex_mtext_family(b, "vex_mcp_server_up", "gauge",
			 "1 when the MCP server is initialized and answering, 0 when down, by runner and server.");
	for (k = 0; k < VEX_METRICS_MCP; k++) {
		const struct vex_metrics_mcp *m = &p->mcp[k];

		if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != 2 || m->runner < 0 ||
		    m->runner >= VEX_METRICS_RUNNERS || !runner_live(p, m->runner, now_us))
			continue;
		snprintf(id, sizeof(id), "%s", p->runners[m->runner].id);
		snprintf(name, sizeof(name), "%s", m->name);
		vex_mtext_sample(b, "vex_mcp_server_up", (const char *const[]){ "runner", id, "server", name, NULL },
				 ld(&m->up));
	}
}

static void counter(struct vex_buf *b, const struct vex_metrics_page *p, const char *name, enum vex_metric m,
		    const char *help)
{
	vex_mtext_family(b, name, "counter", help);
	vex_mtext_sample(b, name, NULL, ld(&p->counter[m]));
}

void vex_mtext_page(struct vex_buf *b, const struct vex_metrics_page *p, const struct vex_mtext_routes *routes,
		    int64_t now_us)
{
	requests(b, p, routes);
	tools(b, p);
	vex_mtext_family(b, "vex_dispatch_latency_seconds", "histogram",
			 "Time from a job's creation to its executor starting, first attempts of every job.");
	vex_mtext_hist(b, "vex_dispatch_latency_seconds", NULL, &p->dispatch, &vex_metrics_dispatch_bounds);
	runners(b, p, now_us);
	vex_mtext_family(b, "vex_webhook_deliveries_total", "counter",
			 "Webhook delivery attempts, by outcome: delivered, retry (another attempt is due), "
			 "failed (given up).");
	vex_mtext_sample(b, "vex_webhook_deliveries_total", (const char *const[]){ "outcome", "delivered", NULL },
			 ld(&p->counter[VEX_M_HOOK_DELIVERED]));
	vex_mtext_sample(b, "vex_webhook_deliveries_total", (const char *const[]){ "outcome", "retry", NULL },
			 ld(&p->counter[VEX_M_HOOK_RETRY]));
	vex_mtext_sample(b, "vex_webhook_deliveries_total", (const char *const[]){ "outcome", "failed", NULL },
			 ld(&p->counter[VEX_M_HOOK_FAILED]));
	vex_mtext_family(b, "vex_streams_open", "gauge", "Server-Sent Event streams open now.");
	vex_mtext_sample_i(b, "vex_streams_open", NULL, __atomic_load_n(&p->gauge[VEX_G_STREAMS_OPEN], __ATOMIC_RELAXED));
	counter(b, p, "vex_streams_opened_total", VEX_M_STREAMS_OPENED, "Server-Sent Event streams opened.");
	counter(b, p, "vex_cache_hits_total", VEX_M_CACHE_HITS, "Job reads answered from memcached.");
	counter(b, p, "vex_cache_misses_total", VEX_M_CACHE_MISSES, "Job reads that fell back to SQLite.");
	counter(b, p, "vex_cache_rejected_total", VEX_M_CACHE_REJECTED,
		"memcached values refused because their MAC did not verify.");
	counter(b, p, "vex_commit_batches_total", VEX_M_COMMIT_BATCHES, "Transactions of the group committer.");
	counter(b, p, "vex_commit_jobs_total", VEX_M_COMMIT_JOBS, "Jobs the group committer inserted.");
	counter(b, p, "vex_intake_rounds_total", VEX_M_INTAKE_ROUNDS,
		"Runner rounds that stored new jobs from the intake with their claims and finishes.");
	counter(b, p, "vex_intake_jobs_total", VEX_M_INTAKE_JOBS, "Jobs the runner's intake inserted.");
	counter(b, p, "vex_checkpoints_total", VEX_M_CHECKPOINTS,
		"WAL checkpoints run by the runner's checkpoint thread for its writer.");
	vex_mtext_family(b, "vex_counters_created_timestamp_seconds", "gauge",
			 "When the counter file was made: the counters count from then.");
	vex_mtext_sample_i(b, "vex_counters_created_timestamp_seconds", NULL, p->created_us / 1000000);
}
