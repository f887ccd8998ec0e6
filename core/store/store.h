/* store.h - the store interface (SQLite now; PostgreSQL could implement the same surface). */
#ifndef VEX_STORE_H
#define VEX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/config.h"
#include "core/base/limits.h"
#include "core/base/traceparent.h"
#include "core/jobs/model.h"
#include "core/store/retention.h"

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

/*
 * Wake-ups from every host: on PostgreSQL, a connection of its own LISTENs for the notification that a
 * transaction queued a job (a new job, or one given back), sent by the jobs table's triggers at commit,
 * whichever host wrote it. SQLite has none (the runner's local socket does that): vex_store_wake_open
 * answers 0 with *ret NULL.
 */
struct vex_store_wake;

/* Open the wake-ups of the store "store" (as vex_store_open's). 0 (*ret NULL for SQLite), or VEX_E... */
int vex_store_wake_open(const char *store, struct vex_store_wake **ret);

/* The descriptor to poll for input, or -1 while the server is away (then poll with a timeout and call
 * vex_store_wake_drain, which reconnects with backoff). */
int vex_store_wake_fd(const struct vex_store_wake *w);

/* Read what arrived without blocking: the number of wake-ups (0: none). After a reconnect it answers 1, as
 * jobs may have been queued unheard meanwhile. */
int vex_store_wake_drain(struct vex_store_wake *w);

void vex_store_wake_free(struct vex_store_wake *w);

/* WAL pages after which a commit hands the checkpoint on (SQLite's own automatic threshold). */
#define VEX_STORE_CHECKPOINT_PAGES 1000

/*
 * From now on a commit on "s" that leaves VEX_STORE_CHECKPOINT_PAGES or more pages in the WAL calls
 * "due(arg)" on the committing thread, after the commit, instead of running the checkpoint itself:
 * a thread with its own connection runs it (vex_store_checkpoint) while "s" goes on writing. For a
 * writer whose every round someone waits on (the runner's), so that no round carries a checkpoint's
 * copy and fsync of the database file. "due" must be cheap and must not use "s".
 */
void vex_store_checkpoint_elsewhere(struct vex_store *s, void (*due)(void *arg), void *arg);

/* A passive checkpoint on "s": copies the WAL's committed pages into the database and syncs it,
 * never waiting for (nor blocking) readers or writers. 0 (also when a reader or another
 * checkpoint kept some pages back), or VEX_EIO. *ret_pages (when not NULL): pages in the WAL;
 * *ret_done (when not NULL): of those, pages now in the database. */
int vex_store_checkpoint(struct vex_store *s, int *ret_pages, int *ret_done);

/* ---- per-owner caps (store_caps.c); the capped writes are their functions' ---- */

/* How many of "cap" (agents, schedules, queued jobs, webhooks; not streams: VEX_EINVAL) "owner" holds now. */
int vex_store_cap_count(struct vex_store *s, enum vex_cap cap, const char *owner, int64_t *ret);

/* ---- runners (store_runners.c): liveness for /health/detailed ---- */

/* Upsert the runner's heartbeat row (id, pid, beat time). */
int vex_store_runner_beat(struct vex_store *s, const char *runner_id, int pid, int64_t now_us);
/* The most recent heartbeat of any runner; VEX_ENOTFOUND when none ever beat. */
int vex_store_runner_last_beat(struct vex_store *s, int64_t *ret_us);
/* Remove the runner's row (clean shutdown). */
int vex_store_runner_gone(struct vex_store *s, const char *runner_id);

/* ---- agents (store_agents.c) ---- */

/*
 * Insert a validated agent (id, owner, times set by the caller), held to "caps" (NULL: none): in the
 * one write transaction, the owner's live agents must be fewer than caps->max[VEX_CAP_AGENTS] and,
 * for an agent with a schedule, its live scheduled agents fewer than caps->max[VEX_CAP_SCHEDULES]
 * (a max of 0: no cap). VEX_ELIMIT with *ret_hit (when not NULL) the cap reached, nothing stored.
 * 0, VEX_ELIMIT, VEX_EEXIST, VEX_EBUSY, VEX_EIO.
 */
