/* lookup.h - the agent or job a request's path names ("{id}"), looked up the same way by every presenter. */
#ifndef VEX_LOOKUP_H
#define VEX_LOOKUP_H

#include "core/jobs/model.h"
#include "fcgi-app/router.h"

/* Whose resources the caller reaches: NULL (every owner) for an admin, else the caller's own. */
const char *vex_lookup_scope(const struct vex_ctx *c);

/*
 * The live agent c->params[0] within vex_lookup_scope (caller frees *ret). On failure (not a UUID,
 * absent, deleted, another owner's: 404 "agent not found"; else 503/500) it is answered through
 * vex_ctx_fail and the VEX_E... code returned.
 */
int vex_lookup_agent(struct vex_ctx *c, struct vex_agent **ret);

/* A new agent of the caller's (a fresh id, owner, plan and role, the default depth, active, created
 * now). NULL, answered 500, when out of memory. */
struct vex_agent *vex_lookup_agent_new(struct vex_ctx *c);

/* Store "a": inserted when "create", else updated with updated_at moved forward (even within one
 * microsecond), held to the caller's agent and schedule caps (core/base/caps.h: 409
 * AGENT_LIMIT_REACHED or SCHEDULE_LIMIT_REACHED, nothing stored). Other failures are answered
 * through vex_ctx_fail ("agent not found"). 0 or the VEX_E... code. */
int vex_lookup_agent_save(struct vex_ctx *c, struct vex_agent *a, int create);

/* Soft-delete the agent c->params[0] within vex_lookup_scope: 204, or answered as vex_lookup_agent. */
int vex_lookup_agent_delete(struct vex_ctx *c);

/*
 * The job c->params[0] as the caller may see it (vex_jobsvc_get, cache first; caller frees *ret).
 * Not found (or not a UUID): "not_found(c)" answers, or 404 "job not found" when it is NULL; other
 * failures through vex_ctx_fail. 0 or the VEX_E... code.
 */
int vex_lookup_job(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), struct vex_job **ret);

/*
 * Makes a job's response body: 0 with *ret (a new reference) and *ret_keep, 1 when the body depends on the job alone
 * and may be kept beside it in the cache (never when "render" replaced *j, or read anything else); or a VEX_E code
 * (VEX_ENOTFOUND answers as not found).
 */
typedef int (*vex_lookup_render_fn)(struct vex_ctx *c, struct vex_job **j, json_t **ret, int *ret_keep);

/*
 * GET .../jobs/{id} of a dialect: the job as vex_lookup_job finds it, answered 200 with what "render" makes of
 * it; or, when the job has not changed since a poll of the same dialect kept its body (view "tag", one byte per
 * dialect: core/jobs/jobcache.h), with those bytes, neither parsed nor rendered again. Failures as vex_lookup_job.
 */
void vex_lookup_job_view(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), char tag,
			 vex_lookup_render_fn render);

/* POST /jobs/{id}/stream_token: the job as vex_lookup_job, then vex_ctx_stream_token. */
void vex_lookup_job_stream_token(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), const char *path_prefix,
				 int unix_times);

#endif
