/* jobsvc.c - job operations shared by every dialect: get (cache first), submit agent/tool, cancel. */
#include "fcgi-app/jobsvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/jobs/jobcache.h"
#include "core/base/log.h"
#include "core/base/traceparent.h"
#include "core/tools/schema.h"
#include "core/base/timeutil.h"
#include "core/tools/tools.h"
#include "core/jobs/wake.h"
#include "core/metrics/metrics.h"

/* Whether "who" may see a job of "owner" ("len" bytes): admins every job, others their own. */
static int visible(const struct vex_principal *who, const char *owner, size_t len)
{
	return who->role == VEX_ROLE_ADMIN || (strlen(who->sub) == len && memcmp(who->sub, owner, len) == 0);
}

/* The store's copy for "who", published to the cache. */
static int from_store(struct vex_env *env, const struct vex_principal *who, const char *id, struct vex_job **ret)
{
	int rc = vex_store_job_get(env->store, id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, ret);

	if (rc == 0)
		vex_jobcache_publish(env->cache, *ret);
	return rc;
}

int vex_jobsvc_get(struct vex_env *env, const struct vex_principal *who, const char *id, struct vex_job **ret)
{
	struct vex_job *j = NULL;

	if (!id || !*id)
		return VEX_EINVAL;
	if (vex_jobcache_get(env->cache, id, &j) != 0) {
		vex_metrics_inc(VEX_M_CACHE_MISSES);
		return from_store(env, who, id, ret);
	}
	vex_metrics_inc(VEX_M_CACHE_HITS);
	/* Owners never change, so the cached owner is as good as the stored one. */
	if (!visible(who, j->owner, strlen(j->owner))) {
		vex_job_free(j);
		return VEX_ENOTFOUND;
	}
	*ret = j;
	return 0;
}

int vex_jobsvc_get_view(struct vex_env *env, const struct vex_principal *who, const char *id, char tag,
			struct vex_jobsvc_view *ret)
{
	struct vex_jobsvc_view v;
	int rc;

	if (!id || !*id)
		return VEX_EINVAL;
	memset(&v, 0, sizeof(v));
	if (vex_jobcache_get_view(env->cache, id, tag, &v.cached) == 0) {
		if (v.cached.body) {
			vex_metrics_inc(VEX_M_CACHE_HITS);
			rc = visible(who, v.cached.owner, v.cached.owner_len) ? 0 : VEX_ENOTFOUND;
			goto out;
		}
		if (vex_jobcache_parse(id, v.cached.item.body, v.cached.item.json_len, &v.job) == 0) {
			vex_metrics_inc(VEX_M_CACHE_HITS);
			rc = visible(who, v.job->owner, strlen(v.job->owner)) ? 0 : VEX_ENOTFOUND;
			goto out;
		}
		vex_jobcache_view_release(&v.cached); /* unusable: the store's copy replaces it */
	}
	vex_metrics_inc(VEX_M_CACHE_MISSES);
	rc = from_store(env, who, id, &v.job);
out:
	if (rc == 0) {
		*ret = v;
		return 0;
	}
	vex_jobsvc_view_release(&v);
	return rc;
}

void vex_jobsvc_keep_view(struct vex_env *env, const struct vex_jobsvc_view *v, char tag, const char *body,
			  size_t len)
{
	if (v->job && v->cached.item.body)
		vex_jobcache_keep_view(env->cache, v->job->id, &v->cached, tag, v->job->owner, body, len);
}

void vex_jobsvc_view_release(struct vex_jobsvc_view *v)
{
	if (!v)
		return;
	vex_jobcache_view_release(&v->cached);
	vex_job_free(v->job);
	v->job = NULL;
}

/* The job "got" an Idempotency-Key led to must come from the same request as "sent" (Stripe's rule).
 * A job stored before request hashes were kept has none and is replayed as before. */
static int same_request(const struct vex_job *sent, const struct vex_job *got, struct vex_field_error *e)
{
	if (!sent->request_hash || !got->request_hash || strcmp(sent->request_hash, got->request_hash) == 0)
		return 0;
	return vex_field_error_set(e, 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key",
				   "this Idempotency-Key was already used with another request (a different path or "
				   "body); send a new key for a new request");
}

int vex_jobsvc_queue(struct vex_env *env, const struct vex_job *j, struct vex_job **ret, int *ret_created,
		     struct vex_field_error *e)
{
	struct vex_job *got = NULL;
	int created = 0, seen, rc;