int vex_store_agent_insert(struct vex_store *s, const struct vex_agent *a, const struct vex_caps *caps,
			   enum vex_cap *ret_hit);

/* Fetch by id; "owner" NULL means any owner (admin). Deleted agents are VEX_ENOTFOUND
 * unless "include_deleted". Caller frees *ret. */
int vex_store_agent_get(struct vex_store *s, const char *id, const char *owner, int include_deleted,
			struct vex_agent **ret);

/* Replace the mutable fields (name, role, max_depth, spawn_shadow, model, tools_json, base_url,
 * schedule_json, status, generation, fitness, updated_at) of the row with a->id and a->owner.
 * VEX_ENOTFOUND when no such live row. Giving a schedule to an agent that had none is held to
 * caps->max[VEX_CAP_SCHEDULES] as vex_store_agent_insert (VEX_ELIMIT, *ret_hit). */
int vex_store_agent_update(struct vex_store *s, const struct vex_agent *a, const struct vex_caps *caps,
			   enum vex_cap *ret_hit);

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
 * priority, timeout_ms, created_at, idempotency_key with its request_hash; status is stored as
 * queued, rev 1). When "idempotency_key" is set and the owner already has a job with that key,
 * nothing is inserted and that job (with the request_hash it was stored with, NULL for jobs stored
 * before that column existed) is returned with *ret_created = 0: whether the two requests are the same one is
 * the caller's to decide. Otherwise, when j->queued_cap > 0 and the owner already has that many
 * queued jobs (counted in the same write transaction), nothing is inserted: VEX_ELIMIT. Caller
 * frees *ret.
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
	unsigned status_mask;     /* 0: unused; else only statuses s with bit (1u << s) set (and "status" -1) */
	int kind;                 /* -1: any; else an enum vex_job_kind */
	const char *agent_id;     /* NULL: any */
	const char *tool;         /* NULL: any; else only jobs of this tool */
	int64_t created_after;    /* 0: no bound; else created_at >= it (inclusive) */
	int64_t created_before;   /* 0: no bound; else created_at < it (exclusive) */
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

/* Jobs matching "f", newest first (id DESC). A created_at window is also a window of ids (UUIDv7:
 * their time is the submit's, VEX_JOB_ID_SLACK_US either way allowed), so that it narrows the id
 * range of whichever index serves the rest of the filter. */
#define VEX_JOB_ID_SLACK_US (300LL * 1000000)
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

/* The runner's side of the jobs (claims, leases, progress, finishes, rescue): core/store/store_runner.h,
 * included at the end of this file. */

/* ---- api keys (store_keys.c) ---- */

/* One stored key (never the key itself: only its SHA-256 lives in the table). */
struct vex_api_key {
	char id[VEX_UUID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	enum vex_role role;
	enum vex_plan plan;
	char name[VEX_APIKEY_NAME_MAX * 4 + 1]; /* "" when none */
	char prefix[16];                        /* first 8 chars after "vex_", for display */
	int64_t created_at;
	int64_t last_used_at;                   /* 0: never */
	int64_t revoked_at;                     /* 0: live */
};

/* Insert "k" (id, owner, role, plan, name, prefix, created_at) with "hash" (hex SHA-256 of the key).
 * 0, VEX_EINVAL, VEX_EEXIST (id or hash taken), VEX_EBUSY, VEX_EIO. */
int vex_store_key_insert(struct vex_store *s, const struct vex_api_key *k, const char *hash);

/* The live (not revoked) key whose hash is "hash" (a point read on the unique index). 0 or VEX_ENOTFOUND. */
int vex_store_key_by_hash(struct vex_store *s, const char *hash, struct vex_api_key *ret);

/* The key "id" (revoked or not) of "owner" (NULL: any owner). 0 or VEX_ENOTFOUND. */
int vex_store_key_get(struct vex_store *s, const char *id, const char *owner, struct vex_api_key *ret);

struct vex_api_key_list {
	struct vex_api_key *items;
	size_t n;
};
void vex_api_key_list_release(struct vex_api_key_list *l);

/* Keys of "owner" (NULL: all), revoked ones included, newest first (id DESC), with id < "before_id"
 * when not NULL, at most "limit" (1..1000). */
int vex_store_keys_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			struct vex_api_key_list *ret);

