/* dialect_vex.c - the vex dialect (/api/v1): maps fields, status names and times onto the core. */
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
#include "core/tools/tools.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/jobfilter.h"
#include "fcgi-app/lookup.h"
#include "fcgi-app/page.h"

/* ---- mapping helpers ---- */

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* An agent as every agent endpoint answers it; "tools" is null (every tool the owner may run) or the
 * list as stored. NULL on ENOMEM. */
static json_t *agent_json(const struct vex_agent *a)
{
	const char *st = a->status == VEX_AGENT_PAUSED ? "paused" : a->status == VEX_AGENT_DELETED ? "deleted"
												     : "active";
	json_t *tools = a->tools_json ? json_loads(a->tools_json, 0, NULL) : json_null();

	return json_pack("{s:s, s:s, s:s, s:i, s:b, s:o, s:o, s:o, s:i, s:f, s:s, s:o, s:o}", "id", a->id, "name",
			 a->name, "role", a->role, "max_depth", a->max_depth, "spawn_shadow", a->spawn_shadow, "model",
			 str_json(a->model), "tools", tools ? tools : json_null(), "base_url", str_json(a->base_url),
			 "generation", a->generation, "fitness", a->fitness, "status", st, "created_at",
			 vex_jobview_time(a->created_at), "updated_at", vex_jobview_time(a->updated_at));
}

/* ---- request helpers ---- */

/* The body as a JSON object; on failure the error is answered and VEX_EINVAL returned. */
static int body_object(struct vex_ctx *c, json_t **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_ctx_body_object(c, 0, ret, &e), &e, vex_ctx_field_error);
}

/* limit, cursor (the last id of the previous page) and, for admins, owner; on failure the error is answered. */
static int query_page(struct vex_ctx *c, int *ret_limit, char cursor[VEX_UUID_LEN + 1], char *owner_buf,
		      size_t owner_len, const char **ret_owner)
{
	static const char *const cursor_names[] = { "cursor", NULL };
	struct vex_field_error e;
	long limit;
	int rc;

	rc = vex_fields_query_int(c, "limit", VEX_LIST_LIMIT_DEFAULT, 1, VEX_LIST_LIMIT_MAX, 0, &limit, &e);
	if (rc == 0)
		rc = vex_fields_cursor(c, cursor_names, NULL, cursor, VEX_UUID_LEN + 1, &e);
	if (rc == 0)
		rc = vex_fields_owner(c, owner_buf, owner_len, ret_owner, &e);
	if (rc == 0)
		*ret_limit = (int)limit;
	return vex_fields_refuse(c, rc, &e, vex_ctx_field_error);
}

/* Idempotency-Key (core/base/limits.h) with the request "body" it came with; on failure the error is answered. */
static int idem_key(struct vex_ctx *c, json_t *body, struct vex_idem *ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_fields_idem_key(c, body, ret, &e), &e, vex_ctx_field_error);
}

/* max_depth as an int; far out-of-range values are clamped so validation still names them. */
static int clamp_depth(long long v)
{
	if (v > 1000)
		return 1000;
	if (v < -1000)
		return -1000;
	return (int)v;
}

/*
 * Read the agent fields present in "body" into "a". Type errors here (400); ranges are
 * the core's vex_agent_validate (422 for max_depth). "create" makes name and role required.
 */
