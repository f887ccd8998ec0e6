/* exec_tool.h - a tool job to its executor: builtin, command or MCP. */
#ifndef VEX_RUNNER_EXEC_TOOL_H
#define VEX_RUNNER_EXEC_TOOL_H

#include "runner/exec.h"

/* Run the tool job ctx->job by the source of ctx->job->tool (the full name vex-api resolved at
 * submit): a builtin, a loaded command tool, or "<server>.<tool>" of a loaded MCP server; anything
 * else fails TOOL_NOT_FOUND (the runner's configuration changed since the job was queued). */
int vex_exec_tool(struct vex_exec_ctx *ctx, struct vex_job *out);

#endif
