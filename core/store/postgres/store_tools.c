/* store_tools.c - the tool catalog on PostgreSQL: command and MCP tools as the runner published them, as
 * core/store/sqlite/store_tools.c (the same limits, order, filter and replace-on-publish). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

#define TOOL_COLS "name, short_name, server, source, description, input_schema, updated_at, grant_json"

/* SQLite's limits (core/store/sqlite/store_tools.c, core/store/store.h): a confused publisher cannot fill the
 * database, and both backends refuse the same publications. */
#define ROWS_MAX 10000             /* rows in one replace, rows a listing returns */
#define ROWS_MAX_TEXT "10000"
#define NAME_MAX_BYTES 256         /* a full name: server (64) + "." + tool (128), with room */
#define CANDIDATES_MAX 16          /* rows an ambiguous short name reports */
#define CANDIDATES_MAX_TEXT "16"

/* A copy of the text at "row", "col" of "r"; NULL for SQL NULL, and NULL with *fail set when out of memory. */
static char *col_strdup(const PGresult *r, int row, int col, int *fail)
{
	char *d;

	if (PQgetisnull(r, row, col))
		return NULL;
	d = strdup(PQgetvalue(r, row, col));
	if (!d)
		*fail = 1;
	return d;
}

/* Row "row" of "r" (columns in TOOL_COLS order) into "t". */
static int row_from_result(const PGresult *r, int row, struct vex_tool_row *t)
{
	int fail = 0;

	memset(t, 0, sizeof(*t));
	t->name = col_strdup(r, row, 0, &fail);
	t->short_name = col_strdup(r, row, 1, &fail);
	t->server = col_strdup(r, row, 2, &fail);
	t->source = col_strdup(r, row, 3, &fail);
	t->description = col_strdup(r, row, 4, &fail);
	t->input_schema = col_strdup(r, row, 5, &fail);
	t->updated_at = vex_pg_get_i64(r, row, 6);
	t->grant = col_strdup(r, row, 7, &fail);
	if (!fail && !t->description)
		fail = !(t->description = strdup(""));
	if (fail || !t->name || !t->short_name || !t->source || !t->input_schema) {
		vex_tool_row_release(t);
		return VEX_ENOMEM;
	}
	return 0;
}

/* The rows of "r" in order, at most "cap" of those "keep" accepts (all when NULL), into *ret. An empty list owns
 * nothing, as SQLite's: callers may skip the release. */
static int collect(const PGresult *r, size_t cap, vex_tool_filter keep, const void *arg, struct vex_tool_rows *ret)
{
	struct vex_tool_rows l = { NULL, 0 };
	size_t rows = (size_t)PQntuples(r), i;
	int rc = 0;

	if (rows > 0 && cap > 0) {
		l.items = calloc(rows < cap ? rows : cap, sizeof(*l.items));
		if (!l.items) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < rows && l.n < cap; i++) {
		rc = row_from_result(r, (int)i, &l.items[l.n]);
		if (rc)
			goto out;
		if (keep && !keep(&l.items[l.n], arg))
			vex_tool_row_release(&l.items[l.n]);
		else
			l.n++;
	}
	if (l.n == 0) {
		free(l.items);
		l.items = NULL;
	}
	*ret = l;
	l = (struct vex_tool_rows){ NULL, 0 };
out:
	vex_tool_rows_release(&l);
	return rc;
}

static int insert_row(struct vex_pg *p, const struct vex_tool_row *r, int64_t now_us)
{
	char t[24];
	const char *v[8] = { r->name, r->short_name, r->server, r->source, r->description ? r->description : "",
			     r->input_schema, vex_pg_i64(t, now_us), r->grant };

	return vex_pg_exec(p, "INSERT INTO tools(" TOOL_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, v, NULL);
}

/* End the failed transaction of "p", if its connection still has one (a lost connection took it along). */
static void rollback(struct vex_pg *p)
{
	if (p->c && PQtransactionStatus(p->c) != PQTRANS_IDLE)
		PQclear(PQexec(p->c, "ROLLBACK"));
}

