/* store_job_states.c - job transitions: cancel, lease renewal, rescue (the runner's claims and writes: store_job_writes.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

#define RESCUE_BATCH 1000 /* expired leases handled per call; the runner calls again */

int vex_sqlite_job_cancel(struct vex_sqlite *s, const char *id, const char *owner, int force_running,
			  int64_t now_us, struct vex_job **ret)
{
	struct vex_job *job = NULL, *after = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_job_get(s, id, owner, &job);
	if (rc)
		goto out;
	if (job->status == VEX_JOB_QUEUED) {
		rc = vex_sqlite_stmt(s,
				     "UPDATE jobs SET status = 'canceled', completed_at = ?2, updated_at = ?2,"
				     " error_code = 'CANCELED', error_message = 'canceled before it started',"
				     " rev = rev + 1 WHERE id = ?1 AND status = 'queued'",
				     &st);
	} else if (job->status == VEX_JOB_RUNNING && force_running && !job->cancel_requested) {
		/* The runner sees the flag at its next lease renewal, stops the work and records canceled. */
		rc = vex_sqlite_stmt(s,
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
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		goto out;
	rc = vex_sqlite_job_get(s, id, NULL, &after);
	if (rc)
		goto out;
	vex_job_free(job);
	job = after;
out:
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if ((rc == 0 || rc == VEX_ESTATE) && ret) {
		*ret = job;
		job = NULL;
	}
	vex_job_free(job);
	return rc;
}

/* The lease is not part of the canonical JSON, so a renewal changes nothing a client sees:
 * it leaves rev and updated_at alone (no cache write needed). */
int vex_sqlite_job_renew(struct vex_sqlite *s, const char *id, const char *runner_id, int64_t now_us,
			 int64_t lease_us, int *ret_cancel)
{
	sqlite3_stmt *st;
	int rc, cancel = 0;

	if (!id || !runner_id || lease_us <= 0)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s,
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
		rc = vex_sqlite_exec_stmt(st); /* run to completion before COMMIT */
	} else if (rc == SQLITE_DONE) {
		vex_sqlite_done(st);
		rc = VEX_ECONFLICT;
	} else {
		vex_sqlite_done(st);
		rc = vex_sqlite_errcode(rc);
	}
out:
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0 && ret_cancel)
		*ret_cancel = cancel;
	return rc;
}

/* Collect up to RESCUE_BATCH ids of running jobs whose lease expired before "now_us". */
static int expired_ids(struct vex_sqlite *s, int64_t now_us, char (*ids)[VEX_UUID_LEN + 1], size_t *ret_n)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	/* The jobs_lease index finds expired leases without touching live ones. */
	rc = vex_sqlite_stmt(s,
			     "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < ?1"
			     " ORDER BY lease_expires_at LIMIT ?2",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int(st, 2, RESCUE_BATCH);
	while (n < RESCUE_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW)
		vex_col_copy(st, 0, ids[n++], VEX_UUID_LEN + 1);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	if (rc == 0)
		*ret_n = n;
	return rc;
}

int vex_sqlite_jobs_rescue(struct vex_sqlite *s, int64_t now_us, struct vex_job_list *ret)
{
	struct vex_job_list l = { NULL, 0 };
	char (*ids)[VEX_UUID_LEN + 1] = NULL;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc;

	ids = calloc(RESCUE_BATCH, sizeof(*ids));
	rc = vex_sqlite_begin(s);
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
		rc = vex_sqlite_stmt(s,
				     "UPDATE jobs SET" GIVE_BACK_SET("(attempts < max_attempts)")
				    " WHERE id = ?1 AND status = 'running'",
				    &st);
		if (rc)
			goto out;
		vex_bind_text(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, now_us);
		rc = vex_sqlite_exec_stmt(st);
		if (rc)
			goto out;
		rc = vex_sqlite_job_get(s, ids[i], NULL, &l.items[l.n]);
		if (rc)
			goto out;
		l.n++;
	}
out:
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0) {
		*ret = l;
		l.items = NULL;
		l.n = 0;
	}
	free(ids);
	vex_job_list_release(&l);
	return rc;
}
