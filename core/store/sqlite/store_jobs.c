/* store_jobs.c - jobs in SQLite: idempotent insert, get, list, count, corex reads (transitions: store_job_states.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/base/traceparent.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

/* JOB_COLS: store_internal.h */


/* Build a job from the current row (columns in JOB_COLS order). */
static int job_from_row(sqlite3_stmt *st, struct vex_job **ret)
{
	struct vex_job *j;
	enum vex_job_status status = VEX_JOB_QUEUED;
	enum vex_plan plan = VEX_PLAN_FREE;
	const char *kind;
	int fail = 0;

	j = vex_job_new();
	if (!j)
		return VEX_ENOMEM;
	vex_col_copy(st, 0, j->id, sizeof(j->id));
	vex_col_copy(st, 1, j->owner, sizeof(j->owner));
	vex_plan_parse((const char *)sqlite3_column_text(st, 2), &plan);
	j->plan = plan;
	kind = (const char *)sqlite3_column_text(st, 3);
	j->kind = kind && strcmp(kind, "tool") == 0 ? VEX_JOB_TOOL : VEX_JOB_AGENT;
	vex_col_copy(st, 4, j->agent_id, sizeof(j->agent_id));
	j->tool = vex_col_strdup(st, 5, &fail);
	j->input_json = vex_col_strdup(st, 6, &fail);
	vex_job_status_parse((const char *)sqlite3_column_text(st, 7), &status);
	j->status = status;
	j->attempts = sqlite3_column_int(st, 8);
	j->max_attempts = sqlite3_column_int(st, 9);
	j->priority = sqlite3_column_int(st, 10);
	j->timeout_ms = sqlite3_column_int64(st, 11);
	j->created_at = sqlite3_column_int64(st, 12);
	j->started_at = sqlite3_column_int64(st, 13);
	j->completed_at = sqlite3_column_int64(st, 14);
	j->updated_at = sqlite3_column_int64(st, 15);
	j->progress.current_step = vex_col_strdup(st, 16, &fail);
	j->progress.total_steps = sqlite3_column_int(st, 17);
	j->progress.percentage = sqlite3_column_double(st, 18);
	j->progress.message = vex_col_strdup(st, 19, &fail);
	j->result_json = vex_col_strdup(st, 20, &fail);
	j->error_code = vex_col_strdup(st, 21, &fail);
	j->error_message = vex_col_strdup(st, 22, &fail);
	j->error_details_json = vex_col_strdup(st, 23, &fail);
	j->tokens_in = sqlite3_column_int64(st, 24);
	j->tokens_out = sqlite3_column_int64(st, 25);
	j->final_model = vex_col_strdup(st, 26, &fail);
	j->steps = sqlite3_column_int(st, 27);
	j->browser_steps = sqlite3_column_int(st, 28);
	j->browser_seconds = sqlite3_column_double(st, 29);
	j->idempotency_key = vex_col_strdup(st, 30, &fail);
	j->cancel_requested = sqlite3_column_int(st, 31);
	j->lease_owner = vex_col_strdup(st, 32, &fail);
	j->lease_expires_at = sqlite3_column_int64(st, 33);
	j->rev = sqlite3_column_int64(st, 34);
	j->owner_admin = sqlite3_column_text(st, 35) && strcmp((const char *)sqlite3_column_text(st, 35), "admin") == 0;
	j->request_hash = vex_col_strdup(st, 36, &fail);
	vex_col_copy(st, 37, j->retry_of, sizeof(j->retry_of));
	vex_col_copy(st, 38, j->retried_by, sizeof(j->retried_by));
	j->traceparent = vex_col_strdup(st, 39, &fail);
	if (fail) {
		vex_job_free(j);
		return VEX_ENOMEM;
	}
	*ret = j;
	return 0;
}

/* How a row becomes an item (defined beside the listing); single-row reads use it too. */
static const struct vex_rows job_rows;

int vex_sqlite_job_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_job **ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, owner);
	return vex_sqlite_one(st, &job_rows, ret);
}

