/* mcpmsg.h - MCP messages: JSON-RPC framing, and what servers answer mapped to vex's tools, progress and job outcomes. */
#ifndef VEX_MCPMSG_H
#define VEX_MCPMSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/jobs/model.h"
#include "core/store/store.h"

/* The revision vex asks for in initialize; a server may answer any of vex_mcp_protocol_supported's. */
#define VEX_MCP_PROTOCOL_VERSION "2025-11-25"

#define VEX_MCP_TOOL_NAME_MAX 128       /* bytes of a server's tool name */
#define VEX_MCP_TOOL_DESC_MAX 4096      /* bytes of a description kept (cut on a UTF-8 boundary) */
#define VEX_MCP_TOOL_SCHEMA_MAX 65536   /* bytes of an inputSchema kept; a tool with a larger one is skipped */
#define VEX_MCP_TOOLS_MAX 1000          /* tools kept per server */
#define VEX_MCP_PROGRESS_TOKEN_MAX 128  /* bytes of a progress token we compare */
#define VEX_MCP_ERROR_TEXT_MAX 4096     /* bytes of the server's text kept in a failed job's message */

/* 1 when a server may answer initialize with revision "v", else 0. */
int vex_mcp_protocol_supported(const char *v);

/* What one message a server sent is. */
enum vex_rpc_kind {
	VEX_RPC_INVALID = 0,
	VEX_RPC_RESPONSE,     /* has "id" and "result" or "error" */
	VEX_RPC_NOTIFICATION, /* has "method", no "id" */
	VEX_RPC_REQUEST       /* has "method" and "id" */
};

/* Classifies "msg" (borrowed). For a response with an integer id (the only ids vex sends), *ret_id
 * is set; a response with another id is VEX_RPC_INVALID. */
enum vex_rpc_kind vex_rpc_classify(const json_t *msg, int64_t *ret_id);

/* A compact JSON-RPC 2.0 request / notification text (no newline); "params" (NULL: none) is stolen.
 * The caller frees the text. NULL on ENOMEM. */
char *vex_rpc_request(int64_t id, const char *method, json_t *params);
char *vex_rpc_notification(const char *method, json_t *params);
/* Answers to a server's request "req" (borrowed): an empty result, or error "code" / "message". */
char *vex_rpc_reply_empty(const json_t *req);
char *vex_rpc_reply_error(const json_t *req, int code, const char *message);

/* initialize's params: protocolVersion, capabilities {}, clientInfo {"name":"vex","version"}. New reference. */
json_t *vex_mcp_initialize_params(const char *client_version);

/* Checks a response to initialize (borrowed): a result whose protocolVersion vex speaks. 0, or
 * VEX_EINVAL with the reason in "why". */
int vex_mcp_initialize_check(const json_t *response, char *why, size_t whylen);

/* tools/call's params {"name","arguments","_meta":{"progressToken"}}. "arguments_json" NULL means {}.
 * New reference, or NULL (ENOMEM, or arguments that are not a JSON object: *ret_bad set to 1). */
json_t *vex_mcp_call_params(const char *tool, const char *arguments_json, const char *progress_token, int *ret_bad);

/* Adds "traceparent" (the job's W3C trace context, NULL: none) to the "_meta" of tools/call's
 * "params", as MCP's trace context proposal (SEP-414) names it. A value that is not a traceparent
 * as vex keeps it (core/base/traceparent.h) is left out. 0 or VEX_ENOMEM. */
int vex_mcp_call_trace(json_t *params, const char *traceparent);

/*
 * The params of notifications/progress (borrowed) as job progress: current_step the progress
 * number ("3", "2.5"), total_steps the total when it is a positive integer, percentage
 * progress/total*100 (two decimals, 0..100; 0 without a total), message. The token (a string, or an
 * integer written in decimal) goes to "token". 0, VEX_EINVAL (not a progress notification we can
 * read) or VEX_ENOMEM. On 0 the caller releases *ret (its strings are malloc'd).
 */
int vex_mcp_progress_parse(const json_t *params, char *token, size_t toklen, struct vex_progress *ret);

/*
 * Appends the tools of one tools/list response (borrowed) of "server" to "rows" as catalog rows
 * ("<server>.<tool>", short name the tool, source "mcp", description, inputSchema as compact text;
 * {"type":"object"} when absent). A tool with an invalid name (empty, over 128 bytes, control
 * characters), a duplicate name, a schema that is not an object or is over the cap, is skipped and
 * counted in *skipped. Past VEX_MCP_TOOLS_MAX rows the rest is skipped. *ret_cursor gets a copy of
 * nextCursor or NULL. 0, VEX_EINVAL (not a tools/list result, or an error response: "why") or VEX_ENOMEM.
 */
int vex_mcp_tools_page(const json_t *response, const char *server, int64_t now_us, struct vex_tool_rows *rows,
		       size_t *skipped, char **ret_cursor, char *why, size_t whylen);

/*
 * The response to tools/call (borrowed) as the job's outcome in "out" (status, result_json,
 * error_code, error_message, error_details_json; what "out" held in those is freed):
 *   a result with isError true  -> failed EXECUTION_ERROR, message the text of its text items;
 *   a result                    -> completed, result {"content":[...],"structuredContent":...}
 *                                  (content always, [] when absent; structuredContent when present);
 *                                  over "output_max" bytes -> failed OUTPUT_TOO_LARGE;
 *   a JSON-RPC error            -> failed EXECUTION_ERROR with its message, details {"code","data"?};
 *   anything else               -> failed EXECUTION_ERROR "... answered tools/call with ...".
 * "server" names the server in messages. 0 or VEX_ENOMEM.
 */
int vex_mcp_call_outcome(const json_t *response, const char *server, size_t output_max, struct vex_job *out);

/* Sets out failed with "code", "message" and details_json (NULL: none); all copied. 0 or VEX_ENOMEM. */
int vex_mcp_outcome_fail(struct vex_job *out, const char *code, const char *message, const char *details_json);

#endif
