/* store.h - the store interface (SQLite now; PostgreSQL could implement the same surface). */
#ifndef VEX_STORE_H
#define VEX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

struct vex_store;

/*
 * Open (creating when needed) the database at "path": WAL, the given
 * synchronous level (0 off, 1 normal, 2 full), busy_timeout, foreign keys,
 * then apply numbered migrations (PRAGMA user_version) in one transaction.
 * Open after fork(), in each process or thread; never share across fork().
 * All statements are prepared once and reused. Every writing transaction is
 * BEGIN IMMEDIATE.
 */
int vex_store_open(const char *path, int synchronous, int busy_timeout_ms, struct vex_store **ret);
void vex_store_free(struct vex_store *s);

/* A trivial read (SELECT 1 on the connection). 0 or VEX_EIO. */
int vex_store_ping(struct vex_store *s);

/* The schema version after migrations (PRAGMA user_version). */
int vex_store_schema_version(struct vex_store *s);

/* ---- runners (store.c): liveness for /health/detailed ---- */

/* Upsert the runner's heartbeat row (id, pid, beat time). */
int vex_store_runner_beat(struct vex_store *s, const char *runner_id, int pid, int64_t now_us);
/* The most recent heartbeat of any runner; VEX_ENOTFOUND when none ever beat. */
int vex_store_runner_last_beat(struct vex_store *s, int64_t *ret_us);
/* Remove the runner's row (clean shutdown). */
int vex_store_runner_gone(struct vex_store *s, const char *runner_id);

/* ---- agents (store_agents.c) ---- */

/* Insert a validated agent (id, owner, times set by the caller). 0, VEX_EEXIST, VEX_EBUSY, VEX_EIO. */
int vex_store_agent_insert(struct vex_store *s, const struct vex_agent *a);

/* Fetch by id; "owner" NULL means any owner (admin). Deleted agents are VEX_ENOTFOUND
 * unless "include_deleted". Caller frees *ret. */
int vex_store_agent_get(struct vex_store *s, const char *id, const char *owner, int include_deleted,
			struct vex_agent **ret);

/* Replace the mutable fields (name, role, max_depth, spawn_shadow, model, tools_json, base_url,
 * schedule_json, status, generation, fitness, updated_at) of the row with a->id and a->owner.
 * VEX_ENOTFOUND when no such live row. */
int vex_store_agent_update(struct vex_store *s, const struct vex_agent *a);

/* Soft delete: status DELETED, updated_at "now_us". VEX_ENOTFOUND when absent or already deleted. */
int vex_store_agent_delete(struct vex_store *s, const char *id, const char *owner, int64_t now_us);

struct vex_agent_list {
	struct vex_agent **items;
	size_t n;
};
void vex_agent_list_release(struct vex_agent_list *l);

/* Live agents of "owner" (NULL: all owners), newest first (id DESC), with id < "before_id" when
 * not NULL, at most "limit" (1..1000). */
int vex_store_agents_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			  struct vex_agent_list *ret);

/* ---- jobs (store_jobs.c) ---- */

/*
 * Insert a new job (caller sets id, owner, plan, kind, agent_id/tool, input_json, max_attempts,
 * priority, timeout_ms, created_at, idempotency_key; status is stored as queued, rev 1).
 * When "idempotency_key" is set and the owner already has a job with that key, nothing is
 * inserted and that job is returned with *ret_created = 0. Caller frees *ret.
 */
int vex_store_job_insert(struct vex_store *s, const struct vex_job *j, struct vex_job **ret, int *ret_created);

/*
 * Insert "n" new jobs in one transaction (one fsync: group commit). Each is handled as
 * vex_store_job_insert would (idempotency per owner and key, also between jobs of the batch),
 * inside its own savepoint, so a job that fails does not undo the others. Per job: rcs[i] (0 or
 * a VEX_E... code), rets[i] (the stored job, caller frees) and created[i]. Returns 0 when the
 * transaction committed; otherwise that error, with every rcs[i] set to it and no rets.
 */
int vex_store_jobs_insert_batch(struct vex_store *s, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				int *created, int *rcs);

/* Fetch by id; "owner" NULL means any owner. Caller frees *ret. 0 or VEX_ENOTFOUND. */
int vex_store_job_get(struct vex_store *s, const char *id, const char *owner, struct vex_job **ret);

