/* sqlite_store.h - the SQLite backend's side of the store interface: vex_sqlite_X does what the headers of
 * core/store/ document for vex_store_X, on a SQLite connection (store.c hands the calls over). */
#ifndef VEX_SQLITE_STORE_H
#define VEX_SQLITE_STORE_H

#include "core/store/operator.h"
#include "core/store/retention.h"
#include "core/store/stats.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"
#include "core/store/store_explain.h"
#include "core/store/store_metrics.h"
#include "core/store/store_runner.h"

struct vex_sqlite;

/* The SQLite connection behind "s" (a connection of kind VEX_STORE_SQLITE; NULL stays NULL). */
static inline struct vex_sqlite *vex_sqlite_of(struct vex_store *s)
{
	return (struct vex_sqlite *)(void *)s;
}

/* The interface's view of the SQLite connection "q" (its first member). */
static inline struct vex_store *vex_sqlite_base(struct vex_sqlite *q)
{
	return (struct vex_store *)(void *)q;
}

int vex_sqlite_agent_delete(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us);
int vex_sqlite_agent_get(struct vex_sqlite *s, const char *id, const char *owner, int include_deleted,
			 struct vex_agent **ret);
int vex_sqlite_agent_insert(struct vex_sqlite *s, const struct vex_agent *a, const struct vex_caps *caps,
			    enum vex_cap *ret_hit);
int vex_sqlite_agent_update(struct vex_sqlite *s, const struct vex_agent *a, const struct vex_caps *caps,
			    enum vex_cap *ret_hit);
int vex_sqlite_agents_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			   struct vex_agent_list *ret);
int vex_sqlite_auto_vacuum(struct vex_sqlite *s);
int vex_sqlite_cap_count(struct vex_sqlite *s, enum vex_cap cap, const char *owner, int64_t *ret);
int vex_sqlite_checkpoint(struct vex_sqlite *s, int *ret_pages, int *ret_done);
void vex_sqlite_checkpoint_elsewhere(struct vex_sqlite *s, void (*due)(void *arg), void *arg);
int vex_sqlite_claim_pause(struct vex_sqlite *s, const char *tool, const char *by, int64_t now_us);
int vex_sqlite_claim_pauses(struct vex_sqlite *s, struct vex_claim_pause_list *ret);
int vex_sqlite_claim_resume(struct vex_sqlite *s, const char *tool, int *ret_changed);
int vex_sqlite_deliveries_claim(struct vex_sqlite *s, const char *runner_id, int64_t now_us, int64_t lease_us, int max,
				int per_hook, struct vex_delivery_claim_list *ret);
int vex_sqlite_deliveries_list(struct vex_sqlite *s, const char *hook_id, const char *before_id, int limit,
			       struct vex_delivery_list *ret);
int vex_sqlite_deliveries_record(struct vex_sqlite *s, const char *runner_id, struct vex_delivery_record *recs,
				 size_t n, int64_t now_us);
int vex_sqlite_deliveries_unclaim(struct vex_sqlite *s, const char *runner_id, int *ret_n);
int vex_sqlite_delivery_attempt(struct vex_sqlite *s, const char *id, const char *runner_id,
				const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o,
				int64_t now_us, int *ret_disabled);
int vex_sqlite_delivery_get(struct vex_sqlite *s, const char *id, struct vex_delivery *ret);
int vex_sqlite_delivery_resend(struct vex_sqlite *s, const char *hook_id, const char *id, int64_t now_us,
			       struct vex_delivery *ret);
int vex_sqlite_explain(struct vex_sqlite *s, int (*fn)(void *arg, const char *sql, const char *detail), void *arg);
void vex_sqlite_free(struct vex_sqlite *s);
int vex_sqlite_hooks_fanout(struct vex_sqlite *s, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			    int *ret_events, int *ret_created);
int vex_sqlite_job_cancel(struct vex_sqlite *s, const char *id, const char *owner, int force_running, int64_t now_us,
			  struct vex_job **ret);
int vex_sqlite_job_deliveries(struct vex_sqlite *s, const char *job_id, int limit, struct vex_delivery_list *ret);
int vex_sqlite_job_events_last_seq(struct vex_sqlite *s, int64_t *ret);
int vex_sqlite_job_events_of(struct vex_sqlite *s, const char *id, int64_t after_rev, int limit,
			     struct vex_job_event_list *ret);
int vex_sqlite_job_events_prune(struct vex_sqlite *s, int64_t before_us, int limit, int64_t *ret_deleted);
int vex_sqlite_job_events_since(struct vex_sqlite *s, int64_t after_seq, int limit, struct vex_job_event_list *ret);
int vex_sqlite_job_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_job **ret);
int vex_sqlite_job_insert(struct vex_sqlite *s, const struct vex_job *j, struct vex_job **ret, int *ret_created);
int vex_sqlite_job_queue_position(struct vex_sqlite *s, const char *id, int64_t *ret);
int vex_sqlite_job_renew(struct vex_sqlite *s, const char *id, const char *runner_id, int64_t now_us, int64_t lease_us,
			 int *ret_cancel);
int vex_sqlite_jobs_cancel_batch(struct vex_sqlite *s, const struct vex_cancel_filter *f, enum vex_job_status which,
				 int max, int64_t now_us, struct vex_job_list *ret);
int vex_sqlite_jobs_count(struct vex_sqlite *s, const struct vex_job_filter *f, int64_t *ret);
int vex_sqlite_jobs_count_before(struct vex_sqlite *s, const struct vex_job_filter *f, int64_t *ret);
int vex_sqlite_jobs_insert_batch(struct vex_sqlite *s, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				 int *created, int *rcs);
int vex_sqlite_jobs_list(struct vex_sqlite *s, const struct vex_job_filter *f, struct vex_job_list *ret);
int vex_sqlite_jobs_prune(struct vex_sqlite *s, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1],
			  int *ret_n);
