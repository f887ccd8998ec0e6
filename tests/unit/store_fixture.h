/* store_fixture.h - unit tests' store: a fresh database in a temporary directory, removed with its side files. */
#ifndef VEX_TEST_STORE_FIXTURE_H
#define VEX_TEST_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/base/ids.h"
#include "core/store/store.h"

struct store_fixture {
	char dir[64];
	char path[128];           /* <dir>/vex.db */
	struct vex_store *store;
};

/* Make the directory (named after "tag") and open the store there (synchronous normal). 0 or -1. */
static inline int store_fixture_open(struct store_fixture *f, const char *tag)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/vex-%s-XXXXXX", tag);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/vex.db", f->dir);
	f->store = NULL;
	return vex_store_open(f->path, 1, 1000, &f->store) == 0 ? 0 : -1;
}

/* Remove the database "path" and its -wal, -shm and -wlock files. */
static inline void store_fixture_unlink(const char *path)
{
	static const char *const sides[] = {"", "-wal", "-shm", "-wlock"};
	char p[256];

	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sides[i]);
		unlink(p);
	}
}

/* SQL that takes a database back from schema 14 to 13: migration 14's tally, its triggers and the 'stats'
 * cursor removed (the counts it dropped are not put back: migration 14 drops them only if they exist). */
#define STORE_UNDO_MIGRATION_14                                                                               \
	"DROP TRIGGER job_tally_insert; DROP TRIGGER job_tally_update; DROP TRIGGER job_tally_delete;"          \
	" DROP TABLE job_tally; DELETE FROM event_cursors WHERE name = 'stats'; PRAGMA user_version = 13;"

/* SQL that takes a database back from schema 13 to 12 (migration 13's stats tables, triggers and runner columns
 * removed), for the tests of migrations 8 to 10 on an older database. */
#define STORE_UNDO_MIGRATION_13                                                                               \
	"DROP TRIGGER IF EXISTS job_stats_insert; DROP TRIGGER IF EXISTS job_stats_status;"                     \
	" DROP TRIGGER IF EXISTS job_stats_finish; DROP TRIGGER IF EXISTS job_status_counts_delete;"           \
	" DROP TABLE IF EXISTS job_status_counts; DROP TABLE job_minute_stats;"                                \
	" ALTER TABLE runners DROP COLUMN host; ALTER TABLE runners DROP COLUMN started_at;"                  \
	" ALTER TABLE runners DROP COLUMN slots; ALTER TABLE runners DROP COLUMN busy; PRAGMA user_version = 12;"

/* Close the store, remove the database, its -wal, -shm and -wlock files and the directory. */
static inline void store_fixture_close(struct store_fixture *f)
{
	vex_store_free(f->store);
	f->store = NULL;
	store_fixture_unlink(f->path);
	rmdir(f->dir);
}

/* One integer from "sql" on a connection of the test's own to the database "path"; -1 when no row came. */
static inline int64_t store_fixture_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* SQLite's plan for "sql" on "db": the detail of each EXPLAIN QUERY PLAN row, each followed by "; ". */
static inline void store_fixture_plan(sqlite3 *db, const char *sql, char *plan, size_t cap)
{
	char q[1024];
	sqlite3_stmt *st = NULL;

	plan[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(plan);

		snprintf(plan + n, cap - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
}

#ifdef STORE_FIXTURE_GLOBALS
/* A test program's store in file-level globals: "store", and its "path" for a connection of the test's own. */
static struct store_fixture fx;
static char path[128];
static struct vex_store *store;

/* cmocka's per-test setup: a fresh store in a directory named after STORE_FIXTURE_GLOBALS. */
static inline int store_setup(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, STORE_FIXTURE_GLOBALS) != 0)
		return -1;
	store = fx.store;
	snprintf(path, sizeof(path), "%s", fx.path);
	return 0;
}

static inline int store_teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}
#endif

/* A new (not stored) tool job of "owner" running "tool" with "input" (JSON), created at "created_at",
 * three attempts and a 1 s timeout, with a fresh id. Fails the test when out of memory. */
static inline struct vex_job *store_fixture_job(const char *owner, const char *tool, const char *input,
						int64_t created_at)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup(tool);
	j->input_json = strdup(input);
	j->max_attempts = 3;
	j->timeout_ms = 1000;
	j->created_at = created_at;
	assert_true(j->tool && j->input_json);
	return j;
}

/* Insert store_fixture_job(owner, tool, input, created_at) into "s"; its id into "id". Fails the
 * test on any error. */
static inline void store_fixture_add_job(struct vex_store *s, const char *owner, const char *tool, const char *input,
					 int64_t created_at, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = store_fixture_job(owner, tool, input, created_at), *got = NULL;
	int created = 0;

	assert_int_equal(vex_store_job_insert(s, j, &got, &created), 0);
	assert_int_equal(created, 1);
	memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

#endif
