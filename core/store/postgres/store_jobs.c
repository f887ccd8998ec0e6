/* store_jobs.c - jobs on PostgreSQL: the row reader, get, and the idempotent insert (one or a batch, a retry's
 * link), the listings and counts of a filter, a job's place in the queue and a tool's recent runs, as
 * core/store/sqlite/store_jobs.c and store_operator.c's retry link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

/* Fill "item" (a struct vex_job *) from row "row" (columns in VEX_PG_JOB_COLS order). */
static int job_row(const PGresult *r, int row, void *item)
{
	struct vex_job *j = vex_job_new();
	enum vex_job_status status = VEX_JOB_QUEUED;
	enum vex_plan plan = VEX_PLAN_FREE;
	int fail = 0;

	if (!j)
		return VEX_ENOMEM;
	vex_pg_copy(r, row, 0, j->id, sizeof(j->id));
	vex_pg_copy(r, row, 1, j->owner, sizeof(j->owner));
	vex_plan_parse(PQgetvalue(r, row, 2), &plan);
	j->plan = plan;
	j->kind = strcmp(PQgetvalue(r, row, 3), "tool") == 0 ? VEX_JOB_TOOL : VEX_JOB_AGENT;
	vex_pg_copy(r, row, 4, j->agent_id, sizeof(j->agent_id));
	j->tool = vex_pg_strdup(r, row, 5, &fail);
	j->input_json = vex_pg_strdup(r, row, 6, &fail);
	vex_job_status_parse(PQgetvalue(r, row, 7), &status);
	j->status = status;
	j->attempts = (int)vex_pg_get_i64(r, row, 8);
	j->max_attempts = (int)vex_pg_get_i64(r, row, 9);
	j->priority = (int)vex_pg_get_i64(r, row, 10);
	j->timeout_ms = vex_pg_get_i64(r, row, 11);
	j->created_at = vex_pg_get_i64(r, row, 12);
	j->started_at = vex_pg_get_i64(r, row, 13);
	j->completed_at = vex_pg_get_i64(r, row, 14);
	j->updated_at = vex_pg_get_i64(r, row, 15);
	j->progress.current_step = vex_pg_strdup(r, row, 16, &fail);
	j->progress.total_steps = (int)vex_pg_get_i64(r, row, 17);
	/* float8's text is the shortest that reads back to the same double (extra_float_digits 1). */
	j->progress.percentage = strtod(PQgetvalue(r, row, 18), NULL);
	j->progress.message = vex_pg_strdup(r, row, 19, &fail);
	j->result_json = vex_pg_strdup(r, row, 20, &fail);
	j->error_code = vex_pg_strdup(r, row, 21, &fail);
	j->error_message = vex_pg_strdup(r, row, 22, &fail);
	j->error_details_json = vex_pg_strdup(r, row, 23, &fail);
	j->tokens_in = vex_pg_get_i64(r, row, 24);
	j->tokens_out = vex_pg_get_i64(r, row, 25);
	j->final_model = vex_pg_strdup(r, row, 26, &fail);
	j->steps = (int)vex_pg_get_i64(r, row, 27);
	j->browser_steps = (int)vex_pg_get_i64(r, row, 28);
	j->browser_seconds = strtod(PQgetvalue(r, row, 29), NULL);
	j->idempotency_key = vex_pg_strdup(r, row, 30, &fail);
	j->cancel_requested = (int)vex_pg_get_i64(r, row, 31);
	j->lease_owner = vex_pg_strdup(r, row, 32, &fail);
	j->lease_expires_at = vex_pg_get_i64(r, row, 33);
	j->rev = vex_pg_get_i64(r, row, 34);
	j->owner_admin = strcmp(PQgetvalue(r, row, 35), "admin") == 0;
	j->request_hash = vex_pg_strdup(r, row, 36, &fail);
	vex_pg_copy(r, row, 37, j->retry_of, sizeof(j->retry_of));
	vex_pg_copy(r, row, 38, j->retried_by, sizeof(j->retried_by));
	j->traceparent = vex_pg_strdup(r, row, 39, &fail);
	if (fail || !j->input_json) {
		vex_job_free(j);
		return VEX_ENOMEM;
	}
	*(struct vex_job **)item = j;
	return 0;
}

