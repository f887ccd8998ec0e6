/* routes.c - the route tables a vex-api worker serves, in the order its router matches them. */
#include "fcgi-app/routes.h"

#include "fcgi-app/openapi.h"

const struct vex_route_table *const vex_route_tables[] = {
	&vex_health_routes,	    &vex_dialect_vex_routes, &vex_dialect_corex_routes,
	&vex_dialect_events_routes, &vex_keys_routes,	      &vex_webhooks_routes,
	&vex_operator_routes,	    &vex_metrics_routes,      &vex_openapi_routes,
	&vex_stats_routes,
};
const size_t vex_route_tables_n = sizeof(vex_route_tables) / sizeof(vex_route_tables[0]);
