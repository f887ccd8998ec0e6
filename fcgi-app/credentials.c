/* credentials.c - credential management in the vex dialect: /api/v1/keys (API keys) and /api/v1/tokens (JWTs). */
#include <stdlib.h>
#include <string.h>

#include "core/auth/apikeys.h"
#include "core/auth/credential.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/bodies.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/fields.h"

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

/* limit=1..100 (default 20), cursor (last id of the previous page), owner (default all). */
static void keys_list(struct vex_ctx *c)
{
	static const char *const cursor_names[] = { "cursor", NULL };
	struct vex_field_error e;
	struct vex_api_key_list l = { NULL, 0 };
	char cursor[64], owner[VEX_SUB_MAX + 2];
	const char *own = NULL;
	json_t *root, *arr;
	size_t i, n;
	long limit = VEX_LIST_LIMIT_DEFAULT;
	int rc;

	if (require_admin(c) != 0)
		goto out;
	rc = vex_fields_query_int(c, "limit", VEX_LIST_LIMIT_DEFAULT, 1, VEX_LIST_LIMIT_MAX, 0, &limit, &e);
	if (rc == 0)
		rc = vex_fields_cursor(c, cursor_names, NULL, cursor, sizeof(cursor), &e);
	if (vex_fields_refuse(c, rc, &e, vex_ctx_field_error) != 0)
		goto out;
	rc = vex_http_query(c->req, "owner", owner, sizeof(owner));
	if (rc == 0 && owner[0] != '\0' && strlen(owner) <= VEX_SUB_MAX) {
		own = owner;
	} else if (rc != VEX_ENOTFOUND && !(rc == 0 && owner[0] == '\0')) {
		vex_http_error(c->resp, c->req, 400, "VALIDATION_ERROR", "invalid owner", "owner");
		goto out;
	}
	/* One extra row says whether there is a next page. */
	rc = vex_store_keys_list(c->env->store, own, cursor[0] ? cursor : NULL, (int)limit + 1, &l);
	if (rc != 0) {
		vex_ctx_fail(c, rc, "key not found");
		goto out;
	}
	root = json_object();
	arr = json_array();
	n = l.n > (size_t)limit ? (size_t)limit : l.n;
	for (i = 0; i < n; i++)
		json_array_append_new(arr, key_json(&l.items[i]));
	json_object_set_new(root, "keys", arr);
	json_object_set_new(root, "next_cursor", l.n > (size_t)limit ? json_string(l.items[n - 1].id) : json_null());
	vex_http_json(c->resp, 200, root);
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
	char *token = NULL;
	json_t *body = NULL;
	int rc;

	if (require_admin(c) != 0 || body_object(c, &body) != 0)
		goto out;
	memset(&p, 0, sizeof(p));
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
		rc = vex_authn_mint(c->env->cfg, &p, ttl, c->req->now_us, &token, &expires, &e);
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
		      json_pack("{s:s, s:s, s:o, s:I}", "token", token, "token_type", "Bearer", "expires_at",
				time_json(expires), "expires_in", (json_int_t)ttl));
out:
	free(token);
	json_decref(body);
}

static const struct vex_route routes[] = {
	{ "POST", "/api/v1/keys", keys_create, 0 },
	{ "GET", "/api/v1/keys", keys_list, 0 },
	{ "GET", "/api/v1/keys/{id}", keys_get, 0 },
	{ "DELETE", "/api/v1/keys/{id}", keys_delete, 0 },
	{ "POST", "/api/v1/tokens", tokens_create, 0 },
};

const struct vex_route_table vex_keys_routes = VEX_ROUTE_TABLE(routes);