/* Revoke the live key "id" of "owner" (NULL: any): revoked_at = "now_us". VEX_ENOTFOUND when absent
 * or already revoked. */
int vex_store_key_revoke(struct vex_store *s, const char *id, const char *owner, int64_t now_us);

/* Record use at "now_us" unless last_used_at is already within the last minute (so at most one
 * write per key per minute; callers skip the call when their copy says so). 0 or VEX_E... */
int vex_store_key_touch(struct vex_store *s, const char *id, int64_t now_us);
#define VEX_APIKEY_TOUCH_US (60LL * 1000000)

/* Ids of the keys revoked at or after "since_us" (an index range on revoked_at), at most "max"
 * (1..1000): the stream server closes their streams. *ret (caller frees) of *ret_n ids. */
int vex_store_keys_revoked_since(struct vex_store *s, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
				 size_t *ret_n);

/* ---- token revocations (store_revocations.c) ---- */

/* One revocation: of the token "jti", or of every token of "sub" issued (iat) before
 * "issued_before_s" (Unix seconds); exactly one of jti and sub is set (the other ""). */
struct vex_token_revocation {
	char id[VEX_UUID_LEN + 1];
	char jti[VEX_JTI_MAX + 1];
	char sub[VEX_SUB_MAX + 1];
	int64_t issued_before_s;                       /* with sub */
	char reason[VEX_REVOCATION_REASON_MAX * 4 + 1]; /* "" when none */
	char created_by[VEX_SUB_MAX + 1];
	int64_t created_at;
};

struct vex_token_revocation_list {
	struct vex_token_revocation *items;
	size_t n;
};
void vex_token_revocation_list_release(struct vex_token_revocation_list *l);

/* Store "r". 0, VEX_EINVAL (neither or both of jti and sub), VEX_EEXIST (that jti is already revoked),
 * VEX_EBUSY, VEX_EIO. */
int vex_store_revocation_insert(struct vex_store *s, const struct vex_token_revocation *r);

/* *ret_revoked = 1 when a token of "sub" with "jti" ("" or NULL: none) issued at "iat_s" is revoked
 * (its jti, or a cut-off of its sub after iat_s); two indexed point reads, no write. 0 or VEX_E... */
int vex_store_token_revoked(struct vex_store *s, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked);

/* Revocations, newest first (id DESC), of "sub" (NULL: all), id < "before_id" when not NULL, at most
 * "limit" (1..1000). */
int vex_store_revocations_list(struct vex_store *s, const char *sub, const char *before_id, int limit,
			       struct vex_token_revocation_list *ret);

/* Revocations created at or after "since_us", at most "max" (1..1000), oldest first. */
int vex_store_revocations_since(struct vex_store *s, int64_t since_us, int max,
				struct vex_token_revocation_list *ret);

/* ---- corex helpers (store_jobs.c) ---- */

/*
 * The 1-based place of the queued job "id" in priority-and-age order (priority DESC, id ASC): 1 +
 * the queued jobs of every owner ahead of it. VEX_ENOTFOUND when absent, VEX_ESTATE when not queued.
 * (Claims are fair across owners and per-plan concurrency may let a later job start first: this is
 * an upper bound of the jobs ahead, not the claim order.)
 */
int vex_store_job_queue_position(struct vex_store *s, const char *id, int64_t *ret);

/* Looked at by vex_store_tool_recent_runs: at most this many of a tool's newest jobs. */
#define VEX_TOOL_RUNS_SCAN 1000

/*
 * The mean of completed_at - started_at (microseconds) over the newest "n" (1..1000) completed
 * jobs of "tool" (any owner), among its newest VEX_TOOL_RUNS_SCAN jobs (jobs_tool_id index).
 * *ret_count gets how many were averaged; with none, *ret_avg_us is 0.
 */
int vex_store_tool_recent_runs(struct vex_store *s, const char *tool, int n, int64_t *ret_avg_us, int *ret_count);

/* How many match "f" including its before_id bound (limit and offset ignored): the total of an
 * offset walk anchored at before_id. */
