/* store_revocations.c - token revocations on PostgreSQL: insert, the per-request check, listings, as
 * core/store/sqlite/store_revocations.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define REV_COLS "id, jti, sub, issued_before, reason, created_by, created_at"

static int rev_row(const PGresult *r, int row, void *item)
{
	struct vex_token_revocation *t = item;

	vex_pg_copy(r, row, 0, t->id, sizeof(t->id));
	vex_pg_copy(r, row, 1, t->jti, sizeof(t->jti));
	vex_pg_copy(r, row, 2, t->sub, sizeof(t->sub));
	t->issued_before_s = vex_pg_get_i64(r, row, 3);
	vex_pg_copy(r, row, 4, t->reason, sizeof(t->reason));
	vex_pg_copy(r, row, 5, t->created_by, sizeof(t->created_by));
	t->created_at = vex_pg_get_i64(r, row, 6);
	return 0;
}

static const struct vex_pg_rows rev_rows = { sizeof(struct vex_token_revocation), rev_row, NULL };

int vex_pg_revocation_insert(struct vex_pg *p, const struct vex_token_revocation *r)
{
	char a[24], b[24];
	const char *v[7];

	if (!r || !r->id[0] || !r->created_by[0] || (r->jti[0] != '\0') == (r->sub[0] != '\0'))
		return VEX_EINVAL;
	v[0] = r->id;
	v[1] = r->jti[0] ? r->jti : NULL;
	v[2] = r->sub[0] ? r->sub : NULL;
	v[3] = r->sub[0] ? vex_pg_i64(a, r->issued_before_s) : NULL;
	v[4] = r->reason[0] ? r->reason : NULL;
	v[5] = r->created_by;
	v[6] = vex_pg_i64(b, r->created_at);
	return vex_pg_exec(p,
			   "INSERT INTO token_revocations(id, jti, sub, issued_before, reason, created_by, created_at)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7)",
			   7, v, NULL);
}

int vex_pg_token_revoked(struct vex_pg *p, const char *jti, const char *sub, int64_t iat_s, int *ret_revoked)
{
	PGresult *r = NULL;
	char t[24];
	const char *v[3];
	int rc;

	if (!sub)
		return VEX_EINVAL;
	v[0] = jti && *jti ? jti : NULL;
	v[1] = sub;
	v[2] = vex_pg_i64(t, iat_s);
	/* Two arms, each on its own index: the jti's unique index, then (sub, issued_before). */
	rc = vex_pg_exec(p,
			 "SELECT EXISTS (SELECT 1 FROM token_revocations WHERE jti = $1)"
			 " OR EXISTS (SELECT 1 FROM token_revocations WHERE sub = $2 AND issued_before > $3)",
			 3, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*ret_revoked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	else
		rc = VEX_ERROR;
	PQclear(r);
	return rc;
}

/* One SQL text per shape (vex_pg_page): by sub or not, before an id or not. */
static const char *const list_sql[4] = {
	"SELECT " REV_COLS " FROM token_revocations ORDER BY id DESC LIMIT $1",
	"SELECT " REV_COLS " FROM token_revocations WHERE sub = $1 ORDER BY id DESC LIMIT $2",
	"SELECT " REV_COLS " FROM token_revocations WHERE id < $1 ORDER BY id DESC LIMIT $2",
	"SELECT " REV_COLS " FROM token_revocations WHERE sub = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
};

int vex_pg_revocations_list(struct vex_pg *p, const char *sub, const char *before_id, int limit,
			    struct vex_token_revocation_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_pg_page(p, list_sql, sub, before_id, limit, &rev_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_token_revocation_list){ items, n };
	return rc;
}

int vex_pg_revocations_since(struct vex_pg *p, int64_t since_us, int max, struct vex_token_revocation_list *ret)
{
	void *items;
	size_t n;
	/* Ties in id order: SQLite gives them in insertion order, which uuid7 ids follow; PostgreSQL would give
	 * them in any. */
	int rc = vex_pg_since(p, "SELECT " REV_COLS " FROM token_revocations WHERE created_at >= $1"
			      " ORDER BY created_at, id LIMIT $2", since_us, max, &rev_rows, &items, &n);

	if (rc == 0)
		*ret = (struct vex_token_revocation_list){ items, n };
	return rc;
}
