/* mcpmsg.c - MCP messages: JSON-RPC framing, tools/list pages to catalog rows, progress and tools/call outcomes. */
#include "runner/mcpmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/traceparent.h"
#include "core/tools/schema_pattern.h"

#define DETAILS_DATA_MAX 4096 /* bytes of an error's "data" copied into the job's details */

int vex_mcp_protocol_supported(const char *v)
{
	static const char *const known[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL };
	size_t i;

	for (i = 0; v && known[i]; i++)
		if (strcmp(v, known[i]) == 0)
			return 1;
	return 0;
}

/* An id as vex sends them: an integer (a string of digits is accepted from lenient servers). */
static int read_id(const json_t *id, int64_t *ret)
{
	const char *s;
	char *end;
	long long v;

	if (json_is_integer(id)) {
		*ret = (int64_t)json_integer_value(id);
		return 0;
	}
	if (!json_is_string(id))
		return VEX_EINVAL;
	s = json_string_value(id);
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return VEX_EINVAL;
	v = strtoll(s, &end, 10);
	if (*end)
		return VEX_EINVAL;
	*ret = (int64_t)v;
	return 0;
}

enum vex_rpc_kind vex_rpc_classify(const json_t *msg, int64_t *ret_id)
{
	json_t *id, *method;
	int64_t v;

	if (!json_is_object(msg))
		return VEX_RPC_INVALID;
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	if (method)
		return !json_is_string(method) ? VEX_RPC_INVALID
		       : id && !json_is_null(id) ? VEX_RPC_REQUEST
						 : VEX_RPC_NOTIFICATION;
	if (!id || (!json_object_get(msg, "result") && !json_object_get(msg, "error")))
		return VEX_RPC_INVALID;
	if (read_id(id, &v) < 0)
		return VEX_RPC_INVALID;
	if (ret_id)
		*ret_id = v;
	return VEX_RPC_RESPONSE;
}

/* Dumps "v" (stolen). */
static char *dump_steal(json_t *v)
{
	char *s = v ? vex_json_dump(v) : NULL;

	json_decref(v);
	return s;
}

/* The message "m" (stolen; NULL when json_pack failed) with "params" (stolen, may be NULL), dumped. */
static char *with_params(json_t *m, json_t *params)
{
	if (!m) {
		json_decref(params);
		return NULL;
	}
	/* set_new takes "params" even when it fails */
	if (params && json_object_set_new(m, "params", params) < 0) {
		json_decref(m);
		return NULL;
	}
	return dump_steal(m);
}

char *vex_rpc_request(int64_t id, const char *method, json_t *params)
{
	return with_params(json_pack("{s:s,s:I,s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method),
			   params);
}

char *vex_rpc_notification(const char *method, json_t *params)
{
	return with_params(json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", method), params);
}

char *vex_rpc_reply_empty(const json_t *req)
{
	json_t *id = json_object_get(req, "id");

	return dump_steal(json_pack("{s:s,s:O,s:{}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result"));
}

char *vex_rpc_reply_error(const json_t *req, int code, const char *message)
{
	json_t *id = json_object_get(req, "id");

	return dump_steal(json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
				    "code", code, "message", message));
}

json_t *vex_mcp_initialize_params(const char *client_version)
{
	return json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion", VEX_MCP_PROTOCOL_VERSION, "capabilities",
			 "clientInfo", "name", "vex", "version", client_version);
}

/* The message of an error response, or "" (borrowed). */
static const char *error_message(const json_t *response)
{
	json_t *m = json_object_get(json_object_get(response, "error"), "message");

	return json_is_string(m) ? json_string_value(m) : "";
}

int vex_mcp_initialize_check(const json_t *response, char *why, size_t whylen)
{
	json_t *res = json_object_get(response, "result"), *v;

	if (json_object_get(response, "error")) {
		snprintf(why, whylen, "initialize failed: %.300s", error_message(response));
		return VEX_EINVAL;
	}
	if (!json_is_object(res)) {
		snprintf(why, whylen, "initialize answered without a result object");
		return VEX_EINVAL;
	}
	v = json_object_get(res, "protocolVersion");
	if (!json_is_string(v) || !vex_mcp_protocol_supported(json_string_value(v))) {
		snprintf(why, whylen, "the server speaks MCP revision %.40s, which vex does not",
			 json_is_string(v) ? json_string_value(v) : "(none)");
		return VEX_EINVAL;
	}
	return 0;
}

