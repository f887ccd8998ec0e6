/* webhooks.c - webhooks under /webhooks (corex) and /api/v1/webhooks (vex): register, list, change, delete, deliveries. */
#include <stddef.h>

#include "fcgi-app/api.h"

size_t vex_webhooks_routes(const struct vex_route **ret)
{
	*ret = NULL;
	return 0;
}