struct vex_job_filter {
	const char *owner;        /* NULL: all owners */
	int status;               /* -1: any; else an enum vex_job_status */
	int kind;                 /* -1: any; else an enum vex_job_kind */
	const char *agent_id;     /* NULL: any */
	int64_t started_after;    /* 0: no bound (exclusive bound on started_at) */
	int64_t started_before;   /* 0: no bound (exclusive) */
	const char *before_id;    /* NULL, or cursor: only ids < before_id (newest first paging) */
	int limit;                /* 1..1000 */
	int offset;               /* >= 0 */
};
/* Sets the defaults above (status/kind -1, limit 20). */
void vex_job_filter_init(struct vex_job_filter *f);

struct vex_job_list {
	struct vex_job **items;
	size_t n;
};
void vex_job_list_release(struct vex_job_list *l);

/* Jobs matching "f", newest first (id DESC). */
int vex_store_jobs_list(struct vex_store *s, const struct vex_job_filter *f, struct vex_job_list *ret);
/* How many match "f" (ignoring before_id, limit and offset). */
int vex_store_jobs_count(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret);

/*
 * Cancel on behalf of a client ("owner" NULL: any). queued -> canceled (completed_at = now,
 * error CANCELED). running: when "force_running" set cancel_requested = 1 (the runner stops it
 * and records canceled), else VEX_ESTATE. Terminal -> VEX_ESTATE. Absent -> VEX_ENOTFOUND.
 * On 0 and on VEX_ESTATE, *ret (when not NULL) receives the job as it now is.
 */
int vex_store_job_cancel(struct vex_store *s, const char *id, const char *owner, int force_running,
			 int64_t now_us, struct vex_job **ret);

/*
 * Runner side. One BEGIN IMMEDIATE transaction: pick the queued job with the highest priority,
 * oldest first, whose owner has fewer running jobs than plan_limits[job.plan]; set it running,
 * attempts + 1, started_at = now (first claim only), lease_owner = runner_id,
 * lease_expires_at = now + lease_us. VEX_ENOTFOUND when nothing is claimable.
 */
int vex_store_job_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret);

/* Extend the lease of a running job this runner holds. *ret_cancel receives cancel_requested.
 * VEX_ECONFLICT when the lease is no longer ours (rescued, finished, canceled). */
int vex_store_job_renew(struct vex_store *s, const char *id, const char *runner_id, int64_t now_us,
			int64_t lease_us, int *ret_cancel);

/* Record progress of a running job this runner holds (bumps rev). VEX_ECONFLICT as above. */
int vex_store_job_progress(struct vex_store *s, const char *id, const char *runner_id,
			   const struct vex_progress *p, int64_t now_us, struct vex_job **ret);

/*
 * Finish a running job this runner holds: status (completed | failed | timeout | canceled),
 * and from "outcome": result_json, error_code/message/details_json, tokens_in/out, final_model,
 * steps, browser_steps, browser_seconds, progress. completed_at = now, lease cleared, rev + 1.
 * VEX_ECONFLICT when the lease is not ours. *ret (when not NULL) receives the stored job.
 */
int vex_store_job_finish(struct vex_store *s, const char *id, const char *runner_id,
			 enum vex_job_status status, const struct vex_job *outcome, int64_t now_us,
			 struct vex_job **ret);

/* Give a running job back to the queue (runner shutdown): status queued, lease cleared, and
 * attempts - 1 when "refund_attempt". VEX_ECONFLICT when the lease is not ours. */
int vex_store_job_requeue(struct vex_store *s, const char *id, const char *runner_id, int refund_attempt,
			  int64_t now_us, struct vex_job **ret);

/*
 * Rescue running jobs whose lease expired before "now_us": back to queued when attempts <
 * max_attempts, else failed with error LEASE_EXPIRED. The changed jobs are returned (for the
 * cache) in *ret; caller releases.
 */
int vex_store_jobs_rescue(struct vex_store *s, int64_t now_us, struct vex_job_list *ret);

/* ---- api keys (store_keys.c) ---- */

/* ---- corex helpers (store_jobs.c) ---- */

/* ---- schedules (store_schedule.c) ---- */

#endif
