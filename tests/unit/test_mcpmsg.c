/* test_mcpmsg.c - MCP messages: framing, classification, initialize, progress, tools/list pages, tools/call outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/mcpmsg.h"

static void progress_release(struct vex_progress *p)
{
	free(p->current_step);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

static json_t *j(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static void test_classify(void **state)
{
	static const struct {
		const char *text;
		enum vex_rpc_kind kind;
		int64_t id;
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", VEX_RPC_RESPONSE, 7 },
		{ "{\"result\":{},\"jsonrpc\":\"2.0\",\"id\":\"12\"}", VEX_RPC_RESPONSE, 12 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-1,\"message\":\"x\"}}", VEX_RPC_RESPONSE, 3 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":{}}", VEX_RPC_INVALID, 0 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{}}", VEX_RPC_INVALID, 0 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":4}", VEX_RPC_INVALID, 0 },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}", VEX_RPC_NOTIFICATION, 0 },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"srv-1\"}", VEX_RPC_REQUEST, 0 },
		{ "{\"jsonrpc\":\"2.0\",\"method\":5}", VEX_RPC_INVALID, 0 },
		{ "[1,2]", VEX_RPC_INVALID, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = j(cases[i].text);
		int64_t id = 0;

		assert_int_equal(vex_rpc_classify(m, &id), cases[i].kind);
		if (cases[i].kind == VEX_RPC_RESPONSE)
			assert_int_equal(id, cases[i].id);
		json_decref(m);
	}
}

static void test_framing(void **state)
{
	json_t *req = j("{\"jsonrpc\":\"2.0\",\"id\":\"srv-9\",\"method\":\"roots/list\"}");
	char *s;

	(void)state;
	s = vex_rpc_request(5, "tools/list", NULL);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}");
	free(s);
	s = vex_rpc_request(6, "tools/list", json_pack("{s:s}", "cursor", "c1"));
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":{\"cursor\":\"c1\"}}");
	free(s);
	s = vex_rpc_notification("notifications/initialized", NULL);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	free(s);
	s = vex_rpc_reply_empty(req);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":\"srv-9\",\"result\":{}}");
	free(s);
	s = vex_rpc_reply_error(req, -32601, "method not supported");
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":\"srv-9\",\"error\":{\"code\":-32601,\"message\":\"method not "
			       "supported\"}}");
	free(s);
	json_decref(req);
}

static void test_initialize(void **state)
{
	json_t *p = vex_mcp_initialize_params("1.2.3"), *r;
	char why[256];

	(void)state;
	assert_string_equal(json_string_value(json_object_get(p, "protocolVersion")), VEX_MCP_PROTOCOL_VERSION);
	assert_int_equal(json_object_size(json_object_get(p, "capabilities")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "clientInfo"), "name")), "vex");
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "clientInfo"), "version")), "1.2.3");
	json_decref(p);
	r = j("{\"id\":1,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}}}");
	assert_int_equal(vex_mcp_initialize_check(r, why, sizeof(why)), 0);
	json_decref(r);
	r = j("{\"id\":1,\"result\":{\"protocolVersion\":\"2099-01-01\"}}");
	assert_int_equal(vex_mcp_initialize_check(r, why, sizeof(why)), VEX_EINVAL);
	assert_string_equal(why, "the server speaks MCP revision 2099-01-01, which vex does not");
	json_decref(r);
	r = j("{\"id\":1,\"error\":{\"code\":-32602,\"message\":\"Unsupported protocol version\"}}");
	assert_int_equal(vex_mcp_initialize_check(r, why, sizeof(why)), VEX_EINVAL);
	assert_string_equal(why, "initialize failed: Unsupported protocol version");
	json_decref(r);
	assert_int_equal(vex_mcp_protocol_supported("2024-11-05"), 1);
	assert_int_equal(vex_mcp_protocol_supported(NULL), 0);
}

static void test_call_params(void **state)
{
	json_t *p;
	char *s;
	int bad;

	(void)state;
	p = vex_mcp_call_params("get-sum", "{\"a\":1,\"b\":2}", "job/1", &bad);
	s = json_dumps(p, JSON_COMPACT);
	assert_string_equal(s, "{\"name\":\"get-sum\",\"arguments\":{\"a\":1,\"b\":2},\"_meta\":{\"progressToken\":\"job/1\"}}");
	free(s);
	json_decref(p);
	p = vex_mcp_call_params("t", NULL, "k", &bad);
	assert_int_equal(json_object_size(json_object_get(p, "arguments")), 0);
	json_decref(p);
	assert_null(vex_mcp_call_params("t", "[1]", "k", &bad));
	assert_int_equal(bad, 1);
	assert_null(vex_mcp_call_params("t", "{bad", "k", &bad));
	assert_int_equal(bad, 1);
}

/* The job's traceparent in _meta beside the progress token; anything else is left out. */
static void test_call_trace(void **state)
{
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	json_t *p;
	char *s;
	int bad;

	(void)state;
	p = vex_mcp_call_params("t", "{}", "job/1", &bad);
	assert_int_equal(vex_mcp_call_trace(p, tp), 0);
	s = json_dumps(p, JSON_COMPACT);
	assert_string_equal(s, "{\"name\":\"t\",\"arguments\":{},\"_meta\":{\"progressToken\":\"job/1\","
			       "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}}");
	free(s);
	json_decref(p);
	p = vex_mcp_call_params("t", "{}", "job/1", &bad);
	assert_int_equal(vex_mcp_call_trace(p, NULL), 0);
	assert_int_equal(vex_mcp_call_trace(p, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\",\"x\":\"1"), 0);
	assert_int_equal(vex_mcp_call_trace(p, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), 0);
	assert_null(json_object_get(json_object_get(p, "_meta"), "traceparent"));
	json_decref(p);
}

