/* operator.h - the store's side of the operator actions (docs/operations.md): retries, cancel by filter,
 * re-sent webhook deliveries, paused claiming. Included by core/store/store.h. */
#ifndef VEX_STORE_OPERATOR_H
#define VEX_STORE_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/jobs/model.h"

struct vex_store;
struct vex_job_list;
struct vex_delivery;

/*
 * Retries. A new job with "retry_of" set (vex_store_job_insert, vex_store_jobs_insert_batch) is a retry
 * of that job of the same owner: in the insert's own write transaction (its savepoint in a batch), the
 * old job gets "retried_by" = the new id (rev + 1, updated_at = the new job's created_at, one
 * 'progress' row of job_events), and only when it is failed, timeout or canceled and not yet retried.
 * Otherwise nothing is stored: VEX_ENOTFOUND (no such job of that owner), VEX_ESTATE (not retryable),
 * VEX_ECONFLICT (already retried: vex_store_job_get shows by whom). An Idempotency-Key replay comes
 * first and is never refused.
 */
#define VEX_RETRYABLE_STATUS(s) ((s) == VEX_JOB_FAILED || (s) == VEX_JOB_TIMEOUT || (s) == VEX_JOB_CANCELED)

/* ---- cancel by filter (store_operator.c) ---- */

/* Which jobs POST /api/v1/jobs/cancel names; every condition set must hold. */
struct vex_cancel_filter {
	const char *owner;      /* NULL: any */
	const char *tool;       /* NULL: any; else the exact (full) tool name */
	const char *agent_id;   /* NULL: any */
	int64_t created_after;  /* 0: no bound; else created_at >= it (µs) */
	int64_t created_before; /* 0: no bound; else created_at < it (µs) */
	int64_t cutoff_us;      /* only jobs created at or before it: the call's start, so it ends */
};

/* Jobs changed per transaction by vex_store_jobs_cancel_batch (the write lock is held this long). */
#define VEX_CANCEL_BATCH 500

/*
 * One batch, in its own short BEGIN IMMEDIATE transaction: at most "max" (1..1000) of the jobs matching "f" whose
 * status is "which" (VEX_JOB_QUEUED: canceled, as vex_store_job_cancel does; VEX_JOB_RUNNING: cancel_requested
 * set where not yet), walking only live jobs (the queue's and the running jobs' partial indexes). *ret gets the
 * changed jobs (caller releases; publish them). Each batch leaves fewer to match: call again until fewer than
 * "max" came. 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO, VEX_ENOMEM.
 */
int vex_store_jobs_cancel_batch(struct vex_store *s, const struct vex_cancel_filter *f, enum vex_job_status which,
				int max, int64_t now_us, struct vex_job_list *ret);

/* ---- re-sent deliveries (store_operator.c) ---- */

/*
 * A new pending delivery of the delivery "id" of hook "hook_id": the same hook, owner, job, event and
 * body (payload), due now, with a new id (msg_ + 32 hex) and resend_of = "id". Only while the hook is
 * active: VEX_ESTATE when disabled; VEX_ENOTFOUND when the delivery is not the hook's (or either is
 * gone). 0 with *ret the new delivery (caller releases).
 */
int vex_store_delivery_resend(struct vex_store *s, const char *hook_id, const char *id, int64_t now_us,
			      struct vex_delivery *ret);

/* ---- paused claiming (store_pauses.c) ---- */

#define VEX_PAUSE_ALL "" /* the tool name of the global pause: every claim, agents included */

struct vex_claim_pause {
	char *tool;      /* the full tool name, or VEX_PAUSE_ALL */
	int64_t paused_at;
	char *paused_by; /* the admin's sub */
};

struct vex_claim_pause_list {
	struct vex_claim_pause *items;
	size_t n;
};
void vex_claim_pause_list_release(struct vex_claim_pause_list *l);

/* Pause "tool" (VEX_PAUSE_ALL: every claim) at "now_us" by "by". Pausing what is paused keeps the
 * first row. 0, VEX_EINVAL (tool over 256 bytes or with control characters), VEX_EBUSY, VEX_EIO. */
int vex_store_claim_pause(struct vex_store *s, const char *tool, const char *by, int64_t now_us);

/* Resume "tool" (VEX_PAUSE_ALL: the global pause only). *ret_changed (when not NULL): 1 when it was
 * paused. 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO. */
int vex_store_claim_resume(struct vex_store *s, const char *tool, int *ret_changed);

/* Every pause, by tool name (the global one first, as ""), at most 10000. Caller releases *ret. */
int vex_store_claim_pauses(struct vex_store *s, struct vex_claim_pause_list *ret);

#endif
