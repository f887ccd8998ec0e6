/* health.c - GET /health (public liveness) and GET /health/detailed (database, cache, runner). */
#include <stdio.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/routes.h"

/* The runner beats every 2 s; a runner silent for longer than this is "down". */
#define RUNNER_STALE_US (10 * 1000000LL)

/* The store's kind, as /health names it. */
static const char *db_type(const struct vex_ctx *c)
{
	return c->env->cfg->store_pg ? "postgresql" : "sqlite";
}

static void health(struct vex_ctx *c)
{
	/* No allocation: load balancers call this often. Single-threaded worker, so a static buffer is fine. */
	static char body[192];
	char ts[VEX_RFC3339_LEN];
	int n;

	vex_rfc3339(c->req->now_us, ts);
	n = snprintf(body, sizeof(body),
		     "{\"status\":\"healthy\",\"version\":\"" VEX_VERSION "\",\"timestamp\":\"%s\",\"db_type\":\"%s\"}",
		     ts, db_type(c));
	if (n < 0 || (size_t)n >= sizeof(body)) {
		vex_ctx_fail(c, VEX_ERROR, NULL);
		return;
	}
	vex_http_static(c->resp, 200, body, (size_t)n);
}

static double ms_since(int64_t t0)
{
	return (double)(vex_mono_us() - t0) / 1000.0;
}

static void health_detailed(struct vex_ctx *c)
{
	const struct vex_config *cfg = c->env->cfg;
	json_t *root, *comp, *db, *cache, *runner;
	char ts[VEX_RFC3339_LEN];
	const char *overall = "healthy", *cstat;
	int64_t t0, beat = 0;
	int db_up, cache_rc, runner_up = 0;
	double db_ms, cache_ms;

	t0 = vex_mono_us();
	db_up = vex_store_ping(c->env->store) == 0;
	db_ms = ms_since(t0);

	t0 = vex_mono_us();
	cache_rc = (cfg->cache_servers == NULL || cfg->cache_servers[0] == '\0') ? VEX_ENOTFOUND
										  : vex_cache_ping(c->env->cache);
	cache_ms = ms_since(t0);
	cstat = cache_rc == 0 ? "up" : cache_rc == VEX_ENOTFOUND ? "disabled" : "down";

	if (db_up && vex_store_runner_last_beat(c->env->store, &beat) == 0)
		runner_up = c->req->now_us - beat <= RUNNER_STALE_US;

	if (!db_up)
		overall = "unhealthy";
	else if (strcmp(cstat, "down") == 0 || !runner_up)
		overall = "degraded";

	db = json_pack("{s:s, s:f}", "status", db_up ? "up" : "down", "latency_ms", db_ms);
	/* Values this worker refused (forged, copied, wrong secret): a count that grows means someone
	 * else writes to memcached, or a process runs with another secret. */
	cache = json_pack("{s:s, s:f, s:I}", "status", cstat, "latency_ms", cache_ms, "rejected",
			  (json_int_t)vex_cache_rejected(c->env->cache));
	if (beat != 0)
		vex_rfc3339(beat, ts);
	runner = json_pack("{s:s, s:o}", "status", runner_up ? "up" : "down", "last_heartbeat",
			   beat != 0 ? json_string(ts) : json_null());
	comp = json_pack("{s:o, s:o, s:o}", "database", db, "cache", cache, "runner", runner);
	vex_rfc3339(c->req->now_us, ts);
	root = json_pack("{s:s, s:s, s:s, s:s, s:o}", "status", overall, "version", VEX_VERSION, "timestamp", ts,
			 "db_type", db_type(c), "components", comp);
	vex_http_json(c->resp, db_up ? 200 : 503, root);
}

static const struct vex_route routes[] = {
	{ "GET", "/health", health, VEX_ROUTE_PUBLIC, NULL },
	{ "GET", "/health/detailed", health_detailed, 0, NULL },
};

const struct vex_route_table vex_health_routes = VEX_ROUTE_TABLE(routes);
