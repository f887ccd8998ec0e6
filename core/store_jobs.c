/* store_jobs.c - jobs in SQLite: insert (idempotent), get, list/count, cancel, claim, lease, finish, rescue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "timeutil.h"

#define JOB_COLS                                                                                         \
	"id, owner, plan, kind, agent_id, tool, input_json, status, attempts, max_attempts, priority,"      \
	" timeout_ms, created_at, started_at, completed_at, updated_at, progress_step, progress_total,"     \
	" progress_pct, progress_message, result_json, error_code, error_message, error_details_json,"      \
	" tokens_in, tokens_out, final_model, steps, browser_steps, browser_seconds, idempotency_key,"      \
	" cancel_requested, lease_owner, lease_expires_at, rev, owner_role"

#define IDEM_KEY_MAX 255       /* bytes of an Idempotency-Key */
#define RESCUE_BATCH 1000      /* expired leases handled per call; the runner calls again */
#define OWNER_CACHE 64         /* owners whose running count one claim remembers */

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
	if (fail) {
		vex_job_free(j);
		return VEX_ENOMEM;
	}
	*ret = j;
	return 0;
}

/* Step a bound single-row SELECT of JOB_COLS; 0, VEX_ENOTFOUND or an error. Resets "st". */
static int job_one(sqlite3_stmt *st, struct vex_job **ret)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		rc = job_from_row(st, ret);
	else if (rc == SQLITE_DONE)
		rc = VEX_ENOTFOUND;
	else
		rc = vex_store_errcode(rc);
	vex_store_done(st);
	return rc;
}

int vex_store_job_get(struct vex_store *s, const char *id, const char *owner, struct vex_job **ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_store_stmt(s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, owner);
	return job_one(st, ret);
}

static int job_check_new(const struct vex_job *j)
{
	if (!j || !j->id[0] || !j->owner[0] || !j->input_json)
		return VEX_EINVAL;
	if ((unsigned)j->plan >= VEX_PLAN_COUNT || j->max_attempts < 1)
		return VEX_EINVAL;
	if (j->kind == VEX_JOB_AGENT && !j->agent_id[0])
		return VEX_EINVAL;
	if (j->kind == VEX_JOB_TOOL && (!j->tool || !*j->tool))
		return VEX_EINVAL;
	if (j->kind != VEX_JOB_AGENT && j->kind != VEX_JOB_TOOL)
		return VEX_EINVAL;
	if (j->idempotency_key && (!*j->idempotency_key || strlen(j->idempotency_key) > IDEM_KEY_MAX))
		return VEX_EINVAL;
	return 0;
}

int vex_store_job_insert_locked(struct vex_store *s, const struct vex_job *j, struct vex_job **ret,
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
		rc = vex_store_stmt(s, "SELECT " JOB_COLS " FROM jobs WHERE owner = ?1 AND idempotency_key = ?2",
				    &st);
		if (rc)
			goto out;
		vex_bind_text(st, 1, j->owner);
		vex_bind_text(st, 2, j->idempotency_key);
		rc = job_one(st, &found);
		if (rc == 0) {
			vex_job_free(got);
			*ret = found;
			*ret_created = 0;
			return 0;
		}
		if (rc != VEX_ENOTFOUND)
			goto out;
	}
	rc = vex_store_stmt(s,
			    "INSERT INTO jobs(id, owner, plan, kind, agent_id, tool, input_json, status, attempts,"
			    " max_attempts, priority, timeout_ms, created_at, updated_at, idempotency_key, rev, owner_role)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0, ?8, ?9, ?10, ?11, ?11, ?12, 1, ?13)",
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
	rc = vex_store_exec_stmt(st);
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

int vex_store_job_insert(struct vex_store *s, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	struct vex_job *got = NULL;
	int rc, created_new = 0;

	rc = job_check_new(j);
	if (rc)
		return rc;
	rc = vex_store_begin(s);
	if (rc)
		return rc;
	rc = vex_store_job_insert_locked(s, j, &got, &created_new);
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0) {
		*ret = got;
		got = NULL;
		if (ret_created)
			*ret_created = created_new;
	}
	vex_job_free(got);
	return rc;
}

