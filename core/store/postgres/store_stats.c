/* store_stats.c - what GET /api/v1/stats reads on PostgreSQL: jobs by status (job_tally) and the oldest queued
 * job, as core/store/sqlite/store_stats.c. */
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/stats.h"
#include "core/store/store.h"

int vex_pg_status_counts(struct vex_pg *p, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT])
{
	int64_t n[VEX_JOB_STATUS_COUNT] = { 0 };
	enum vex_job_status st;
	const char *v[1] = { owner };
	PGresult *r = NULL;
	int rc, i;

	if (!p || !ret)
		return VEX_EINVAL;
	if (owner)
		rc = vex_pg_exec(p, "SELECT status, SUM(n)::bigint FROM job_tally WHERE owner = $1 GROUP BY status", 1, v,
				 &r);
	else
		rc = vex_pg_exec(p, "SELECT status, SUM(n)::bigint FROM job_tally GROUP BY status", 0, NULL, &r);
	if (rc)
		return rc;
	for (i = 0; i < PQntuples(r); i++)
		if (vex_job_status_parse(PQgetvalue(r, i, 0), &st) == 0)
			n[st] += vex_pg_get_i64(r, i, 1);
	PQclear(r);
	memcpy(ret, n, sizeof(n));
	return 0;
}

int vex_pg_oldest_queued(struct vex_pg *p, const char *owner, char ret_id[VEX_UUID_LEN + 1], int64_t *ret_created_at)
{
	const char *v[1] = { owner };
	PGresult *r = NULL;
	int rc;

	if (!p || !ret_id || !ret_created_at)
		return VEX_EINVAL;
	/* As SQLite's: ids are time-ordered, so the smallest queued id (in bytes) is the oldest; everyone's as the
	 * oldest of each owner with queued jobs (job_tally), one index seek each. */
	if (owner)
		rc = vex_pg_exec(p,
				 "SELECT id, created_at FROM jobs WHERE owner = $1 AND status = 'queued'"
				 " ORDER BY id LIMIT 1",
				 1, v, &r);
	else
		rc = vex_pg_exec(p,
				 "SELECT j.id, j.created_at FROM (SELECT DISTINCT owner FROM job_tally"
				 " WHERE status = 'queued' AND n > 0) q JOIN jobs j ON j.id ="
				 " (SELECT id FROM jobs WHERE owner = q.owner AND status = 'queued' ORDER BY id LIMIT 1)"
				 " ORDER BY j.id LIMIT 1",
				 0, NULL, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		vex_pg_copy(r, 0, 0, ret_id, VEX_UUID_LEN + 1);
		*ret_created_at = vex_pg_get_i64(r, 0, 1);
	} else {
		rc = VEX_ENOTFOUND;
	}
	PQclear(r);
	return rc;
}