static void job_row_free(void *item)
{
	vex_job_free(*(struct vex_job **)item);
}

const struct vex_pg_rows vex_pg_job_rows = { sizeof(struct vex_job *), job_row, job_row_free };

int vex_pg_job_one(struct vex_pg *p, const char *sql, int n, const char *const *vals, struct vex_job **ret)
{
	PGresult *r = NULL;
	void *items = NULL;
	size_t got = 0;
	int rc = vex_pg_exec(p, sql, n, vals, &r);

	if (rc)
		return rc;
	if (PQntuples(r) == 0)
		rc = VEX_ENOTFOUND;
	else
		rc = vex_pg_collect(r, &vex_pg_job_rows, 1, &items, &got);
	PQclear(r);
	if (rc == 0) {
		*ret = ((struct vex_job **)items)[0];
		free(items);
	}
	return rc;
}

int vex_pg_job_get(struct vex_pg *p, const char *id, const char *owner, struct vex_job **ret)
{
	const char *v[2] = { id, owner };

	if (!id)
		return VEX_EINVAL;
	return vex_pg_job_one(p, "SELECT " VEX_PG_JOB_COLS " FROM jobs WHERE id = $1 AND ($2::text IS NULL OR owner = $2)",
			      2, v, ret);
}

int vex_pg_retry_link_locked(struct vex_pg *p, const struct vex_job *j, int64_t now_us)
{
	char now[24];
	const char *v[4] = { j->id, j->retry_of, vex_pg_i64(now, now_us), j->owner };
	PGresult *r = NULL;
	int64_t changed = 0;
	int rc;

	rc = vex_pg_changes(p,
			    "UPDATE jobs SET retried_by = $1, updated_at = $3, rev = rev + 1"
			    " WHERE id = $2 AND owner = $4 AND retried_by IS NULL"
			    " AND status IN ('failed','timeout','canceled')",
			    4, v, &changed);
	if (rc || changed == 1)
		return rc;
	/* Nothing changed: say why. */
	v[0] = j->retry_of;
	v[1] = j->owner;
	rc = vex_pg_exec(p, "SELECT retried_by IS NOT NULL FROM jobs WHERE id = $1 AND owner = $2", 2, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? VEX_ECONFLICT : VEX_ESTATE;
	else
		rc = VEX_ENOTFOUND;
	PQclear(r);
	return rc;
}

int vex_pg_job_insert_locked(struct vex_pg *p, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	struct vex_job *got = NULL, *found = NULL;
	char num[4][24];
	const char *v[16];
	int64_t created;
	int rc;

	created = j->created_at ? j->created_at : vex_now_us();
	got = vex_job_dup_as_new(j, created);
	if (!got)
		return VEX_ENOMEM;
	/* Under the jobs lock: a second request with the same key waits for ours and then finds it. */
	if (j->idempotency_key) {
		v[0] = j->owner;
		v[1] = j->idempotency_key;
		rc = vex_pg_job_one(p, "SELECT " VEX_PG_JOB_COLS " FROM jobs WHERE owner = $1 AND idempotency_key = $2", 2,
				    v, &found);
		if (rc == 0) {
			vex_job_free(got);
			*ret = found;
			*ret_created = 0;
			return 0;
		}
		if (rc != VEX_ENOTFOUND)
			goto out;
	}
	/* After the idempotency lookup (a replay is never refused), in the same transaction as the insert. */
	rc = vex_pg_cap_check_locked(p, VEX_CAP_QUEUED_JOBS, j->owner, NULL, j->queued_cap);
	/* A retry links the job it retries in the same transaction (core/store/operator.h). */
	if (rc == 0 && j->retry_of[0])
		rc = vex_pg_retry_link_locked(p, j, created);
	if (rc)
		goto out;
	v[0] = j->id;
	v[1] = j->owner;
	v[2] = vex_plan_name(j->plan);
	v[3] = vex_job_kind_name(j->kind);
	v[4] = j->kind == VEX_JOB_AGENT ? j->agent_id : NULL;
	v[5] = j->kind == VEX_JOB_TOOL ? j->tool : NULL;
	v[6] = j->input_json;
	v[7] = vex_pg_i64(num[0], j->max_attempts);
	v[8] = vex_pg_i64(num[1], j->priority);
	v[9] = vex_pg_i64(num[2], j->timeout_ms);
	v[10] = vex_pg_i64(num[3], created);
	v[11] = j->idempotency_key;
	v[12] = j->owner_admin ? "admin" : "user";
	v[13] = j->idempotency_key ? j->request_hash : NULL;
	v[14] = j->retry_of[0] ? j->retry_of : NULL;
	v[15] = j->traceparent;
	rc = vex_pg_exec(p,
			 "INSERT INTO jobs(id, owner, plan, kind, agent_id, tool, input_json, status, attempts,"
			 " max_attempts, priority, timeout_ms, created_at, updated_at, idempotency_key, rev, owner_role,"
			 " request_hash, retry_of, traceparent)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $10, $11, $11, $12, 1, $13, $14, $15, $16)",
			 16, v, NULL);
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

int vex_pg_job_insert(struct vex_pg *p, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	struct vex_job *got = NULL;
	int rc, created_new = 0;

	rc = vex_job_check_new(j);
	if (rc)
		return rc;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = vex_pg_job_insert_locked(p, j, &got, &created_new);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0) {
		*ret = got;
		got = NULL;
		if (ret_created)
			*ret_created = created_new;
	}
	vex_job_free(got);
	return rc;
}

int vex_pg_jobs_insert_each_locked(struct vex_pg *p, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				   int *created, int *rcs)
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
		rc = vex_pg_exec(p, "SAVEPOINT vex_one", 0, NULL, NULL);
		if (rc)
			return rc;
		rcs[i] = vex_pg_job_insert_locked(p, jobs[i], &rets[i], &created[i]);
		if (rcs[i]) {
			rc = vex_pg_exec(p, "ROLLBACK TO vex_one", 0, NULL, NULL);
			if (rc)
				return rc;
		}
		rc = vex_pg_exec(p, "RELEASE vex_one", 0, NULL, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int vex_pg_jobs_insert_batch(struct vex_pg *p, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
			     int *created, int *rcs)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		rets[i] = NULL;
	rc = vex_pg_begin_jobs(p);
	if (rc == 0) {
		rc = vex_pg_jobs_insert_each_locked(p, jobs, n, rets, created, rcs);
		if (rc == 0)
			rc = vex_pg_commit(p);
		else
			vex_pg_rollback(p);
	}
	if (rc)
		vex_jobs_insert_failed(rets, created, rcs, n, rc);
	return rc;
}

/* ---- listing ---- */

/* A job filter's statement: its text and its parameters, numbered in the order they appear. */
struct filter_q {
	char sql[2048];
	size_t len;
	const char *v[24];
	char num[8][24]; /* the integers among "v" */
	int n, nums;
	int first;       /* no condition yet: the next one begins the WHERE */
};

/* Append "text" with "%d" standing for the next parameter's number, "val" its value. */
static void add_param(struct filter_q *q, const char *text, const char *val)
{
	const char *d = strstr(text, "%d");

	q->v[q->n++] = val;
	q->len += (size_t)snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%.*s$%d%s", (int)(d - text), text, q->n,
				   d + 2);
}