static void test_progress(void **state)
{
	struct vex_progress p = { 0 };
	char tok[VEX_MCP_PROGRESS_TOKEN_MAX + 1];
	json_t *v;

	(void)state;
	v = j("{\"progressToken\":\"job/3\",\"progress\":2,\"total\":3,\"message\":\"two of three\"}");
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), 0);
	assert_string_equal(tok, "job/3");
	assert_string_equal(p.current_step, "2");
	assert_int_equal(p.total_steps, 3);
	assert_true(p.percentage == 66.67);
	assert_string_equal(p.message, "two of three");
	progress_release(&p);
	json_decref(v);
	v = j("{\"progressToken\":42,\"progress\":0.5}"); /* no total: no percentage */
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), 0);
	assert_string_equal(tok, "42");
	assert_string_equal(p.current_step, "0.5");
	assert_int_equal(p.total_steps, 0);
	assert_true(p.percentage == 0);
	assert_null(p.message);
	progress_release(&p);
	json_decref(v);
	v = j("{\"progressToken\":\"t\",\"progress\":30,\"total\":12.5}"); /* over: 100, no whole total */
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), 0);
	assert_int_equal(p.total_steps, 0);
	assert_true(p.percentage == 100);
	progress_release(&p);
	json_decref(v);
	v = j("{\"progressToken\":\"t\"}");
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), VEX_EINVAL);
	json_decref(v);
	v = j("{\"progress\":1}");
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), VEX_EINVAL);
	json_decref(v);
	v = j("{\"progressToken\":\"t\",\"progress\":-1}");
	assert_int_equal(vex_mcp_progress_parse(v, tok, sizeof(tok), &p), VEX_EINVAL);
	json_decref(v);
}

static void test_tools_page(void **state)
{
	struct vex_tool_rows rows = { 0 };
	size_t skipped = 0;
	char *cursor = NULL, why[256];
	json_t *r;

	(void)state;
	r = j("{\"id\":2,\"result\":{\"tools\":["
	      "{\"name\":\"add\",\"description\":\"Adds\",\"inputSchema\":{\"type\":\"object\",\"required\":[\"a\"]}},"
	      "{\"name\":\"bare\"},"
	      "{\"name\":\"add\",\"inputSchema\":{}},"
	      "{\"name\":\"bad\\u0001name\"},"
	      "{\"name\":\"\"},"
	      "{\"description\":\"no name\"},"
	      "{\"name\":\"s\",\"inputSchema\":[]},"
	      "{\"name\":\"p\",\"inputSchema\":{\"properties\":{\"q\":{\"pattern\":\"(unclosed\"}}}},"
	      "7],\"nextCursor\":\"page2\"}}");
	assert_int_equal(vex_mcp_tools_page(r, "fx", 99, &rows, &skipped, &cursor, why, sizeof(why)), 0);
	json_decref(r);
	assert_int_equal(rows.n, 2); /* a pattern that does not compile leaves its tool out, not the others */
	assert_int_equal(skipped, 7);
	assert_string_equal(cursor, "page2");
	free(cursor);
	assert_string_equal(rows.items[0].name, "fx.add");
	assert_string_equal(rows.items[0].short_name, "add");
	assert_string_equal(rows.items[0].server, "fx");
	assert_string_equal(rows.items[0].source, "mcp");
	assert_string_equal(rows.items[0].description, "Adds");
	assert_string_equal(rows.items[0].input_schema, "{\"type\":\"object\",\"required\":[\"a\"]}");
	assert_int_equal(rows.items[0].updated_at, 99);
	assert_string_equal(rows.items[1].name, "fx.bare");
	assert_string_equal(rows.items[1].description, "");
	assert_string_equal(rows.items[1].input_schema, "{\"type\":\"object\"}");
	/* a second page appends; no cursor on the last */
	r = j("{\"id\":3,\"result\":{\"tools\":[{\"name\":\"dots.in.name\"}]}}");
	assert_int_equal(vex_mcp_tools_page(r, "fx", 99, &rows, &skipped, &cursor, why, sizeof(why)), 0);
	json_decref(r);
	assert_null(cursor);
	assert_int_equal(rows.n, 3);
	assert_string_equal(rows.items[2].name, "fx.dots.in.name");
	assert_string_equal(rows.items[2].short_name, "dots.in.name");
	vex_tool_rows_release(&rows);
	r = j("{\"id\":3,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}");
	assert_int_equal(vex_mcp_tools_page(r, "fx", 99, &rows, &skipped, &cursor, why, sizeof(why)), VEX_EINVAL);
	assert_string_equal(why, "tools/list failed: Method not found");
	json_decref(r);
	r = j("{\"id\":3,\"result\":{}}");
	assert_int_equal(vex_mcp_tools_page(r, "fx", 99, &rows, &skipped, &cursor, why, sizeof(why)), VEX_EINVAL);
	json_decref(r);
	vex_tool_rows_release(&rows);
}

