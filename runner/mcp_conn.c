/* mcp_conn.c - what both MCP transports share: the message cap, stop reasons, the server's own messages. */
#include "runner/mcp_conn.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/base/log.h"

#define MESSAGE_MIN (4u * 1024 * 1024)
#define MESSAGE_MAX (256u * 1024 * 1024)

size_t mcp_message_max(const struct mcp_server *s)
{
	size_t m = s->cfg->tools_output_max;

	m = m > MESSAGE_MAX / 4 ? MESSAGE_MAX : m * 4 + 1024 * 1024;
	return m < MESSAGE_MIN ? MESSAGE_MIN : m;
}

const char *mcp_stop_reason(enum vex_stop why)
{
	switch (why) {
	case VEX_STOP_CANCEL:
		return "the job was canceled";
	case VEX_STOP_TIMEOUT:
		return "the job timed out";
	case VEX_STOP_SHUTDOWN:
		return "the runner is shutting down";
	case VEX_STOP_LOST:
		return "the runner lost the job";
	default:
		return "stopped";
	}
}

char *mcp_on_server_message(struct mcp_server *s, const json_t *msg, enum vex_rpc_kind kind)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	char *text;

	if (kind == VEX_RPC_REQUEST) {
		/* vex offers no client capabilities (roots, sampling, elicitation): only ping is answered */
		if (strcmp(method, "ping") == 0)
			return vex_rpc_reply_empty(msg);
		return vex_rpc_reply_error(msg, -32601, "method not supported");
	}
	if (strcmp(method, "notifications/tools/list_changed") == 0) {
		pthread_mutex_lock(&s->mu);
		s->list_changed = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	} else if (strcmp(method, "notifications/message") == 0) {
		text = vex_json_dump(json_object_get(msg, "params"));
		if (text && strlen(text) > 2000)
			text[2000] = '\0';
		vex_log(VEX_LOG_DEBUG, "mcp server log", "server", s->conf->name, "params", text ? text : "", NULL);
		free(text);
	}
	return NULL;
}
