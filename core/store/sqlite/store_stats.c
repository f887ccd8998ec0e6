/* store_stats.c - what GET /api/v1/stats reads: jobs by status, the oldest queued job, the per-minute rollup
 * (store_stats_rollup.c writes it), its prune, and quantiles from its latency buckets. */
#include "core/store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

/* The rollup's latency buckets (store_stats_rollup.c writes its SQL from them). */
const int64_t vex_lat_bounds_us[VEX_LAT_BOUNDS] = {
	250,	   500,	     1000,	2500,	   5000,      10000,	 25000,	    50000,     100000,	  250000, 500000,
	1000000,   2500000,  5000000,	10000000,  25000000,  50000000,	 100000000, 250000000, 500000000, 1000000000,
};

int vex_sqlite_status_counts(struct vex_sqlite *s, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT])
{
	int64_t n[VEX_JOB_STATUS_COUNT] = { 0 };
	enum vex_job_status st_;
	sqlite3_stmt *st;
	int rc, step;

	if (!s || !ret)
		return VEX_EINVAL;
	if (owner)
		rc = vex_sqlite_stmt(s, "SELECT status, SUM(n) FROM job_tally WHERE owner = ?1 GROUP BY status", &st);
	else
		rc = vex_sqlite_stmt(s, "SELECT status, SUM(n) FROM job_tally GROUP BY status", &st);
	if (rc)
		return rc;
	if (owner)
		vex_bind_text(st, 1, owner);
	while ((step = vex_sqlite_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (name && vex_job_status_parse(name, &st_) == 0)
			n[st_] += sqlite3_column_int64(st, 1);
	}
	rc = step == SQLITE_DONE ? 0 : vex_sqlite_errcode(step);
	vex_sqlite_done(st);
	if (rc == 0)
		memcpy(ret, n, sizeof(n));
	return rc;
}

int vex_sqlite_oldest_queued(struct vex_sqlite *s, const char *owner, char ret_id[VEX_UUID_LEN + 1],
			     int64_t *ret_created_at)
{
	sqlite3_stmt *st;
	int rc, step;

	if (!s || !ret_id || !ret_created_at)
		return VEX_EINVAL;
	/* Ids are time-ordered: the smallest queued id is the oldest. An owner's through
	 * jobs_owner_status_id; everyone's as the oldest of each owner with queued jobs (job_tally,
	 * migration 14), one seek each: a MIN(id) over jobs would walk the finished ones before it. */
	if (owner)
		rc = vex_sqlite_stmt(s,
				     "SELECT id, created_at FROM jobs WHERE owner = ?1 AND status = 'queued'"
				     " ORDER BY id LIMIT 1",
				     &st);
	else
		rc = vex_sqlite_stmt(s,
				     "SELECT j.id, j.created_at FROM (SELECT DISTINCT owner FROM job_tally"
				     " WHERE status = 'queued' AND n > 0) q JOIN jobs j ON j.id ="
				     " (SELECT id FROM jobs WHERE owner = q.owner AND status = 'queued' ORDER BY id LIMIT 1)"
				     " ORDER BY j.id LIMIT 1",
				     &st);
	if (rc)
		return rc;
	if (owner)
		vex_bind_text(st, 1, owner);
	step = vex_sqlite_step(st);
	if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		vex_col_copy(st, 0, ret_id, VEX_UUID_LEN + 1);
		*ret_created_at = sqlite3_column_int64(st, 1);
		rc = 0;
	} else {
		rc = step == SQLITE_ROW || step == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(step);
	}
	vex_sqlite_done(st);
	return rc;
}

/* ---- the rollup ---- */