int vex_dialect_vex_agent_body(json_t *body, int create, struct vex_agent *a, struct vex_field_error *e)
{
	const char *s;
	long long depth;
	int b, rc;

	rc = vex_json_get_string(body, "name", create, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0)
		rc = vex_fields_set_str(&a->name, s);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_string(body, "role", create, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0)
		rc = vex_fields_set_str(&a->role, s);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_int(body, "max_depth", 0, &depth, e);
	if (rc == 0)
		a->max_depth = clamp_depth(depth);
	else if (rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_bool(body, "spawn_shadow", 0, &b, e);
	if (rc == 0)
		a->spawn_shadow = b;
	else if (rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_fields_nullable_str(body, "model", &a->model, e);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_fields_tool_names(body, "tools", &a->tools_json, e);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_fields_nullable_str(body, "base_url", &a->base_url, e);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_agent_validate(a, e);
out:
	return rc;
}

/* ---- agents ---- */

/* The fields of "body" into "a", then stored (created or updated) and answered 200 with the agent. */
static void agent_save(struct vex_ctx *c, json_t *body, struct vex_agent *a, int create)
{
	struct vex_field_error e;
	int rc = vex_dialect_vex_agent_body(body, create, a, &e);

	if (rc == 0)
		rc = vex_fields_base_url(c, body, "base_url", a->base_url, &e);
	if (rc == VEX_EINVAL)
		vex_ctx_field_error(c, &e);
	else if (rc != 0)
		vex_ctx_fail(c, rc, "agent not found");
	else if (vex_lookup_agent_save(c, a, create) == 0)
		vex_http_json(c->resp, 200, agent_json(a));
}

static void agents_create(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;
	json_t *body = NULL;

	if (body_object(c, &body) != 0)
		goto out;
	a = vex_lookup_agent_new(c);
	if (a != NULL)
		agent_save(c, body, a, 1);
out:
	vex_agent_free(a);
	json_decref(body);
}

static void agents_list(struct vex_ctx *c)
{
	struct vex_agent_list l = { 0 };
	char cursor[VEX_UUID_LEN + 1], owner_buf[VEX_SUB_MAX + 2];
	const char *owner;
	const char *next;
	json_t *arr;
	int limit, rc;

	if (query_page(c, &limit, cursor, owner_buf, sizeof(owner_buf), &owner) != 0)
		goto out;
	/* One extra row says whether there is a next page. */
	rc = vex_store_agents_list(c->env->store, owner, cursor[0] != '\0' ? cursor : NULL, limit + 1, &l);
	if (rc != 0) {
		vex_ctx_fail(c, rc, "agent not found");
		goto out;
	}
	arr = vex_page_agents(&l, limit, agent_json, &next);
	vex_http_json(c->resp, 200, json_pack("{s:o, s:s?}", "agents", arr, "next_cursor", next));
out:
	vex_agent_list_release(&l);
}

static void agents_get(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;

	if (vex_lookup_agent(c, &a) != 0)
		return;
	vex_http_json(c->resp, 200, agent_json(a));
	vex_agent_free(a);
}

static void agents_patch(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;
	json_t *body = NULL;

	if (vex_lookup_agent(c, &a) != 0 || body_object(c, &body) != 0)
		goto out;
	agent_save(c, body, a, 0);
out:
	vex_agent_free(a);
	json_decref(body);
}

static void agents_delete(struct vex_ctx *c)
{
	vex_lookup_agent_delete(c);
}

/* ---- submissions ---- */

static void set_location(struct vex_ctx *c, const struct vex_job *j, int created)
{
	char loc[64];

	snprintf(loc, sizeof(loc), "/api/v1/jobs/%s", j->id);
	vex_http_header(c->resp, "Location", loc);
	if (!created)
		vex_http_header(c->resp, "Idempotent-Replayed", "true");
}

static void agents_execute(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	const char *prompt, *ctx_id = NULL;
	char msg[64], trace[VEX_TRACEPARENT_LEN + 1];
	json_t *body = NULL, *v;
	int created = 0, rc;

	if (!vex_uuid_valid(c->params[0])) {
		vex_ctx_fail(c, VEX_ENOTFOUND, "agent not found");
		goto out;
	}
	if (body_object(c, &body) != 0 || idem_key(c, body, &idem) != 0)
		goto out;
	rc = vex_json_get_string(body, "prompt", 1, 0, SIZE_MAX, 1, &prompt, &e);
	if (rc == 0) {
		v = json_object_get(body, "context_id");
		if (v != NULL && !json_is_null(v)) {
			rc = vex_json_get_string(body, "context_id", 0, 0, SIZE_MAX, 1, &ctx_id, &e);
			if (rc == VEX_ENOTFOUND)
				rc = 0;
		}
	}
	if (rc == 0)
		rc = vex_jobsvc_submit_agent(c->env, &c->who, c->params[0], prompt, ctx_id, &idem,
					     vex_fields_traceparent(c, trace), &j, &created, &e);
	if (rc == VEX_EINVAL || rc == VEX_ELIMIT) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "agent not found");
		goto out;
	}
	snprintf(msg, sizeof(msg), "Job queued: %s", j->id);
	set_location(c, j, created);
	vex_http_json(c->resp, 200,
		      json_pack("{s:s, s:s, s:b, s:f, s:s, s:I, s:s, s:s}", "agent_id", c->params[0], "response", msg,
				"verified", 0, "confidence", 1.0, "context_hash", "pending", "latency_ms",
				(json_int_t)((vex_mono_us() - c->req->start_mono_us) / 1000), "job_id", j->id, "status",
				vex_jobview_vex_status(j->status)));
out:
	vex_job_free(j);
	json_decref(body);
}

