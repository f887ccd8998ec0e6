/* scheduler.h - the scheduler thread: fires the due slots of scheduled agents, once each. */
#ifndef VEX_RUNNER_SCHEDULER_H
#define VEX_RUNNER_SCHEDULER_H

#include "core/base/config.h"
#include "runner/pool.h"

struct vex_scheduler;

/*
 * Start the scheduler thread (its own vex_store and vex_cache, opened in the thread). About every
 * second it lists the ACTIVE agents with a schedule and, for each slot (a UTC "HH:MM" of today or
 * yesterday) whose time is <= now and at most cfg->schedule_catchup_s old, fires it
 * (vex_store_schedule_fire: exactly once across runners and restarts), publishes the new job to
 * the cache and wakes "pool". A slot older than the window that was never fired is logged
 * ("schedule slot missed") and skipped. Borrowed arguments must outlive it. 0, VEX_ENOMEM, VEX_ERROR.
 */
int vex_scheduler_start(const struct vex_config *cfg, struct vex_pool *pool, struct vex_scheduler **ret);

/* Stop (promptly: the thread's wait is interrupted) and join the thread. Accepts NULL. */
void vex_scheduler_free(struct vex_scheduler *s);

#endif
