/* dialect_events.c - the events presenter: /v1/agents and /v1/events (seed 002). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi-app/cursor.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/jobs/jobview.h"
#include "core/base/json.h"
#include "core/jobs/model.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/lookup.h"
#include "fcgi-app/page.h"

#define SCOPE_MAX 512
#define MODE_SCHEDULED "SCHEDULED"
#define EXECUTE_MESSAGE "Execution started. Poll events for status."

/* ---- mapping helpers ---- */

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Admins read any owner's single resource (DESIGN 6); listings always show the caller's own. */
static int event_status_mask(const char *name, unsigned *ret)
{
	if (strcmp(name, "PENDING") == 0)
		*ret = 1u << VEX_JOB_QUEUED;
	else if (strcmp(name, "RUNNING") == 0)
		*ret = 1u << VEX_JOB_RUNNING;
	else if (strcmp(name, "COMPLETED") == 0)
		*ret = 1u << VEX_JOB_COMPLETED;
	else if (strcmp(name, "FAILED") == 0)
		*ret = 1u << VEX_JOB_FAILED | 1u << VEX_JOB_TIMEOUT | 1u << VEX_JOB_CANCELED;
	else
		return VEX_EINVAL;
	return 0;
}

static json_t *agent_json(const struct vex_agent *a)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "baseUrl", str_json(a->base_url));
	json_object_set_new(o, "mode", json_string(MODE_SCHEDULED));
	json_object_set_new(o, "content", json_string(a->role));
	/* The document returns the schedule as a JSON string, not an object. */
	json_object_set_new(o, "schedule", str_json(a->schedule_json));
	json_object_set_new(o, "status", json_string(a->status == VEX_AGENT_PAUSED ? "PAUSED" : "ACTIVE"));
	json_object_set_new(o, "userId", json_string(a->owner));
	json_object_set_new(o, "createdAt", vex_jobview_time(a->created_at));
	json_object_set_new(o, "updatedAt", vex_jobview_time(a->updated_at));
	return o;
}

/* {"data": v} with "status". */
static void data_json(struct vex_ctx *c, int status, json_t *v)
{
	vex_http_json(c->resp, status, json_pack("{s:o}", "data", v ? v : json_null()));
}

static void bad_request(struct vex_ctx *c, const char *field, const char *message)
{
	vex_http_error(c->resp, c->req, 400, "VALIDATION_ERROR", message, field);
}

/* The core names fields as the vex dialect does; this dialect says "content" and "baseUrl". */
static void rename_field(struct vex_field_error *e, const char *from, const char *to)
{
	char msg[sizeof(e->message)];
	size_t n = strlen(from);

	if (strcmp(e->field, from) == 0)
		snprintf(e->field, sizeof(e->field), "%s", to);
	if (strncmp(e->message, from, n) == 0) {
		snprintf(msg, sizeof(msg), "%s%s", to, e->message + n);
		memcpy(e->message, msg, sizeof(msg));
	}
}

/* Every validation failure of this dialect is a 400 with the field named as the client spells it;
 * other codes (INVALID_JSON, IDEMPOTENCY_KEY_REUSED) keep their status. */
static void field_error(struct vex_ctx *c, const struct vex_field_error *err)
{
	struct vex_field_error e = *err;

	rename_field(&e, "role", "content");
	rename_field(&e, "base_url", "baseUrl");
	if (!e.code[0] || strcmp(e.code, "VALIDATION_ERROR") == 0) {
		e.status = 400;
		snprintf(e.code, sizeof(e.code), "VALIDATION_ERROR");
	}
	vex_ctx_field_error(c, &e);
}

/* ---- request helpers ---- */

/* The body as a JSON object; an empty body is {} when "empty_ok". On failure the error is answered. */
static int body_object(struct vex_ctx *c, int empty_ok, json_t **ret)
{
	struct vex_field_error e;

	/* Body errors are 400 already and name the client's own key: nothing to rename. */
	return vex_fields_refuse(c, vex_ctx_body_object(c, empty_ok, ret, &e), &e, vex_ctx_field_error);
}

