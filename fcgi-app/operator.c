/* operator.c - the vex dialect's operator actions (docs/api-vex.md): retry a job, cancel by filter, pause and
 * resume claiming. The service is fcgi-app/opsvc.c; corex's retry is in dialect_corex.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/timeutil.h"
#include "core/jobs/jobview.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/opsvc.h"
#include "fcgi-app/routes.h"

#define FILTER_TEXT_MAX 256 /* bytes of a tool name or an owner in a cancel filter */

static int require_admin(struct vex_ctx *c)
{
	if (c->who.role == VEX_ROLE_ADMIN)
		return 0;
	vex_http_error(c->resp, c->req, 403, "FORBIDDEN", "admin role required", NULL);
	return VEX_EFORBIDDEN;
}

/* {"error":{"code","message","details","request_id"}}: a refusal with facts a client acts on. */
static void error_with_details(struct vex_ctx *c, int status, const char *code, const char *message, json_t *details)
{
	json_t *e = json_pack("{s:s, s:s, s:o, s:s}", "code", code, "message", message, "details", details, "request_id",
			      c->req->request_id);

	vex_http_json(c->resp, status, json_pack("{s:o}", "error", e));
}

/* ---- POST /api/v1/jobs/{id}/retry ---- */

static void jobs_retry(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	struct vex_idem idem;
	char loc[64], by[VEX_UUID_LEN + 1] = "";
	json_t *body = NULL;
	int rc, created = 0;

	memset(&e, 0, sizeof(e));
	rc = vex_ctx_body_object(c, 1, &body, &e);
	if (rc == 0)
		rc = vex_fields_idem_key(c, body, &idem, &e);
	if (rc) {
		vex_fields_refuse(c, rc, &e, vex_ctx_field_error);
		goto out;
	}
	rc = vex_uuid_valid(c->params[0]) ? vex_opsvc_retry(c->env, &c->who, c->params[0], &idem, &j, &created, &e, by)
					  : VEX_ENOTFOUND;
	if (rc == VEX_ECONFLICT) {
		error_with_details(c, 409, e.code, e.message, json_pack("{s:s}", "retried_by", by));
	} else if (rc == VEX_ESTATE || rc == VEX_EINVAL || rc == VEX_ELIMIT) {
		vex_ctx_field_error(c, &e);
	} else if (rc) {
		vex_ctx_fail(c, rc, "job not found");
	} else {
		snprintf(loc, sizeof(loc), "/api/v1/jobs/%s", j->id);
		vex_http_header(c->resp, "Location", loc);
		if (!created)
			vex_http_header(c->resp, "Idempotent-Replayed", "true");
		vex_http_json(c->resp, created ? 201 : 200, vex_jobview_vex(j));
	}
out:
	vex_job_free(j);
	json_decref(body);
}

/* ---- POST /api/v1/jobs/cancel ---- */

/* "status": "pending", "running", or a non-empty list of them, into *queued / *running. */
static int cancel_statuses(json_t *v, int *queued, int *running, struct vex_field_error *e)
{
	json_t *one;
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;

	if (json_is_array(v) && n == 0)
		goto bad;
	for (i = 0; i < n; i++) {
		one = json_is_array(v) ? json_array_get(v, i) : v;
		if (json_is_string(one) && strcmp(json_string_value(one), "pending") == 0)
			*queued = 1;
		else if (json_is_string(one) && strcmp(json_string_value(one), "running") == 0)
			*running = 1;
		else
			goto bad;
	}
	return 0;
bad:
	return vex_field_error_set(e, 400, "VALIDATION_ERROR", "status",
				   "status must be \"pending\", \"running\", or a non-empty list of them");
}

/* An optional string of the body (1..FILTER_TEXT_MAX bytes, no control characters): 0 with *ret (or NULL when
 * absent). A null is refused, never taken for "any": it would widen the filter. */
static int filter_text(json_t *body, const char *key, const char **ret, struct vex_field_error *e)
{
	int rc;

	if (json_is_null(json_object_get(body, key)))
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be a string", key);
	rc = vex_json_get_string(body, key, 0, 1, FILTER_TEXT_MAX, 0, ret, e);

	if (rc == VEX_ENOTFOUND) {
		*ret = NULL;
		return 0;
	}
	if (rc == 0 && strlen(*ret) > FILTER_TEXT_MAX)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be at most %d bytes", key,
					   FILTER_TEXT_MAX);
	return rc;
}

/* An optional RFC 3339 time of the body: 0 with *ret (0 when absent). */
static int filter_time(json_t *body, const char *key, int64_t *ret, struct vex_field_error *e)
{
	json_t *v = json_object_get(body, key);

	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_string(v) || vex_parse_rfc3339(json_string_value(v), ret) != 0 || *ret <= 0)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be an RFC 3339 date-time", key);
	return 0;
}

/* The fields of POST /api/v1/jobs/cancel's body (docs/api-vex.md); anything else is refused. */
static const char *const cancel_body[] = { "status", "tool", "agent_id", "owner", "created_after", "created_before",
					   NULL };

