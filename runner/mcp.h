/* mcp.h - MCP servers from [tools] mcp_file: started, discovered, published to the catalog, called. */
#ifndef VEX_RUNNER_MCP_H
#define VEX_RUNNER_MCP_H

#include <stddef.h>

#include "core/base/config.h"
#include "runner/exec.h"

/* Load the server list of cfg->tools_mcp_file ({"mcpServers":{NAME:{"command","args","env"} |
 * {"url","headers"}}}; an absent file: none). Process-wide; call once. 0, or VEX_EINVAL with an
 * explanation in "err". */
int vex_mcp_load(const struct vex_config *cfg, char *err, size_t errlen);

/* Start discovery (initialize, tools/list, list_changed) of every loaded server in the background;
 * each server's tools are published to the catalog as "<server>.<tool>". "runner_id" is borrowed. */
int vex_mcp_start(const struct vex_config *cfg, const char *runner_id);

/* Stop every server process and thread, and free what vex_mcp_load loaded. */
void vex_mcp_stop(void);

/* 1 when "name" is "<server>.<tool>" of a loaded server, else 0. */
int vex_mcp_has(const char *name);

/* Run the MCP tool ctx->job->tool with the executor contract of exec.h. */
int vex_exec_mcp(struct vex_exec_ctx *ctx, struct vex_job *out);

#endif
