/* store_operator.c - the operator actions' writes in SQLite: a retry's link, cancel by filter in batches, a
 * re-sent webhook delivery (core/store/operator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

/* ---- retries ---- */

int vex_sqlite_retry_link_locked(struct vex_sqlite *s, const struct vex_job *j, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc, step;

	rc = vex_sqlite_stmt(s,
			     "UPDATE jobs SET retried_by = ?1, updated_at = ?3, rev = rev + 1"
			     " WHERE id = ?2 AND owner = ?4 AND retried_by IS NULL"
			     " AND status IN ('failed','timeout','canceled')",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, j->id);
	vex_bind_text(st, 2, j->retry_of);
	sqlite3_bind_int64(st, 3, now_us);
	vex_bind_text(st, 4, j->owner);
	rc = vex_sqlite_exec_stmt(st);
	if (rc || sqlite3_changes(s->db) == 1)
		return rc;
	/* Nothing changed: say why. */
	rc = vex_sqlite_stmt(s, "SELECT retried_by IS NOT NULL FROM jobs WHERE id = ?1 AND owner = ?2", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, j->retry_of);
	vex_bind_text(st, 2, j->owner);
	step = vex_sqlite_step(st);
	if (step == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) ? VEX_ECONFLICT : VEX_ESTATE;
	else
		rc = step == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(step);
	vex_sqlite_done(st);
	return rc;
}

/* ---- cancel by filter ---- */

/*
 * The first "max" matching jobs of one status, chosen inside the update so that one statement finds and changes
 * them. Every job a batch selects leaves the selectable set (canceled, or cancel_requested set), and jobs created
 * after the cutoff never enter it, so the batches end. They walk only live jobs: the queue in claim order through
 * the partial index jobs_owner_queue (an owner named: one seek) or jobs_claim, the running jobs through jobs_lease,
 * each walk past the queued jobs the other conditions leave out. Only the conditions in use appear: each shape is
 * its own cached statement and plan.
 */
static void cancel_sql(const struct vex_cancel_filter *f, enum vex_job_status which, char *sql, size_t cap)
{
	size_t n;

	if (which == VEX_JOB_QUEUED)
		n = (size_t)snprintf(sql, cap,
				     "UPDATE jobs SET status = 'canceled', completed_at = :now, updated_at = :now,"
				     " error_code = 'CANCELED', error_message = 'canceled before it started (cancel by filter)',"
				     " rev = rev + 1 WHERE id IN (SELECT id FROM jobs INDEXED BY %s WHERE status = 'queued'",
				     f->owner ? "jobs_owner_queue" : "jobs_claim");
	else
		n = (size_t)snprintf(sql, cap,
				     "UPDATE jobs SET cancel_requested = 1, updated_at = :now, rev = rev + 1"
				     " WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_lease WHERE status = 'running'"
				     " AND cancel_requested = 0");
	n += (size_t)snprintf(sql + n, cap - n, " AND created_at <= :cutoff");
	if (f->owner)
		n += (size_t)snprintf(sql + n, cap - n, " AND owner = :owner");
	if (f->tool)
		n += (size_t)snprintf(sql + n, cap - n, " AND tool = :tool");
	if (f->agent_id)
		n += (size_t)snprintf(sql + n, cap - n, " AND agent_id = :agent_id");
	if (f->created_after)
		n += (size_t)snprintf(sql + n, cap - n, " AND created_at >= :created_after");
	if (f->created_before)
		n += (size_t)snprintf(sql + n, cap - n, " AND created_at < :created_before");
	snprintf(sql + n, cap - n, " LIMIT :max) RETURNING " JOB_COLS);
}

int vex_sqlite_jobs_cancel_batch(struct vex_sqlite *s, const struct vex_cancel_filter *f, enum vex_job_status which,
				 int max, int64_t now_us, struct vex_job_list *ret)
{
	sqlite3_stmt *st = NULL;
	char sql[1024];
	void *got = NULL;
	size_t n = 0;
	int rc;

	if (!f || max < 1 || max > 1000 || (which != VEX_JOB_QUEUED && which != VEX_JOB_RUNNING))
		return VEX_EINVAL;
	cancel_sql(f, which, sql, sizeof(sql));
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		goto out;
	vex_bind_int64_named(st, ":now", now_us);
	vex_bind_int64_named(st, ":cutoff", f->cutoff_us);
	vex_bind_text_named(st, ":owner", f->owner);
	vex_bind_text_named(st, ":tool", f->tool);
	vex_bind_text_named(st, ":agent_id", f->agent_id);
	vex_bind_int64_named(st, ":created_after", f->created_after);
	vex_bind_int64_named(st, ":created_before", f->created_before);
	vex_bind_int64_named(st, ":max", max);
	rc = vex_sqlite_collect(st, &vex_sqlite_job_rows, (size_t)max, NULL, &got, &n);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
out:
	ret->items = got;
	ret->n = n;
	if (rc) {
		vex_sqlite_rollback(s);
		vex_job_list_release(ret);
	}
	return rc;
}

/* ---- re-sent deliveries ---- */

int vex_sqlite_delivery_resend(struct vex_sqlite *s, const char *hook_id, const char *id, int64_t now_us,
			       struct vex_delivery *ret)
{
	char new_id[VEX_DELIVERY_ID_LEN + 1];
	sqlite3_stmt *st;
	int rc, step, active = 0;

	if (!hook_id || !id)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s,
			     "SELECT h.status = 'active' FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id"
			     " WHERE d.id = ?1 AND d.hook_id = ?2 AND h.status <> 'deleted'",
			     &st);
	if (rc)
		goto out;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, hook_id);
	step = vex_sqlite_step(st);
	if (step == SQLITE_ROW)
		active = sqlite3_column_int(st, 0);
	rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(step);
	vex_sqlite_done(st);
	if (rc == 0 && !active)
		rc = VEX_ESTATE;
	if (rc)
		goto out;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status,"
			     " attempts, next_at, created_at, resend_of)"
			     " SELECT ?1, hook_id, owner, job_id, event_seq, event, payload, 'pending', 0, ?2, ?2, id"
			     " FROM webhook_deliveries WHERE id = ?3",
			     &st);
	if (rc)
		goto out;
	vex_uuid7_prefixed("msg_", new_id, sizeof(new_id));
	vex_bind_text(st, 1, new_id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, id);
	rc = vex_sqlite_exec_stmt(st);
out:
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	return rc ? rc : vex_sqlite_delivery_get(s, new_id, ret);
}