int vex_pg_tools_replace(struct vex_pg *p, const char *source, const char *server, const struct vex_tool_rows *rows,
			 int64_t now_us)
{
	const char *v[2] = { source, server };
	size_t i;
	int rc;

	if (!p || !source || !rows || (rows->n && !rows->items) || rows->n > ROWS_MAX)
		return VEX_EINVAL;
	if (strcmp(source, "command") == 0 ? server != NULL : strcmp(source, "mcp") != 0 || !server || !*server)
		return VEX_EINVAL;
	for (i = 0; i < rows->n; i++)
		if (!vex_tool_row_valid(&rows->items[i], source, server))
			return VEX_EINVAL;
	rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);
	if (rc)
		return rc;
	/* Publishers one at a time, as SQLite's BEGIN IMMEDIATE makes them: two runners publishing the same
	 * source together would otherwise each delete what it sees and collide on the other's new rows. The
	 * mode conflicts with itself and with writers, never with readers. */
	rc = vex_pg_exec(p, "LOCK TABLE tools IN SHARE ROW EXCLUSIVE MODE", 0, NULL, NULL);
	if (rc == 0)
		rc = vex_pg_exec(p,
				 server ? "DELETE FROM tools WHERE source = $1 AND server = $2"
				       : "DELETE FROM tools WHERE source = $1",
				 server ? 2 : 1, v, NULL);
	for (i = 0; rc == 0 && i < rows->n; i++)
		rc = insert_row(p, &rows->items[i], now_us);
	if (rc == 0)
		rc = vex_pg_exec(p, "COMMIT", 0, NULL, NULL);
	if (rc)
		rollback(p);
	return rc;
}

int vex_pg_tools_keep_servers(struct vex_pg *p, const char *const *keep, size_t n)
{
	char *text = NULL;
	const char *v[1];
	int rc;

	if (!p)
		return VEX_EINVAL;
	rc = vex_tool_servers_json(keep, n, &text);
	if (rc)
		return rc;
	v[0] = text;
	/* The names as one JSON array parameter, as SQLite's json_each: no statement text built from them. */
	rc = vex_pg_exec(p,
			 "DELETE FROM tools WHERE source = 'mcp'"
			 " AND server NOT IN (SELECT json_array_elements_text($1::json))",
			 1, v, NULL);
	free(text);
	return rc;
}

int vex_pg_tools_list(struct vex_pg *p, struct vex_tool_rows *ret)
{
	PGresult *r = NULL;
	int rc;

	if (!p || !ret)
		return VEX_EINVAL;
	/* By name in bytes, as SQLite orders it: the column's collation is "C" (migrations.c). */
	rc = vex_pg_exec(p, "SELECT " TOOL_COLS " FROM tools ORDER BY name LIMIT " ROWS_MAX_TEXT, 0, NULL, &r);
	if (rc == 0)
		rc = collect(r, ROWS_MAX, NULL, NULL, ret);
	PQclear(r);
	return rc;
}

int vex_pg_tool_resolve(struct vex_pg *p, const char *name, vex_tool_filter keep, const void *arg,
			struct vex_tool_rows *ret)
{
	struct vex_tool_rows l = { NULL, 0 };
	const char *v[1] = { name };
	PGresult *r = NULL;
	int rc;

	if (!p || !ret || !name)
		return VEX_EINVAL;
	if (!*name || strlen(name) > NAME_MAX_BYTES)
		return VEX_ENOTFOUND;
	rc = vex_pg_exec(p, "SELECT " TOOL_COLS " FROM tools WHERE name = $1", 1, v, &r);
	if (rc == 0)
		rc = collect(r, 1, keep, arg, &l);
	PQclear(r);
	r = NULL;
	/* With a filter every match is read: the candidates are the first 16 it keeps. */
	if (rc == 0 && l.n == 0)
		rc = vex_pg_exec(p,
				 keep ? "SELECT " TOOL_COLS " FROM tools WHERE short_name = $1 ORDER BY name LIMIT " ROWS_MAX_TEXT
				      : "SELECT " TOOL_COLS " FROM tools WHERE short_name = $1 ORDER BY name LIMIT "
					CANDIDATES_MAX_TEXT,
				 1, v, &r);
	if (rc == 0 && r)
		rc = collect(r, CANDIDATES_MAX, keep, arg, &l);
	PQclear(r);
	/* Text that is not UTF-8 cannot be in the database (vex_pg_exec's VEX_EINVAL): no such tool, as SQLite
	 * finds none. */
	if (rc == VEX_EINVAL || (rc == 0 && l.n == 0))
		rc = VEX_ENOTFOUND;
	if (rc) {
		vex_tool_rows_release(&l);
		return rc;
	}
	*ret = l;
	return l.n == 1 ? 0 : VEX_ECONFLICT;
}
