/* store_agents.c - agents on PostgreSQL: insert, get, update, soft delete, list, as
 * core/store/sqlite/store_agents.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define AGENT_COLS                                                                                         \
	"id, owner, name, role, max_depth, spawn_shadow, model, tools_json, base_url, schedule_json, status," \
	" generation, fitness, created_at, updated_at, plan, owner_role"

static enum vex_agent_status status_parse(const char *s)
{
	if (strcmp(s, "PAUSED") == 0)
		return VEX_AGENT_PAUSED;
	if (strcmp(s, "DELETED") == 0)
		return VEX_AGENT_DELETED;
	return VEX_AGENT_ACTIVE;
}

/* Fill "item" (a struct vex_agent *) from row "row" (columns in AGENT_COLS order). */
static int agent_row(const PGresult *r, int row, void *item)
{
	struct vex_agent *a = vex_agent_new();
	int fail = 0;

	if (!a)
		return VEX_ENOMEM;
	vex_pg_copy(r, row, 0, a->id, sizeof(a->id));
	vex_pg_copy(r, row, 1, a->owner, sizeof(a->owner));
	a->name = vex_pg_strdup(r, row, 2, &fail);
	a->role = vex_pg_strdup(r, row, 3, &fail);
	a->max_depth = (int)vex_pg_get_i64(r, row, 4);
	a->spawn_shadow = (int)vex_pg_get_i64(r, row, 5);
	a->model = vex_pg_strdup(r, row, 6, &fail);
	a->tools_json = vex_pg_strdup(r, row, 7, &fail);
	a->base_url = vex_pg_strdup(r, row, 8, &fail);
	a->schedule_json = vex_pg_strdup(r, row, 9, &fail);
	a->status = status_parse(PQgetvalue(r, row, 10));
	a->generation = (int)vex_pg_get_i64(r, row, 11);
	/* float8's text is the shortest that reads back to the same double (extra_float_digits 1). */
	a->fitness = strtod(PQgetvalue(r, row, 12), NULL);
	a->created_at = vex_pg_get_i64(r, row, 13);
	a->updated_at = vex_pg_get_i64(r, row, 14);
	if (vex_plan_parse(PQgetvalue(r, row, 15), &a->plan) != 0)
		a->plan = VEX_PLAN_FREE;
	a->owner_admin = strcmp(PQgetvalue(r, row, 16), "admin") == 0;
	if (fail || !a->name || !a->role) {
		vex_agent_free(a);
		return VEX_ENOMEM;
	}
	*(struct vex_agent **)item = a;
	return 0;
}

static void agent_row_free(void *item)
{
	vex_agent_free(*(struct vex_agent **)item);
}

static const struct vex_pg_rows agent_rows = { sizeof(struct vex_agent *), agent_row, agent_row_free };

/* The texts of an agent's parameters: the key ($1 id, $2 owner) and the mutable fields at $3..$14, as
 * SQLite's bind_agent; "num" holds the numbers' texts. */
struct agent_vals {
	const char *v[17];
	char num[6][32];
};

static void agent_vals(struct agent_vals *av, const struct vex_agent *a)
{
	av->v[0] = a->id;
	av->v[1] = a->owner;
	av->v[2] = a->name;
	av->v[3] = a->role;
	av->v[4] = vex_pg_i64(av->num[0], a->max_depth);
	av->v[5] = a->spawn_shadow ? "1" : "0";
	av->v[6] = a->model;
	av->v[7] = a->tools_json;
	av->v[8] = a->base_url;
	av->v[9] = a->schedule_json;
	av->v[10] = vex_agent_status_name(a->status);
	av->v[11] = vex_pg_i64(av->num[1], a->generation);
	/* %.17g: every double reads back exactly. */
	snprintf(av->num[2], sizeof(av->num[2]), "%.17g", a->fitness);
	av->v[12] = av->num[2];
	av->v[13] = vex_pg_i64(av->num[3], a->updated_at);
}

