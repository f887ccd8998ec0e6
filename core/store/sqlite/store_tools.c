/* store_tools.c - the tool catalog in SQLite: command and MCP tools as the runner published them. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"
#include "core/store/sqlite/store_internal.h"

#define TOOL_COLS "name, short_name, server, source, description, input_schema, updated_at, grant_json"

/* What one publication may hold: the runner caps names and schemas itself; these keep a confused
 * publisher from filling the database. */
#define ROWS_MAX 10000             /* rows in one replace, rows a listing returns */
#define NAME_MAX_BYTES 256         /* a full name: server (64) + "." + tool (128), with room */
#define CANDIDATES_MAX 16          /* rows an ambiguous short name reports */

void vex_tool_row_release(struct vex_tool_row *r)
{
	free(r->name);
	free(r->short_name);
	free(r->server);
	free(r->source);
	free(r->description);
	free(r->input_schema);
	free(r->grant);
	memset(r, 0, sizeof(*r));
}

void vex_tool_rows_release(struct vex_tool_rows *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		vex_tool_row_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* The current row (columns in TOOL_COLS order) into "r". */
static int row_from_stmt(sqlite3_stmt *st, struct vex_tool_row *r)
{
	int fail = 0;

	memset(r, 0, sizeof(*r));
	r->name = vex_col_strdup(st, 0, &fail);
	r->short_name = vex_col_strdup(st, 1, &fail);
	r->server = vex_col_strdup(st, 2, &fail);
	r->source = vex_col_strdup(st, 3, &fail);
	r->description = vex_col_strdup(st, 4, &fail);
	r->input_schema = vex_col_strdup(st, 5, &fail);
	r->updated_at = sqlite3_column_int64(st, 6);
	r->grant = vex_col_strdup(st, 7, &fail);
	if (!fail && !r->description)
		fail = !(r->description = strdup(""));
	if (fail || !r->name || !r->short_name || !r->source || !r->input_schema) {
		vex_tool_row_release(r);
		return VEX_ENOMEM;
	}
	return 0;
}

static int tool_row(sqlite3_stmt *st, void *item)
{
	return row_from_stmt(st, item);
}

static void tool_row_free(void *item)
{
	vex_tool_row_release(item);
}

struct tool_keep {
	vex_tool_filter fn;
	const void *arg;
};

static int tool_kept(const void *item, const void *arg)
{
	const struct tool_keep *k = arg;

	return k->fn(item, k->arg);
}

static const struct vex_rows tool_rows = { sizeof(struct vex_tool_row), tool_row, tool_row_free, NULL };
static const struct vex_rows tool_rows_kept = { sizeof(struct vex_tool_row), tool_row, tool_row_free, tool_kept };

/* Step "st" to the end (at most "cap" rows that "keep" accepts; all when NULL) collecting rows
 * into *ret; hands "st" back. */
static int collect(sqlite3_stmt *st, size_t cap, vex_tool_filter keep, const void *arg, struct vex_tool_rows *ret)
{
	struct tool_keep k = { keep, arg };
	void *items;
	size_t n;
	int rc = vex_sqlite_collect(st, keep ? &tool_rows_kept : &tool_rows, cap, &k, &items, &n);

	if (rc == 0)
		*ret = (struct vex_tool_rows){ items, n };
	return rc;
}

static int insert_row(struct vex_sqlite *s, const struct vex_tool_row *r, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s,
			     "INSERT INTO tools(" TOOL_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st);
	if (rc)
		return rc;
	if ((vex_bind_text(st, 1, r->name) | vex_bind_text(st, 2, r->short_name) | vex_bind_text(st, 3, r->server) |
	     vex_bind_text(st, 4, r->source) | vex_bind_text(st, 5, r->description ? r->description : "") |
	     vex_bind_text(st, 6, r->input_schema) | sqlite3_bind_int64(st, 7, now_us) |
	     vex_bind_text(st, 8, r->grant)) != SQLITE_OK) {
		vex_sqlite_done(st);
		return VEX_ENOMEM;
	}
	return vex_sqlite_exec_stmt(st);
}