	rc = VEX_EIO;
	if (env->commitq)
		rc = vex_commitq_insert(env->commitq, j, &got, &created);
	seen = rc == 0 && vex_commitq_by_first(env->commitq); /* the runner committed it: no wake */
	if (rc == VEX_EIO) {
		/* No committer (or no answer from it): insert here. If the committer did store it after
		 * all, the same id is already there, and that row is the answer. */
		rc = vex_store_job_insert(env->store, j, &got, &created);
		if (rc == VEX_EEXIST && vex_store_job_get(env->store, j->id, j->owner, &got) == 0) {
			created = 1;
			rc = 0;
		}
	}
	if (rc == VEX_ELIMIT)
		vex_cap_refuse(VEX_CAP_QUEUED_JOBS, j->queued_cap, j->plan, e);
	if (rc == 0 && !created)
		rc = same_request(j, got, e);
	if (rc) {
		vex_job_free(got);
		return rc;
	}
	if (created) {
		vex_metrics_job_submitted(got); /* a tool that resolved: its name may take a label cell */
		vex_jobcache_publish_new(env->cache, got); /* absent from the cache: no round trip */
	} else {
		vex_jobcache_publish(env->cache, got);
	}
	if (created && !seen && env->wake_fd >= 0 && env->cfg && env->cfg->runner_socket)
		vex_wake_send(env->wake_fd, env->cfg->runner_socket);
	*ret = got;
	if (ret_created)
		*ret_created = created;
	return 0;
}

int vex_jobsvc_idem_key_check(const char *key, struct vex_field_error *e)
{
	size_t i;

	if (!key)
		return 0;
	for (i = 0; key[i] != '\0'; i++)
		if (i >= VEX_IDEM_KEY_MAX || key[i] < 0x20 || key[i] > 0x7e)
			break;
	if (i > 0 && key[i] == '\0')
		return 0;
	vex_field_error_set(e, 400, "VALIDATION_ERROR", "Idempotency-Key",
			    "Idempotency-Key must be 1-%d printable ASCII characters", VEX_IDEM_KEY_MAX);
	e->limit = VEX_IDEM_KEY_MAX;
	return VEX_EINVAL;
}

int vex_jobsvc_context_id_check(const char *context_id, struct vex_field_error *e)
{
	if (!context_id || (strlen(context_id) <= VEX_CONTEXT_ID_MAX && !vex_has_control_chars(context_id)))
		return 0;
	vex_field_error_set(e, 422, "VALIDATION_ERROR", "context_id",
			    "context_id must be at most %d bytes without control characters", VEX_CONTEXT_ID_MAX);
	e->limit = VEX_CONTEXT_ID_MAX;
	return VEX_EINVAL;
}

int vex_jobsvc_timeout_check(long long timeout_ms, struct vex_field_error *e)
{
	if (timeout_ms >= 1 && timeout_ms <= VEX_JOB_TIMEOUT_MAX_MS)
		return 0;
	vex_field_error_set(e, 422, "VALIDATION_ERROR", "timeout_ms", "timeout_ms must be between 1 and %lld",
			    VEX_JOB_TIMEOUT_MAX_MS);
	e->limit = VEX_JOB_TIMEOUT_MAX_MS;
	return VEX_EINVAL;
}

void vex_jobsvc_job_defaults(struct vex_env *env, const struct vex_principal *who, struct vex_job *j)
{
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", who->sub);
	j->plan = who->plan;
	j->owner_admin = who->role == VEX_ROLE_ADMIN;
	j->max_attempts = env->cfg && env->cfg->max_attempts > 0 ? env->cfg->max_attempts : 1;
	j->timeout_ms = env->cfg && env->cfg->default_timeout_ms > 0 ? env->cfg->default_timeout_ms : 300000;
	j->created_at = vex_now_us();
	j->queued_cap = vex_cap_limit(env->cfg, VEX_CAP_QUEUED_JOBS, who->plan, j->owner_admin);
}

int vex_jobsvc_set_idem(struct vex_job *j, const struct vex_idem *idem)
{
	if (!idem || !idem->key)
		return 0;
	j->idempotency_key = strdup(idem->key);
	j->request_hash = idem->request_hash[0] ? strdup(idem->request_hash) : NULL;
	return j->idempotency_key && (j->request_hash || !idem->request_hash[0]) ? 0 : VEX_ENOMEM;
}

/* A copy of "traceparent" (NULL: none; one that is not as vex_traceparent_parse writes it is dropped,
 * never stored) into the new job "j". 0 or VEX_ENOMEM. */
static int set_traceparent(struct vex_job *j, const char *traceparent)
{
	if (!vex_traceparent_valid(traceparent))
		return 0;
	j->traceparent = strdup(traceparent);
	return j->traceparent ? 0 : VEX_ENOMEM;
}

