/* tools.c - vexctl tools list|run: the tools the caller may run; run one and follow its job. */
#include <string.h>

#include "tools/vexctl/jobs.h"
#include "tools/vexctl/list.h"

static void tool_row(struct vc_table *t, json_t *tool)
{
	char name[256], source[64], desc[512];
	const char *row[3] = { vc_cell(tool, "name", name, sizeof(name)), vc_cell(tool, "source", source, sizeof(source)),
			       vc_cell(tool, "description", desc, sizeof(desc)) };

	vc_table_add(t, row);
}

static int tools_list(int argc, char **argv, struct vc_ctx *ctx)
{
	static const char *const head[] = { "NAME", "SOURCE", "DESCRIPTION" };
	static const struct vc_listing tools = { "tools", 3, head, tool_row };
	char path[64] = "/api/v1/tools";
	int rc = vc_list_query(argc, argv, ctx, NULL, NULL, path, sizeof(path));

	if (rc)
		return rc == VC_OPT_HELP ? VC_EXIT_OK : rc;
	return vc_list_show(ctx, "GET", path, &tools);
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
