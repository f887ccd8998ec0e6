/* opsvc.h - the operator actions every presenter of them calls (docs/operations.md): retry a finished job,
 * cancel by filter, pause and resume claiming. Presenters: fcgi-app/operator.c, fcgi-app/dialect_corex.c. */
#ifndef VEX_OPSVC_H
#define VEX_OPSVC_H

#include "fcgi-app/jobsvc.h"

/*
 * Retry the job "id" (visible to "who": an admin may retry any owner's) as a new job of the same owner,
 * plan, kind, agent or tool, input, priority, max_attempts and timeout, with retry_of = "id"; the old job
 * gets retried_by in the same transaction, and its cached copy is replaced at once. The owner's grants,
 * the tool's schema and the owner's queued-job cap are checked as a submit checks them; "idem" works as
 * on a submit (a replay answers the first retry, *ret_created 0).
 * 0 with *ret (caller frees) and *ret_created. Refusals, with "e" filled:
 * - VEX_ENOTFOUND: no such job for "who";
 * - VEX_ESTATE: 409 JOB_NOT_RETRYABLE (not failed, timeout or canceled; or its agent or tool is gone);
 * - VEX_ECONFLICT: 409 JOB_ALREADY_RETRIED, with "retried_by" the retry's id;
 * - VEX_EINVAL (400/422: the arguments no longer pass the schema, a reused Idempotency-Key),
 *   VEX_ELIMIT (the queued-job cap); VEX_EBUSY, VEX_EIO, VEX_ENOMEM.
 */
int vex_opsvc_retry(struct vex_env *env, const struct vex_principal *who, const char *id, const struct vex_idem *idem,
		    struct vex_job **ret, int *ret_created, struct vex_field_error *e,
		    char retried_by[VEX_UUID_LEN + 1]);

/*
 * Cancel the jobs "f" matches (f->cutoff_us set by the caller): queued ones canceled when "queued", running
 * ones asked to stop when "running", VEX_CANCEL_BATCH jobs per short transaction (the runner's claims and
 * finishes take the write lock between them), each changed job published to the cache. *ret_canceled and
 * *ret_requested count them, also on an error (the batches before it stay done). 0 or a store error.
 */
int vex_opsvc_cancel_where(struct vex_env *env, const struct vex_cancel_filter *f, int queued, int running,
			   int64_t *ret_canceled, int64_t *ret_requested);

/*
 * Pause ("pause" 1) or resume claiming of "tool" (NULL: all claiming) on behalf of the admin "who". A tool
 * is named as a submit names it (a builtin, a full or an unambiguous short name, resolved for "who"); a
 * resume also takes a paused name no longer in the catalog. A resume wakes the runner. 0, VEX_ENOTFOUND
 * (no such tool; a resume of a tool that is not paused is 0), VEX_EINVAL with "e" (an ambiguous name),
 * store errors.
 */
int vex_opsvc_pause(struct vex_env *env, const struct vex_principal *who, const char *tool, int pause,
		    struct vex_field_error *e);

#endif
