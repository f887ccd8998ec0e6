/* router.h - method + path patterns with {param} segments; dispatch with 404/405, auth and body checks. */
#ifndef VEX_ROUTER_H
#define VEX_ROUTER_H

#include <stddef.h>

#include "core/auth/jwt.h"
#include "fcgi-app/jobsvc.h"
#include "fcgi-app/http.h"

#define VEX_ROUTE_PARAMS 2
#define VEX_ROUTE_PARAM_MAX 256 /* bytes of one {param} segment */
#define VEX_ROUTES_MAX 128

/* Route flags. */
enum {
	VEX_ROUTE_PUBLIC = 1, /* no Authorization needed */
	/* creates work (a job, an agent, a webhook, a credential): the router counts it against the
	 * caller's plan rate (fcgi-app/ratelimit.h) after authentication, before the body is read */
	VEX_ROUTE_LIMITED = 2
};

/* Everything a handler sees for one request; lives on the worker's stack/state. */
struct vex_ctx {
	struct vex_env *env;
	struct vex_http_req *req;
	struct vex_http_resp *resp;
	const struct vex_route *route; /* the matched route (NULL outside vex_router_dispatch) */
	struct vex_principal who;  /* valid when the route is not public */
	char params[VEX_ROUTE_PARAMS][VEX_ROUTE_PARAM_MAX];
	int nparams;
};

/* A handler fills c->resp (status + body); it returns nothing: every outcome is a response. */
typedef void (*vex_handler_fn)(struct vex_ctx *c);

struct vex_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/api/v1/agents/{id}/execute": a {..} segment matches one non-empty segment */
	vex_handler_fn fn;
	int flags;
	/* POST/PATCH/PUT: the top-level fields the body may hold, exactly those its docs/api-*.md page
	 * documents (NULL terminated); NULL: none (the body must be empty or {}). Checked by
	 * vex_ctx_body_object. */
	const char *const *fields;
};

/* One presenter's routes: VEX_ROUTE_TABLE(array) fills it from a static array. */
struct vex_route_table {
	const struct vex_route *routes;
	size_t n;
};
#define VEX_ROUTE_TABLE(array) { (array), sizeof(array) / sizeof((array)[0]) }

struct vex_router {
	struct vex_route routes[VEX_ROUTES_MAX];
	size_t n;
};

/* Append "n" routes. VEX_ETOOBIG when the table is full. */
int vex_router_add(struct vex_router *rt, const struct vex_route *routes, size_t n);

/*
 * Answer one request into c->resp: match the path (404 NOT_FOUND when no pattern matches,
 * 405 METHOD_NOT_ALLOWED with Allow when only the method differs), check the body size
 * (413, the body not read), authenticate non-public routes (401 with WWW-Authenticate),
 * count VEX_ROUTE_LIMITED ones against the caller's rate (429, the body not read), check POST/PATCH bodies (415 unless application/json; 411/400 for a bad Content-Length),
 * read the body, then call the handler.
 */
void vex_router_dispatch(const struct vex_router *rt, struct vex_ctx *c);

/*
 * The answer for a failed core call: VEX_ENOTFOUND -> 404 NOT_FOUND "<notfound>",
 * VEX_EBUSY -> 503 SERVICE_UNAVAILABLE, anything else -> 500 INTERNAL_ERROR (logged).
 */
void vex_ctx_fail(struct vex_ctx *c, int rc, const char *notfound);

/*
 * Answer 200 {"stream_token","expires_at","stream_url":"<path_prefix>/jobs/<id>/stream?stream_token=…"}
 * for job "j", which the caller has already checked the principal may read (docs/api-streams.md).
 * "expires_at" in Unix seconds when "unix_times", else RFC 3339. Failures through vex_ctx_fail.
 */
void vex_ctx_stream_token(struct vex_ctx *c, const struct vex_job *j, const char *path_prefix, int unix_times);

/* The answer for a validation failure: e->status, e->code, e->message, e->field. */
void vex_ctx_field_error(struct vex_ctx *c, const struct vex_field_error *e);

/*
 * The request body as a JSON object (caller owns *ret); an empty body is {} when "empty_ok".
 * Answers nothing: on failure "e" holds 400 INVALID_JSON (with jansson's position), 400
 * VALIDATION_ERROR "request body must be a JSON object", or 400 VALIDATION_ERROR naming a field
 * the route does not accept (c->route->fields, vex_fields_known), for each dialect to present its way.
 */
int vex_ctx_body_object(struct vex_ctx *c, int empty_ok, json_t **ret, struct vex_field_error *e);

#endif
