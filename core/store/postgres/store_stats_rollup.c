/* store_stats_rollup.c - the per-minute rollup folded from the job events behind the cursor 'stats' on PostgreSQL,
 * as core/store/sqlite/store_stats_rollup.c: the same sums, the same compare-and-set of the cursor. */
#include <stdio.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/retention.h"
#include "core/store/stats.h"

/*
 * The sums of the events in ($1, $2], added to the rollup: a job's 'queued' event counts it submitted in the
 * minute of created_at; a finish counts it by status, a completed one in its latency bucket (how many of the
 * bounds $3 its latency exceeds), in the minute of completed_at; a job pruned meanwhile is left out. One
 * GROUP BY of the five key columns: the upsert never meets one key twice.
 */
#define ADD_SUMS                                                                                               \
	"INSERT INTO job_minute_stats AS m (owner, minute, kind, name, metric, n)"                              \
	" SELECT e.owner,"                                                                                      \
	" (CASE e.type WHEN 'queued' THEN j.created_at ELSE COALESCE(j.completed_at, e.at) END) / $4,"         \
	" j.kind, CASE j.kind WHEN 'tool' THEN COALESCE(j.tool, '') ELSE COALESCE(j.agent_id, '') END,"        \
	" CASE e.type WHEN 'queued' THEN $5::bigint WHEN 'failed' THEN $6 WHEN 'timeout' THEN $7"              \
	" WHEN 'canceled' THEN $8 ELSE $9 + (SELECT COUNT(*) FROM unnest($3::bigint[]) b"                      \
	" WHERE COALESCE(j.completed_at, e.at) - j.created_at > b) END, COUNT(*)"                              \
	" FROM job_events e JOIN jobs j ON j.id = e.job_id"                                                     \
	" WHERE e.seq > $1 AND e.seq <= $2 AND e.type IN ('queued','completed','failed','timeout','canceled')"  \
	" GROUP BY 1, 2, 3, 4, 5"                                                                               \
	" ON CONFLICT (owner, minute, kind, name, metric) DO UPDATE SET n = m.n + excluded.n"

/* vex_lat_bounds_us as an array literal ("{250,500,...}") in "buf". 0 or VEX_ERROR. */
static int bounds_text(char *buf, size_t cap)
{
	size_t off = 0;
	int w;

	for (int b = 0; b < VEX_LAT_BOUNDS; b++) {
		w = snprintf(buf + off, cap - off, "%s%lld", b ? "," : "{", (long long)vex_lat_bounds_us[b]);
		if (w < 0 || (size_t)w >= cap - off)
			return VEX_ERROR;
		off += (size_t)w;
	}
	if (off + 2 > cap)
		return VEX_ERROR;
	buf[off++] = '}';
	buf[off] = '\0';
	return 0;
}

/* One bigint from "sql" (no parameters) in *ret; VEX_ERROR when no row came, as vex_sqlite_step_int64. */
static int read_i64(struct vex_pg *p, const char *sql, int64_t *ret)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, sql, 0, NULL, &r);

	if (rc == 0 && PQntuples(r) < 1)
		rc = VEX_ERROR;
	if (rc == 0)
		*ret = vex_pg_get_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/*
 * Job writers hold the jobs lock (pg_internal.h) from BEGIN to COMMIT, so events become visible in seq order:
 * every event up to the newest one seen is committed, and the range (lo, hi] is final. The transaction moves the
 * cursor from "lo" only if it is still there (a runner folding at the same time waits for the row, then finds
 * it moved and adds nothing), then sums and adds the range in one statement: each event counted once, whoever
 * folds it. No row is locked while the events are read but the cursor's and the rollup's own.
 */
int vex_pg_stats_rollup(struct vex_pg *p, int limit, int64_t *ret_events)
{
	char a[24], b[24], c[24], d[5][24], bounds[512];
	const char *v[9];
	int64_t lo = 0, last = 0, hi, moved = 0;
	int rc;

	if (!p || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	if (ret_events)
		*ret_events = 0;
	/* Two point reads, no transaction: most calls stop here. */
	rc = read_i64(p, "SELECT seq FROM event_cursors WHERE name = 'stats'", &lo);
	if (rc == 0)
		rc = read_i64(p, "SELECT COALESCE(MAX(seq), 0) FROM job_events", &last);
	if (rc || last <= lo)
		return rc;
	hi = last - lo > limit ? lo + limit : last;
	rc = bounds_text(bounds, sizeof(bounds));
	if (rc)
		return rc;
	v[0] = vex_pg_i64(a, lo);
	v[1] = vex_pg_i64(b, hi);
	v[2] = bounds;
	v[3] = vex_pg_i64(c, VEX_STATS_MINUTE_US);
	v[4] = vex_pg_i64(d[0], VEX_STAT_SUBMITTED);
	v[5] = vex_pg_i64(d[1], VEX_STAT_FAILED);
	v[6] = vex_pg_i64(d[2], VEX_STAT_TIMEOUT);
	v[7] = vex_pg_i64(d[3], VEX_STAT_CANCELED);
	v[8] = vex_pg_i64(d[4], VEX_STAT_LATENCY);
	rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);
	if (rc)
		return rc;
	rc = vex_pg_changes(p, "UPDATE event_cursors SET seq = $2 WHERE name = 'stats' AND seq = $1", 2, v, &moved);
	if (rc == 0 && moved != 1)
		rc = VEX_ECONFLICT;
	if (rc == 0)
		rc = vex_pg_exec(p, ADD_SUMS, 9, v, NULL);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == VEX_ECONFLICT)
		rc = 0; /* folded by another runner: nothing to do */
	else if (rc == 0 && ret_events)
		*ret_events = hi - lo;
	return rc;
}
