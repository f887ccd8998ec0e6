/* tools.c - the tool catalog: the builtin tools echo, sleep and fail with their input schemas. */
#include "tools.h"

#include <string.h>

static const struct vex_tool_info builtins[] = {
	{
		"echo",
		"builtin",
		"Returns its arguments object unchanged as the result. Useful to check that jobs flow end to "
		"end and to see exactly what a tool receives.",
		"{\"type\":\"object\",\"additionalProperties\":true}",
	},
	{
		"sleep",
		"builtin",
		"Waits \"ms\" milliseconds (default 1000, at most one hour), reporting progress in \"steps\" "
		"equal parts (default 1, at most 1000), then returns {\"slept_ms\":ms,\"steps\":steps}. "
		"Useful to exercise progress, timeouts and cancellation.",
		"{\"type\":\"object\",\"properties\":{"
		"\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":3600000,"
		"\"description\":\"How long to wait, in milliseconds.\"},"
		"\"steps\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,"
		"\"description\":\"How many progress reports to make while waiting.\"}},"
		"\"additionalProperties\":false}",
	},
	{
		"fail",
		"builtin",
		"Always fails, with error code \"code\" (default TOOL_FAILED) and \"message\" (default "
		"\"the fail tool always fails\"). Useful to test error handling, retries and webhooks.",
		"{\"type\":\"object\",\"properties\":{"
		"\"message\":{\"type\":\"string\",\"maxLength\":1000,"
		"\"description\":\"The error message to report.\"},"
		"\"code\":{\"type\":\"string\",\"maxLength\":64,"
		"\"description\":\"The error code to report.\"}},"
		"\"additionalProperties\":false}",
	},
};

size_t vex_tools_builtin(const struct vex_tool_info **ret)
{
	*ret = builtins;
	return sizeof(builtins) / sizeof(builtins[0]);
}

const struct vex_tool_info *vex_tool_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}
