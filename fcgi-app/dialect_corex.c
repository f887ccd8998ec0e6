/* dialect_corex.c - the corex presenter: /execute_tool and /jobs (seed 001). */
#include "fcgi-app/api.h"

size_t vex_dialect_corex_routes(const struct vex_route **ret)
{
	*ret = NULL;
	return 0;
}
