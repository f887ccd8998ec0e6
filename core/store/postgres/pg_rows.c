/* pg_rows.c - PostgreSQL's row collector, pages by owner, rows since a time and the one-row stamp, as
 * core/store/sqlite/store_rows.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"

void vex_pg_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	/* SQL NULL reads as "" (libpq's value for it), as vex_col_copy does. */
	snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

int vex_pg_collect(const PGresult *r, const struct vex_pg_rows *rows, size_t max, void **ret_items, size_t *ret_n)
{
	size_t n = (size_t)PQntuples(r), i = 0;
	char *items = NULL;
	int rc = 0;

	if (max && n > max)
		n = max;
	if (n) {
		items = calloc(n, rows->size);
		if (!items) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		rc = rows->read(r, (int)i, items + i * rows->size);
		if (rc) {
			i++; /* the partial item is released with the others */
			goto out;
		}
	}
	/* an empty list owns nothing: callers may skip the release */
	*ret_items = items;
	*ret_n = n;
	items = NULL;
out:
	while (items && rows->release && i > 0)
		rows->release(items + --i * rows->size);
	free(items);
	return rc;
}

/* Run "sql" with "vals" and collect at most "max" rows through "rows". */
static int query_rows(struct vex_pg *p, const char *sql, int n, const char *const *vals, size_t max,
		      const struct vex_pg_rows *rows, void **ret_items, size_t *ret_n)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, sql, n, vals, &r);

	if (rc)
		return rc;
	rc = vex_pg_collect(r, rows, max, ret_items, ret_n);
	PQclear(r);
	return rc;
}

int vex_pg_page(struct vex_pg *p, const char *const sql[4], const char *owner, const char *before_id, int limit,
		const struct vex_pg_rows *rows, void **ret_items, size_t *ret_n)
{
	const char *vals[3];
	char lim[24];
	int n = 0;

	if (limit < 1 || limit > 1000)
		return VEX_EINVAL;
	/* Only the parameters a shape names: PostgreSQL cannot type a parameter the text never uses. */
	if (owner)
		vals[n++] = owner;
	if (before_id)
		vals[n++] = before_id;
	vals[n++] = vex_pg_i64(lim, limit);
	return query_rows(p, sql[(owner ? 1 : 0) | (before_id ? 2 : 0)], n, vals, (size_t)limit, rows, ret_items,
			  ret_n);
}

int vex_pg_since(struct vex_pg *p, const char *sql, int64_t since_us, int max, const struct vex_pg_rows *rows,
		 void **ret_items, size_t *ret_n)
{
	char a[24], b[24];
	const char *vals[2];

	if (max < 1 || max > 1000)
		return VEX_EINVAL;
	vals[0] = vex_pg_i64(a, since_us);
	vals[1] = vex_pg_i64(b, max);
	return query_rows(p, sql, 2, vals, (size_t)max, rows, ret_items, ret_n);
}

int vex_pg_changes(struct vex_pg *p, const char *sql, int n, const char *const *vals, int64_t *ret_changes)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, sql, n, vals, &r);

	if (rc)
		return rc;
	/* "" for a statement that counts nothing: 0. */
	*ret_changes = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int vex_pg_stamp_row(struct vex_pg *p, const char *sql, const char *id, const char *owner, int64_t now_us)
{
	char t[24];
	const char *vals[3];
	int64_t changes = 0;
	int rc;

	if (!id)
		return VEX_EINVAL;
	vals[0] = id;
	vals[1] = owner;
	vals[2] = vex_pg_i64(t, now_us);
	rc = vex_pg_changes(p, sql, 3, vals, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

char *vex_pg_strdup(const PGresult *r, int row, int col, int *fail)
{
	char *s;

	if (PQgetisnull(r, row, col))
		return NULL;
	s = strdup(PQgetvalue(r, row, col));
	if (!s)
		*fail = 1;
	return s;
}

void vex_pg_rollback(struct vex_pg *p)
{
	/* Nothing to end when no transaction is open (or the connection is gone: the server ended it). */
	if (p->c && PQtransactionStatus(p->c) != PQTRANS_IDLE)
		PQclear(PQexec(p->c, "ROLLBACK"));
}

int vex_pg_begin_jobs(struct vex_pg *p)
{
	int rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);

	if (rc == 0)
		rc = vex_pg_exec(p, "SELECT pg_advisory_xact_lock(" VEX_PG_JOBS_LOCK ")", 0, NULL, NULL);
	if (rc)
		vex_pg_rollback(p);
	return rc;
}

int vex_pg_commit(struct vex_pg *p)
{
	int rc = vex_pg_exec(p, "COMMIT", 0, NULL, NULL);

	if (rc)
		vex_pg_rollback(p);
	return rc;
}
