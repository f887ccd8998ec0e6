/* webhooks.c - vexctl webhooks list|deliveries|resend: hooks, what they delivered, re-sending one delivery. */
#include <string.h>

#include "tools/vexctl/list.h"

static const char *const delivery_head[] = { "DELIVERY", "EVENT", "JOB", "STATUS", "ATTEMPTS", "LAST_CODE", "CREATED" };

static void delivery_row(struct vc_table *t, json_t *d)
{
	char v[7][160];
	const char *row[7] = { vc_cell(d, "id", v[0], 160),       vc_cell(d, "event", v[1], 160),
			       vc_cell(d, "job_id", v[2], 160),   vc_cell(d, "status", v[3], 160),
			       vc_cell(d, "attempts", v[4], 160), vc_cell(d, "last_status_code", v[5], 160),
			       vc_cell(d, "created_at", v[6], 160) };

	vc_table_add(t, row);
}

static void hook_row(struct vc_table *t, json_t *h)
{
	char v[5][512];
	const char *row[5] = { vc_cell(h, "id", v[0], 512), vc_cell(h, "url", v[1], 512),
			       vc_cell(h, "events", v[2], 512), vc_cell(h, "status", v[3], 512),
			       vc_cell(h, "last_error", v[4], 512) };

	vc_table_add(t, row);
}

static int webhooks_list(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 1 }, { "cursor", required_argument, NULL, 2 },
		{ "owner", required_argument, NULL, 3 }, { NULL, 0, NULL, 0 },
	};
	static const char *const names[] = { "limit", "cursor", "owner" };
	static const char *const head[] = { "HOOK", "URL", "EVENTS", "STATUS", "LAST_ERROR" };
	static const struct vc_listing hooks = { "webhooks", 5, head, hook_row };
	char path[2048] = "/api/v1/webhooks";
	int rc = vc_list_query(argc, argv, ctx, opts, names, path, sizeof(path));

	if (rc)
		return rc == VC_OPT_HELP ? VC_EXIT_OK : rc;
	return vc_list_show(ctx, "GET", path, &hooks);
}

/* deliveries HOOK [--limit N] [--before DELIVERY], or deliveries --job JOB (the deliveries a job caused). */
static int webhooks_deliveries(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' }, { "before", required_argument, NULL, 'b' },
		{ "job", required_argument, NULL, 'j' },   { NULL, 0, NULL, 0 },
	};
	const char *limit = NULL, *before = NULL, *job = NULL;
	static const struct vc_listing deliveries = { "deliveries", 7, delivery_head, delivery_row };
	char path[2048];
	int ch, rc;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		if (ch == 'l')
			limit = optarg;
		else if (ch == 'b')
			before = optarg;
		else if (ch == 'j')
			job = optarg;
		else
			return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
	}
	if (job && (limit || before)) {
		vc_usage_error("--job takes no --limit or --before");
		return VC_EXIT_USAGE;
	}
	if (vc_operands(argc, argv, job ? 0 : 1, "the webhook's id (or --job JOB)") < 0)
		return VC_EXIT_USAGE;
	rc = job ? vc_path(path, sizeof(path), "jobs/%s/deliveries", job)
		 : vc_path(path, sizeof(path), "webhooks/%s/deliveries", argv[optind]);
	if (rc < 0 || vc_query(path, sizeof(path), "limit", limit) < 0 ||
	    vc_query(path, sizeof(path), "before", before) < 0) {
		vc_usage_error("bad id (empty, \".\", \"..\", a \"/\"), or arguments too long");
		return VC_EXIT_USAGE;
	}
	return vc_list_show(ctx, "GET", path, &deliveries);
}

/* resend HOOK DELIVERY: a new delivery of the same event and body (202). */
static int webhooks_resend(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct vc_listing one = { NULL, 7, delivery_head, delivery_row };
	char path[2048];
	int ch;

	optind = 0;
	if ((ch = vc_getopt(argc, argv, NULL, ctx)) != -1)
		return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
	if (vc_operands(argc, argv, 2, "the webhook's id and the delivery's id") < 0)
		return VC_EXIT_USAGE;
	if (vc_path(path, sizeof(path), "webhooks/%s/deliveries/%s/resend", argv[optind], argv[optind + 1]) < 0) {
		vc_usage_error("bad ids (empty, \".\", \"..\", a \"/\", or too long)");
		return VC_EXIT_USAGE;
	}
	return vc_list_show(ctx, "POST", path, &one);
}

int vc_cmd_webhooks(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct vc_action actions[] = {
		{ "list", "webhooks list [--limit N] [--cursor C] [--owner SUB]", webhooks_list },
		{ "deliveries", "webhooks deliveries (HOOK [--limit N] [--before DELIVERY] | --job JOB)", webhooks_deliveries },
		{ "resend", "webhooks resend HOOK DELIVERY", webhooks_resend },
	};

	return vc_dispatch("webhooks", actions, sizeof(actions) / sizeof(actions[0]), argc, argv, ctx);
}