json_t *vex_mcp_call_params(const char *tool, const char *arguments_json, const char *progress_token, int *ret_bad)
{
	json_t *args = NULL, *p;

	*ret_bad = 0;
	args = arguments_json ? json_loads(arguments_json, JSON_DECODE_ANY, NULL) : json_object();
	if (arguments_json && !json_is_object(args)) {
		json_decref(args);
		*ret_bad = 1;
		return NULL;
	}
	if (!args)
		return NULL;
	/* "o" takes "args", also when json_pack fails */
	p = json_pack("{s:s,s:o,s:{s:s}}", "name", tool, "arguments", args, "_meta", "progressToken", progress_token);
	return p;
}

int vex_mcp_call_trace(json_t *params, const char *traceparent)
{
	json_t *meta = json_object_get(params, "_meta");

	if (!vex_traceparent_valid(traceparent) || !json_is_object(meta))
		return 0;
	return json_object_set_new(meta, "traceparent", json_string(traceparent)) == 0 ? 0 : VEX_ENOMEM;
}

/* "x" rounded to two decimals, x >= 0. */
static double two_decimals(double x)
{
	return (double)(long long)(x * 100.0 + 0.5) / 100.0;
}

int vex_mcp_progress_parse(const json_t *params, char *token, size_t toklen, struct vex_progress *ret)
{
	json_t *tok = json_object_get(params, "progressToken"), *prog = json_object_get(params, "progress");
	json_t *total = json_object_get(params, "total"), *msg = json_object_get(params, "message");
	struct vex_progress p = { 0 };
	char step[40];
	double v, t = 0;

	if (json_is_string(tok)) {
		if (json_string_length(tok) >= toklen || json_string_length(tok) > VEX_MCP_PROGRESS_TOKEN_MAX)
			return VEX_EINVAL;
		snprintf(token, toklen, "%s", json_string_value(tok));
	} else if (json_is_integer(tok)) {
		snprintf(token, toklen, "%lld", (long long)json_integer_value(tok));
	} else {
		return VEX_EINVAL;
	}
	if (!json_is_number(prog))
		return VEX_EINVAL;
	v = json_number_value(prog);
	if (!(v >= 0 && v < 1e15))
		return VEX_EINVAL;
	if (v == (double)(long long)v)
		snprintf(step, sizeof(step), "%lld", (long long)v);
	else
		snprintf(step, sizeof(step), "%.6g", v);
	if (json_is_number(total) && json_number_value(total) > 0 && json_number_value(total) < 1e15)
		t = json_number_value(total);
	if (t > 0) {
		if (t == (double)(long long)t && t <= 2147483647.0)
			p.total_steps = (int)t;
		p.percentage = v >= t ? 100.0 : two_decimals(v / t * 100.0);
	}
	p.current_step = strdup(step);
	if (!p.current_step)
		return VEX_ENOMEM;
	if (json_is_string(msg)) {
		size_t n = json_string_length(msg);

		p.message = strndup(json_string_value(msg), n > 1000 ? 1000 : n);
		if (!p.message) {
			free(p.current_step);
			return VEX_ENOMEM;
		}
	}
	*ret = p;
	return 0;
}

/* Bytes of "s" to keep so that at most "max" are kept and a UTF-8 sequence is never cut. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len;

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* 1 when "name" is a tool name vex keeps. */
static int tool_name_ok(const char *name, size_t len)
{
	return len >= 1 && len <= VEX_MCP_TOOL_NAME_MAX && strlen(name) == len && !vex_has_control_chars(name);
}

static int row_exists(const struct vex_tool_rows *rows, const char *full)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		if (strcmp(rows->items[i].name, full) == 0)
			return 1;
	return 0;
}

