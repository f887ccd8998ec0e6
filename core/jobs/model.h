/* model.h - the agent and job model (DESIGN 3), dialect-free, and its canonical JSON. */
#ifndef VEX_MODEL_H
#define VEX_MODEL_H

#include <jansson.h>
#include <stdint.h>

#include "core/base/principal.h"
#include "core/base/config.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/limits.h"

enum vex_agent_status { VEX_AGENT_ACTIVE, VEX_AGENT_PAUSED, VEX_AGENT_DELETED };

/* All times are Unix microseconds; 0 means "not set". Strings are owned (malloc) unless noted. */
struct vex_agent {
	char id[VEX_UUID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	char *name;
	char *role;          /* the system prompt */
	int max_depth;
	int spawn_shadow;
	char *model;         /* NULL: the runner's default model */
	char *tools_json;    /* NULL: every tool the owner may use; else a JSON array of names */
	char *base_url;      /* NULL unless a browser agent */
	char *schedule_json; /* NULL or {"tasksPerDay":N,"times":["HH:MM",...]} */
	enum vex_agent_status status;
	int generation;
	double fitness;
	enum vex_plan plan;  /* the creator's plan: scheduled runs are queued under it */
	int owner_admin;     /* 1 when the creator was an admin: scheduled runs decide tool grants by it */
	int64_t created_at;
	int64_t updated_at;
};

enum vex_job_kind { VEX_JOB_AGENT, VEX_JOB_TOOL };

#define VEX_JOB_REQUEST_HASH_LEN 64 /* hex SHA-256, without NUL */

enum vex_job_status {
	VEX_JOB_QUEUED,
	VEX_JOB_RUNNING,
	VEX_JOB_COMPLETED,
	VEX_JOB_FAILED,
	VEX_JOB_TIMEOUT,
	VEX_JOB_CANCELED
};
#define VEX_JOB_STATUS_COUNT 6

struct vex_progress {
	char *current_step;  /* NULL when no progress was reported */
	int total_steps;     /* 0 when unknown */
	double percentage;   /* 0..100 */
	char *message;       /* NULL or free text */
};

struct vex_job {
	char id[VEX_UUID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	enum vex_plan plan;           /* the submitter's plan: per-plan concurrency at claim time */
	int owner_admin;              /* 1 when the submitter was an admin: tool grants (core/tools/grant.h) */
	enum vex_job_kind kind;
	char agent_id[VEX_UUID_LEN + 1]; /* "" for tool jobs */
	char *tool;                   /* tool name (tool jobs); NULL for agent jobs */
	char *input_json;             /* agent: {"prompt":...,"context_id":...}; tool: the arguments object */
	enum vex_job_status status;
	int attempts;                 /* claims so far */
	int max_attempts;
	int priority;                 /* higher first */
	int64_t timeout_ms;
	int64_t created_at;
	int64_t started_at;
	int64_t completed_at;
	int64_t updated_at;
	struct vex_progress progress;
	char *result_json;            /* NULL or any JSON value */
	char *error_code;             /* NULL unless failed / timeout / canceled */
	char *error_message;
	char *error_details_json;     /* NULL or a JSON object */
	int64_t tokens_in;
	int64_t tokens_out;
	char *final_model;            /* NULL or the model that produced the answer */
	int steps;
	int browser_steps;
	double browser_seconds;
	char *idempotency_key;        /* NULL or the client's Idempotency-Key */
	char *request_hash;           /* NULL, or with a key: hex SHA-256 of the request that carried it
	                               * (VEX_JOB_REQUEST_HASH_LEN digits; fcgi-app/fields.c) */
	int cancel_requested;         /* a running job asked to stop */
	char *traceparent;            /* NULL or the W3C traceparent the submit carried, as
				       * vex_traceparent_parse keeps it (core/base/traceparent.h) */
	char *lease_owner;            /* runner id while running */
	int64_t lease_expires_at;
	int64_t rev;                  /* bumped on every change; the cache never goes backwards */
	char retry_of[VEX_UUID_LEN + 1];   /* "" or the job this one retries (POST /api/v1/jobs/{id}/retry) */
	char retried_by[VEX_UUID_LEN + 1]; /* "" or the job that retries this one */
	int queued_cap;               /* insert only, never stored: the most queued jobs the owner may
				       * have (core/base/caps.h); 0: no cap */
};

/* Status names of the core (and of the corex dialect): queued running completed failed timeout canceled. */
const char *vex_job_status_name(enum vex_job_status s);
int vex_job_status_parse(const char *name, enum vex_job_status *ret);
int vex_job_status_terminal(enum vex_job_status s);
const char *vex_job_kind_name(enum vex_job_kind k); /* "agent" | "tool" */
const char *vex_agent_status_name(enum vex_agent_status s); /* "ACTIVE" | "PAUSED" | "DELETED" */

/* Allocate zeroed; free everything owned. Both _free accept NULL. */
struct vex_agent *vex_agent_new(void);
void vex_agent_free(struct vex_agent *a);
/* Deep-copies "src" into "dst" (strings duplicated), freeing what "dst" held. 0 or VEX_ENOMEM. */
int vex_progress_copy(struct vex_progress *dst, const struct vex_progress *src);
/* Frees the strings of "p" and zeroes it. Accepts NULL. */
void vex_progress_release(struct vex_progress *p);

struct vex_job *vex_job_new(void);
void vex_job_free(struct vex_job *j);
/* Deep copy; NULL on ENOMEM. */
struct vex_job *vex_job_dup(const struct vex_job *j);

/* A copy of the new job "j" as vex_store_job_insert stores it: queued, attempts 0, rev 1,
 * updated_at = created_at (now when unset). NULL on ENOMEM. */
struct vex_job *vex_job_dup_as_new(const struct vex_job *j, int64_t now_us);

/*
 * Domain validation, shared by every dialect: name 1..100 code points without
 * control characters; role 3..500 code points; max_depth 1..10
 * (> 10 -> 422 VALIDATION_ERROR "max_depth exceeds safety limit of 10",
 * < 1 -> 422 VALIDATION_ERROR); base_url NULL or an http(s) URL;
 * schedule NULL or {"tasksPerDay":1..1440,"times":["HH:MM",...]} with distinct valid times.
 * 0 or VEX_EINVAL with "e" filled.
 */
int vex_agent_validate(const struct vex_agent *a, struct vex_field_error *e);

/* Prompt: 1..50000 code points, valid UTF-8, no NUL. 0 or VEX_EINVAL (422 VALIDATION_ERROR, field "prompt"). */
int vex_prompt_validate(const char *prompt, struct vex_field_error *e);

/*
 * The canonical JSON of a job, as stored in memcached (with owner and rev):
 * {"id","owner","plan","kind","agent_id","tool","input","status","attempts","max_attempts",
 *  "priority","timeout_ms","created_at","started_at","completed_at","updated_at",
 *  "progress":{"current_step","total_steps","percentage","message"}|null,
 *  "result":<json>|null,"error":{"code","message","details"}|null,
 *  "tokens":{"input","output"},"final_model","steps","browser_steps","browser_seconds",
 *  "cancel_requested","rev","retry_of"?,"retried_by"?,"traceparent"?}
 * (times in microseconds, null when 0; the retry links and the traceparent only when set). Lease fields, the idempotency key and the request hash are
 * not included.
 * to_json returns a new reference (NULL on ENOMEM); from_json returns 0 or VEX_EINVAL.
 */
json_t *vex_job_to_json(const struct vex_job *j);
int vex_job_from_json(const json_t *v, struct vex_job **ret);

#endif
