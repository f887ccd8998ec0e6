/* store_explain.c - test-only: EXPLAIN QUERY PLAN of the statements a store connection has prepared. */
#include <string.h>

#include "core/base/err.h"
#include "core/store/store_explain.h"
#include "core/store/sqlite/store_internal.h"

/* The plan lines of "sql" through "fn"; the EXPLAIN statement is finalized before returning. */
static int explain_one(sqlite3 *db, const char *sql, int (*fn)(void *arg, const char *sql, const char *detail),
		       void *arg)
{
	sqlite3_stmt *st = NULL;
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	int rc, step;

	if (!q)
		return VEX_ENOMEM;
	rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = vex_sqlite_errcode(rc);
		goto out;
	}
	rc = 0;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		rc = fn(arg, sql, detail ? detail : "");
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = vex_sqlite_errcode(step);
out:
	sqlite3_finalize(st);
	sqlite3_free(q);
	return rc;
}

int vex_sqlite_explain(struct vex_sqlite *s, int (*fn)(void *arg, const char *sql, const char *detail), void *arg)
{
	int rc = 0;

	if (!s || !fn)
		return VEX_EINVAL;
	/* The cache's slots, not sqlite3_next_stmt: the EXPLAIN statements come and go during the walk. */
	for (size_t i = 0; rc == 0 && i < VEX_STMT_SLOTS; i++) {
		const char *sql = s->slots[i].sql;

		if (!sql || !s->slots[i].stmt)
			continue;
		if (!strncmp(sql, "BEGIN", 5) || !strncmp(sql, "COMMIT", 6) || !strncmp(sql, "ROLLBACK", 8) ||
		    !strncmp(sql, "SAVEPOINT", 9) || !strncmp(sql, "RELEASE", 7) || !strncmp(sql, "PRAGMA", 6))
			continue;
		rc = explain_one(s->db, sql, fn, arg);
	}
	return rc;
}
