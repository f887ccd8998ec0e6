/* dialect_corex.c - the corex presenter: /execute_tool and /jobs (seed 001), Unix-second times, corex error bodies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "fcgi-app/jobsvc.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/jobs/jobview.h"
#include "core/base/log.h"
#include "core/jobs/model.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/toolrun.h"
#include "core/tools/tools.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/jobfilter.h"
#include "fcgi-app/lookup.h"
#include "fcgi-app/opsvc.h"

/* ---- mapping helpers ---- */

/* ---- answers ---- */

/* {"error":{"code","message","argument"?}} */
static void corex_error(struct vex_ctx *c, int status, const char *code, const char *message, const char *argument)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (e && argument && *argument)
		json_object_set_new(e, "argument", json_string(argument));
	vex_http_json(c->resp, status, json_pack("{s:o}", "error", e));
}

/* The argument a field error names: "arguments.ms" -> "ms"; other fields as they are. */
static const char *argument_name(const struct vex_field_error *e)
{
	return strncmp(e->field, "arguments.", 10) == 0 ? e->field + 10 : e->field;
}

/* A message about one argument, in corex words: "Invalid argument: ms must be of type integer". */
static void argument_message(const struct vex_field_error *e, char *out, size_t cap)
{
	if (strncmp(e->message, "arguments.", 10) == 0)
		snprintf(out, cap, "Invalid argument: %s", e->message + 10);
	else
		snprintf(out, cap, "%s", e->message);
}

/* ---- request helpers ---- */

/* A field error of a body or a header: 400 INVALID_JSON, or INVALID_ARGUMENTS naming the argument. */
static void field_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	corex_error(c, 400, strcmp(e->code, "INVALID_JSON") == 0 ? "INVALID_JSON" : "INVALID_ARGUMENTS", e->message,
		    e->field);
}

/* A field error's code in corex words: the core's VALIDATION_ERROR is INVALID_ARGUMENTS here. */
static const char *corex_code(const struct vex_field_error *e)
{
	return e->code[0] && strcmp(e->code, "VALIDATION_ERROR") != 0 ? e->code : "INVALID_ARGUMENTS";
}

/* Its status: every argument problem is 400 here; other codes (IDEMPOTENCY_KEY_REUSED 422) keep theirs. */
static int corex_status(const struct vex_field_error *e)
{
	return strcmp(corex_code(e), e->code) == 0 && e->status > 0 ? e->status : 400;
}

/* A bad query parameter: 400 INVALID_PARAMETER naming it. */
static void param_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	corex_error(c, 400, "INVALID_PARAMETER", e->message, e->field);
}

/* The body as a JSON object; on failure the error is answered. */
static int body_object(struct vex_ctx *c, json_t **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_ctx_body_object(c, 0, ret, &e), &e, field_error);
}

/*
 * "tool" (required string) and "arguments" (required object, borrowed from "body").
 * On failure fills "e" (INVALID_ARGUMENTS naming the field) and returns VEX_EINVAL.
 */
int vex_dialect_corex_tool_body(json_t *body, const char **ret_tool, json_t **ret_args, struct vex_field_error *e)
{
	json_t *tool = json_object_get(body, "tool"), *args = json_object_get(body, "arguments");

	if (!tool)
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "tool", "Missing required argument: tool");
	if (!json_is_string(tool) || json_string_length(tool) == 0 || json_string_length(tool) > VEX_COREX_TOOL_NAME_MAX)
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "tool", "tool must be a tool name (string)");
	if (!args)
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "arguments",
					   "Missing required argument: arguments");
	if (!json_is_object(args))
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "arguments", "arguments must be an object");
	*ret_tool = json_string_value(tool);
	*ret_args = args;
	return 0;
}

/* The body as a JSON object, {} when empty; on failure the error is answered. */
static int body_object_or_empty(struct vex_ctx *c, json_t **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_ctx_body_object(c, 1, ret, &e), &e, field_error);
}

/* Idempotency-Key (core/base/limits.h) with the request "body" it came with; on failure the error is answered. */
static int idem_key(struct vex_ctx *c, json_t *body, struct vex_idem *ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_fields_idem_key(c, body, ret, &e), &e, field_error);
}

/* An integer query parameter in [lo, hi] ("def" when absent); on failure the error is answered. */
static int query_int(struct vex_ctx *c, const char *key, long def, long lo, long hi, long *ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_fields_query_int(c, key, def, lo, hi, 0, ret, &e), &e, param_error);
}

