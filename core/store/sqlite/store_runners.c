/* store_runners.c - runner heartbeats (each runner's last beat, host, slots and busy slots; its row removed
 * when it stops) and the running jobs a runner list shows. */
#include "core/store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

int vex_sqlite_runner_beat(struct vex_sqlite *s, const char *runner_id, int pid, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc;

	if (!runner_id || !*runner_id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO runners(id, pid, beat_at) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, beat_at = excluded.beat_at",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, runner_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, pid);
	sqlite3_bind_int64(st, 3, now_us);
	return vex_sqlite_write(s, st, NULL);
}

int vex_sqlite_runner_last_beat(struct vex_sqlite *s, int64_t *ret_us)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s, "SELECT MAX(beat_at) FROM runners", &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*ret_us = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = VEX_ENOTFOUND;
	} else {
		rc = vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	return rc;
}

int vex_sqlite_runner_gone(struct vex_sqlite *s, const char *runner_id)
{
	sqlite3_stmt *st;
	int rc;

	if (!runner_id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "DELETE FROM runners WHERE id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, runner_id, -1, SQLITE_TRANSIENT);
	return vex_sqlite_write(s, st, NULL);
}

int vex_sqlite_runner_report(struct vex_sqlite *s, const struct vex_runner_info *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !r || !r->id[0])
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO runners(id, pid, beat_at, host, started_at, slots, busy)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
			     " ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, beat_at = excluded.beat_at,"
			     " host = excluded.host, started_at = excluded.started_at, slots = excluded.slots,"
			     " busy = excluded.busy",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, r->id);
	sqlite3_bind_int(st, 2, r->pid);
	sqlite3_bind_int64(st, 3, r->beat_at);
	vex_bind_text(st, 4, r->host);
	sqlite3_bind_int64(st, 5, r->started_at);
	sqlite3_bind_int(st, 6, r->slots);
	sqlite3_bind_int(st, 7, r->busy);
	return vex_sqlite_write(s, st, NULL);
}

static int runner_read(sqlite3_stmt *st, void *item)
{
	struct vex_runner_info *r = item;

	vex_col_copy(st, 0, r->id, sizeof(r->id));
	r->pid = sqlite3_column_int(st, 1);
	r->beat_at = sqlite3_column_int64(st, 2);
	vex_col_copy(st, 3, r->host, sizeof(r->host));
	r->started_at = sqlite3_column_int64(st, 4);
	r->slots = sqlite3_column_int(st, 5);
	r->busy = sqlite3_column_int(st, 6);
	return 0;
}

static const struct vex_rows runner_rows = { sizeof(struct vex_runner_info), runner_read, NULL, NULL };

void vex_runner_infos_release(struct vex_runner_infos *l)
{
	if (!l)
		return;
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int vex_sqlite_runners_list(struct vex_sqlite *s, struct vex_runner_infos *ret)
{
	sqlite3_stmt *st;
	void *items;
	size_t n;
	int rc;

	if (!s || !ret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT id, pid, beat_at, host, started_at, slots, busy FROM runners ORDER BY id LIMIT 1000",
			     &st);
	if (rc)
		return rc;
	rc = vex_sqlite_collect(st, &runner_rows, 1000, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_runner_infos){ items, n };
	return rc;
}

static int running_read(sqlite3_stmt *st, void *item)
{
	struct vex_running_job *j = item;
	const char *kind = (const char *)sqlite3_column_text(st, 2);

	vex_col_copy(st, 0, j->id, sizeof(j->id));
	vex_col_copy(st, 1, j->owner, sizeof(j->owner));
	j->kind = kind && strcmp(kind, "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;
	vex_col_copy(st, 3, j->name, sizeof(j->name));
	j->started_at = sqlite3_column_int64(st, 4);
	vex_col_copy(st, 5, j->lease_owner, sizeof(j->lease_owner));
	return 0;
}

static const struct vex_rows running_rows = { sizeof(struct vex_running_job), running_read, NULL, NULL };

void vex_running_jobs_release(struct vex_running_jobs *l)
{
	if (!l)
		return;
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int vex_sqlite_running_jobs(struct vex_sqlite *s, const char *owner, int limit, struct vex_running_jobs *ret)
{
	sqlite3_stmt *st;
	void *items;
	size_t n;
	int rc;

	if (!s || !ret || limit < 1 || limit > 10000)
		return VEX_EINVAL;
	/* An owner's through jobs_owner_status_id; everyone's through the partial jobs_lease (running rows only). */
	if (owner)
		rc = vex_sqlite_stmt(s,
				     "SELECT id, owner, kind, CASE kind WHEN 'tool' THEN tool ELSE agent_id END,"
				     " started_at, lease_owner FROM jobs WHERE owner = ?1 AND status = 'running'"
				     " ORDER BY id LIMIT ?2",
				     &st);
	else
		rc = vex_sqlite_stmt(s,
				     "SELECT id, owner, kind, CASE kind WHEN 'tool' THEN tool ELSE agent_id END,"
				     " started_at, lease_owner FROM jobs INDEXED BY jobs_lease WHERE status = 'running'"
				     " AND lease_expires_at IS NOT NULL LIMIT ?2",
				     &st);
	if (rc)
		return rc;
	if (owner)
		vex_bind_text(st, 1, owner);
	sqlite3_bind_int(st, 2, limit);
	rc = vex_sqlite_collect(st, &running_rows, (size_t)limit, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_running_jobs){ items, n };
	return rc;
}
