/* store_runners.c - runner heartbeats: each runner's last beat, and its row removed when it stops. */
#include "core/store/store.h"

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

int vex_store_runner_beat(struct vex_store *s, const char *runner_id, int pid, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc;

	if (!runner_id || !*runner_id)
		return VEX_EINVAL;
	rc = vex_store_stmt(s,
			    "INSERT INTO runners(id, pid, beat_at) VALUES (?1, ?2, ?3)"
			    " ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, beat_at = excluded.beat_at",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, runner_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, pid);
	sqlite3_bind_int64(st, 3, now_us);
	return vex_store_write(s, st, NULL);
}

int vex_store_runner_last_beat(struct vex_store *s, int64_t *ret_us)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_store_stmt(s, "SELECT MAX(beat_at) FROM runners", &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*ret_us = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = VEX_ENOTFOUND;
	} else {
		rc = vex_store_errcode(rc);
	}
	vex_store_done(st);
	return rc;
}

int vex_store_runner_gone(struct vex_store *s, const char *runner_id)
{
	sqlite3_stmt *st;
	int rc;

	if (!runner_id)
		return VEX_EINVAL;
	rc = vex_store_stmt(s, "DELETE FROM runners WHERE id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, runner_id, -1, SQLITE_TRANSIENT);
	return vex_store_write(s, st, NULL);
}
