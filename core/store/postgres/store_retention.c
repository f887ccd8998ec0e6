/* store_retention.c - pruning on PostgreSQL in small batches found through indexes, as
 * core/store/sqlite/store_retention.c. */
#include "core/store/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define FINISHED "status IN ('completed','failed','timeout','canceled')"
/* As SQLite's: a job completed this long before the first event the fan-out has not reached is safely behind it. */
#define FANOUT_MARGIN_US (60 * 1000000LL)

/*
 * One statement, so one snapshot, where SQLite reads the bound and deletes in one transaction. The bound (exclusive)
 * is the first event at or after $1 (ties by seq, as SQLite's job_events_at walks them), past the slowest cursor (no
 * cursor reads as 0: nothing goes), and never the newest; no event at all: nothing goes. Events become visible in
 * seq order (the jobs lock), so no event below the bound can appear later.
 */
int vex_pg_job_events_prune(struct vex_pg *p, int64_t before_us, int limit, int64_t *ret_deleted)
{
	char before[24], lim[24];
	const char *v[2] = { vex_pg_i64(before, before_us), vex_pg_i64(lim, limit) };
	int64_t changes = 0;
	int rc;

	if (!p || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	rc = vex_pg_changes(p,
			    "DELETE FROM job_events WHERE seq IN (SELECT seq FROM job_events WHERE seq < LEAST("
			    "(SELECT MAX(seq) FROM job_events),"
			    " (SELECT seq FROM job_events WHERE at >= $1 ORDER BY at, seq LIMIT 1),"
			    " (SELECT COALESCE(MIN(seq), 0) FROM event_cursors) + 1)"
			    " ORDER BY seq LIMIT $2)",
			    2, v, &changes);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}

/* "before_us" moved back, when needed, behind the first event the slowest cursor has not passed. */
static int fanout_cutoff(struct vex_pg *p, int64_t before_us, int64_t *ret)
{
	PGresult *r = NULL;
	int64_t at;
	int rc;

	rc = vex_pg_exec(p,
			 "SELECT at FROM job_events WHERE seq > (SELECT COALESCE(MIN(seq), 0) FROM event_cursors)"
			 " ORDER BY seq LIMIT 1",
			 0, NULL, &r);
	if (rc)
		return rc;
	*ret = before_us;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		at = vex_pg_get_i64(r, 0, 0);
		if (at - FANOUT_MARGIN_US < before_us)
			*ret = at - FANOUT_MARGIN_US;
	}
	PQclear(r);
	return 0;
}

/* The ids of rows 0..n-1 of "r" as a text[] literal ({"a","b"}), for "= ANY($1)": a new string, or NULL. */
static char *ids_array(const PGresult *r, int n)
{
	size_t cap = 3, len = 0;
	char *s;

	for (int i = 0; i < n; i++)
		cap += 2 * (size_t)PQgetlength(r, i, 0) + 3;
	s = malloc(cap);
	if (!s)
		return NULL;
	s[len++] = '{';
	for (int i = 0; i < n; i++) {
		const char *c = PQgetvalue(r, i, 0);

		if (i)
			s[len++] = ',';
		s[len++] = '"';
		for (; *c; c++) {
			if (*c == '"' || *c == '\\')
				s[len++] = '\\';
			s[len++] = *c;
		}
		s[len++] = '"';
	}
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

/*
 * A job write (it deletes jobs): under the jobs lock, in one transaction, the oldest finished jobs before the
 * cutoff, then their deliveries' attempts, their deliveries and the jobs themselves, as SQLite's delete_job does
 * for each. Ties in completed_at go by id (SQLite's by rowid).
 */
int vex_pg_jobs_prune(struct vex_pg *p, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1], int *ret_n)
{
	static const char *const del[] = {
		"DELETE FROM webhook_attempts WHERE delivery_id IN"
		" (SELECT id FROM webhook_deliveries WHERE job_id = ANY($1::text[]))",
		"DELETE FROM webhook_deliveries WHERE job_id = ANY($1::text[])",
		("DELETE FROM jobs WHERE id = ANY($1::text[]) AND " FINISHED),
	};
	char cut[24], lim[24];
	const char *v[2];
	PGresult *r = NULL;
	int64_t cutoff = 0;
	char *ids = NULL;
	int rc, n = 0;

	if (!p || limit < 1 || limit > VEX_PRUNE_BATCH_MAX || !ret_ids || !ret_n)
		return VEX_EINVAL;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = fanout_cutoff(p, before_us, &cutoff);
	if (rc)
		goto out;
	v[0] = vex_pg_i64(cut, cutoff);
	v[1] = vex_pg_i64(lim, limit);
	rc = vex_pg_exec(p,
			 "SELECT id FROM jobs WHERE " FINISHED " AND completed_at < $1 ORDER BY completed_at, id LIMIT $2",
			 2, v, &r);
	if (rc)
		goto out;
	n = PQntuples(r) < limit ? PQntuples(r) : limit;
	if (n == 0)
		goto out;
	ids = ids_array(r, n);
	if (!ids) {
		rc = VEX_ENOMEM;
		goto out;
	}
	v[0] = ids;
	for (size_t i = 0; rc == 0 && i < sizeof(del) / sizeof(del[0]); i++)
		rc = vex_pg_exec(p, del[i], 1, v, NULL);
out:
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0) {
		for (int i = 0; i < n; i++)
			vex_pg_copy(r, i, 0, ret_ids[i], VEX_UUID_LEN + 1);
		*ret_n = n;
	}
	free(ids);
	PQclear(r);
	return rc;
}

int vex_pg_schedule_fires_prune(struct vex_pg *p, int64_t before_slot_us, int limit, int64_t *ret_deleted)
{
	char before[24], lim[24];
	const char *v[2] = { vex_pg_i64(before, before_slot_us), vex_pg_i64(lim, limit) };
	int64_t changes = 0;
	int rc;

	if (!p || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	/* Ties in slot go by agent (SQLite's by rowid): one statement, no job written. */
	rc = vex_pg_changes(p,
			    "DELETE FROM schedule_fires WHERE (agent_id, slot) IN"
			    " (SELECT agent_id, slot FROM schedule_fires WHERE slot < $1 ORDER BY slot, agent_id LIMIT $2)",
			    2, v, &changes);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}
