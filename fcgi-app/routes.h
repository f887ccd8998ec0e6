/* routes.h - the route tables each presenter of vex-api contributes (health and the three dialects). */
#ifndef VEX_ROUTES_H
#define VEX_ROUTES_H

#include <stddef.h>

#include "fcgi-app/router.h"

/* GET /health (public) and GET /health/detailed (token). */
extern const struct vex_route_table vex_health_routes;

/* The vex dialect under /api/v1. */
extern const struct vex_route_table vex_dialect_vex_routes;

/* The corex dialect: /execute_tool, /jobs (seed 001), /tools, /retrieve_tools. */
extern const struct vex_route_table vex_dialect_corex_routes;

/* The events dialect: /v1/agents, /v1/events (seed 002). */
extern const struct vex_route_table vex_dialect_events_routes;

/* Credentials under /api/v1: keys (API keys) and tokens (JWTs), admin only. */
extern const struct vex_route_table vex_keys_routes;

/* Webhooks: /webhooks (corex) and /api/v1/webhooks (vex), with their deliveries. */
extern const struct vex_route_table vex_webhooks_routes;

/* Operator actions under /api/v1 (fcgi-app/operator.c): retry, cancel by filter, pauses. */
extern const struct vex_route_table vex_operator_routes;
/* GET /metrics (fcgi-app/metrics.c): Prometheus text. */
extern const struct vex_route_table vex_metrics_routes;

/* Stats: /api/v1/stats and /api/v1/runners (fcgi-app/stats.c). */
extern const struct vex_route_table vex_stats_routes;

/* GET /openapi.json (public) lives in fcgi-app/openapi.h. */

/* Every table above and the OpenAPI one, in the order a worker adds them to its router (fcgi-app/routes.c). */
extern const struct vex_route_table *const vex_route_tables[];
extern const size_t vex_route_tables_n;

#endif