/* ---- POST /execute_tool ---- */

/* {"tool","status","error":{...}} (the execute_tool error shape), with "job_id" once a job exists. */
static void exec_error(struct vex_ctx *c, int status, const char *tool, const char *st, const char *code,
		       const char *message, const char *argument, json_t *details, const char *job_id)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (e && argument && *argument)
		json_object_set_new(e, "argument", json_string(argument));
	if (e && details)
		json_object_set_new(e, "details", details);
	else
		json_decref(details);
	vex_http_json(c->resp, status,
		      json_pack("{s:s?, s:s, s:o, s:s?}", "tool", tool, "status", st, "error", e, "job_id", job_id));
}

/* A body that is not JSON, not an object or holds a field /execute_tool does not take, in its error shape. */
static void exec_body_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	exec_error(c, 400, NULL, "error", strcmp(e->code, "INVALID_JSON") == 0 ? "INVALID_JSON" : "INVALID_ARGUMENTS",
		   e->message, e->field, NULL, NULL);
}

static void execute_answer(struct vex_ctx *c, const char *tool, const struct vex_toolrun *run)
{
	const struct vex_job *j = run->job;
	char msg[128];
	json_t *details;

	vex_http_header(c->resp, "X-Job-ID", j->id);
	if (run->timed_out) {
		snprintf(msg, sizeof(msg), "Tool execution exceeded %lldms timeout", (long long)run->timeout_ms);
		exec_error(c, 504, tool, "timeout", "EXECUTION_TIMEOUT", msg, NULL, NULL, j->id);
		return;
	}
	if (j->status == VEX_JOB_COMPLETED) {
		vex_http_json(c->resp, 200,
			      json_pack("{s:s, s:s, s:o, s:I, s:{s:I, s:I}, s:s}", "tool", tool, "status", "success",
					"result", vex_jobview_stored(j->result_json), "execution_time_ms",
					(json_int_t)vex_jobview_run_ms(j), "tokens_used", "input", (json_int_t)j->tokens_in,
					"output", (json_int_t)j->tokens_out, "job_id", j->id));
		return;
	}
	/* failed, or canceled by someone else while it ran: the tool's own code goes into details. */
	details = vex_jobview_corex_details(j);
	if (j->error_code)
		json_object_set_new(details, "tool_error_code", json_string(j->error_code));
	exec_error(c, 500, tool, "error", "EXECUTION_ERROR",
		   j->error_message ? j->error_message
				    : j->status == VEX_JOB_CANCELED ? "Tool execution was canceled" : "Tool execution failed",
		   NULL, details, j->id);
}

static void execute_tool(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_toolrun run;
	const char *tool = NULL;
	char msg[300], trace[VEX_TRACEPARENT_LEN + 1];
	long long timeout = 0;
	json_t *body = NULL, *args = NULL, *mode, *v;
	int rc;

	memset(&run, 0, sizeof(run));
	if (c->who.role != VEX_ROLE_ADMIN) {
		corex_error(c, 403, "FORBIDDEN", "admin role required", NULL);
		goto out;
	}
	if (vex_fields_refuse(c, vex_ctx_body_object(c, 0, &body, &e), &e, exec_body_error) != 0)
		goto out;
	v = json_object_get(body, "tool");
	if (json_is_string(v))
		tool = json_string_value(v);
	rc = vex_dialect_corex_tool_body(body, &tool, &args, &e);
	if (rc == 0) {
		mode = json_object_get(body, "mode");
		if (mode && !json_is_null(mode) &&
		    (!json_is_string(mode) ||
		     (strcmp(json_string_value(mode), "sync") != 0 && strcmp(json_string_value(mode), "direct") != 0)))
			rc = vex_field_error_set(&e, 400, "INVALID_ARGUMENTS", "mode",
						 "mode must be \"sync\" or \"direct\"");
	}
	if (rc == 0) {
		v = json_object_get(body, "timeout_ms");
		if (v && !json_is_null(v)) {
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				rc = vex_field_error_set(&e, 400, "INVALID_ARGUMENTS", "timeout_ms",
							 "timeout_ms must be an integer between 1 and %lld",
							 VEX_EXECUTE_WAIT_MAX_MS);
			else
				timeout = json_integer_value(v);
		}
	}
	if (rc == 0)
		rc = vex_toolrun_execute(c->env, &c->who, tool, args, timeout, vex_fields_traceparent(c, trace), &run,
					 &e);
	if (rc == VEX_EINVAL) {
		argument_message(&e, msg, sizeof(msg));
		exec_error(c, 400, tool, "error", corex_code(&e), msg, argument_name(&e), NULL, NULL);
		goto out;
	}
	if (rc == VEX_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "Tool %.200s does not exist", tool);
		exec_error(c, 404, tool, "error", "TOOL_NOT_FOUND", msg, NULL, NULL, NULL);
		goto out;
	}
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		goto out;
	}
	/* the job holds the full name the request resolved to ("add" -> "everything.add") */
	execute_answer(c, run.job->tool ? run.job->tool : tool, &run);
