/* credentials.c - credential management in the vex dialect: /api/v1/keys (API keys), /api/v1/tokens (JWTs)
 * and /api/v1/tokens/revocations. */
#include <stdlib.h>
#include <string.h>

#include "core/auth/apikeys.h"
#include "core/auth/credential.h"
#include "core/auth/revocation.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/page.h"

static json_t *time_json(int64_t us)
{
	char buf[VEX_RFC3339_LEN];

	if (us == 0)
		return json_null();
	vex_rfc3339(us, buf);
	return json_string(buf);
}

/* A stored key as clients see it: never the key, only its display prefix. */
static json_t *key_json(const struct vex_api_key *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", k->id, "prefix", k->prefix, "owner",
			 k->owner, "role", vex_role_name(k->role), "plan", vex_plan_name(k->plan), "name",
			 k->name[0] ? json_string(k->name) : json_null(), "created_at", time_json(k->created_at),
			 "last_used_at", time_json(k->last_used_at), "revoked_at", time_json(k->revoked_at));
}

/* Key management and token minting are for admins; on refusal the error is answered. */
static int require_admin(struct vex_ctx *c)
{
	if (c->who.role == VEX_ROLE_ADMIN)
		return 0;
	vex_http_error(c->resp, c->req, 403, "FORBIDDEN", "admin role required", NULL);
	return VEX_EFORBIDDEN;
}

/* The body as a JSON object; on failure the error is answered. */
static int body_object(struct vex_ctx *c, json_t **ret)
{
	struct vex_field_error e;

	return vex_fields_refuse(c, vex_ctx_body_object(c, 0, ret, &e), &e, vex_ctx_field_error);
}

/* Optional "role" (default user) and "plan" (default free); an unknown value is 422 naming the field. */
static int role_plan(json_t *body, enum vex_role *role, enum vex_plan *plan, struct vex_field_error *e)
{
	const char *s = NULL;
	int rc;

	*role = VEX_ROLE_USER;
	*plan = VEX_PLAN_FREE;
	rc = vex_json_get_string(body, "role", 0, 1, 16, 0, &s, e);
	if (rc == VEX_EINVAL)
		return rc;
	if (rc == 0 && vex_role_parse(s, role) != 0)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "role", "role must be user or admin");
	rc = vex_json_get_string(body, "plan", 0, 1, 16, 0, &s, e);
	if (rc == VEX_EINVAL)
		return rc;
	if (rc == 0 && vex_plan_parse(s, plan) != 0)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "plan",
					   "plan must be free, standard, pro or enterprise");
	return 0;
}

int vex_keys_body(json_t *body, const char **ret_owner, enum vex_role *ret_role, enum vex_plan *ret_plan,
		  const char **ret_name, struct vex_field_error *e)
{
	const char *owner = NULL, *name = NULL;
	enum vex_role role;
	enum vex_plan plan;
	int rc;

	rc = vex_json_get_string(body, "owner", 1, 1, VEX_SUB_MAX, 0, &owner, e);
	if (rc == 0)
		rc = role_plan(body, &role, &plan, e);
	/* "name": null is the same as no name. */
	if (rc == 0 && !json_is_null(json_object_get(body, "name"))) {
		rc = vex_json_get_string(body, "name", 0, 0, VEX_APIKEY_NAME_MAX * 4, 1, &name, e);
		if (rc == VEX_ENOTFOUND)
			rc = 0;
	}
	if (rc != 0)
		goto out;
	*ret_owner = owner;
	*ret_role = role;
	*ret_plan = plan;
	*ret_name = name;
out:
	return rc;
}

static void keys_create(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_api_key k;
	enum vex_role role;
	enum vex_plan plan;
	const char *owner = NULL, *name = NULL;
	char key[VEX_APIKEY_LEN + 1];
	json_t *body = NULL, *out;
	int rc;

	if (require_admin(c) != 0 || body_object(c, &body) != 0)
		goto out;
	rc = vex_keys_body(body, &owner, &role, &plan, &name, &e);
	if (rc != 0) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	rc = vex_apikey_issue(c->env->store, owner, role, plan, name, c->req->now_us, &k, key, &e);
	if (rc == VEX_EINVAL) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "key not found");
		goto out;
	}
	out = key_json(&k);
	json_object_set_new(out, "key", json_string(key));
	json_object_del(out, "last_used_at");
	json_object_del(out, "revoked_at");
	vex_http_header(c->resp, "Cache-Control", "no-store");
	vex_http_json(c->resp, 201, out);
	memset(key, 0, sizeof(key));