int vex_sqlite_job_insert_locked(struct vex_sqlite *s, const struct vex_job *j, struct vex_job **ret,
				 int *ret_created)
{
	struct vex_job *got = NULL, *found = NULL;
	sqlite3_stmt *st;
	int64_t created;
	int rc;

	created = j->created_at ? j->created_at : vex_now_us();
	got = vex_job_dup_as_new(j, created);
	if (!got)
		return VEX_ENOMEM;
	/* Inside the write lock: a second request with the same key waits here and then finds ours. */
	if (j->idempotency_key) {
		rc = vex_sqlite_stmt(s, "SELECT " JOB_COLS " FROM jobs WHERE owner = ?1 AND idempotency_key = ?2",
				     &st);
		if (rc)
			goto out;
		vex_bind_text(st, 1, j->owner);
		vex_bind_text(st, 2, j->idempotency_key);
		rc = vex_sqlite_one(st, &job_rows, &found);
		if (rc == 0) {
			vex_job_free(got);
			*ret = found;
			*ret_created = 0;
			return 0;
		}
		if (rc != VEX_ENOTFOUND)
			goto out;
	}
	/* After the idempotency lookup (a replay is never refused), in the same write lock as the insert. */
	rc = vex_sqlite_cap_check_locked(s, VEX_CAP_QUEUED_JOBS, j->owner, NULL, j->queued_cap);
	/* A retry links the job it retries in the same transaction (core/store/operator.h). */
	if (rc == 0 && j->retry_of[0])
		rc = vex_sqlite_retry_link_locked(s, j, created);
	if (rc)
		goto out;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO jobs(id, owner, plan, kind, agent_id, tool, input_json, status, attempts,"
			     " max_attempts, priority, timeout_ms, created_at, updated_at, idempotency_key, rev, owner_role,"
			     " request_hash, retry_of, traceparent)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0, ?8, ?9, ?10, ?11, ?11, ?12, 1, ?13, ?14, ?15, ?16)",
			     &st);
	if (rc)
		goto out;
	vex_bind_text(st, 1, j->id);
	vex_bind_text(st, 2, j->owner);
	vex_bind_text(st, 3, vex_plan_name(j->plan));
	vex_bind_text(st, 4, vex_job_kind_name(j->kind));
	vex_bind_text(st, 5, j->kind == VEX_JOB_AGENT ? j->agent_id : NULL);
	vex_bind_text(st, 6, j->kind == VEX_JOB_TOOL ? j->tool : NULL);
	vex_bind_text(st, 7, j->input_json);
	sqlite3_bind_int(st, 8, j->max_attempts);
	sqlite3_bind_int(st, 9, j->priority);
	sqlite3_bind_int64(st, 10, j->timeout_ms);
	sqlite3_bind_int64(st, 11, created);
	vex_bind_text(st, 12, j->idempotency_key);
	vex_bind_text(st, 13, j->owner_admin ? "admin" : "user");
	vex_bind_text(st, 14, j->idempotency_key ? j->request_hash : NULL);
	vex_bind_text(st, 15, j->retry_of[0] ? j->retry_of : NULL);
	vex_bind_text(st, 16, j->traceparent);
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		goto out;
	/* What was inserted is the new job as it came, marked new: no need to read it back. */
	*ret = got;
	got = NULL;
	*ret_created = 1;
out:
	vex_job_free(got);
	return rc;
}

int vex_sqlite_job_insert(struct vex_sqlite *s, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	struct vex_job *got = NULL;
	int rc, created_new = 0;

	rc = vex_job_check_new(j);
	if (rc)
		return rc;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_job_insert_locked(s, j, &got, &created_new);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0) {
		*ret = got;
		got = NULL;
		if (ret_created)
			*ret_created = created_new;
	}
	vex_job_free(got);
	return rc;
}

int vex_sqlite_jobs_insert_each_locked(struct vex_sqlite *s, struct vex_job *const *jobs, size_t n,
				       struct vex_job **rets, int *created, int *rcs)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rets[i] = NULL;
		created[i] = 0;
		rcs[i] = vex_job_check_new(jobs[i]);
	}
	for (i = 0; i < n; i++) {
		if (rcs[i])
			continue;
		/* A savepoint per job: one job's failure does not undo the others of the batch. */
		rc = vex_sqlite_exec_sql(s, "SAVEPOINT vex_one");
		if (rc)
			return rc;
		rcs[i] = vex_sqlite_job_insert_locked(s, jobs[i], &rets[i], &created[i]);
		if (rcs[i])
			vex_sqlite_exec_sql(s, "ROLLBACK TO vex_one");
		rc = vex_sqlite_exec_sql(s, "RELEASE vex_one");
		if (rc)
			return rc;
	}
	return 0;
}