/* One tool of a page into a new row of "rows" (which has room). 1 when skipped. */
static int add_tool(const json_t *t, const char *server, int64_t now_us, struct vex_tool_rows *rows)
{
	json_t *name = json_object_get(t, "name"), *desc = json_object_get(t, "description");
	json_t *schema = json_object_get(t, "inputSchema");
	char why[VEX_SCHEMA_PATTERN_WHY_MAX + 384], *schema_text = NULL;
	struct vex_tool_row r = { 0 };
	size_t sl = strlen(server), nl;
	int rc;

	if (!json_is_object(t) || !json_is_string(name) || !tool_name_ok(json_string_value(name), json_string_length(name)))
		return 1;
	if (schema && !json_is_object(schema))
		return 1;
	nl = json_string_length(name);
	schema_text = schema ? vex_json_dump(schema) : strdup("{\"type\":\"object\"}");
	if (!schema_text)
		return VEX_ENOMEM;
	if (strlen(schema_text) > VEX_MCP_TOOL_SCHEMA_MAX) {
		free(schema_text);
		return 1;
	}
	if (schema && (rc = vex_schema_patterns_compile(schema, why, sizeof(why))) < 0) {
		free(schema_text);
		if (rc != VEX_EINVAL)
			return rc;
		vex_log(VEX_LOG_WARN, "mcp tool left out of the catalog: a pattern in its inputSchema does not compile",
			"server", server, "tool", json_string_value(name), "error", why, NULL);
		return 1;
	}
	r.input_schema = schema_text;
	r.name = malloc(sl + 1 + nl + 1);
	if (!r.name)
		goto nomem;
	memcpy(r.name, server, sl);
	r.name[sl] = '.';
	memcpy(r.name + sl + 1, json_string_value(name), nl + 1);
	if (row_exists(rows, r.name)) {
		vex_tool_row_release(&r);
		return 1;
	}
	r.short_name = strdup(json_string_value(name));
	r.server = strdup(server);
	r.source = strdup("mcp");
	if (json_is_string(desc))
		r.description = strndup(json_string_value(desc),
					utf8_cut(json_string_value(desc), json_string_length(desc), VEX_MCP_TOOL_DESC_MAX));
	else
		r.description = strdup("");
	if (!r.short_name || !r.server || !r.source || !r.description)
		goto nomem;
	/* a description with a NUL inside ends there: jansson strings may hold one */
	r.updated_at = now_us;
	rows->items[rows->n++] = r;
	return 0;
nomem:
	vex_tool_row_release(&r);
	return VEX_ENOMEM;
}

int vex_mcp_tools_page(const json_t *response, const char *server, int64_t now_us, struct vex_tool_rows *rows,
		       size_t *skipped, char **ret_cursor, char *why, size_t whylen)
{
	json_t *res = json_object_get(response, "result"), *tools, *cursor, *t;
	struct vex_tool_row *items;
	char *cur = NULL;
	size_t i;
	int rc;

	if (json_object_get(response, "error")) {
		snprintf(why, whylen, "tools/list failed: %.300s", error_message(response));
		return VEX_EINVAL;
	}
	tools = json_object_get(res, "tools");
	if (!json_is_array(tools)) {
		snprintf(why, whylen, "tools/list answered without a tools array");
		return VEX_EINVAL;
	}
	cursor = json_object_get(res, "nextCursor");
	if (json_is_string(cursor) && json_string_length(cursor) > 0) {
		cur = strdup(json_string_value(cursor));
		if (!cur)
			return VEX_ENOMEM;
	}
	items = realloc(rows->items, (rows->n + json_array_size(tools) + 1) * sizeof(*items));
	if (!items) {
		free(cur);
		return VEX_ENOMEM;
	}
	rows->items = items;
	json_array_foreach(tools, i, t) {
		if (rows->n >= VEX_MCP_TOOLS_MAX) {
			(*skipped)++;
			continue;
		}
		rc = add_tool(t, server, now_us, rows);
		if (rc < 0) {
			free(cur);
			return rc;
		}
		*skipped += (size_t)rc;
	}
	*ret_cursor = cur;
	return 0;
}

int vex_mcp_outcome_fail(struct vex_job *out, const char *code, const char *message, const char *details_json)
{
	char *c = strdup(code), *m = strdup(message), *d = details_json ? strdup(details_json) : NULL;

	if (!c || !m || (details_json && !d)) {
		free(c);
		free(m);
		free(d);
		return VEX_ENOMEM;
	}
	free(out->error_code);
	free(out->error_message);
	free(out->error_details_json);
	free(out->result_json);
	out->result_json = NULL;
	out->error_code = c;
	out->error_message = m;
	out->error_details_json = d;
	out->status = VEX_JOB_FAILED;
	return 0;
}

