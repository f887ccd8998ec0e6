/* store_schedule.c - scheduled agents on PostgreSQL: the ACTIVE ones with a schedule, and firing a slot exactly
 * once, as core/store/sqlite/store_schedule.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/timeutil.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

static int sched_row(const PGresult *r, int row, void *item)
{
	struct vex_sched_agent *it = item;
	int fail = 0;

	vex_pg_copy(r, row, 0, it->id, sizeof(it->id));
	it->schedule_json = vex_pg_strdup(r, row, 1, &fail);
	it->created_at = vex_pg_get_i64(r, row, 2);
	return fail ? VEX_ENOMEM : 0;
}

static void sched_row_free(void *item)
{
	free(((struct vex_sched_agent *)item)->schedule_json);
}

static const struct vex_pg_rows sched_rows = { sizeof(struct vex_sched_agent), sched_row, sched_row_free };

int vex_pg_scheduled_agents(struct vex_pg *p, const char *after_id, int limit, struct vex_sched_agent_list *ret)
{
	char lim[24];
	const char *v[2] = { after_id ? after_id : "", vex_pg_i64(lim, limit) };
	PGresult *r = NULL;
	void *items = NULL;
	size_t n = 0;
	int rc;

	if (limit < 1 || limit > 1000)
		return VEX_EINVAL;
	/* The WHERE repeats the partial index's condition so that agents_scheduled serves it. */
	rc = vex_pg_exec(p,
			 "SELECT id, schedule_json, created_at FROM agents"
			 " WHERE schedule_json IS NOT NULL AND status = 'ACTIVE' AND id > $1"
			 " ORDER BY id LIMIT $2",
			 2, v, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &sched_rows, (size_t)limit, &items, &n);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_sched_agent_list){ items, n };
	return rc;
}

