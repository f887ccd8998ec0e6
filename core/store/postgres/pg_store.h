/* pg_store.h - the PostgreSQL backend's side of the store interface: what core/store/store.c hands over to a
 * connection of kind VEX_STORE_POSTGRES (the backend is being built: these, and nothing else yet). */
#ifndef VEX_PG_STORE_H
#define VEX_PG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/jobs/model.h"
#include "core/store/store_backend.h"

struct vex_pg;

/* The PostgreSQL connection behind "s" (of kind VEX_STORE_POSTGRES; NULL stays NULL). */
static inline struct vex_pg *vex_pg_of(struct vex_store *s)
{
	return (struct vex_pg *)(void *)s;
}

/* The interface's view of "p" (its first member). */
static inline struct vex_store *vex_pg_base(struct vex_pg *p)
{
	return (struct vex_store *)(void *)p;
}

/* 1 when "url" names a PostgreSQL database (postgresql:// or postgres://), else 0. */
int vex_pg_url(const char *url);

/*
 * Connect to "url" (a libpq URL or keyword string), set statement_timeout, and apply the migrations.
 * 0 with *ret; VEX_EINVAL for a URL libpq cannot parse or a schema newer than this program's; VEX_EIO
 * when the server cannot be reached (logged without the URL's password). The caller frees *ret.
 */
int vex_pg_open(const char *url, int statement_timeout_ms, struct vex_pg **ret);
void vex_pg_free(struct vex_pg *p);

/* A trivial query (SELECT 1), reconnecting first when the connection was lost. 0 or VEX_EIO. */
int vex_pg_ping(struct vex_pg *p);

/* The schema version of the connection's database (as vex_store_schema_version), or VEX_EIO. */
int vex_pg_version(struct vex_pg *p);

/* ---- what the backend has of the interface so far: vex_pg_X does what core/store/ says of vex_store_X ---- */

struct vex_runner_info;
struct vex_runner_infos;

int vex_pg_runner_beat(struct vex_pg *p, const char *runner_id, int pid, int64_t now_us);
int vex_pg_runner_last_beat(struct vex_pg *p, int64_t *ret_us);
int vex_pg_runner_gone(struct vex_pg *p, const char *runner_id);
int vex_pg_runner_report(struct vex_pg *p, const struct vex_runner_info *r);
int vex_pg_runners_list(struct vex_pg *p, struct vex_runner_infos *ret);

/* store_keys.c and store_revocations.c: API keys and token revocations */
struct vex_api_key;
struct vex_api_key_list;
struct vex_token_revocation;
struct vex_token_revocation_list;

int vex_pg_key_insert(struct vex_pg *p, const struct vex_api_key *k, const char *hash);
int vex_pg_key_by_hash(struct vex_pg *p, const char *hash, struct vex_api_key *ret);
int vex_pg_key_get(struct vex_pg *p, const char *id, const char *owner, struct vex_api_key *ret);
int vex_pg_keys_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
		     struct vex_api_key_list *ret);
int vex_pg_key_revoke(struct vex_pg *p, const char *id, const char *owner, int64_t now_us);
int vex_pg_key_touch(struct vex_pg *p, const char *id, int64_t now_us);
int vex_pg_keys_revoked_since(struct vex_pg *p, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
			      size_t *ret_n);
int vex_pg_revocation_insert(struct vex_pg *p, const struct vex_token_revocation *r);
int vex_pg_token_revoked(struct vex_pg *p, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked);
int vex_pg_revocations_list(struct vex_pg *p, const char *sub, const char *before_id, int limit,
			    struct vex_token_revocation_list *ret);
int vex_pg_revocations_since(struct vex_pg *p, int64_t since_us, int max, struct vex_token_revocation_list *ret);

/* store_pauses.c and store_tools.c: paused claiming and the tool catalog */
struct vex_claim_pause_list;
struct vex_tool_row;
struct vex_tool_rows;

int vex_pg_claim_pause(struct vex_pg *p, const char *tool, const char *by, int64_t now_us);
int vex_pg_claim_resume(struct vex_pg *p, const char *tool, int *ret_changed);
int vex_pg_claim_pauses(struct vex_pg *p, struct vex_claim_pause_list *ret);
int vex_pg_tools_replace(struct vex_pg *p, const char *source, const char *server, const struct vex_tool_rows *rows,
			 int64_t now_us);
