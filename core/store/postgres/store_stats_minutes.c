/* store_stats_minutes.c - the per-minute rollup's reads and its prune on PostgreSQL, as core/store/sqlite/store_stats.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/retention.h"
#include "core/store/stats.h"

static int stat_read(const PGresult *r, int row, void *item)
{
	struct vex_stat_row *x = item;
	const char *kind = PQgetvalue(r, row, 1);
	int fail = 0;

	x->minute = vex_pg_get_i64(r, row, 0);
	x->kind = strcmp(kind, "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;
	x->name = vex_pg_strdup(r, row, 2, &fail);
	x->metric = (int)vex_pg_get_i64(r, row, 3);
	x->n = vex_pg_get_i64(r, row, 4);
	return fail ? VEX_ENOMEM : 0;
}

static void stat_free(void *item)
{
	free(((struct vex_stat_row *)item)->name);
}

static const struct vex_pg_rows stat_rows = { sizeof(struct vex_stat_row), stat_read, stat_free };

int vex_pg_stat_minutes(struct vex_pg *p, const char *owner, int64_t from_minute, int by_name,
			struct vex_stat_rows *ret)
{
	/* [by_name][owner], as SQLite's; each shape numbers only the parameters it uses (PostgreSQL cannot type
	 * one the text never names). SUM of bigint is numeric: its text is still an integer's. */
	static const char *const sql[2][2] = {
		{ "SELECT minute, '', NULL, metric, SUM(n) FROM job_minute_stats WHERE minute >= $1"
		  " GROUP BY minute, metric ORDER BY minute, metric LIMIT $2",
		  "SELECT minute, '', NULL, metric, SUM(n) FROM job_minute_stats WHERE owner = $1 AND minute >= $2"
		  " GROUP BY minute, metric ORDER BY minute, metric LIMIT $3" },
		{ "SELECT 0, kind, name, metric, SUM(n) FROM job_minute_stats WHERE minute >= $1"
		  " GROUP BY kind, name, metric ORDER BY kind, name, metric LIMIT $2",
		  "SELECT 0, kind, name, metric, SUM(n) FROM job_minute_stats WHERE owner = $1 AND minute >= $2"
		  " GROUP BY kind, name, metric ORDER BY kind, name, metric LIMIT $3" },
	};
	char from[24], lim[24];
	const char *v[3];
	PGresult *r = NULL;
	void *items = NULL;
	size_t n = 0;
	int rc, k = 0;

	if (!p || !ret)
		return VEX_EINVAL;
	if (owner)
		v[k++] = owner;
	v[k++] = vex_pg_i64(from, from_minute);
	v[k++] = vex_pg_i64(lim, VEX_STATS_ROWS_MAX);
	rc = vex_pg_exec(p, sql[by_name ? 1 : 0][owner ? 1 : 0], k, v, &r);
	if (rc)
		goto out;
	rc = vex_pg_collect(r, &stat_rows, VEX_STATS_ROWS_MAX, &items, &n);
	if (rc == 0)
		*ret = (struct vex_stat_rows){ items, n };
out:
	PQclear(r);
	return rc;
}

int vex_pg_stat_minutes_prune(struct vex_pg *p, int64_t before_minute, int limit, int64_t *ret_deleted)
{
	char b[24], l[24];
	const char *v[2];
	int64_t changes = 0;
	int rc;

	if (!p || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	v[0] = vex_pg_i64(b, before_minute);
	v[1] = vex_pg_i64(l, limit);
	/* One statement: its own transaction, as SQLite's one-statement write. */
	rc = vex_pg_changes(p,
			    "DELETE FROM job_minute_stats WHERE (owner, minute, kind, name, metric) IN"
			    " (SELECT owner, minute, kind, name, metric FROM job_minute_stats WHERE minute < $1 LIMIT $2)",
			    2, v, &changes);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}
