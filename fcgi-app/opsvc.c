/* opsvc.c - the operator actions: retry, cancel by filter, pause and resume claiming (fcgi-app/opsvc.h). */
#include "fcgi-app/opsvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/jobs/jobcache.h"
#include "core/jobs/wake.h"
#include "core/tools/schema.h"
#include "core/tools/tools.h"

/* ---- retry ---- */

static int not_retryable(struct vex_field_error *e, const char *why)
{
	vex_field_error_set(e, 409, "JOB_NOT_RETRYABLE", "", "%s", why);
	return VEX_ESTATE;
}

/* The job's agent or tool is still there for its owner "owner" and, for a tool, the arguments still pass
 * its schema: what a submit of the same input would check. */
static int input_still_valid(struct vex_env *env, const struct vex_principal *owner, const struct vex_job *old,
			     struct vex_field_error *e)
{
	struct vex_agent *agent = NULL;
	struct vex_tool_match t;
	json_t *args = NULL;
	int rc;

	if (old->kind == VEX_JOB_AGENT) {
		rc = vex_store_agent_get(env->store, old->agent_id, old->owner, 0, &agent);
		vex_agent_free(agent);
		return rc == VEX_ENOTFOUND ? not_retryable(e, "the job's agent was deleted") : rc;
	}
	memset(&t, 0, sizeof(t));
	rc = vex_tool_resolve(env->store, owner, old->tool, &t, e);
	if (rc == VEX_ENOTFOUND || rc == VEX_EINVAL) {
		rc = not_retryable(e, "the job's tool is no longer available to its owner");
		goto out;
	}
	if (rc)
		goto out;
	args = json_loads(old->input_json, 0, NULL);
	rc = args ? vex_schema_check_text(t.info.input_schema_json, args, e) : VEX_EIO;
out:
	json_decref(args);
	vex_tool_match_release(&t);
	return rc;
}

/* The new job: the old one's input and settings, its owner's defaults, retry_of the old id. */
static int retry_job(struct vex_env *env, const struct vex_principal *owner, const struct vex_job *old,
		     const struct vex_idem *idem, struct vex_job **ret)
{
	struct vex_job *j = vex_job_new();

	if (!j)
		return VEX_ENOMEM;
	vex_jobsvc_job_defaults(env, owner, j);
	j->kind = old->kind;
	snprintf(j->agent_id, sizeof(j->agent_id), "%s", old->agent_id);
	snprintf(j->retry_of, sizeof(j->retry_of), "%s", old->id);
	j->max_attempts = old->max_attempts > 0 ? old->max_attempts : j->max_attempts;
	j->priority = old->priority;
	j->timeout_ms = old->timeout_ms > 0 ? old->timeout_ms : j->timeout_ms;
	j->tool = old->tool ? strdup(old->tool) : NULL;
	j->input_json = strdup(old->input_json);
	j->traceparent = old->traceparent ? strdup(old->traceparent) : NULL; /* the retry continues the trace */
	if ((old->tool && !j->tool) || !j->input_json || (old->traceparent && !j->traceparent) ||
	    vex_jobsvc_set_idem(j, idem) != 0) {
		vex_job_free(j);
		return VEX_ENOMEM;
	}
	*ret = j;
	return 0;
}