out:
	json_decref(body);
}

/* The query of an admin listing: limit=1..100 (default 20), cursor (the last id of the previous page)
 * and the filter "name" (default: all; "filter" holds it, *ret_filter is NULL or it). 0, or refused
 * and answered. */
static int list_query(struct vex_ctx *c, const char *name, char filter[VEX_SUB_MAX + 2], const char **ret_filter,
		      long *ret_limit, char cursor[64])
{
	static const char *const cursor_names[] = { "cursor", NULL };
	struct vex_field_error e;
	int rc;

	*ret_filter = NULL;
	*ret_limit = VEX_LIST_LIMIT_DEFAULT;
	rc = require_admin(c);
	if (rc != 0)
		return rc;
	rc = vex_fields_query_int(c, "limit", VEX_LIST_LIMIT_DEFAULT, 1, VEX_LIST_LIMIT_MAX, 0, ret_limit, &e);
	if (rc == 0)
		rc = vex_fields_cursor(c, cursor_names, NULL, cursor, 64, &e);
	if (vex_fields_refuse(c, rc, &e, vex_ctx_field_error) != 0)
		return rc;
	rc = vex_http_query(c->req, name, filter, VEX_SUB_MAX + 2);
	if (rc == 0 && filter[0] != '\0' && strlen(filter) <= VEX_SUB_MAX) {
		*ret_filter = filter;
	} else if (rc != VEX_ENOTFOUND && !(rc == 0 && filter[0] == '\0')) {
		vex_http_error(c->resp, c->req, 400, "VALIDATION_ERROR", name[0] == 'o' ? "invalid owner" : "invalid sub",
			       name);
		return VEX_EINVAL;
	}
	return 0;
}

/* Answer a page: {"<name>": rows, "next_cursor"}; takes "rows" (NULL: out of memory). */
static void list_answer(struct vex_ctx *c, const char *name, json_t *rows, const char *next)
{
	if (!rows) {
		vex_ctx_fail(c, VEX_ENOMEM, "not found");
		return;
	}
	vex_http_json(c->resp, 200,
		      json_pack("{s:o, s:o}", name, rows, "next_cursor", next ? json_string(next) : json_null()));
}

static json_t *key_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_api_key *k = &((const struct vex_api_key *)list)[i];

	(void)arg;
	*id = k->id;
	return key_json(k);
}

/* GET /api/v1/keys?owner=&limit=&cursor=: every owner's keys unless "owner". */
static void keys_list(struct vex_ctx *c)
{
	struct vex_api_key_list l = { NULL, 0 };
	char cursor[64], owner[VEX_SUB_MAX + 2];
	const char *own, *next = NULL;
	json_t *rows;
	long limit;
	int rc;

	if (list_query(c, "owner", owner, &own, &limit, cursor) != 0)
		goto out;
	/* One extra row says whether there is a next page. */
	rc = vex_store_keys_list(c->env->store, own, cursor[0] ? cursor : NULL, (int)limit + 1, &l);
	if (rc != 0) {
		vex_ctx_fail(c, rc, "key not found");
		goto out;
	}
	rows = vex_page_rows(l.items, l.n, (int)limit, key_row, NULL, &next);
	list_answer(c, "keys", rows, next);
out:
	vex_api_key_list_release(&l);
}

static void keys_get(struct vex_ctx *c)
{
	struct vex_api_key k;
	int rc;

	if (require_admin(c) != 0)
		return;
	rc = vex_uuid_valid(c->params[0]) ? vex_store_key_get(c->env->store, c->params[0], NULL, &k) : VEX_ENOTFOUND;
	if (rc != 0) {
		vex_ctx_fail(c, rc, "key not found");
		return;
	}
	vex_http_json(c->resp, 200, key_json(&k));
}

