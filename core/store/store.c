/* store.c - the store interface (the headers of core/store/): each call goes to the backend of its connection's
 * kind, SQLite (core/store/sqlite/) or PostgreSQL (core/store/postgres/, being built). */
#include "core/store/operator.h"
#include "core/store/retention.h"
#include "core/store/stats.h"
#include "core/store/store.h"
#include "core/store/store_explain.h"
#include "core/store/store_metrics.h"
#include "core/store/store_runner.h"

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/postgres/pg_store.h"
#include "core/store/sqlite/sqlite_store.h"

/* A function the connection's backend does not have yet (the PostgreSQL store is being built, and only
 * tests open one: [store] url refuses PostgreSQL URLs): the call fails and changes nothing. */
static int unported(const char *fn)
{
	vex_log(VEX_LOG_ERROR, "store function not available on PostgreSQL yet", "function", fn, NULL);
	return VEX_EIO;
}

/* ---- operator.h ---- */

int vex_store_claim_pause(struct vex_store *s, const char *tool, const char *by, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_claim_pause(vex_pg_of(s), tool, by, now_us);
	return vex_sqlite_claim_pause(vex_sqlite_of(s), tool, by, now_us);
}

int vex_store_claim_pauses(struct vex_store *s, struct vex_claim_pause_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_claim_pauses(vex_pg_of(s), ret);
	return vex_sqlite_claim_pauses(vex_sqlite_of(s), ret);
}

int vex_store_claim_resume(struct vex_store *s, const char *tool, int *ret_changed)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_claim_resume(vex_pg_of(s), tool, ret_changed);
	return vex_sqlite_claim_resume(vex_sqlite_of(s), tool, ret_changed);
}

int vex_store_delivery_resend(struct vex_store *s, const char *hook_id, const char *id, int64_t now_us,
			      struct vex_delivery *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_delivery_resend(vex_pg_of(s), hook_id, id, now_us, ret);
	return vex_sqlite_delivery_resend(vex_sqlite_of(s), hook_id, id, now_us, ret);
}

int vex_store_jobs_cancel_batch(struct vex_store *s, const struct vex_cancel_filter *f, enum vex_job_status which,
				int max, int64_t now_us, struct vex_job_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_cancel_batch(vex_pg_of(s), f, which, max, now_us, ret);
	return vex_sqlite_jobs_cancel_batch(vex_sqlite_of(s), f, which, max, now_us, ret);
}

/* ---- retention.h ---- */

int vex_store_auto_vacuum(struct vex_store *s)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_auto_vacuum(vex_pg_of(s));
	return vex_sqlite_auto_vacuum(vex_sqlite_of(s));
}

int vex_store_job_events_prune(struct vex_store *s, int64_t before_us, int limit, int64_t *ret_deleted)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_events_prune(vex_pg_of(s), before_us, limit, ret_deleted);
	return vex_sqlite_job_events_prune(vex_sqlite_of(s), before_us, limit, ret_deleted);
}

int vex_store_jobs_prune(struct vex_store *s, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1],
			 int *ret_n)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_prune(vex_pg_of(s), before_us, limit, ret_ids, ret_n);
	return vex_sqlite_jobs_prune(vex_sqlite_of(s), before_us, limit, ret_ids, ret_n);
}

int vex_store_schedule_fires_prune(struct vex_store *s, int64_t before_slot_us, int limit, int64_t *ret_deleted)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_schedule_fires_prune(vex_pg_of(s), before_slot_us, limit, ret_deleted);
	return vex_sqlite_schedule_fires_prune(vex_sqlite_of(s), before_slot_us, limit, ret_deleted);
}

int vex_store_vacuum_step(struct vex_store *s, int max_pages, int keep_pages, int64_t *ret_freed)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_vacuum_step(vex_pg_of(s), max_pages, keep_pages, ret_freed);
	return vex_sqlite_vacuum_step(vex_sqlite_of(s), max_pages, keep_pages, ret_freed);
}

/* ---- stats.h ---- */

