/* store_caps.c - per-owner caps on PostgreSQL: what the owner holds is counted in the transaction that adds one,
 * as core/store/sqlite/store_caps.c. */
#include <stdlib.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

/*
 * What each cap counts ($1 owner), at most $2 rows (NULL: all), as SQLite's count_sql: a count at the
 * cap answers the same as a larger one, so the scan stops there. A schedule counts unless the agent $3
 * already has one. Queued jobs are a read of job_tally (migration 14's triggers), which needs no bound.
 */
static const struct {
	const char *sql;
	int n; /* parameters the text names: PostgreSQL cannot type one it never uses */
} count_sql[VEX_CAP_COUNT] = {
	[VEX_CAP_AGENTS] = { "SELECT COUNT(*) FROM (SELECT 1 FROM agents WHERE owner = $1 AND status <> 'DELETED'"
			     " LIMIT $2::bigint) t",
			     2 },
	[VEX_CAP_SCHEDULES] = { "SELECT CASE WHEN EXISTS (SELECT 1 FROM agents WHERE id = $3::text"
				" AND status <> 'DELETED' AND schedule_json IS NOT NULL) THEN 0 ELSE (SELECT COUNT(*)"
				" FROM (SELECT 1 FROM agents WHERE owner = $1 AND status <> 'DELETED'"
				" AND schedule_json IS NOT NULL LIMIT $2::bigint) t) END",
				3 },
	[VEX_CAP_QUEUED_JOBS] = { "SELECT COALESCE((SELECT SUM(n) FROM job_tally WHERE owner = $1"
				  " AND status = 'queued'), 0)::bigint",
				  1 },
	[VEX_CAP_WEBHOOKS] = { "SELECT COUNT(*) FROM (SELECT 1 FROM webhooks WHERE owner = $1 AND status <> 'deleted'"
			       " LIMIT $2::bigint) t",
			       2 },
};

/* How many of "cap" "owner" holds, counting at most "upto" (<= 0: all); "id" for the schedule rule. */
static int count(struct vex_pg *p, enum vex_cap cap, const char *owner, const char *id, int64_t upto,
		 int64_t *ret)
{
	char lim[24];
	const char *v[3];
	PGresult *r = NULL;
	int rc;

	if ((unsigned)cap >= VEX_CAP_COUNT || !count_sql[cap].sql || !owner)
		return VEX_EINVAL;
	v[0] = owner;
	v[1] = upto > 0 ? vex_pg_i64(lim, upto) : NULL; /* LIMIT NULL: no limit */
	v[2] = id;
	rc = vex_pg_exec(p, count_sql[cap].sql, count_sql[cap].n, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*ret = vex_pg_get_i64(r, 0, 0);
	else
		rc = VEX_EIO;
	PQclear(r);
	return rc;
}

int vex_pg_cap_count(struct vex_pg *p, enum vex_cap cap, const char *owner, int64_t *ret)
{
	return count(p, cap, owner, NULL, 0, ret);
}

/*
 * SQLite has one writer at a time; here the owner's writes that add to one cap take turns on an advisory
 * lock of that pair, held until the transaction ends. The lock comes first, in a statement of its own, so
 * that the count's snapshot (READ COMMITTED: one per statement) already sees what the last holder committed.
 * Two-key locks (cap, hash of owner) never meet the one-key lock of the migrations; two owners whose names
 * hash alike merely wait for each other.
 */
int vex_pg_cap_check_locked(struct vex_pg *p, enum vex_cap cap, const char *owner, const char *id, int max)
{
	char k[24];
	const char *v[2];
	int64_t n = 0;
	int rc;

	if (max <= 0)
		return 0;
	if ((unsigned)cap >= VEX_CAP_COUNT || !count_sql[cap].sql || !owner)
		return VEX_EINVAL;
	v[0] = vex_pg_i64(k, cap);
	v[1] = owner;
	rc = vex_pg_exec(p, "SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))", 2, v, NULL);
	if (rc == 0)
		rc = count(p, cap, owner, id, max, &n);
	if (rc == 0 && n >= max)
		rc = VEX_ELIMIT;
	return rc;
}

int vex_pg_write_capped(struct vex_pg *p, const char *sql, int n, const char *const *vals, const char *owner,
			const char *id, const struct vex_caps *caps, unsigned which, enum vex_cap *ret_hit,
			int64_t *ret_changes)
{
	int64_t changes = 0;
	int rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);

	if (rc)
		return rc;
	/* In cap order: two writes that need the same two locks take them in the same order. */
	for (int cap = 0; caps && cap < VEX_CAP_COUNT; cap++) {
		if (!(which & (1u << cap)))
			continue;
		rc = vex_pg_cap_check_locked(p, (enum vex_cap)cap, owner, id, caps->max[cap]);
		if (rc == VEX_ELIMIT && ret_hit)
			*ret_hit = (enum vex_cap)cap;
		if (rc)
			goto out;
	}
	rc = vex_pg_changes(p, sql, n, vals, &changes);
	if (rc == 0)
		rc = vex_pg_exec(p, "COMMIT", 0, NULL, NULL);
	if (rc == 0 && ret_changes)
		*ret_changes = changes;
out:
	if (rc)
		vex_pg_rollback(p);
	return rc;
}
