/* store_job_writes.c - the runner's writes of jobs: fair claims, progress, finish, requeue, one at a time or
 * group-committed (many in one transaction). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

/*
 * The owners with queued work, fairest first: fewest running jobs, then the priority and age of
 * each owner's best queued job. The owners are found by a skip scan of jobs_owner_queue (one seek
 * per owner, whatever the length of each owner's queue), each owner's best job by one more seek,
 * and its running count from jobs_owner_status_id.
 */
#define FAIR_OWNERS_WHERE(best)                                                                      \
	"WITH RECURSIVE o(owner) AS ("                                                               \
	" SELECT (SELECT owner FROM jobs INDEXED BY jobs_owner_queue"                                \
	" WHERE status = 'queued' ORDER BY owner LIMIT 1)"                                           \
	" UNION ALL SELECT (SELECT q.owner FROM jobs q INDEXED BY jobs_owner_queue"                  \
	" WHERE q.status = 'queued' AND q.owner > o.owner ORDER BY q.owner LIMIT 1)"                 \
	" FROM o WHERE o.owner IS NOT NULL)"                                                         \
	" SELECT b.id, b.plan,"                                                                      \
	" (SELECT COUNT(*) FROM jobs r WHERE r.owner = o.owner AND r.status = 'running') AS running" \
	" FROM o JOIN jobs b ON b.id = (SELECT q.id FROM jobs q WHERE q.owner = o.owner"             \
	" AND q.status = 'queued'" best " ORDER BY q.priority DESC, q.id LIMIT 1)"                   \
	" WHERE o.owner IS NOT NULL ORDER BY running, b.priority DESC, b.id"
#define FAIR_OWNERS FAIR_OWNERS_WHERE("")
/* With tools paused (docs/runner.md, "Paused claiming"): each owner's best job of a tool not paused.
 * An owner whose queue holds only paused jobs drops out of the join; the others keep their order. */
#define FAIR_OWNERS_UNPAUSED                                                                         \
	FAIR_OWNERS_WHERE(" AND (q.tool IS NULL OR NOT EXISTS"                                       \
			  " (SELECT 1 FROM claim_pauses p WHERE p.tool = q.tool))")

#define CLAIM_SQL                                                                                    \
	"UPDATE jobs SET status = 'running', attempts = attempts + 1,"                               \
	" started_at = COALESCE(started_at, ?2), lease_owner = ?3, lease_expires_at = ?4,"           \
	" updated_at = ?2, rev = rev + 1 WHERE id = ?1 AND status = 'queued' RETURNING " JOB_COLS

#define PROGRESS_SQL                                                                                 \
	"UPDATE jobs SET progress_step = ?3, progress_total = ?4, progress_pct = ?5,"                \
	" progress_message = ?6, updated_at = ?7, rev = rev + 1"                                     \
	" WHERE id = ?1 AND status = 'running' AND lease_owner = ?2 RETURNING " JOB_COLS

#define FINISH_SQL                                                                                   \
	"UPDATE jobs SET status = ?3, result_json = ?4, error_code = ?5, error_message = ?6,"         \
	" error_details_json = ?7, tokens_in = ?8, tokens_out = ?9, final_model = ?10,"              \
	" steps = ?11, browser_steps = ?12, browser_seconds = ?13,"                                  \
	" progress_step = CASE WHEN ?14 THEN ?15 ELSE progress_step END,"                            \
	" progress_total = CASE WHEN ?14 THEN ?16 ELSE progress_total END,"                          \
	" progress_pct = CASE WHEN ?14 THEN ?17 ELSE progress_pct END,"                              \
	" progress_message = CASE WHEN ?14 THEN ?18 ELSE progress_message END,"                      \
	" completed_at = ?19, updated_at = ?19, lease_owner = NULL, lease_expires_at = NULL,"        \
	" rev = rev + 1 WHERE id = ?1 AND status = 'running' AND lease_owner = ?2 RETURNING " JOB_COLS

#define REQUEUE_SQL                                                                                  \
	"UPDATE jobs SET attempts = MAX(0, attempts - ?4)," GIVE_BACK_SET("1")                       \
	" WHERE id = ?1 AND status = 'running' AND lease_owner = ?3 RETURNING " JOB_COLS

/*
 * Pick the next job fairly across owners (docs/runner.md, "Fair claiming"): the first owner in
 * FAIR_OWNERS order that is under its plan's running limit gives its best job (priority, then
 * age). An owner's backlog therefore holds back another owner's job by at most the one job slot
 * that frees first.
 */
static int pick_claimable(struct vex_sqlite *s, const int *plan_limits, char id[VEX_UUID_LEN + 1])
{
	sqlite3_stmt *st;
	int rc, step, paused = 0;

	rc = vex_sqlite_pause_state(s, &paused);
	if (rc)
		return rc;
	if (paused == VEX_PAUSED_ALL)
		return VEX_ENOTFOUND;
	rc = vex_sqlite_stmt(s, paused ? FAIR_OWNERS_UNPAUSED : FAIR_OWNERS, &st);
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
		rc = vex_sqlite_errcode(step);
	vex_sqlite_done(st);
	return rc;
}

/* Claim one job for "lease_owner" inside the caller's transaction: 0 with *ret, VEX_ENOTFOUND, VEX_E... */
static int claim_locked(struct vex_sqlite *s, const char *lease_owner, int64_t now_us, int64_t lease_us,
			const int *plan_limits, struct vex_job **ret)
{
	char id[VEX_UUID_LEN + 1] = "";
	sqlite3_stmt *st;
	int rc = pick_claimable(s, plan_limits, id);

	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s, CLAIM_SQL, &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, lease_owner);
	sqlite3_bind_int64(st, 4, now_us + lease_us);
	rc = vex_sqlite_one(st, &vex_sqlite_job_rows, ret);
	return rc == VEX_ENOTFOUND ? VEX_ERROR : rc; /* picked inside our write lock: it must change */
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