int vex_store_job_deliveries(struct vex_store *s, const char *job_id, int limit, struct vex_delivery_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_deliveries(vex_pg_of(s), job_id, limit, ret);
	return vex_sqlite_job_deliveries(vex_sqlite_of(s), job_id, limit, ret);
}

int vex_store_oldest_queued(struct vex_store *s, const char *owner, char ret_id[VEX_UUID_LEN + 1],
			    int64_t *ret_created_at)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_oldest_queued(vex_pg_of(s), owner, ret_id, ret_created_at);
	return vex_sqlite_oldest_queued(vex_sqlite_of(s), owner, ret_id, ret_created_at);
}

int vex_store_runner_report(struct vex_store *s, const struct vex_runner_info *r)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_runner_report(vex_pg_of(s), r);
	return vex_sqlite_runner_report(vex_sqlite_of(s), r);
}

int vex_store_runners_list(struct vex_store *s, struct vex_runner_infos *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_runners_list(vex_pg_of(s), ret);
	return vex_sqlite_runners_list(vex_sqlite_of(s), ret);
}

int vex_store_running_jobs(struct vex_store *s, const char *owner, int limit, struct vex_running_jobs *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_running_jobs(vex_pg_of(s), owner, limit, ret);
	return vex_sqlite_running_jobs(vex_sqlite_of(s), owner, limit, ret);
}

int vex_store_stat_minutes(struct vex_store *s, const char *owner, int64_t from_minute, int by_name,
			   struct vex_stat_rows *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_stat_minutes(vex_pg_of(s), owner, from_minute, by_name, ret);
	return vex_sqlite_stat_minutes(vex_sqlite_of(s), owner, from_minute, by_name, ret);
}

int vex_store_stat_minutes_prune(struct vex_store *s, int64_t before_minute, int limit, int64_t *ret_deleted)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_stat_minutes_prune(vex_pg_of(s), before_minute, limit, ret_deleted);
	return vex_sqlite_stat_minutes_prune(vex_sqlite_of(s), before_minute, limit, ret_deleted);
}

int vex_store_stats_rollup(struct vex_store *s, int limit, int64_t *ret_events)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_stats_rollup(vex_pg_of(s), limit, ret_events);
	return vex_sqlite_stats_rollup(vex_sqlite_of(s), limit, ret_events);
}

int vex_store_status_counts(struct vex_store *s, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT])
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_status_counts(vex_pg_of(s), owner, ret);
	return vex_sqlite_status_counts(vex_sqlite_of(s), owner, ret);
}

/* ---- store.h ---- */

int vex_store_agent_delete(struct vex_store *s, const char *id, const char *owner, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_agent_delete(vex_pg_of(s), id, owner, now_us);
	return vex_sqlite_agent_delete(vex_sqlite_of(s), id, owner, now_us);
}

int vex_store_agent_get(struct vex_store *s, const char *id, const char *owner, int include_deleted,
			struct vex_agent **ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_agent_get(vex_pg_of(s), id, owner, include_deleted, ret);
	return vex_sqlite_agent_get(vex_sqlite_of(s), id, owner, include_deleted, ret);
}

int vex_store_agent_insert(struct vex_store *s, const struct vex_agent *a, const struct vex_caps *caps,
			   enum vex_cap *ret_hit)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_agent_insert(vex_pg_of(s), a, caps, ret_hit);
	return vex_sqlite_agent_insert(vex_sqlite_of(s), a, caps, ret_hit);
}

int vex_store_agent_update(struct vex_store *s, const struct vex_agent *a, const struct vex_caps *caps,
			   enum vex_cap *ret_hit)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_agent_update(vex_pg_of(s), a, caps, ret_hit);
	return vex_sqlite_agent_update(vex_sqlite_of(s), a, caps, ret_hit);
}

int vex_store_agents_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			  struct vex_agent_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_agents_list(vex_pg_of(s), owner, before_id, limit, ret);
	return vex_sqlite_agents_list(vex_sqlite_of(s), owner, before_id, limit, ret);
}

