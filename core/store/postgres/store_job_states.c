/* store_job_states.c - job transitions on PostgreSQL: cancel, lease renewal, rescue, as
 * core/store/sqlite/store_job_states.c (the runner's claims and writes: store_job_writes.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define RESCUE_BATCH 1000 /* expired leases handled per call; the runner calls again */

int vex_pg_job_cancel(struct vex_pg *p, const char *id, const char *owner, int force_running, int64_t now_us,
		      struct vex_job **ret)
{
	struct vex_job *job = NULL, *after = NULL;
	const char *sql;
	char now[24];
	const char *v[2] = { id, vex_pg_i64(now, now_us) };
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = vex_pg_job_get(p, id, owner, &job);
	if (rc)
		goto out;
	if (job->status == VEX_JOB_QUEUED) {
		sql = "UPDATE jobs SET status = 'canceled', completed_at = $2::bigint, updated_at = $2::bigint,"
		      " error_code = 'CANCELED', error_message = 'canceled before it started',"
		      " rev = rev + 1 WHERE id = $1 AND status = 'queued'";
	} else if (job->status == VEX_JOB_RUNNING && force_running && !job->cancel_requested) {
		/* The runner sees the flag at its next lease renewal, stops the work and records canceled. */
		sql = "UPDATE jobs SET cancel_requested = 1, updated_at = $2::bigint, rev = rev + 1"
		      " WHERE id = $1 AND status = 'running'";
	} else if (job->status == VEX_JOB_RUNNING && force_running) {
		rc = 0; /* already asked: nothing to change, not an error */
		goto out;
	} else {
		rc = VEX_ESTATE;
		goto out;
	}
	rc = vex_pg_exec(p, sql, 2, v, NULL);
	if (rc)
		goto out;
	rc = vex_pg_job_get(p, id, NULL, &after);
	if (rc)
		goto out;
	vex_job_free(job);
	job = after;
out:
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if ((rc == 0 || rc == VEX_ESTATE) && ret) {
		*ret = job;
		job = NULL;
	}
	vex_job_free(job);
	return rc;
}

/* The lease is not part of the canonical JSON: a renewal leaves rev and updated_at alone (no event, no cache
 * write). It writes a jobs row, so it takes the jobs lock as every job write does. */
int vex_pg_job_renew(struct vex_pg *p, const char *id, const char *runner_id, int64_t now_us, int64_t lease_us,
		     int *ret_cancel)
{
	char exp[24];
	const char *v[3] = { id, runner_id, vex_pg_i64(exp, now_us + lease_us) };
	PGresult *r = NULL;
	int rc, cancel = 0;

	if (!id || !runner_id || lease_us <= 0)
		return VEX_EINVAL;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = vex_pg_exec(p,
			 "UPDATE jobs SET lease_expires_at = $3::bigint WHERE id = $1 AND status = 'running'"
			 " AND lease_owner = $2 RETURNING cancel_requested",
			 3, v, &r);
	if (rc == 0 && PQntuples(r) == 0)
		rc = VEX_ECONFLICT;
	else if (rc == 0)
		cancel = (int)vex_pg_get_i64(r, 0, 0);
	PQclear(r);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0 && ret_cancel)
		*ret_cancel = cancel;
	return rc;
}

int vex_pg_jobs_rescue(struct vex_pg *p, int64_t now_us, struct vex_job_list *ret)
{
	struct vex_job_list l = { NULL, 0 };
	char now[24], lim[24];
	const char *v[2] = { vex_pg_i64(now, now_us), vex_pg_i64(lim, RESCUE_BATCH) };
	const char *u[2];
	PGresult *r = NULL;
	int rc, i, n = 0;

	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	/* The jobs_lease index finds expired leases without touching live ones (ties: the older id first). */
	rc = vex_pg_exec(p,
			 "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < $1::bigint"
			 " ORDER BY lease_expires_at, id LIMIT $2::bigint FOR UPDATE SKIP LOCKED",
			 2, v, &r);
	if (rc)
		goto out;
	n = PQntuples(r);
	if (n == 0)
		goto out;
	l.items = calloc((size_t)n, sizeof(*l.items));
	if (!l.items) {
		rc = VEX_ENOMEM;
		goto out;
	}
	u[1] = now;
	/* One at a time, in lease order: each gives back its job (and writes its event) as SQLite's loop does. */
	for (i = 0; i < n; i++) {
		u[0] = PQgetvalue(r, i, 0);
		rc = vex_pg_job_one(p,
				    "UPDATE jobs SET" VEX_PG_GIVE_BACK_SET("(attempts < max_attempts)")
				    " WHERE id = $1 AND status = 'running' RETURNING " VEX_PG_JOB_COLS,
				    2, u, &l.items[l.n]);
		if (rc)
			goto out;
		l.n++;
	}
out:
	PQclear(r);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0) {
		*ret = l;
		l.items = NULL;
		l.n = 0;
	}
	vex_job_list_release(&l);
	return rc;
}
