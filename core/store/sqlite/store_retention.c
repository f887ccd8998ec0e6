/* store_retention.c - pruning in small batches found through indexes; returning freed pages (incremental vacuum). */
#include "core/store/retention.h"

#include <stdio.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"

#define FINISHED "status IN ('completed','failed','timeout','canceled')"
/* A job completed this long before the first event the fan-out has not reached is safely behind
 * it: writers take their clock just before a commit that waits at most busy_timeout. */
#define FANOUT_MARGIN_US (60 * 1000000LL)
#define VACUUM_PAGES_MAX 100000

/* One integer from a bound single-row SELECT; *ret_found 0 (and *ret untouched) when no row came
 * or the value is NULL. */
static int read_opt_int64(sqlite3_stmt *st, int64_t *ret, int *ret_found)
{
	int rc = sqlite3_step(st);

	*ret_found = 0;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			*ret = sqlite3_column_int64(st, 0);
			*ret_found = 1;
		}
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	return rc;
}

/* The seq below which events may go (exclusive): before the first event at or after "before_us",
 * past the slowest cursor, below the newest. Three seeks; 0 when nothing may go. */
static int events_bound(struct vex_sqlite *s, int64_t before_us, int64_t *ret)
{
	int64_t young = 0, cursor = 0, newest = 0;
	int rc, has_young = 0, found = 0;
	sqlite3_stmt *st;

	rc = vex_sqlite_stmt(s, "SELECT seq FROM job_events WHERE at >= ?1 ORDER BY at LIMIT 1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, before_us);
	rc = read_opt_int64(st, &young, &has_young);
	if (rc == 0)
		rc = vex_sqlite_stmt(s, "SELECT MIN(seq) FROM event_cursors", &st);
	if (rc == 0)
		rc = read_opt_int64(st, &cursor, &found);
	if (rc == 0)
		rc = vex_sqlite_stmt(s, "SELECT MAX(seq) FROM job_events", &st);
	if (rc == 0)
		rc = read_opt_int64(st, &newest, &found);
	if (rc)
		return rc;
	if (!found) {
		*ret = 0; /* no event at all */
		return 0;
	}
	*ret = newest;
	if (has_young && young < *ret)
		*ret = young;
	if (cursor + 1 < *ret)
		*ret = cursor + 1;
	return 0;
}

int vex_sqlite_job_events_prune(struct vex_sqlite *s, int64_t before_us, int limit, int64_t *ret_deleted)
{
	int64_t bound = 0;
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!s || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = events_bound(s, before_us, &bound);
	if (rc == 0 && bound > 0) {
		rc = vex_sqlite_stmt(s,
				     "DELETE FROM job_events WHERE seq IN"
				     " (SELECT seq FROM job_events WHERE seq < ?1 ORDER BY seq LIMIT ?2)",
				     &st);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, bound);
			sqlite3_bind_int(st, 2, limit);
			rc = vex_sqlite_exec_stmt(st);
			changes = sqlite3_changes(s->db);
		}
	}
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}

/* "before_us" moved back, when needed, behind the first event the slowest cursor has not passed. */
static int fanout_cutoff(struct vex_sqlite *s, int64_t before_us, int64_t *ret)
{
	int64_t at = 0;
	int rc, found = 0;
	sqlite3_stmt *st;

	rc = vex_sqlite_stmt(s,
			     "SELECT at FROM job_events WHERE seq > (SELECT COALESCE(MIN(seq), 0) FROM event_cursors)"
			     " ORDER BY seq LIMIT 1",
			     &st);
	if (rc)
		return rc;
	rc = read_opt_int64(st, &at, &found);
	if (rc)
		return rc;
	*ret = found && at - FANOUT_MARGIN_US < before_us ? at - FANOUT_MARGIN_US : before_us;
	return 0;
}

/* Delete job "id" with its deliveries and their attempts (inside the caller's transaction). */
static int delete_job(struct vex_sqlite *s, const char *id)
{
	static const char *const sql[] = {
		"DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE job_id = ?1)",
		"DELETE FROM webhook_deliveries WHERE job_id = ?1",
		/* parenthesised: one element, as clang's -Wstring-concatenation wants it said */
		("DELETE FROM jobs WHERE id = ?1 AND " FINISHED),
	};
	sqlite3_stmt *st;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
		rc = vex_sqlite_stmt(s, sql[i], &st);
		if (rc == 0) {
			vex_bind_text(st, 1, id);
			rc = vex_sqlite_exec_stmt(st);
		}
	}
	return rc;
}

