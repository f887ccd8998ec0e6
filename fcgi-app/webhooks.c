/* webhooks.c - webhooks under /webhooks (corex) and /api/v1/webhooks (vex): register, list, change, delete,
 * deliveries (of a hook, and of a job: /api/v1/jobs/{id}/deliveries). */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/base64.h"
#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/jobs/jobview.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/hooks/netguard.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/page.h"

#define SECRET_RAW 32       /* random bytes behind "whsec_" */
#define SECRET_LEN (6 + VEX_B64_ENCODED_LEN(SECRET_RAW, 1)) /* "whsec_" + padded base64 */
#define JOB_DELIVERIES_MAX 1000 /* deliveries one job's listing shows (6 events per hook) */
#define EVENTS_KNOWN "job.queued, job.started, job.completed, job.failed, job.canceled, job.timeout"

/* Event names by bit position of VEX_HOOK_EV_*. */
static const char *const event_names[] = { "job.queued", "job.started", "job.completed",
					   "job.failed", "job.canceled", "job.timeout" };
#define EVENT_COUNT (sizeof(event_names) / sizeof(event_names[0]))

/* The fields of each write body (docs/api-webhooks.md); anything else is refused (vex_ctx_body_object). */
static const char *const create_fields[] = { "url", "events", "description", NULL };
static const char *const patch_fields[] = { "url", "events", "description", "status", NULL };

/* ---- the dialect of a request: one handler set, two presentations ---- */

/* 1 for /api/v1/webhooks (vex: RFC 3339 times, vex errors), 0 for /webhooks (corex: Unix seconds). */
static int is_vex(const struct vex_ctx *c)
{
	return strncmp(c->req->path, "/api/v1/", 8) == 0;
}

/* vex: {"error":{"code","message","field"?,"request_id"}}; corex: {"error":{"code","message","argument"?}}. */
static void hook_error(struct vex_ctx *c, int status, const char *code, const char *message, const char *field)
{
	json_t *e;

	if (is_vex(c)) {
		vex_http_error(c->resp, c->req, status, code, message, field);
		return;
	}
	e = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (e && field && *field)
		json_object_set_new(e, "argument", json_string(field));
	vex_http_json(c->resp, status, json_pack("{s:o}", "error", e));
}

/* A validation failure: vex keeps its 400/422 and VALIDATION_ERROR (or INVALID_JSON); corex answers every
 * argument problem with 400 INVALID_ARGUMENTS (INVALID_JSON for a body that is not JSON), as /jobs/submit does. */
static void field_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	if (is_vex(c))
		vex_ctx_field_error(c, e);
	else
		hook_error(c, 400, strcmp(e->code, "INVALID_JSON") == 0 ? "INVALID_JSON" : "INVALID_ARGUMENTS",
			   e->message, e->field);
}

/* A bad query parameter: vex 400 VALIDATION_ERROR, corex 400 INVALID_PARAMETER (as GET /jobs). */
static void param_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	hook_error(c, 400, is_vex(c) ? "VALIDATION_ERROR" : "INVALID_PARAMETER", e->message, e->field);
}