out:
	vex_toolrun_release(&run);
	json_decref(body);
}

/* ---- POST /jobs/submit ---- */

/* Optional "timeout_ms" of a queued job (1 ms to a day, core/base/limits.h); absent or null -> 0 (the default). */
int vex_dialect_corex_timeout_body(json_t *body, long long *ret, struct vex_field_error *e)
{
	json_t *v = json_object_get(body, "timeout_ms");

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "timeout_ms",
					   "timeout_ms must be an integer between 1 and %lld", VEX_JOB_TIMEOUT_MAX_MS);
	if (vex_jobsvc_timeout_check(json_integer_value(v), e) != 0)
		return VEX_EINVAL;
	*ret = json_integer_value(v);
	return 0;
}

static void jobs_submit(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	const char *tool = NULL;
	char msg[300], loc[64], trace[VEX_TRACEPARENT_LEN + 1];
	int64_t estimate = VEX_TOOLRUN_ESTIMATE_DEFAULT_MS;
	long long timeout = 0;
	json_t *body = NULL, *args = NULL;
	int created = 0, rc;

	if (body_object(c, &body) != 0 || idem_key(c, body, &idem) != 0)
		goto out;
	rc = vex_dialect_corex_tool_body(body, &tool, &args, &e);
	if (rc == 0)
		rc = vex_dialect_corex_timeout_body(body, &timeout, &e);
	if (rc == 0)
		rc = vex_jobsvc_submit_tool(c->env, &c->who, tool, args, timeout, &idem, vex_fields_traceparent(c, trace),
					    &j, &created, &e);
	if (rc == VEX_ELIMIT) {
		corex_error(c, e.status, e.code, e.message, NULL);
		goto out;
	}
	if (rc == VEX_EINVAL) {
		argument_message(&e, msg, sizeof(msg));
		corex_error(c, corex_status(&e), corex_code(&e), msg, argument_name(&e));
		goto out;
	}
	if (rc == VEX_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "Tool %.200s does not exist", tool);
		corex_error(c, 404, "TOOL_NOT_FOUND", msg, NULL);
		goto out;
	}
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		goto out;
	}
	/* An estimate is a nicety: a failed read leaves the default. */
	if (vex_toolrun_estimate_ms(c->env->store, j->tool, &estimate) != 0)
		estimate = VEX_TOOLRUN_ESTIMATE_DEFAULT_MS;
	snprintf(loc, sizeof(loc), "/jobs/%s", j->id);
	vex_http_header(c->resp, "Location", loc);
	if (!created)
		vex_http_header(c->resp, "Idempotent-Replayed", "true");
	vex_http_json(c->resp, 200,
		      json_pack("{s:s, s:s, s:s, s:o, s:I}", "job_id", j->id, "status", vex_job_status_name(j->status),
				"tool", j->tool, "created_at", vex_jobview_unix_s(j->created_at), "estimated_duration_ms",
				(json_int_t)estimate));
out:
	vex_job_free(j);
	json_decref(body);
}

/* ---- GET /jobs/{id}, DELETE /jobs/{id} ---- */

static void job_not_found(struct vex_ctx *c)
{
	char msg[VEX_ROUTE_PARAM_MAX + 32];

	snprintf(msg, sizeof(msg), "Job %s does not exist", c->params[0]);
	corex_error(c, 404, "JOB_NOT_FOUND", msg, NULL);
}