/* limit=1..; above "max" is clamped to it; absent -> "def". On failure the error is answered. */
static int query_limit(struct vex_ctx *c, int def, int max, int *ret)
{
	struct vex_field_error e;
	long v = def;
	int rc = vex_fields_query_int(c, "limit", def, 1, max, 1, &v, &e);

	*ret = (int)v;
	return vex_fields_refuse(c, rc, &e, field_error);
}

/* nextToken: absent or "" -> *ret_id = "". Forged, foreign or stale tokens -> 400 INVALID_NEXT_TOKEN. */
static int query_token(struct vex_ctx *c, const char *scope, char ret_id[VEX_UUID_LEN + 1])
{
	char buf[VEX_CURSOR_MAX];
	int rc;

	ret_id[0] = '\0';
	rc = vex_http_query(c->req, "nextToken", buf, sizeof(buf));
	if (rc == VEX_ENOTFOUND || (rc == 0 && buf[0] == '\0'))
		return 0;
	if (rc == 0)
		rc = vex_cursor_open(c->env->cfg->jwt_secret, c->env->cfg->jwt_secret_len, scope, buf, ret_id);
	if (rc == 0 && vex_uuid_valid(ret_id))
		return 0;
	ret_id[0] = '\0';
	vex_http_error(c->resp, c->req, 400, "INVALID_NEXT_TOKEN", "nextToken is invalid or belongs to another query",
		       "nextToken");
	return VEX_EINVAL;
}

/* The page's nextToken: a sealed cursor after "last_id" when there is more, else null. */
static json_t *next_token(struct vex_ctx *c, const char *scope, const char *last_id)
{
	char tok[VEX_CURSOR_MAX];

	if (!last_id)
		return json_null();
	if (vex_cursor_seal(c->env->cfg->jwt_secret, c->env->cfg->jwt_secret_len, scope, last_id, tok, sizeof(tok)))
		return NULL;
	return json_string(tok);
}

/* startedAfter / startedBefore: ISO 8601; absent -> 0 (no bound). On failure the error is answered. */
static int query_time(struct vex_ctx *c, const char *key, int64_t *ret)
{
	char buf[64], msg[96];
	int64_t us;
	int rc;

	*ret = 0;
	rc = vex_http_query(c->req, key, buf, sizeof(buf));
	if (rc == VEX_ENOTFOUND || (rc == 0 && buf[0] == '\0'))
		return 0;
	if (rc == 0 && vex_parse_rfc3339(buf, &us) == 0) {
		/* 0 means "no bound" to the store: the epoch itself becomes -1, still excluding unstarted events. */
		*ret = us == 0 ? -1 : us;
		return 0;
	}
	snprintf(msg, sizeof(msg), "%s must be an ISO 8601 date-time", key);
	bad_request(c, key, msg);
	return VEX_EINVAL;
}

/* Idempotency-Key (core/base/limits.h) with the request "body" it came with; on failure the error is answered. */
static int idem_key(struct vex_ctx *c, json_t *body, struct vex_idem *ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_fields_idem_key(c, body, ret, &e), &e, field_error);
}

/* schedule: an object or a JSON string holding one; null clears it. Stored as compact JSON text. */
static int read_schedule(json_t *body, struct vex_agent *a, struct vex_field_error *e)
{
	json_t *v = json_object_get(body, "schedule"), *parsed = NULL;
	char *dump = NULL;
	int rc = 0;

	if (!v)
		return VEX_ENOTFOUND;
	if (json_is_null(v))
		return vex_fields_set_str(&a->schedule_json, NULL);
	if (json_is_string(v)) {
		parsed = json_loads(json_string_value(v), 0, NULL);
		if (!parsed) {
			rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "schedule",
						 "schedule must be an object or a JSON string holding one");
			goto out;
		}
		v = parsed;
	}
	if (!json_is_object(v)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "schedule",
					 "schedule must be an object or a JSON string holding one");
		goto out;
	}
	dump = vex_json_dump(v);
	if (!dump) {
		rc = VEX_ENOMEM;
		goto out;
	}
	free(a->schedule_json);
	a->schedule_json = dump;
