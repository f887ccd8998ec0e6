/* mcpconf.h - MCP servers: the [tools] mcp_file (mcp.json, the ecosystem's "mcpServers" format) parsed and checked. */
#ifndef VEX_MCPCONF_H
#define VEX_MCPCONF_H

#include <stddef.h>

#define VEX_MCP_FILE_MAX (1024 * 1024) /* bytes of mcp.json */
#define VEX_MCP_SERVERS_MAX 64         /* servers in one file */
#define VEX_MCP_NAME_MAX 64            /* [A-Za-z0-9_-]{1,64} */
#define VEX_MCP_ARGS_MAX 256           /* entries of "args" */
#define VEX_MCP_VALUE_MAX 8192         /* bytes of one command, arg, env value, url or header value */
#define VEX_MCP_ENV_MAX 128            /* entries of "env" */
#define VEX_MCP_HEADERS_MAX 64         /* entries of "headers" */
#define VEX_MCP_WARN_MAX 16            /* warnings kept by one parse */
#define VEX_MCP_TOOL_GRANTS_MAX 1000   /* entries of "vex": {"tools": ...} */
#define VEX_MCP_TOOL_NAME_MAX 128      /* bytes of a tool name there */

/* A grant for one tool of a server ("vex": {"tools": {TOOL: {"grant": ...}}}). */
struct vex_mcp_tool_grant {
	char *tool;
	char *grant; /* its text (core/tools/grant.h) */
};

/* One server. Exactly one of "command" (stdio) and "url" (Streamable HTTP) is set. */
struct vex_mcp_server_conf {
	char *name;
	char *command;   /* as written: a path, or a name looked up on PATH when the server starts */
	char **args;     /* nargs entries + NULL (argv[1..] of the command) */
	size_t nargs;
	char **env;      /* nenv "K=V" entries + NULL: added to (and overriding) the runner's environment */
	size_t nenv;
	char *url;       /* http:// or https:// */
	char **headers;  /* nheaders "Name: value" entries + NULL, sent with every request */
	size_t nheaders;
	char *grant;                           /* "vex": {"grant"}: NULL = admins only */
	struct vex_mcp_tool_grant *tool_grants; /* "vex": {"tools"}: a tool's own grant wins */
	size_t ntool_grants;
};

struct vex_mcp_conf {
	struct vex_mcp_server_conf *servers; /* in the file's order */
	size_t n;
	char *warnings[VEX_MCP_WARN_MAX];    /* what was ignored (unknown keys, disabled servers) */
	size_t nwarnings;
};

/*
 * Parse "len" bytes of "text" ({"mcpServers":{NAME:{...}}}); "path" only names the file in messages.
 * A server is {"command","args"?,"env"?} or {"url","headers"?}; "type" ("stdio", "http",
 * "streamable-http", "streamableHttp"), when present, must agree; {"disabled":true} skips it. Strings
 * may refer to the runner's environment as ${VAR} or ${VAR:-default} (expanded now). Unknown keys are
 * ignored and named in ret->warnings. Refused with an explanation naming the server and the field:
 * invalid JSON, a name outside [A-Za-z0-9_-]{1,64}, both or neither of command and url, the legacy SSE
 * transport, wrong types, an unset ${VAR} without a default, control characters in a header, sizes
 * over the caps above. On 0 the caller owns *ret (vex_mcp_conf_release).
 * Returns 0, VEX_EINVAL (err filled) or VEX_ENOMEM.
 */
int vex_mcp_conf_parse(const char *path, const char *text, size_t len, struct vex_mcp_conf *ret, char *err,
		       size_t errlen);

/* Read and parse the file "path"; a missing file is no servers (0 with ret->n == 0).
 * Returns 0, VEX_EINVAL, VEX_EIO (err filled) or VEX_ENOMEM. */
int vex_mcp_conf_load(const char *path, struct vex_mcp_conf *ret, char *err, size_t errlen);

/* Frees everything "c" holds and zeroes it. Accepts NULL. */
void vex_mcp_conf_release(struct vex_mcp_conf *c);

/* The grant of tool "tool" of "s" (text, core/tools/grant.h): the tool's own, else the server's, else NULL
 * (admins only). */
const char *vex_mcp_server_grant(const struct vex_mcp_server_conf *s, const char *tool);

/* 1 when "s" is a valid server name ([A-Za-z0-9_-]{1,64}), else 0. */
int vex_mcp_name_valid(const char *s);

#endif
