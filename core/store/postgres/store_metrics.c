/* store_metrics.c - the counts /metrics reads on PostgreSQL, as core/store/sqlite/store_metrics.c: job_tally summed over
 * owners and the webhook backlog. */
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

int vex_pg_metrics_counts(struct vex_pg *p, struct vex_store_counts *ret)
{
	struct vex_store_counts c = { 0 };
	enum vex_job_status st;
	PGresult *r = NULL;
	int rc;

	if (!p || !ret)
		return VEX_EINVAL;
	rc = vex_pg_exec(p, "SELECT kind, status, SUM(n) FROM job_tally GROUP BY kind, status", 0, NULL, &r);
	if (rc)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		int k = strcmp(PQgetvalue(r, i, 0), "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;

		if (vex_job_status_parse(PQgetvalue(r, i, 1), &st) == 0 && (unsigned)st < VEX_JOB_STATUS_COUNT)
			c.jobs[k][st] = vex_pg_get_i64(r, i, 2);
	}
	PQclear(r);
	r = NULL;
	/* A second read, as SQLite's (no transaction around the two). */
	rc = vex_pg_exec(p, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'", 0, NULL, &r);
	if (rc)
		goto out;
	if (PQntuples(r) != 1) {
		rc = VEX_ERROR;
		goto out;
	}
	c.deliveries_pending = vex_pg_get_i64(r, 0, 0);
	*ret = c;
out:
	PQclear(r);
	return rc;
}
