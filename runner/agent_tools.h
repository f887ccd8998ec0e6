/* agent_tools.h - private to the agent executor: the tools offered to the model and running one call. */
#ifndef VEX_RUNNER_AGENT_TOOLS_H
#define VEX_RUNNER_AGENT_TOOLS_H

#include <jansson.h>
#include <stddef.h>

#include "runner/exec.h"
#include "runner/llm.h"

struct vex_agent;
struct vex_browser;

/* One tool offered as a function; strings owned. */
struct vex_agent_tool {
	char *fn;     /* the function name the model sees */
	char *name;   /* the tool's full name (what vex_exec_tool runs) */
	char *schema; /* its input schema text */
};

struct vex_agent_tools {
	struct vex_agent_tool *items;
	size_t n, cap;
	json_t *functions; /* the request's "tools": [{"type":"function","function":{...}}] */
	struct vex_browser *browser; /* the browser session of an agent with a base_url, or NULL */
	char browser_why[320];       /* why it could not be opened */
};

/* runner/agent_tools.c says what each does, above it. */
void vex_agent_tools_release(struct vex_agent_tools *t);
const struct vex_agent_tool *vex_agent_tools_find(const struct vex_agent_tools *t, const char *fn);
int vex_agent_tools_load(struct vex_exec_ctx *ctx, const struct vex_agent *agent, struct vex_agent_tools *t);
int vex_agent_tools_call(struct vex_exec_ctx *ctx, const struct vex_agent_tools *t, const struct vex_llm_call *call,
			 char **ret);

#endif