/* The body of POST /api/v1/jobs/cancel into "f", *queued, *running. 0 or VEX_EINVAL with "e". */
int vex_operator_cancel_body(json_t *body, struct vex_cancel_filter *f, int *queued, int *running,
			     struct vex_field_error *e)
{
	json_t *status = json_object_get(body, "status");
	size_t i, named = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	*queued = *running = 0;
	/* Counted here, not by the body's size: whatever else the body holds never widens the filter. */
	for (i = 0; cancel_body[i]; i++)
		named += json_object_get(body, cancel_body[i]) != NULL;
	if (named == 0)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "",
					   "name at least one of status, tool, agent_id, owner, created_after,"
					   " created_before: an empty filter would cancel every job");
	rc = status ? cancel_statuses(status, queued, running, e) : 0;
	if (!status)
		*queued = *running = 1;
	if (rc == 0)
		rc = filter_text(body, "tool", &f->tool, e);
	if (rc == 0)
		rc = filter_text(body, "owner", &f->owner, e);
	if (rc == 0)
		rc = filter_text(body, "agent_id", &f->agent_id, e);
	if (rc == 0 && f->agent_id && !vex_uuid_valid(f->agent_id))
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "agent_id", "agent_id must be a UUID");
	if (rc == 0)
		rc = filter_time(body, "created_after", &f->created_after, e);
	if (rc == 0)
		rc = filter_time(body, "created_before", &f->created_before, e);
	return rc;
}

static void jobs_cancel_where(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_cancel_filter f;
	int64_t canceled = 0, requested = 0;
	json_t *body = NULL;
	int rc, queued, running;

	if (require_admin(c) != 0)
		return;
	rc = vex_ctx_body_object(c, 0, &body, &e);
	if (rc == 0)
		rc = vex_operator_cancel_body(body, &f, &queued, &running, &e);
	if (rc) {
		vex_fields_refuse(c, rc, &e, vex_ctx_field_error);
		goto out;
	}
	f.cutoff_us = c->req->now_us;
	rc = vex_opsvc_cancel_where(c->env, &f, queued, running, &canceled, &requested);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	vex_http_json(c->resp, 200,
		      json_pack("{s:I, s:I}", "canceled", (json_int_t)canceled, "cancel_requested", (json_int_t)requested));
out:
	json_decref(body);
}

/* ---- pauses ---- */

/* {"all":bool,"tools":[{"name","paused_at","by"}]} */
static void pauses_answer(struct vex_ctx *c)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	json_t *tools = json_array();
	int rc, all = 0;

	rc = tools ? vex_store_claim_pauses(c->env->store, &l) : VEX_ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (l.items[i].tool[0] == '\0')
			all = 1;
		else if (json_array_append_new(tools, json_pack("{s:s, s:o, s:s}", "name", l.items[i].tool, "paused_at",
								vex_jobview_time(l.items[i].paused_at), "by",
								l.items[i].paused_by ? l.items[i].paused_by : "")) != 0)
			rc = VEX_ENOMEM;
	}
	vex_claim_pause_list_release(&l);
	if (rc) {
		json_decref(tools);
		vex_ctx_fail(c, rc, NULL);
		return;
	}
	vex_http_json(c->resp, 200, json_pack("{s:b, s:o}", "all", all, "tools", tools));
}

static void pause_or_resume(struct vex_ctx *c, const char *tool, int pause)
{
	struct vex_field_error e;
	int rc;

	if (require_admin(c) != 0 || vex_fields_no_body(c, vex_ctx_field_error) != 0)
		return;
	rc = vex_opsvc_pause(c->env, &c->who, tool, pause, &e);
	if (rc == VEX_EINVAL)
		vex_ctx_field_error(c, &e);
	else if (rc)
		vex_ctx_fail(c, rc, "tool not found");
	else
		pauses_answer(c);
}

static void tools_pause(struct vex_ctx *c)
{
	pause_or_resume(c, c->params[0], 1);
}

static void tools_resume(struct vex_ctx *c)
{
	pause_or_resume(c, c->params[0], 0);
}

static void runners_pause(struct vex_ctx *c)
{
	pause_or_resume(c, NULL, 1);
}

static void runners_resume(struct vex_ctx *c)
{
	pause_or_resume(c, NULL, 0);
}

static void pauses_get(struct vex_ctx *c)
{
	if (require_admin(c) == 0)
		pauses_answer(c);
}

static const struct vex_route routes[] = {
	{ "POST", "/api/v1/jobs/{id}/retry", jobs_retry, VEX_ROUTE_LIMITED, NULL },
	{ "POST", "/api/v1/jobs/cancel", jobs_cancel_where, 0, cancel_body },
	{ "POST", "/api/v1/tools/{name}/pause", tools_pause, 0, NULL },
	{ "POST", "/api/v1/tools/{name}/resume", tools_resume, 0, NULL },
	{ "POST", "/api/v1/runners/pause", runners_pause, 0, NULL },
	{ "POST", "/api/v1/runners/resume", runners_resume, 0, NULL },
	{ "GET", "/api/v1/pauses", pauses_get, 0, NULL },
};

const struct vex_route_table vex_operator_routes = VEX_ROUTE_TABLE(routes);