static void tools_execute(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	const char *tool = c->params[0];
	long long timeout = c->env->cfg->default_timeout_ms;
	char msg[64], trace[VEX_TRACEPARENT_LEN + 1];
	json_t *answer;
	struct vex_tool_match t;
	json_t *body = NULL, *args = NULL;
	int created = 0, rc;

	/* An unknown or ambiguous name is answered before the body is looked at. */
	memset(&t, 0, sizeof(t));
	rc = vex_tool_resolve(c->env->store, &c->who, tool, &t, &e);
	vex_tool_match_release(&t);
	if (rc == VEX_EINVAL) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "tool not found");
		goto out;
	}
	if (body_object(c, &body) != 0 || idem_key(c, body, &idem) != 0)
		goto out;
	args = json_object_get(body, "arguments");
	if (args == NULL) {
		args = json_object();
	} else if (json_is_object(args)) {
		json_incref(args);
	} else {
		vex_http_error(c->resp, c->req, 400, "VALIDATION_ERROR", "arguments must be an object", "arguments");
		args = NULL;
		goto out;
	}
	rc = vex_json_get_int(body, "timeout_ms", 0, &timeout, &e);
	if (rc == VEX_EINVAL) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc == 0 && vex_jobsvc_timeout_check(timeout, &e) != 0) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	rc = vex_jobsvc_submit_tool(c->env, &c->who, tool, args, timeout, &idem, vex_fields_traceparent(c, trace), &j,
				    &created, &e);
	if (rc == VEX_EINVAL || rc == VEX_ELIMIT) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "tool not found");
		goto out;
	}
	snprintf(msg, sizeof(msg), "Job queued: %s", j->id);
	set_location(c, j, created);
	answer = json_pack("{s:s, s:s, s:s, s:s}", "job_id", j->id, "tool", j->tool, "status",
			   vex_jobview_vex_status(j->status), "response", msg);
	if (answer && j->traceparent)
		json_object_set_new(answer, "traceparent", json_string(j->traceparent));
	vex_http_json(c->resp, 200, answer);
out:
	vex_job_free(j);
	json_decref(args);
	json_decref(body);
}

/* ---- jobs ---- */

static int render_job(struct vex_ctx *c, struct vex_job **j, json_t **ret, int *ret_keep)
{
	(void)c;
	*ret = vex_jobview_vex(*j);
	*ret_keep = 1;
	return *ret ? 0 : VEX_ENOMEM;
}

static void jobs_get(struct vex_ctx *c)
{
	vex_lookup_job_view(c, NULL, 'v', render_job);
}

static void jobs_list(struct vex_ctx *c)
{
	struct vex_job_filter f;
	struct vex_job_list l = { 0 };
	struct vex_jobfilter_bufs fb;
	struct vex_field_error e;
	char cursor[VEX_UUID_LEN + 1], owner_buf[VEX_SUB_MAX + 2];
	const char *next;
	json_t *arr;
	int limit, rc;

	vex_job_filter_init(&f);
	if (query_page(c, &limit, cursor, owner_buf, sizeof(owner_buf), &f.owner) != 0)
		goto out;
	rc = vex_jobfilter_query(c, VEX_JOBFILTER_VEX, &f, &fb, &e);
	if (rc != 0) {
		vex_fields_refuse(c, rc, &e, vex_ctx_field_error);
		goto out;
	}
	f.before_id = cursor[0] != '\0' ? cursor : NULL;
	f.limit = limit + 1; /* one extra row says whether there is a next page */
	rc = vex_store_jobs_list(c->env->store, &f, &l);
	if (rc != 0) {
		vex_ctx_fail(c, rc, "job not found");
		goto out;
	}
	arr = vex_page_jobs(&l, limit, vex_jobview_vex, &next);
	vex_http_json(c->resp, 200, json_pack("{s:o, s:s?}", "jobs", arr, "next_cursor", next));
out:
	vex_job_list_release(&l);
}

static void jobs_cancel(struct vex_ctx *c)
{
	struct vex_job *j = NULL;
	char msg[64];
	int rc;

	if (vex_fields_no_body(c, vex_ctx_field_error) != 0)
		return;
	if (!vex_uuid_valid(c->params[0])) {
		vex_ctx_fail(c, VEX_ENOTFOUND, "job not found");
		return;
	}
	rc = vex_jobsvc_cancel(c->env, &c->who, c->params[0], 1, &j);
	if (rc == VEX_ESTATE && j != NULL) {
		snprintf(msg, sizeof(msg), "job is already %s", vex_jobview_vex_status(j->status));
		vex_http_error(c->resp, c->req, 409, "JOB_NOT_CANCELABLE", msg, NULL);
	} else if (rc != 0) {
		vex_ctx_fail(c, rc, "job not found");
	} else {
		/* A running job is only asked to stop: 202 until the runner records "canceled". */
		vex_http_json(c->resp, j->status == VEX_JOB_CANCELED ? 200 : 202, vex_jobview_vex(j));
	}
	vex_job_free(j);
}

/* A stream_token for the job's event stream (docs/api-streams.md): for EventSource, which sends no
 * headers. The body, if any, must be {}. */
static void jobs_stream_token(struct vex_ctx *c)
{
	if (vex_fields_no_body(c, vex_ctx_field_error) == 0)
		vex_lookup_job_stream_token(c, NULL, "/api/v1", 0);
}

/* ---- tools ---- */