/* Revocation is immediate: every request looks its key up again. */
static void keys_delete(struct vex_ctx *c)
{
	int rc;

	if (require_admin(c) != 0)
		return;
	rc = vex_uuid_valid(c->params[0]) ? vex_store_key_revoke(c->env->store, c->params[0], NULL, c->req->now_us)
					  : VEX_ENOTFOUND;
	if (rc != 0) {
		vex_ctx_fail(c, rc, "key not found");
		return;
	}
	c->resp->status = 204;
}

static void tokens_create(struct vex_ctx *c)
{
	struct vex_field_error e;
	struct vex_principal p;
	const char *sub = NULL;
	long long ttl = VEX_TOKEN_TTL_DEFAULT;
	int64_t expires = 0;
	char *token = NULL, jti[VEX_UUID_LEN + 1];
	json_t *body = NULL;
	int rc;

	if (require_admin(c) != 0 || body_object(c, &body) != 0)
		goto out;
	memset(&p, 0, sizeof(p));
	if (ttl > vex_authn_ttl_max(c->env->cfg))
		ttl = vex_authn_ttl_max(c->env->cfg); /* the default never exceeds the configured maximum */
	rc = vex_json_get_string(body, "sub", 1, 1, VEX_SUB_MAX, 0, &sub, &e);
	if (rc == 0)
		rc = role_plan(body, &p.role, &p.plan, &e);
	if (rc == 0) {
		rc = vex_json_get_int(body, "ttl", 0, &ttl, &e);
		if (rc == VEX_ENOTFOUND)
			rc = 0;
	}
	if (rc == 0 && strlen(sub) > VEX_SUB_MAX)
		rc = vex_field_error_set(&e, 422, "VALIDATION_ERROR", "sub", "sub must be at most %d bytes",
					 VEX_SUB_MAX);
	if (rc == 0) {
		memcpy(p.sub, sub, strlen(sub) + 1);
		rc = vex_authn_mint(c->env->cfg, &p, ttl, c->req->now_us, &token, &expires, jti, &e);
	}
	if (rc == VEX_EINVAL) {
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "not found");
		goto out;
	}
	vex_http_header(c->resp, "Cache-Control", "no-store");
	vex_http_json(c->resp, 201,
		      json_pack("{s:s, s:s, s:o, s:I, s:s}", "token", token, "token_type", "Bearer", "expires_at",
				time_json(expires), "expires_in", (json_int_t)ttl, "jti", jti));
out:
	free(token);
	json_decref(body);
}

/* A stored revocation as clients see it. */
static json_t *revocation_json(const struct vex_token_revocation *r)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:o}", "id", r->id, "jti",
			 r->jti[0] ? json_string(r->jti) : json_null(), "sub", r->sub[0] ? json_string(r->sub) : json_null(),
			 "issued_before", r->sub[0] ? time_json(r->issued_before_s * 1000000) : json_null(), "reason",
			 r->reason[0] ? json_string(r->reason) : json_null(), "created_by", r->created_by, "created_at",
			 time_json(r->created_at));
}

/* The fields of a revocation body: a string field of "body" or NULL (null counts as absent). */
static int opt_string(json_t *body, const char *key, size_t max_chars, const char **ret, struct vex_field_error *e)
{
	int rc;

	*ret = NULL;
	if (json_is_null(json_object_get(body, key)))
		return 0;
	rc = vex_json_get_string(body, key, 0, 0, max_chars, 0, ret, e);
	return rc == VEX_ENOTFOUND ? 0 : rc;
}

