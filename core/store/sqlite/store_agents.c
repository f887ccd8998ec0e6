/* store_agents.c - agents in SQLite: insert, get, update, soft delete, list. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

#define AGENT_COLS                                                                                         \
	"id, owner, name, role, max_depth, spawn_shadow, model, tools_json, base_url, schedule_json, status," \
	" generation, fitness, created_at, updated_at, plan, owner_role"

static int agent_status_parse(const char *s, enum vex_agent_status *ret)
{
	if (!s)
		return VEX_EINVAL;
	if (strcmp(s, "ACTIVE") == 0)
		*ret = VEX_AGENT_ACTIVE;
	else if (strcmp(s, "PAUSED") == 0)
		*ret = VEX_AGENT_PAUSED;
	else if (strcmp(s, "DELETED") == 0)
		*ret = VEX_AGENT_DELETED;
	else
		return VEX_EINVAL;
	return 0;
}

/* Build an agent from the current row (columns in AGENT_COLS order). */
static int agent_from_row(sqlite3_stmt *st, struct vex_agent **ret)
{
	struct vex_agent *a;
	enum vex_agent_status status = VEX_AGENT_ACTIVE;
	int fail = 0;

	a = vex_agent_new();
	if (!a)
		return VEX_ENOMEM;
	vex_col_copy(st, 0, a->id, sizeof(a->id));
	vex_col_copy(st, 1, a->owner, sizeof(a->owner));
	a->name = vex_col_strdup(st, 2, &fail);
	a->role = vex_col_strdup(st, 3, &fail);
	a->max_depth = sqlite3_column_int(st, 4);
	a->spawn_shadow = sqlite3_column_int(st, 5);
	a->model = vex_col_strdup(st, 6, &fail);
	a->tools_json = vex_col_strdup(st, 7, &fail);
	a->base_url = vex_col_strdup(st, 8, &fail);
	a->schedule_json = vex_col_strdup(st, 9, &fail);
	agent_status_parse((const char *)sqlite3_column_text(st, 10), &status);
	a->status = status;
	a->generation = sqlite3_column_int(st, 11);
	a->fitness = sqlite3_column_double(st, 12);
	a->created_at = sqlite3_column_int64(st, 13);
	a->updated_at = sqlite3_column_int64(st, 14);
	if (vex_plan_parse((const char *)sqlite3_column_text(st, 15), &a->plan) != 0)
		a->plan = VEX_PLAN_FREE;
	a->owner_admin = sqlite3_column_text(st, 16) && strcmp((const char *)sqlite3_column_text(st, 16), "admin") == 0;
	if (fail || !a->name || !a->role) {
		vex_agent_free(a);
		return VEX_ENOMEM;
	}
	*ret = a;
	return 0;
}

/* How a row becomes an item (defined beside the listing); single-row reads use it too. */
static const struct vex_rows agent_rows;

/* Bind the key (?1 id, ?2 owner) and the mutable fields at ?3..?14 (shared by insert and update). */
static void bind_agent(sqlite3_stmt *st, const struct vex_agent *a)
{
	vex_bind_text(st, 1, a->id);
	vex_bind_text(st, 2, a->owner);
	vex_bind_text(st, 3, a->name);
	vex_bind_text(st, 4, a->role);
	sqlite3_bind_int(st, 5, a->max_depth);
	sqlite3_bind_int(st, 6, a->spawn_shadow ? 1 : 0);
	vex_bind_text(st, 7, a->model);
	vex_bind_text(st, 8, a->tools_json);
	vex_bind_text(st, 9, a->base_url);
	vex_bind_text(st, 10, a->schedule_json);
	vex_bind_text(st, 11, vex_agent_status_name(a->status));
	sqlite3_bind_int(st, 12, a->generation);
	sqlite3_bind_double(st, 13, a->fitness);
	sqlite3_bind_int64(st, 14, a->updated_at);
}