int vex_sqlite_jobs_prune(struct vex_sqlite *s, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1],
			  int *ret_n)
{
	int64_t cutoff = 0;
	sqlite3_stmt *st;
	int rc, n = 0;

	if (!s || limit < 1 || limit > VEX_PRUNE_BATCH_MAX || !ret_ids || !ret_n)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = fanout_cutoff(s, before_us, &cutoff);
	if (rc == 0)
		rc = vex_sqlite_stmt(s,
				     "SELECT id FROM jobs WHERE " FINISHED " AND completed_at < ?1"
				     " ORDER BY completed_at LIMIT ?2",
				     &st);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, limit);
	/* The ids first, then the deletes: the index cursor never walks rows being removed. */
	while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		vex_col_copy(st, 0, ret_ids[n++], VEX_UUID_LEN + 1);
	rc = n == limit || rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	for (int i = 0; rc == 0 && i < n; i++)
		rc = delete_job(s, ret_ids[i]);
out:
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0)
		*ret_n = n;
	return rc;
}

int vex_sqlite_schedule_fires_prune(struct vex_sqlite *s, int64_t before_slot_us, int limit, int64_t *ret_deleted)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!s || limit < 1 || limit > VEX_PRUNE_BATCH_MAX)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "DELETE FROM schedule_fires WHERE rowid IN"
			     " (SELECT rowid FROM schedule_fires WHERE slot < ?1 ORDER BY slot LIMIT ?2)",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, before_slot_us);
	sqlite3_bind_int(st, 2, limit);
	rc = vex_sqlite_write(s, st, &changes);
	if (rc == 0 && ret_deleted)
		*ret_deleted = changes;
	return rc;
}

/* A PRAGMA of one integer through the statement cache. */
static int pragma_int(struct vex_sqlite *s, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, sql, &st);

	return rc ? rc : vex_sqlite_step_int64(st, ret);
}

/* SQLite answers this pragma when it compiles it, from the header as its connection last read it:
 * a read of the header first (the free page count), then a statement prepared for the call. */
int vex_sqlite_auto_vacuum(struct vex_sqlite *s)
{
	sqlite3_stmt *st = NULL;
	int64_t free_pages = 0;
	int rc, mode = VEX_EIO;

	if (!s)
		return VEX_EINVAL;
	if (pragma_int(s, "PRAGMA freelist_count", &free_pages) != 0)
		return VEX_EIO;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA auto_vacuum", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		mode = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return mode;
}

/* PRAGMA incremental_vacuum(n) stepped to its end (it frees a page per step); the count is part of
 * the SQL, so it is prepared for the call, not cached. */
static int incremental_vacuum(struct vex_sqlite *s, int64_t n)
{
	sqlite3_stmt *st = NULL;
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)", (long long)n);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		do
			rc = sqlite3_step(st);
		while (rc == SQLITE_ROW);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : vex_sqlite_errcode(rc);
}

int vex_sqlite_vacuum_step(struct vex_sqlite *s, int max_pages, int keep_pages, int64_t *ret_freed)
{
	int64_t before = 0, after = 0;
	int rc, mode;

	if (!s || max_pages < 1 || max_pages > VACUUM_PAGES_MAX || keep_pages < 0)
		return VEX_EINVAL;
	mode = vex_sqlite_auto_vacuum(s);
	if (mode < 0)
		return mode;
	rc = mode == 2 ? pragma_int(s, "PRAGMA freelist_count", &before) : 0;
	if (rc || mode != 2 || before <= keep_pages) {
		if (rc == 0 && ret_freed)
			*ret_freed = 0;
		return rc;
	}
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = pragma_int(s, "PRAGMA freelist_count", &before); /* again, under the lock */
	if (rc == 0 && before > keep_pages)
		rc = incremental_vacuum(s, before - keep_pages < max_pages ? before - keep_pages : max_pages);
	if (rc == 0)
		rc = pragma_int(s, "PRAGMA freelist_count", &after);
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0 && ret_freed)
		*ret_freed = before > after ? before - after : 0;
	return rc;
}
