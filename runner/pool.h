/* pool.h - the worker threads: claim, publish, execute, finish; the running-job table they share. */
#ifndef VEX_RUNNER_POOL_H
#define VEX_RUNNER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/config.h"
#include "core/base/ids.h"
#include "runner/exec.h"

struct vex_pool;

/* Longest runner id (--id); a worker's lease owner is "<runner id>/w<slot>". */
#define VEX_RUNNER_ID_MAX 200
#define VEX_LEASE_OWNER_MAX (VEX_RUNNER_ID_MAX + 16)

/* One running job as the supervisor sees it (a copy taken under the pool's lock). */
struct vex_running {
	int slot;
	char job_id[VEX_UUID_LEN + 1];
	char lease_owner[VEX_LEASE_OWNER_MAX + 1]; /* the worker's lease owner string */
	int attempts;                              /* the job's attempts at our claim */
	int64_t claimed_mono_us;
};

/*
 * Start cfg->runner_concurrency worker threads; each opens its own vex_store and vex_cache in
 * the thread and starts claiming at once. Each worker claims under its own lease owner
 * "<runner_id>/w<slot>", so that a job rescued from under a stalled worker and claimed again by
 * another worker of the same runner is never finished twice. "cfg" and "runner_id" are borrowed and must outlive
 * the pool. 0, VEX_ENOMEM, VEX_ERROR (thread creation).
 */
int vex_pool_start(const struct vex_config *cfg, const char *runner_id, struct vex_pool **ret);

/* "n" new jobs may be claimable (a wake datagram, a poll tick, a rescue): wake up to "n" idle workers. */
void vex_pool_wake(struct vex_pool *p, int n);

/* Stop claiming (shutdown, step 1). Idle workers exit; busy ones exit after their job. */
void vex_pool_drain(struct vex_pool *p);

/* Wait until no job is running or "timeout_ms" passed. 0 when idle, VEX_EBUSY on timeout. */
int vex_pool_wait_idle(struct vex_pool *p, int timeout_ms);

/* Stop every running job with reason shutdown (they are requeued) (shutdown, step 2). */
void vex_pool_stop_running(struct vex_pool *p);

/* Join every worker thread (after vex_pool_drain). */
void vex_pool_join(struct vex_pool *p);

/* Free the pool (joins first when needed). Accepts NULL. */
void vex_pool_free(struct vex_pool *p);

/* Copy up to "max" running jobs into "out"; returns how many. */
size_t vex_pool_running(struct vex_pool *p, struct vex_running *out, size_t max);

/* Ask the job in "slot" to stop with "why", if that slot still runs "job_id". */
void vex_pool_request_stop(struct vex_pool *p, int slot, const char *job_id, enum vex_stop why);

/* Number of worker slots (cfg->runner_concurrency). */
int vex_pool_size(const struct vex_pool *p);

#endif