static void hook_not_found(struct vex_ctx *c)
{
	char msg[VEX_ROUTE_PARAM_MAX + 32];

	if (is_vex(c)) {
		vex_http_error(c->resp, c->req, 404, "NOT_FOUND", "webhook not found", NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "Webhook %s does not exist", c->params[0]);
	hook_error(c, 404, "WEBHOOK_NOT_FOUND", msg, NULL);
}

/* A failed store call: 404 in the dialect's words, else 503/500 (vex_ctx_fail). */
static void store_fail(struct vex_ctx *c, int rc)
{
	if (rc == VEX_ENOTFOUND)
		hook_not_found(c);
	else
		vex_ctx_fail(c, rc, "webhook not found");
}

static json_t *time_json(const struct vex_ctx *c, int64_t us)
{
	return is_vex(c) ? vex_jobview_time(us) : vex_jobview_unix_s(us);
}

/* ---- shapes ---- */

static json_t *events_json(unsigned mask)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < EVENT_COUNT; i++)
		if (mask & (1u << i))
			json_array_append_new(a, json_string(event_names[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *hook_status_name(enum vex_hook_status st)
{
	return st == VEX_HOOK_DISABLED ? "disabled" : st == VEX_HOOK_DELETED ? "deleted" : "active";
}

/* A hook as clients see it; the secret never (only the create answer adds it). */
static json_t *hook_json(const struct vex_ctx *c, const struct vex_webhook *h)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", h->id, "owner", h->owner,
			 "url", h->url, "events", events_json(h->events), "description", str_or_null(h->description),
			 "status", hook_status_name(h->status), "disabled_reason", str_or_null(h->disabled_reason),
			 "failing_since", time_json(c, h->failing_since), "last_error", str_or_null(h->last_error),
			 "created_at", time_json(c, h->created_at), "updated_at", time_json(c, h->updated_at));
}

static json_t *attempt_json(const struct vex_ctx *c, const struct vex_delivery_attempt *a)
{
	return json_pack("{s:i, s:o, s:o, s:o, s:I, s:o}", "n", a->n, "at", time_json(c, a->at), "status_code",
			 a->status_code ? json_integer(a->status_code) : json_null(), "error", str_or_null(a->error),
			 "duration_ms", (json_int_t)((a->duration_us + 500) / 1000), "response_body",
			 str_or_null(a->response_body));
}

static json_t *delivery_json(const struct vex_ctx *c, const struct vex_delivery *d)
{
	json_t *log = json_array(), *o;
	size_t i;

	for (i = 0; log && i < d->nlog; i++)
		json_array_append_new(log, attempt_json(c, &d->log[i]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", d->id, "event", d->event,
		      "job_id", d->job_id, "status", vex_delivery_status_name(d->status), "attempts", d->attempts,
		      "next_attempt_at", d->status == VEX_DLV_PENDING ? time_json(c, d->next_at) : json_null(),
		      "last_status_code", d->last_status_code ? json_integer(d->last_status_code) : json_null(),
		      "last_error", str_or_null(d->last_error), "created_at", time_json(c, d->created_at),
		      "finished_at", time_json(c, d->finished_at), "delivered_at",
		      d->status == VEX_DLV_DELIVERED ? time_json(c, d->finished_at) : json_null(), "attempt_log",
		      log);
	if (o && d->resend_of[0])
		json_object_set_new(o, "resend_of", json_string(d->resend_of));
	/* The exact body every attempt sent (the store keeps it once per delivery). */
	if (o)
		json_object_set_new(o, "request", json_pack("{s:s}", "body", d->payload ? d->payload : ""));
	return o;
}

/* ---- secrets ---- */

/* "whsec_" + base64 of 32 random bytes. 0 or VEX_EIO. */
static int secret_new(char out[SECRET_LEN + 1])
{
	unsigned char raw[SECRET_RAW];
	int rc;

	rc = vex_random_bytes(raw, sizeof(raw));
	if (rc)
		goto out;
	memcpy(out, "whsec_", 6);
	vex_b64_encode(raw, sizeof(raw), out + 6, VEX_B64_PAD);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

/* ---- request bodies ---- */

/* The body as a JSON object ("empty_ok": an empty body is {}); on failure the error is answered. */
static int body_object(struct vex_ctx *c, int empty_ok, json_t **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_ctx_body_object(c, empty_ok, ret, &e), &e, field_error);
}

/* "events": a non-empty array of distinct known names, into *ret (a VEX_HOOK_EV_* mask). */
static int parse_events(json_t *v, unsigned *ret, struct vex_field_error *e)
{
	unsigned mask = 0;
	json_t *item;
	size_t idx, i;

	if (!json_is_array(v))
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "events",
					   "events must be an array of event names (" EVENTS_KNOWN ")");
	if (json_array_size(v) == 0)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "events",
					   "events must not be empty; choose from " EVENTS_KNOWN);
	json_array_foreach(v, idx, item) {
		const char *name;

		if (!json_is_string(item))
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "events",
						   "events[%zu] must be a string", idx);
		name = json_string_value(item);
		for (i = 0; i < EVENT_COUNT; i++)
			if (strcmp(name, event_names[i]) == 0)
				break;
		if (i == EVENT_COUNT)
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", "events",
						   "unknown event '%.64s' in events; known: " EVENTS_KNOWN, name);
		if (mask & (1u << i))
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", "events",
						   "event '%s' is listed twice in events", name);
		mask |= 1u << i;
	}
	*ret = mask;
	return 0;
}

