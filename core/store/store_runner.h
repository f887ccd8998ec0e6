/* store_runner.h - the runner's side of the job store (store_job_writes.c, store_job_states.c): fair
 * claims, lease renewal, progress, finishes, requeues, rescue, and their group commit. Part of the
 * store interface; included by core/store/store.h. */
#ifndef VEX_STORE_RUNNER_H
#define VEX_STORE_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "core/store/store.h"

/*
 * Runner side. One BEGIN IMMEDIATE transaction: pick the next job fairly across owners
 * (docs/runner.md): among owners with queued work and fewer running jobs than
 * plan_limits[plan of their best job] (NULL: no limits), the one with the fewest running jobs,
 * then the highest priority and oldest best job; that owner's best job (highest priority, oldest
 * first). Set it running, attempts + 1, started_at = now (first claim only), lease_owner =
 * runner_id, lease_expires_at = now + lease_us. VEX_ENOTFOUND when nothing is claimable.
 */
int vex_store_job_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret);

/* Extend the lease of a running job this runner holds. *ret_cancel receives cancel_requested.
 * VEX_ECONFLICT when the lease is no longer ours (rescued, finished, canceled). */
int vex_store_job_renew(struct vex_store *s, const char *id, const char *runner_id, int64_t now_us,
			int64_t lease_us, int *ret_cancel);

/* Record progress of a running job this runner holds (bumps rev). VEX_ECONFLICT as above. */
int vex_store_job_progress(struct vex_store *s, const char *id, const char *runner_id,
			   const struct vex_progress *p, int64_t now_us, struct vex_job **ret);

/*
 * Finish a running job this runner holds: status (completed | failed | timeout | canceled),
 * and from "outcome": result_json, error_code/message/details_json, tokens_in/out, final_model,
 * steps, browser_steps, browser_seconds, progress. completed_at = now, lease cleared, rev + 1.
 * VEX_ECONFLICT when the lease is not ours. *ret (when not NULL) receives the stored job.
 */
int vex_store_job_finish(struct vex_store *s, const char *id, const char *runner_id,
			 enum vex_job_status status, const struct vex_job *outcome, int64_t now_us,
			 struct vex_job **ret);

/* Give a running job back to the queue (runner shutdown): status queued, lease cleared, and
 * attempts - 1 when "refund_attempt". VEX_ECONFLICT when the lease is not ours. */
int vex_store_job_requeue(struct vex_store *s, const char *id, const char *runner_id, int refund_attempt,
			  int64_t now_us, struct vex_job **ret);

/*
 * Rescue running jobs whose lease expired before "now_us": back to queued when attempts <
 * max_attempts, else failed with error LEASE_EXPIRED. The changed jobs are returned (for the
 * cache) in *ret; caller releases.
 */
int vex_store_jobs_rescue(struct vex_store *s, int64_t now_us, struct vex_job_list *ret);

/*
 * Group commit of a runner's writes (docs/runner.md, "Batched writes"): one BEGIN IMMEDIATE
 * transaction applies every write of "w" in order (each as vex_store_job_finish, _requeue or
 * _progress would), then, when "claim" is not NULL, claims up to claim->max jobs one after the
 * other in the fair order of vex_store_job_claim (each claim sees the writes and claims before
 * it: a finish frees its owner's slot under the plan limits for the claims that follow), then
 * commits once: one fsync for all of it.
 *
 * Each write gets w[i].rc: 0 with w[i].job (the job after the change; the caller frees it),
 * VEX_ECONFLICT when the job is not running under that lease (nothing changed), VEX_EINVAL for a
 * malformed write. The claimed jobs land in claim->jobs[0..claim->n) (the caller frees them), job i
 * under the lease owner claim->lease_owners[i]; fewer than max when no more is claimable.
 * Returns 0, or a store error (VEX_EBUSY, VEX_EIO, ...) when the transaction could not be done:
 * then nothing was written, every w[i].rc is that error and claim->n is 0.
 */
enum vex_job_write_op { VEX_JW_FINISH, VEX_JW_REQUEUE, VEX_JW_PROGRESS };

struct vex_job_write {
	enum vex_job_write_op op;
	const char *id;
	const char *lease_owner;
	enum vex_job_status status;          /* FINISH: the terminal status */
	const struct vex_job *outcome;       /* FINISH: the outcome as vex_store_job_finish takes it (NULL: none) */
	const struct vex_progress *progress; /* PROGRESS */
	int refund_attempt;                  /* REQUEUE */
	int rc;                              /* out */
	struct vex_job *job;                 /* out, owned by the caller */
};

struct vex_claim_batch {
	const char *const *lease_owners; /* "max" lease owners: the i-th claimed job gets the i-th */
	size_t max;
	int64_t lease_us;
	const int *plan_limits;          /* VEX_PLAN_COUNT limits, NULL: none */
	struct vex_job **jobs;           /* out: room for "max" */
	size_t n;                        /* out */
};

int vex_store_jobs_write_batch(struct vex_store *s, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
			       int64_t now_us);

/*
 * New jobs to store with a round (vex_store_jobs_round): each as vex_store_jobs_insert_batch does
 * (created[i], rcs[i], rets[i] — the row found by an idempotent hit, or the stored job; the
 * caller frees rets).
 */
struct vex_insert_batch {
	struct vex_job *const *jobs;
	size_t n;
	struct vex_job **rets; /* out, n of each */
	int *created;
	int *rcs;
};

/*
 * vex_store_jobs_write_batch with new jobs first: one transaction inserts "ins" (NULL: none), applies
 * the writes, then claims, so a job submitted in this round can be claimed by it; one fsync for
 * all. When the transaction fails, every ins->rcs[i] is the error as well.
 */
int vex_store_jobs_round(struct vex_store *s, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
			 struct vex_claim_batch *claim, int64_t now_us);

/* Claim up to "max" jobs in one transaction (vex_store_jobs_write_batch without writes): *ret_n of
 * them in ret_jobs[], the i-th under lease_owners[i]; 0 claimed is not an error. VEX_EINVAL for
 * "max" 0, a missing lease owner or lease_us <= 0. */
int vex_store_jobs_claim_batch(struct vex_store *s, const char *const *lease_owners, size_t max, int64_t now_us,
			       int64_t lease_us, const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret_jobs,
			       size_t *ret_n);

#endif