int vex_store_cap_count(struct vex_store *s, enum vex_cap cap, const char *owner, int64_t *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_cap_count(vex_pg_of(s), cap, owner, ret);
	return vex_sqlite_cap_count(vex_sqlite_of(s), cap, owner, ret);
}

int vex_store_checkpoint(struct vex_store *s, int *ret_pages, int *ret_done)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_checkpoint(vex_pg_of(s), ret_pages, ret_done);
	return vex_sqlite_checkpoint(vex_sqlite_of(s), ret_pages, ret_done);
}

void vex_store_checkpoint_elsewhere(struct vex_store *s, void (*due)(void *arg), void *arg)
{
	if (s && s->kind == VEX_STORE_POSTGRES) {
		vex_pg_checkpoint_elsewhere(vex_pg_of(s), due, arg);
		return;
	}
	vex_sqlite_checkpoint_elsewhere(vex_sqlite_of(s), due, arg);
}

int vex_store_deliveries_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us, int max,
			       int per_hook, struct vex_delivery_claim_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_deliveries_claim(vex_pg_of(s), runner_id, now_us, lease_us, max, per_hook, ret);
	return vex_sqlite_deliveries_claim(vex_sqlite_of(s), runner_id, now_us, lease_us, max, per_hook, ret);
}

int vex_store_deliveries_list(struct vex_store *s, const char *hook_id, const char *before_id, int limit,
			      struct vex_delivery_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_deliveries_list(vex_pg_of(s), hook_id, before_id, limit, ret);
	return vex_sqlite_deliveries_list(vex_sqlite_of(s), hook_id, before_id, limit, ret);
}

int vex_store_deliveries_record(struct vex_store *s, const char *runner_id, struct vex_delivery_record *recs, size_t n,
				int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_deliveries_record(vex_pg_of(s), runner_id, recs, n, now_us);
	return vex_sqlite_deliveries_record(vex_sqlite_of(s), runner_id, recs, n, now_us);
}

int vex_store_deliveries_unclaim(struct vex_store *s, const char *runner_id, int *ret_n)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_deliveries_unclaim(vex_pg_of(s), runner_id, ret_n);
	return vex_sqlite_deliveries_unclaim(vex_sqlite_of(s), runner_id, ret_n);
}

int vex_store_delivery_attempt(struct vex_store *s, const char *id, const char *runner_id,
			       const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o,
			       int64_t now_us, int *ret_disabled)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_delivery_attempt(vex_pg_of(s), id, runner_id, a, o, now_us, ret_disabled);
	return vex_sqlite_delivery_attempt(vex_sqlite_of(s), id, runner_id, a, o, now_us, ret_disabled);
}

int vex_store_delivery_get(struct vex_store *s, const char *id, struct vex_delivery *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_delivery_get(vex_pg_of(s), id, ret);
	return vex_sqlite_delivery_get(vex_sqlite_of(s), id, ret);
}

void vex_store_free(struct vex_store *s)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		vex_pg_free(vex_pg_of(s));
	else
		vex_sqlite_free(vex_sqlite_of(s));
}

int vex_store_hooks_fanout(struct vex_store *s, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			   int *ret_events, int *ret_created)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_hooks_fanout(vex_pg_of(s), limit, fn, arg, now_us, ret_events, ret_created);
	return vex_sqlite_hooks_fanout(vex_sqlite_of(s), limit, fn, arg, now_us, ret_events, ret_created);
}

int vex_store_job_cancel(struct vex_store *s, const char *id, const char *owner, int force_running, int64_t now_us,
			 struct vex_job **ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_cancel(vex_pg_of(s), id, owner, force_running, now_us, ret);
	return vex_sqlite_job_cancel(vex_sqlite_of(s), id, owner, force_running, now_us, ret);
}

int vex_store_job_events_last_seq(struct vex_store *s, int64_t *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_events_last_seq(vex_pg_of(s), ret);
	return vex_sqlite_job_events_last_seq(vex_sqlite_of(s), ret);
}

int vex_store_job_events_of(struct vex_store *s, const char *id, int64_t after_rev, int limit,
			    struct vex_job_event_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_events_of(vex_pg_of(s), id, after_rev, limit, ret);
	return vex_sqlite_job_events_of(vex_sqlite_of(s), id, after_rev, limit, ret);
}