int vex_sqlite_jobs_insert_batch(struct vex_sqlite *s, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				 int *created, int *rcs)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		rets[i] = NULL;
	rc = vex_sqlite_begin(s);
	if (rc == 0) {
		rc = vex_sqlite_jobs_insert_each_locked(s, jobs, n, rets, created, rcs);
		if (rc == 0)
			rc = vex_sqlite_commit(s);
		else
			vex_sqlite_rollback(s);
	}
	if (rc)
		vex_jobs_insert_failed(rets, created, rcs, n, rc);
	return rc;
}

/* ---- listing ---- */

void vex_job_filter_init(struct vex_job_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->status = -1;
	f->kind = -1;
	f->limit = 20;
}

void vex_job_list_release(struct vex_job_list *l)
{
	VEX_STORE_LIST_RELEASE(l, vex_job_free);
}

/* "status IN ('failed','timeout')" for a status set: only the core's own names go into the SQL. */
static void status_in_sql(unsigned mask, char *sql, size_t cap)
{
	size_t n = (size_t)snprintf(sql, cap, "status IN (");
	int s, first = 1;

	for (s = 0; s < VEX_JOB_STATUS_COUNT; s++) {
		if (!(mask & (1u << s)))
			continue;
		n += (size_t)snprintf(sql + n, cap - n, "%s'%s'", first ? "" : ",",
				      vex_job_status_name((enum vex_job_status)s));
		first = 0;
	}
	snprintf(sql + n, cap - n, ")");
}

/*
 * The SQL for a filter: only the conditions in use appear, so that each shape
 * of query gets its own cached statement and its own index (owner+id,
 * owner+status+id, agent_id+started_at, ...).
 */
static void filter_sql(const struct vex_job_filter *f, int count, char *sql, size_t cap)
{
	size_t n = 0;
	int first = 1;

#define ADD(text)                                                                       \
	do {                                                                            \
		n += (size_t)snprintf(sql + n, cap - n, "%s%s", first ? " WHERE " : " AND ", text); \
		first = 0;                                                              \
	} while (0)

	n = (size_t)snprintf(sql, cap, "%s", count ? "SELECT COUNT(*) FROM jobs" : "SELECT " JOB_COLS " FROM jobs");
	if (f->owner)
		ADD("owner = :owner");
	if (f->status >= 0)
		ADD("status = :status");
	if (f->status_mask) {
		char in[128];

		status_in_sql(f->status_mask, in, sizeof(in));
		ADD(in);
	}
	if (f->kind >= 0)
		ADD("kind = :kind");
	if (f->agent_id)
		ADD("agent_id = :agent_id");
	if (f->tool)
		ADD("tool = :tool");
	if (f->created_after) {
		ADD("id >= :id_lo");
		ADD("created_at >= :created_after");
	}
	if (f->created_before) {
		ADD("id < :id_hi");
		ADD("created_at < :created_before");
	}
	if (f->started_after)
		ADD("started_at > :after");
	if (f->started_before)
		ADD("started_at < :before");
	if (!count && f->before_id)
		ADD("id < :before_id");
	if (!count)
		snprintf(sql + n, cap - n, " ORDER BY id DESC LIMIT :limit OFFSET :offset");
#undef ADD
}

static void filter_bind(sqlite3_stmt *st, const struct vex_job_filter *f)
{
	char lo[VEX_UUID_LEN + 1], hi[VEX_UUID_LEN + 1];

	vex_bind_text_named(st, ":owner", f->owner);
	if (f->status >= 0)
		vex_bind_text_named(st, ":status", vex_job_status_name((enum vex_job_status)f->status));
	if (f->kind >= 0)
		vex_bind_text_named(st, ":kind", vex_job_kind_name((enum vex_job_kind)f->kind));
	vex_bind_text_named(st, ":agent_id", f->agent_id);
	vex_bind_text_named(st, ":tool", f->tool);
	if (f->created_after) {
		vex_job_id_bound(f->created_after - VEX_JOB_ID_SLACK_US, lo);
		vex_bind_text_named(st, ":id_lo", lo);
		vex_bind_int64_named(st, ":created_after", f->created_after);
	}
	if (f->created_before) {
		vex_job_id_bound(f->created_before + VEX_JOB_ID_SLACK_US, hi);
		vex_bind_text_named(st, ":id_hi", hi);
		vex_bind_int64_named(st, ":created_before", f->created_before);
	}
	vex_bind_int64_named(st, ":after", f->started_after);
	vex_bind_int64_named(st, ":before", f->started_before);
	vex_bind_text_named(st, ":before_id", f->before_id);
	vex_bind_int64_named(st, ":limit", f->limit);
	vex_bind_int64_named(st, ":offset", f->offset);
}