int vex_store_jobs_insert_batch(struct vex_store *s, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				int *created, int *rcs)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rets[i] = NULL;
		created[i] = 0;
		rcs[i] = job_check_new(jobs[i]);
	}
	rc = vex_store_begin(s);
	if (rc)
		goto fail;
	for (i = 0; i < n; i++) {
		if (rcs[i])
			continue;
		/* A savepoint per job: one job's failure does not undo the others of the batch. */
		rc = vex_store_exec_sql(s, "SAVEPOINT vex_one");
		if (rc) {
			vex_store_rollback(s);
			goto fail;
		}
		rcs[i] = vex_store_job_insert_locked(s, jobs[i], &rets[i], &created[i]);
		if (rcs[i])
			vex_store_exec_sql(s, "ROLLBACK TO vex_one");
		rc = vex_store_exec_sql(s, "RELEASE vex_one");
		if (rc) {
			vex_store_rollback(s);
			goto fail;
		}
	}
	rc = vex_store_commit(s);
	if (rc)
		goto fail;
	return 0;
fail:
	for (i = 0; i < n; i++) {
		vex_job_free(rets[i]);
		rets[i] = NULL;
		created[i] = 0;
		rcs[i] = rc;
	}
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
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		vex_job_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int filter_check(const struct vex_job_filter *f)
{
	if (!f || f->status < -1 || f->status >= VEX_JOB_STATUS_COUNT || f->kind < -1 || f->kind > VEX_JOB_TOOL)
		return VEX_EINVAL;
	if (f->status_mask >= (1u << VEX_JOB_STATUS_COUNT) || (f->status_mask && f->status >= 0))
		return VEX_EINVAL;
	return 0;
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
	vex_bind_text_named(st, ":owner", f->owner);
	if (f->status >= 0)
		vex_bind_text_named(st, ":status", vex_job_status_name((enum vex_job_status)f->status));
	if (f->kind >= 0)
		vex_bind_text_named(st, ":kind", vex_job_kind_name((enum vex_job_kind)f->kind));
	vex_bind_text_named(st, ":agent_id", f->agent_id);
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

int vex_store_jobs_list(struct vex_store *s, const struct vex_job_filter *f, struct vex_job_list *ret)
{
	void *items;
	size_t n;
	sqlite3_stmt *st = NULL;
	char sql[2048];
	int rc;

	rc = filter_check(f);
	if (rc)
		return rc;
	if (f->limit < 1 || f->limit > 1000 || f->offset < 0)
		return VEX_EINVAL;
	filter_sql(f, 0, sql, sizeof(sql));
	rc = vex_store_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	rc = vex_store_collect(st, &job_rows, (size_t)f->limit, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_job_list){ items, n };
	return rc;
}

int vex_store_jobs_count(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret)
{
	sqlite3_stmt *st;
	char sql[1024];
	int rc;

	rc = filter_check(f);
	if (rc)
		return rc;
	filter_sql(f, 1, sql, sizeof(sql));
	rc = vex_store_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	return vex_store_step_int64(st, ret);
}

/* ---- transitions ---- */

/*
 * Run the bound writing statement "st" inside BEGIN IMMEDIATE; when it changed no row the
 * transaction is rolled back and "none_rc" returned; otherwise the job "id" is read back
 * into *ret (when not NULL) and the transaction committed.
 */
static int change_one(struct vex_store *s, sqlite3_stmt *st, const char *id, int none_rc, struct vex_job **ret)
{
	struct vex_job *got = NULL;
	int rc;

	rc = vex_store_begin(s);
	if (rc) {
		vex_store_done(st);
		return rc;
	}
	rc = vex_store_exec_stmt(st);
	if (rc)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		rc = none_rc;
		goto out;
	}
	if (ret)
		rc = vex_store_job_get(s, id, NULL, &got);
out:
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0 && ret) {
		*ret = got;
		got = NULL;
	}
	vex_job_free(got);
	return rc;
}

