/* store_rows.c - the one row collector (a SELECT's rows into an array of items, for every listing; pages by owner) and the one-row stamp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

int vex_sqlite_collect(sqlite3_stmt *st, const struct vex_rows *rows, size_t max, const void *arg, void **ret_items,
		       size_t *ret_n)
{
	struct vex_buf b; /* the items, back to back */
	size_t n = 0, i;
	void *item;
	int rc;

	vex_buf_init(&b, max && max <= SIZE_MAX / 2 / rows->size ? max * rows->size : SIZE_MAX);
	while ((rc = vex_sqlite_step(st)) == SQLITE_ROW) {
		if (max && n >= max)
			break;
		rc = vex_buf_reserve(&b, rows->size);
		if (rc)
			goto out;
		item = b.p + b.len;
		memset(item, 0, rows->size);
		rc = rows->read(st, item);
		if (rc == 0 && rows->keep && !rows->keep(item, arg)) {
			if (rows->release)
				rows->release(item);
			continue;
		}
		b.len += rows->size;
		n++;
		if (rc) /* the partial item is released with the others */
			goto out;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : vex_sqlite_errcode(rc);
	if (rc == 0) {
		/* an empty list owns nothing: callers may skip the release */
		*ret_items = n ? b.p : NULL;
		*ret_n = n;
		if (n)
			b.p = NULL;
	}
out:
	vex_sqlite_done(st);
	for (i = 0; rc && rows->release && i < n; i++)
		rows->release(b.p + i * rows->size);
	vex_buf_release(&b);
	return rc;
}

int vex_sqlite_page(struct vex_sqlite *s, const char *const sql[4], const char *owner, const char *before_id, int limit,
		    const struct vex_rows *rows, void **ret_items, size_t *ret_n)
{
	sqlite3_stmt *st;
	int rc;

	if (limit < 1 || limit > 1000)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, sql[(owner ? 1 : 0) | (before_id ? 2 : 0)], &st);
	if (rc)
		return rc;
	if ((owner ? vex_bind_text(st, 1, owner) : SQLITE_OK) != SQLITE_OK ||
	    (before_id ? vex_bind_text(st, 2, before_id) : SQLITE_OK) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, limit) != SQLITE_OK) {
		vex_sqlite_done(st);
		return VEX_ENOMEM;
	}
	return vex_sqlite_collect(st, rows, (size_t)limit, NULL, ret_items, ret_n);
}

int vex_sqlite_since(struct vex_sqlite *s, const char *sql, int64_t since_us, int max, const struct vex_rows *rows,
		     void **ret_items, size_t *ret_n)
{
	sqlite3_stmt *st;
	int rc;

	if (max < 1 || max > 1000)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	if (sqlite3_bind_int64(st, 1, since_us) != SQLITE_OK || sqlite3_bind_int(st, 2, max) != SQLITE_OK) {
		vex_sqlite_done(st);
		return VEX_ENOMEM;
	}
	return vex_sqlite_collect(st, rows, (size_t)max, NULL, ret_items, ret_n);
}

int vex_sqlite_stamp_row(struct vex_sqlite *s, const char *sql, const char *id, const char *owner, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, sql, &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, now_us);
	rc = vex_sqlite_write(s, st, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

int vex_sqlite_one(sqlite3_stmt *st, const struct vex_rows *rows, void *ret)
{
	int rc = vex_sqlite_step(st);

	if (rc == SQLITE_ROW)
		rc = rows->read(st, ret);
	else if (rc == SQLITE_DONE)
		rc = VEX_ENOTFOUND;
	else
		rc = vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	return rc;
}