/*
 * Read the fields present in "body" into "h" (owned strings replaced). "create" makes url required and
 * events default to all six. Type errors are 400, values 422; "e" names the field. VEX_ENOMEM possible.
 */
int vex_webhooks_body(json_t *body, int create, int allow_private, struct vex_webhook *h, struct vex_field_error *e)
{
	json_t *v;
	const char *s = NULL;
	char why[192];
	unsigned mask = 0;
	int rc;

	v = json_object_get(body, "url");
	if (!v && create)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "url", "url is required");
	if (v) {
		if (!json_is_string(v))
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "url", "url must be a string");
		if (vex_netguard_url_check(json_string_value(v), allow_private, why, sizeof(why)))
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", "url", "url: %s", why);
		rc = vex_fields_set_str(&h->url, json_string_value(v));
		if (rc)
			return rc;
	}
	v = json_object_get(body, "events");
	if (v) {
		rc = parse_events(v, &mask, e);
		if (rc)
			return rc;
		h->events = mask;
	} else if (create) {
		h->events = VEX_HOOK_EV_ALL;
	}
	v = json_object_get(body, "description");
	if (v) {
		/* null or "" clears it. */
		if (!json_is_null(v)) {
			rc = vex_json_get_string(body, "description", 1, 0, VEX_HOOK_DESCRIPTION_MAX, 0, &s, e);
			if (rc)
				return rc;
		}
		rc = vex_fields_set_str(&h->description, s && *s ? s : NULL);
		if (rc)
			return rc;
	}
	v = json_object_get(body, "status");
	if (v) {
		if (!json_is_string(v))
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "status",
						   "status must be a string: active or disabled");
		s = json_string_value(v);
		if (strcmp(s, "active") == 0 && h->status != VEX_HOOK_ACTIVE) {
			/* Re-enabled: the failure record starts over. */
			h->status = VEX_HOOK_ACTIVE;
			h->failing_since = 0;
			if (vex_fields_set_str(&h->disabled_reason, NULL) || vex_fields_set_str(&h->last_error, NULL))
				return VEX_ENOMEM;
		} else if (strcmp(s, "disabled") == 0 && h->status != VEX_HOOK_DISABLED) {
			h->status = VEX_HOOK_DISABLED;
			rc = vex_fields_set_str(&h->disabled_reason, "disabled by the owner");
			if (rc)
				return rc;
		} else if (strcmp(s, "active") != 0 && strcmp(s, "disabled") != 0) {
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", "status",
						   "status must be active or disabled (DELETE removes a webhook)");
		}
	}
	if (!create && json_object_size(body) == 0)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "",
					   "the body must hold at least one of url, events, description, status");
	return 0;
}

/* ---- query parameters ---- */

/* limit and the page cursor: "cursor" or its synonym "before" (the last id of the previous page, of the
 * form "<prefix>" + 32 hex; "" when absent). On failure the error is answered. */
static int query_page(struct vex_ctx *c, const char *prefix, int *ret_limit, char *cursor, size_t cap)
{
	static const char *const names[] = { "cursor", "before", NULL };
	struct vex_field_error e;
	long limit = VEX_LIST_LIMIT_DEFAULT;
	int rc;

	rc = vex_fields_query_int(c, "limit", VEX_LIST_LIMIT_DEFAULT, 1, VEX_LIST_LIMIT_MAX, 0, &limit, &e);
	if (rc == 0)
		rc = vex_fields_cursor(c, names, prefix, cursor, cap, &e);
	if (rc == 0)
		*ret_limit = (int)limit;
	return vex_fields_refuse(c, rc, &e, param_error);
}