int vex_store_job_cancel(struct vex_store *s, const char *id, const char *owner, int force_running,
			 int64_t now_us, struct vex_job **ret)
{
	struct vex_job *job = NULL, *after = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_store_begin(s);
	if (rc)
		return rc;
	rc = vex_store_job_get(s, id, owner, &job);
	if (rc)
		goto out;
	if (job->status == VEX_JOB_QUEUED) {
		rc = vex_store_stmt(s,
				    "UPDATE jobs SET status = 'canceled', completed_at = ?2, updated_at = ?2,"
				    " error_code = 'CANCELED', error_message = 'canceled before it started',"
				    " rev = rev + 1 WHERE id = ?1 AND status = 'queued'",
				    &st);
	} else if (job->status == VEX_JOB_RUNNING && force_running && !job->cancel_requested) {
		/* The runner sees the flag at its next lease renewal, stops the work and records canceled. */
		rc = vex_store_stmt(s,
				    "UPDATE jobs SET cancel_requested = 1, updated_at = ?2, rev = rev + 1"
				    " WHERE id = ?1 AND status = 'running'",
				    &st);
	} else if (job->status == VEX_JOB_RUNNING && force_running) {
		rc = 0; /* already asked: nothing to change, not an error */
		goto out;
	} else {
		rc = VEX_ESTATE;
		goto out;
	}
	if (rc)
		goto out;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	rc = vex_store_exec_stmt(st);
	if (rc)
		goto out;
	rc = vex_store_job_get(s, id, NULL, &after);
	if (rc)
		goto out;
	vex_job_free(job);
	job = after;
out:
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if ((rc == 0 || rc == VEX_ESTATE) && ret) {
		*ret = job;
		job = NULL;
	}
	vex_job_free(job);
	return rc;
}

struct owner_count {
	char owner[VEX_SUB_MAX + 1];
	int running;
};

/* Running jobs of "owner", counting no further than "cap" (all the claim needs to know). */
static int running_count(struct vex_store *s, const char *owner, int cap, int *ret)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	rc = vex_store_stmt(s,
			    "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE owner = ?1 AND status = 'running' LIMIT ?2)",
			    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, owner);
	sqlite3_bind_int(st, 2, cap);
	rc = vex_store_step_int64(st, &n);
	if (rc == 0)
		*ret = (int)n; /* at most "cap" */
	return rc;
}

/*
 * Walk queued jobs in claim order (the jobs_claim index) and pick the first whose owner is under
 * its plan's limit. Owners' running counts are remembered for the walk, so a blocked owner with a
 * long queue costs one indexed COUNT, then a string compare per row.
 */
static int pick_claimable(struct vex_store *s, const int plan_limits[VEX_PLAN_COUNT], char id[VEX_UUID_LEN + 1])
{
	struct owner_count seen[OWNER_CACHE];
	size_t nseen = 0, i;
	sqlite3_stmt *st;
	int rc, step, cap = 0;

	/* Counting past the largest limit tells nothing more. */
	for (i = 0; plan_limits && i < VEX_PLAN_COUNT; i++)
		if (plan_limits[i] > cap)
			cap = plan_limits[i];

	rc = vex_store_stmt(s, "SELECT id, owner, plan FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id ASC",
			    &st);
	if (rc)
		return rc;
	rc = VEX_ENOTFOUND;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(st, 1);
		enum vex_plan plan = VEX_PLAN_FREE;
		int limit, running = -1;

		vex_plan_parse((const char *)sqlite3_column_text(st, 2), &plan);
		limit = plan_limits ? plan_limits[plan] : 0;
		if (limit > 0 && owner) {
			for (i = 0; i < nseen; i++) {
				if (strcmp(seen[i].owner, owner) == 0) {
					running = seen[i].running;
					break;
				}
			}
			if (running < 0) {
				rc = running_count(s, owner, cap, &running);
				if (rc)
					break;
				rc = VEX_ENOTFOUND;
				if (nseen < OWNER_CACHE) {
					snprintf(seen[nseen].owner, sizeof(seen[nseen].owner), "%s", owner);
					seen[nseen].running = running;
					nseen++;
				}
			}
			if (running >= limit)
				continue;
		}
		vex_col_copy(st, 0, id, VEX_UUID_LEN + 1);
		rc = 0;
		break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = vex_store_errcode(step);
	vex_store_done(st);
	return rc;
}

