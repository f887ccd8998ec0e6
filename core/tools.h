/* tools.h - the tool catalog as vex-api and the runner see it (builtins now; commands and MCP later). */
#ifndef VEX_TOOLS_H
#define VEX_TOOLS_H

#include <stddef.h>

struct vex_tool_info {
	const char *name;
	const char *source;            /* "builtin" */
	const char *description;
	const char *input_schema_json; /* a JSON Schema object, as text */
};

/* The builtin tools echo, sleep and fail; *ret points at static storage. Returns the count. */
size_t vex_tools_builtin(const struct vex_tool_info **ret);

/* The tool called "name", or NULL. */
const struct vex_tool_info *vex_tool_find(const char *name);

#endif