int vex_pg_agent_insert(struct vex_pg *p, const struct vex_agent *a, const struct vex_caps *caps,
			enum vex_cap *ret_hit)
{
	struct agent_vals av;

	if (!a || !a->id[0] || !a->owner[0] || !a->name || !a->role)
		return VEX_EINVAL;
	agent_vals(&av, a);
	av.v[14] = vex_pg_i64(av.num[4], a->created_at);
	av.v[15] = vex_plan_name(a->plan);
	av.v[16] = a->owner_admin ? "admin" : "user";
	/* A fresh agent's updated_at defaults to its creation time. */
	if (a->updated_at == 0)
		av.v[13] = av.v[14];
	return vex_pg_write_capped(p,
				   "INSERT INTO agents(id, owner, name, role, max_depth, spawn_shadow, model, tools_json,"
				   " base_url, schedule_json, status, generation, fitness, updated_at, created_at, plan,"
				   " owner_role)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
				   17, av.v, a->owner, a->id, caps,
				   (1u << VEX_CAP_AGENTS) | (a->schedule_json ? 1u << VEX_CAP_SCHEDULES : 0), ret_hit,
				   NULL);
}

int vex_pg_agent_get(struct vex_pg *p, const char *id, const char *owner, int include_deleted,
		     struct vex_agent **ret)
{
	const char *v[3] = { id, owner, include_deleted ? "t" : "f" };
	PGresult *r = NULL;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_pg_exec(p,
			 "SELECT " AGENT_COLS " FROM agents WHERE id = $1 AND ($2::text IS NULL OR owner = $2)"
			 " AND ($3::boolean OR status <> 'DELETED')",
			 3, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) > 0)
		rc = agent_row(r, 0, ret);
	else
		rc = VEX_ENOTFOUND;
	PQclear(r);
	return rc;
}

int vex_pg_agent_update(struct vex_pg *p, const struct vex_agent *a, const struct vex_caps *caps,
			enum vex_cap *ret_hit)
{
	struct agent_vals av;
	int64_t changes = 0;
	int rc;

	if (!a || !a->name || !a->role)
		return VEX_EINVAL;
	agent_vals(&av, a);
	rc = vex_pg_write_capped(p,
				 "UPDATE agents SET name = $3, role = $4, max_depth = $5, spawn_shadow = $6, model = $7,"
				 " tools_json = $8, base_url = $9, schedule_json = $10, status = $11, generation = $12,"
				 " fitness = $13, updated_at = $14"
				 " WHERE id = $1 AND owner = $2 AND status <> 'DELETED'",
				 14, av.v, a->owner, a->id, caps, a->schedule_json ? 1u << VEX_CAP_SCHEDULES : 0, ret_hit,
				 &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

int vex_pg_agent_delete(struct vex_pg *p, const char *id, const char *owner, int64_t now_us)
{
	return vex_pg_stamp_row(p,
				"UPDATE agents SET status = 'DELETED', updated_at = $3"
				" WHERE id = $1 AND ($2::text IS NULL OR owner = $2) AND status <> 'DELETED'",
				id, owner, now_us);
}

/* One SQL text per shape (vex_pg_page), so that each uses its index: agents(owner, id) or the primary key.
 * By id in bytes, as SQLite orders it (the column's collation is "C"). */
static const char *const list_sql[4] = {
	"SELECT " AGENT_COLS " FROM agents WHERE status <> 'DELETED' ORDER BY id DESC LIMIT $1",
	"SELECT " AGENT_COLS " FROM agents WHERE owner = $1 AND status <> 'DELETED' ORDER BY id DESC LIMIT $2",
	"SELECT " AGENT_COLS " FROM agents WHERE id < $1 AND status <> 'DELETED' ORDER BY id DESC LIMIT $2",
	"SELECT " AGENT_COLS " FROM agents WHERE owner = $1 AND id < $2 AND status <> 'DELETED'"
	" ORDER BY id DESC LIMIT $3",
};

int vex_pg_agents_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
		       struct vex_agent_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_pg_page(p, list_sql, owner, before_id, limit, &agent_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_agent_list){ items, n };
	return rc;
}