/* Lists show the caller's own hooks; an admin may ask for "owner=<sub>" or "owner=*" (all). */
static int query_owner(struct vex_ctx *c, char *buf, size_t len, const char **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_fields_owner(c, buf, len, ret, &e), &e, param_error);
}

/* The hook of the path, visible to the caller (an admin sees every owner's); on failure the error is answered. */
static int load_hook(struct vex_ctx *c, struct vex_webhook **ret)
{
	int rc;

	if (!vex_fields_id_valid(c->params[0], "hook_")) {
		hook_not_found(c);
		return VEX_ENOTFOUND;
	}
	rc = vex_store_webhook_get(c->env->store, c->params[0], c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub,
				   ret);
	if (rc)
		store_fail(c, rc);
	return rc;
}

/* ---- handlers ---- */

static void hooks_create(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_webhook *h = NULL;
	char secret[SECRET_LEN + 1] = "", loc[64], ad[VEX_HOOK_SECRET_AD_MAX + 1];
	struct vex_caps caps;
	json_t *body = NULL, *out;
	int rc;

	if (body_object(c, 0, &body) != 0)
		goto out;
	h = calloc(1, sizeof(*h));
	if (!h) {
		vex_ctx_fail(c, VEX_ENOMEM, NULL);
		goto out;
	}
	h->status = VEX_HOOK_ACTIVE;
	rc = vex_webhooks_body(body, 1, c->env->cfg->hooks_allow_private, h, &e);
	if (rc == VEX_EINVAL) {
		field_error(c, &e);
		goto out;
	}
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	vex_uuid7_prefixed("hook_", h->id, sizeof(h->id));
	snprintf(h->owner, sizeof(h->owner), "%s", c->who.sub);
	if (!c->env->hook_keys) {
		hook_error(c, 503, "UNAVAILABLE", "webhook secrets cannot be stored: the webhook key file is unreadable", NULL);
		goto out;
	}
	/* Stored sealed (core/hooks/sealbox.h): a copy of the database alone does not give it away. */
	vex_hook_secret_ad(h->id, ad);
	rc = secret_new(secret);
	if (rc == 0)
		rc = vex_sealbox_seal(&c->env->hook_keys->cur, ad, secret, &h->secret);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	h->created_at = h->updated_at = c->req->now_us;
	vex_caps_of(c->env->cfg, &c->who, &caps);
	/* Counted and inserted in one write transaction: creates racing for the last place get one. */
	rc = vex_store_webhook_insert(c->env->store, h, &caps);
	if (rc == VEX_ELIMIT) {
		vex_cap_refuse(VEX_CAP_WEBHOOKS, caps.max[VEX_CAP_WEBHOOKS], c->who.plan, &e);
		hook_error(c, e.status, e.code, e.message, NULL);
		goto out;
	}
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	out = hook_json(c, h);
	if (out)
		json_object_set_new(out, "secret", json_string(secret));
	snprintf(loc, sizeof(loc), "%s/%s", is_vex(c) ? "/api/v1/webhooks" : "/webhooks", h->id);
	vex_http_header(c->resp, "Location", loc);
	vex_http_header(c->resp, "Cache-Control", "no-store");
	vex_http_json(c->resp, 201, out);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (h && h->secret)
		OPENSSL_cleanse(h->secret, strlen(h->secret));
	vex_webhook_free(h);
	json_decref(body);
}

static json_t *hook_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_webhook *h = ((const struct vex_webhook_list *)list)->items[i];

	*id = h->id;
	return hook_json(arg, h);
}

static json_t *delivery_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_delivery *d = &((const struct vex_delivery_list *)list)->items[i];

	*id = d->id;
	return delivery_json(arg, d);
}

