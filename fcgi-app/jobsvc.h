/* jobsvc.h - the job operations every dialect presents: get (cache first), submit, cancel. */
#ifndef VEX_JOBSVC_H
#define VEX_JOBSVC_H

#include "core/auth/jwt.h"
#include "core/jobs/jobcache.h"
#include "core/jobs/commitq.h"
#include "core/base/config.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/jobs/model.h"
#include "core/store/store.h"

/* What a vex-api worker holds; borrowed pointers, opened after fork. */
struct vex_ratelanes;

struct vex_env {
	const struct vex_config *cfg;
	struct vex_store *store;
	struct vex_cache *cache; /* may be a disabled cache, never NULL */
	int wake_fd;             /* -1: do not wake */
	struct vex_commitq *commitq; /* NULL: insert directly; else new jobs go through the group committer */
	const struct vex_sealring *hook_keys; /* NULL: the webhook key file could not be read (creates fail) */
	struct vex_ratelanes *rate_lanes; /* the pool's limiter lanes (fcgi-app/ratelimit.h); NULL: none */
};

/*
 * An Idempotency-Key and the request that carried it (vex_fields_idem_key). Stripe's rule: a key
 * names one request; the same owner, key and request replay its job, another request with that
 * key is refused.
 */
struct vex_idem {
	const char *key;                                   /* 1..VEX_IDEM_KEY_MAX printable ASCII */
	char request_hash[VEX_JOB_REQUEST_HASH_LEN + 1];   /* hex SHA-256 of method, path and canonical body */
};

/*
 * Read a job for "who": memcached first (parse, then owner check), SQLite on a miss or an error
 * (and refill the cache). Another owner's job is VEX_ENOTFOUND unless who is admin.
 */
int vex_jobsvc_get(struct vex_env *env, const struct vex_principal *who, const char *id, struct vex_job **ret);

/*
 * A job's response body kept in the cache beside it for one dialect (view "tag", core/jobs/jobcache.h): after
 * vex_jobsvc_get_view, either cached.body is that body (the job unchanged since it was kept, already checked
 * against "who"), or job is the job read as vex_jobsvc_get reads it, which the caller renders and may keep with
 * vex_jobsvc_keep_view. Failures as vex_jobsvc_get. Release with vex_jobsvc_view_release.
 */
struct vex_jobsvc_view {
	struct vex_jobcache_view cached;
	struct vex_job *job;
};
int vex_jobsvc_get_view(struct vex_env *env, const struct vex_principal *who, const char *id, char tag,
			struct vex_jobsvc_view *ret);
/* Keep "body" as the view "tag" of "v"'s job when its job came from the cache (and has not changed since). */
void vex_jobsvc_keep_view(struct vex_env *env, const struct vex_jobsvc_view *v, char tag, const char *body,
			  size_t len);
void vex_jobsvc_view_release(struct vex_jobsvc_view *v);

/*
 * The request-field rules of a new job (core/base/limits.h), for the service below and for presenters
 * that check a field before reading the body. 0, or VEX_EINVAL with "e" naming the field and its
 * "limit":
 * - idem_key: NULL (absent) or 1..VEX_IDEM_KEY_MAX printable ASCII characters -> 400 VALIDATION_ERROR;
 * - context_id: NULL or at most VEX_CONTEXT_ID_MAX bytes without control characters -> 422;
 * - timeout_ms: 1..VEX_JOB_TIMEOUT_MAX_MS (a queued job's timeout, every dialect) -> 422.
 */
int vex_jobsvc_idem_key_check(const char *idem_key, struct vex_field_error *e);
int vex_jobsvc_context_id_check(const char *context_id, struct vex_field_error *e);
int vex_jobsvc_timeout_check(long long timeout_ms, struct vex_field_error *e);

