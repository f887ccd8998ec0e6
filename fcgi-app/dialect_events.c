/* dialect_events.c - the events presenter: /v1/agents and /v1/events (seed 002). */
#include "fcgi-app/api.h"

size_t vex_dialect_events_routes(const struct vex_route **ret)
{
	*ret = NULL;
	return 0;
}
