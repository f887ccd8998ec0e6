/* store_job_states.c - job transitions: cancel, fair claim, lease renewal, progress, finish, requeue, rescue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

#define RESCUE_BATCH 1000 /* expired leases handled per call; the runner calls again */

/* Ends the transaction around a change of the job "id": when "rc" is 0 the job is read back into
 * *ret (when not NULL) and the transaction committed; otherwise it is rolled back. */
static int end_change(struct vex_store *s, int rc, const char *id, struct vex_job **ret)
{
	struct vex_job *got = NULL;

	if (rc == 0 && ret)
		rc = vex_store_job_get(s, id, NULL, &got);
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

/*
 * Run the bound writing statement "st" inside BEGIN IMMEDIATE; when it changed no row the
 * transaction is rolled back and "none_rc" returned; otherwise the job "id" is read back
 * into *ret (when not NULL) and the transaction committed.
 */
static int change_one(struct vex_store *s, sqlite3_stmt *st, const char *id, int none_rc, struct vex_job **ret)
{
	int changes = 0, rc = vex_store_write_open(s, st, &changes);

	if (rc)
		return rc;
	return end_change(s, changes ? 0 : none_rc, id, ret);
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

/*
 * The owners with queued work, fairest first: fewest running jobs, then the priority and age of
 * each owner's best queued job. The owners are found by a skip scan of jobs_owner_queue (one seek
 * per owner, whatever the length of each owner's queue), each owner's best job by one more seek,
 * and its running count from jobs_owner_status_id.
 */
#define FAIR_OWNERS                                                                                  \
	"WITH RECURSIVE o(owner) AS ("                                                               \
	" SELECT (SELECT owner FROM jobs INDEXED BY jobs_owner_queue"                                \
	" WHERE status = 'queued' ORDER BY owner LIMIT 1)"                                           \
	" UNION ALL SELECT (SELECT q.owner FROM jobs q INDEXED BY jobs_owner_queue"                  \
	" WHERE q.status = 'queued' AND q.owner > o.owner ORDER BY q.owner LIMIT 1)"                 \
	" FROM o WHERE o.owner IS NOT NULL)"                                                         \
	" SELECT b.id, b.plan,"                                                                      \
	" (SELECT COUNT(*) FROM jobs r WHERE r.owner = o.owner AND r.status = 'running') AS running" \
	" FROM o JOIN jobs b ON b.id = (SELECT q.id FROM jobs q WHERE q.owner = o.owner"             \
	" AND q.status = 'queued' ORDER BY q.priority DESC, q.id LIMIT 1)"                           \
	" WHERE o.owner IS NOT NULL ORDER BY running, b.priority DESC, b.id"

/*
 * Pick the next job fairly across owners (docs/runner.md, "Fair claiming"): the first owner in
 * FAIR_OWNERS order that is under its plan's running limit gives its best job (priority, then
 * age). An owner's backlog therefore holds back another owner's job by at most the one job slot
 * that frees first.
 */
static int pick_claimable(struct vex_store *s, const int plan_limits[VEX_PLAN_COUNT], char id[VEX_UUID_LEN + 1])
{
	sqlite3_stmt *st;
	int rc, step;

	rc = vex_store_stmt(s, FAIR_OWNERS, &st);
	if (rc)
		return rc;
	rc = VEX_ENOTFOUND;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		enum vex_plan plan = VEX_PLAN_FREE;
		int limit;

		vex_plan_parse((const char *)sqlite3_column_text(st, 1), &plan);
		limit = plan_limits ? plan_limits[plan] : 0;
		if (limit > 0 && sqlite3_column_int64(st, 2) >= limit)
			continue;
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
	char id[VEX_UUID_LEN + 1] = "";
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
out:
	return end_change(s, rc, id, ret);
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