/* A queued job's body shows its place in the queue, read now: only the other states' bodies are kept. */
static int render_job(struct vex_ctx *c, struct vex_job **jp, json_t **ret, int *ret_keep)
{
	struct vex_job *j = *jp, *fresh = NULL;
	int64_t pos = 0;
	int rc;

	*ret_keep = j->status != VEX_JOB_QUEUED;
	if (j->status == VEX_JOB_QUEUED) {
		rc = vex_store_job_queue_position(c->env->store, j->id, &pos);
		/* Claimed or canceled since the cached copy was written: show the stored state. */
		if (rc == VEX_ESTATE && vex_store_job_get(c->env->store, j->id, NULL, &fresh) == 0) {
			vex_job_free(j);
			*jp = j = fresh;
		} else if (rc && rc != VEX_ESTATE) {
			vex_log(VEX_LOG_WARN, "queue position unavailable", "job_id", j->id, "error", vex_strerror(rc),
				NULL);
		}
	}
	*ret = vex_jobview_corex(j, pos);
	return *ret ? 0 : VEX_ENOMEM;
}

static void jobs_get(struct vex_ctx *c)
{
	vex_lookup_job_view(c, job_not_found, 'c', render_job);
}

static void jobs_cancel(struct vex_ctx *c)
{
	struct vex_job *j = NULL;
	char msg[96];
	int rc;

	if (!vex_uuid_valid(c->params[0])) {
		job_not_found(c);
		return;
	}
	/* Never forced: a running job is the runner's until it ends (the vex dialect can force it). */
	rc = vex_jobsvc_cancel(c->env, &c->who, c->params[0], 0, &j);
	if (rc == 0) {
		vex_http_json(c->resp, 200, json_pack("{s:s, s:s, s:s}", "job_id", j->id, "status",
						      vex_job_status_name(j->status), "message",
						      "Job canceled successfully"));
	} else if (rc == VEX_ESTATE && j && j->status == VEX_JOB_RUNNING) {
		corex_error(c, 400, "CANNOT_CANCEL_RUNNING", "Cannot cancel a job that is already running", NULL);
	} else if (rc == VEX_ESTATE && j) {
		snprintf(msg, sizeof(msg), "Job is already %s", vex_job_status_name(j->status));
		corex_error(c, 409, "JOB_ALREADY_FINISHED", msg, NULL);
	} else if (rc == VEX_ENOTFOUND) {
		job_not_found(c);
	} else {
		vex_ctx_fail(c, rc, "job not found");
	}
	vex_job_free(j);
}

/* ---- POST /jobs/{id}/retry (docs/api-corex.md) ---- */

static void jobs_retry(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	char loc[64], by[VEX_UUID_LEN + 1] = "";
	json_t *body = NULL, *v = NULL, *err;
	int rc, created = 0, keep;

	if (body_object_or_empty(c, &body) != 0 || idem_key(c, body, &idem) != 0)
		goto out;
	rc = vex_uuid_valid(c->params[0]) ? vex_opsvc_retry(c->env, &c->who, c->params[0], &idem, &j, &created, &e, by)
					  : VEX_ENOTFOUND;
	if (rc == VEX_ECONFLICT) {
		err = json_pack("{s:s, s:s, s:{s:s}}", "code", e.code, "message", e.message, "details", "retried_by", by);
		vex_http_json(c->resp, 409, json_pack("{s:o}", "error", err));
	} else if (rc == VEX_ESTATE || rc == VEX_EINVAL || rc == VEX_ELIMIT) {
		corex_error(c, corex_status(&e), corex_code(&e), e.message, argument_name(&e));
	} else if (rc == VEX_ENOTFOUND) {
		job_not_found(c);
	} else if (rc || render_job(c, &j, &v, &keep) != 0) {
		vex_ctx_fail(c, rc ? rc : VEX_ENOMEM, "job not found");
	} else {
		snprintf(loc, sizeof(loc), "/jobs/%s", j->id);
		vex_http_header(c->resp, "Location", loc);
		if (!created)
			vex_http_header(c->resp, "Idempotent-Replayed", "true");
		vex_http_json(c->resp, created ? 201 : 200, v);
	}
out:
	vex_job_free(j);
	json_decref(body);
}

/* ---- POST /jobs/{id}/stream_token ---- */

/* A stream_token for GET /jobs/{id}/stream (docs/api-streams.md): EventSource sends no headers.
 * The body, if any, must be {}. */
static void jobs_stream_token(struct vex_ctx *c)
{
	if (vex_fields_no_body(c, field_error) == 0)
		vex_lookup_job_stream_token(c, job_not_found, "", 1);
}

/* ---- GET /jobs ---- */