static int stat_read(sqlite3_stmt *st, void *item)
{
	struct vex_stat_row *r = item;
	const char *kind;
	int fail = 0;

	r->minute = sqlite3_column_int64(st, 0);
	kind = (const char *)sqlite3_column_text(st, 1);
	r->kind = kind && strcmp(kind, "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;
	r->name = vex_col_strdup(st, 2, &fail);
	r->metric = sqlite3_column_int(st, 3);
	r->n = sqlite3_column_int64(st, 4);
	return fail ? VEX_ENOMEM : 0;
}

static void stat_free(void *item)
{
	free(((struct vex_stat_row *)item)->name);
}

static const struct vex_rows stat_rows = { sizeof(struct vex_stat_row), stat_read, stat_free, NULL };

void vex_stat_rows_release(struct vex_stat_rows *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i].name);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int vex_sqlite_stat_minutes(struct vex_sqlite *s, const char *owner, int64_t from_minute, int by_name,
			    struct vex_stat_rows *ret)
{
	/* [by_name][owner]: the owner's rows by the primary key (owner, minute, ...), everyone's by the
	 * minute index; the table holds only the last VEX_STATS_KEEP_MINUTES minutes. */
	static const char *const sql[2][2] = {
		{ "SELECT minute, '', NULL, metric, SUM(n) FROM job_minute_stats WHERE minute >= ?2"
		  " GROUP BY minute, metric ORDER BY minute, metric LIMIT ?3",
		  "SELECT minute, '', NULL, metric, SUM(n) FROM job_minute_stats WHERE owner = ?1 AND minute >= ?2"
		  " GROUP BY minute, metric ORDER BY minute, metric LIMIT ?3" },
		{ "SELECT 0, kind, name, metric, SUM(n) FROM job_minute_stats WHERE minute >= ?2"
		  " GROUP BY kind, name, metric ORDER BY kind, name, metric LIMIT ?3",
		  "SELECT 0, kind, name, metric, SUM(n) FROM job_minute_stats WHERE owner = ?1 AND minute >= ?2"
		  " GROUP BY kind, name, metric ORDER BY kind, name, metric LIMIT ?3" },
	};
	sqlite3_stmt *st;
	void *items;
	size_t n;
	int rc;

	if (!s || !ret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, sql[by_name ? 1 : 0][owner ? 1 : 0], &st);
	if (rc)
		return rc;
	if (owner)
		vex_bind_text(st, 1, owner);
	sqlite3_bind_int64(st, 2, from_minute);
	sqlite3_bind_int(st, 3, VEX_STATS_ROWS_MAX);
	rc = vex_sqlite_collect(st, &stat_rows, VEX_STATS_ROWS_MAX, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_stat_rows){ items, n };
	return rc;
}

int vex_sqlite_stat_minutes_prune(struct vex_sqlite *s, int64_t before_minute, int limit, int64_t *ret_deleted)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!s || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "DELETE FROM job_minute_stats WHERE (owner, minute, kind, name, metric) IN"
			     " (SELECT owner, minute, kind, name, metric FROM job_minute_stats WHERE minute < ?1 LIMIT ?2)",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, before_minute);
	sqlite3_bind_int(st, 2, limit);
	rc = vex_sqlite_write(s, st, &changes);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}

double vex_lat_quantile_us(const int64_t buckets[VEX_LAT_BUCKETS], double q)
{
	int64_t total = 0, cum = 0, rank;
	double lo, hi;
	int i;

	for (i = 0; i < VEX_LAT_BUCKETS; i++)
		total += buckets[i] > 0 ? buckets[i] : 0;
	if (total == 0 || !(q > 0) || q > 1)
		return -1;
	/* The rank of the q-th latency (1-based, nearest rank), then where it falls in its bucket. */
	rank = (int64_t)(q * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < VEX_LAT_BUCKETS; i++) {
		int64_t c = buckets[i] > 0 ? buckets[i] : 0;

		if (c > 0 && cum + c >= rank)
			break;
		cum += c;
	}
	lo = i == 0 ? 0 : (double)vex_lat_bounds_us[i - 1];
	if (i >= VEX_LAT_BOUNDS)
		return lo;
	hi = (double)vex_lat_bounds_us[i];
	return lo + (hi - lo) * (double)(rank - cum) / (double)buckets[i];
}
