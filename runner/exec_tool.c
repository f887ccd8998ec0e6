/* exec_tool.c - a tool job to its executor: builtin, command or MCP. */
#include "runner/exec_tool.h"

#include <stdio.h>

#include "core/tools/tools.h"
#include "runner/commands.h"
#include "runner/exec_builtin.h"
#include "runner/mcp.h"

int vex_exec_tool(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	const char *name = ctx->job->tool ? ctx->job->tool : "";
	char msg[300];

	if (vex_tool_find(name))
		return vex_exec_builtin(ctx, out);
	if (vex_commands_has(name))
		return vex_exec_command(ctx, out);
	if (vex_mcp_has(name))
		return vex_exec_mcp(ctx, out);
	snprintf(msg, sizeof(msg), "tool %.200s is not configured on this runner", name);
	return vex_exec_fail(out, "TOOL_NOT_FOUND", msg);
}