static void hooks_list(struct vex_ctx *c)
{
	struct vex_webhook_list l = { NULL, 0 };
	char cursor[VEX_HOOK_ID_LEN + 1], owner_buf[VEX_SUB_MAX + 2];
	const char *owner = NULL;
	const char *next;
	json_t *arr;
	int limit, rc;

	if (query_page(c, "hook_", &limit, cursor, sizeof(cursor)) != 0 ||
	    query_owner(c, owner_buf, sizeof(owner_buf), &owner) != 0)
		goto out;
	/* One extra row says whether there is a next page. */
	rc = vex_store_webhooks_list(c->env->store, owner, cursor[0] ? cursor : NULL, limit + 1, &l);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	arr = vex_page_rows(&l, l.n, limit, hook_row, c, &next);
	vex_http_json(c->resp, 200, json_pack("{s:o, s:s?}", "webhooks", arr, "next_cursor", next));
out:
	vex_webhook_list_release(&l);
}

static void hooks_get(struct vex_ctx *c)
{
	struct vex_webhook *h = NULL;

	if (load_hook(c, &h) != 0)
		return;
	vex_http_json(c->resp, 200, hook_json(c, h));
	vex_webhook_free(h);
}

static void hooks_patch(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_webhook *h = NULL;
	json_t *body = NULL;
	int rc;

	/* The body first: a malformed request is told so whatever the id. */
	if (body_object(c, 1, &body) != 0 || load_hook(c, &h) != 0)
		goto out;
	rc = vex_webhooks_body(body, 0, c->env->cfg->hooks_allow_private, h, &e);
	if (rc == VEX_EINVAL) {
		field_error(c, &e);
		goto out;
	}
	if (rc == 0) {
		h->updated_at = c->req->now_us;
		rc = vex_store_webhook_update(c->env->store, h, json_object_get(body, "status") != NULL);
	}
	if (rc == 0) {
		/* Answer the row as stored: the runner may have changed its status meanwhile. */
		char id[VEX_HOOK_ID_LEN + 1];

		snprintf(id, sizeof(id), "%s", h->id);
		vex_webhook_free(h);
		h = NULL;
		rc = vex_store_webhook_get(c->env->store, id, c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub, &h);
	}
	if (rc) {
		store_fail(c, rc);
		goto out;
	}
	vex_http_json(c->resp, 200, hook_json(c, h));
out:
	vex_webhook_free(h);
	json_decref(body);
}

/* Pending deliveries are canceled with the hook; its history stays in the store, out of sight. */
static void hooks_delete(struct vex_ctx *c)
{
	int rc;

	if (!vex_fields_id_valid(c->params[0], "hook_")) {
		hook_not_found(c);
		return;
	}
	rc = vex_store_webhook_delete(c->env->store, c->params[0], c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub,
				      c->req->now_us);
	if (rc) {
		store_fail(c, rc);
		return;
	}
	if (is_vex(c))
		c->resp->status = 204;
	else
		vex_http_json(c->resp, 200, json_pack("{s:s, s:b}", "id", c->params[0], "deleted", 1));
}

static void hooks_deliveries(struct vex_ctx *c)
{
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_webhook *h = NULL;
	char cursor[VEX_DELIVERY_ID_LEN + 1];
	json_t *arr;
	const char *next;
	int limit, rc;

	if (load_hook(c, &h) != 0 || query_page(c, "msg_", &limit, cursor, sizeof(cursor)) != 0)
		goto out;
	rc = vex_store_deliveries_list(c->env->store, h->id, cursor[0] ? cursor : NULL, limit + 1, &l);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	arr = vex_page_rows(&l, l.n, limit, delivery_row, c, &next);
	vex_http_json(c->resp, 200,
		      json_pack("{s:s, s:o, s:s?}", "webhook_id", h->id, "deliveries", arr, "next_cursor", next));
out:
	vex_delivery_list_release(&l);
	vex_webhook_free(h);
}