int vex_store_job_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			const int plan_limits[VEX_PLAN_COUNT], struct vex_job **ret)
{
	char id[VEX_UUID_LEN + 1];
	struct vex_job *got = NULL;
	sqlite3_stmt *st;
	int rc;

	if (!runner_id || !*runner_id || lease_us <= 0)
		return VEX_EINVAL;
	rc = vex_store_begin(s);
	if (rc)
		return rc;
	rc = pick_claimable(s, plan_limits, id);
	if (rc)
		goto out;
	rc = vex_store_stmt(s,
			    "UPDATE jobs SET status = 'running', attempts = attempts + 1,"
			    " started_at = COALESCE(started_at, ?2), lease_owner = ?3, lease_expires_at = ?4,"
			    " updated_at = ?2, rev = rev + 1 WHERE id = ?1 AND status = 'queued'",
			    &st);
	if (rc)
		goto out;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, runner_id);
	sqlite3_bind_int64(st, 4, now_us + lease_us);
	rc = vex_store_exec_stmt(st);
	if (rc)
		goto out;
	rc = vex_store_job_get(s, id, NULL, &got);
out:
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0) {
		*ret = got;
		got = NULL;
	}
	vex_job_free(got);
	return rc;
}

/* The lease is not part of the canonical JSON, so a renewal changes nothing a client sees:
 * it leaves rev and updated_at alone (no cache write needed). */
int vex_store_job_renew(struct vex_store *s, const char *id, const char *runner_id, int64_t now_us,
			int64_t lease_us, int *ret_cancel)
{
	sqlite3_stmt *st;
	int rc, cancel = 0;

	if (!id || !runner_id || lease_us <= 0)
		return VEX_EINVAL;
	rc = vex_store_begin(s);
	if (rc)
		return rc;
	rc = vex_store_stmt(s,
			    "UPDATE jobs SET lease_expires_at = ?3 WHERE id = ?1 AND status = 'running'"
			    " AND lease_owner = ?2 RETURNING cancel_requested",
			    &st);
	if (rc)
		goto out;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, runner_id);
	sqlite3_bind_int64(st, 3, now_us + lease_us);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cancel = sqlite3_column_int(st, 0);
		rc = vex_store_exec_stmt(st); /* run to completion before COMMIT */
	} else if (rc == SQLITE_DONE) {
		vex_store_done(st);
		rc = VEX_ECONFLICT;
	} else {
		vex_store_done(st);
		rc = vex_store_errcode(rc);
	}
out:
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0 && ret_cancel)
		*ret_cancel = cancel;
	return rc;
}

int vex_store_job_progress(struct vex_store *s, const char *id, const char *runner_id,
			   const struct vex_progress *p, int64_t now_us, struct vex_job **ret)
{
	sqlite3_stmt *st;
	double pct;
	int rc;

	if (!id || !runner_id || !p)
		return VEX_EINVAL;
	rc = vex_store_stmt(s,
			    "UPDATE jobs SET progress_step = ?3, progress_total = ?4, progress_pct = ?5,"
			    " progress_message = ?6, updated_at = ?7, rev = rev + 1"
			    " WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
			    &st);
	if (rc)
		return rc;
	pct = p->percentage < 0 ? 0 : p->percentage > 100 ? 100 : p->percentage;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, runner_id);
	vex_bind_text(st, 3, p->current_step);
	sqlite3_bind_int(st, 4, p->total_steps < 0 ? 0 : p->total_steps);
	sqlite3_bind_double(st, 5, pct);
	vex_bind_text(st, 6, p->message);
	sqlite3_bind_int64(st, 7, now_us);
	return change_one(s, st, id, VEX_ECONFLICT, ret);
}

/* The error code recorded when the runner gives none. */
static const char *default_error_code(enum vex_job_status status)
{
	switch (status) {
	case VEX_JOB_FAILED: return "EXECUTION_ERROR";
	case VEX_JOB_TIMEOUT: return "EXECUTION_TIMEOUT";
	case VEX_JOB_CANCELED: return "CANCELED";
	default: return NULL;
	}
}

int vex_store_job_finish(struct vex_store *s, const char *id, const char *runner_id,
			 enum vex_job_status status, const struct vex_job *outcome, int64_t now_us,
			 struct vex_job **ret)
{
	static const struct vex_job empty;
	const struct vex_job *o = outcome ? outcome : &empty;
	const struct vex_progress *p = &o->progress;
	int has_progress = p->current_step || p->total_steps || p->percentage != 0.0 || p->message;
	sqlite3_stmt *st;
	int rc;