int vex_store_job_events_since(struct vex_store *s, int64_t after_seq, int limit, struct vex_job_event_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_events_since(vex_pg_of(s), after_seq, limit, ret);
	return vex_sqlite_job_events_since(vex_sqlite_of(s), after_seq, limit, ret);
}

int vex_store_job_get(struct vex_store *s, const char *id, const char *owner, struct vex_job **ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_get(vex_pg_of(s), id, owner, ret);
	return vex_sqlite_job_get(vex_sqlite_of(s), id, owner, ret);
}

int vex_store_job_insert(struct vex_store *s, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_insert(vex_pg_of(s), j, ret, ret_created);
	return vex_sqlite_job_insert(vex_sqlite_of(s), j, ret, ret_created);
}

int vex_store_job_queue_position(struct vex_store *s, const char *id, int64_t *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_queue_position(vex_pg_of(s), id, ret);
	return vex_sqlite_job_queue_position(vex_sqlite_of(s), id, ret);
}

int vex_store_jobs_count(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_count(vex_pg_of(s), f, ret);
	return vex_sqlite_jobs_count(vex_sqlite_of(s), f, ret);
}

int vex_store_jobs_count_before(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_count_before(vex_pg_of(s), f, ret);
	return vex_sqlite_jobs_count_before(vex_sqlite_of(s), f, ret);
}

int vex_store_jobs_insert_batch(struct vex_store *s, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				int *created, int *rcs)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_insert_batch(vex_pg_of(s), jobs, n, rets, created, rcs);
	return vex_sqlite_jobs_insert_batch(vex_sqlite_of(s), jobs, n, rets, created, rcs);
}

int vex_store_jobs_list(struct vex_store *s, const struct vex_job_filter *f, struct vex_job_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_list(vex_pg_of(s), f, ret);
	return vex_sqlite_jobs_list(vex_sqlite_of(s), f, ret);
}

int vex_store_key_by_hash(struct vex_store *s, const char *hash, struct vex_api_key *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_key_by_hash(vex_pg_of(s), hash, ret);
	return vex_sqlite_key_by_hash(vex_sqlite_of(s), hash, ret);
}

int vex_store_key_get(struct vex_store *s, const char *id, const char *owner, struct vex_api_key *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_key_get(vex_pg_of(s), id, owner, ret);
	return vex_sqlite_key_get(vex_sqlite_of(s), id, owner, ret);
}

int vex_store_key_insert(struct vex_store *s, const struct vex_api_key *k, const char *hash)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_key_insert(vex_pg_of(s), k, hash);
	return vex_sqlite_key_insert(vex_sqlite_of(s), k, hash);
}

int vex_store_key_revoke(struct vex_store *s, const char *id, const char *owner, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_key_revoke(vex_pg_of(s), id, owner, now_us);
	return vex_sqlite_key_revoke(vex_sqlite_of(s), id, owner, now_us);
}

int vex_store_key_touch(struct vex_store *s, const char *id, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_key_touch(vex_pg_of(s), id, now_us);
	return vex_sqlite_key_touch(vex_sqlite_of(s), id, now_us);
}

int vex_store_keys_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			struct vex_api_key_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_keys_list(vex_pg_of(s), owner, before_id, limit, ret);
	return vex_sqlite_keys_list(vex_sqlite_of(s), owner, before_id, limit, ret);
}

int vex_store_keys_revoked_since(struct vex_store *s, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
				 size_t *ret_n)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_keys_revoked_since(vex_pg_of(s), since_us, max, ret, ret_n);
	return vex_sqlite_keys_revoked_since(vex_sqlite_of(s), since_us, max, ret, ret_n);
}

/* "path" may also be a PostgreSQL URL, which only tests pass today ([store] url refuses one): then
 * "busy_timeout_ms" bounds each statement and "synchronous" is the server's business. */
