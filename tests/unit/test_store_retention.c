/* test_store_retention.c - pruning events, jobs (with deliveries and attempts) and schedule fires in batches found
 * through indexes, at a cost that does not grow with what is kept; incremental vacuum. */
#include "tests/unit/store_deliveries_fixture.h"

#include "core/store/retention.h"
#include "core/store/sqlite/store_internal.h"

#define KEPT 60000 /* rows kept in the work tests: walking them would read hundreds of pages */

static int64_t db_int(const char *sql)
{
	return store_fixture_sql_int(&fx, sql);
}

/* Pages the store's connection asked its page cache for since the last call (hits and misses); 0 on
 * PostgreSQL, whose reads the client cannot count (its plans are checked by test_pg_schema.c). */
static int64_t pages_read(void)
{
	int cur = 0, hi = 0;
	int64_t n = 0;

	if (store_fixture_postgres())
		return 0;
	sqlite3_db_status(vex_sqlite_of(store)->db, SQLITE_DBSTATUS_CACHE_HIT, &cur, &hi, 1);
	n += cur;
	sqlite3_db_status(vex_sqlite_of(store)->db, SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 1);
	n += cur;
	return n;
}

/* "n" events of one job at time "at" (seq after the newest), inserted in SQL, quickly. */
static void seed_events(int n, int64_t at)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO job_events(job_id, owner, rev, type, status, attempts, at)"
		 " SELECT '00000000-0000-7000-8000-000000000000', 'seed', i, 'progress', 'running', 1, %lld FROM c",
		 n, (long long)at);
	store_fixture_sql(&fx, sql);
}

static void set_cursor(int64_t seq)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE event_cursors SET seq = %lld", (long long)seq);
	store_fixture_sql(&fx, sql);
}

/* With KEPT young events, a prune reads a handful of pages and deletes nothing; with old ones
 * below them, a batch reads about what it deletes, then stops at the first young event. */
static void test_events_prune_reads_what_it_deletes(void **state)
{
	int64_t deleted = -1, first;

	(void)state;
	seed_events(5000, now - 7200 * S); /* old */
	seed_events(KEPT, now);            /* kept */
	set_cursor(db_int("SELECT MAX(seq) FROM job_events"));
	first = db_int("SELECT MIN(seq) FROM job_events");

	assert_int_equal(vex_store_job_events_prune(store, now - 3600 * S, 1000, &deleted), 0); /* warm the cache */
	assert_int_equal(deleted, 1000);
	pages_read();
	assert_int_equal(vex_store_job_events_prune(store, now - 3600 * S, 1000, &deleted), 0);
	assert_int_equal(deleted, 1000);
	assert_true(pages_read() < 10 * 1000); /* a few index seeks per row deleted (measured: about 6) */
	assert_int_equal(db_int("SELECT MIN(seq) FROM job_events"), first + 2000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vex_store_job_events_prune(store, now - 3600 * S, 1000, &deleted), 0);
	assert_int_equal(vex_store_job_events_prune(store, now - 3600 * S, 1000, &deleted), 0);
	assert_int_equal(deleted, 0); /* all old ones gone; the young are kept */
	pages_read();
	assert_int_equal(vex_store_job_events_prune(store, now - 3600 * S, 1000, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_true(pages_read() < 40); /* measured: 11; the old prune walked all KEPT rows here */
	assert_int_equal(db_int("SELECT COUNT(*) FROM job_events"), KEPT);
}

/* The slowest cursor and the newest row bound the prune, as before. */
static void test_events_prune_bounds(void **state)
{
	int64_t deleted = -1, first, last;

	(void)state;
	seed_events(100, now - 7200 * S);
	first = db_int("SELECT MIN(seq) FROM job_events");
	last = db_int("SELECT MAX(seq) FROM job_events");
	set_cursor(first + 9);
	assert_int_equal(vex_store_job_events_prune(store, now, 1000, &deleted), 0);
	assert_int_equal(deleted, 10); /* up to the cursor, included */
	set_cursor(last);
	assert_int_equal(vex_store_job_events_prune(store, now, 1000, &deleted), 0);
	assert_int_equal(deleted, 89); /* never the newest */
	assert_int_equal(db_int("SELECT MIN(seq) FROM job_events"), last);
	assert_int_equal(vex_store_job_events_prune(store, now, 0, &deleted), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_prune(store, now, VEX_PRUNE_BATCH_MAX + 1, &deleted), VEX_EINVAL);
}

/* The plans: one seek of job_events_at, rowid ranges, the partial index of finished jobs. */
static void test_plans(void **state)
{
	static const struct {
		const char *sql, *want;
	} cases[] = {
		{ "SELECT seq FROM job_events WHERE at >= ?1 ORDER BY at LIMIT 1", "USING COVERING INDEX job_events_at" },
		{ "DELETE FROM job_events WHERE seq IN (SELECT seq FROM job_events WHERE seq < ?1 ORDER BY seq LIMIT ?2)",
		  "USING INTEGER PRIMARY KEY (rowid<?)" },
		{ "SELECT id FROM jobs WHERE status IN ('completed','failed','timeout','canceled') AND completed_at < ?1"
		  " ORDER BY completed_at LIMIT ?2",
		  "USING INDEX jobs_finished (completed_at<?)" },
		{ "DELETE FROM webhook_deliveries WHERE job_id = ?1", "USING INDEX webhook_deliveries_job (job_id=?)" },
		{ "DELETE FROM schedule_fires WHERE rowid IN (SELECT rowid FROM schedule_fires WHERE slot < ?1"
		  " ORDER BY slot LIMIT ?2)",
		  "USING COVERING INDEX schedule_fires_slot (slot<?)" },
	};
	sqlite3 *db = NULL;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* SQLite's query plans */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char plan[1024];

		store_fixture_plan(db, cases[i].sql, plan, sizeof(plan));
		if (!strstr(plan, cases[i].want))
			fail_msg("%s\n  plan: %s\n  expected %s", cases[i].sql, plan, cases[i].want);
		assert_null(strstr(plan, "SCAN"));
		assert_null(strstr(plan, "TEMP B-TREE"));
	}
	sqlite3_close(db);
}

static int64_t count_of(const char *table, const char *col, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE %s = '%s'", table, col, id); /* "id": a UUID */
	return db_int(sql);
}

/* An attempt recorded on every delivery of job "id". */
static void attempt_all(const char *id)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_attempts(delivery_id, n, at, status_code, duration_us)"
		 " SELECT id, 1, %lld, 500, 10 FROM webhook_deliveries WHERE job_id = '%s'",
		 (long long)now, id);
	store_fixture_sql(&fx, sql);
}

