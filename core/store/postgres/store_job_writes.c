/* store_job_writes.c - the runner's writes of jobs on PostgreSQL: fair claims, progress, finish, requeue, one at
 * a time or many in one transaction (a round), as core/store/sqlite/store_job_writes.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

/*
 * The owners with queued work, fairest first, as SQLite's FAIR_OWNERS: fewest running jobs, then the priority
 * and age of each owner's best queued job. The recursive part finds the owners by a skip scan of
 * jobs_owner_queue (one probe per owner), each owner's best job is one more probe.
 */
#define FAIR_OWNERS_WHERE(best)                                                                                \
	"WITH RECURSIVE o(owner) AS ("                                                                         \
	" SELECT (SELECT owner FROM jobs WHERE status = 'queued' ORDER BY owner LIMIT 1)"                      \
	" UNION ALL SELECT (SELECT q.owner FROM jobs q WHERE q.status = 'queued' AND q.owner > o.owner"         \
	" ORDER BY q.owner LIMIT 1) FROM o WHERE o.owner IS NOT NULL)"                                         \
	" SELECT b.id, b.plan,"                                                                                \
	" (SELECT COUNT(*) FROM jobs r WHERE r.owner = o.owner AND r.status = 'running') AS running"           \
	" FROM o JOIN jobs b ON b.id = (SELECT q.id FROM jobs q WHERE q.owner = o.owner"                       \
	" AND q.status = 'queued'" best " ORDER BY q.priority DESC, q.id LIMIT 1)"                             \
	" WHERE o.owner IS NOT NULL ORDER BY running, b.priority DESC, b.id"
#define FAIR_OWNERS FAIR_OWNERS_WHERE("")
/* With tools paused: each owner's best job of a tool not paused; an owner with only paused jobs drops out. */
#define FAIR_OWNERS_UNPAUSED                                                                                   \
	FAIR_OWNERS_WHERE(" AND (q.tool IS NULL OR NOT EXISTS"                                                 \
			  " (SELECT 1 FROM claim_pauses p WHERE p.tool = q.tool))")

/* The row picked is locked for the claim; under the jobs lock no other job writer holds it. */
#define CLAIM_SQL                                                                                              \
	"UPDATE jobs SET status = 'running', attempts = attempts + 1,"                                         \
	" started_at = COALESCE(started_at, $2::bigint), lease_owner = $3, lease_expires_at = $4::bigint,"     \
	" updated_at = $2::bigint, rev = rev + 1 WHERE id = (SELECT id FROM jobs WHERE id = $1"                 \
	" AND status = 'queued' FOR UPDATE SKIP LOCKED) RETURNING " VEX_PG_JOB_COLS

#define PROGRESS_SQL                                                                                           \
	"UPDATE jobs SET progress_step = $3, progress_total = $4::bigint, progress_pct = $5::float8,"          \
	" progress_message = $6, updated_at = $7::bigint, rev = rev + 1"                                       \
	" WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING " VEX_PG_JOB_COLS

#define FINISH_SQL                                                                                             \
	"UPDATE jobs SET status = $3, result_json = $4, error_code = $5, error_message = $6,"                   \
	" error_details_json = $7, tokens_in = $8::bigint, tokens_out = $9::bigint, final_model = $10,"        \
	" steps = $11::bigint, browser_steps = $12::bigint, browser_seconds = $13::float8,"                    \
	" progress_step = CASE WHEN $14::boolean THEN $15 ELSE progress_step END,"                              \
	" progress_total = CASE WHEN $14::boolean THEN $16::bigint ELSE progress_total END,"                    \
	" progress_pct = CASE WHEN $14::boolean THEN $17::float8 ELSE progress_pct END,"                        \
	" progress_message = CASE WHEN $14::boolean THEN $18 ELSE progress_message END,"                        \
	" completed_at = $19::bigint, updated_at = $19::bigint, lease_owner = NULL, lease_expires_at = NULL,"  \
	" rev = rev + 1 WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING " VEX_PG_JOB_COLS