int vex_store_open(const char *path, int synchronous, int busy_timeout_ms, struct vex_store **ret)
{
	struct vex_sqlite *q = NULL;
	struct vex_pg *p = NULL;
	int rc;

	if (path && vex_pg_url(path)) {
		rc = vex_pg_open(path, busy_timeout_ms, &p);
		if (rc == 0)
			*ret = vex_pg_base(p);
		return rc;
	}
	rc = vex_sqlite_open(path, synchronous, busy_timeout_ms, &q);
	if (rc == 0)
		*ret = vex_sqlite_base(q);
	return rc;
}

int vex_store_wake_open(const char *store, struct vex_store_wake **ret)
{
	*ret = NULL;
	return store && vex_pg_url(store) ? vex_pg_wake_open(store, ret) : 0;
}

int vex_store_ping(struct vex_store *s)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_ping(vex_pg_of(s));
	return vex_sqlite_ping(vex_sqlite_of(s));
}

int vex_store_revocation_insert(struct vex_store *s, const struct vex_token_revocation *r)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_revocation_insert(vex_pg_of(s), r);
	return vex_sqlite_revocation_insert(vex_sqlite_of(s), r);
}

int vex_store_revocations_list(struct vex_store *s, const char *sub, const char *before_id, int limit,
			       struct vex_token_revocation_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_revocations_list(vex_pg_of(s), sub, before_id, limit, ret);
	return vex_sqlite_revocations_list(vex_sqlite_of(s), sub, before_id, limit, ret);
}

int vex_store_revocations_since(struct vex_store *s, int64_t since_us, int max, struct vex_token_revocation_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_revocations_since(vex_pg_of(s), since_us, max, ret);
	return vex_sqlite_revocations_since(vex_sqlite_of(s), since_us, max, ret);
}

int vex_store_runner_beat(struct vex_store *s, const char *runner_id, int pid, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_runner_beat(vex_pg_of(s), runner_id, pid, now_us);
	return vex_sqlite_runner_beat(vex_sqlite_of(s), runner_id, pid, now_us);
}

int vex_store_runner_gone(struct vex_store *s, const char *runner_id)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_runner_gone(vex_pg_of(s), runner_id);
	return vex_sqlite_runner_gone(vex_sqlite_of(s), runner_id);
}

int vex_store_runner_last_beat(struct vex_store *s, int64_t *ret_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_runner_last_beat(vex_pg_of(s), ret_us);
	return vex_sqlite_runner_last_beat(vex_sqlite_of(s), ret_us);
}

int vex_store_schedule_fire(struct vex_store *s, const struct vex_sched_fire *f, struct vex_job **ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_schedule_fire(vex_pg_of(s), f, ret);
	return vex_sqlite_schedule_fire(vex_sqlite_of(s), f, ret);
}

int vex_store_schedule_fired(struct vex_store *s, const char *agent_id, int64_t slot_us, int *ret_fired)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_schedule_fired(vex_pg_of(s), agent_id, slot_us, ret_fired);
	return vex_sqlite_schedule_fired(vex_sqlite_of(s), agent_id, slot_us, ret_fired);
}

int vex_store_scheduled_agents(struct vex_store *s, const char *after_id, int limit, struct vex_sched_agent_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_scheduled_agents(vex_pg_of(s), after_id, limit, ret);
	return vex_sqlite_scheduled_agents(vex_sqlite_of(s), after_id, limit, ret);
}

int vex_store_schema_version(struct vex_store *s)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_version(vex_pg_of(s));
	return vex_sqlite_schema_version(vex_sqlite_of(s));
}

int vex_store_token_revoked(struct vex_store *s, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_token_revoked(vex_pg_of(s), jti, sub, iat_s, ret_revoked);
	return vex_sqlite_token_revoked(vex_sqlite_of(s), jti, sub, iat_s, ret_revoked);
}

int vex_store_tool_recent_runs(struct vex_store *s, const char *tool, int n, int64_t *ret_avg_us, int *ret_count)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_tool_recent_runs(vex_pg_of(s), tool, n, ret_avg_us, ret_count);
	return vex_sqlite_tool_recent_runs(vex_sqlite_of(s), tool, n, ret_avg_us, ret_count);
}