/* Old finished jobs go with their deliveries and attempts; newer, running and queued ones stay. */
static void test_jobs_prune(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], old[4][VEX_UUID_LEN + 1], young[VEX_UUID_LEN + 1], running[VEX_UUID_LEN + 1];
	char queued[VEX_UUID_LEN + 1], ids[10][VEX_UUID_LEN + 1];
	static const enum vex_job_status ends[] = { VEX_JOB_COMPLETED, VEX_JOB_FAILED, VEX_JOB_CANCELED,
						    VEX_JOB_TIMEOUT };
	struct vex_job *c = NULL;
	int64_t cut;
	int n = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	for (int i = 0; i < 4; i++) {
		add_job("alice", old[i]);
		run_job(old[i], ends[i]);
	}
	cut = ++now;
	add_job("alice", young);
	run_job(young, VEX_JOB_COMPLETED);
	add_job("alice", running);
	assert_int_equal(vex_store_job_claim(store, "r", ++now, 30 * S, NULL, &c), 0);
	vex_job_free(c);
	add_job("alice", queued);
	/* the fan-out has not passed their terminal events: nothing goes */
	assert_int_equal(vex_store_jobs_prune(store, cut, 10, ids, &n), 0);
	assert_int_equal(n, 0);
	fanout(NULL);
	/* nor until the stats rollup has folded them (it reads each finished job) */
	assert_int_equal(vex_store_jobs_prune(store, cut, 10, ids, &n), 0);
	assert_int_equal(n, 0);
	fold_stats();
	attempt_all(old[0]);
	assert_true(count_of("webhook_deliveries", "job_id", old[0]) > 0);
	assert_int_equal(vex_store_jobs_prune(store, cut, 3, ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(vex_store_jobs_prune(store, cut, 3, ids + 3, &n), 0);
	assert_int_equal(n, 1);
	for (int i = 0; i < 4; i++) {
		struct vex_job *got = NULL;

		assert_string_equal(ids[i], old[i]); /* oldest first */
		assert_int_equal(vex_store_job_get(store, old[i], NULL, &got), VEX_ENOTFOUND);
		assert_int_equal(count_of("webhook_deliveries", "job_id", old[i]), 0);
	}
	assert_int_equal(db_int("SELECT COUNT(*) FROM webhook_attempts"), 0);
	assert_int_equal(vex_store_jobs_prune(store, cut, 3, ids, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(count_of("jobs", "id", young), 1);
	assert_true(count_of("webhook_deliveries", "job_id", young) > 0);
	assert_int_equal(count_of("jobs", "id", running), 1);
	assert_int_equal(count_of("jobs", "id", queued), 1);
	assert_true(count_of("job_events", "job_id", old[0]) > 0); /* events follow their own retention */
	assert_int_equal(vex_store_jobs_prune(store, cut, 0, ids, &n), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_prune(store, cut, 1, NULL, &n), VEX_EINVAL);
}

/* With KEPT recent finished jobs, a prune that deletes nothing reads a handful of pages. */
static void test_jobs_prune_reads_little(void **state)
{
	char ids[100][VEX_UUID_LEN + 1], sql[768];
	int n = -1;
	/* PostgreSQL: no pages to count, and its job triggers take 30 s for KEPT rows; enough for the prunes */
	int kept = store_fixture_postgres() ? 1000 : KEPT;

	(void)state;
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, completed_at, updated_at)"
		 " SELECT '00000000-0000-7000-8000-' || substr('00000000000' || i, length('00000000000' || i) - 11),"
		 " 'seed', 'free', 'tool', 'echo', '{}', 'completed', %lld, %lld + i, %lld FROM c",
		 kept, (long long)now, (long long)now, (long long)now);
	store_fixture_sql(&fx, sql);
	set_cursor(db_int("SELECT MAX(seq) FROM job_events"));
	assert_int_equal(vex_store_jobs_prune(store, now - 3600 * S, 100, ids, &n), 0);
	pages_read();
	assert_int_equal(vex_store_jobs_prune(store, now - 3600 * S, 100, ids, &n), 0);
	assert_int_equal(n, 0);
	assert_true(pages_read() < 40); /* measured: 8 */
	assert_int_equal(vex_store_jobs_prune(store, now + 50, 100, ids, &n), 0);
	assert_int_equal(n, 49); /* completed_at now + 1 .. now + 49 */
	assert_int_equal(vex_store_jobs_prune(store, now + 1000, 100, ids, &n), 0);
	assert_int_equal(n, 100);
	assert_true(pages_read() < 40 * 149); /* measured: about 21 a job (its row, eight indexes, deliveries) */
}

/* Fires older than the bound go, by slot. */
static void test_schedule_fires_prune(void **state)
{
	int64_t deleted = -1;

	(void)state;
	store_fixture_sql(&fx, "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
		    " VALUES ('a1', 'alice', 'n', 'role', 3, 'ACTIVE', 0, 0);"
		    "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('a1', 100, 'j1', 100),"
		    " ('a1', 200, 'j2', 200), ('a1', 300, 'j3', 300);");
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 1, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 10, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(db_int("SELECT slot FROM schedule_fires"), 300);
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 0, &deleted), VEX_EINVAL);
}

