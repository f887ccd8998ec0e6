/* store_keys.c - API keys on PostgreSQL: insert, lookup by hash, get, list, revoke, touch last use, as
 * core/store/sqlite/store_keys.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define KEY_COLS "id, owner, role, plan, name, prefix, created_at, last_used_at, revoked_at"

/* Fill "item" (a struct vex_api_key) from row "row" (columns in KEY_COLS order). */
static int key_row(const PGresult *r, int row, void *item)
{
	struct vex_api_key *k = item;

	memset(k, 0, sizeof(*k));
	vex_pg_copy(r, row, 0, k->id, sizeof(k->id));
	vex_pg_copy(r, row, 1, k->owner, sizeof(k->owner));
	if (vex_role_parse(PQgetvalue(r, row, 2), &k->role) != 0)
		k->role = VEX_ROLE_USER;
	if (vex_plan_parse(PQgetvalue(r, row, 3), &k->plan) != 0)
		k->plan = VEX_PLAN_FREE;
	vex_pg_copy(r, row, 4, k->name, sizeof(k->name));
	vex_pg_copy(r, row, 5, k->prefix, sizeof(k->prefix));
	k->created_at = vex_pg_get_i64(r, row, 6);
	k->last_used_at = vex_pg_get_i64(r, row, 7);
	k->revoked_at = vex_pg_get_i64(r, row, 8);
	return 0;
}

static const struct vex_pg_rows key_rows = { sizeof(struct vex_api_key), key_row, NULL };

/* Run the one-row SELECT "sql" into "ret"; VEX_ENOTFOUND when no row. */
static int read_one(struct vex_pg *p, const char *sql, int n, const char *const *vals, struct vex_api_key *ret)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, sql, n, vals, &r);

	if (rc)
		return rc;
	if (PQntuples(r) > 0)
		key_row(r, 0, ret);
	else
		rc = VEX_ENOTFOUND;
	PQclear(r);
	return rc;
}

int vex_pg_key_insert(struct vex_pg *p, const struct vex_api_key *k, const char *hash)
{
	char t[24];
	const char *v[8];

	if (!k || !k->id[0] || !k->owner[0] || !k->prefix[0] || !hash || !*hash)
		return VEX_EINVAL;
	v[0] = k->id;
	v[1] = k->owner;
	v[2] = vex_role_name(k->role);
	v[3] = vex_plan_name(k->plan);
	v[4] = k->name[0] ? k->name : NULL;
	v[5] = hash;
	v[6] = k->prefix;
	v[7] = vex_pg_i64(t, k->created_at);
	return vex_pg_exec(p,
			   "INSERT INTO api_keys(id, owner, role, plan, name, hash, prefix, created_at)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			   8, v, NULL);
}

int vex_pg_key_by_hash(struct vex_pg *p, const char *hash, struct vex_api_key *ret)
{
	const char *v[1] = { hash };

	if (!hash)
		return VEX_EINVAL;
	return read_one(p, "SELECT " KEY_COLS " FROM api_keys WHERE hash = $1 AND revoked_at IS NULL", 1, v, ret);
}

int vex_pg_key_get(struct vex_pg *p, const char *id, const char *owner, struct vex_api_key *ret)
{
	const char *v[2] = { id, owner };

	if (!id)
		return VEX_EINVAL;
	return read_one(p, "SELECT " KEY_COLS " FROM api_keys WHERE id = $1 AND ($2::text IS NULL OR owner = $2)", 2,
			v, ret);
}

/* One SQL text per shape (vex_pg_page), so that each uses its index: api_keys(owner, id) or the primary key.
 * By id in bytes, as SQLite orders it: the column's collation is "C" (migrations.c). */
static const char *const list_sql[4] = {
	"SELECT " KEY_COLS " FROM api_keys ORDER BY id DESC LIMIT $1",
	"SELECT " KEY_COLS " FROM api_keys WHERE owner = $1 ORDER BY id DESC LIMIT $2",
	"SELECT " KEY_COLS " FROM api_keys WHERE id < $1 ORDER BY id DESC LIMIT $2",
	"SELECT " KEY_COLS " FROM api_keys WHERE owner = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
};

int vex_pg_keys_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
		     struct vex_api_key_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_pg_page(p, list_sql, owner, before_id, limit, &key_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_api_key_list){ items, n };
	return rc;
}

int vex_pg_key_revoke(struct vex_pg *p, const char *id, const char *owner, int64_t now_us)
{
	return vex_pg_stamp_row(p,
				"UPDATE api_keys SET revoked_at = $3"
				" WHERE id = $1 AND ($2::text IS NULL OR owner = $2) AND revoked_at IS NULL",
				id, owner, now_us);
}

int vex_pg_key_touch(struct vex_pg *p, const char *id, int64_t now_us)
{
	char a[24], b[24];
	const char *v[3];

	if (!id)
		return VEX_EINVAL;
	v[0] = id;
	v[1] = vex_pg_i64(a, now_us);
	v[2] = vex_pg_i64(b, now_us - VEX_APIKEY_TOUCH_US);
	return vex_pg_exec(p,
			   "UPDATE api_keys SET last_used_at = $2"
			   " WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
			   3, v, NULL);
}

static int id_row(const PGresult *r, int row, void *item)
{
	vex_pg_copy(r, row, 0, item, VEX_UUID_LEN + 1);
	return 0;
}

static const struct vex_pg_rows id_rows = { VEX_UUID_LEN + 1, id_row, NULL };

int vex_pg_keys_revoked_since(struct vex_pg *p, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
			      size_t *ret_n)
{
	void *items;
	size_t n;
	/* Ties in id order: SQLite gives them in insertion order, which uuid7 ids follow; PostgreSQL would give
	 * them in any. */
	int rc = vex_pg_since(p, "SELECT id FROM api_keys WHERE revoked_at >= $1 ORDER BY revoked_at, id LIMIT $2",
			      since_us, max, &id_rows, &items, &n);

	if (rc == 0) {
		*ret = items;
		*ret_n = n;
	}
	return rc;
}