#define REQUEUE_SQL                                                                                            \
	"UPDATE jobs SET attempts = GREATEST(0, attempts - $4::bigint)," VEX_PG_GIVE_BACK_SET("true")          \
	" WHERE id = $1 AND status = 'running' AND lease_owner = $3 RETURNING " VEX_PG_JOB_COLS

/* "v" as a float8 parameter: the shortest text that reads back exactly. */
static const char *f64_param(char buf[32], double v)
{
	snprintf(buf, 32, "%.17g", v);
	return buf;
}

/*
 * Pick the next job fairly across owners, as SQLite's pick_claimable: the first owner in FAIR_OWNERS order that
 * is under its plan's running limit gives its best job.
 */
static int pick_claimable(struct vex_pg *p, const int *plan_limits, char id[VEX_UUID_LEN + 1])
{
	PGresult *r = NULL;
	int rc, i, n, paused = 0;

	rc = vex_pg_pause_state(p, &paused);
	if (rc)
		return rc;
	if (paused == VEX_PAUSED_ALL)
		return VEX_ENOTFOUND;
	rc = vex_pg_exec(p, paused ? FAIR_OWNERS_UNPAUSED : FAIR_OWNERS, 0, NULL, &r);
	if (rc)
		return rc;
	rc = VEX_ENOTFOUND;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		enum vex_plan plan = VEX_PLAN_FREE;
		int limit;

		vex_plan_parse(PQgetvalue(r, i, 1), &plan);
		limit = plan_limits ? plan_limits[plan] : 0;
		if (limit > 0 && vex_pg_get_i64(r, i, 2) >= limit)
			continue;
		vex_pg_copy(r, i, 0, id, VEX_UUID_LEN + 1);
		rc = 0;
		break;
	}
	PQclear(r);
	return rc;
}

