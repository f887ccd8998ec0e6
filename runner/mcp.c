/* mcp.c - MCP servers (stub: none are loaded yet). */
#include "runner/mcp.h"

#include "core/err.h"

int vex_mcp_load(const struct vex_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (errlen)
		err[0] = '\0';
	return 0;
}

int vex_mcp_start(const struct vex_config *cfg, const char *runner_id)
{
	(void)cfg;
	(void)runner_id;
	return 0;
}

void vex_mcp_stop(void)
{
}

int vex_mcp_has(const char *name)
{
	(void)name;
	return 0;
}

int vex_exec_mcp(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	(void)ctx;
	return vex_exec_fail(out, "TOOL_NOT_FOUND", "no such MCP tool");
}