int vex_pg_schedule_fired(struct vex_pg *p, const char *agent_id, int64_t slot_us, int *ret_fired)
{
	char slot[24];
	const char *v[2] = { agent_id, vex_pg_i64(slot, slot_us) };
	PGresult *r = NULL;
	int rc;

	if (!agent_id)
		return VEX_EINVAL;
	rc = vex_pg_exec(p, "SELECT 1 FROM schedule_fires WHERE agent_id = $1 AND slot = $2", 2, v, &r);
	if (rc)
		return rc;
	*ret_fired = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

/* The scheduled job of "f" for the agent row read inside the transaction (owner, plan, role). */
static int fire_job(const struct vex_sched_fire *f, const char *owner, const char *plan, const char *role,
		    struct vex_job **ret)
{
	char when[VEX_RFC3339_LEN];
	struct vex_job *j = vex_job_new();
	json_t *input = NULL;
	int rc = VEX_ENOMEM;

	if (!j)
		goto out;
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	if (vex_plan_parse(plan, &j->plan) != 0)
		j->plan = VEX_PLAN_FREE;
	j->kind = VEX_JOB_AGENT;
	snprintf(j->agent_id, sizeof(j->agent_id), "%s", f->agent_id);
	vex_rfc3339(f->slot_us, when);
	/* the agent's standing instruction, as a manual run without a prompt (events dialect) */
	input = json_pack("{s:s, s:n, s:s, s:s}", "prompt", role, "context_id", "trigger", "schedule",
			  "scheduled_for", when);
	if (!input)
		goto out;
	j->input_json = vex_json_dump(input);
	if (!j->input_json)
		goto out;
	j->status = VEX_JOB_QUEUED;
	j->max_attempts = f->max_attempts;
	j->timeout_ms = f->timeout_ms;
	j->created_at = f->now_us;
	j->updated_at = f->now_us;
	j->rev = 1;
	*ret = j;
	j = NULL;
	rc = 0;
out:
	json_decref(input);
	vex_job_free(j);
	return rc;
}

/*
 * A scheduled run its owner has no room for: the job "*j" just inserted becomes failed at once
 * (QUEUED_JOB_LIMIT_REACHED, the cap "limit" in its message), never queued work, and "*j" is replaced
 * by the stored row.
 */
static int refuse_run(struct vex_pg *p, int64_t now_us, int limit, struct vex_job **j)
{
	struct vex_field_error e;
	struct vex_job *got = NULL;
	char now[24];
	const char *v[4];
	int rc;

	vex_cap_refuse(VEX_CAP_QUEUED_JOBS, limit, (*j)->plan, &e);
	v[0] = (*j)->id;
	v[1] = vex_pg_i64(now, now_us);
	v[2] = e.code;
	v[3] = e.message;
	rc = vex_pg_job_one(p,
			    "UPDATE jobs SET status = 'failed', completed_at = $2, updated_at = $2, error_code = $3,"
			    " error_message = $4, rev = rev + 1 WHERE id = $1 RETURNING " VEX_PG_JOB_COLS,
			    4, v, &got);
	if (rc == 0) {
		vex_job_free(*j);
		*j = got;
	}
	return rc;
}

/* Steps of vex_pg_schedule_fire inside its job write. */
static int fire_locked(struct vex_pg *p, const struct vex_sched_fire *f, struct vex_job **ret)
{
	char slot[24], at[24];
	const char *v[4];
	struct vex_job *j = NULL;
	PGresult *r = NULL;
	int64_t added = 0;
	int rc, created = 0, owner_admin, cap, over;

	/* Still ACTIVE and scheduled: a pause or delete that committed before us wins, and one that comes
	 * after waits for our commit (the row lock), as behind SQLite's single writer. */
	v[0] = f->agent_id;
	rc = vex_pg_exec(p,
			 "SELECT owner, plan, role, owner_role FROM agents WHERE id = $1 AND status = 'ACTIVE'"
			 " AND schedule_json IS NOT NULL FOR SHARE",
			 1, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 0) {
		rc = VEX_ENOTFOUND;
		goto out;
	}
	rc = fire_job(f, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), &j);
	if (rc)
		goto out;
	owner_admin = strcmp(PQgetvalue(r, 0, 3), "admin") == 0;
	j->owner_admin = owner_admin; /* grants are decided as the agent's creator was recorded */
	cap = f->queued_caps && !owner_admin ? f->queued_caps[j->plan] : 0;
	rc = vex_pg_cap_check_locked(p, VEX_CAP_QUEUED_JOBS, j->owner, NULL, cap);
	over = rc == VEX_ELIMIT;
	if (rc && !over)
		goto out;
	/* The primary key (agent_id, slot): a slot another runner fired (committed, or committing while we
	 * waited on its key) adds nothing here, and this fire is VEX_EEXIST. */
	v[1] = vex_pg_i64(slot, f->slot_us);
	v[2] = j->id;
	v[3] = vex_pg_i64(at, f->now_us);
	rc = vex_pg_changes(p,
			    "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ($1, $2, $3, $4)"
			    " ON CONFLICT DO NOTHING",
			    4, v, &added);
	if (rc == 0 && added == 0)
		rc = VEX_EEXIST;
	if (rc)
		goto out;
	rc = vex_pg_job_insert_locked(p, j, ret, &created);
	if (rc == 0 && over)
		rc = refuse_run(p, f->now_us, cap, ret);
out:
	PQclear(r);
	vex_job_free(j);
	return rc;
}

int vex_pg_schedule_fire(struct vex_pg *p, const struct vex_sched_fire *f, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc, fired = 0;

	if (!f || !f->agent_id || !*f->agent_id || f->max_attempts < 1 || f->timeout_ms < 0 || !ret)
		return VEX_EINVAL;
	/* Cheap read first: every runner looks at a due slot each tick, only one takes the jobs lock. */
	rc = vex_pg_schedule_fired(p, f->agent_id, f->slot_us, &fired);
	if (rc)
		return rc;
	if (fired)
		return VEX_EEXIST;
	rc = vex_pg_begin_jobs(p);
	if (rc)
		return rc;
	rc = fire_locked(p, f, &j);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	return rc;
}