static void jobs_list(struct vex_ctx *c)
{
	struct vex_job_filter f;
	struct vex_job_list l = { 0 };
	struct vex_jobfilter_bufs fb;
	struct vex_field_error e;
	char as_of[64], before[sizeof(as_of) + 1];
	int64_t total = 0;
	json_t *root, *arr, *item, *pag;
	long limit, offset;
	size_t i;
	int rc;

	vex_job_filter_init(&f);
	if (query_int(c, "limit", VEX_LIST_LIMIT_DEFAULT, 1, VEX_LIST_LIMIT_MAX, &limit) != 0 ||
	    query_int(c, "offset", 0, 0, VEX_LIST_OFFSET_MAX, &offset) != 0)
		goto out;
	rc = vex_jobfilter_query(c, VEX_JOBFILTER_COREX, &f, &fb, &e);
	if (rc != 0) {
		vex_fields_refuse(c, rc, &e, param_error);
		goto out;
	}
	/* as_of=<job_id>: a stable walk, only jobs up to that one ("id <= as_of", via the successor string). */
	rc = vex_http_query(c->req, "as_of", as_of, sizeof(as_of));
	if (rc == 0 && as_of[0] != '\0') {
		if (!vex_uuid_valid(as_of)) {
			corex_error(c, 400, "INVALID_PARAMETER", "as_of must be a job_id", "as_of");
			goto out;
		}
		snprintf(before, sizeof(before), "%s~", as_of);
		f.before_id = before;
	} else if (rc != 0 && rc != VEX_ENOTFOUND) {
		corex_error(c, 400, "INVALID_PARAMETER", "as_of must be a job_id", "as_of");
		goto out;
	}
	f.owner = c->who.sub;
	/* Tool jobs unless the query names agents (kind=agent, or an agent_id). */
	if (f.kind < 0)
		f.kind = f.agent_id ? VEX_JOB_AGENT : VEX_JOB_TOOL;
	f.limit = (int)limit;
	f.offset = (int)offset;
	rc = vex_store_jobs_list(c->env->store, &f, &l);
	if (rc == 0)
		rc = vex_store_jobs_count_before(c->env->store, &f, &total);
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		goto out;
	}
	root = json_object();
	arr = json_array();
	for (i = 0; i < l.n; i++) {
		const struct vex_job *j = l.items[i];

		item = json_pack("{s:s, s:s, s:s, s:o}", "job_id", j->id, "tool", j->tool ? j->tool : "", "status",
				 vex_job_status_name(j->status), "created_at", vex_jobview_unix_s(j->created_at));
		if (item && j->completed_at)
			json_object_set_new(item, "completed_at", vex_jobview_unix_s(j->completed_at));
		if (item)
			vex_jobview_retry_links(item, j);
		if (item && j->traceparent)
			json_object_set_new(item, "traceparent", json_string(j->traceparent));
		json_array_append_new(arr, item);
	}
	json_object_set_new(root, "jobs", arr);
	pag = json_pack("{s:i, s:i, s:I}", "limit", (int)limit, "offset", (int)offset, "total", (json_int_t)total);
	/* The anchor for the next pages: the one given, or the newest job of a first page. */
	if (pag && f.before_id)
		json_object_set_new(pag, "as_of", json_string(as_of));
	else if (pag && offset == 0 && l.n > 0)
		json_object_set_new(pag, "as_of", json_string(l.items[0]->id));
	else if (pag)
		json_object_set_new(pag, "as_of", json_null());
	json_object_set_new(root, "pagination", pag);
	vex_http_json(c->resp, 200, root);
out:
	vex_job_list_release(&l);
}

/* ---- GET /tools, GET /retrieve_tools ---- */

/* {"name","source","description","inputSchema"}, NULL on ENOMEM. */
static json_t *tool_json(const struct vex_tool_info *t)
{
	json_t *schema = vex_tool_schema(t);

	if (!schema)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:o}", "name", t->name, "source", t->source, "description",
			 t->description ? t->description : "", "inputSchema", schema);
}