/* 1 when claiming of "name" is paused, by itself or with everything (docs/api-vex.md, "Pausing claiming"). */
static int tool_paused(const struct vex_claim_pause_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].tool[0] == '\0' || strcmp(l->items[i].tool, name) == 0)
			return 1;
	return 0;
}

/* {"name","source","server","description","inputSchema","input_schema","paused"?}: "input_schema" is the
 * name this dialect used first, kept beside the ecosystem's "inputSchema"; "paused" only when true. */
static json_t *tool_json(const struct vex_tool_info *t, const struct vex_claim_pause_list *pauses)
{
	json_t *schema = vex_tool_schema(t), *v;

	if (schema == NULL)
		return NULL;
	v = json_pack("{s:s, s:s, s:s?, s:s, s:O, s:o}", "name", t->name, "source", t->source, "server", t->server,
		      "description", t->description != NULL ? t->description : "", "inputSchema", schema,
		      "input_schema", schema);
	if (v && tool_paused(pauses, t->name))
		json_object_set_new(v, "paused", json_true());
	return v;
}

/* Builtins first, then the catalog the runner published, by name (a point read per request). */
static void tools_list(struct vex_ctx *c)
{
	struct vex_claim_pause_list pauses = { NULL, 0 };
	struct vex_tool_list l;
	json_t *arr;
	size_t i;
	int rc;

	rc = vex_store_claim_pauses(c->env->store, &pauses);
	if (rc == 0)
		rc = vex_tools_list(c->env->store, &c->who, &l);
	if (rc != 0) {
		vex_claim_pause_list_release(&pauses);
		vex_ctx_fail(c, rc, NULL);
		return;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < l.n; i++)
		if (json_array_append_new(arr, tool_json(&l.items[i], &pauses)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	vex_tool_list_release(&l);
	vex_claim_pause_list_release(&pauses);
	if (arr == NULL) {
		vex_ctx_fail(c, VEX_ENOMEM, NULL);
		return;
	}
	vex_http_json(c->resp, 200, json_pack("{s:o, s:I}", "tools", arr, "total", (json_int_t)json_array_size(arr)));
}

/* One tool by its full name or an unambiguous short name. */
static void tools_get(struct vex_ctx *c)
{
	struct vex_claim_pause_list pauses = { NULL, 0 };
	struct vex_field_error e;
	struct vex_tool_match t;
	json_t *v;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = vex_tool_resolve(c->env->store, &c->who, c->params[0], &t, &e);
	if (rc == 0)
		rc = vex_store_claim_pauses(c->env->store, &pauses);
	if (rc == VEX_EINVAL) {
		vex_ctx_field_error(c, &e);
	} else if (rc != 0) {
		vex_ctx_fail(c, rc, "tool not found");
	} else {
		v = tool_json(&t.info, &pauses);
		if (v != NULL)
			vex_http_json(c->resp, 200, v);
		else
			vex_ctx_fail(c, VEX_ENOMEM, NULL);
	}
	vex_claim_pause_list_release(&pauses);
	vex_tool_match_release(&t);
}

/* The fields of each write body (docs/api-vex.md); anything else is refused. */
static const char *const agent_body[] = { "name", "role", "max_depth", "spawn_shadow", "model", "tools", "base_url",
					  NULL };
static const char *const execute_body[] = { "prompt", "context_id", NULL };
static const char *const tool_execute_body[] = { "arguments", "timeout_ms", NULL };

static const struct vex_route routes[] = {
	{ "POST", "/api/v1/agents", agents_create, VEX_ROUTE_LIMITED, agent_body },
	{ "GET", "/api/v1/agents", agents_list, 0, NULL },
	{ "GET", "/api/v1/agents/{id}", agents_get, 0, NULL },
	{ "PATCH", "/api/v1/agents/{id}", agents_patch, 0, agent_body },
	{ "DELETE", "/api/v1/agents/{id}", agents_delete, 0, NULL },
	{ "POST", "/api/v1/agents/{id}/execute", agents_execute, VEX_ROUTE_LIMITED, execute_body },
	{ "GET", "/api/v1/jobs", jobs_list, 0, NULL },
	{ "GET", "/api/v1/jobs/{id}", jobs_get, 0, NULL },
	{ "POST", "/api/v1/jobs/{id}/cancel", jobs_cancel, 0, NULL },
	{ "POST", "/api/v1/jobs/{id}/stream_token", jobs_stream_token, 0, NULL },
	{ "GET", "/api/v1/tools", tools_list, 0, NULL },
	{ "GET", "/api/v1/tools/{name}", tools_get, 0, NULL },
	{ "POST", "/api/v1/tools/{name}/execute", tools_execute, VEX_ROUTE_LIMITED, tool_execute_body },
};

const struct vex_route_table vex_dialect_vex_routes = VEX_ROUTE_TABLE(routes);