/* A condition with one parameter, joined by WHERE or AND. */
static void add_cond(struct filter_q *q, const char *text, const char *val)
{
	q->len += (size_t)snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", q->first ? " WHERE " : " AND ");
	q->first = 0;
	add_param(q, text, val);
}

static const char *add_num(struct filter_q *q, int64_t v)
{
	return vex_pg_i64(q->num[q->nums++], v);
}

/*
 * The statement for "f", as SQLite's filter_sql builds it: only the conditions in use appear, in the same order
 * (each shape its own plan and index), with $n parameters instead of names. "count": COUNT(*) instead of the
 * rows; "before": the before_id bound (a listing always has it, a count only for jobs_count_before).
 */
static void filter_sql(const struct vex_job_filter *f, int count, int before, struct filter_q *q,
		       char lo[VEX_UUID_LEN + 1], char hi[VEX_UUID_LEN + 1])
{
	int s, open = 0;

	q->n = q->nums = 0;
	q->first = 1;
	q->len = (size_t)snprintf(q->sql, sizeof(q->sql), "%s",
				  count ? "SELECT COUNT(*) FROM jobs" : "SELECT " VEX_PG_JOB_COLS " FROM jobs");
	if (f->owner)
		add_cond(q, "owner = %d", f->owner);
	if (f->status >= 0)
		add_cond(q, "status = %d", vex_job_status_name((enum vex_job_status)f->status));
	/* A status set: one parameter per status, in status order. */
	for (s = 0; f->status_mask && s < VEX_JOB_STATUS_COUNT; s++) {
		if (!(f->status_mask & (1u << s)))
			continue;
		if (open)
			add_param(q, ",%d", vex_job_status_name((enum vex_job_status)s));
		else
			add_cond(q, "status IN (%d", vex_job_status_name((enum vex_job_status)s));
		open = 1;
	}
	if (open)
		q->len += (size_t)snprintf(q->sql + q->len, sizeof(q->sql) - q->len, ")");
	if (f->kind >= 0)
		add_cond(q, "kind = %d", vex_job_kind_name((enum vex_job_kind)f->kind));
	if (f->agent_id)
		add_cond(q, "agent_id = %d", f->agent_id);
	if (f->tool)
		add_cond(q, "tool = %d", f->tool);
	if (f->created_after) {
		vex_job_id_bound(f->created_after - VEX_JOB_ID_SLACK_US, lo);
		add_cond(q, "id >= %d", lo);
		add_cond(q, "created_at >= %d", add_num(q, f->created_after));
	}
	if (f->created_before) {
		vex_job_id_bound(f->created_before + VEX_JOB_ID_SLACK_US, hi);
		add_cond(q, "id < %d", hi);
		add_cond(q, "created_at < %d", add_num(q, f->created_before));
	}
	if (f->started_after)
		add_cond(q, "started_at > %d", add_num(q, f->started_after));
	if (f->started_before)
		add_cond(q, "started_at < %d", add_num(q, f->started_before));
	if (before && f->before_id)
		add_cond(q, "id < %d", f->before_id);
	if (!count) {
		add_param(q, " ORDER BY id DESC LIMIT %d", add_num(q, f->limit));
		add_param(q, " OFFSET %d", add_num(q, f->offset));
	}
}