int vex_pg_tools_keep_servers(struct vex_pg *p, const char *const *keep, size_t n);
int vex_pg_tools_list(struct vex_pg *p, struct vex_tool_rows *ret);
int vex_pg_tool_resolve(struct vex_pg *p, const char *name, int (*keep)(const struct vex_tool_row *, const void *),
			const void *arg, struct vex_tool_rows *ret);

/* store_agents.c and store_caps.c: agents and per-owner caps */
struct vex_agent;
struct vex_agent_list;

int vex_pg_agent_insert(struct vex_pg *p, const struct vex_agent *a, const struct vex_caps *caps,
			enum vex_cap *ret_hit);
int vex_pg_agent_get(struct vex_pg *p, const char *id, const char *owner, int include_deleted,
		     struct vex_agent **ret);
int vex_pg_agent_update(struct vex_pg *p, const struct vex_agent *a, const struct vex_caps *caps,
			enum vex_cap *ret_hit);
int vex_pg_agent_delete(struct vex_pg *p, const char *id, const char *owner, int64_t now_us);
int vex_pg_agents_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
		       struct vex_agent_list *ret);
int vex_pg_cap_count(struct vex_pg *p, enum vex_cap cap, const char *owner, int64_t *ret);

/* store_webhooks.c: webhook registrations */
struct vex_webhook;
struct vex_webhook_list;
struct vex_sealring;

int vex_pg_webhook_insert(struct vex_pg *p, const struct vex_webhook *h, const struct vex_caps *caps);
int vex_pg_webhook_get(struct vex_pg *p, const char *id, const char *owner, struct vex_webhook **ret);
int vex_pg_webhook_update(struct vex_pg *p, const struct vex_webhook *h, int set_status);
int vex_pg_webhook_delete(struct vex_pg *p, const char *id, const char *owner, int64_t now_us);
int vex_pg_webhooks_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
			 struct vex_webhook_list *ret);
int vex_pg_webhooks_matching(struct vex_pg *p, const char *owner, unsigned event_bits, struct vex_webhook_list *ret);
int vex_pg_webhook_secrets_seal(struct vex_pg *p, const struct vex_sealring *r, int *ret_sealed, int *ret_failed);

/* wake.c: vex_store_wake_open for a PostgreSQL URL */
struct vex_store_wake;

int vex_pg_wake_open(const char *url, struct vex_store_wake **ret);

/* store_jobs.c: jobs (get, insert; the listings are to come) */
struct vex_job;

int vex_pg_job_get(struct vex_pg *p, const char *id, const char *owner, struct vex_job **ret);
int vex_pg_job_insert(struct vex_pg *p, const struct vex_job *j, struct vex_job **ret, int *ret_created);
int vex_pg_jobs_insert_batch(struct vex_pg *p, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
			     int *created, int *rcs);

/* store_stats_minutes.c, store_stats_rollup.c, store_metrics.c and store_maint.c: the rollup, /metrics' counts, and
 * SQLite's housekeeping as the server does it (vacuum, checkpoints) */
struct vex_stat_rows;
struct vex_store_counts;

int vex_pg_stat_minutes(struct vex_pg *p, const char *owner, int64_t from_minute, int by_name,
			struct vex_stat_rows *ret);
int vex_pg_stat_minutes_prune(struct vex_pg *p, int64_t before_minute, int limit, int64_t *ret_deleted);
int vex_pg_stats_rollup(struct vex_pg *p, int limit, int64_t *ret_events);
int vex_pg_metrics_counts(struct vex_pg *p, struct vex_store_counts *ret);
int vex_pg_auto_vacuum(struct vex_pg *p);
int vex_pg_vacuum_step(struct vex_pg *p, int max_pages, int keep_pages, int64_t *ret_freed);
int vex_pg_checkpoint(struct vex_pg *p, int *ret_pages, int *ret_done);
void vex_pg_checkpoint_elsewhere(struct vex_pg *p, void (*due)(void *arg), void *arg);

/* store_schedule.c, store_operator.c and store_retention.c: scheduled fires, cancel by filter, pruning */
struct vex_sched_agent_list;
struct vex_sched_fire;
struct vex_cancel_filter;
struct vex_job_list;

int vex_pg_scheduled_agents(struct vex_pg *p, const char *after_id, int limit, struct vex_sched_agent_list *ret);
int vex_pg_schedule_fired(struct vex_pg *p, const char *agent_id, int64_t slot_us, int *ret_fired);
int vex_pg_schedule_fire(struct vex_pg *p, const struct vex_sched_fire *f, struct vex_job **ret);
int vex_pg_jobs_cancel_batch(struct vex_pg *p, const struct vex_cancel_filter *f, enum vex_job_status which, int max,
			     int64_t now_us, struct vex_job_list *ret);
