/* model_json.c - canonical job JSON, as memcached holds it: a job to its document and back. */
#include "core/jobs/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t us)
{
	return us ? json_integer(us) : json_null();
}

/* The stored text of a JSON value, embedded as a value; unparsable text is kept as a string. */
static json_t *embed_json(const char *text)
{
	json_t *v;

	if (!text)
		return json_null();
	v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_string(text);
	return v;
}

/* json_object_set_new that remembers a failure instead of checking each call. */
static void put(json_t *o, const char *key, json_t *v, int *fail)
{
	if (!v || json_object_set_new(o, key, v) != 0)
		*fail = 1;
}

json_t *vex_job_to_json(const struct vex_job *j)
{
	json_t *o, *sub;
	int fail = 0;
	const struct vex_progress *p = &j->progress;

	o = json_object();
	if (!o)
		return NULL;
	put(o, "id", json_string(j->id), &fail);
	put(o, "owner", json_string(j->owner), &fail);
	put(o, "plan", json_string(vex_plan_name(j->plan)), &fail);
	put(o, "kind", json_string(vex_job_kind_name(j->kind)), &fail);
	put(o, "agent_id", j->agent_id[0] ? json_string(j->agent_id) : json_null(), &fail);
	put(o, "tool", str_or_null(j->tool), &fail);
	put(o, "input", embed_json(j->input_json), &fail);
	put(o, "status", json_string(vex_job_status_name(j->status)), &fail);
	put(o, "attempts", json_integer(j->attempts), &fail);
	put(o, "max_attempts", json_integer(j->max_attempts), &fail);
	put(o, "priority", json_integer(j->priority), &fail);
	put(o, "timeout_ms", json_integer(j->timeout_ms), &fail);
	put(o, "created_at", time_or_null(j->created_at), &fail);
	put(o, "started_at", time_or_null(j->started_at), &fail);
	put(o, "completed_at", time_or_null(j->completed_at), &fail);
	put(o, "updated_at", time_or_null(j->updated_at), &fail);
	if (p->current_step || p->total_steps || p->percentage != 0.0 || p->message) {
		sub = json_object();
		if (sub) {
			put(sub, "current_step", str_or_null(p->current_step), &fail);
			put(sub, "total_steps", json_integer(p->total_steps), &fail);
			put(sub, "percentage", json_real(p->percentage), &fail);
			put(sub, "message", str_or_null(p->message), &fail);
		}
		put(o, "progress", sub, &fail);
	} else {
		put(o, "progress", json_null(), &fail);
	}
	put(o, "result", embed_json(j->result_json), &fail);
	if (j->error_code || j->error_message || j->error_details_json) {
		sub = json_object();
		if (sub) {
			put(sub, "code", str_or_null(j->error_code), &fail);
			put(sub, "message", str_or_null(j->error_message), &fail);
			put(sub, "details", embed_json(j->error_details_json), &fail);
		}
		put(o, "error", sub, &fail);
	} else {
		put(o, "error", json_null(), &fail);
	}
	sub = json_object();
	if (sub) {
		put(sub, "input", json_integer(j->tokens_in), &fail);
		put(sub, "output", json_integer(j->tokens_out), &fail);
	}
	put(o, "tokens", sub, &fail);
	put(o, "final_model", str_or_null(j->final_model), &fail);
	put(o, "steps", json_integer(j->steps), &fail);
	put(o, "browser_steps", json_integer(j->browser_steps), &fail);
	put(o, "browser_seconds", json_real(j->browser_seconds), &fail);
	put(o, "cancel_requested", json_boolean(j->cancel_requested), &fail);
	put(o, "rev", json_integer(j->rev), &fail);
	if (j->retry_of[0])
		put(o, "retry_of", json_string(j->retry_of), &fail);
	if (j->retried_by[0])
		put(o, "retried_by", json_string(j->retried_by), &fail);
	if (j->traceparent)
		put(o, "traceparent", json_string(j->traceparent), &fail);
	if (fail) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Readers for from_json: absent and null give the zero value; a wrong type is VEX_EINVAL. */
static int rd_str(const json_t *o, const char *key, char **dst)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return VEX_EINVAL;
	*dst = strdup(json_string_value(v));
	return *dst ? 0 : VEX_ENOMEM;
}

static int rd_fixed(const json_t *o, const char *key, char *dst, size_t cap, int required)
{
	const json_t *v = json_object_get(o, key);
	size_t n;

	if (!v || json_is_null(v))
		return required ? VEX_EINVAL : 0;
	if (!json_is_string(v))
		return VEX_EINVAL;
	n = json_string_length(v);
	if (n >= cap || (required && n == 0))
		return VEX_EINVAL;
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

static int rd_i64(const json_t *o, const char *key, int64_t *dst)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return VEX_EINVAL;
	*dst = (int64_t)json_integer_value(v);
	return 0;
}

static int rd_int(const json_t *o, const char *key, int *dst)
{
	int64_t x = 0;
	int rc = rd_i64(o, key, &x);

	if (rc)
		return rc;
	if (x < -2147483647LL - 1 || x > 2147483647LL)
		return VEX_EINVAL;
	*dst = (int)x;
	return 0;
}