static void test_long_description_cut_on_utf8(void **state)
{
	struct vex_tool_rows rows = { 0 };
	size_t skipped = 0, i, len;
	char *text, *cursor = NULL, why[64];
	json_t *r, *t;

	(void)state;
	len = VEX_MCP_TOOL_DESC_MAX + 10;
	text = malloc(len + 1);
	assert_non_null(text);
	memset(text, 'a', len);
	/* a two-byte character straddling the cut */
	text[VEX_MCP_TOOL_DESC_MAX - 1] = (char)0xC3;
	text[VEX_MCP_TOOL_DESC_MAX] = (char)0xA9;
	text[len] = '\0';
	t = json_pack("{s:s,s:s}", "name", "long", "description", text);
	assert_non_null(t);
	r = json_pack("{s:{s:[o]}}", "result", "tools", t);
	assert_int_equal(vex_mcp_tools_page(r, "fx", 1, &rows, &skipped, &cursor, why, sizeof(why)), 0);
	assert_int_equal(strlen(rows.items[0].description), VEX_MCP_TOOL_DESC_MAX - 1);
	for (i = 0; i < VEX_MCP_TOOL_DESC_MAX - 1; i++)
		assert_int_equal(rows.items[0].description[i], 'a');
	json_decref(r);
	free(text);
	vex_tool_rows_release(&rows);
}

static void test_outcomes(void **state)
{
	struct vex_job out = { 0 };
	json_t *r;

	(void)state;
	r = j("{\"id\":5,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"5\"}],\"structuredContent\":{\"sum\":5},"
	      "\"_meta\":{}}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_int_equal(out.status, VEX_JOB_COMPLETED);
	assert_string_equal(out.result_json, "{\"content\":[{\"type\":\"text\",\"text\":\"5\"}],\"structuredContent\":{\"sum\":5}}");
	assert_null(out.error_code);
	json_decref(r);
	/* too large for a 40-byte cap */
	r = j("{\"id\":5,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"0123456789012345678901234567890\"}]}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 40, &out), 0);
	assert_int_equal(out.status, VEX_JOB_FAILED);
	assert_string_equal(out.error_code, "OUTPUT_TOO_LARGE");
	assert_null(out.result_json);
	json_decref(r);
	/* no content: [] */
	r = j("{\"id\":5,\"result\":{}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_int_equal(out.status, VEX_JOB_COMPLETED);
	assert_string_equal(out.result_json, "{\"content\":[]}");
	assert_null(out.error_code);
	json_decref(r);
	/* isError: the texts, joined */
	r = j("{\"id\":5,\"result\":{\"isError\":true,\"content\":[{\"type\":\"text\",\"text\":\"bad\"},"
	      "{\"type\":\"image\",\"data\":\"AA==\"},{\"type\":\"text\",\"text\":\"worse\"}]}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_int_equal(out.status, VEX_JOB_FAILED);
	assert_string_equal(out.error_code, "EXECUTION_ERROR");
	assert_string_equal(out.error_message, "bad\nworse");
	assert_null(out.result_json);
	json_decref(r);
	r = j("{\"id\":5,\"result\":{\"isError\":true,\"content\":[]}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_string_equal(out.error_message, "MCP tool of server fx reported an error without text");
	json_decref(r);
	/* a JSON-RPC error: its message, code and data in details */
	r = j("{\"id\":5,\"error\":{\"code\":-32602,\"message\":\"Unknown tool: nope\",\"data\":{\"x\":1}}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_string_equal(out.error_code, "EXECUTION_ERROR");
	assert_string_equal(out.error_message, "Unknown tool: nope");
	assert_string_equal(out.error_details_json, "{\"code\":-32602,\"data\":{\"x\":1}}");
	json_decref(r);
	r = j("{\"id\":5,\"error\":{}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_string_equal(out.error_message, "MCP server fx answered tools/call with an error");
	assert_string_equal(out.error_details_json, "{\"code\":0}");
	json_decref(r);
	r = j("{\"id\":5,\"result\":{\"content\":{}}}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_int_equal(out.status, VEX_JOB_FAILED);
	assert_null(out.error_details_json);
	json_decref(r);
	r = j("{\"id\":5,\"result\":[]}");
	assert_int_equal(vex_mcp_call_outcome(r, "fx", 1024, &out), 0);
	assert_string_equal(out.error_message, "MCP server fx answered tools/call without a result object");
	json_decref(r);
	free(out.error_code);
	free(out.error_message);
	free(out.error_details_json);
	free(out.result_json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_initialize),
		cmocka_unit_test(test_call_params), cmocka_unit_test(test_call_trace),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_tools_page),
		cmocka_unit_test(test_long_description_cut_on_utf8),
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