/* Claim one job for "lease_owner" inside the caller's job write: 0 with *ret, VEX_ENOTFOUND, VEX_E... */
static int claim_locked(struct vex_pg *p, const char *lease_owner, int64_t now_us, int64_t lease_us,
			const int *plan_limits, struct vex_job **ret)
{
	char id[VEX_UUID_LEN + 1] = "", now[24], exp[24];
	const char *v[4];
	int rc = pick_claimable(p, plan_limits, id);

	if (rc)
		return rc;
	v[0] = id;
	v[1] = vex_pg_i64(now, now_us);
	v[2] = lease_owner;
	v[3] = vex_pg_i64(exp, now_us + lease_us);
	rc = vex_pg_job_one(p, CLAIM_SQL, 4, v, ret);
	return rc == VEX_ENOTFOUND ? VEX_ERROR : rc; /* picked under the jobs lock: it must change */
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

static int run_finish(struct vex_pg *p, const struct vex_job_write *w, int64_t now_us, struct vex_job **ret)
{
	static const struct vex_job empty;
	const struct vex_job *o = w->outcome ? w->outcome : &empty;
	const struct vex_progress *pr = &o->progress;
	int has_progress = pr->current_step || pr->total_steps || pr->percentage != 0.0 || pr->message;
	char num[8][32];
	const char *v[19];

	/* SQLite binds NaN as NULL, which the NOT NULL columns refuse (VEX_EINVAL): the same answer here. */
	if (isnan(o->browser_seconds) || isnan(pr->percentage))
		return VEX_EINVAL;
	v[0] = w->id;
	v[1] = w->lease_owner;
	v[2] = vex_job_status_name(w->status);
	v[3] = o->result_json;
	v[4] = o->error_code ? o->error_code : default_error_code(w->status);
	v[5] = o->error_message;
	v[6] = o->error_details_json;
	v[7] = vex_pg_i64(num[0], o->tokens_in);
	v[8] = vex_pg_i64(num[1], o->tokens_out);
	v[9] = o->final_model;
	v[10] = vex_pg_i64(num[2], o->steps);
	v[11] = vex_pg_i64(num[3], o->browser_steps);
	v[12] = f64_param(num[4], o->browser_seconds);
	v[13] = has_progress ? "t" : "f";
	v[14] = pr->current_step;
	v[15] = vex_pg_i64(num[5], pr->total_steps);
	v[16] = f64_param(num[6], pr->percentage);
	v[17] = pr->message;
	v[18] = vex_pg_i64(num[7], now_us);
	return vex_pg_job_one(p, FINISH_SQL, 19, v, ret);
}

static int run_progress(struct vex_pg *p, const struct vex_job_write *w, int64_t now_us, struct vex_job **ret)
{
	const struct vex_progress *pr = w->progress;
	char num[3][32];
	const char *v[7];
	double pct = pr->percentage < 0 ? 0 : pr->percentage > 100 ? 100 : pr->percentage;

	if (isnan(pct))
		return VEX_EINVAL; /* as SQLite's NOT NULL refusal of the NULL it binds for NaN */
	v[0] = w->id;
	v[1] = w->lease_owner;
	v[2] = pr->current_step;
	v[3] = vex_pg_i64(num[0], pr->total_steps < 0 ? 0 : pr->total_steps);
	v[4] = f64_param(num[1], pct);
	v[5] = pr->message;
	v[6] = vex_pg_i64(num[2], now_us);
	return vex_pg_job_one(p, PROGRESS_SQL, 7, v, ret);
}

static int run_requeue(struct vex_pg *p, const struct vex_job_write *w, int64_t now_us, struct vex_job **ret)
{
	char now[24];
	const char *v[4] = { w->id, vex_pg_i64(now, now_us), w->lease_owner, w->refund_attempt ? "1" : "0" };

	return vex_pg_job_one(p, REQUEUE_SQL, 4, v, ret);
}

/* Apply one write inside the caller's job write: w->rc and w->job as documented; returns a store error that
 * must end the transaction, else 0. */
static int apply_write(struct vex_pg *p, struct vex_job_write *w, int64_t now_us)
{
	int rc;

	if (!vex_job_write_valid(w)) {
		w->rc = VEX_EINVAL;
		return 0;
	}
	if (w->op == VEX_JW_FINISH)
		rc = run_finish(p, w, now_us, &w->job);
	else if (w->op == VEX_JW_PROGRESS)
		rc = run_progress(p, w, now_us, &w->job);
	else
		rc = run_requeue(p, w, now_us, &w->job);
	if (rc == VEX_ENOTFOUND) {
		w->rc = VEX_ECONFLICT; /* not running under this lease: rescued, finished, taken */
		return 0;
	}
	return rc;
}

int vex_pg_jobs_write_batch(struct vex_pg *p, struct vex_job_write *w, size_t nw, struct vex_claim_batch *claim,
			    int64_t now_us)
{
	return vex_pg_jobs_round(p, NULL, w, nw, claim, now_us);
}

int vex_pg_jobs_round(struct vex_pg *p, struct vex_insert_batch *ins, struct vex_job_write *w, size_t nw,
		      struct vex_claim_batch *claim, int64_t now_us)
{
	size_t i, nins = ins ? ins->n : 0;
	int rc;

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
	for (i = 0; i < nins; i++)
		ins->rets[i] = NULL;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		goto out;
	/* Claims alone are acknowledged to nobody (as SQLite's synchronous NORMAL for them): their commit need not
	 * wait for the WAL flush; a crash before the next durable commit leaves the jobs queued, to run again. */
	if (nw == 0 && nins == 0)
		rc = vex_pg_exec(p, "SET LOCAL synchronous_commit = off", 0, NULL, NULL);
	/* New jobs first: the claims below can take them in this very transaction. */
	if (rc == 0 && nins > 0)
		rc = vex_pg_jobs_insert_each_locked(p, ins->jobs, nins, ins->rets, ins->created, ins->rcs);
	for (i = 0; i < nw && rc == 0; i++)
		rc = apply_write(p, &w[i], now_us);
	/* Claims after the writes: a finish frees its owner's running slot for the claims that follow. */
	while (rc == 0 && claim && claim->n < claim->max) {
		rc = claim_locked(p, claim->lease_owners[claim->n], now_us, claim->lease_us, claim->plan_limits,
				  &claim->jobs[claim->n]);
		if (rc == 0)
			claim->n++;
	}
	if (rc == VEX_ENOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
out:
	if (rc == 0)
		return 0;
	/* nothing of it happened: drop what was read */
	vex_job_writes_failed(ins, nins, w, nw, claim, rc);
	return rc;
}