out:
	json_decref(parsed);
	return rc;
}

/*
 * Read the fields present in "body" into "a" (type errors here, ranges in vex_agent_validate).
 * "create": name, mode and content are required.
 */
int vex_dialect_events_agent_body(json_t *body, int create, struct vex_agent *a, struct vex_field_error *e)
{
	const char *s;
	int rc;

	rc = vex_json_get_string(body, "mode", create, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0 && strcmp(s, MODE_SCHEDULED) != 0)
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "mode", "mode must be SCHEDULED");
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_string(body, "name", create, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0)
		rc = vex_fields_set_str(&a->name, s);
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_string(body, "content", create, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0)
		rc = vex_fields_set_str(&a->role, s);
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_fields_nullable_str(body, "baseUrl", &a->base_url, e);
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_fields_nullable_str(body, "model", &a->model, e);
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = read_schedule(body, a, e);
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_json_get_string(body, "status", 0, 0, SIZE_MAX, 1, &s, e);
	if (rc == 0) {
		if (strcmp(s, "ACTIVE") == 0 || strcmp(s, "PAUSED") == 0)
			a->status = strcmp(s, "ACTIVE") == 0 ? VEX_AGENT_ACTIVE : VEX_AGENT_PAUSED;
		else
			rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "status",
						 "status must be ACTIVE or PAUSED");
	}
	if (rc && rc != VEX_ENOTFOUND)
		goto out;
	rc = vex_agent_validate(a, e);
out:
	return rc;
}

/* The fields of "body" into "a" (create: a new agent), then stored and answered with the agent:
 * 201 when created, 200 when updated. */
static void agent_save(struct vex_ctx *c, json_t *body, struct vex_agent *a, int create)
{
	struct vex_field_error e;
	int rc = vex_dialect_events_agent_body(body, create, a, &e);

	if (rc == 0)
		rc = vex_fields_base_url(c, body, "baseUrl", a->base_url, &e);
	if (rc == VEX_EINVAL)
		field_error(c, &e);
	else if (rc)
		vex_ctx_fail(c, rc, "agent not found");
	else if (vex_lookup_agent_save(c, a, create) == 0)
		data_json(c, create ? 201 : 200, agent_json(a));
}

/* ---- agents ---- */

static void agents_create(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;
	json_t *body = NULL;

	if (body_object(c, 0, &body))
		goto out;
	a = vex_lookup_agent_new(c);
	if (a)
		agent_save(c, body, a, 1);
out:
	vex_agent_free(a);
	json_decref(body);
}

static void agents_list(struct vex_ctx *c)
{
	struct vex_agent_list l = { 0 };
	char scope[SCOPE_MAX], after[VEX_UUID_LEN + 1];
	json_t *arr, *tok;
	const char *next;
	int limit, rc;

	snprintf(scope, sizeof(scope), "agents|%s", c->who.sub);
	if (query_limit(c, VEX_EVENTS_AGENTS_LIMIT_DEFAULT, VEX_EVENTS_AGENTS_LIMIT_MAX, &limit) || query_token(c, scope, after))
		goto out;
	/* One extra row says whether there is a next page. */
	rc = vex_store_agents_list(c->env->store, c->who.sub, after[0] ? after : NULL, limit + 1, &l);
	if (rc) {
		vex_ctx_fail(c, rc, "agent not found");
		goto out;
	}
	arr = vex_page_agents(&l, limit, agent_json, &next);
	tok = next_token(c, scope, next);
	vex_http_json(c->resp, 200, json_pack("{s:o, s:o*}", "data", arr, "nextToken", tok));
out:
	vex_agent_list_release(&l);
}

static void agents_get(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;

	if (vex_lookup_agent(c, &a))
		return;
	data_json(c, 200, agent_json(a));
	vex_agent_free(a);
}

