/* store_schedule.c - scheduled agents in SQLite: the ACTIVE ones with a schedule, and firing a slot exactly once. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

void vex_sched_agent_list_release(struct vex_sched_agent_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i].schedule_json);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int sched_row(sqlite3_stmt *st, void *item)
{
	struct vex_sched_agent *it = item;
	int fail = 0;

	vex_col_copy(st, 0, it->id, sizeof(it->id));
	it->schedule_json = vex_col_strdup(st, 1, &fail);
	it->created_at = sqlite3_column_int64(st, 2);
	return fail ? VEX_ENOMEM : 0;
}

static void sched_row_free(void *item)
{
	free(((struct vex_sched_agent *)item)->schedule_json);
}

static const struct vex_rows sched_rows = { sizeof(struct vex_sched_agent), sched_row, sched_row_free, NULL };

int vex_sqlite_scheduled_agents(struct vex_sqlite *s, const char *after_id, int limit,
				struct vex_sched_agent_list *ret)
{
	void *items;
	size_t n;
	sqlite3_stmt *st = NULL;
	int rc;

	if (limit < 1 || limit > 1000)
		return VEX_EINVAL;
	/* The WHERE repeats the partial index's condition so that agents_scheduled serves it. */
	rc = vex_sqlite_stmt(s,
			     "SELECT id, schedule_json, created_at FROM agents"
			     " WHERE schedule_json IS NOT NULL AND status = 'ACTIVE' AND id > ?1"
			     " ORDER BY id LIMIT ?2",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, after_id ? after_id : "");
	sqlite3_bind_int(st, 2, limit);
	rc = vex_sqlite_collect(st, &sched_rows, (size_t)limit, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_sched_agent_list){ items, n };
	return rc;
}

int vex_sqlite_schedule_fired(struct vex_sqlite *s, const char *agent_id, int64_t slot_us, int *ret_fired)
{
	sqlite3_stmt *st;
	int rc;

	if (!agent_id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT 1 FROM schedule_fires WHERE agent_id = ?1 AND slot = ?2", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, agent_id);
	sqlite3_bind_int64(st, 2, slot_us);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*ret_fired = rc == SQLITE_ROW;
		rc = 0;
	} else {
		rc = vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	return rc;
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
static int refuse_run(struct vex_sqlite *s, int64_t now_us, int limit, struct vex_job **j)
{
	struct vex_field_error e;
	struct vex_job *got = NULL;
	sqlite3_stmt *st;
	int rc;

	vex_cap_refuse(VEX_CAP_QUEUED_JOBS, limit, (*j)->plan, &e);
	rc = vex_sqlite_stmt(s,
			     "UPDATE jobs SET status = 'failed', completed_at = ?2, updated_at = ?2, error_code = ?3,"
			     " error_message = ?4, rev = rev + 1 WHERE id = ?1",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, (*j)->id);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, e.code);
	vex_bind_text(st, 4, e.message);
	rc = vex_sqlite_exec_stmt(st);
	if (rc == 0)
		rc = vex_sqlite_job_get(s, (*j)->id, NULL, &got);
	if (rc == 0) {
		vex_job_free(*j);
		*j = got;
	}
	return rc;
}

/* Steps of vex_sqlite_schedule_fire inside its transaction. */
static int fire_locked(struct vex_sqlite *s, const struct vex_sched_fire *f, struct vex_job **ret)
{
	char owner[VEX_SUB_MAX + 1], plan[32];
	struct vex_job *j = NULL;
	char *role = NULL;
	sqlite3_stmt *st;
	int rc, fail = 0, created = 0, owner_admin = 0, cap, over;

	/* Still ACTIVE and scheduled now that we hold the write lock: a pause or delete that committed
	 * before us wins. */
	rc = vex_sqlite_stmt(s,
			     "SELECT owner, plan, role, owner_role FROM agents WHERE id = ?1 AND status = 'ACTIVE'"
			     " AND schedule_json IS NOT NULL",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, f->agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		vex_col_copy(st, 0, owner, sizeof(owner));
		vex_col_copy(st, 1, plan, sizeof(plan));
		role = vex_col_strdup(st, 2, &fail);
		owner_admin = sqlite3_column_text(st, 3) && strcmp((const char *)sqlite3_column_text(st, 3), "admin") == 0;
		rc = fail || !role ? VEX_ENOMEM : 0;
	} else {
		rc = rc == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	if (rc)
		goto out;
	rc = fire_job(f, owner, plan, role, &j);
	if (rc)
		goto out;
	j->owner_admin = owner_admin; /* grants are decided as the agent's creator was recorded */
	cap = f->queued_caps && !owner_admin ? f->queued_caps[j->plan] : 0;
	rc = vex_sqlite_cap_check_locked(s, VEX_CAP_QUEUED_JOBS, owner, NULL, cap);
	over = rc == VEX_ELIMIT;
	if (rc && !over)
		goto out;
	/* The primary key (agent_id, slot) turns a second fire of the slot into VEX_EEXIST. */
	rc = vex_sqlite_stmt(s, "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES (?1, ?2, ?3, ?4)",
			     &st);
	if (rc)
		goto out;
	vex_bind_text(st, 1, f->agent_id);
	sqlite3_bind_int64(st, 2, f->slot_us);
	vex_bind_text(st, 3, j->id);
	sqlite3_bind_int64(st, 4, f->now_us);
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		goto out;
	rc = vex_sqlite_job_insert_locked(s, j, ret, &created);
	if (rc == 0 && over)
		rc = refuse_run(s, f->now_us, cap, ret);
out:
	free(role);
	vex_job_free(j);
	return rc;
}

int vex_sqlite_schedule_fire(struct vex_sqlite *s, const struct vex_sched_fire *f, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc, fired = 0;

	if (!f || !f->agent_id || !*f->agent_id || f->max_attempts < 1 || f->timeout_ms < 0 || !ret)
		return VEX_EINVAL;
	/* Cheap read first: every runner looks at a due slot each tick, only one takes the write lock. */
	rc = vex_sqlite_schedule_fired(s, f->agent_id, f->slot_us, &fired);
	if (rc)
		return rc;
	if (fired)
		return VEX_EEXIST;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = fire_locked(s, f, &j);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	return rc;
}
