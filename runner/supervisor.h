/* supervisor.h - the supervisor thread: heartbeat, lease renewal, cancel requests, rescue of expired leases. */
#ifndef VEX_RUNNER_SUPERVISOR_H
#define VEX_RUNNER_SUPERVISOR_H

#include "core/base/config.h"
#include "runner/pool.h"

struct vex_supervisor;

/*
 * Start the supervisor thread (its own vex_store and vex_cache, opened in the thread). Every
 * 100 ms (less when lease_ms/3 is shorter) it looks at the pool's running jobs: renews each
 * lease every lease_ms/3 (VEX_ECONFLICT -> the job is stopped as lost; cancel_requested -> stopped
 * as canceled) and in between reads the job to notice cancel requests promptly. It beats the
 * heartbeat row every 2 s, and rescues expired leases at start and every rescue_interval_ms
 * (publishing each changed job and waking the pool for requeued ones). Borrowed arguments must
 * outlive it. 0, VEX_ENOMEM, VEX_ERROR.
 */
int vex_supervisor_start(const struct vex_config *cfg, const char *runner_id, struct vex_pool *pool,
			 struct vex_supervisor **ret);

/* Stop and join the thread; it removes the heartbeat row (vex_store_runner_gone) on its way out.
 * Call after the pool's workers are joined. Accepts NULL. */
void vex_supervisor_free(struct vex_supervisor *s);

#endif