int vex_store_tool_resolve(struct vex_store *s, const char *name, vex_tool_filter keep, const void *arg,
			   struct vex_tool_rows *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_tool_resolve(vex_pg_of(s), name, keep, arg, ret);
	return vex_sqlite_tool_resolve(vex_sqlite_of(s), name, keep, arg, ret);
}

int vex_store_tools_keep_servers(struct vex_store *s, const char *const *keep, size_t n)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_tools_keep_servers(vex_pg_of(s), keep, n);
	return vex_sqlite_tools_keep_servers(vex_sqlite_of(s), keep, n);
}

int vex_store_tools_list(struct vex_store *s, struct vex_tool_rows *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_tools_list(vex_pg_of(s), ret);
	return vex_sqlite_tools_list(vex_sqlite_of(s), ret);
}

int vex_store_tools_replace(struct vex_store *s, const char *source, const char *server,
			    const struct vex_tool_rows *rows, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_tools_replace(vex_pg_of(s), source, server, rows, now_us);
	return vex_sqlite_tools_replace(vex_sqlite_of(s), source, server, rows, now_us);
}

int vex_store_webhook_delete(struct vex_store *s, const char *id, const char *owner, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhook_delete(vex_pg_of(s), id, owner, now_us);
	return vex_sqlite_webhook_delete(vex_sqlite_of(s), id, owner, now_us);
}

int vex_store_webhook_get(struct vex_store *s, const char *id, const char *owner, struct vex_webhook **ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhook_get(vex_pg_of(s), id, owner, ret);
	return vex_sqlite_webhook_get(vex_sqlite_of(s), id, owner, ret);
}

int vex_store_webhook_insert(struct vex_store *s, const struct vex_webhook *h, const struct vex_caps *caps)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhook_insert(vex_pg_of(s), h, caps);
	return vex_sqlite_webhook_insert(vex_sqlite_of(s), h, caps);
}

int vex_store_webhook_secrets_seal(struct vex_store *s, const struct vex_sealring *r, int *ret_sealed, int *ret_failed)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhook_secrets_seal(vex_pg_of(s), r, ret_sealed, ret_failed);
	return vex_sqlite_webhook_secrets_seal(vex_sqlite_of(s), r, ret_sealed, ret_failed);
}

int vex_store_webhook_update(struct vex_store *s, const struct vex_webhook *h, int set_status)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhook_update(vex_pg_of(s), h, set_status);
	return vex_sqlite_webhook_update(vex_sqlite_of(s), h, set_status);
}

int vex_store_webhooks_list(struct vex_store *s, const char *owner, const char *before_id, int limit,
			    struct vex_webhook_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhooks_list(vex_pg_of(s), owner, before_id, limit, ret);
	return vex_sqlite_webhooks_list(vex_sqlite_of(s), owner, before_id, limit, ret);
}

int vex_store_webhooks_matching(struct vex_store *s, const char *owner, unsigned event_bits,
				struct vex_webhook_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_webhooks_matching(vex_pg_of(s), owner, event_bits, ret);
	return vex_sqlite_webhooks_matching(vex_sqlite_of(s), owner, event_bits, ret);
}

/* ---- store_explain.h ---- */

int vex_store_explain(struct vex_store *s, int (*fn)(void *arg, const char *sql, const char *detail), void *arg)
{
	if (s && s->kind != VEX_STORE_SQLITE)
		return unported(__func__);
	return vex_sqlite_explain(vex_sqlite_of(s), fn, arg);
}

/* ---- store_metrics.h ---- */

int vex_store_metrics_counts(struct vex_store *s, struct vex_store_counts *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_metrics_counts(vex_pg_of(s), ret);
	return vex_sqlite_metrics_counts(vex_sqlite_of(s), ret);
}

/* ---- store_runner.h ---- */