int vex_store_jobs_count_before(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret);

/* ---- schedules (store_schedule.c) ---- */

/* An ACTIVE agent with a schedule, as the scheduler needs it. */
struct vex_sched_agent {
	char id[VEX_UUID_LEN + 1];
	char *schedule_json; /* owned */
	int64_t created_at;
};

struct vex_sched_agent_list {
	struct vex_sched_agent *items;
	size_t n;
};
void vex_sched_agent_list_release(struct vex_sched_agent_list *l);

/* ACTIVE agents with a schedule (the partial index agents_scheduled), id ascending, with
 * id > "after_id" when not NULL (paging), at most "limit" (1..1000). Paused and deleted agents
 * never appear. Caller releases *ret. */
int vex_store_scheduled_agents(struct vex_store *s, const char *after_id, int limit,
			       struct vex_sched_agent_list *ret);

/* Whether the slot "slot_us" of "agent_id" was fired: 0 with *ret_fired 0 or 1. */
int vex_store_schedule_fired(struct vex_store *s, const char *agent_id, int64_t slot_us, int *ret_fired);

/* One slot to fire: the agent, the slot (Unix µs of its UTC minute), and the new job's settings. */
struct vex_sched_fire {
	const char *agent_id;
	int64_t slot_us;
	int64_t now_us;     /* fired_at and the job's created_at */
	int max_attempts;   /* >= 1 */
	int64_t timeout_ms;
	const int *queued_caps; /* NULL, or [VEX_PLAN_COUNT]: the queued-job cap of the agent's plan */
};

/*
 * Fire a slot: one BEGIN IMMEDIATE transaction that checks the agent is still ACTIVE with a
 * schedule, inserts schedule_fires(agent_id, slot, job_id, fired_at) and the queued agent job
 * (owner and plan of the agent, input {"prompt":<the agent's role (events: content)>,
 * "context_id":null,"trigger":"schedule","scheduled_for":"<RFC 3339 slot>"}). The primary key
 * (agent_id, slot) makes it happen once whatever the number of runners and restarts.
 * 0 with *ret the new job (caller frees; publish it); VEX_EEXIST when the slot was already fired
 * (nothing inserted); VEX_ENOTFOUND when the agent is absent, not ACTIVE or unscheduled;
 * VEX_EINVAL, VEX_EBUSY, VEX_EIO.
 */
int vex_store_schedule_fire(struct vex_store *s, const struct vex_sched_fire *f, struct vex_job **ret);


/* ---- job events (store_events.c): every change of a job, written by triggers (migration 2) ---- */

enum vex_job_event_type {
	VEX_EV_QUEUED,           /* the job was created */
	VEX_EV_STARTED,          /* claimed: queued -> running */
	VEX_EV_PROGRESS,         /* running, progress changed */
	VEX_EV_CANCEL_REQUESTED, /* running, a client asked it to stop */
	VEX_EV_REQUEUED,         /* running -> queued (lease rescue, runner shutdown) */
	VEX_EV_COMPLETED,
	VEX_EV_FAILED,
	VEX_EV_TIMEOUT,
	VEX_EV_CANCELED
};
#define VEX_EV_TYPE_COUNT 9

/* "queued" "started" "progress" "cancel_requested" "requeued" "completed" "failed" "timeout" "canceled" */
const char *vex_job_event_type_name(enum vex_job_event_type t);

