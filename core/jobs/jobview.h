/* jobview.h - a job as the dialects show it: the vex envelope, the corex job, the event (presenter shapes shared
 * by vex-api's handlers, its stream server and the runner's webhook bodies). Every json_t returned is a
 * new reference the caller owns. */
#ifndef VEX_JOBVIEW_H
#define VEX_JOBVIEW_H

#include <jansson.h>
#include <stdint.h>

#include "core/jobs/model.h"

/* ---- corex (seed 001): Unix seconds ---- */

/* Unix seconds of "us", or null when 0. */
json_t *vex_jobview_unix_s(int64_t us);
/* Parsed stored JSON text, or null when absent or unreadable. */
json_t *vex_jobview_stored(const char *text);
/* The stored error details object, or {}. */
json_t *vex_jobview_corex_details(const struct vex_job *j);
/* completed_at - started_at in milliseconds (0 when not both set). */
int64_t vex_jobview_run_ms(const struct vex_job *j);
/* A job as GET /jobs/{id} shows it: the fields of its status only. "position" < 1: not queued. */
json_t *vex_jobview_corex(const struct vex_job *j, int64_t position);

/* ---- vex (seed 000): RFC 3339 times, "pending" for queued ---- */

/* "pending" for queued; the core's name otherwise. */
const char *vex_jobview_vex_status(enum vex_job_status s);
/* RFC 3339 of "us", or null when 0. */
json_t *vex_jobview_time(int64_t us);
/* The envelope of GET /api/v1/jobs/{id}; agent jobs add "steps" and "final_model", and their
 * AgentJobResult carries "verified" and "confidence" after a shadow review. */
json_t *vex_jobview_vex(const struct vex_job *j);

/* ---- events (seed 002): RFC 3339 times, PENDING | RUNNING | COMPLETED | FAILED ---- */

/* An event: {"id","agentId","userId","status","startedAt","completedAt","error","finalModel",
 * "browserStepCount","browserSessionSeconds","createdAt","updatedAt"}; FAILED's "error" names the
 * core status (failed, timeout, canceled). NULL on ENOMEM. */
json_t *vex_jobview_events(const struct vex_job *j);

/* Set "retry_of" and "retried_by" on the job object "o", each only when set (every job shape of the vex and
 * corex dialects). */
void vex_jobview_retry_links(json_t *o, const struct vex_job *j);

#endif