int vex_pg_jobs_list(struct vex_pg *p, const struct vex_job_filter *f, struct vex_job_list *ret)
{
	char lo[VEX_UUID_LEN + 1], hi[VEX_UUID_LEN + 1];
	struct filter_q q;
	PGresult *r = NULL;
	void *items = NULL;
	size_t n = 0;
	int rc;

	rc = vex_job_filter_check(f);
	if (rc)
		return rc;
	if (f->limit < 1 || f->limit > 1000 || f->offset < 0)
		return VEX_EINVAL;
	filter_sql(f, 0, 1, &q, lo, hi);
	rc = vex_pg_exec(p, q.sql, q.n, q.v, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &vex_pg_job_rows, (size_t)f->limit, &items, &n);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_job_list){ items, n };
	return rc;
}

/* COUNT(*) of "f" (with its before_id bound when "before"). */
static int count_of(struct vex_pg *p, const struct vex_job_filter *f, int before, int64_t *ret)
{
	char lo[VEX_UUID_LEN + 1], hi[VEX_UUID_LEN + 1];
	struct filter_q q;
	PGresult *r = NULL;
	int rc;

	rc = vex_job_filter_check(f);
	if (rc)
		return rc;
	filter_sql(f, 1, before, &q, lo, hi);
	rc = vex_pg_exec(p, q.sql, q.n, q.v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*ret = vex_pg_get_i64(r, 0, 0);
	else
		rc = VEX_ERROR;
	PQclear(r);
	return rc;
}

int vex_pg_jobs_count(struct vex_pg *p, const struct vex_job_filter *f, int64_t *ret)
{
	return count_of(p, f, 0, ret);
}

int vex_pg_jobs_count_before(struct vex_pg *p, const struct vex_job_filter *f, int64_t *ret)
{
	return count_of(p, f, 1, ret);
}

/* ---- corex helpers ---- */

int vex_pg_job_queue_position(struct vex_pg *p, const char *id, int64_t *ret)
{
	const char *v[2];
	PGresult *r = NULL, *c = NULL;
	int rc;

	if (!p || !id || !ret)
		return VEX_EINVAL;
	v[0] = id;
	rc = vex_pg_exec(p, "SELECT priority, status = 'queued' FROM jobs WHERE id = $1", 1, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) != 1)
		rc = VEX_ENOTFOUND;
	else if (strcmp(PQgetvalue(r, 0, 1), "t") != 0)
		rc = VEX_ESTATE;
	if (rc)
		goto out;
	/* Those ahead in the claim order (jobs_claim: priority DESC, id), ids compared as bytes. */
	v[0] = PQgetvalue(r, 0, 0);
	v[1] = id;
	rc = vex_pg_exec(p,
			 "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"
			 " AND (priority > $1 OR (priority = $1 AND id < $2))",
			 2, v, &c);
	if (rc)
		goto out;
	if (PQntuples(c) == 1)
		*ret = vex_pg_get_i64(c, 0, 0) + 1;
	else
		rc = VEX_ERROR;
out:
	PQclear(c);
	PQclear(r);
	return rc;
}