int vex_pg_job_events_prune(struct vex_pg *p, int64_t before_us, int limit, int64_t *ret_deleted);
int vex_pg_jobs_prune(struct vex_pg *p, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1], int *ret_n);
int vex_pg_schedule_fires_prune(struct vex_pg *p, int64_t before_slot_us, int limit, int64_t *ret_deleted);

/* store_jobs.c (listings), store_runners.c (running jobs), store_events.c and store_stats.c: the reads of jobs */
struct vex_job_filter;
struct vex_job_list;
struct vex_job_event_list;
struct vex_running_jobs;

int vex_pg_jobs_list(struct vex_pg *p, const struct vex_job_filter *f, struct vex_job_list *ret);
int vex_pg_jobs_count(struct vex_pg *p, const struct vex_job_filter *f, int64_t *ret);
int vex_pg_jobs_count_before(struct vex_pg *p, const struct vex_job_filter *f, int64_t *ret);
int vex_pg_job_queue_position(struct vex_pg *p, const char *id, int64_t *ret);
int vex_pg_tool_recent_runs(struct vex_pg *p, const char *tool, int n, int64_t *ret_avg_us, int *ret_count);
int vex_pg_running_jobs(struct vex_pg *p, const char *owner, int limit, struct vex_running_jobs *ret);
int vex_pg_job_events_since(struct vex_pg *p, int64_t after_seq, int limit, struct vex_job_event_list *ret);
int vex_pg_job_events_of(struct vex_pg *p, const char *id, int64_t after_rev, int limit,
			 struct vex_job_event_list *ret);
int vex_pg_job_events_last_seq(struct vex_pg *p, int64_t *ret);
int vex_pg_status_counts(struct vex_pg *p, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT]);
int vex_pg_oldest_queued(struct vex_pg *p, const char *owner, char ret_id[VEX_UUID_LEN + 1], int64_t *ret_created_at);

/* store_deliveries.c, store_delivery_claims.c, store_attempts.c: webhook deliveries, their claims and attempts */
struct vex_delivery;
struct vex_delivery_list;
struct vex_delivery_claim_list;
struct vex_delivery_attempt;
struct vex_delivery_outcome;
struct vex_delivery_record;

int vex_pg_deliveries_list(struct vex_pg *p, const char *hook_id, const char *before_id, int limit,
			   struct vex_delivery_list *ret);
int vex_pg_job_deliveries(struct vex_pg *p, const char *job_id, int limit, struct vex_delivery_list *ret);
int vex_pg_delivery_get(struct vex_pg *p, const char *id, struct vex_delivery *ret);
int vex_pg_hooks_fanout(struct vex_pg *p, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			int *ret_events, int *ret_created);
int vex_pg_delivery_resend(struct vex_pg *p, const char *hook_id, const char *id, int64_t now_us,
			   struct vex_delivery *ret);
int vex_pg_deliveries_claim(struct vex_pg *p, const char *runner_id, int64_t now_us, int64_t lease_us, int max,
			    int per_hook, struct vex_delivery_claim_list *ret);
int vex_pg_deliveries_unclaim(struct vex_pg *p, const char *runner_id, int *ret_n);
int vex_pg_deliveries_record(struct vex_pg *p, const char *runner_id, struct vex_delivery_record *recs, size_t n,
			     int64_t now_us);
int vex_pg_delivery_attempt(struct vex_pg *p, const char *id, const char *runner_id,
			    const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o, int64_t now_us,
			    int *ret_disabled);

/* store_job_writes.c and store_job_states.c: the runner's job writes (claims, rounds, progress, finish, requeue)
 * and transitions (cancel, renew, rescue) */
struct vex_job_write;
struct vex_claim_batch;
struct vex_insert_batch;
struct vex_progress;
struct vex_job_list;

int vex_pg_jobs_round(struct vex_pg *p, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
		      struct vex_claim_batch *claim, int64_t now_us);
int vex_pg_jobs_write_batch(struct vex_pg *p, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
			    int64_t now_us);
int vex_pg_job_cancel(struct vex_pg *p, const char *id, const char *owner, int force_running, int64_t now_us,
		      struct vex_job **ret);
int vex_pg_job_renew(struct vex_pg *p, const char *id, const char *runner_id, int64_t now_us, int64_t lease_us,
		     int *ret_cancel);
int vex_pg_jobs_rescue(struct vex_pg *p, int64_t now_us, struct vex_job_list *ret);

#endif