static int job_row(sqlite3_stmt *st, void *item)
{
	return job_from_row(st, item);
}

static void job_row_free(void *item)
{
	vex_job_free(*(struct vex_job **)item);
}

static const struct vex_rows job_rows = { sizeof(struct vex_job *), job_row, job_row_free, NULL };
const struct vex_rows vex_sqlite_job_rows = { sizeof(struct vex_job *), job_row, job_row_free, NULL };

int vex_sqlite_jobs_list(struct vex_sqlite *s, const struct vex_job_filter *f, struct vex_job_list *ret)
{
	void *items;
	size_t n;
	sqlite3_stmt *st = NULL;
	char sql[2048];
	int rc;

	rc = vex_job_filter_check(f);
	if (rc)
		return rc;
	if (f->limit < 1 || f->limit > 1000 || f->offset < 0)
		return VEX_EINVAL;
	filter_sql(f, 0, sql, sizeof(sql));
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	rc = vex_sqlite_collect(st, &job_rows, (size_t)f->limit, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_job_list){ items, n };
	return rc;
}

int vex_sqlite_jobs_count(struct vex_sqlite *s, const struct vex_job_filter *f, int64_t *ret)
{
	sqlite3_stmt *st;
	char sql[1024];
	int rc;

	rc = vex_job_filter_check(f);
	if (rc)
		return rc;
	filter_sql(f, 1, sql, sizeof(sql));
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	return vex_sqlite_step_int64(st, ret);
}

/* ---- corex helpers ---- */

int vex_sqlite_job_queue_position(struct vex_sqlite *s, const char *id, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int64_t priority, ahead;
	int rc, step, queued;

	if (!s || !id || !ret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT priority, status = 'queued' FROM jobs WHERE id = ?1", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	step = vex_sqlite_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(step);
		vex_sqlite_done(st);
		return rc;
	}
	priority = sqlite3_column_int64(st, 0);
	queued = sqlite3_column_int(st, 1);
	vex_sqlite_done(st);
	if (!queued)
		return VEX_ESTATE;
	/* The partial claim index holds only queued rows, in exactly this order. */
	rc = vex_sqlite_stmt(s,
			     "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"
			     " AND (priority > ?1 OR (priority = ?1 AND id < ?2))",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, priority);
	vex_bind_text(st, 2, id);
	rc = vex_sqlite_step_int64(st, &ahead);
	if (rc == 0)
		*ret = ahead + 1;
	return rc;
}

int vex_sqlite_tool_recent_runs(struct vex_sqlite *s, const char *tool, int n, int64_t *ret_avg_us, int *ret_count)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (!s || !tool || n < 1 || n > 1000 || !ret_avg_us || !ret_count)
		return VEX_EINVAL;
	/* Bounded: a tool whose last thousand runs all failed costs a thousand index rows, not the table. */
	rc = vex_sqlite_stmt(s,
			     "SELECT COUNT(*), COALESCE(CAST(AVG(completed_at - started_at) AS INTEGER), 0) FROM"
			     " (SELECT id, started_at, completed_at FROM"
			     "  (SELECT id, status, started_at, completed_at FROM jobs WHERE tool = ?1"
			     "   ORDER BY id DESC LIMIT ?3)"
			     "  WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL"
			     "  ORDER BY id DESC LIMIT ?2)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, tool);
	sqlite3_bind_int(st, 2, n);
	sqlite3_bind_int(st, 3, VEX_TOOL_RUNS_SCAN);
	step = vex_sqlite_step(st);
	if (step == SQLITE_ROW) {
		*ret_count = sqlite3_column_int(st, 0);
		*ret_avg_us = sqlite3_column_int64(st, 1);
		rc = 0;
	} else {
		rc = step == SQLITE_DONE ? VEX_ERROR : vex_sqlite_errcode(step);
	}
	vex_sqlite_done(st);
	return rc;
}

int vex_sqlite_jobs_count_before(struct vex_sqlite *s, const struct vex_job_filter *f, int64_t *ret)
{
	sqlite3_stmt *st;
	char sql[1024];
	size_t n;
	int rc;

	rc = vex_job_filter_check(f);
	if (rc)
		return rc;
	filter_sql(f, 1, sql, sizeof(sql));
	if (f->before_id) {
		n = strlen(sql);
		snprintf(sql + n, sizeof(sql) - n, "%s", strstr(sql, " WHERE ") ? " AND id < :before_id" : " WHERE id < :before_id");
	}
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	return vex_sqlite_step_int64(st, ret);
}
