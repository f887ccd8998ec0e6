/* tools.c - vexctl tools list|run: the tools the caller may run; run one and follow its job. */
#include <string.h>

#include "tools/vexctl/jobs.h"
#include "tools/vexctl/output.h"

static int tools_list(int argc, char **argv, struct vc_ctx *ctx)
{
	static const char *const head[] = { "NAME", "SOURCE", "DESCRIPTION" };
	struct vc_client c = { 0 };
	struct vc_answer a = { 0 };
	struct vc_table t;
	json_t *tool;
	size_t i;
	int ch, status;

	optind = 0;
	if ((ch = vc_getopt(argc, argv, NULL, ctx)) != -1)
		return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
	if (vc_operands(argc, argv, 0, "") < 0)
		return VC_EXIT_USAGE;
	status = vc_client_open(ctx, &c);
	if (status)
		goto out;
	status = vc_call(&c, "GET", "/api/v1/tools", NULL, &a);
	if (status)
		goto out;
	if (c.json) {
		status = vc_print_raw(&a);
		goto out;
	}
	vc_table_init(&t, 3, head);
	json_array_foreach(json_object_get(a.json, "tools"), i, tool) {
		char name[256], source[64], desc[512];
		const char *row[3] = { vc_cell(tool, "name", name, sizeof(name)),
				       vc_cell(tool, "source", source, sizeof(source)),
				       vc_cell(tool, "description", desc, sizeof(desc)) };

		vc_table_add(&t, row);
	}
	status = vc_table_print(&t);
	vc_table_release(&t);
out:
	vc_answer_release(&a);
	vc_client_release(&c);
	return status;
}

/* tools run NAME [--args JSON] [--timeout-ms N] [--no-wait]: submit, then follow the job. */
static int tools_run(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "args", required_argument, NULL, 'a' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_client c = { 0 };
	const char *args = NULL;
	long long timeout_ms = 0;
	int ch, wait = 1, status;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		if (ch == 'a') {
			args = optarg;
		} else if (ch == 'n') {
			wait = 0;
		} else if (ch == 'T') {
			if (vc_parse_ll(optarg, 1, 86400000, &timeout_ms) < 0) {
				vc_usage_error("--timeout-ms must be 1..86400000, not '%s'", optarg);
				return VC_EXIT_USAGE;
			}
		} else {
			return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
		}
	}
	if (vc_operands(argc, argv, 1, "the tool's name") < 0)
		return VC_EXIT_USAGE;
	status = vc_client_open(ctx, &c);
	if (status == 0)
		status = vc_submit_tool(&c, argv[optind], args, timeout_ms, wait);
	vc_client_release(&c);
	return status;
}

int vc_cmd_tools(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct vc_action actions[] = {
		{ "list", "tools list", tools_list },
		{ "run", "tools run NAME [--args JSON] [--timeout-ms N] [--no-wait]", tools_run },
	};

	return vc_dispatch("tools", actions, sizeof(actions) / sizeof(actions[0]), argc, argv, ctx);
}