/* The text items of "content" joined by newlines, at most VEX_MCP_ERROR_TEXT_MAX bytes. */
static char *content_text(const json_t *content)
{
	char *buf = malloc(VEX_MCP_ERROR_TEXT_MAX + 1);
	size_t n = 0, i;
	json_t *item;

	if (!buf)
		return NULL;
	json_array_foreach(content, i, item) {
		json_t *text = json_object_get(item, "text");
		size_t l, room;

		if (!json_is_string(text))
			continue;
		if (n && n < VEX_MCP_ERROR_TEXT_MAX)
			buf[n++] = '\n';
		room = VEX_MCP_ERROR_TEXT_MAX - n;
		l = utf8_cut(json_string_value(text), strlen(json_string_value(text)), room);
		memcpy(buf + n, json_string_value(text), l);
		n += l;
	}
	buf[n] = '\0';
	return buf;
}

static int outcome_rpc_error(const json_t *response, const char *server, struct vex_job *out)
{
	json_t *err = json_object_get(response, "error"), *code = json_object_get(err, "code");
	json_t *data = json_object_get(err, "data"), *details;
	const char *m = error_message(response);
	char msg[VEX_MCP_ERROR_TEXT_MAX + 128], *d = NULL, *dd = NULL;
	int rc;

	if (*m)
		snprintf(msg, sizeof(msg), "%.*s", (int)utf8_cut(m, strlen(m), VEX_MCP_ERROR_TEXT_MAX), m);
	else
		snprintf(msg, sizeof(msg), "MCP server %s answered tools/call with an error", server);
	details = json_pack("{s:I}", "code", (json_int_t)(json_is_integer(code) ? json_integer_value(code) : 0));
	if (!details)
		return VEX_ENOMEM;
	if (data && (dd = vex_json_dump(data)) && strlen(dd) <= DETAILS_DATA_MAX)
		json_object_set(details, "data", data);
	free(dd);
	d = vex_json_dump(details);
	json_decref(details);
	if (!d)
		return VEX_ENOMEM;
	rc = vex_mcp_outcome_fail(out, "EXECUTION_ERROR", msg, d);
	free(d);
	return rc;
}

int vex_mcp_call_outcome(const json_t *response, const char *server, size_t output_max, struct vex_job *out)
{
	json_t *res = json_object_get(response, "result"), *content, *sc, *r = NULL;
	char msg[256], *text = NULL, *dump = NULL;
	int rc;

	if (json_object_get(response, "error"))
		return outcome_rpc_error(response, server, out);
	if (!json_is_object(res)) {
		snprintf(msg, sizeof(msg), "MCP server %s answered tools/call without a result object", server);
		return vex_mcp_outcome_fail(out, "EXECUTION_ERROR", msg, NULL);
	}
	content = json_object_get(res, "content");
	if (content && !json_is_array(content)) {
		snprintf(msg, sizeof(msg), "MCP server %s answered tools/call with a content that is not a list", server);
		return vex_mcp_outcome_fail(out, "EXECUTION_ERROR", msg, NULL);
	}
	if (json_is_true(json_object_get(res, "isError"))) {
		text = content ? content_text(content) : strdup("");
		if (!text)
			return VEX_ENOMEM;
		if (!*text) {
			free(text);
			snprintf(msg, sizeof(msg), "MCP tool of server %s reported an error without text", server);
			return vex_mcp_outcome_fail(out, "EXECUTION_ERROR", msg, NULL);
		}
		rc = vex_mcp_outcome_fail(out, "EXECUTION_ERROR", text, NULL);
		free(text);
		return rc;
	}
	sc = json_object_get(res, "structuredContent");
	r = json_pack("{s:o}", "content", content ? json_incref(content) : json_array());
	if (!r)
		return VEX_ENOMEM;
	if (sc && json_object_set(r, "structuredContent", sc) < 0) {
		json_decref(r);
		return VEX_ENOMEM;
	}
	dump = vex_json_dump(r);
	json_decref(r);
	if (!dump)
		return VEX_ENOMEM;
	if (strlen(dump) > output_max) {
		snprintf(msg, sizeof(msg), "the MCP tool's result of %zu bytes exceeds the limit of %zu bytes",
			 strlen(dump), output_max);
		free(dump);
		return vex_mcp_outcome_fail(out, "OUTPUT_TOO_LARGE", msg, NULL);
	}
	free(out->result_json);
	free(out->error_code);
	free(out->error_message);
	free(out->error_details_json);
	out->error_code = out->error_message = out->error_details_json = NULL;
	out->result_json = dump;
	out->status = VEX_JOB_COMPLETED;
	return 0;
}
