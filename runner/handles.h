/* handles.h - a runner background thread's own store and cache handles (never shared across threads). */
#ifndef VEX_HANDLES_H
#define VEX_HANDLES_H

#include "core/jobs/cache.h"
#include "core/base/config.h"
#include "core/store/store.h"
#include "runner/ticker.h"

/*
 * One attempt at what is still NULL of *store and *cache: a failed store open is logged; a cache
 * that cannot be made is replaced by a disabled one (logged). 0 once both exist, else VEX_EIO.
 */
int vex_handles_try(const struct vex_config *cfg, struct vex_store **store, struct vex_cache **cache);

/*
 * Open the thread's own store and cache into *store and *cache where they are still NULL, retrying
 * each second (a nap on "t", which a stop request cuts short) until both exist (a disabled cache
 * stands in when memcached's handle cannot be made) or a stop is requested: 0 or VEX_ESTATE.
 */
int vex_handles_open(struct vex_ticker *t, const struct vex_config *cfg, struct vex_store **store,
		     struct vex_cache **cache);

/* Free the thread's *store and *cache (either may be NULL) and set both to NULL. */
void vex_handles_close(struct vex_store **store, struct vex_cache **cache);

#endif