int vex_jobsvc_submit_agent(struct vex_env *env, const struct vex_principal *who, const char *agent_id,
			    const char *prompt, const char *context_id, const struct vex_idem *idem,
			    const char *traceparent, struct vex_job **ret, int *ret_created, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	struct vex_agent *agent = NULL;
	struct vex_job *j = NULL;
	json_t *input = NULL;
	int rc;

	if (!e)
		e = &scratch;
	if (!agent_id || !*agent_id)
		return VEX_ENOTFOUND;
	rc = vex_store_agent_get(env->store, agent_id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, 0, &agent);
	if (rc)
		goto out;
	rc = vex_prompt_validate(prompt, e);
	if (rc)
		goto out;
	rc = vex_jobsvc_context_id_check(context_id, e);
	if (rc == 0)
		rc = vex_jobsvc_idem_key_check(idem ? idem->key : NULL, e);
	if (rc)
		goto out;
	j = vex_job_new();
	input = json_pack("{s:s, s:s?}", "prompt", prompt, "context_id", context_id);
	if (!j || !input) {
		rc = VEX_ENOMEM;
		goto out;
	}
	vex_jobsvc_job_defaults(env, who, j);
	j->kind = VEX_JOB_AGENT;
	snprintf(j->agent_id, sizeof(j->agent_id), "%s", agent->id);
	j->input_json = vex_json_dump(input);
	if (!j->input_json || vex_jobsvc_set_idem(j, idem) != 0 || set_traceparent(j, traceparent) != 0) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = vex_jobsvc_queue(env, j, ret, ret_created, e);
out:
	json_decref(input);
	vex_job_free(j);
	vex_agent_free(agent);
	return rc;
}

int vex_jobsvc_submit_tool(struct vex_env *env, const struct vex_principal *who, const char *tool,
			   json_t *arguments, int64_t timeout_ms, const struct vex_idem *idem,
			   const char *traceparent, struct vex_job **ret, int *ret_created, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	struct vex_tool_match t;
	struct vex_job *j = NULL;
	int rc;

	if (!e)
		e = &scratch;
	memset(&t, 0, sizeof(t));
	rc = vex_tool_resolve(env->store, who, tool, &t, e);
	if (rc)
		goto out;
	rc = vex_schema_check_text(t.info.input_schema_json, arguments, e);
	if (rc)
		goto out;
	rc = timeout_ms != 0 ? vex_jobsvc_timeout_check(timeout_ms, e) : 0;
	if (rc == 0)
		rc = vex_jobsvc_idem_key_check(idem ? idem->key : NULL, e);
	if (rc)
		goto out;
	j = vex_job_new();
	if (!j) {
		rc = VEX_ENOMEM;
		goto out;
	}
	vex_jobsvc_job_defaults(env, who, j);
	j->kind = VEX_JOB_TOOL;
	if (timeout_ms > 0)
		j->timeout_ms = timeout_ms;
	j->tool = strdup(t.info.name); /* the full name: what the runner dispatches on */
	j->input_json = vex_json_dump(arguments);
	if (!j->tool || !j->input_json || vex_jobsvc_set_idem(j, idem) != 0 || set_traceparent(j, traceparent) != 0) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = vex_jobsvc_queue(env, j, ret, ret_created, e);
out:
	vex_tool_match_release(&t);
	vex_job_free(j);
	return rc;
}

int vex_jobsvc_cancel(struct vex_env *env, const struct vex_principal *who, const char *id, int force_running,
		      struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc;

	if (!id || !*id)
		return VEX_EINVAL;
	rc = vex_store_job_cancel(env->store, id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, force_running,
				  vex_now_us(), &j);
	if (rc == 0)
		vex_jobcache_publish(env->cache, j);
	if ((rc == 0 || rc == VEX_ESTATE) && ret) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	return rc;
}

/* Poll intervals of vex_jobsvc_wait: quick at first (most tools finish in milliseconds), then calmer. */
#define WAIT_POLL_FIRST_MS 2
#define WAIT_POLL_MAX_MS 25

int vex_jobsvc_wait(struct vex_env *env, const struct vex_principal *who, const char *id, int64_t deadline_us,
		    struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc, pause_ms = WAIT_POLL_FIRST_MS;
	int64_t now;

	for (;;) {
		rc = vex_jobsvc_get(env, who, id, &j);
		if (rc)
			goto out;
		if (vex_job_status_terminal(j->status))
			goto out;
		vex_job_free(j);
		j = NULL;
		now = vex_now_us();
		if (now >= deadline_us) {
			rc = VEX_ESTATE;
			goto out;
		}
		if ((deadline_us - now) / 1000 < pause_ms)
			pause_ms = (int)((deadline_us - now) / 1000) + 1;
		vex_sleep_ms(pause_ms, NULL);
		if (pause_ms < WAIT_POLL_MAX_MS)
			pause_ms = pause_ms * 2 > WAIT_POLL_MAX_MS ? WAIT_POLL_MAX_MS : pause_ms * 2;
	}
out:
	if (rc == 0)
		*ret = j;
	else
		vex_job_free(j);
	return rc;
}
