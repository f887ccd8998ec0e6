/* store_maint.c - SQLite's housekeeping as PostgreSQL answers it: the server vacuums and checkpoints by itself, so
 * these tell the callers (runner/retention.c, runner/checkpointer.c) there is nothing for them to do. */
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"

#define VACUUM_PAGES_MAX 100000 /* as core/store/sqlite/store_retention.c */

/*
 * The server's autovacuum makes dead rows' room reusable, as SQLite's incremental mode does after
 * vex_store_vacuum_step: 2 ("incremental") while it is on, so the runner does not log that the database cannot
 * give room back; 0 ("none") when the server runs with autovacuum = off, which the runner does log. VEX_EIO when
 * the setting cannot be read.
 */
int vex_pg_auto_vacuum(struct vex_pg *p)
{
	PGresult *r = NULL;
	int mode = VEX_EIO;

	if (!p)
		return VEX_EINVAL;
	if (vex_pg_exec(p, "SELECT current_setting('autovacuum')", 0, NULL, &r) == 0 && PQntuples(r) == 1)
		mode = strcmp(PQgetvalue(r, 0, 0), "on") == 0 ? 2 : 0;
	PQclear(r);
	return mode;
}

/* The same argument checks as SQLite's, then nothing freed: autovacuum's work, not a client's. */
int vex_pg_vacuum_step(struct vex_pg *p, int max_pages, int keep_pages, int64_t *ret_freed)
{
	if (!p || max_pages < 1 || max_pages > VACUUM_PAGES_MAX || keep_pages < 0)
		return VEX_EINVAL;
	if (ret_freed)
		*ret_freed = 0;
	return 0;
}

/* The server's checkpointer runs checkpoints: a client's has nothing to copy (no pages, none done). */
int vex_pg_checkpoint(struct vex_pg *p, int *ret_pages, int *ret_done)
{
	(void)p;
	if (ret_pages)
		*ret_pages = 0;
	if (ret_done)
		*ret_done = 0;
	return 0;
}

/* No commit leaves a WAL for the client to checkpoint: "due" is never called. */
void vex_pg_checkpoint_elsewhere(struct vex_pg *p, void (*due)(void *arg), void *arg)
{
	(void)p;
	(void)due;
	(void)arg;
}