	if (!id || !runner_id || !vex_job_status_terminal(status))
		return VEX_EINVAL;
	rc = vex_store_stmt(s,
			    "UPDATE jobs SET status = ?3, result_json = ?4, error_code = ?5, error_message = ?6,"
			    " error_details_json = ?7, tokens_in = ?8, tokens_out = ?9, final_model = ?10,"
			    " steps = ?11, browser_steps = ?12, browser_seconds = ?13,"
			    " progress_step = CASE WHEN ?14 THEN ?15 ELSE progress_step END,"
			    " progress_total = CASE WHEN ?14 THEN ?16 ELSE progress_total END,"
			    " progress_pct = CASE WHEN ?14 THEN ?17 ELSE progress_pct END,"
			    " progress_message = CASE WHEN ?14 THEN ?18 ELSE progress_message END,"
			    " completed_at = ?19, updated_at = ?19, lease_owner = NULL, lease_expires_at = NULL,"
			    " rev = rev + 1 WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
			    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, runner_id);
	vex_bind_text(st, 3, vex_job_status_name(status));
	vex_bind_text(st, 4, o->result_json);
	vex_bind_text(st, 5, o->error_code ? o->error_code : default_error_code(status));
	vex_bind_text(st, 6, o->error_message);
	vex_bind_text(st, 7, o->error_details_json);
	sqlite3_bind_int64(st, 8, o->tokens_in);
	sqlite3_bind_int64(st, 9, o->tokens_out);
	vex_bind_text(st, 10, o->final_model);
	sqlite3_bind_int(st, 11, o->steps);
	sqlite3_bind_int(st, 12, o->browser_steps);
	sqlite3_bind_double(st, 13, o->browser_seconds);
	sqlite3_bind_int(st, 14, has_progress);
	vex_bind_text(st, 15, p->current_step);
	sqlite3_bind_int(st, 16, p->total_steps);
	sqlite3_bind_double(st, 17, p->percentage);
	vex_bind_text(st, 18, p->message);
	sqlite3_bind_int64(st, 19, now_us);
	return change_one(s, st, id, VEX_ECONFLICT, ret);
}

/*
 * Give a running job back: queued when "left" (an SQL expression) holds, else failed with
 * LEASE_EXPIRED. A job whose cancel was requested is not given back: it ends canceled.
 * Shared by requeue (left = 1) and rescue (left = attempts < max_attempts).
 */
#define GIVE_BACK_SET(left)                                                                                  \
	" status = CASE WHEN cancel_requested THEN 'canceled' WHEN " left " THEN 'queued' ELSE 'failed' END,"  \
	" completed_at = CASE WHEN cancel_requested OR NOT " left " THEN ?2 ELSE NULL END,"                    \
	" error_code = CASE WHEN cancel_requested THEN 'CANCELED' WHEN " left " THEN error_code"               \
	" ELSE 'LEASE_EXPIRED' END,"                                                                           \
	" error_message = CASE WHEN cancel_requested THEN 'canceled while running' WHEN " left                 \
	" THEN error_message ELSE 'the runner stopped renewing its lease and no attempts are left' END,"       \
	" lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2, rev = rev + 1"

int vex_store_job_requeue(struct vex_store *s, const char *id, const char *runner_id, int refund_attempt,
			  int64_t now_us, struct vex_job **ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id || !runner_id)
		return VEX_EINVAL;
	rc = vex_store_stmt(s,
			    "UPDATE jobs SET attempts = MAX(0, attempts - ?4)," GIVE_BACK_SET("1")
			    " WHERE id = ?1 AND status = 'running' AND lease_owner = ?3",
			    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, runner_id);
	sqlite3_bind_int(st, 4, refund_attempt ? 1 : 0);
	return change_one(s, st, id, VEX_ECONFLICT, ret);
}

