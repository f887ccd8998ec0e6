/* store_operator.c - the operator actions' writes on PostgreSQL: cancel by filter in batches, as
 * core/store/sqlite/store_operator.c (a retry's link is in store_jobs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

/*
 * The first "max" matching jobs of one status, chosen inside the update, as SQLite's cancel_sql: the queue in claim
 * order (priority, then id: the order of SQLite's jobs_claim and jobs_owner_queue), the running jobs by lease
 * expiry (SQLite's jobs_lease; its ties go by rowid, here by id). Only the conditions in use appear, each shape
 * numbering its own parameters in "vals" ("num" holds the numbers' texts); the count of them in *ret_n. The rows
 * come back in the order they were chosen.
 */
static void cancel_sql(const struct vex_cancel_filter *f, enum vex_job_status which, int max, int64_t now_us,
		       char *sql, size_t cap, const char *vals[8], char num[5][24], int *ret_n)
{
	const char *order = which == VEX_JOB_QUEUED ? "priority DESC, id" : "lease_expires_at, id";
	size_t n;
	int k = 0;

	vals[k++] = vex_pg_i64(num[0], now_us);
	if (which == VEX_JOB_QUEUED)
		n = (size_t)snprintf(sql, cap,
				     "WITH c AS (UPDATE jobs SET status = 'canceled', completed_at = $1, updated_at = $1,"
				     " error_code = 'CANCELED', error_message = 'canceled before it started (cancel by filter)',"
				     " rev = rev + 1 WHERE id IN (SELECT id FROM jobs WHERE status = 'queued'");
	else
		n = (size_t)snprintf(sql, cap,
				     "WITH c AS (UPDATE jobs SET cancel_requested = 1, updated_at = $1, rev = rev + 1"
				     " WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND cancel_requested = 0");
	vals[k++] = vex_pg_i64(num[1], f->cutoff_us);
	n += (size_t)snprintf(sql + n, cap - n, " AND created_at <= $%d", k);
	if (f->owner) {
		vals[k++] = f->owner;
		n += (size_t)snprintf(sql + n, cap - n, " AND owner = $%d", k);
	}
	if (f->tool) {
		vals[k++] = f->tool;
		n += (size_t)snprintf(sql + n, cap - n, " AND tool = $%d", k);
	}
	if (f->agent_id) {
		vals[k++] = f->agent_id;
		n += (size_t)snprintf(sql + n, cap - n, " AND agent_id = $%d", k);
	}
	if (f->created_after) {
		vals[k++] = vex_pg_i64(num[2], f->created_after);
		n += (size_t)snprintf(sql + n, cap - n, " AND created_at >= $%d", k);
	}
	if (f->created_before) {
		vals[k++] = vex_pg_i64(num[3], f->created_before);
		n += (size_t)snprintf(sql + n, cap - n, " AND created_at < $%d", k);
	}
	vals[k++] = vex_pg_i64(num[4], max);
	snprintf(sql + n, cap - n,
		 " ORDER BY %s LIMIT $%d FOR UPDATE SKIP LOCKED) RETURNING " VEX_PG_JOB_COLS
		 ") SELECT * FROM c ORDER BY %s",
		 order, k, order);
	*ret_n = k;
}

int vex_pg_jobs_cancel_batch(struct vex_pg *p, const struct vex_cancel_filter *f, enum vex_job_status which, int max,
			     int64_t now_us, struct vex_job_list *ret)
{
	const char *vals[8];
	char sql[1536], num[5][24];
	PGresult *r = NULL;
	void *got = NULL;
	size_t n = 0;
	int rc, nvals = 0;

	if (!f || max < 1 || max > 1000 || (which != VEX_JOB_QUEUED && which != VEX_JOB_RUNNING))
		return VEX_EINVAL;
	cancel_sql(f, which, max, now_us, sql, sizeof(sql), vals, num, &nvals);
	/* A job write: under the jobs lock, so the jobs chosen are those SQLite's single writer would choose. */
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = vex_pg_exec(p, sql, nvals, vals, &r);
	if (rc == 0)
		rc = vex_pg_collect(r, &vex_pg_job_rows, (size_t)max, &got, &n);
	PQclear(r);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	ret->items = got;
	ret->n = n;
	if (rc)
		vex_job_list_release(ret); /* a failed commit changed nothing: nothing is returned */
	return rc;
}