int vex_sqlite_tools_replace(struct vex_sqlite *s, const char *source, const char *server,
			     const struct vex_tool_rows *rows, int64_t now_us)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (!s || !source || !rows || (rows->n && !rows->items) || rows->n > ROWS_MAX)
		return VEX_EINVAL;
	if (strcmp(source, "command") == 0 ? server != NULL : strcmp(source, "mcp") != 0 || !server || !*server)
		return VEX_EINVAL;
	for (i = 0; i < rows->n; i++)
		if (!vex_tool_row_valid(&rows->items[i], source, server))
			return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s,
			     server ? "DELETE FROM tools WHERE source = ?1 AND server = ?2"
				   : "DELETE FROM tools WHERE source = ?1",
			    &st);
	if (rc == 0) {
		if ((vex_bind_text(st, 1, source) | (server ? vex_bind_text(st, 2, server) : SQLITE_OK)) != SQLITE_OK) {
			vex_sqlite_done(st);
			rc = VEX_ENOMEM;
		} else {
			rc = vex_sqlite_exec_stmt(st);
		}
	}
	for (i = 0; rc == 0 && i < rows->n; i++)
		rc = insert_row(s, &rows->items[i], now_us);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	return rc;
}

int vex_sqlite_tools_keep_servers(struct vex_sqlite *s, const char *const *keep, size_t n)
{
	sqlite3_stmt *st;
	char *text = NULL;
	int rc;

	if (!s)
		return VEX_EINVAL;
	rc = vex_tool_servers_json(keep, n, &text);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s,
			     "DELETE FROM tools WHERE source = 'mcp'"
			     " AND server NOT IN (SELECT value FROM json_each(?1))",
			     &st);
	if (rc)
		goto out;
	if (vex_bind_text(st, 1, text) != SQLITE_OK) {
		vex_sqlite_done(st);
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = vex_sqlite_write(s, st, NULL);
out:
	free(text);
	return rc;
}

int vex_sqlite_tools_list(struct vex_sqlite *s, struct vex_tool_rows *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !ret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT " TOOL_COLS " FROM tools ORDER BY name LIMIT ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int(st, 1, ROWS_MAX);
	return collect(st, ROWS_MAX, NULL, NULL, ret);
}

int vex_sqlite_tool_resolve(struct vex_sqlite *s, const char *name, vex_tool_filter keep, const void *arg,
			    struct vex_tool_rows *ret)
{
	struct vex_tool_rows l = { NULL, 0 };
	sqlite3_stmt *st;
	int rc;

	if (!s || !ret || !name)
		return VEX_EINVAL;
	if (!*name || strlen(name) > NAME_MAX_BYTES)
		return VEX_ENOTFOUND;
	rc = vex_sqlite_stmt(s, "SELECT " TOOL_COLS " FROM tools WHERE name = ?1", &st);
	if (rc)
		return rc;
	if (vex_bind_text(st, 1, name) != SQLITE_OK) {
		vex_sqlite_done(st);
		return VEX_ENOMEM;
	}
	rc = collect(st, 1, keep, arg, &l);
	if (rc)
		return rc;
	if (l.n == 0) {
		rc = vex_sqlite_stmt(s, "SELECT " TOOL_COLS " FROM tools WHERE short_name = ?1 ORDER BY name LIMIT ?2",
				     &st);
		if (rc)
			return rc;
		if ((vex_bind_text(st, 1, name) | sqlite3_bind_int(st, 2, keep ? ROWS_MAX : CANDIDATES_MAX)) != SQLITE_OK) {
			vex_sqlite_done(st);
			return VEX_ENOMEM;
		}
		rc = collect(st, CANDIDATES_MAX, keep, arg, &l);
		if (rc)
			return rc;
	}
	if (l.n == 0)
		return VEX_ENOTFOUND;
	*ret = l;
	return l.n == 1 ? 0 : VEX_ECONFLICT;
}
