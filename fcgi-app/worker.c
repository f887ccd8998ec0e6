/* worker.c - a vex-api worker: setup after fork, then the FCGX_Accept_r loop, request by request. */
#include "fcgi-app/worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "fcgi-app/jobsvc.h"
#include "core/base/log.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "core/jobs/wake.h"
#include "core/metrics/metrics.h"
#include "fcgi-app/routes.h"
#include "fcgi-app/child.h"
#include "fcgi-app/http.h"
#include "fcgi-app/router.h"

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void log_request(const struct vex_http_req *r, const struct vex_http_resp *w, int level)
{
	char st[8], us[24];

	snprintf(st, sizeof(st), "%d", w->status);
	snprintf(us, sizeof(us), "%lld", (long long)(vex_mono_us() - r->start_mono_us));
	vex_log(level, "request", "request_id", r->request_id, "method", r->method, "path", r->path, "status", st,
		"us", us, NULL);
}

static void handle(struct vex_env *env, const struct vex_router *rt, FCGX_Request *fr, struct vex_http_req *req,
		   struct vex_http_resp *resp)
{
	struct vex_ctx c = { .env = env, .req = req, .resp = resp }; /* no route, principal or params yet */

	vex_http_resp_reset(resp);
	if (vex_http_req_begin(req, fr) != 0)
		vex_http_error(resp, req, 400, "BAD_REQUEST", "invalid request path", NULL);
	else
		vex_router_dispatch(rt, &c);
	/* one relaxed add to the shared counter page: the route's row, never the raw path */
	vex_metrics_request(c.route ? (unsigned)(c.route - rt->routes) : VEX_METRICS_ROUTE_NONE, resp->status);
	if (vex_http_send(req, resp) != 0)
		vex_log(VEX_LOG_DEBUG, "client went away", "request_id", req->request_id, NULL);
	log_request(req, resp, resp->status >= 500 ? VEX_LOG_WARN : VEX_LOG_DEBUG);
}

/*
 * libfcgi ends a connection by shutting its side down and waiting until nginx closes (its OS_Close: a guard
 * against TCP resets of unread data). A request read to its end leaves nothing unread: read the end of its
 * stdin and let FCGX_Finish_r close at once (FCGX_Detach), which spares each request that wait and its system
 * calls. A body left unread (a refusal before reading it) keeps libfcgi's careful close.
 */
static void close_at_once_if_read(FCGX_Request *fr, const struct vex_http_req *req)
{
	char rest[16];

	if (req->content_length_bad || (req->content_length > 0 && req->body_len != (size_t)req->content_length))
		return;
	if (FCGX_GetStr(rest, sizeof(rest), fr->in) == 0 && FCGX_GetError(fr->in) == 0)
		FCGX_Detach(fr);
}

int vex_worker_run(const struct vex_config *cfg, int listen_fd, struct vex_ratelanes *rate_lanes)
{
	struct vex_store *store = NULL;
	struct vex_cache *cache = NULL;
	struct vex_router rt;
	struct vex_env env;
	struct vex_http_req req;
	struct vex_http_resp resp;
	FCGX_Request fr;
	sigset_t term, old;
	size_t i;
	int rc, status = 1, wake_fd = -1, fr_ready = 0;
	struct vex_sealring hook_keys;
	char kerr[512];

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&rt, 0, sizeof(rt));
	memset(&env, 0, sizeof(env));
	memset(&hook_keys, 0, sizeof(hook_keys));
	vex_child_signals(on_term, NULL); /* a blocked accept() returns on TERM/INT */

	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &store);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "worker cannot open the store", "path", cfg->store_label, "error",
			vex_strerror(rc), NULL);
		goto out;
	}
	rc = vex_cache_open(cfg->cache_servers, cfg->cache_timeout_ms, cfg->jwt_secret, cfg->jwt_secret_len,
			    &cache);
	if (rc == 0)
		rc = vex_cache_sasl(cache, cfg->cache_sasl_user, cfg->cache_sasl_password);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "worker cannot open the cache", "error", vex_strerror(rc), NULL);
		goto out;
	}
	wake_fd = vex_wake_open();
	if (wake_fd < 0) {
		/* The runner also polls: a missing wake socket costs latency only. */
		vex_log(VEX_LOG_WARN, "worker has no wake socket", NULL);
		wake_fd = -1;
	}
	/* The master made the key file; a worker only reads it. */
	if (vex_sealring_load(cfg->hook_key_file, cfg->hook_key_file_previous, 0, &hook_keys, kerr, sizeof(kerr)) == 0)
		env.hook_keys = &hook_keys;
	else
		vex_log(VEX_LOG_ERROR, "worker cannot read the webhook key: creating webhooks fails", "error", kerr, NULL);
	env.cfg = cfg;
	env.store = store;
	env.cache = cache;
	env.wake_fd = wake_fd;
	env.rate_lanes = rate_lanes;
	/* New jobs go to the runner's intake, committed with its own round (and claimed there when a
	 * slot is free), else through the pool's group committer; a worker that reaches neither writes
	 * directly (jobsvc falls back), so this only costs speed when it fails. */
	if (vex_commitq_open2(cfg->intake_socket, cfg->commit_socket, cfg->db_busy_timeout_ms + 2000, &env.commitq) != 0)
		env.commitq = NULL;

	rc = 0;
	for (i = 0; rc == 0 && i < vex_route_tables_n; i++)
		rc = vex_router_add(&rt, vex_route_tables[i]->routes, vex_route_tables[i]->n);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "route table full", NULL);
		goto out;
	}

	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		vex_log(VEX_LOG_ERROR, "FCGX_InitRequest failed", NULL);
		goto out;
	}
	fr_ready = 1;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);

	while (!stop_requested) {
		rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			if (stop_requested || rc == -EINTR)
				continue;
			vex_log(VEX_LOG_WARN, "accept failed", "error", strerror(-rc), NULL);
			vex_sleep_ms(10, NULL);
			continue;
		}
		/* Signals wait while a request is in flight: its reads and writes must not see EINTR. */
		sigprocmask(SIG_BLOCK, &term, &old);
		handle(&env, &rt, &fr, &req, &resp);
		close_at_once_if_read(&fr, &req);
		FCGX_Finish_r(&fr);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	status = 0;
out:
	if (fr_ready)
		FCGX_Free(&fr, 1);
	vex_http_resp_reset(&resp);
	vex_http_req_release(&req);
	if (wake_fd >= 0)
		close(wake_fd);
	vex_commitq_free(env.commitq);
	vex_sealring_release(&hook_keys);
	vex_cache_free(cache);
	vex_store_free(store);
	return status;
}
