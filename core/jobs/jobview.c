/* jobview.c - a job as the dialects show it (vex envelope, corex job, event), shared by vex-api, its stream
 * server and the runner's webhook deliveries. */
#include "core/jobs/jobview.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/timeutil.h"

/* ---- corex ---- */

json_t *vex_jobview_unix_s(int64_t us)
{
	return us ? json_integer((json_int_t)(us / 1000000)) : json_null();
}

json_t *vex_jobview_stored(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

	return v ? v : json_null();
}

/* The stored error details object, or {}. */
json_t *vex_jobview_corex_details(const struct vex_job *j)
{
	json_t *v = j->error_details_json ? json_loads(j->error_details_json, 0, NULL) : NULL;

	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v ? v : json_object();
}

static json_t *error_json(const struct vex_job *j)
{
	return json_pack("{s:s, s:s, s:o}", "code", j->error_code ? j->error_code : "EXECUTION_ERROR", "message",
			 j->error_message ? j->error_message : "", "details", vex_jobview_corex_details(j));
}

int64_t vex_jobview_run_ms(const struct vex_job *j)
{
	if (!j->started_at || j->completed_at < j->started_at)
		return 0;
	return (j->completed_at - j->started_at) / 1000;
}

void vex_jobview_retry_links(json_t *o, const struct vex_job *j)
{
	if (j->retry_of[0])
		json_object_set_new(o, "retry_of", json_string(j->retry_of));
	if (j->retried_by[0])
		json_object_set_new(o, "retried_by", json_string(j->retried_by));
}

/* A job as GET /jobs/{id} shows it: the fields of its status only. "position" < 1: not queued. */
json_t *vex_jobview_corex(const struct vex_job *j, int64_t position)
{
	json_t *o = json_pack("{s:s, s:s, s:s?, s:o}", "job_id", j->id, "status", vex_job_status_name(j->status),
			      "tool", j->tool, "created_at", vex_jobview_unix_s(j->created_at));

	if (!o)
		return NULL;
	if (!j->tool)
		json_object_set_new(o, "tool", json_null());
	switch (j->status) {
	case VEX_JOB_QUEUED:
		json_object_set_new(o, "position_in_queue", json_integer(position > 0 ? position : 1));
		break;
	case VEX_JOB_RUNNING:
		json_object_set_new(o, "started_at", vex_jobview_unix_s(j->started_at));
		json_object_set_new(o, "progress",
				    json_pack("{s:o, s:i, s:I}", "current_step",
					      j->progress.current_step ? json_string(j->progress.current_step)
								       : json_null(),
					      "total_steps", j->progress.total_steps, "percentage",
					      (json_int_t)(j->progress.percentage + 0.5)));
		break;
	case VEX_JOB_COMPLETED:
		json_object_set_new(o, "started_at", vex_jobview_unix_s(j->started_at));
		json_object_set_new(o, "completed_at", vex_jobview_unix_s(j->completed_at));
		json_object_set_new(o, "result", vex_jobview_stored(j->result_json));
		json_object_set_new(o, "execution_time_ms", json_integer((json_int_t)vex_jobview_run_ms(j)));
		break;
	default: /* failed, timeout, canceled */
		json_object_set_new(o, "started_at", vex_jobview_unix_s(j->started_at));
		json_object_set_new(o, "completed_at", vex_jobview_unix_s(j->completed_at));
		json_object_set_new(o, "error", error_json(j));
		break;
	}
	vex_jobview_retry_links(o, j);
	if (j->traceparent)
		json_object_set_new(o, "traceparent", json_string(j->traceparent));
	return o;
}

/* ---- vex ---- */

/* The dialect calls "queued" "pending"; every other status keeps the core's name. */
const char *vex_jobview_vex_status(enum vex_job_status s)
{
	return s == VEX_JOB_QUEUED ? "pending" : vex_job_status_name(s);
}

json_t *vex_jobview_time(int64_t us)
{
	char buf[VEX_RFC3339_LEN];

	if (us == 0)
		return json_null();
	vex_rfc3339(us, buf);
	return json_string(buf);
}

/* Parse stored JSON text; NULL when absent or unreadable (the envelope shows null). */
static json_t *parsed_or_null(const char *text)
{
	if (text == NULL)
		return NULL;
	return json_loads(text, JSON_DECODE_ANY, NULL);
}

/* The AgentJobResult of a finished agent job: the runner's {"response","success","error"} plus the job's facts. */
static json_t *agent_result(const struct vex_job *j)
{
	json_t *res = parsed_or_null(j->result_json), *in = parsed_or_null(j->input_json), *out = NULL;
	json_t *resp, *succ, *err, *prompt;

	resp = json_object_get(res, "response");
	succ = json_object_get(res, "success");
	err = json_object_get(res, "error");
	prompt = json_object_get(in, "prompt");
	out = json_object();
	if (out == NULL)
		goto out;
	json_object_set_new(out, "job_id", json_string(j->id));
	json_object_set_new(out, "agent_id", json_string(j->agent_id));
	json_object_set(out, "prompt", json_is_string(prompt) ? prompt : json_null());
	json_object_set(out, "response", json_is_string(resp) ? resp : json_null());
	json_object_set_new(out, "tokens_used", json_integer(j->tokens_in + j->tokens_out));
	json_object_set_new(out, "completed_at", vex_jobview_time(j->completed_at));
	json_object_set_new(out, "success",
			    json_boolean(json_is_boolean(succ) ? json_is_true(succ) : j->status == VEX_JOB_COMPLETED));
	if (json_is_string(err))
		json_object_set(out, "error", err);
	else if (j->status != VEX_JOB_COMPLETED && j->error_message != NULL)
		json_object_set_new(out, "error", json_string(j->error_message));
	else
		json_object_set_new(out, "error", json_null());
	/* a shadow review's verdict (docs/agents.md); absent when the agent has none */
	if (json_is_boolean(json_object_get(res, "verified")))
		json_object_set(out, "verified", json_object_get(res, "verified"));
	if (json_is_number(json_object_get(res, "confidence")))
		json_object_set(out, "confidence", json_object_get(res, "confidence"));
out:
	json_decref(res);
	json_decref(in);
	return out;
}