/* One row of job_events: the job's changing fields as they were at "rev". */
struct vex_job_event {
	int64_t seq;                 /* global order of all events, ascending */
	char job_id[VEX_UUID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	int64_t rev;                 /* the job's rev after this change: the SSE id */
	enum vex_job_event_type type;
	enum vex_job_status status;
	int attempts;
	int64_t started_at;
	struct vex_progress progress; /* owned strings */
	int cancel_requested;
	int64_t at;                  /* the job's updated_at of this change */
};

struct vex_job_event_list {
	struct vex_job_event *items;
	size_t n;
};
void vex_job_event_list_release(struct vex_job_event_list *l);

/* Events of every job with seq > "after_seq", seq ascending, at most "limit" (1..10000). */
int vex_store_job_events_since(struct vex_store *s, int64_t after_seq, int limit, struct vex_job_event_list *ret);

/* Events of job "id" with rev > "after_rev", rev ascending, at most "limit" (1..10000). */
int vex_store_job_events_of(struct vex_store *s, const char *id, int64_t after_rev, int limit,
			    struct vex_job_event_list *ret);

/* The newest seq (0 when there is no event). */
int vex_store_job_events_last_seq(struct vex_store *s, int64_t *ret);

/* Pruning events (vex_store_job_events_prune), jobs and schedule fires: core/store/retention.h. */

/*
 * The job as it was at event "e": "j" (the stored job, read after the event) takes e's status,
 * attempts, started_at, progress, cancel_requested, rev and updated_at; for a non-terminal event
 * the terminal fields (completed_at, result, error, tokens, final model, steps) are cleared.
 * 0 or VEX_ENOMEM ("j" is then unchanged in its status).
 */
int vex_job_apply_event(struct vex_job *j, const struct vex_job_event *e);

/* ---- webhooks (store_webhooks.c) ---- */

enum vex_hook_status { VEX_HOOK_ACTIVE, VEX_HOOK_DISABLED, VEX_HOOK_DELETED };

/* Event bits of a webhook's "events" mask. */
#define VEX_HOOK_EV_QUEUED    (1u << 0) /* job.queued */
#define VEX_HOOK_EV_STARTED   (1u << 1) /* job.started */
#define VEX_HOOK_EV_COMPLETED (1u << 2) /* job.completed */
#define VEX_HOOK_EV_FAILED    (1u << 3) /* job.failed */
#define VEX_HOOK_EV_CANCELED  (1u << 4) /* job.canceled */
#define VEX_HOOK_EV_TIMEOUT   (1u << 5) /* job.timeout */
#define VEX_HOOK_EV_ALL       0x3fu
#define VEX_HOOK_ID_LEN 37 /* "hook_" + 32 hex */

struct vex_webhook {
	char id[VEX_HOOK_ID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	char *url;
	unsigned events;          /* VEX_HOOK_EV_* */
	char *description;        /* NULL when none */
	char *secret;             /* "whsec_" + base64 of 32 random bytes */
	enum vex_hook_status status;
	char *disabled_reason;    /* NULL unless disabled */
	int64_t failing_since;    /* 0: the last attempt succeeded (or none yet) */
	char *last_error;         /* NULL or the last failed attempt, in words */
	int64_t created_at;
	int64_t updated_at;
};
void vex_webhook_free(struct vex_webhook *h);

struct vex_webhook_list {
	struct vex_webhook **items;
	size_t n;
};
void vex_webhook_list_release(struct vex_webhook_list *l);

/* Insert "h" (every field set by the caller; h->secret as it is to be stored: sealed, see
 * vex_hook_secret_seal), held to caps->max[VEX_CAP_WEBHOOKS] (NULL "caps" or 0: none): the owner's
 * live hooks are counted in the same write transaction; at the cap VEX_ELIMIT and nothing stored.
 * 0, VEX_ELIMIT, VEX_EINVAL, VEX_EEXIST, VEX_EBUSY, VEX_EIO. */
int vex_store_webhook_insert(struct vex_store *s, const struct vex_webhook *h, const struct vex_caps *caps);

/* The associated data that binds a hook's sealed secret to its row: "webhooks.secret:<id>". */
#define VEX_HOOK_SECRET_AD_MAX (16 + VEX_HOOK_ID_LEN)
void vex_hook_secret_ad(const char *id, char out[VEX_HOOK_SECRET_AD_MAX + 1]);

struct vex_sealring;
/*
 * At start: every hook's secret (deleted ones too) that is plaintext (a database from before
 * sealing) or sealed under the previous key is sealed under r->cur, in one BEGIN IMMEDIATE
 * transaction. *ret_sealed: values rewritten; *ret_failed: values no key of "r" opens (left as
 * they are; their deliveries fail). 0, VEX_EBUSY, VEX_EIO, VEX_ENOMEM.
 */
int vex_store_webhook_secrets_seal(struct vex_store *s, const struct vex_sealring *r, int *ret_sealed,
				   int *ret_failed);

/* Fetch by id; "owner" NULL means any owner. Deleted hooks are VEX_ENOTFOUND. Caller frees *ret. */
int vex_store_webhook_get(struct vex_store *s, const char *id, const char *owner, struct vex_webhook **ret);

/* Replace url, events, description and updated_at of the live row h->id (of h->owner), and when
 * "set_status" also status, disabled_reason, failing_since and last_error. VEX_ENOTFOUND when no
 * such live row. */
int vex_store_webhook_update(struct vex_store *s, const struct vex_webhook *h, int set_status);

/* Soft delete (status deleted) and, in the same transaction, cancel its pending deliveries.
 * "owner" NULL: any owner. VEX_ENOTFOUND when absent or already deleted. */
int vex_store_webhook_delete(struct vex_store *s, const char *id, const char *owner, int64_t now_us);

/* Live (active or disabled) hooks of "owner" (NULL: all), newest first (id DESC), with
 * id < "before_id" when not NULL, at most "limit" (1..1000). */
int vex_store_webhooks_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			    struct vex_webhook_list *ret);

/* The active hooks of "owner" whose mask has any bit of "event_bits" (the fan-out). */
int vex_store_webhooks_matching(struct vex_store *s, const char *owner, unsigned event_bits,
				struct vex_webhook_list *ret);

/* ---- webhook deliveries (store_deliveries.c) ---- */

enum vex_delivery_status { VEX_DLV_PENDING, VEX_DLV_DELIVERED, VEX_DLV_FAILED, VEX_DLV_CANCELED };
#define VEX_DELIVERY_ID_LEN 36 /* "msg_" + 32 hex: the webhook-id header */
#define VEX_DELIVERY_BODY_CAP 1024 /* bytes of a receiver's answer kept per attempt */

/* One attempt to deliver. */
struct vex_delivery_attempt {
	int n;                /* 1, 2, ... */
	int64_t at;
	int status_code;      /* 0: no HTTP answer (connection refused, timeout, refused target) */
	char *error;          /* NULL on success; else what went wrong, in words */
	int64_t duration_us;
	char *response_body;  /* NULL or at most VEX_DELIVERY_BODY_CAP bytes of the answer */
};

struct vex_delivery {
	char id[VEX_DELIVERY_ID_LEN + 1];
	char hook_id[VEX_HOOK_ID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	char job_id[VEX_UUID_LEN + 1];
	int64_t event_seq;
	char event[32];               /* "job.completed" ... */
	char *payload;                /* the exact body of every attempt */
	enum vex_delivery_status status;
	int attempts;
	int64_t next_at;              /* pending: when the next attempt is due */
	int last_status_code;         /* 0: none */
	char *last_error;
	int64_t created_at;
	int64_t finished_at;          /* 0 while pending */
	char resend_of[VEX_DELIVERY_ID_LEN + 1]; /* "" or the delivery this one re-sends */
	struct vex_delivery_attempt *log; /* filled by vex_store_deliveries_list, oldest first */
	size_t nlog;
};
void vex_delivery_release(struct vex_delivery *d);

struct vex_delivery_list {
	struct vex_delivery *items;
	size_t n;
};
void vex_delivery_list_release(struct vex_delivery_list *l);

/* "pending" "delivered" "failed" "canceled" */
const char *vex_delivery_status_name(enum vex_delivery_status st);

/* Deliveries of hook "hook_id", newest first (id DESC), with id < "before_id" when not NULL, at most
 * "limit" (1..1000), each with its attempts. The caller has checked the hook's owner. */
int vex_store_deliveries_list(struct vex_store *s, const char *hook_id, const char *before_id, int limit,
			      struct vex_delivery_list *ret);

/* The delivery "id" with its attempts (oldest first). 0 or VEX_ENOTFOUND. Caller releases *ret. */
int vex_store_delivery_get(struct vex_store *s, const char *id, struct vex_delivery *ret);

/* The hook event a job event becomes ("job.queued" ...) and its VEX_HOOK_EV_* bit in *ret_bit;
 * NULL (bit 0) for events no hook hears of (progress, cancel_requested). requeued -> job.queued. */
const char *vex_hook_event_of(enum vex_job_event_type t, unsigned *ret_bit);

/*
 * The body of a delivery for job event "e" as hook event "event" ("job.completed" ...), asked once
 * per event that has a matching hook, inside the fan-out's transaction ("s" may be read).
 * 0 with *ret_payload (malloc'd, the store frees it); VEX_ENOTFOUND skips the event; any other
 * error undoes the whole batch.
 */
typedef int (*vex_hook_payload_fn)(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event,
				   char **ret_payload);

/*
 * Fan-out, in one BEGIN IMMEDIATE transaction: the job events after the 'webhooks' cursor (at most
 * "limit", 1..10000), each to the ACTIVE hooks of the event's owner that listen for it (one pending
 * delivery per hook and event: id "msg_" + 32 hex of a UUIDv7, next_at = "now_us"), then the cursor
 * moves past them. Several runners may call it: each event fans out once (and the unique
 * (hook_id, event_seq) index guards it too). Nothing is written when no event is new.
 * *ret_events (events passed) and *ret_created (deliveries made) when not NULL.
 */
int vex_store_hooks_fanout(struct vex_store *s, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			   int *ret_events, int *ret_created);

/* A claimed delivery with what sending it needs. */
struct vex_delivery_claim {
	struct vex_delivery d; /* without log */
	char *url;
	char *secret;
	char traceparent[VEX_TRACEPARENT_LEN + 1]; /* the job's W3C traceparent; "" when none */
};

struct vex_delivery_claim_list {
	struct vex_delivery_claim *items;
	size_t n;
};
void vex_delivery_claim_list_release(struct vex_delivery_claim_list *l);

/*
 * Claim up to "max" (1..1000) due deliveries, in one BEGIN IMMEDIATE transaction: pending,
 * next_at <= now, not claimed (claimed_until NULL or past), and with no older pending delivery of
 * the same hook and job (order per job). Fair across owners (docs/api-webhooks.md): each owner's
 * first delivery before anyone's second, the owner with fewest deliveries in flight first, an
 * owner's hooks in turn; and no hook gets more than "per_hook" (>= 1) in flight, counting every
 * runner's claims that have not run out. Each gets claimed_by "runner_id", claimed_until
 * now + "lease_us". Due deliveries of a hook that is no longer active are canceled instead.
 * An empty list when nothing is due (then without taking the write lock). Caller releases *ret.
 */
int vex_store_deliveries_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			       int max, int per_hook, struct vex_delivery_claim_list *ret);

/* Drop the claims "runner_id" holds on pending deliveries (its shutdown, or a restart under the
 * same id) so that they are due again at once. *ret_n (when not NULL) gets how many. */
int vex_store_deliveries_unclaim(struct vex_store *s, const char *runner_id, int *ret_n);

/* What became of a delivery after an attempt. */
struct vex_delivery_outcome {
	enum vex_delivery_status status; /* VEX_DLV_DELIVERED, VEX_DLV_PENDING (again at next_at) or VEX_DLV_FAILED */
	int64_t next_at;
	int gone;                        /* the receiver answered 410: the delivery fails, the hook is disabled */
	int64_t disable_after_us;        /* a hook failing at least this long is disabled (0: never) */
};

#define VEX_HOOK_GONE_REASON "the receiver answered 410 Gone"

/*
 * Record attempt "a" of delivery "id" in one BEGIN IMMEDIATE transaction: a webhook_attempts row
 * (n = the next number, whatever a->n says; a->response_body cut to VEX_DELIVERY_BODY_CAP bytes
 * of valid UTF-8, invalid bytes as '?') and attempts + 1. When the delivery is still pending and
 * claimed by "runner_id" it also takes "o" (delivered or failed with finished_at = now, or pending
 * again at o->next_at), last_status_code and last_error, and the claim is cleared; otherwise
 * (canceled meanwhile, or claimed by another runner after our claim ran out) nothing else of it
 * changes but the dropping of our own claim. The hook, when still active: a delivery ("o" delivered)
 * clears failing_since and last_error; a failure sets failing_since (when unset) to a->at and
 * last_error (a->error, else "the receiver answered <code>"); o->gone (410) disables it with the
 * reason VEX_HOOK_GONE_REASON, and so does failing since at least o->disable_after_us before
 * "now_us", with "failing since <RFC 3339>: <last error>"; disabling cancels the hook's pending
 * deliveries (last_error "webhook disabled" where none). *ret_disabled (when not NULL) gets 1 when
 * this attempt disabled the hook. 0, VEX_ENOTFOUND, VEX_EINVAL, VEX_ENOMEM, VEX_EBUSY, VEX_EIO.
 */
int vex_store_delivery_attempt(struct vex_store *s, const char *id, const char *runner_id,
			       const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o, int64_t now_us,
			       int *ret_disabled);

/* One attempt for vex_store_deliveries_record. */
struct vex_delivery_record {
	const char *id;                       /* the delivery */
	struct vex_delivery_attempt attempt;  /* borrowed strings */
	struct vex_delivery_outcome outcome;
	int rc;                               /* out: 0, or VEX_ENOTFOUND (no such delivery: skipped) */
	int disabled;                         /* out: 1 when this attempt disabled the hook */
};

/* vex_store_delivery_attempt for "n" (0..1000) attempts in one transaction (one fsync for a burst of
 * answers). 0 when the transaction committed (see each rc), else the error and nothing recorded. */
int vex_store_deliveries_record(struct vex_store *s, const char *runner_id, struct vex_delivery_record *recs,
				size_t n, int64_t now_us);


/* ---- the tool catalog (store_tools.c): command and MCP tools as the runner published them ---- */

struct vex_tool_row {
	char *name;         /* the full name: "<command>" or "<server>.<tool>" */
	char *short_name;   /* the name without its server: what a bare name matches */
	char *server;       /* the MCP server; NULL for command tools */
	char *source;       /* "command" | "mcp" */
	char *description;  /* "" when none */
	char *input_schema; /* a JSON Schema object, as text */
	int64_t updated_at;
	char *grant;        /* who besides admins may run it (core/tools/grant.h), as text; NULL: admins only */
};

struct vex_tool_rows {
	struct vex_tool_row *items;
	size_t n;
};
/* Free the strings of one row and zero it; of a list, every row and the array. */
void vex_tool_row_release(struct vex_tool_row *r);
void vex_tool_rows_release(struct vex_tool_rows *l);

/* Replace, in one transaction, every row of "source" ("command") or, for "mcp", every row of
 * "server", with "rows" (names unique; each row's source and server must match). VEX_EINVAL
 * (nothing written) for a mismatch, an empty or control-character name, a name over 256 bytes, a
 * description over 64 KiB, a schema over 1 MiB or more than 10000 rows; VEX_EEXIST for a repeated name. */
int vex_store_tools_replace(struct vex_store *s, const char *source, const char *server,
			    const struct vex_tool_rows *rows, int64_t now_us);

/* Delete the rows of MCP servers not among "keep" ("n" names; n 0 deletes every MCP row). */
int vex_store_tools_keep_servers(struct vex_store *s, const char *const *keep, size_t n);

/* Every row, by name (at most 10000). */
int vex_store_tools_list(struct vex_store *s, struct vex_tool_rows *ret);

/* Which rows a lookup sees: 1 to keep "r". */
typedef int (*vex_tool_filter)(const struct vex_tool_row *r, const void *arg);

/* The row named exactly "name"; else the one row whose short_name is "name": 0 with ret->n == 1.
 * Only rows "keep" (when not NULL) accepts exist for the lookup, candidates included.
 * VEX_ENOTFOUND; or VEX_ECONFLICT with the candidates in *ret when several rows share that short
 * name (the caller names them). The caller releases *ret on 0 and on VEX_ECONFLICT. */
int vex_store_tool_resolve(struct vex_store *s, const char *name, vex_tool_filter keep, const void *arg,
			   struct vex_tool_rows *ret);

#include "core/store/store_runner.h"
#include "core/store/operator.h"
#include "core/store/store_metrics.h"
#include "core/store/stats.h"

#endif