static int bind_finish(struct vex_sqlite *s, const struct vex_job_write *w, int64_t now_us, sqlite3_stmt **ret)
{
	static const struct vex_job empty;
	const struct vex_job *o = w->outcome ? w->outcome : &empty;
	const struct vex_progress *p = &o->progress;
	int has_progress = p->current_step || p->total_steps || p->percentage != 0.0 || p->message;
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, FINISH_SQL, &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, w->id);
	vex_bind_text(st, 2, w->lease_owner);
	vex_bind_text(st, 3, vex_job_status_name(w->status));
	vex_bind_text(st, 4, o->result_json);
	vex_bind_text(st, 5, o->error_code ? o->error_code : default_error_code(w->status));
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
	*ret = st;
	return 0;
}

static int bind_progress(struct vex_sqlite *s, const struct vex_job_write *w, int64_t now_us, sqlite3_stmt **ret)
{
	const struct vex_progress *p = w->progress;
	sqlite3_stmt *st;
	double pct;
	int rc = vex_sqlite_stmt(s, PROGRESS_SQL, &st);

	if (rc)
		return rc;
	pct = p->percentage < 0 ? 0 : p->percentage > 100 ? 100 : p->percentage;
	vex_bind_text(st, 1, w->id);
	vex_bind_text(st, 2, w->lease_owner);
	vex_bind_text(st, 3, p->current_step);
	sqlite3_bind_int(st, 4, p->total_steps < 0 ? 0 : p->total_steps);
	sqlite3_bind_double(st, 5, pct);
	vex_bind_text(st, 6, p->message);
	sqlite3_bind_int64(st, 7, now_us);
	*ret = st;
	return 0;
}

static int bind_requeue(struct vex_sqlite *s, const struct vex_job_write *w, int64_t now_us, sqlite3_stmt **ret)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, REQUEUE_SQL, &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, w->id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, w->lease_owner);
	sqlite3_bind_int(st, 4, w->refund_attempt ? 1 : 0);
	*ret = st;
	return 0;
}

/* Apply one write inside the caller's transaction: w->rc and w->job as documented; returns a store
 * error that must end the transaction, else 0. */
static int apply_write(struct vex_sqlite *s, struct vex_job_write *w, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!vex_job_write_valid(w)) {
		w->rc = VEX_EINVAL;
		return 0;
	}
	if (w->op == VEX_JW_FINISH)
		rc = bind_finish(s, w, now_us, &st);
	else if (w->op == VEX_JW_PROGRESS)
		rc = bind_progress(s, w, now_us, &st);
	else
		rc = bind_requeue(s, w, now_us, &st);
	if (rc)
		return rc;
	rc = vex_sqlite_one(st, &vex_sqlite_job_rows, &w->job);
	if (rc == VEX_ENOTFOUND) {
		w->rc = VEX_ECONFLICT; /* not running under this lease: rescued, finished, taken */
		return 0;
	}
	return rc;
}

int vex_sqlite_jobs_write_batch(struct vex_sqlite *s, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
				int64_t now_us)
{
	return vex_sqlite_jobs_round(s, NULL, w, nw, claim, now_us);
}

int vex_sqlite_jobs_round(struct vex_sqlite *s, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
			  struct vex_claim_batch *claim, int64_t now_us)
{
	size_t i, nins = ins ? ins->n : 0;
	int rc, light;

	for (i = 0; i < nw; i++) {
		w[i].rc = 0;
		w[i].job = NULL;
	}
	if (claim) {
		claim->n = 0;
		if (claim->max && (!claim->lease_owners || !claim->jobs || claim->lease_us <= 0))
			return VEX_EINVAL;
		for (i = 0; i < claim->max; i++)
			if (!claim->lease_owners[i] || !*claim->lease_owners[i])
				return VEX_EINVAL;
	}
	/* Claims alone are acknowledged to nobody: their commit needs no fsync of its own. The next
	 * durable commit on the file (a finish, a submit) syncs the WAL with them in it; a power loss
	 * before that leaves the jobs queued, to run again, as a job interrupted while running does. */
	for (i = 0; i < nins; i++)
		ins->rets[i] = NULL;
	light = nw == 0 && nins == 0 && s->synchronous == 2 &&
		vex_sqlite_exec_sql(s, "PRAGMA synchronous = NORMAL") == 0;
	rc = vex_sqlite_begin(s);
	if (rc)
		goto out;
	/* New jobs first: the claims below can take them in this very transaction. */
	if (nins > 0)
		rc = vex_sqlite_jobs_insert_each_locked(s, ins->jobs, nins, ins->rets, ins->created, ins->rcs);
	for (i = 0; i < nw && rc == 0; i++)
		rc = apply_write(s, &w[i], now_us);
	/* Claims after the writes: a finish frees its owner's running slot for the claims that follow. */
	while (rc == 0 && claim && claim->n < claim->max) {
		rc = claim_locked(s, claim->lease_owners[claim->n], now_us, claim->lease_us, claim->plan_limits,
				  &claim->jobs[claim->n]);
		if (rc == 0)
			claim->n++;
	}
	if (rc == VEX_ENOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
out:
	if (light)
		vex_sqlite_exec_sql(s, "PRAGMA synchronous = FULL");
	if (rc == 0)
		return 0;
	/* nothing of it happened: drop what was read */
	vex_job_writes_failed(ins, nins, w, nw, claim, rc);
	return rc;
}
