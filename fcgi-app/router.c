/* router.c - route table matching ({param} segments, 404/405) and the checks every request passes. */
#include "fcgi-app/router.h"

#include <string.h>

#include "core/auth/credential.h"
#include "core/base/err.h"
#include "core/jobs/jobview.h"
#include "core/base/log.h"
#include "fcgi-app/ratelimit.h"
#include "fcgi-app/fields.h"
#include "fcgi-app/streamtoken.h"

#define DRAIN_CAP (8u << 20) /* past this a rejected body is not worth reading: the connection closes */

int vex_router_add(struct vex_router *rt, const struct vex_route *routes, size_t n)
{
	if (n == 0)
		return 0; /* an empty table may come as NULL */
	if (n > VEX_ROUTES_MAX - rt->n)
		return VEX_ETOOBIG;
	memcpy(rt->routes + rt->n, routes, n * sizeof(*routes));
	rt->n += n;
	return 0;
}

/* Match "path" against "pattern"; on success the {..} segments are copied into "params". */
static int match(const char *pattern, const char *path, char params[][VEX_ROUTE_PARAM_MAX], int *ret_n)
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (pe == NULL || len == 0 || n >= VEX_ROUTE_PARAMS)
				return 0;
			/* An over-long segment still routes, as "" (no valid id), so the handler
			 * answers with its own "agent not found" rather than a bare 404. */
			if (len >= VEX_ROUTE_PARAM_MAX) {
				params[n][0] = '\0';
			} else {
				memcpy(params[n], s, len);
				params[n][len] = '\0';
			}
			n++;
			p = pe + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		return 0;
	*ret_n = n;
	return 1;
}

static int has_body_method(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0;
}

/* Collect the distinct methods of the routes matching the path, for Allow. */
static void allow_add(char *allow, size_t cap, const char *method)
{
	size_t ml = strlen(method), al = strlen(allow);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
			return;
		p += ml;
	}
	if (al + ml + 3 > cap)
		return;
	if (al > 0) {
		memcpy(allow + al, ", ", 2);
		al += 2;
	}
	memcpy(allow + al, method, ml + 1);
}

void vex_router_dispatch(const struct vex_router *rt, struct vex_ctx *c)
{
	struct vex_http_req *r = c->req;
	const struct vex_route *hit = NULL;
	const char *method = r->method, *reason = NULL, *ct;
	char allow[128] = "";
	size_t i, plen = strlen(r->path);
	int rc;

	/* "/api/v1/agents/" is "/api/v1/agents". */
	if (plen > 1 && r->path[plen - 1] == '/')
		r->path[plen - 1] = '\0';
	if (strcmp(method, "HEAD") == 0)
		method = "GET";

	for (i = 0; i < rt->n; i++) {
		const struct vex_route *rr = &rt->routes[i];
		int n = 0;

		if (!match(rr->pattern, r->path, c->params, &n))
			continue;
		if (strcmp(rr->method, method) == 0) {
			hit = rr;
			c->route = rr;
			c->nparams = n;
			break;
		}
		allow_add(allow, sizeof(allow), rr->method);
	}
	if (hit == NULL) {
		if (allow[0] == '\0') {
			vex_http_error(c->resp, r, 404, "NOT_FOUND", "not found", NULL);
		} else {
			vex_http_header(c->resp, "Allow", allow);
			vex_http_error(c->resp, r, 405, "METHOD_NOT_ALLOWED", "method not allowed", NULL);
		}
		return;
	}
	if (r->content_length_bad) {
		vex_http_error(c->resp, r, 400, "BAD_REQUEST", "invalid Content-Length", NULL);
		return;
	}
	if (r->content_length > 0 && (unsigned long long)r->content_length > c->env->cfg->max_body_bytes) {
		/* Not read: discard (bounded) so the peer sees the answer rather than a reset. */
		vex_http_error(c->resp, r, 413, "PAYLOAD_TOO_LARGE", "request body too large", NULL);
		vex_http_drain(r, DRAIN_CAP);
		return;
	}

	if (!(hit->flags & VEX_ROUTE_PUBLIC)) {
		rc = vex_authn_request(c->env->cfg, c->env->store, vex_http_param(r, "HTTP_AUTHORIZATION"),
				       vex_http_param(r, "HTTP_X_API_KEY"), r->now_us, &c->who, &reason);
		if (rc != 0 && rc != VEX_EAUTH) {
			vex_ctx_fail(c, rc, "not found");
			return;
		}
		if (rc != 0) {
			vex_http_header(c->resp, "WWW-Authenticate", "Bearer");
			vex_http_error(c->resp, r, 401, vex_authn_error_code(reason),
				       reason != NULL ? reason : "unauthorized", NULL);
			return;
		}
		/* Before the body is read or anything looked up: a refused request costs one memcached round trip. */
		if ((hit->flags & VEX_ROUTE_LIMITED) && vex_ratelimit_request(c) != 0) {
			vex_http_drain(r, DRAIN_CAP);
			return;
		}
	}

	if (has_body_method(method)) {
		if (r->content_length < 0 && vex_http_body_unannounced(r)) {
			vex_http_error(c->resp, r, 411, "LENGTH_REQUIRED", "Content-Length is required with a body",
				       NULL);
			vex_http_drain(r, DRAIN_CAP);
			return;
		}
		if (r->content_length > 0) {
			ct = vex_http_param(r, "CONTENT_TYPE");
			if (!vex_http_is_json(ct)) {
				vex_http_error(c->resp, r, 415, "UNSUPPORTED_MEDIA_TYPE",
					       "Content-Type must be application/json", NULL);
				vex_http_drain(r, DRAIN_CAP);
				return;
			}
		}
		rc = vex_http_read_body(r);
		if (rc == VEX_EIO) {
			vex_http_error(c->resp, r, 400, "BAD_REQUEST", "request body shorter than Content-Length",
				       NULL);
			return;
		}
		if (rc != 0) {
			vex_http_error(c->resp, r, 500, "INTERNAL_ERROR", "out of memory", NULL);
			return;
		}
	} else if (r->content_length > 0) {
		vex_http_drain(r, DRAIN_CAP);
	}
	hit->fn(c);
}