int vex_opsvc_retry(struct vex_env *env, const struct vex_principal *who, const char *id, const struct vex_idem *idem,
		    struct vex_job **ret, int *ret_created, struct vex_field_error *e,
		    char retried_by[VEX_UUID_LEN + 1])
{
	struct vex_job *old = NULL, *j = NULL, *got = NULL, *linked = NULL;
	struct vex_principal owner;
	int rc, created = 0;

	if (!id || !*id)
		return VEX_ENOTFOUND;
	rc = vex_store_job_get(env->store, id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, &old);
	if (rc)
		goto out;
	if (!VEX_RETRYABLE_STATUS(old->status)) {
		char why[96];

		snprintf(why, sizeof(why), "the job is %s: only failed, timeout or canceled jobs can be retried",
			 vex_job_status_name(old->status));
		rc = not_retryable(e, why);
		goto out;
	}
	/* The new job is the owner's, under the owner's plan and grants, whoever asks. */
	memset(&owner, 0, sizeof(owner));
	snprintf(owner.sub, sizeof(owner.sub), "%s", old->owner);
	owner.role = old->owner_admin ? VEX_ROLE_ADMIN : VEX_ROLE_USER;
	owner.plan = old->plan;
	/* Already retried: a replay of the same key is the store's to answer; anything else is refused here. */
	rc = old->retried_by[0] && !(idem && idem->key) ? VEX_ECONFLICT : input_still_valid(env, &owner, old, e);
	if (rc == 0)
		rc = retry_job(env, &owner, old, idem, &j);
	if (rc == 0) {
		rc = vex_jobsvc_queue(env, j, &got, &created, e);
		if (rc == VEX_ESTATE)
			not_retryable(e, "the job is no longer retryable");
	}
	if (rc == VEX_ECONFLICT || rc == 0) {
		/* The old job as it now is: the link to show, or to refuse with; published so that its cached copy
		 * shows retried_by at once (a higher rev replaces it). A committer that stored our retry before
		 * its answer was lost has linked our own id: that is a success. */
		if (vex_store_job_get(env->store, id, NULL, &linked) == 0) {
			vex_jobcache_publish(env->cache, linked);
			if (rc == VEX_ECONFLICT && j && strcmp(linked->retried_by, j->id) == 0)
				rc = vex_store_job_get(env->store, j->id, NULL, &got);
		}
		if (rc == VEX_ECONFLICT) {
			snprintf(retried_by, VEX_UUID_LEN + 1, "%s", linked ? linked->retried_by : old->retried_by);
			vex_field_error_set(e, 409, "JOB_ALREADY_RETRIED", "", "the job was already retried by %s",
					    retried_by);
		}
	}
	if (rc == 0) {
		*ret = got;
		got = NULL;
		if (ret_created)
			*ret_created = created;
	}
out:
	vex_job_free(old);
	vex_job_free(j);
	vex_job_free(got);
	vex_job_free(linked);
	return rc;
}

/* ---- cancel by filter ---- */

/* One status's batches; *count grows by the jobs changed. */
static int cancel_status(struct vex_env *env, const struct vex_cancel_filter *f, enum vex_job_status which,
			 int64_t *count)
{
	struct vex_job_list l = { NULL, 0 };
	int rc, more = 1;

	while (more) {
		rc = vex_store_jobs_cancel_batch(env->store, f, which, VEX_CANCEL_BATCH, vex_now_us(), &l);
		if (rc)
			return rc;
		for (size_t i = 0; i < l.n; i++)
			vex_jobcache_publish(env->cache, l.items[i]);
		*count += (int64_t)l.n;
		more = l.n == VEX_CANCEL_BATCH;
		vex_job_list_release(&l);
		/* Between batches the write lock is free: let the runner's writer and the committer take it. */
		if (more)
			vex_sleep_ms(1, NULL);
	}
	return 0;
}

int vex_opsvc_cancel_where(struct vex_env *env, const struct vex_cancel_filter *f, int queued, int running,
			   int64_t *ret_canceled, int64_t *ret_requested)
{
	int rc = 0;

	*ret_canceled = 0;
	*ret_requested = 0;
	if (queued)
		rc = cancel_status(env, f, VEX_JOB_QUEUED, ret_canceled);
	if (rc == 0 && running)
		rc = cancel_status(env, f, VEX_JOB_RUNNING, ret_requested);
	return rc;
}

/* ---- pauses ---- */

int vex_opsvc_pause(struct vex_env *env, const struct vex_principal *who, const char *tool, int pause,
		    struct vex_field_error *e)
{
	struct vex_tool_match t;
	const char *name = VEX_PAUSE_ALL;
	int rc = 0, changed = 0;

	memset(&t, 0, sizeof(t));
	if (tool) {
		rc = vex_tool_resolve(env->store, who, tool, &t, e);
		if (rc == 0)
			name = t.info.name; /* jobs hold the full name */
		else if (rc == VEX_ENOTFOUND && !pause)
			name = tool; /* a paused tool that left the catalog can still be resumed */
		else
			goto out;
	}
	rc = pause ? vex_store_claim_pause(env->store, name, who->sub, vex_now_us())
		   : vex_store_claim_resume(env->store, name, &changed);
	if (rc == 0 && !pause && tool && !t.info.name && !changed)
		rc = VEX_ENOTFOUND;
	if (rc == VEX_EINVAL)
		rc = VEX_ENOTFOUND; /* a name no tool can have */
	if (rc == 0 && !pause && env->wake_fd >= 0 && env->cfg && env->cfg->runner_socket)
		vex_wake_send(env->wake_fd, env->cfg->runner_socket);
	if (rc == 0)
		vex_log(VEX_LOG_INFO, pause ? "claiming paused" : "claiming resumed", "tool", tool ? name : "*",
			"by", who->sub, NULL);
out:
	vex_tool_match_release(&t);
	return rc;
}
