/* store_caps.c - per-owner caps inside a write: what the owner holds is counted in the transaction that adds one. */
#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

/*
 * What each cap counts (?1 owner), at most ?2 rows: a count at the cap answers the same as a
 * larger one, so the scan stops there. A schedule counts unless the agent ?3 already has one (a
 * patch that keeps its schedule adds none). Each walks an owner-first index (agents_owner_id,
 * webhooks_owner_id); queued jobs, which run to the tens of thousands, are a read of the owner's two
 * queued rows (one per kind) of the tally migration 14's triggers keep (job_tally). Streams live in the stream server.
 */
static const char *const count_sql[VEX_CAP_COUNT] = {
	[VEX_CAP_AGENTS] = "SELECT COUNT(*) FROM (SELECT 1 FROM agents WHERE owner = ?1 AND status <> 'DELETED'"
			   " LIMIT ?2)",
	[VEX_CAP_SCHEDULES] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM agents WHERE id = ?3 AND status <> 'DELETED'"
			      " AND schedule_json IS NOT NULL) THEN 0 ELSE (SELECT COUNT(*) FROM (SELECT 1 FROM agents"
			      " WHERE owner = ?1 AND status <> 'DELETED' AND schedule_json IS NOT NULL LIMIT ?2)) END",
	[VEX_CAP_QUEUED_JOBS] = "SELECT COALESCE((SELECT SUM(n) FROM job_tally WHERE owner = ?1 AND status = 'queued'), 0)",
	[VEX_CAP_WEBHOOKS] = "SELECT COUNT(*) FROM (SELECT 1 FROM webhooks WHERE owner = ?1 AND status <> 'deleted'"
			     " LIMIT ?2)",
};

/* How many of "cap" "owner" holds, counting at most "upto" (<= 0: all); "id" for the schedule rule. */
static int count(struct vex_sqlite *s, enum vex_cap cap, const char *owner, const char *id, int64_t upto,
		 int64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	if ((unsigned)cap >= VEX_CAP_COUNT || !count_sql[cap] || !owner)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, count_sql[cap], &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, owner);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, upto > 0 ? upto : -1); /* LIMIT -1: no limit */
	if (sqlite3_bind_parameter_count(st) >= 3)
		vex_bind_text(st, 3, id);
	return vex_sqlite_step_int64(st, ret);
}

int vex_sqlite_cap_count(struct vex_sqlite *s, enum vex_cap cap, const char *owner, int64_t *ret)
{
	return count(s, cap, owner, NULL, 0, ret);
}

int vex_sqlite_cap_check_locked(struct vex_sqlite *s, enum vex_cap cap, const char *owner, const char *id, int max)
{
	int64_t n = 0;
	int rc;

	if (max <= 0)
		return 0;
	rc = count(s, cap, owner, id, max, &n);
	if (rc == 0 && n >= max)
		rc = VEX_ELIMIT;
	return rc;
}

int vex_sqlite_write_capped(struct vex_sqlite *s, sqlite3_stmt *st, const char *owner, const char *id,
			    const struct vex_caps *caps, unsigned which, enum vex_cap *ret_hit, int *ret_changes)
{
	int rc = vex_sqlite_begin(s);

	if (rc) {
		vex_sqlite_done(st);
		return rc;
	}
	for (int cap = 0; caps && cap < VEX_CAP_COUNT; cap++) {
		if (!(which & (1u << cap)))
			continue;
		rc = vex_sqlite_cap_check_locked(s, (enum vex_cap)cap, owner, id, caps->max[cap]);
		if (rc == VEX_ELIMIT && ret_hit)
			*ret_hit = (enum vex_cap)cap;
		if (rc)
			goto out;
	}
	rc = vex_sqlite_exec_stmt(st);
	if (rc == 0 && ret_changes)
		*ret_changes = sqlite3_changes(s->db);
	st = NULL;
	if (rc == 0)
		rc = vex_sqlite_commit(s);
out:
	vex_sqlite_done(st);
	if (rc)
		vex_sqlite_rollback(s);
	return rc;
}
