/* cache_internal.h - what the files of the memcached cache share (core/jobs/cache*.c); not for other modules. */
#ifndef VEX_CACHE_INTERNAL_H
#define VEX_CACHE_INTERNAL_H

#include <libmemcached/memcached.h>

/* Add every server of "servers" (vex_cache_open's list) to "mc". 0 or VEX_EINVAL. */
int vex_cache_add_servers(memcached_st *mc, const char *servers);

#endif
