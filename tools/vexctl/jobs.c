/* jobs.c - vexctl jobs submit|get|list|cancel|retry|watch, and the submits tools and agents share. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "tools/vexctl/jobs.h"
#include "tools/vexctl/list.h"

static const char *const job_head[] = { "JOB", "STATUS", "KIND", "TOOL/AGENT", "QUEUED", "ERROR" };

/* One job envelope as a row of job_head. */
static void job_row(struct vc_table *t, json_t *job)
{
	char id[128], st[64], kind[64], target[256], queued[64], err[256];
	json_t *e = json_object_get(job, "error");
	const char *row[6] = {
		vc_cell(job, "job_id", id, sizeof(id)),
		vc_cell(job, "status", st, sizeof(st)),
		vc_cell(job, "kind", kind, sizeof(kind)),
		vc_cell(job, "tool", target, sizeof(target)),
		vc_cell(job, "queued_at", queued, sizeof(queued)),
		vc_cell(e, "code", err, sizeof(err)),
	};

	if (!row[3])
		row[3] = vc_cell(job, "agent_id", target, sizeof(target));
	vc_table_add(t, row);
}

int vc_submitted(struct vc_client *c, const struct vc_answer *a, int wait)
{
	static const char *const head[] = { "JOB", "STATUS" };
	const char *id = json_string_value(json_object_get(a->json, "job_id"));
	char buf[64];
	struct vc_table t;
	int status;

	if (!id) {
		fprintf(stderr, "vexctl: the server's answer names no job_id\n");
		return VC_EXIT_API;
	}
	if (c->json) {
		status = vc_print_raw(a);
	} else {
		const char *row[2] = { id, vc_cell(a->json, "status", buf, sizeof(buf)) };

		vc_table_init(&t, 2, head);
		vc_table_add(&t, row);
		status = vc_table_print(&t);
		vc_table_release(&t);
	}
	return status == 0 && wait ? vc_watch(c, id) : status;
}

/* POST "path" with the JSON "body" (consumed), then vc_submitted. */
static int submit(struct vc_client *c, const char *path, json_t *body, int wait)
{
	struct vc_answer a;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int status;

	json_decref(body);
	if (!text) {
		fprintf(stderr, "vexctl: out of memory\n");
		return VC_EXIT_API;
	}
	status = vc_call(c, "POST", path, text, &a);
	if (status == 0)
		status = vc_submitted(c, &a, wait);
	vc_answer_release(&a);
	free(text);
	return status;
}

int vc_submit_tool(struct vc_client *c, const char *name, const char *args, long long timeout_ms, int wait)
{
	json_t *body = json_object(), *arguments = NULL;
	json_error_t jerr;
	char path[1024];

	if (args) {
		arguments = json_loads(args, 0, &jerr);
		if (!json_is_object(arguments)) {
			fprintf(stderr, "vexctl: --args must be a JSON object%s%s\n", arguments ? "" : ": ",
				arguments ? "" : jerr.text);
			json_decref(arguments);
			json_decref(body);
			return VC_EXIT_USAGE;
		}
		json_object_set_new(body, "arguments", arguments);
	}
	if (timeout_ms > 0)
		json_object_set_new(body, "timeout_ms", json_integer(timeout_ms));
	if (vc_path(path, sizeof(path), "tools/%s/execute", name) < 0) {
		json_decref(body);
		fprintf(stderr, "vexctl: bad tool name (empty, \".\", \"..\", a \"/\", or too long)\n");
		return VC_EXIT_USAGE;
	}
	return submit(c, path, body, wait);
}

int vc_submit_agent(struct vc_client *c, const char *id, const char *prompt, int wait)
{
	char path[1024];

	if (vc_path(path, sizeof(path), "agents/%s/execute", id) < 0) {
		fprintf(stderr, "vexctl: bad agent id (empty, \".\", \"..\", a \"/\", or too long)\n");
		return VC_EXIT_USAGE;
	}
	return submit(c, path, json_pack("{s:s}", "prompt", prompt), wait);
}

static int jobs_submit(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "tool", required_argument, NULL, 't' },   { "args", required_argument, NULL, 'a' },
		{ "agent", required_argument, NULL, 'g' },  { "prompt", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 'T' }, { "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tool = NULL, *args = NULL, *agent = NULL, *prompt = NULL;
	struct vc_client c = { 0 };
	long long timeout_ms = 0;
	int ch, wait = 0, status = VC_EXIT_USAGE;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		switch (ch) {
		case 't': tool = optarg; break;
		case 'a': args = optarg; break;
		case 'g': agent = optarg; break;
		case 'p': prompt = optarg; break;
		case 'w': wait = 1; break;
		case 'T':
			if (vc_parse_ll(optarg, 1, 86400000, &timeout_ms) < 0) {
				vc_usage_error("--timeout-ms must be 1..86400000, not '%s'", optarg);
				return VC_EXIT_USAGE;
			}
			break;
		default:
			return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
		}
	}
	if (vc_operands(argc, argv, 0, "") < 0)
		return VC_EXIT_USAGE;
	if (!tool == !agent || (agent && (!prompt || args || timeout_ms)) || (tool && prompt)) {
		vc_usage_error("jobs submit needs --tool NAME [--args JSON] [--timeout-ms N], or --agent ID --prompt TEXT");
		return VC_EXIT_USAGE;
	}
	status = vc_client_open(ctx, &c);
	if (status)
		goto out;
	status = tool ? vc_submit_tool(&c, tool, args, timeout_ms, wait) : vc_submit_agent(&c, agent, prompt, wait);
