/* openapi.h - GET /openapi.json: the merged OpenAPI document, embedded in vex-api at build time. */
#ifndef VEX_OPENAPI_H
#define VEX_OPENAPI_H

#include <stddef.h>

#include "fcgi-app/router.h"

/* The bytes of <build>/openapi.json (tools/build-openapi from docs/openapi.yaml and docs/openapi.d/),
 * generated into <build>/gen/openapi_json.c by the Makefile; not NUL terminated. */
extern const unsigned char vex_openapi_json[];
extern const size_t vex_openapi_json_len;

/* GET /openapi.json (public). */
extern const struct vex_route_table vex_openapi_routes;

#endif