json_t *vex_jobview_vex(const struct vex_job *j)
{
	json_t *o = json_object(), *v;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "job_id", json_string(j->id));
	json_object_set_new(o, "status", json_string(vex_jobview_vex_status(j->status)));

	if (j->kind == VEX_JOB_AGENT && vex_job_status_terminal(j->status))
		v = agent_result(j);
	else if (j->kind == VEX_JOB_TOOL)
		v = parsed_or_null(j->result_json);
	else
		v = NULL;
	json_object_set_new(o, "result", v != NULL ? v : json_null());

	if (j->error_code != NULL || j->error_message != NULL) {
		json_t *e = json_object();

		json_object_set_new(e, "code", json_string(j->error_code != NULL ? j->error_code : "ERROR"));
		json_object_set_new(e, "message", json_string(j->error_message != NULL ? j->error_message : ""));
		v = parsed_or_null(j->error_details_json);
		if (v != NULL)
			json_object_set_new(e, "details", v);
		json_object_set_new(o, "error", e);
	} else {
		json_object_set_new(o, "error", json_null());
	}
	json_object_set_new(o, "queued_at", vex_jobview_time(j->created_at));
	json_object_set_new(o, "attempts", json_integer(j->attempts));
	json_object_set_new(o, "kind", json_string(vex_job_kind_name(j->kind)));
	if (j->kind == VEX_JOB_AGENT)
		json_object_set_new(o, "agent_id", json_string(j->agent_id));
	else
		json_object_set_new(o, "tool", json_string(j->tool != NULL ? j->tool : ""));
	json_object_set_new(o, "started_at", vex_jobview_time(j->started_at));
	json_object_set_new(o, "completed_at", vex_jobview_time(j->completed_at));
	if (j->progress.current_step != NULL) {
		json_object_set_new(o, "progress",
				    json_pack("{s:s, s:i, s:f, s:o}", "current_step", j->progress.current_step,
					      "total_steps", j->progress.total_steps, "percentage",
					      j->progress.percentage, "message",
					      j->progress.message != NULL ? json_string(j->progress.message)
									  : json_null()));
	} else {
		json_object_set_new(o, "progress", json_null());
	}
	json_object_set_new(o, "tokens_used",
			    json_pack("{s:I, s:I}", "input", (json_int_t)j->tokens_in, "output",
				      (json_int_t)j->tokens_out));
	if (j->kind == VEX_JOB_AGENT) {
		/* beyond the seed: the agent loop's rounds and the model that answered (docs/agents.md) */
		json_object_set_new(o, "steps", json_integer(j->steps));
		json_object_set_new(o, "final_model", j->final_model != NULL ? json_string(j->final_model) : json_null());
	}
	if (j->cancel_requested)
		json_object_set_new(o, "cancel_requested", json_true());
	vex_jobview_retry_links(o, j);
	if (j->traceparent)
		json_object_set_new(o, "traceparent", json_string(j->traceparent));
	return o;
}


/* ---- events ---- */

/* The dialect's four event statuses over the core's six. */
static const char *event_status(enum vex_job_status s)
{
	switch (s) {
	case VEX_JOB_QUEUED: return "PENDING";
	case VEX_JOB_RUNNING: return "RUNNING";
	case VEX_JOB_COMPLETED: return "COMPLETED";
	default: return "FAILED";
	}
}

/* FAILED hides three core states: "error" names which one, then the recorded message. */
static json_t *event_error(const struct vex_job *j)
{
	char buf[600];
	const char *why;

	if (j->status != VEX_JOB_FAILED && j->status != VEX_JOB_TIMEOUT && j->status != VEX_JOB_CANCELED)
		return json_null();
	why = j->error_message ? j->error_message : j->error_code ? j->error_code : "no details";
	snprintf(buf, sizeof(buf), "%s: %.500s", vex_job_status_name(j->status), why);
	return json_string(buf);
}

json_t *vex_jobview_events(const struct vex_job *j)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:I, s:o, s:o}", "id", j->id, "agentId",
			 j->agent_id, "userId", j->owner, "status", event_status(j->status), "startedAt",
			 vex_jobview_time(j->started_at), "completedAt", vex_jobview_time(j->completed_at), "error",
			 event_error(j), "finalModel", j->final_model ? json_string(j->final_model) : json_null(),
			 "browserStepCount", j->browser_steps, "browserSessionSeconds",
			 (json_int_t)(j->browser_seconds + 0.5), "createdAt", vex_jobview_time(j->created_at),
			 "updatedAt", vex_jobview_time(j->updated_at ? j->updated_at : j->created_at));
}
