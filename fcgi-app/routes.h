/* routes.h - the route tables each presenter of vex-api contributes (health and the three dialects). */
#ifndef VEX_ROUTES_H
#define VEX_ROUTES_H

#include <stddef.h>

#include "fcgi-app/router.h"

/* GET /health (public) and GET /health/detailed (token). *ret points at static storage. */
size_t vex_health_routes(const struct vex_route **ret);

/* The vex dialect under /api/v1. *ret points at static storage. */
size_t vex_dialect_vex_routes(const struct vex_route **ret);

/* The corex dialect: /execute_tool, /jobs (seed 001), /tools, /retrieve_tools. *ret points at static storage. */
size_t vex_dialect_corex_routes(const struct vex_route **ret);

/* The events dialect: /v1/agents, /v1/events (seed 002). *ret points at static storage. */
size_t vex_dialect_events_routes(const struct vex_route **ret);

/* Credentials under /api/v1: keys (API keys) and tokens (JWTs), admin only. *ret points at static storage. */
size_t vex_keys_routes(const struct vex_route **ret);

/* Webhooks: /webhooks (corex) and /api/v1/webhooks (vex), with their deliveries. *ret points at static storage. */
size_t vex_webhooks_routes(const struct vex_route **ret);

#endif
