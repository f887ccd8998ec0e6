/* store_metrics.c - the counts /metrics reads: job_tally (kept by triggers, summed over owners) and the webhook backlog. */
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

int vex_sqlite_metrics_counts(struct vex_sqlite *s, struct vex_store_counts *ret)
{
	struct vex_store_counts c = { 0 };
	enum vex_job_status st_v;
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s, "SELECT kind, status, SUM(n) FROM job_tally GROUP BY kind, status", &st);
	if (rc)
		return rc;
	while ((rc = vex_sqlite_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		const char *status = (const char *)sqlite3_column_text(st, 1);
		int k = kind && strcmp(kind, "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;

		if (status && vex_job_status_parse(status, &st_v) == 0 && (unsigned)st_v < VEX_JOB_STATUS_COUNT)
			c.jobs[k][st_v] = sqlite3_column_int64(st, 2);
	}
	vex_sqlite_done(st);
	if (rc != SQLITE_DONE)
		return vex_sqlite_errcode(rc);
	rc = vex_sqlite_stmt(s, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'", &st);
	if (rc)
		return rc;
	rc = vex_sqlite_step_int64(st, &c.deliveries_pending);
	if (rc)
		return rc;
	*ret = c;
	return 0;
}