int vex_pg_tool_recent_runs(struct vex_pg *p, const char *tool, int n, int64_t *ret_avg_us, int *ret_count)
{
	char a[24], b[24];
	const char *v[3];
	PGresult *r = NULL;
	int rc;

	if (!p || !tool || n < 1 || n > 1000 || !ret_avg_us || !ret_count)
		return VEX_EINVAL;
	v[0] = tool;
	v[1] = vex_pg_i64(a, n);
	v[2] = vex_pg_i64(b, VEX_TOOL_RUNS_SCAN);
	/* As SQLite's: the newest VEX_TOOL_RUNS_SCAN of the tool's jobs, the newest "n" completed among them; the
	 * mean cut toward zero, as SQLite's CAST of its AVG. */
	rc = vex_pg_exec(p,
			 "SELECT COUNT(*), COALESCE(trunc(AVG(completed_at - started_at))::bigint, 0) FROM"
			 " (SELECT id, started_at, completed_at FROM"
			 "  (SELECT id, status, started_at, completed_at FROM jobs WHERE tool = $1"
			 "   ORDER BY id DESC LIMIT $3) scan"
			 "  WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL"
			 "  ORDER BY id DESC LIMIT $2) runs",
			 3, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1) {
		*ret_count = (int)vex_pg_get_i64(r, 0, 0);
		*ret_avg_us = vex_pg_get_i64(r, 0, 1);
	} else {
		rc = VEX_ERROR;
	}
	PQclear(r);
	return rc;
}