static void agents_patch(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;
	json_t *body = NULL;

	if (vex_lookup_agent(c, &a) || body_object(c, 0, &body))
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

/* pause / resume: idempotent; only scheduled runs stop, a manual execute still runs. */
static void set_status(struct vex_ctx *c, enum vex_agent_status st)
{
	struct vex_agent *a = NULL;

	if (vex_fields_no_body(c, vex_ctx_field_error) || vex_lookup_agent(c, &a))
		return;
	if (a->status == st)
		data_json(c, 200, agent_json(a));
	else {
		a->status = st;
		if (vex_lookup_agent_save(c, a, 0) == 0)
			data_json(c, 200, agent_json(a));
	}
	vex_agent_free(a);
}

static void agents_pause(struct vex_ctx *c)
{
	set_status(c, VEX_AGENT_PAUSED);
}

static void agents_resume(struct vex_ctx *c)
{
	set_status(c, VEX_AGENT_ACTIVE);
}

/*
 * A manual run: the same agent job a scheduled run queues. The prompt is the body's "prompt"
 * when given, else the agent's content (its standing instruction).
 */
static void agents_execute(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_agent *a = NULL;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	const char *prompt = NULL;
	char loc[64], trace[VEX_TRACEPARENT_LEN + 1];
	json_t *body = NULL;
	int created = 0, rc;

	if (vex_lookup_agent(c, &a) || body_object(c, 1, &body) || idem_key(c, body, &idem))
		goto out;
	rc = json_is_null(json_object_get(body, "prompt"))
		     ? VEX_ENOTFOUND
		     : vex_json_get_string(body, "prompt", 0, 0, SIZE_MAX, 1, &prompt, &e);
	if (rc == VEX_ENOTFOUND) {
		prompt = a->role;
		rc = 0;
	}
	if (rc == 0)
		rc = vex_jobsvc_submit_agent(c->env, &c->who, a->id, prompt, NULL, &idem,
					     vex_fields_traceparent(c, trace), &j, &created, &e);
	if (rc == VEX_EINVAL) {
		field_error(c, &e);
		goto out;
	}
	if (rc == VEX_ELIMIT) { /* the cap's own code and status, in this dialect's error shape */
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc) {
		vex_ctx_fail(c, rc, "agent not found");
		goto out;
	}
	snprintf(loc, sizeof(loc), "/v1/events/%s", j->id);
	vex_http_header(c->resp, "Location", loc);
	if (!created)
		vex_http_header(c->resp, "Idempotent-Replayed", "true");
	data_json(c, 202,
		  json_pack("{s:s, s:s, s:s}", "message", EXECUTE_MESSAGE, "requestId", j->id, "agentId", a->id));
out:
	vex_job_free(j);
	vex_agent_free(a);
	json_decref(body);
}

/* ---- events ---- */

/* The shared listing of GET /v1/agents/{id}/events and GET /v1/events; "agent_id" NULL: all agents. */
static void events_page(struct vex_ctx *c, const char *agent_id)
{
	struct vex_job_filter f;
	struct vex_job_list l = { 0 };
	char scope[SCOPE_MAX], after[VEX_UUID_LEN + 1], st[16];
	json_t *arr, *tok;
	const char *next;
	int limit, rc;

	vex_job_filter_init(&f);
	f.owner = c->who.sub;
	f.kind = VEX_JOB_AGENT;
	f.agent_id = agent_id;
	st[0] = '\0';
	rc = vex_http_query(c->req, "status", st, sizeof(st));
	if (rc == 0 && st[0] != '\0' && event_status_mask(st, &f.status_mask) != 0)
		rc = VEX_EINVAL;
	if (rc && rc != VEX_ENOTFOUND) {
		bad_request(c, "status", "status must be one of PENDING, RUNNING, COMPLETED, FAILED");
		goto out;
	}
	if (query_time(c, "startedAfter", &f.started_after) || query_time(c, "startedBefore", &f.started_before) ||
	    query_limit(c, VEX_EVENTS_LIMIT_DEFAULT, VEX_EVENTS_LIMIT_MAX, &limit))
		goto out;
	/* The token is bound to the owner and every filter: reusing it with others is refused. */
	snprintf(scope, sizeof(scope), "events|%s|%s|%s|%lld|%lld", c->who.sub, agent_id ? agent_id : "", st,
		 (long long)f.started_after, (long long)f.started_before);
	if (query_token(c, scope, after))
		goto out;
	f.before_id = after[0] ? after : NULL;
	f.limit = limit + 1; /* one extra row says whether there is a next page */
	rc = vex_store_jobs_list(c->env->store, &f, &l);
	if (rc) {
		vex_ctx_fail(c, rc, "agent not found");
		goto out;
	}
	arr = vex_page_jobs(&l, limit, vex_jobview_events, &next);
	tok = next_token(c, scope, next);
	vex_http_json(c->resp, 200, json_pack("{s:o, s:o*}", "data", arr, "nextToken", tok));
out:
	vex_job_list_release(&l);
}

static void agent_events(struct vex_ctx *c)
{
	struct vex_agent *a = NULL;

	/* Only the caller's own live agent: another owner's or a deleted one is 404. */
	if (!vex_uuid_valid(c->params[0]) ||
	    vex_store_agent_get(c->env->store, c->params[0], c->who.sub, 0, &a) != 0) {
		vex_ctx_fail(c, VEX_ENOTFOUND, "agent not found");
		return;
	}
	events_page(c, a->id);
	vex_agent_free(a);
}

static void events_list(struct vex_ctx *c)
{
	char agent[64];
	int rc;

	rc = vex_http_query(c->req, "agentId", agent, sizeof(agent));
	if (rc == VEX_ENOTFOUND || (rc == 0 && agent[0] == '\0')) {
		events_page(c, NULL);
		return;
	}
	if (rc || !vex_uuid_valid(agent)) {
		bad_request(c, "agentId", "agentId must be an agent id");
		return;
	}
	events_page(c, agent);
}

static void event_not_found(struct vex_ctx *c)
{
	vex_ctx_fail(c, VEX_ENOTFOUND, "event not found");
}

static int render_event(struct vex_ctx *c, struct vex_job **j, json_t **ret, int *ret_keep)
{
	json_t *e;

	(void)c;
	if ((*j)->kind != VEX_JOB_AGENT)
		return VEX_ENOTFOUND; /* tool jobs are not events */
	e = vex_jobview_events(*j);
	*ret = e ? json_pack("{s:o}", "data", e) : NULL;
	*ret_keep = 1;
	return *ret ? 0 : VEX_ENOMEM;
}

static void events_get(struct vex_ctx *c)
{
	vex_lookup_job_view(c, event_not_found, 'e', render_event);
}

/* The fields of each write body (docs/api-events.md); anything else is refused. */
static const char *const agent_body[] = { "name", "baseUrl", "mode", "content", "schedule", "status", "model", NULL };
static const char *const execute_body[] = { "prompt", NULL };

static const struct vex_route routes[] = {
	{ "POST", "/v1/agents", agents_create, VEX_ROUTE_LIMITED, agent_body },
	{ "GET", "/v1/agents", agents_list, 0, NULL },
	{ "GET", "/v1/agents/{id}", agents_get, 0, NULL },
	{ "PATCH", "/v1/agents/{id}", agents_patch, 0, agent_body },
	{ "DELETE", "/v1/agents/{id}", agents_delete, 0, NULL },
	{ "POST", "/v1/agents/{id}/pause", agents_pause, 0, NULL },
	{ "POST", "/v1/agents/{id}/resume", agents_resume, 0, NULL },
	{ "POST", "/v1/agents/{id}/execute", agents_execute, VEX_ROUTE_LIMITED, execute_body },
	{ "GET", "/v1/agents/{id}/events", agent_events, 0, NULL },
	{ "GET", "/v1/events", events_list, 0, NULL },
	{ "GET", "/v1/events/{id}", events_get, 0, NULL },
};

const struct vex_route_table vex_dialect_events_routes = VEX_ROUTE_TABLE(routes);