int vex_sqlite_jobs_rescue(struct vex_sqlite *s, int64_t now_us, struct vex_job_list *ret);
int vex_sqlite_jobs_round(struct vex_sqlite *s, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
			  struct vex_claim_batch *claim, int64_t now_us);
int vex_sqlite_jobs_write_batch(struct vex_sqlite *s, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
				int64_t now_us);
int vex_sqlite_key_by_hash(struct vex_sqlite *s, const char *hash, struct vex_api_key *ret);
int vex_sqlite_key_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_api_key *ret);
int vex_sqlite_key_insert(struct vex_sqlite *s, const struct vex_api_key *k, const char *hash);
int vex_sqlite_key_revoke(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us);
int vex_sqlite_key_touch(struct vex_sqlite *s, const char *id, int64_t now_us);
int vex_sqlite_keys_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			 struct vex_api_key_list *ret);
int vex_sqlite_keys_revoked_since(struct vex_sqlite *s, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
				  size_t *ret_n);
int vex_sqlite_metrics_counts(struct vex_sqlite *s, struct vex_store_counts *ret);
int vex_sqlite_oldest_queued(struct vex_sqlite *s, const char *owner, char ret_id[VEX_UUID_LEN + 1],
			     int64_t *ret_created_at);
int vex_sqlite_open(const char *path, int synchronous, int busy_timeout_ms, struct vex_sqlite **ret);
int vex_sqlite_ping(struct vex_sqlite *s);
int vex_sqlite_revocation_insert(struct vex_sqlite *s, const struct vex_token_revocation *r);
int vex_sqlite_revocations_list(struct vex_sqlite *s, const char *sub, const char *before_id, int limit,
				struct vex_token_revocation_list *ret);
int vex_sqlite_revocations_since(struct vex_sqlite *s, int64_t since_us, int max,
				 struct vex_token_revocation_list *ret);
int vex_sqlite_runner_beat(struct vex_sqlite *s, const char *runner_id, int pid, int64_t now_us);
int vex_sqlite_runner_gone(struct vex_sqlite *s, const char *runner_id);
int vex_sqlite_runner_last_beat(struct vex_sqlite *s, int64_t *ret_us);
int vex_sqlite_runner_report(struct vex_sqlite *s, const struct vex_runner_info *r);
int vex_sqlite_runners_list(struct vex_sqlite *s, struct vex_runner_infos *ret);
int vex_sqlite_running_jobs(struct vex_sqlite *s, const char *owner, int limit, struct vex_running_jobs *ret);
int vex_sqlite_schedule_fire(struct vex_sqlite *s, const struct vex_sched_fire *f, struct vex_job **ret);
int vex_sqlite_schedule_fired(struct vex_sqlite *s, const char *agent_id, int64_t slot_us, int *ret_fired);
int vex_sqlite_schedule_fires_prune(struct vex_sqlite *s, int64_t before_slot_us, int limit, int64_t *ret_deleted);
int vex_sqlite_scheduled_agents(struct vex_sqlite *s, const char *after_id, int limit,
				struct vex_sched_agent_list *ret);
int vex_sqlite_schema_version(struct vex_sqlite *s);
int vex_sqlite_stat_minutes(struct vex_sqlite *s, const char *owner, int64_t from_minute, int by_name,
			    struct vex_stat_rows *ret);
int vex_sqlite_stat_minutes_prune(struct vex_sqlite *s, int64_t before_minute, int limit, int64_t *ret_deleted);
int vex_sqlite_stats_rollup(struct vex_sqlite *s, int limit, int64_t *ret_events);
int vex_sqlite_status_counts(struct vex_sqlite *s, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT]);
int vex_sqlite_token_revoked(struct vex_sqlite *s, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked);
int vex_sqlite_tool_recent_runs(struct vex_sqlite *s, const char *tool, int n, int64_t *ret_avg_us, int *ret_count);
int vex_sqlite_tool_resolve(struct vex_sqlite *s, const char *name, vex_tool_filter keep, const void *arg,
			    struct vex_tool_rows *ret);
int vex_sqlite_tools_keep_servers(struct vex_sqlite *s, const char *const *keep, size_t n);
int vex_sqlite_tools_list(struct vex_sqlite *s, struct vex_tool_rows *ret);
int vex_sqlite_tools_replace(struct vex_sqlite *s, const char *source, const char *server,
			     const struct vex_tool_rows *rows, int64_t now_us);
int vex_sqlite_vacuum_step(struct vex_sqlite *s, int max_pages, int keep_pages, int64_t *ret_freed);
int vex_sqlite_webhook_delete(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us);
int vex_sqlite_webhook_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_webhook **ret);
int vex_sqlite_webhook_insert(struct vex_sqlite *s, const struct vex_webhook *h, const struct vex_caps *caps);
int vex_sqlite_webhook_secrets_seal(struct vex_sqlite *s, const struct vex_sealring *r, int *ret_sealed,
				    int *ret_failed);
int vex_sqlite_webhook_update(struct vex_sqlite *s, const struct vex_webhook *h, int set_status);
int vex_sqlite_webhooks_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			     struct vex_webhook_list *ret);
int vex_sqlite_webhooks_matching(struct vex_sqlite *s, const char *owner, unsigned event_bits,
				 struct vex_webhook_list *ret);

#endif
