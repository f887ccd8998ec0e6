/* toolrun.c - synchronous tool execution over the job queue, and tool duration estimates. */
#include "fcgi-app/toolrun.h"

#include <string.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/tools/tools.h"

int vex_toolrun_estimate_ms(struct vex_store *s, const char *tool, int64_t *ret_ms)
{
	int64_t avg_us = 0;
	int n = 0, rc;

	rc = vex_store_tool_recent_runs(s, tool, VEX_TOOLRUN_ESTIMATE_RUNS, &avg_us, &n);
	if (rc)
		return rc;
	if (n == 0)
		*ret_ms = VEX_TOOLRUN_ESTIMATE_DEFAULT_MS;
	else
		*ret_ms = avg_us <= 0 ? 1 : (avg_us + 999) / 1000;
	return 0;
}

void vex_toolrun_release(struct vex_toolrun *r)
{
	if (!r)
		return;
	vex_job_free(r->job);
	memset(r, 0, sizeof(*r));
}

int vex_toolrun_execute(struct vex_env *env, const struct vex_principal *who, const char *tool, json_t *arguments,
			int64_t timeout_ms, const char *traceparent, struct vex_toolrun *ret, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	struct vex_tool_match t;
	struct vex_job *j = NULL, *done = NULL;
	int64_t start_us = vex_now_us(), deadline_us;
	int rc, timed_out = 0;

	if (!e)
		e = &scratch;
	/* an unknown (or ambiguous) tool is answered before the timeout is looked at */
	rc = vex_tool_resolve(env->store, who, tool, &t, e);
	if (rc)
		return rc;
	vex_tool_match_release(&t);
	if (timeout_ms == 0)
		timeout_ms = VEX_EXECUTE_WAIT_DEFAULT_MS;
	if (timeout_ms < 1 || timeout_ms > VEX_EXECUTE_WAIT_MAX_MS) {
		rc = vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "timeout_ms",
					 "timeout_ms must be between 1 and %lld", VEX_EXECUTE_WAIT_MAX_MS);
		e->limit = VEX_EXECUTE_WAIT_MAX_MS;
		goto out;
	}
	rc = vex_jobsvc_submit_tool(env, who, tool, arguments, timeout_ms, NULL, traceparent, &j, NULL, e);
	if (rc)
		goto out;
	/* The runner enforces timeout_ms from its claim; the grace lets it record "timeout" itself. */
	deadline_us = start_us + (timeout_ms + VEX_EXECUTE_GRACE_MS) * 1000;
	rc = vex_jobsvc_wait(env, who, j->id, deadline_us, &done);
	if (rc == VEX_ESTATE) {
		/* Queued too long or stuck: stop it for good, then give the runner a grace to record it. */
		timed_out = 1;
		rc = vex_jobsvc_cancel(env, who, j->id, 1, NULL);
		if (rc && rc != VEX_ESTATE)
			vex_log(VEX_LOG_WARN, "could not cancel a timed-out tool job", "job_id", j->id, "error",
				vex_strerror(rc), NULL);
		rc = vex_jobsvc_wait(env, who, j->id, vex_now_us() + VEX_EXECUTE_GRACE_MS * 1000, &done);
		if (rc == VEX_ESTATE)
			rc = vex_jobsvc_get(env, who, j->id, &done);
	}
	if (rc)
		goto out;
	if (done->status == VEX_JOB_TIMEOUT)
		timed_out = 1;
	memset(ret, 0, sizeof(*ret));
	ret->job = done;
	done = NULL;
	ret->timed_out = timed_out;
	ret->timeout_ms = timeout_ms;
	ret->elapsed_ms = (vex_now_us() - start_us) / 1000;
out:
	vex_job_free(done);
	vex_job_free(j);
	return rc;
}
