/* store_stats_rollup.c - the per-minute rollup written from the job events behind the cursor 'stats'
 * (migration 14), in batches off the hot path: read and summed without the write lock, added in one
 * short transaction. */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

/* One summed row: (owner, minute, kind, name, metric) and how many. */
struct sum {
	char *owner;
	int64_t minute;
	char *kind;
	char *name;
	int metric;
	int64_t n;
};

struct sums {
	struct sum *items;
	size_t n, cap;
};

static void sums_release(struct sums *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].owner);
		free(l->items[i].kind);
		free(l->items[i].name);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

/*
 * The sums of the events in (lo, hi]: a job's 'queued' event (its insert) counts it submitted in the
 * minute of created_at; a finish counts it by status, a completed one in its latency bucket
 * (completed_at - created_at; the bucket is how many bounds the latency exceeds, the bounds written
 * from vex_lat_bounds_us), in the minute of completed_at. The events are a rowid range, each joined
 * to its job by primary key; a job pruned meanwhile is left out.
 */
static int read_sums(struct vex_sqlite *s, int64_t lo, int64_t hi, struct sums *ret)
{
	char sql[4096], bucket[2048];
	const char *lat = "(COALESCE(j.completed_at, e.at) - j.created_at)";
	size_t off = 0;
	sqlite3_stmt *st;
	int rc, step, w;

	for (int b = 0; b < VEX_LAT_BOUNDS; b++) {
		w = snprintf(bucket + off, sizeof(bucket) - off, "%s(%s > %lld)", b ? " + " : "", lat,
			     (long long)vex_lat_bounds_us[b]);
		if (w < 0 || (size_t)w >= sizeof(bucket) - off)
			return VEX_ERROR;
		off += (size_t)w;
	}
	w = snprintf(sql, sizeof(sql),
		     "SELECT e.owner,"
		     " (CASE e.type WHEN 'queued' THEN j.created_at ELSE COALESCE(j.completed_at, e.at) END) / %lld,"
		     " j.kind, CASE j.kind WHEN 'tool' THEN COALESCE(j.tool, '') ELSE COALESCE(j.agent_id, '') END,"
		     " CASE e.type WHEN 'queued' THEN %d WHEN 'failed' THEN %d WHEN 'timeout' THEN %d"
		     " WHEN 'canceled' THEN %d ELSE %d + %s END, COUNT(*)"
		     " FROM job_events e JOIN jobs j ON j.id = e.job_id"
		     " WHERE e.seq > ?1 AND e.seq <= ?2 AND e.type IN ('queued','completed','failed','timeout','canceled')"
		     " GROUP BY 1, 2, 3, 4, 5",
		     (long long)VEX_STATS_MINUTE_US, VEX_STAT_SUBMITTED, VEX_STAT_FAILED, VEX_STAT_TIMEOUT,
		     VEX_STAT_CANCELED, VEX_STAT_LATENCY, bucket);
	if (w < 0 || (size_t)w >= sizeof(sql))
		return VEX_ERROR;
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	while ((step = vex_sqlite_step(st)) == SQLITE_ROW) {
		struct sum *x;
		int fail = 0;

		if (ret->n == ret->cap) {
			size_t cap = ret->cap ? ret->cap * 2 : 64;
			struct sum *p = realloc(ret->items, cap * sizeof(*p));

			if (!p) {
				rc = VEX_ENOMEM;
				break;
			}
			ret->items = p;
			ret->cap = cap;
		}
		x = &ret->items[ret->n];
		memset(x, 0, sizeof(*x));
		ret->n++;
		x->owner = vex_col_strdup(st, 0, &fail);
		x->minute = sqlite3_column_int64(st, 1);
		x->kind = vex_col_strdup(st, 2, &fail);
		x->name = vex_col_strdup(st, 3, &fail);
		x->metric = sqlite3_column_int(st, 4);
		x->n = sqlite3_column_int64(st, 5);
		if (fail || !x->owner || !x->kind || !x->name) {
			rc = VEX_ENOMEM;
			break;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = vex_sqlite_errcode(step);
	vex_sqlite_done(st);
	return rc;
}

/* Add the sums and move the cursor from "lo" to "hi", in the caller's write transaction; VEX_ECONFLICT
 * when the cursor is no longer at "lo" (another runner folded these events). */
static int write_sums(struct vex_sqlite *s, const struct sums *l, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s, "UPDATE event_cursors SET seq = ?2 WHERE name = 'stats' AND seq = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return VEX_ECONFLICT;
	for (size_t i = 0; i < l->n; i++) {
		rc = vex_sqlite_stmt(s,
				     "INSERT INTO job_minute_stats(owner, minute, kind, name, metric, n)"
				     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
				     " ON CONFLICT(owner, minute, kind, name, metric) DO UPDATE SET n = n + excluded.n",
				     &st);
		if (rc)
			return rc;
		vex_bind_text(st, 1, l->items[i].owner);
		sqlite3_bind_int64(st, 2, l->items[i].minute);
		vex_bind_text(st, 3, l->items[i].kind);
		vex_bind_text(st, 4, l->items[i].name);
		sqlite3_bind_int(st, 5, l->items[i].metric);
		sqlite3_bind_int64(st, 6, l->items[i].n);
		rc = vex_sqlite_exec_stmt(st);
		if (rc)
			return rc;
	}
	return 0;
}

int vex_sqlite_stats_rollup(struct vex_sqlite *s, int limit, int64_t *ret_events)
{
	struct sums l = { NULL, 0, 0 };
	int64_t lo = 0, last = 0, hi;
	int rc;

	if (!s || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	if (ret_events)
		*ret_events = 0;
	/* Two point reads, no lock: most calls stop here. */
	rc = vex_sqlite_event_cursor(s, "stats", &lo);
	if (rc == 0)
		rc = vex_sqlite_job_events_last_seq(s, &last);
	if (rc || last <= lo)
		return rc;
	hi = last - lo > limit ? lo + limit : last;
	rc = read_sums(s, lo, hi, &l);
	if (rc)
		goto out;
	rc = vex_sqlite_begin(s);
	if (rc)
		goto out;
	rc = write_sums(s, &l, lo, hi);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == VEX_ECONFLICT)
		rc = 0; /* folded by another runner: nothing to do */
	else if (rc == 0 && ret_events)
		*ret_events = hi - lo;
out:
	sums_release(&l);
	return rc;
}