void vex_ctx_fail(struct vex_ctx *c, int rc, const char *notfound)
{
	if (rc == VEX_ENOTFOUND) {
		vex_http_error(c->resp, c->req, 404, "NOT_FOUND", notfound, NULL);
		return;
	}
	if (rc == VEX_ELIMIT) { /* a presenter that did not render the cap's own refusal */
		vex_http_error(c->resp, c->req, 409, "LIMIT_REACHED", "a per-owner limit was reached", NULL);
		return;
	}
	if (rc == VEX_EBUSY) {
		vex_http_header(c->resp, "Retry-After", "1");
		vex_http_error(c->resp, c->req, 503, "SERVICE_UNAVAILABLE", "database busy, retry shortly", NULL);
		return;
	}
	if (rc == VEX_EUNAVAIL) { /* nothing was written: the store could not be reached */
		vex_http_header(c->resp, "Retry-After", "1");
		vex_http_error(c->resp, c->req, 503, "SERVICE_UNAVAILABLE", "database unreachable, retry shortly", NULL);
		return;
	}
	vex_log(VEX_LOG_ERROR, "request failed", "request_id", c->req->request_id, "path", c->req->path,
		"error", vex_strerror(rc), NULL);
	vex_http_error(c->resp, c->req, 500, "INTERNAL_ERROR", "internal error", NULL);
}

int vex_ctx_body_object(struct vex_ctx *c, int empty_ok, json_t **ret, struct vex_field_error *e)
{
	json_t *v = NULL;
	int rc;

	if (empty_ok && c->req->body_len == 0) {
		*ret = json_object();
		return *ret ? 0 : VEX_ENOMEM;
	}
	rc = vex_json_parse(c->req->body ? c->req->body : "", c->req->body_len, &v, e);
	if (rc)
		return rc;
	if (!json_is_object(v)) {
		json_decref(v);
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "", "request body must be a JSON object");
	}
	if (c->route) {
		rc = vex_fields_known(v, c->route->fields, e);
		if (rc) {
			json_decref(v);
			return rc;
		}
	}
	*ret = v;
	return 0;
}

void vex_ctx_field_error(struct vex_ctx *c, const struct vex_field_error *e)
{
	const char *code = e->code[0] != '\0' ? e->code : "VALIDATION_ERROR";

	vex_http_error(c->resp, c->req, e->status > 0 ? e->status : 400, code, e->message, e->field);
}

void vex_ctx_stream_token(struct vex_ctx *c, const struct vex_job *j, const char *path_prefix, int unix_times)
{
	const struct vex_config *cfg = c->env->cfg;
	char tok[VEX_STREAMTOKEN_MAX], url[VEX_STREAMTOKEN_MAX + 128];
	int64_t exp_s = c->req->now_us / 1000000 + cfg->stream_token_ttl_s;
	int rc;

	rc = vex_streamtoken_mint(cfg->jwt_secret, cfg->jwt_secret_len, j->id, c->who.sub, c->who.role, c->who.plan,
				  exp_s, tok, sizeof(tok));
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		return;
	}
	snprintf(url, sizeof(url), "%s/jobs/%s/stream?stream_token=%s", path_prefix, j->id, tok);
	vex_http_json(c->resp, 200,
		      json_pack("{s:s, s:o, s:s}", "stream_token", tok, "expires_at",
				unix_times ? json_integer((json_int_t)exp_s) : vex_jobview_time(exp_s * 1000000),
				"stream_url", url));
}
