/* store_runners.c - runner heartbeats on PostgreSQL (each runner's last beat, host, slots and busy slots; its
 * row removed when it stops) and the running jobs, as core/store/sqlite/store_runners.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/stats.h"

#define RUNNERS_MAX 1000 /* rows of a runner list (core/store/stats.h) */

int vex_pg_runner_beat(struct vex_pg *p, const char *runner_id, int pid, int64_t now_us)
{
	char a[24], b[24];
	const char *v[3];

	if (!runner_id || !*runner_id)
		return VEX_EINVAL;
	v[0] = runner_id;
	v[1] = vex_pg_i64(a, pid);
	v[2] = vex_pg_i64(b, now_us);
	return vex_pg_exec(p,
			   "INSERT INTO runners(id, pid, beat_at) VALUES ($1, $2, $3)"
			   " ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, beat_at = excluded.beat_at",
			   3, v, NULL);
}

int vex_pg_runner_last_beat(struct vex_pg *p, int64_t *ret_us)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, "SELECT MAX(beat_at) FROM runners", 0, NULL, &r);

	if (rc)
		return rc;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*ret_us = vex_pg_get_i64(r, 0, 0);
	else
		rc = VEX_ENOTFOUND;
	PQclear(r);
	return rc;
}

int vex_pg_runner_gone(struct vex_pg *p, const char *runner_id)
{
	const char *v[1] = { runner_id };

	if (!runner_id)
		return VEX_EINVAL;
	return vex_pg_exec(p, "DELETE FROM runners WHERE id = $1", 1, v, NULL);
}

int vex_pg_runner_report(struct vex_pg *p, const struct vex_runner_info *r)
{
	char a[24], b[24], c[24], d[24], e[24];
	const char *v[7];

	if (!p || !r || !r->id[0])
		return VEX_EINVAL;
	v[0] = r->id;
	v[1] = vex_pg_i64(a, r->pid);
	v[2] = vex_pg_i64(b, r->beat_at);
	v[3] = r->host;
	v[4] = vex_pg_i64(c, r->started_at);
	v[5] = vex_pg_i64(d, r->slots);
	v[6] = vex_pg_i64(e, r->busy);
	return vex_pg_exec(p,
			   "INSERT INTO runners(id, pid, beat_at, host, started_at, slots, busy)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7)"
			   " ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, beat_at = excluded.beat_at,"
			   " host = excluded.host, started_at = excluded.started_at, slots = excluded.slots,"
			   " busy = excluded.busy",
			   7, v, NULL);
}

int vex_pg_runners_list(struct vex_pg *p, struct vex_runner_infos *ret)
{
	struct vex_runner_info *items = NULL;
	PGresult *r = NULL;
	int rc, n, i;

	if (!p || !ret)
		return VEX_EINVAL;
	/* By id in bytes, as SQLite orders it: the column's collation is "C" (migrations.c). */
	rc = vex_pg_exec(p, "SELECT id, pid, beat_at, host, started_at, slots, busy FROM runners ORDER BY id LIMIT 1000",
			 0, NULL, &r);
	if (rc)
		return rc;
	n = PQntuples(r);
	if (n > 0) {
		items = calloc((size_t)n, sizeof(*items));
		if (!items) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n && i < RUNNERS_MAX; i++) {
		struct vex_runner_info *it = &items[i];

		snprintf(it->id, sizeof(it->id), "%s", PQgetvalue(r, i, 0));
		it->pid = (int)vex_pg_get_i64(r, i, 1);
		it->beat_at = vex_pg_get_i64(r, i, 2);
		snprintf(it->host, sizeof(it->host), "%s", PQgetvalue(r, i, 3));
		it->started_at = vex_pg_get_i64(r, i, 4);
		it->slots = (int)vex_pg_get_i64(r, i, 5);
		it->busy = (int)vex_pg_get_i64(r, i, 6);
	}
	*ret = (struct vex_runner_infos){ items, (size_t)i };
	items = NULL;
out:
	free(items);
	PQclear(r);
	return rc;
}

/* Fill the vex_running_job "item" from row "row" (id, owner, kind, name, started_at, lease_owner). */
static int running_read(const PGresult *r, int row, void *item)
{
	struct vex_running_job *j = item;

	vex_pg_copy(r, row, 0, j->id, sizeof(j->id));
	vex_pg_copy(r, row, 1, j->owner, sizeof(j->owner));
	j->kind = strcmp(PQgetvalue(r, row, 2), "agent") == 0 ? VEX_JOB_AGENT : VEX_JOB_TOOL;
	vex_pg_copy(r, row, 3, j->name, sizeof(j->name));
	j->started_at = vex_pg_get_i64(r, row, 4);
	vex_pg_copy(r, row, 5, j->lease_owner, sizeof(j->lease_owner));
	return 0;
}

static const struct vex_pg_rows running_rows = { sizeof(struct vex_running_job), running_read, NULL };

int vex_pg_running_jobs(struct vex_pg *p, const char *owner, int limit, struct vex_running_jobs *ret)
{
	char lim[24];
	const char *v[2];
	PGresult *r = NULL;
	void *items = NULL;
	size_t n = 0;
	int rc;

	if (!p || !ret || limit < 1 || limit > 10000)
		return VEX_EINVAL;
	v[0] = owner;
	v[1] = vex_pg_i64(lim, limit);
	/* An owner's by id (jobs_owner_status_id); everyone's by lease expiry (the partial jobs_lease), as SQLite
	 * reads them, ties by id where SQLite's index has its rowid (insert order). */
	if (owner)
		rc = vex_pg_exec(p,
				 "SELECT id, owner, kind, CASE kind WHEN 'tool' THEN tool ELSE agent_id END,"
				 " started_at, lease_owner FROM jobs WHERE owner = $1 AND status = 'running'"
				 " ORDER BY id LIMIT $2",
				 2, v, &r);
	else
		rc = vex_pg_exec(p,
				 "SELECT id, owner, kind, CASE kind WHEN 'tool' THEN tool ELSE agent_id END,"
				 " started_at, lease_owner FROM jobs WHERE status = 'running'"
				 " AND lease_expires_at IS NOT NULL ORDER BY lease_expires_at, id LIMIT $1",
				 1, v + 1, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &running_rows, (size_t)limit, &items, &n);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_running_jobs){ items, n };
	return rc;
}
