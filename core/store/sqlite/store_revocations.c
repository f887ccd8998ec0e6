/* store_revocations.c - token revocations in SQLite: insert, the per-request check, listings. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

#define REV_COLS "id, jti, sub, issued_before, reason, created_by, created_at"

static int rev_row(sqlite3_stmt *st, void *item)
{
	struct vex_token_revocation *r = item;

	vex_col_copy(st, 0, r->id, sizeof(r->id));
	vex_col_copy(st, 1, r->jti, sizeof(r->jti));
	vex_col_copy(st, 2, r->sub, sizeof(r->sub));
	r->issued_before_s = sqlite3_column_int64(st, 3);
	vex_col_copy(st, 4, r->reason, sizeof(r->reason));
	vex_col_copy(st, 5, r->created_by, sizeof(r->created_by));
	r->created_at = sqlite3_column_int64(st, 6);
	return 0;
}

static const struct vex_rows rev_rows = { sizeof(struct vex_token_revocation), rev_row, NULL, NULL };

void vex_token_revocation_list_release(struct vex_token_revocation_list *l)
{
	if (!l)
		return;
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int vex_sqlite_revocation_insert(struct vex_sqlite *s, const struct vex_token_revocation *r)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!r || !r->id[0] || !r->created_by[0] || (r->jti[0] != '\0') == (r->sub[0] != '\0'))
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO token_revocations(id, jti, sub, issued_before, reason, created_by, created_at)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, r->id);
	vex_bind_text(st, 2, r->jti[0] ? r->jti : NULL);
	vex_bind_text(st, 3, r->sub[0] ? r->sub : NULL);
	if (r->sub[0])
		sqlite3_bind_int64(st, 4, r->issued_before_s);
	vex_bind_text(st, 5, r->reason[0] ? r->reason : NULL);
	vex_bind_text(st, 6, r->created_by);
	sqlite3_bind_int64(st, 7, r->created_at);
	return vex_sqlite_write(s, st, &changes);
}

int vex_sqlite_token_revoked(struct vex_sqlite *s, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if (!sub)
		return VEX_EINVAL;
	/* Two arms, each on its own index: the jti's unique index, then (sub, issued_before). */
	rc = vex_sqlite_stmt(s,
			     "SELECT (SELECT COUNT(*) FROM token_revocations WHERE jti = ?1)"
			     " + (SELECT COUNT(*) FROM (SELECT 1 FROM token_revocations"
			     " WHERE sub = ?2 AND issued_before > ?3 LIMIT 1))",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, jti && *jti ? jti : NULL);
	vex_bind_text(st, 2, sub);
	sqlite3_bind_int64(st, 3, iat_s);
	rc = vex_sqlite_step_int64(st, &n);
	if (rc == 0)
		*ret_revoked = n > 0;
	return rc;
}

/* One SQL text per shape (vex_sqlite_page): by sub or not, before an id or not. */
static const char *const list_sql[4] = {
	"SELECT " REV_COLS " FROM token_revocations ORDER BY id DESC LIMIT ?3",
	"SELECT " REV_COLS " FROM token_revocations WHERE sub = ?1 ORDER BY id DESC LIMIT ?3",
	"SELECT " REV_COLS " FROM token_revocations WHERE id < ?2 ORDER BY id DESC LIMIT ?3",
	"SELECT " REV_COLS " FROM token_revocations WHERE sub = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
};

int vex_sqlite_revocations_list(struct vex_sqlite *s, const char *sub, const char *before_id, int limit,
				struct vex_token_revocation_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_page(s, list_sql, sub, before_id, limit, &rev_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_token_revocation_list){ items, n };
	return rc;
}

int vex_sqlite_revocations_since(struct vex_sqlite *s, int64_t since_us, int max,
				 struct vex_token_revocation_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_since(s, "SELECT " REV_COLS " FROM token_revocations WHERE created_at >= ?1"
				  " ORDER BY created_at LIMIT ?2", since_us, max, &rev_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_token_revocation_list){ items, n };
	return rc;
}