/* A new database is in incremental mode; a step returns at most max_pages, keeping keep_pages. */
static void test_vacuum_step(void **state)
{
	int64_t freed = -1, before;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* SQLite's free pages; PostgreSQL's answers: test_store_stats_maint.c */
	assert_int_equal(vex_store_auto_vacuum(store), 2);
	store_fixture_sql(&fx, "CREATE TABLE filler(b BLOB);"
		    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)"
		    " INSERT INTO filler SELECT zeroblob(4000) FROM c;"
		    "DELETE FROM filler;");
	before = db_int("PRAGMA freelist_count");
	assert_true(before > 1900);
	assert_int_equal(vex_store_vacuum_step(store, 500, 100, &freed), 0);
	assert_int_equal(freed, 500);
	assert_int_equal(db_int("PRAGMA freelist_count"), before - 500);
	while (freed > 0)
		assert_int_equal(vex_store_vacuum_step(store, 500, 100, &freed), 0);
	assert_int_equal(db_int("PRAGMA freelist_count"), 100);
	store_fixture_sql(&fx, "PRAGMA wal_checkpoint(TRUNCATE)");
	assert_true(db_int("PRAGMA page_count") < 400); /* the file gave its pages back */
	assert_int_equal(vex_store_vacuum_step(store, 0, 0, &freed), VEX_EINVAL);
}

/* A database made before incremental vacuum (mode none): a step is a no-op. */
static void test_vacuum_step_other_mode(void **state)
{
	int64_t freed = -1;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* SQLite's auto_vacuum mode */
	store_fixture_sql(&fx, "PRAGMA auto_vacuum = NONE; VACUUM;");
	assert_int_equal(vex_store_auto_vacuum(store), 0);
	assert_int_equal(vex_store_vacuum_step(store, 10, 0, &freed), 0);
	assert_int_equal(freed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events_prune_reads_what_it_deletes, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_events_prune_bounds, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_plans, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_prune, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_prune_reads_little, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_schedule_fires_prune, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_vacuum_step, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_vacuum_step_other_mode, setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
