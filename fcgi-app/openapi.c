/* openapi.c - GET /openapi.json: answers the OpenAPI document compiled into the program (docs/openapi.md). */
#include "fcgi-app/openapi.h"

/* The document is a constant of the program: the same bytes for every request, never copied. */
static void openapi_json(struct vex_ctx *c)
{
	vex_http_static(c->resp, 200, (const char *)vex_openapi_json, vex_openapi_json_len);
}

static const struct vex_route routes[] = {
	{ "GET", "/openapi.json", openapi_json, VEX_ROUTE_PUBLIC, NULL },
};

const struct vex_route_table vex_openapi_routes = VEX_ROUTE_TABLE(routes);
