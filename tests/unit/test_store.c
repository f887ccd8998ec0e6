/* test_store.c - opening the store: pragmas, migrations (idempotent, concurrent), failures (heartbeats: test_store_runners.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCHEMA_VERSION 14 /* the number of migrations in core/store/sqlite/migrations.c */

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"


static char dir[64];
static char path[128];

static void rm_db(const char *p)
{
	char side[160];

	unlink(p);
	snprintf(side, sizeof(side), "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", p);
	unlink(side);
	snprintf(side, sizeof(side), "%s-wlock", p);
	unlink(side);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-store-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/vex.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char side[96];

	(void)state;
	rm_db(path);
	rmdir(dir);
	/* test_open_directory opens the directory itself as a database: its lock file lands beside it. */
	snprintf(side, sizeof(side), "%s-wlock", dir);
	unlink(side);
	return 0;
}

/* One value from a raw connection, to check what the store did behind its interface. */
static void raw_text(const char *sql, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_open_fresh(void **state)
{
	struct vex_store *s = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(vex_store_open(path, 2, 1000, &s), 0);
	assert_non_null(s);
	assert_int_equal(vex_store_schema_version(s), SCHEMA_VERSION);
	assert_int_equal(vex_store_ping(s), 0);
	raw_text("PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	raw_text("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table'"
		 " ORDER BY name)",
		 buf, sizeof(buf));
	assert_string_equal(buf, "agents,api_keys,claim_pauses,event_cursors,job_events,job_minute_stats,job_tally,jobs,"
			    "runners,schedule_fires,token_revocations,tools,webhook_attempts,webhook_deliveries,webhooks");
	raw_text("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('jobs_owner_id',"
		 "'jobs_owner_status_id','jobs_claim','jobs_agent_id','jobs_lease','jobs_idem','agents_owner_id',"
		 "'agents_scheduled','jobs_tool_id','api_keys_owner_id')",
		 buf, sizeof(buf));
	assert_string_equal(buf, "10");
	vex_store_free(s);
	vex_store_free(NULL);
}

static void test_open_twice_idempotent(void **state)
{
	struct vex_store *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(vex_store_open(path, 1, 1000, &a), 0);
	assert_int_equal(vex_store_runner_beat(a, "r1", 42, 1000), 0);
	/* A second connection while the first is open, then a reopen: data and version survive. */
	assert_int_equal(vex_store_open(path, 0, 1000, &b), 0);
	assert_int_equal(vex_store_schema_version(b), SCHEMA_VERSION);
	vex_store_free(a);
	vex_store_free(b);
	assert_int_equal(vex_store_open(path, 2, 1000, &a), 0);
	assert_int_equal(vex_store_schema_version(a), SCHEMA_VERSION);
	{
		int64_t t = 0;

		assert_int_equal(vex_store_runner_last_beat(a, &t), 0);
		assert_true(t == 1000);
	}
	vex_store_free(a);
}

/* Several processes opening one new file at the same moment: each must see a complete schema. */
static void test_concurrent_first_open(void **state)
{
	enum { N = 6 };
	pid_t pids[N];
	int gate[2], i, status;

	(void)state;
	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_store *s = NULL;
			char c;
			int ok;

			close(gate[1]);
			/* Wait until the parent closes the pipe: all children start together. */
			if (read(gate[0], &c, 1) < 0)
				_exit(3);
			ok = vex_store_open(path, 2, 5000, &s) == 0 && vex_store_schema_version(s) == SCHEMA_VERSION &&
			     vex_store_runner_beat(s, "r", getpid(), 1) == 0;
			vex_store_free(s);
			_exit(ok ? 0 : 1);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

static void test_open_bad_arguments(void **state)
{
	struct vex_store *s = NULL;

	(void)state;
	assert_int_equal(vex_store_open(path, 3, 1000, &s), VEX_EINVAL);
	assert_int_equal(vex_store_open(path, -1, 1000, &s), VEX_EINVAL);
	assert_int_equal(vex_store_open("", 2, 1000, &s), VEX_EINVAL);
	assert_int_equal(vex_store_open(NULL, 2, 1000, &s), VEX_EINVAL);
	assert_null(s);
}

static void test_open_directory(void **state)
{
	struct vex_store *s = NULL;
	char missing[160];

	(void)state;
	assert_int_equal(vex_store_open(dir, 2, 100, &s), VEX_EIO);
	assert_null(s);
	snprintf(missing, sizeof(missing), "%s/no/such/dir/vex.db", dir);
	assert_int_equal(vex_store_open(missing, 2, 100, &s), VEX_EIO);
	assert_null(s);
}

static void test_open_garbage(void **state)
{
	struct vex_store *s = NULL;
	FILE *f;
	int i;

	(void)state;
	f = fopen(path, "wb");
	assert_non_null(f);
	for (i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	assert_int_equal(vex_store_open(path, 2, 100, &s), VEX_EIO);
	assert_null(s);
}

/* A database file the process may not write: refused at open, not at the first write. Root ignores
 * file modes, so the check runs in a child that drops to "nobody" when started as root. */
static void test_open_read_only(void **state)
{
	struct vex_store *s = NULL;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(vex_store_open(path, 2, 100, &s), 0);
	vex_store_free(s);
	s = NULL;
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		_exit(vex_store_open(path, 2, 100, &s) == VEX_EIO && s == NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	chmod(path, 0644);
	chmod(dir, 0700);
}

static void test_newer_schema_refused(void **state)
{
	struct vex_store *s = NULL;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(vex_store_open(path, 2, 100, &s), 0);
	vex_store_free(s);
	s = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(vex_store_open(path, 2, 100, &s), VEX_EINVAL);
	assert_null(s);
}

/* A half-applied upgrade cannot exist: a locked database makes the migration wait, then fail whole. */
static void test_migration_busy(void **state)
{
	struct vex_store *s = NULL;
	sqlite3 *db = NULL;
	char buf[64];

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;"
				      " CREATE TABLE other(x)", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(vex_store_open(path, 2, 50, &s), VEX_EBUSY);
	assert_null(s);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	raw_text("PRAGMA user_version", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(vex_store_open(path, 2, 50, &s), 0);
	assert_int_equal(vex_store_schema_version(s), SCHEMA_VERSION);
	vex_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_twice_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_busy, setup, teardown),
	};

	/* Expected failures log at error level; keep the test output readable. */
	vex_log_init("test_store", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