/* Every tool: the builtins, then the catalog the runner published, by name. */
static void tools_list(struct vex_ctx *c)
{
	struct vex_tool_list l;
	json_t *arr;
	size_t i;
	int rc;

	rc = vex_tools_list(c->env->store, &c->who, &l);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		return;
	}
	arr = json_array();
	for (i = 0; arr && i < l.n; i++)
		if (json_array_append_new(arr, tool_json(&l.items[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	vex_tool_list_release(&l);
	if (!arr) {
		vex_ctx_fail(c, VEX_ENOMEM, NULL);
		return;
	}
	vex_http_json(c->resp, 200, json_pack("{s:o, s:I}", "tools", arr, "total", (json_int_t)json_array_size(arr)));
}

/* "query" (1..VEX_RETRIEVE_QUERY_MAX characters of UTF-8) into "out"; on failure the 400 is answered. */
static int query_text(struct vex_ctx *c, char *out, size_t cap)
{
	char msg[96];
	json_t *probe;
	int rc = vex_http_query(c->req, "query", out, cap);

	snprintf(msg, sizeof(msg), "query must be 1 to %d characters of text", VEX_RETRIEVE_QUERY_MAX);
	if (rc == VEX_ENOTFOUND) {
		corex_error(c, 400, "INVALID_PARAMETER", "query is required", "query");
		return VEX_EINVAL;
	}
	if (rc) {
		corex_error(c, 400, "INVALID_PARAMETER", msg, "query");
		return VEX_EINVAL;
	}
	probe = json_string(out); /* NULL for invalid UTF-8 */
	if (!probe || out[0] == '\0' || vex_utf8_len(out) > VEX_RETRIEVE_QUERY_MAX) {
		json_decref(probe);
		corex_error(c, 400, "INVALID_PARAMETER", msg, "query");
		return VEX_EINVAL;
	}
	json_decref(probe);
	return 0;
}

/* Tools ranked by the text score of docs/tools.md over their names and descriptions. */
static void retrieve_tools(struct vex_ctx *c)
{
	struct vex_tool_list l;
	struct vex_tool_hit *hits = NULL;
	char query[VEX_RETRIEVE_QUERY_MAX * 4 + 1];
	int64_t start = vex_mono_us();
	size_t i, n;
	json_t *arr = NULL, *item;
	long top_k;
	int rc;

	memset(&l, 0, sizeof(l));
	if (query_text(c, query, sizeof(query)) != 0 || query_int(c, "top_k", VEX_RETRIEVE_TOP_K_DEFAULT, 1, VEX_RETRIEVE_TOP_K_MAX, &top_k) != 0)
		return;
	rc = vex_tools_list(c->env->store, &c->who, &l);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		return;
	}
	hits = calloc(l.n ? l.n : 1, sizeof(*hits));
	arr = json_array();
	if (!hits || !arr) {
		rc = VEX_ENOMEM;
		goto out;
	}
	n = vex_tools_rank(query, l.items, l.n, hits);
	for (i = 0; i < n && i < (size_t)top_k; i++) {
		/* four decimals: enough to order by, short to read */
		double score = (double)(long)(hits[i].score * 10000 + 0.5) / 10000;

		item = tool_json(hits[i].tool);
		if (item && json_object_set_new(item, "score", json_real(score)) != 0) {
			json_decref(item);
			item = NULL;
		}
		if (!item || json_array_append_new(arr, item) != 0) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	vex_http_json(c->resp, 200,
		      json_pack("{s:s, s:O, s:I, s:f}", "query", query, "tools", arr, "total_tools_searched",
				(json_int_t)l.n, "query_time_ms", (double)(vex_mono_us() - start) / 1000.0));
out:
	if (rc)
		vex_ctx_fail(c, rc, NULL);
	json_decref(arr);
	free(hits);
	vex_tool_list_release(&l);
}

/* The fields of each write body (docs/api-corex.md); anything else is refused. */
static const char *const execute_body[] = { "tool", "arguments", "mode", "timeout_ms", NULL };
static const char *const submit_body[] = { "tool", "arguments", "timeout_ms", NULL };

static const struct vex_route routes[] = {
	{ "POST", "/execute_tool", execute_tool, VEX_ROUTE_LIMITED, execute_body },
	{ "POST", "/jobs/submit", jobs_submit, VEX_ROUTE_LIMITED, submit_body },
	{ "GET", "/jobs", jobs_list, 0, NULL },
	{ "GET", "/jobs/{id}", jobs_get, 0, NULL },
	{ "DELETE", "/jobs/{id}", jobs_cancel, 0, NULL },
	{ "POST", "/jobs/{id}/stream_token", jobs_stream_token, 0, NULL },
	{ "POST", "/jobs/{id}/retry", jobs_retry, VEX_ROUTE_LIMITED, NULL },
	{ "GET", "/tools", tools_list, 0, NULL },
	{ "GET", "/retrieve_tools", retrieve_tools, 0, NULL },
};

const struct vex_route_table vex_dialect_corex_routes = VEX_ROUTE_TABLE(routes);