static int rd_real(const json_t *o, const char *key, double *dst)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return VEX_EINVAL;
	*dst = json_number_value(v);
	return 0;
}

/* Store an embedded JSON value back as compact text (null -> NULL). */
static int rd_embedded(const json_t *o, const char *key, char **dst)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	*dst = vex_json_dump(v);
	return *dst ? 0 : VEX_ENOMEM;
}

/* Everything but the identity fields; 0, VEX_EINVAL or VEX_ENOMEM. */
static int job_fields_from_json(const json_t *v, struct vex_job *j)
{
	const json_t *sub;
	int rc;

	if ((rc = rd_str(v, "tool", &j->tool)) || (rc = rd_embedded(v, "input", &j->input_json)) ||
	    (rc = rd_int(v, "attempts", &j->attempts)) || (rc = rd_int(v, "max_attempts", &j->max_attempts)) ||
	    (rc = rd_int(v, "priority", &j->priority)) || (rc = rd_i64(v, "timeout_ms", &j->timeout_ms)) ||
	    (rc = rd_i64(v, "created_at", &j->created_at)) || (rc = rd_i64(v, "started_at", &j->started_at)) ||
	    (rc = rd_i64(v, "completed_at", &j->completed_at)) ||
	    (rc = rd_i64(v, "updated_at", &j->updated_at)) || (rc = rd_embedded(v, "result", &j->result_json)) ||
	    (rc = rd_str(v, "final_model", &j->final_model)) || (rc = rd_int(v, "steps", &j->steps)) ||
	    (rc = rd_int(v, "browser_steps", &j->browser_steps)) ||
	    (rc = rd_real(v, "browser_seconds", &j->browser_seconds)) ||
	    (rc = rd_str(v, "traceparent", &j->traceparent)))
		return rc;
	sub = json_object_get(v, "progress");
	if (sub && !json_is_null(sub)) {
		if (!json_is_object(sub))
			return VEX_EINVAL;
		if ((rc = rd_str(sub, "current_step", &j->progress.current_step)) ||
		    (rc = rd_int(sub, "total_steps", &j->progress.total_steps)) ||
		    (rc = rd_real(sub, "percentage", &j->progress.percentage)) ||
		    (rc = rd_str(sub, "message", &j->progress.message)))
			return rc;
	}
	sub = json_object_get(v, "error");
	if (sub && !json_is_null(sub)) {
		if (!json_is_object(sub))
			return VEX_EINVAL;
		if ((rc = rd_str(sub, "code", &j->error_code)) || (rc = rd_str(sub, "message", &j->error_message)) ||
		    (rc = rd_embedded(sub, "details", &j->error_details_json)))
			return rc;
	}
	sub = json_object_get(v, "tokens");
	if (sub && !json_is_null(sub)) {
		if (!json_is_object(sub))
			return VEX_EINVAL;
		if ((rc = rd_i64(sub, "input", &j->tokens_in)) || (rc = rd_i64(sub, "output", &j->tokens_out)))
			return rc;
	}
	return 0;
}

int vex_job_from_json(const json_t *v, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	const json_t *x;
	enum vex_job_status st;
	enum vex_plan plan;
	int rc = VEX_EINVAL;

	if (!json_is_object(v))
		goto out;
	j = vex_job_new();
	if (!j) {
		rc = VEX_ENOMEM;
		goto out;
	}
	if (rd_fixed(v, "id", j->id, sizeof(j->id), 1) || rd_fixed(v, "owner", j->owner, sizeof(j->owner), 1) ||
	    rd_fixed(v, "agent_id", j->agent_id, sizeof(j->agent_id), 0) ||
	    rd_fixed(v, "retry_of", j->retry_of, sizeof(j->retry_of), 0) ||
	    rd_fixed(v, "retried_by", j->retried_by, sizeof(j->retried_by), 0))
		goto out;
	x = json_object_get(v, "plan");
	if (!json_is_string(x) || vex_plan_parse(json_string_value(x), &plan) != 0)
		goto out;
	j->plan = plan;
	x = json_object_get(v, "kind");
	if (!json_is_string(x))
		goto out;
	if (strcmp(json_string_value(x), "agent") == 0)
		j->kind = VEX_JOB_AGENT;
	else if (strcmp(json_string_value(x), "tool") == 0)
		j->kind = VEX_JOB_TOOL;
	else
		goto out;
	x = json_object_get(v, "status");
	if (!json_is_string(x) || vex_job_status_parse(json_string_value(x), &st) != 0)
		goto out;
	j->status = st;
	x = json_object_get(v, "rev");
	if (!json_is_integer(x))
		goto out;
	j->rev = json_integer_value(x);
	x = json_object_get(v, "cancel_requested");
	if (x && !json_is_boolean(x))
		goto out;
	j->cancel_requested = json_is_true(x);
	rc = job_fields_from_json(v, j);
	if (rc)
		goto out;
	*ret = j;
	j = NULL;
out:
	vex_job_free(j);
	return rc;
}