/* {"jti"} or {"sub", "issued_before"?}, "reason"? -> 201 the stored revocation; nothing else is accepted. */
static void revocations_create(struct vex_ctx *c)
{
	struct vex_token_revocation r;
	struct vex_field_error e;
	const char *jti = NULL, *sub = NULL, *reason = NULL, *before = NULL;
	int64_t before_us = 0;
	json_t *body = NULL;
	int rc = 0;

	if (require_admin(c) != 0 || body_object(c, &body) != 0)
		goto out;
	rc = opt_string(body, "jti", VEX_JTI_MAX, &jti, &e);
	if (rc == 0)
		rc = opt_string(body, "sub", VEX_SUB_MAX, &sub, &e);
	if (rc == 0)
		rc = opt_string(body, "reason", VEX_REVOCATION_REASON_MAX, &reason, &e);
	if (rc == 0)
		rc = opt_string(body, "issued_before", VEX_RFC3339_LEN, &before, &e);
	if (rc == 0 && before && (vex_parse_rfc3339(before, &before_us) != 0 || before_us <= 0))
		rc = vex_field_error_set(&e, 400, "VALIDATION_ERROR", "issued_before",
					 "issued_before must be an RFC 3339 date-time");
	if (rc == 0)
		rc = vex_revocation_issue(c->env->store, jti, sub, before ? (before_us + 999999) / 1000000 : 0, reason,
					  c->who.sub, c->req->now_us, &r, &e);
	if (rc == VEX_EINVAL) {
		e.status = 400; /* every refusal of this endpoint is 400, lengths included */
		vex_ctx_field_error(c, &e);
		goto out;
	}
	if (rc == VEX_EEXIST) {
		vex_http_error(c->resp, c->req, 409, "ALREADY_REVOKED", "this jti is already revoked", "jti");
		goto out;
	}
	if (rc != 0) {
		vex_ctx_fail(c, rc, "not found");
		goto out;
	}
	vex_http_json(c->resp, 201, revocation_json(&r));
out:
	json_decref(body);
}

static json_t *revocation_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_token_revocation *r = &((const struct vex_token_revocation *)list)[i];

	(void)arg;
	*id = r->id;
	return revocation_json(r);
}

/* GET /api/v1/tokens/revocations?sub=&limit=&cursor=. */
static void revocations_list(struct vex_ctx *c)
{
	struct vex_token_revocation_list l = { NULL, 0 };
	char cursor[64], sub[VEX_SUB_MAX + 2];
	const char *only, *next = NULL;
	json_t *rows;
	long limit;
	int rc;

	if (list_query(c, "sub", sub, &only, &limit, cursor) != 0)
		goto out;
	rc = vex_store_revocations_list(c->env->store, only, cursor[0] ? cursor : NULL, (int)limit + 1, &l);
	if (rc != 0) {
		vex_ctx_fail(c, rc, "not found");
		goto out;
	}
	rows = vex_page_rows(l.items, l.n, (int)limit, revocation_row, NULL, &next);
	list_answer(c, "revocations", rows, next);
out:
	vex_token_revocation_list_release(&l);
}

/* The fields of each write body (docs/api-keys.md); anything else is refused. */
static const char *const key_body[] = { "owner", "role", "plan", "name", NULL };
static const char *const token_body[] = { "sub", "role", "plan", "ttl", NULL };
static const char *const revocation_body[] = { "jti", "sub", "issued_before", "reason", NULL };

/* GET /api/v1/whoami: who the request's credential says the caller is (any role). A client (the console)
 * learns its own subject, role and plan without decoding a token, and an API key's too. */
static void whoami(struct vex_ctx *c)
{
	vex_http_json(c->resp, 200, json_pack("{s:s, s:s, s:s}", "sub", c->who.sub, "role", vex_role_name(c->who.role),
					      "plan", vex_plan_name(c->who.plan)));
}

static const struct vex_route routes[] = {
	{ "GET", "/api/v1/whoami", whoami, 0, NULL },
	{ "POST", "/api/v1/keys", keys_create, VEX_ROUTE_LIMITED, key_body },
	{ "GET", "/api/v1/keys", keys_list, 0, NULL },
	{ "GET", "/api/v1/keys/{id}", keys_get, 0, NULL },
	{ "DELETE", "/api/v1/keys/{id}", keys_delete, 0, NULL },
	{ "POST", "/api/v1/tokens", tokens_create, VEX_ROUTE_LIMITED, token_body },
	{ "POST", "/api/v1/tokens/revocations", revocations_create, 0, revocation_body },
	{ "GET", "/api/v1/tokens/revocations", revocations_list, 0, NULL },
};

const struct vex_route_table vex_keys_routes = VEX_ROUTE_TABLE(routes);
