/* mcpmsg.c - fuzzes what vex reads of an MCP server's messages (runner/mcpmsg.h). */
#include "core/base/err.h"
#include "core/base/json.h"
#include "runner/mcpmsg.h"
#include "tests/fuzz/fuzz.h"

/*
 * The input is one JSON-RPC message as a server would send it: classified, and read as an answer
 * to initialize, as progress, as a tools/list page and as a tools/call outcome; the replies vex
 * would send to it are built too.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_field_error e;
	struct vex_tool_rows rows = { NULL, 0 };
	struct vex_progress prog;
	struct vex_job *job;
	json_t *msg = NULL;
	char why[256], token[VEX_MCP_PROGRESS_TOKEN_MAX + 1], *cursor = NULL, *text;
	size_t skipped = 0, i;
	int64_t id;
	int bad = 0;

	if (vex_json_parse((const char *)data, size, &msg, &e) != 0)
		return 0;
	vex_rpc_classify(msg, &id);
	vex_mcp_initialize_check(msg, why, sizeof(why));
	memset(&prog, 0, sizeof(prog));
	if (vex_mcp_progress_parse(json_object_get(msg, "params"), token, sizeof(token), &prog) == 0) {
		FUZZ_ASSERT(strlen(token) < sizeof(token));
		vex_progress_release(&prog);
	}
	if (vex_mcp_tools_page(msg, "srv", 1, &rows, &skipped, &cursor, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(rows.n <= VEX_MCP_TOOLS_MAX);
		for (i = 0; i < rows.n; i++)
			FUZZ_ASSERT(strncmp(rows.items[i].name, "srv.", 4) == 0);
		free(cursor);
	}
	vex_tool_rows_release(&rows);
	job = calloc(1, sizeof(*job));
	if (job) {
		if (vex_mcp_call_outcome(msg, "srv", 1024, job) == 0)
			FUZZ_ASSERT(job->status == VEX_JOB_COMPLETED || job->status == VEX_JOB_FAILED);
		vex_job_free(job);
	}
	text = vex_rpc_reply_empty(msg);
	free(text);
	text = vex_rpc_reply_error(msg, -32601, "no such method");
	free(text);
	text = fuzz_str(data, size);
	if (text) {
		json_decref(vex_mcp_call_params("t", text, "tok", &bad));
		free(text);
	}
	vex_mcp_protocol_supported(json_string_value(json_object_get(json_object_get(msg, "result"),
								    "protocolVersion")));
	json_decref(msg);
	return 0;
}