/* A new delivery of a delivery's event and body, due now (docs/api-webhooks.md, POST …/deliveries/{delivery_id}/resend):
 * the runner's webhook thread sends it like any other, signed with the hook's current secret. */
static void hooks_resend(struct vex_ctx *c)
{
	struct vex_webhook *h = NULL;
	struct vex_delivery d;
	int rc;

	memset(&d, 0, sizeof(d));
	if (vex_fields_no_body(c, field_error) != 0 || load_hook(c, &h) != 0)
		goto out;
	rc = vex_fields_id_valid(c->params[1], "msg_") ? vex_store_delivery_resend(c->env->store, h->id, c->params[1],
									    c->req->now_us, &d)
						       : VEX_ENOTFOUND;
	if (rc == VEX_ESTATE)
		hook_error(c, 409, "WEBHOOK_DISABLED", "the webhook is disabled: set its status to active to re-send",
			   NULL);
	else if (rc == VEX_ENOTFOUND)
		hook_error(c, 404, is_vex(c) ? "NOT_FOUND" : "DELIVERY_NOT_FOUND", "delivery not found", NULL);
	else if (rc)
		vex_ctx_fail(c, rc, "delivery not found");
	else
		vex_http_json(c->resp, 202, delivery_json(c, &d));
out:
	vex_delivery_release(&d);
	vex_webhook_free(h);
}

/* GET /api/v1/jobs/{id}/deliveries: the deliveries a job caused, oldest first; another owner's job is 404. */
static void job_deliveries(struct vex_ctx *c)
{
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_job *j = NULL;
	json_t *arr;
	size_t i;
	int rc;

	if (!vex_uuid_valid(c->params[0])) {
		vex_ctx_fail(c, VEX_ENOTFOUND, "job not found");
		return;
	}
	rc = vex_store_job_get(c->env->store, c->params[0], c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub, &j);
	if (rc == 0)
		rc = vex_store_job_deliveries(c->env->store, j->id, JOB_DELIVERIES_MAX, &l);
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		goto out;
	}
	arr = json_array();
	for (i = 0; arr && i < l.n; i++)
		if (json_array_append_new(arr, delivery_json(c, &l.items[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	vex_http_json(c->resp, 200, json_pack("{s:s, s:o}", "job_id", j->id, "deliveries", arr));
out:
	vex_delivery_list_release(&l);
	vex_job_free(j);
}

static const struct vex_route routes[] = {
	{ "POST", "/webhooks", hooks_create, VEX_ROUTE_LIMITED, create_fields },
	{ "GET", "/webhooks", hooks_list, 0, NULL },
	{ "GET", "/webhooks/{id}", hooks_get, 0, NULL },
	{ "PATCH", "/webhooks/{id}", hooks_patch, 0, patch_fields },
	{ "DELETE", "/webhooks/{id}", hooks_delete, 0, NULL },
	{ "GET", "/webhooks/{id}/deliveries", hooks_deliveries, 0, NULL },
	{ "POST", "/api/v1/webhooks", hooks_create, VEX_ROUTE_LIMITED, create_fields },
	{ "GET", "/api/v1/webhooks", hooks_list, 0, NULL },
	{ "GET", "/api/v1/webhooks/{id}", hooks_get, 0, NULL },
	{ "PATCH", "/api/v1/webhooks/{id}", hooks_patch, 0, patch_fields },
	{ "DELETE", "/api/v1/webhooks/{id}", hooks_delete, 0, NULL },
	{ "GET", "/api/v1/webhooks/{id}/deliveries", hooks_deliveries, 0, NULL },
	{ "POST", "/webhooks/{id}/deliveries/{delivery_id}/resend", hooks_resend, VEX_ROUTE_LIMITED, NULL },
	{ "POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", hooks_resend, VEX_ROUTE_LIMITED, NULL },
	{ "GET", "/api/v1/jobs/{id}/deliveries", job_deliveries, 0, NULL },
};

const struct vex_route_table vex_webhooks_routes = VEX_ROUTE_TABLE(routes);