int vex_sqlite_agent_insert(struct vex_sqlite *s, const struct vex_agent *a, const struct vex_caps *caps,
			    enum vex_cap *ret_hit)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!a || !a->id[0] || !a->owner[0] || !a->name || !a->role)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO agents(id, owner, name, role, max_depth, spawn_shadow, model, tools_json,"
			     " base_url, schedule_json, status, generation, fitness, updated_at, created_at, plan, owner_role)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
			     &st);
	if (rc)
		return rc;
	bind_agent(st, a);
	sqlite3_bind_int64(st, 15, a->created_at);
	vex_bind_text(st, 16, vex_plan_name(a->plan));
	vex_bind_text(st, 17, a->owner_admin ? "admin" : "user");
	/* A fresh agent's updated_at defaults to its creation time. */
	if (a->updated_at == 0)
		sqlite3_bind_int64(st, 14, a->created_at);
	return vex_sqlite_write_capped(s, st, a->owner, a->id, caps,
				       (1u << VEX_CAP_AGENTS) | (a->schedule_json ? 1u << VEX_CAP_SCHEDULES : 0), ret_hit,
				       &changes);
}

int vex_sqlite_agent_get(struct vex_sqlite *s, const char *id, const char *owner, int include_deleted,
			 struct vex_agent **ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "SELECT " AGENT_COLS " FROM agents WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)"
			     " AND (?3 OR status <> 'DELETED')",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, owner);
	sqlite3_bind_int(st, 3, include_deleted ? 1 : 0);
	return vex_sqlite_one(st, &agent_rows, ret);
}

int vex_sqlite_agent_update(struct vex_sqlite *s, const struct vex_agent *a, const struct vex_caps *caps,
			    enum vex_cap *ret_hit)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!a || !a->name || !a->role)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "UPDATE agents SET name = ?3, role = ?4, max_depth = ?5, spawn_shadow = ?6, model = ?7,"
			     " tools_json = ?8, base_url = ?9, schedule_json = ?10, status = ?11, generation = ?12,"
			     " fitness = ?13, updated_at = ?14"
			     " WHERE id = ?1 AND owner = ?2 AND status <> 'DELETED'",
			     &st);
	if (rc)
		return rc;
	bind_agent(st, a);
	rc = vex_sqlite_write_capped(s, st, a->owner, a->id, caps, a->schedule_json ? 1u << VEX_CAP_SCHEDULES : 0,
				     ret_hit, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

int vex_sqlite_agent_delete(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us)
{
	return vex_sqlite_stamp_row(s,
				    "UPDATE agents SET status = 'DELETED', updated_at = ?3"
				    " WHERE id = ?1 AND (?2 IS NULL OR owner = ?2) AND status <> 'DELETED'",
				    id, owner, now_us);
}

void vex_agent_list_release(struct vex_agent_list *l)
{
	VEX_STORE_LIST_RELEASE(l, vex_agent_free);
}

/* One SQL text per shape, so that each uses its index: agents(owner, id) or the primary key. */
static const char *const list_sql[4] = {
	"SELECT " AGENT_COLS " FROM agents WHERE status <> 'DELETED' ORDER BY id DESC LIMIT ?3",
	"SELECT " AGENT_COLS " FROM agents WHERE owner = ?1 AND status <> 'DELETED' ORDER BY id DESC LIMIT ?3",
	"SELECT " AGENT_COLS " FROM agents WHERE id < ?2 AND status <> 'DELETED' ORDER BY id DESC LIMIT ?3",
	"SELECT " AGENT_COLS " FROM agents WHERE owner = ?1 AND id < ?2 AND status <> 'DELETED'"
	" ORDER BY id DESC LIMIT ?3",
};

static int agent_row(sqlite3_stmt *st, void *item)
{
	return agent_from_row(st, item);
}

static void agent_row_free(void *item)
{
	vex_agent_free(*(struct vex_agent **)item);
}

static const struct vex_rows agent_rows = { sizeof(struct vex_agent *), agent_row, agent_row_free, NULL };

int vex_sqlite_agents_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			   struct vex_agent_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_page(s, list_sql, owner, before_id, limit, &agent_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_agent_list){ items, n };
	return rc;
}
