/* store_keys.c - API keys in SQLite: insert, lookup by hash, get, list, revoke, touch last use. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

#define KEY_COLS "id, owner, role, plan, name, prefix, created_at, last_used_at, revoked_at"

/* Fill "k" from the current row (columns in KEY_COLS order). */
static void key_from_row(sqlite3_stmt *st, struct vex_api_key *k)
{
	memset(k, 0, sizeof(*k));
	vex_col_copy(st, 0, k->id, sizeof(k->id));
	vex_col_copy(st, 1, k->owner, sizeof(k->owner));
	if (vex_role_parse((const char *)sqlite3_column_text(st, 2), &k->role) != 0)
		k->role = VEX_ROLE_USER;
	if (vex_plan_parse((const char *)sqlite3_column_text(st, 3), &k->plan) != 0)
		k->plan = VEX_PLAN_FREE;
	vex_col_copy(st, 4, k->name, sizeof(k->name));
	vex_col_copy(st, 5, k->prefix, sizeof(k->prefix));
	k->created_at = sqlite3_column_int64(st, 6);
	k->last_used_at = sqlite3_column_int64(st, 7);
	k->revoked_at = sqlite3_column_int64(st, 8);
}

/* Step a one-row SELECT into "ret"; VEX_ENOTFOUND when no row. */
static int read_one(sqlite3_stmt *st, struct vex_api_key *ret)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		key_from_row(st, ret);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = VEX_ENOTFOUND;
	} else {
		rc = vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	return rc;
}

int vex_sqlite_key_insert(struct vex_sqlite *s, const struct vex_api_key *k, const char *hash)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!k || !k->id[0] || !k->owner[0] || !k->prefix[0] || !hash || !*hash)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO api_keys(id, owner, role, plan, name, hash, prefix, created_at)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, k->id);
	vex_bind_text(st, 2, k->owner);
	vex_bind_text(st, 3, vex_role_name(k->role));
	vex_bind_text(st, 4, vex_plan_name(k->plan));
	vex_bind_text(st, 5, k->name[0] ? k->name : NULL);
	vex_bind_text(st, 6, hash);
	vex_bind_text(st, 7, k->prefix);
	sqlite3_bind_int64(st, 8, k->created_at);
	return vex_sqlite_write(s, st, &changes);
}

int vex_sqlite_key_by_hash(struct vex_sqlite *s, const char *hash, struct vex_api_key *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!hash)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hash);
	return read_one(st, ret);
}

int vex_sqlite_key_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_api_key *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, owner);
	return read_one(st, ret);
}

void vex_api_key_list_release(struct vex_api_key_list *l)
{
	if (!l)
		return;
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* One SQL text per shape, so that each uses its index: api_keys(owner, id) or the primary key. */
static const char *const list_sql[4] = {
	"SELECT " KEY_COLS " FROM api_keys ORDER BY id DESC LIMIT ?3",
	"SELECT " KEY_COLS " FROM api_keys WHERE owner = ?1 ORDER BY id DESC LIMIT ?3",
	"SELECT " KEY_COLS " FROM api_keys WHERE id < ?2 ORDER BY id DESC LIMIT ?3",
	"SELECT " KEY_COLS " FROM api_keys WHERE owner = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
};

static int key_row(sqlite3_stmt *st, void *item)
{
	key_from_row(st, item);
	return 0;
}

static const struct vex_rows key_rows = { sizeof(struct vex_api_key), key_row, NULL, NULL };

int vex_sqlite_keys_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			 struct vex_api_key_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_page(s, list_sql, owner, before_id, limit, &key_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_api_key_list){ items, n };
	return rc;
}

int vex_sqlite_key_revoke(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us)
{
	return vex_sqlite_stamp_row(s,
				    "UPDATE api_keys SET revoked_at = ?3"
				    " WHERE id = ?1 AND (?2 IS NULL OR owner = ?2) AND revoked_at IS NULL",
				    id, owner, now_us);
}

int vex_sqlite_key_touch(struct vex_sqlite *s, const char *id, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "UPDATE api_keys SET last_used_at = ?2"
			     " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	sqlite3_bind_int64(st, 3, now_us - VEX_APIKEY_TOUCH_US);
	return vex_sqlite_write(s, st, &changes);
}

static int id_row(sqlite3_stmt *st, void *item)
{
	vex_col_copy(st, 0, item, VEX_UUID_LEN + 1);
	return 0;
}

static const struct vex_rows id_rows = { VEX_UUID_LEN + 1, id_row, NULL, NULL };

int vex_sqlite_keys_revoked_since(struct vex_sqlite *s, int64_t since_us, int max, char (**ret)[VEX_UUID_LEN + 1],
				  size_t *ret_n)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_since(s, "SELECT id FROM api_keys WHERE revoked_at >= ?1 ORDER BY revoked_at LIMIT ?2", since_us,
				  max, &id_rows, &items, &n);

	if (rc == 0) {
		*ret = items;
		*ret_n = n;
	}
	return rc;
}