/*
 * Queue an execution of the agent "agent_id" (visible to who, not deleted) with "prompt" (validated)
 * and optional "context_id". Honours "idem" (NULL: no key): the same owner, key and request hash
 * -> the same job, *ret_created = 0; the same owner and key with another request hash -> VEX_EINVAL
 * with "e" 422 IDEMPOTENCY_KEY_REUSED (field "Idempotency-Key"), nothing stored. Commits,
 * publishes to the cache, wakes the runner. Held to the owner's queued-job cap (core/base/caps.h;
 * a replay never is): VEX_ELIMIT with "e" the refusal (409 QUEUED_JOB_LIMIT_REACHED), nothing
 * stored. VEX_ENOTFOUND (agent), VEX_EINVAL (e filled), VEX_ELIMIT (e filled), VEX_EBUSY, VEX_EIO.
 * "traceparent": NULL, or the W3C traceparent the request carried, as vex_fields_traceparent (or
 * vex_traceparent_parse) gives it; the job keeps it (a replayed job keeps its own).
 */
int vex_jobsvc_submit_agent(struct vex_env *env, const struct vex_principal *who, const char *agent_id,
			    const char *prompt, const char *context_id, const struct vex_idem *idem,
			    const char *traceparent, struct vex_job **ret, int *ret_created, struct vex_field_error *e);

/*
 * Queue a tool job ("arguments" is a JSON object, borrowed; "timeout_ms" 0: the configured default,
 * else as vex_jobsvc_timeout_check). Same contract as above. "tool" is
 * resolved with vex_tool_resolve (a builtin, a catalog row by full name, or a unique short name):
 * VEX_ENOTFOUND when nothing matches; VEX_EINVAL with "e" 400 AMBIGUOUS_TOOL (field "tool") when a
 * short name is ambiguous. The arguments are checked against the tool's input schema
 * (vex_schema_check: 400 INVALID_ARGUMENTS naming the argument). The job stores the full name.
 */
int vex_jobsvc_submit_tool(struct vex_env *env, const struct vex_principal *who, const char *tool,
			   json_t *arguments, int64_t timeout_ms, const struct vex_idem *idem,
			   const char *traceparent, struct vex_job **ret, int *ret_created, struct vex_field_error *e);

/*
 * The steps every new job takes, for the services that build one (fcgi-app/opsvc.c):
 * - job_defaults: the fields every new job shares from "who" and the configuration (a new UUIDv7 id,
 *   owner, plan, owner_admin, max_attempts, timeout, created_at, the queued-job cap);
 * - set_idem: the key and request hash of "idem" (NULL: none) into "j" (0 or VEX_ENOMEM);
 * - queue: insert (through the committer when there is one), publish, and wake the runner when the job
 *   was created. A key the owner already used for another request is VEX_EINVAL with "e" filled; at the
 *   owner's queued-job cap, VEX_ELIMIT with "e" the refusal; a retry's refusals as
 *   core/store/operator.h says. *ret (caller frees) and *ret_created on 0.
 */
void vex_jobsvc_job_defaults(struct vex_env *env, const struct vex_principal *who, struct vex_job *j);
int vex_jobsvc_set_idem(struct vex_job *j, const struct vex_idem *idem);
int vex_jobsvc_queue(struct vex_env *env, const struct vex_job *j, struct vex_job **ret, int *ret_created,
		     struct vex_field_error *e);

/* Cancel for "who": queued -> canceled at once; running -> cancel requested when "force_running"
 * (VEX_ESTATE otherwise); terminal -> VEX_ESTATE. Publishes the change. *ret gets the job as it
 * now is on 0 and VEX_ESTATE. */
int vex_jobsvc_cancel(struct vex_env *env, const struct vex_principal *who, const char *id, int force_running,
		      struct vex_job **ret);

/*
 * Wait until the job "id" (visible to "who") reaches a terminal status, reading it as
 * vex_jobsvc_get does every few milliseconds, until "deadline_us" (Unix microseconds).
 * 0 with *ret = the finished job (caller frees); VEX_ESTATE when the deadline passed first;
 * VEX_ENOTFOUND and store errors as vex_jobsvc_get.
 */
int vex_jobsvc_wait(struct vex_env *env, const struct vex_principal *who, const char *id, int64_t deadline_us,
		    struct vex_job **ret);

#endif
