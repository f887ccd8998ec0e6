/* store_pauses.c - paused claiming in SQLite: the claim_pauses rows an admin sets, and what each claim reads. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"
#include "core/store/sqlite/store_internal.h"

static int pause_row(sqlite3_stmt *st, void *item)
{
	struct vex_claim_pause *p = item;
	int fail = 0;

	p->tool = vex_col_strdup(st, 0, &fail);
	p->paused_at = sqlite3_column_int64(st, 1);
	p->paused_by = vex_col_strdup(st, 2, &fail);
	if (!p->tool && !fail)
		p->tool = strdup("");
	return fail || !p->tool ? VEX_ENOMEM : 0;
}

static void pause_free(void *item)
{
	struct vex_claim_pause *p = item;

	free(p->tool);
	free(p->paused_by);
}

static const struct vex_rows pause_rows = { sizeof(struct vex_claim_pause), pause_row, pause_free, NULL };

void vex_claim_pause_list_release(struct vex_claim_pause_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		pause_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int vex_sqlite_claim_pause(struct vex_sqlite *s, const char *tool, const char *by, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc;

	if (vex_pause_tool_check(tool) || !by)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "INSERT OR IGNORE INTO claim_pauses(tool, paused_at, paused_by) VALUES (?1, ?2, ?3)",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, tool);
	sqlite3_bind_int64(st, 2, now_us);
	vex_bind_text(st, 3, by);
	return vex_sqlite_write(s, st, NULL);
}

int vex_sqlite_claim_resume(struct vex_sqlite *s, const char *tool, int *ret_changed)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (vex_pause_tool_check(tool))
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "DELETE FROM claim_pauses WHERE tool = ?1", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, tool);
	rc = vex_sqlite_write(s, st, &changes);
	if (rc == 0 && ret_changed)
		*ret_changed = changes > 0;
	return rc;
}

int vex_sqlite_claim_pauses(struct vex_sqlite *s, struct vex_claim_pause_list *ret)
{
	sqlite3_stmt *st;
	void *items;
	size_t n;
	int rc;

	rc = vex_sqlite_stmt(s, "SELECT tool, paused_at, paused_by FROM claim_pauses ORDER BY tool LIMIT 10000", &st);
	if (rc)
		return rc;
	rc = vex_sqlite_collect(st, &pause_rows, 10000, NULL, &items, &n);
	if (rc == 0)
		*ret = (struct vex_claim_pause_list){ items, n };
	return rc;
}

int vex_sqlite_pause_state(struct vex_sqlite *s, int *ret)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	int rc;

	/* At most two seeks of a table that is empty but for an operator's few rows. */
	rc = vex_sqlite_stmt(s,
			     "SELECT CASE WHEN EXISTS (SELECT 1 FROM claim_pauses WHERE tool = '') THEN 2"
			     " WHEN EXISTS (SELECT 1 FROM claim_pauses WHERE tool > '') THEN 1 ELSE 0 END",
			     &st);
	if (rc == 0)
		rc = vex_sqlite_step_int64(st, &v);
	if (rc == 0)
		*ret = v == 2 ? VEX_PAUSED_ALL : v == 1 ? VEX_PAUSED_TOOLS : 0;
	return rc;
}
