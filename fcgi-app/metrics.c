/* metrics.c - GET /metrics: Prometheus text for an admin, or for a network [metrics] allow_networks names. */
#include <stdlib.h>
#include <string.h>

#include "core/auth/credential.h"
#include "core/base/buf.h"
#include "core/base/cidr.h"
#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "core/metrics/metrics.h"
#include "core/metrics/metrics_text.h"
#include "core/store/store.h"
#include "fcgi-app/routes.h"

#define BODY_MAX (4u << 20)

/* a router row is a counter row: the page has one for each route a worker may hold */
_Static_assert(VEX_METRICS_ROUTE_ROWS == VEX_ROUTES_MAX, "the counter page's route rows follow the router's size");

/*
 * Who may scrape: a caller whose address (REMOTE_ADDR: nginx's $remote_addr, the peer of the TCP
 * connection; no header a client sends, X-Forwarded-For included, changes it) lies in [metrics]
 * allow_networks, with or without a credential; anyone else needs an admin credential (401 without a
 * valid one, 403 for a user). Answers the refusal and returns non-zero when the caller may not.
 */
static int allowed(struct vex_ctx *c)
{
	const char *reason = NULL;
	int rc;

	if (vex_cidr_list_match(c->env->cfg->metrics_allow_networks, vex_http_param(c->req, "REMOTE_ADDR")))
		return 0;
	rc = vex_authn_request(c->env->cfg, c->env->store, vex_http_param(c->req, "HTTP_AUTHORIZATION"),
			       vex_http_param(c->req, "HTTP_X_API_KEY"), c->req->now_us, &c->who, &reason);
	if (rc != 0 && rc != VEX_EAUTH) {
		vex_ctx_fail(c, rc, "not found");
		return rc;
	}
	if (rc != 0) {
		vex_http_header(c->resp, "WWW-Authenticate", "Bearer");
		vex_http_error(c->resp, c->req, 401, vex_authn_error_code(reason),
			       reason != NULL ? reason : "unauthorized", NULL);
		return rc;
	}
	if (c->who.role != VEX_ROLE_ADMIN) {
		vex_http_error(c->resp, c->req, 403, "FORBIDDEN", "admin role required", NULL);
		return VEX_EFORBIDDEN;
	}
	return 0;
}

/* The method and pattern of each router row, in the order the workers add the tables. */
static void route_names(struct vex_mtext_routes *rt)
{
	static const char *method[VEX_METRICS_ROUTE_ROWS], *pattern[VEX_METRICS_ROUTE_ROWS];
	size_t i, k, n = 0;

	for (i = 0; i < vex_route_tables_n; i++)
		for (k = 0; k < vex_route_tables[i]->n && n < VEX_METRICS_ROUTE_ROWS; k++, n++) {
			method[n] = vex_route_tables[i]->routes[k].method;
			pattern[n] = vex_route_tables[i]->routes[k].pattern;
		}
	rt->method = method;
	rt->pattern = pattern;
	rt->n = n;
}

/* The families read from the store: jobs by kind and status, the webhook backlog. */
static void store_families(struct vex_buf *b, const struct vex_store_counts *n)
{
	int k, s;

	vex_mtext_family(b, "vex_jobs", "gauge", "Jobs in the store, by kind and status.");
	for (k = 0; k < 2; k++)
		for (s = 0; s < VEX_JOB_STATUS_COUNT; s++)
			vex_mtext_sample_i(b, "vex_jobs",
					   (const char *const[]){ "kind", vex_job_kind_name((enum vex_job_kind)k), "status",
								  vex_job_status_name((enum vex_job_status)s), NULL },
					   n->jobs[k][s]);
	vex_mtext_family(b, "vex_webhook_backlog", "gauge", "Webhook deliveries waiting for an attempt.");
	vex_mtext_sample_i(b, "vex_webhook_backlog", NULL, n->deliveries_pending);
}

static void metrics(struct vex_ctx *c)
{
	const struct vex_metrics_page *p = vex_metrics_page();
	struct vex_store_counts counts;
	struct vex_mtext_routes rt;
	struct vex_buf b;
	char *body;
	size_t len;
	int rc;

	if (allowed(c) != 0)
		return;
	rc = vex_store_metrics_counts(c->env->store, &counts);
	if (rc) {
		vex_ctx_fail(c, rc, "not found");
		return;
	}
	vex_buf_init(&b, BODY_MAX);
	store_families(&b, &counts);
	if (p) {
		route_names(&rt);
		vex_mtext_page(&b, p, &rt, vex_now_us());
	}
	if (b.err) {
		vex_buf_release(&b);
		vex_ctx_fail(c, VEX_ENOMEM, "not found");
		return;
	}
	body = vex_buf_steal(&b, &len);
	vex_http_take(c->resp, 200, body, len);
	c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static const struct vex_route routes[] = {
	/* public to the router: allowed() checks the network, then the credential */
	{ "GET", "/metrics", metrics, VEX_ROUTE_PUBLIC, NULL },
};

const struct vex_route_table vex_metrics_routes = VEX_ROUTE_TABLE(routes);
