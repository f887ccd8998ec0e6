/* jobs.h - what the job commands share with tools and agents: showing a job, following it. */
#ifndef VEXCTL_JOBS_H
#define VEXCTL_JOBS_H

#include <jansson.h>

#include "tools/vexctl/http.h"

/*
 * Follows job "id" on GET /api/v1/jobs/{id}/stream until its terminal event, reconnecting with
 * Last-Event-ID when the connection drops: on a terminal a progress bar redrawn in place, else one
 * line per event, with --json each event's data as the server sent it; then the outcome (the result,
 * or the error). VC_EXIT_OK when the job completed, VC_EXIT_JOB when it failed, timed out or was
 * canceled, else VC_EXIT_API / VC_EXIT_CONN (said).
 */
int vc_watch(struct vc_client *c, const char *id);

/*
 * After a submit (tools run, agents run, jobs submit|retry): the answer "a" (raw with --json, else a
 * table of the job id and status); "wait": then vc_watch of its job. Returns the exit status.
 */
int vc_submitted(struct vc_client *c, const struct vc_answer *a, int wait);

/* Submits tool "name" with the JSON object text "args" (NULL: {}) and "timeout_ms" (0: the default). */
int vc_submit_tool(struct vc_client *c, const char *name, const char *args, long long timeout_ms, int wait);

/* Submits a run of agent "id" with "prompt". */
int vc_submit_agent(struct vc_client *c, const char *id, const char *prompt, int wait);

#endif
