/* ops.c - vexctl stats and runners: what an operator reads to see the queue, failures and runners. */
#include <string.h>

#include "tools/vexctl/list.h"

/* The runners of "runners" (an array of Runner), then the jobs they run. */
static int print_runners(json_t *runners)
{
	static const char *const head[] = { "RUNNER", "HOST", "PID", "BUSY/SLOTS", "PAUSED", "LAST_SEEN", "STARTED" };
	static const char *const jhead[] = { "RUNNER", "JOB", "KIND", "TOOL/AGENT", "STARTED" };
	struct vc_table t, jt;
	json_t *r, *job;
	size_t i, k;
	int status;

	vc_table_init(&t, 7, head);
	vc_table_init(&jt, 5, jhead);
	json_array_foreach(runners, i, r) {
		char id[128], host[256], pid[32], busy[32], slots[32], both[80], paused[16], seen[64], started[64];
		const char *row[7] = { vc_cell(r, "id", id, sizeof(id)), vc_cell(r, "host", host, sizeof(host)),
				       vc_cell(r, "pid", pid, sizeof(pid)), both,
				       vc_cell(r, "paused", paused, sizeof(paused)),
				       vc_cell(r, "last_seen", seen, sizeof(seen)),
				       vc_cell(r, "started_at", started, sizeof(started)) };
		const char *b = vc_cell(r, "busy", busy, sizeof(busy)), *s = vc_cell(r, "slots", slots, sizeof(slots));

		snprintf(both, sizeof(both), "%s/%s", b ? b : "-", s ? s : "-");
		vc_table_add(&t, row);
		json_array_foreach(json_object_get(r, "running"), k, job) {
			char jid[128], kind[32], target[256], js[64];
			const char *jrow[5] = { row[0], vc_cell(job, "job_id", jid, sizeof(jid)),
						vc_cell(job, "kind", kind, sizeof(kind)),
						vc_cell(job, "tool", target, sizeof(target)),
						vc_cell(job, "started_at", js, sizeof(js)) };

			if (!jrow[3])
				jrow[3] = vc_cell(job, "agent_id", target, sizeof(target));
			vc_table_add(&jt, jrow);
		}
	}
	status = vc_table_print(&t);
	if (status == 0 && jt.nrows) {
		printf("\n");
		status = vc_table_print(&jt);
	}
	vc_table_release(&t);
	vc_table_release(&jt);
	return status;
}

/* GET "base" with the query of "opts"/"names" and print it with "print" (or raw with --json). */
static int get_and_print(int argc, char **argv, struct vc_ctx *ctx, const struct option *opts,
			 const char *const *names, const char *base, int (*print)(json_t *))
{
	struct vc_client c = { 0 };
	struct vc_answer a = { 0 };
	char path[1024];
	int status;

	snprintf(path, sizeof(path), "%s", base);
	status = vc_list_query(argc, argv, ctx, opts, names, path, sizeof(path));
	if (status)
		return status == VC_OPT_HELP ? VC_EXIT_OK : status;
	status = vc_client_open(ctx, &c);
	if (status)
		goto out;
	status = vc_call(&c, "GET", path, NULL, &a);
	if (status == 0)
		status = c.json ? vc_print_raw(&a) : print(a.json);
out:
	vc_answer_release(&a);
	vc_client_release(&c);
	return status;
}

static int print_runner_list(json_t *answer)
{
	return print_runners(json_object_get(answer, "runners"));
}

/* The stats answer (the contracts' StatsResponse) for people. */
static int print_stats(json_t *s)
{
	static const char *const states[] = { "pending", "running", "completed", "failed", "canceled", "timeout" };
	static const char *const thead[] = { "TOOL", "KIND", "SUBMITTED", "COMPLETED", "FAILED", "P50_MS", "P95_MS" };
	json_t *jobs = json_object_get(s, "jobs"), *old = json_object_get(s, "oldest_pending");
	json_t *paused = json_object_get(s, "paused"), *tool, *name;
	char a[256], b[256], c[64];
	struct vc_table t;
	size_t i;
	int status;

	printf("scope %s%s%s, at %s\n", vc_clean(vc_cell(s, "scope", a, sizeof(a)) ? a : "-", a, sizeof(a)),
	       vc_cell(s, "owner", b, sizeof(b)) ? " " : "", vc_cell(s, "owner", b, sizeof(b)) ? vc_clean(b, b, sizeof(b)) : "",
	       vc_cell(s, "generated_at", c, sizeof(c)) ? vc_clean(c, c, sizeof(c)) : "-");
	printf("jobs:");
	for (i = 0; i < 6; i++)
		printf("  %s %s", states[i], vc_cell(jobs, states[i], a, sizeof(a)) ? vc_clean(a, a, sizeof(a)) : "-");
	printf("\noldest pending: ");
	if (json_is_object(old))
		printf("%s, queued %s, %s s ago\n", vc_clean(vc_cell(old, "job_id", a, sizeof(a)) ? a : "-", a, sizeof(a)),
		       vc_clean(vc_cell(old, "queued_at", b, sizeof(b)) ? b : "-", b, sizeof(b)),
		       vc_clean(vc_cell(old, "age_s", c, sizeof(c)) ? c : "-", c, sizeof(c)));
	else
		printf("none\n");
	printf("paused: all %s, tools:", json_is_true(json_object_get(paused, "all")) ? "yes" : "no");
	json_array_foreach(json_object_get(paused, "tools"), i, name)
		printf(" %s", json_is_string(name) ? vc_clean(json_string_value(name), a, sizeof(a))
						   : vc_clean(vc_cell(name, "name", b, sizeof(b)) ? b : "?", a, sizeof(a)));
	printf("%s\n\nlast hour:\n", json_array_size(json_object_get(paused, "tools")) ? "" : " none");
	vc_table_init(&t, 7, thead);
	json_array_foreach(json_object_get(s, "tools"), i, tool) {
		json_t *h = json_object_get(tool, "last_hour");
		char v[7][128];
		const char *row[7] = { vc_cell(tool, "name", v[0], 128), vc_cell(tool, "kind", v[1], 128),
				       vc_cell(h, "submitted", v[2], 128), vc_cell(h, "completed", v[3], 128),
				       vc_cell(h, "failed", v[4], 128),    vc_cell(h, "p50_ms", v[5], 128),
				       vc_cell(h, "p95_ms", v[6], 128) };

		vc_table_add(&t, row);
	}
	status = vc_table_print(&t);
	vc_table_release(&t);
	if (status == 0) {
		printf("\nrunners:\n");
		status = print_runners(json_object_get(s, "runners"));
	}
	return status;
}

int vc_cmd_stats(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = { { "owner", required_argument, NULL, 1 }, { NULL, 0, NULL, 0 } };
	static const char *const names[] = { "owner" };

	ctx->usage = "stats [--owner SUB]";
	return get_and_print(argc, argv, ctx, opts, names, "/api/v1/stats", print_stats);
}

int vc_cmd_runners(int argc, char **argv, struct vc_ctx *ctx)
{
	ctx->usage = "runners";
	return get_and_print(argc, argv, ctx, NULL, NULL, "/api/v1/runners", print_runner_list);
}