/* Collect up to RESCUE_BATCH ids of running jobs whose lease expired before "now_us". */
static int expired_ids(struct vex_store *s, int64_t now_us, char (*ids)[VEX_UUID_LEN + 1], size_t *ret_n)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	/* The jobs_lease index finds expired leases without touching live ones. */
	rc = vex_store_stmt(s,
			    "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < ?1"
			    " ORDER BY lease_expires_at LIMIT ?2",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int(st, 2, RESCUE_BATCH);
	while (n < RESCUE_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW)
		vex_col_copy(st, 0, ids[n++], VEX_UUID_LEN + 1);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : vex_store_errcode(rc);
	vex_store_done(st);
	if (rc == 0)
		*ret_n = n;
	return rc;
}

int vex_store_jobs_rescue(struct vex_store *s, int64_t now_us, struct vex_job_list *ret)
{
	struct vex_job_list l = { NULL, 0 };
	char (*ids)[VEX_UUID_LEN + 1] = NULL;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc;

	ids = calloc(RESCUE_BATCH, sizeof(*ids));
	rc = vex_store_begin(s);
	if (rc) {
		free(ids);
		return rc;
	}
	if (!ids) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = expired_ids(s, now_us, ids, &n);
	if (rc || n == 0)
		goto out;
	l.items = calloc(n, sizeof(*l.items));
	if (!l.items) {
		rc = VEX_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = vex_store_stmt(s,
				    "UPDATE jobs SET" GIVE_BACK_SET("(attempts < max_attempts)")
				    " WHERE id = ?1 AND status = 'running'",
				    &st);
		if (rc)
			goto out;
		vex_bind_text(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, now_us);
		rc = vex_store_exec_stmt(st);
		if (rc)
			goto out;
		rc = vex_store_job_get(s, ids[i], NULL, &l.items[l.n]);
		if (rc)
			goto out;
		l.n++;
	}
out:
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0) {
		*ret = l;
		l.items = NULL;
		l.n = 0;
	}
	free(ids);
	vex_job_list_release(&l);
	return rc;
}

/* ---- corex helpers ---- */

int vex_store_job_queue_position(struct vex_store *s, const char *id, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int64_t priority, ahead;
	int rc, step, queued;

	if (!s || !id || !ret)
		return VEX_EINVAL;
	rc = vex_store_stmt(s, "SELECT priority, status = 'queued' FROM jobs WHERE id = ?1", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? VEX_ENOTFOUND : vex_store_errcode(step);
		vex_store_done(st);
		return rc;
	}
	priority = sqlite3_column_int64(st, 0);
	queued = sqlite3_column_int(st, 1);
	vex_store_done(st);
	if (!queued)
		return VEX_ESTATE;
	/* The partial claim index holds only queued rows, in exactly this order. */
	rc = vex_store_stmt(s,
			    "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"
			    " AND (priority > ?1 OR (priority = ?1 AND id < ?2))",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, priority);
	vex_bind_text(st, 2, id);
	rc = vex_store_step_int64(st, &ahead);
	if (rc == 0)
		*ret = ahead + 1;
	return rc;
}

int vex_store_tool_recent_runs(struct vex_store *s, const char *tool, int n, int64_t *ret_avg_us, int *ret_count)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (!s || !tool || n < 1 || n > 1000 || !ret_avg_us || !ret_count)
		return VEX_EINVAL;
	/* Bounded: a tool whose last thousand runs all failed costs a thousand index rows, not the table. */
	rc = vex_store_stmt(s,
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
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*ret_count = sqlite3_column_int(st, 0);
		*ret_avg_us = sqlite3_column_int64(st, 1);
		rc = 0;
	} else {
		rc = step == SQLITE_DONE ? VEX_ERROR : vex_store_errcode(step);
	}
	vex_store_done(st);
	return rc;
}

int vex_store_jobs_count_before(struct vex_store *s, const struct vex_job_filter *f, int64_t *ret)
{
	sqlite3_stmt *st;
	char sql[1024];
	size_t n;
	int rc;

	rc = filter_check(f);
	if (rc)
		return rc;
	filter_sql(f, 1, sql, sizeof(sql));
	if (f->before_id) {
		n = strlen(sql);
		snprintf(sql + n, sizeof(sql) - n, "%s", strstr(sql, " WHERE ") ? " AND id < :before_id" : " WHERE id < :before_id");
	}
	rc = vex_store_stmt(s, sql, &st);
	if (rc)
		return rc;
	filter_bind(st, f);
	return vex_store_step_int64(st, ret);
}
