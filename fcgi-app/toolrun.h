/* toolrun.h - synchronous tool runs with a bounded wait (core/base/limits.h VEX_EXECUTE_*), duration estimates. */
#ifndef VEX_TOOLRUN_H
#define VEX_TOOLRUN_H

#include <stdint.h>

#include "fcgi-app/jobsvc.h"

#define VEX_TOOLRUN_ESTIMATE_RUNS 20           /* completed runs averaged by the estimate */
#define VEX_TOOLRUN_ESTIMATE_DEFAULT_MS 5000LL /* estimate for a tool with no completed run yet */

/*
 * The expected duration of a new job of "tool", in milliseconds: the mean of
 * completed_at - started_at over its last VEX_TOOLRUN_ESTIMATE_RUNS completed runs (any owner),
 * rounded up, at least 1; VEX_TOOLRUN_ESTIMATE_DEFAULT_MS when it never completed.
 * 0 or a store error.
 */
int vex_toolrun_estimate_ms(struct vex_store *s, const char *tool, int64_t *ret_ms);

/* How a synchronous run ended. */
struct vex_toolrun {
	struct vex_job *job;   /* the job as last read (terminal unless "timed_out"); owned */
	int timed_out;         /* 1: past timeout_ms; the job was stopped (its status says how) */
	int64_t timeout_ms;    /* the timeout that applied */
	int64_t elapsed_ms;    /* from submission to the answer */
};
void vex_toolrun_release(struct vex_toolrun *r);

/*
 * Run "tool" with "arguments" for "who" through the runner and wait for it. "timeout_ms" 0 means
 * VEX_EXECUTE_WAIT_DEFAULT_MS; otherwise 1..VEX_EXECUTE_WAIT_MAX_MS (else VEX_EINVAL,
 * "e" 400 INVALID_ARGUMENTS field "timeout_ms", "limit" the maximum). The job (timeout_ms as given) is submitted as
 * vex_jobsvc_submit_tool does (VEX_ENOTFOUND: no such tool, checked first; VEX_EINVAL: bad
 * arguments or an ambiguous name, "e" filled), then awaited until submission + timeout_ms + VEX_EXECUTE_GRACE_MS. Still unfinished
 * then, it is force-canceled (queued: at once; running: the runner kills it) and reported as
 * timed out. "traceparent" (NULL: none) as vex_jobsvc_submit_tool takes it. 0 with *ret filled (caller
 * releases) or a negative code.
 */
int vex_toolrun_execute(struct vex_env *env, const struct vex_principal *who, const char *tool, json_t *arguments,
			int64_t timeout_ms, const char *traceparent, struct vex_toolrun *ret, struct vex_field_error *e);

#endif