/* The runner's single writes and claims are a batch of one (vex_store_jobs_write_batch), whatever the backend. */
static int write_one(struct vex_store *s, struct vex_job_write *w, int64_t now_us, struct vex_job **ret)
{
	int rc;

	if (!vex_job_write_valid(w))
		return VEX_EINVAL;
	rc = vex_store_jobs_write_batch(s, w, 1, NULL, now_us);
	if (rc == 0)
		rc = w->rc;
	if (rc == 0 && ret) {
		*ret = w->job;
		w->job = NULL;
	}
	vex_job_free(w->job);
	return rc;
}

int vex_store_job_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret)
{
	const char *owners[1] = { runner_id };
	struct vex_job *jobs[1] = { NULL };
	size_t n = 0;
	int rc;

	if (!runner_id || !*runner_id || lease_us <= 0)
		return VEX_EINVAL;
	rc = vex_store_jobs_claim_batch(s, owners, 1, now_us, lease_us, plan_limits, jobs, &n);
	if (rc)
		return rc;
	if (n == 0)
		return VEX_ENOTFOUND;
	if (ret)
		*ret = jobs[0];
	else
		vex_job_free(jobs[0]);
	return 0;
}

int vex_store_job_finish(struct vex_store *s, const char *id, const char *runner_id, enum vex_job_status status,
			 const struct vex_job *outcome, int64_t now_us, struct vex_job **ret)
{
	struct vex_job_write w = { .op = VEX_JW_FINISH, .id = id, .lease_owner = runner_id, .status = status,
				   .outcome = outcome };

	return write_one(s, &w, now_us, ret);
}

int vex_store_job_progress(struct vex_store *s, const char *id, const char *runner_id, const struct vex_progress *p,
			   int64_t now_us, struct vex_job **ret)
{
	struct vex_job_write w = { .op = VEX_JW_PROGRESS, .id = id, .lease_owner = runner_id, .progress = p };

	return write_one(s, &w, now_us, ret);
}

int vex_store_job_renew(struct vex_store *s, const char *id, const char *runner_id, int64_t now_us, int64_t lease_us,
			int *ret_cancel)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_job_renew(vex_pg_of(s), id, runner_id, now_us, lease_us, ret_cancel);
	return vex_sqlite_job_renew(vex_sqlite_of(s), id, runner_id, now_us, lease_us, ret_cancel);
}

int vex_store_job_requeue(struct vex_store *s, const char *id, const char *runner_id, int refund_attempt,
			  int64_t now_us, struct vex_job **ret)
{
	struct vex_job_write w = { .op = VEX_JW_REQUEUE, .id = id, .lease_owner = runner_id,
				   .refund_attempt = refund_attempt };

	return write_one(s, &w, now_us, ret);
}

int vex_store_jobs_claim_batch(struct vex_store *s, const char *const *lease_owners, size_t max, int64_t now_us,
			       int64_t lease_us, const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret_jobs,
			       size_t *ret_n)
{
	struct vex_claim_batch c = { lease_owners, max, lease_us, plan_limits, ret_jobs, 0 };
	int rc;

	if (!ret_n || max == 0)
		return VEX_EINVAL;
	rc = vex_store_jobs_write_batch(s, NULL, 0, &c, now_us);
	if (rc == 0)
		*ret_n = c.n;
	return rc;
}

int vex_store_jobs_rescue(struct vex_store *s, int64_t now_us, struct vex_job_list *ret)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_rescue(vex_pg_of(s), now_us, ret);
	return vex_sqlite_jobs_rescue(vex_sqlite_of(s), now_us, ret);
}

int vex_store_jobs_round(struct vex_store *s, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
			 struct vex_claim_batch *claim, int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_round(vex_pg_of(s), ins, w, nw, claim, now_us);
	return vex_sqlite_jobs_round(vex_sqlite_of(s), ins, w, nw, claim, now_us);
}

int vex_store_jobs_write_batch(struct vex_store *s, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
			       int64_t now_us)
{
	if (s && s->kind == VEX_STORE_POSTGRES)
		return vex_pg_jobs_write_batch(vex_pg_of(s), w, nw, claim, now_us);
	return vex_sqlite_jobs_write_batch(vex_sqlite_of(s), w, nw, claim, now_us);
}