out:
	vc_client_release(&c);
	return status;
}

/* The commands that take one job id and do one request: get, cancel, retry, watch. */
enum job_op { OP_GET, OP_CANCEL, OP_RETRY, OP_WATCH };

static int job_one(int argc, char **argv, struct vc_ctx *ctx, enum job_op op)
{
	static const struct option wait_opt[] = { { "wait", no_argument, NULL, 'w' }, { NULL, 0, NULL, 0 } };
	struct vc_client c = { 0 };
	struct vc_answer a = { 0 };
	char path[1024];
	int ch, wait = 0, status;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, op == OP_RETRY ? wait_opt : NULL, ctx)) != -1) {
		if (ch != 'w')
			return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
		wait = 1;
	}
	if (vc_operands(argc, argv, 1, "the job id") < 0)
		return VC_EXIT_USAGE;
	if (vc_path(path, sizeof(path), op == OP_CANCEL ? "jobs/%s/cancel" : op == OP_RETRY ? "jobs/%s/retry" : "jobs/%s",
		    argv[optind]) < 0) {
		vc_usage_error("bad job id (empty, \".\", \"..\", a \"/\", or too long)");
		return VC_EXIT_USAGE;
	}
	status = vc_client_open(ctx, &c);
	if (status)
		goto out;
	if (op == OP_WATCH) {
		status = vc_watch(&c, argv[optind]);
		goto out;
	}
	status = vc_call(&c, op == OP_GET ? "GET" : "POST", path, NULL, &a);
	if (status)
		goto out;
	if (op == OP_RETRY) {
		status = vc_submitted(&c, &a, wait);
	} else if (c.json) {
		status = vc_print_raw(&a);
	} else if (op == OP_CANCEL) {
		static const struct vc_listing one = { NULL, 6, job_head, job_row };

		status = vc_list_print(&c, &a, &one);
		if (status == 0 && a.status == 202)
			printf("cancel requested: the runner stops the job\n");
		status = vc_done(status);
	} else {
		status = vc_print_object(a.json);
	}
out:
	vc_answer_release(&a);
	vc_client_release(&c);
	return status;
}

static int jobs_get(int argc, char **argv, struct vc_ctx *ctx)
{
	return job_one(argc, argv, ctx, OP_GET);
}

static int jobs_cancel(int argc, char **argv, struct vc_ctx *ctx)
{
	return job_one(argc, argv, ctx, OP_CANCEL);
}

static int jobs_retry(int argc, char **argv, struct vc_ctx *ctx)
{
	return job_one(argc, argv, ctx, OP_RETRY);
}

static int jobs_watch(int argc, char **argv, struct vc_ctx *ctx)
{
	return job_one(argc, argv, ctx, OP_WATCH);
}

/* jobs list: the filters of the contracts' listing, passed as they are (the server checks them). */
static int jobs_list(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 1 },        { "kind", required_argument, NULL, 2 },
		{ "tool", required_argument, NULL, 3 },          { "agent", required_argument, NULL, 4 },
		{ "created-after", required_argument, NULL, 5 }, { "created-before", required_argument, NULL, 6 },
		{ "limit", required_argument, NULL, 7 },         { "cursor", required_argument, NULL, 8 },
		{ "owner", required_argument, NULL, 9 },         { NULL, 0, NULL, 0 },
	};
	static const char *const names[] = { "status", "kind", "tool", "agent_id", "created_after",
					     "created_before", "limit", "cursor", "owner" };
	static const struct vc_listing jobs = { "jobs", 6, job_head, job_row };
	char path[4096] = "/api/v1/jobs";
	int rc = vc_list_query(argc, argv, ctx, opts, names, path, sizeof(path));

	if (rc)
		return rc == VC_OPT_HELP ? VC_EXIT_OK : rc;
	return vc_list_show(ctx, "GET", path, &jobs);
}

int vc_cmd_jobs(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct vc_action actions[] = {
		{ "submit", "jobs submit (--tool NAME [--args JSON] [--timeout-ms N] | --agent ID --prompt TEXT) [--wait]",
		  jobs_submit },
		{ "get", "jobs get JOB", jobs_get },
		{ "list",
		  "jobs list [--status S[,S]] [--kind agent|tool] [--tool NAME] [--agent ID] [--created-after RFC3339] "
		  "[--created-before RFC3339] [--limit N] [--cursor C] [--owner SUB]",
		  jobs_list },
		{ "cancel", "jobs cancel JOB", jobs_cancel },
		{ "retry", "jobs retry JOB [--wait]", jobs_retry },
		{ "watch", "jobs watch JOB", jobs_watch },
	};

	return vc_dispatch("jobs", actions, sizeof(actions) / sizeof(actions[0]), argc, argv, ctx);
}
