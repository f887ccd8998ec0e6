/* test_store_stats_maint.c - the per-minute rollup (fold, reads, prune), /metrics' counts and the store's housekeeping
 * (vacuum, checkpoints) through the interface, on SQLite and, from tools/run-unit's second pass
 * (tests/unit/postgres.list), on PostgreSQL. Jobs are inserted through the store; their finishes are written on a
 * connection of the test's own (the row a finish leaves; the triggers write its event), so only the functions
 * tested here and the job insert are needed. The rollup through the runner's real finishes: test_store_stats.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/retention.h"
#include "core/store/stats.h"
#include "core/store/store.h"
#include "core/store/store_metrics.h"
#define STORE_FIXTURE_GLOBALS "statsmaint"
#include "tests/unit/store_fixture.h"

#define T0 1700000040000000LL /* a minute's start */
#define MINUTE (T0 / VEX_STATS_MINUTE_US)

/* The URL of the test's database (PostgreSQL) or its path (SQLite): what vex_store_open takes. */
static void store_url(char *out, size_t cap)
{
	if (store_fixture_postgres())
		assert_int_equal(store_fixture_pg_url(fx.pg_db, out, cap), 0);
	else
		snprintf(out, cap, "%s", path);
}

/* Run "sql" (literals only; several statements) on a connection of the test's own, in one transaction that holds
 * the jobs lock on PostgreSQL, as every job write there does (core/store/postgres/pg_internal.h). */
static void raw(const char *sql)
{
	char url[1024];

	if (store_fixture_postgres()) {
		PGconn *c;
		PGresult *r;
		char *q = NULL;

		store_url(url, sizeof(url));
		c = PQconnectdb(url);
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		assert_true(asprintf(&q, "BEGIN; SELECT pg_advisory_xact_lock(8531357420326183539); %s; COMMIT", sql) > 0);
		r = PQexec(c, q);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		free(q);
	} else {
		sqlite3 *db = NULL;
		char *err = NULL;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
			fail_msg("%s: %s", sql, err);
		sqlite3_close(db);
	}
}

/* A job of "owner" (tool "name", or when "agent" an agent job of agent id "name") created at "created_us"; its
 * id in "id". */
static void add(const char *owner, const char *name, int agent, int64_t created_us, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = store_fixture_job(owner, agent ? "x" : name, "{}", created_us), *got = NULL;
	int created = 0;

	if (agent) {
		char sql[512];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
			 " VALUES ('%s', '%s', 'a', 'worker', 1, 'ACTIVE', 1, 1) ON CONFLICT DO NOTHING",
			 name, owner);
		raw(sql);
		free(j->tool);
		j->tool = NULL;
		j->kind = VEX_JOB_AGENT;
		snprintf(j->agent_id, sizeof(j->agent_id), "%s", name);
	}
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	assert_int_equal(created, 1);
	memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

/* Job "id" finished with "status" at "at_us", as a finish leaves its row (a new rev: the trigger writes the event). */
static void finish(const char *id, const char *status, int64_t at_us)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET status = '%s', completed_at = %lld, updated_at = %lld, rev = rev + 1 WHERE id = '%s'",
		 status, (long long)at_us, (long long)at_us, id);
	raw(sql);
}

/* A job of "owner" on tool "tool" created at "created_us", finished "lat_us" later with "status" (NULL: queued). */
static void run(const char *owner, const char *tool, int64_t created_us, int64_t lat_us, const char *status)
{
	char id[VEX_UUID_LEN + 1];

	add(owner, tool, 0, created_us, id);
	if (status)
		finish(id, status, created_us + lat_us);
}

/* Fold every event, in batches of 7 as a runner folds them (they come short at the end). */
static int64_t fold(struct vex_store *s)
{
	int64_t n = 0, all = 0;

	do {
		assert_int_equal(vex_store_stats_rollup(s, 7, &n), 0);
		all += n;
	} while (n == 7);
	return all;
}

/* The sum of "metric" (VEX_STAT_COMPLETED: every latency row) in "r" for "name" (NULL: any). */
static int64_t sum(const struct vex_stat_rows *r, const char *name, int metric)
{
	int64_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		int m = r->items[i].metric;

		if (metric == VEX_STAT_COMPLETED && m >= VEX_STAT_LATENCY)
			m = VEX_STAT_COMPLETED;
		if (m == metric && (!name || (r->items[i].name && !strcmp(r->items[i].name, name))))
			n += r->items[i].n;
	}
	return n;
}

/* Before any fold nothing is counted; after it each metric lands in its minute, sums by minute carry no name and
 * come ordered by (minute, metric), sums by name by (kind, name, metric), with agent jobs under their agent id. */
static void test_rollup_by_minute_and_name(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	char id[VEX_UUID_LEN + 1];
	const char *agent = "01890000-0000-7000-8000-0000000000aa";

	(void)state;
	assert_int_equal(vex_store_stats_rollup(store, 100, NULL), 0); /* nothing yet: NULL count is fine */
	run("alice", "echo", T0, 3000, "completed");
	run("alice", "echo", T0, 90 * 1000000LL, "failed"); /* ends two minutes later */
	run("alice", "sleep", T0, 1000, "canceled");
	run("alice", "sleep", T0, 5000, "timeout");
	run("alice", "\xe2\x82\xac/\xf0\x9f\x98\x80", T0, 1000, "completed"); /* a name in odd unicode */
	run("bob", "echo", T0, 1000, "completed");
	run("bob", "echo", T0 - VEX_STATS_MINUTE_US, -1, NULL); /* a minute earlier, still queued */
	add("alice", agent, 1, T0, id);
	finish(id, "completed", T0 + 2000);

	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 0, &r), 0);
	assert_int_equal(r.n, 0);
	vex_stat_rows_release(&r);
	assert_int_equal(fold(store), 15); /* 8 inserts, 7 finishes */
	assert_int_equal(fold(store), 0);

	assert_int_equal(vex_store_stat_minutes(store, "alice", MINUTE, 0, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		assert_null(r.items[i].name);
		if (i)
			assert_true(r.items[i - 1].minute < r.items[i].minute ||
				    (r.items[i - 1].minute == r.items[i].minute &&
				     r.items[i - 1].metric < r.items[i].metric));
		if (r.items[i].metric == VEX_STAT_FAILED)
			assert_int_equal(r.items[i].minute, (T0 + 90 * 1000000LL) / VEX_STATS_MINUTE_US);
		else
			assert_int_equal(r.items[i].minute, MINUTE);
	}
	assert_int_equal(sum(&r, NULL, VEX_STAT_SUBMITTED), 6);
	assert_int_equal(sum(&r, NULL, VEX_STAT_COMPLETED), 3);
	assert_int_equal(sum(&r, NULL, VEX_STAT_FAILED), 1);
	assert_int_equal(sum(&r, NULL, VEX_STAT_CANCELED), 1);
	assert_int_equal(sum(&r, NULL, VEX_STAT_TIMEOUT), 1);
	vex_stat_rows_release(&r);

	/* everyone's, from a minute earlier: bob's queued job too */
	assert_int_equal(vex_store_stat_minutes(store, NULL, MINUTE - 1, 0, &r), 0);
	assert_int_equal(r.items[0].minute, MINUTE - 1);
	assert_int_equal(sum(&r, NULL, VEX_STAT_SUBMITTED), 8);
	vex_stat_rows_release(&r);
	assert_int_equal(vex_store_stat_minutes(store, NULL, MINUTE, 0, &r), 0);
	assert_int_equal(sum(&r, NULL, VEX_STAT_SUBMITTED), 7);
	vex_stat_rows_release(&r);

	assert_int_equal(vex_store_stat_minutes(store, NULL, MINUTE, 1, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.items[i].minute, 0);
		assert_non_null(r.items[i].name);
		if (i) {
			int k = (int)r.items[i - 1].kind - (int)r.items[i].kind;
			int c = strcmp(r.items[i - 1].name, r.items[i].name);

			/* 'agent' < 'tool', then names by bytes, then metrics */
			assert_true(k < 0 || (k == 0 && (c < 0 || (c == 0 && r.items[i - 1].metric < r.items[i].metric))));
		}
	}
	assert_int_equal(r.items[0].kind, VEX_JOB_AGENT);
	assert_string_equal(r.items[0].name, agent);
	assert_string_equal(r.items[r.n - 1].name, "\xe2\x82\xac/\xf0\x9f\x98\x80");
	assert_int_equal(sum(&r, "echo", VEX_STAT_SUBMITTED), 3);
	assert_int_equal(sum(&r, "echo", VEX_STAT_COMPLETED), 2);
	assert_int_equal(sum(&r, "sleep", VEX_STAT_CANCELED), 1);
	assert_int_equal(sum(&r, "sleep", VEX_STAT_TIMEOUT), 1);
	assert_int_equal(sum(&r, agent, VEX_STAT_COMPLETED), 1);
	assert_int_equal(sum(&r, "\xe2\x82\xac/\xf0\x9f\x98\x80", VEX_STAT_COMPLETED), 1);
	vex_stat_rows_release(&r);

	/* an owner with nothing, a minute after everything */
	assert_int_equal(vex_store_stat_minutes(store, "nobody", 0, 1, &r), 0);
	assert_int_equal(r.n, 0);
	vex_stat_rows_release(&r);
	assert_int_equal(vex_store_stat_minutes(store, NULL, MINUTE + 3, 0, &r), 0);
	assert_int_equal(r.n, 0);
	vex_stat_rows_release(&r);
	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 0, NULL), VEX_EINVAL);
}

/* Each latency lands in the bucket whose bounds hold it (the top of bucket b, the bottom of b + 1). */
static void test_latency_buckets_match_bounds(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };

	(void)state;
	for (int b = 0; b < VEX_LAT_BOUNDS; b++) {
		run("alice", "echo", T0, vex_lat_bounds_us[b], "completed");
		run("alice", "echo", T0, vex_lat_bounds_us[b] + 1, "completed");
	}
	fold(store);
	assert_int_equal(vex_store_stat_minutes(store, "alice", MINUTE - 1, 1, &r), 0);
	assert_int_equal(sum(&r, "echo", VEX_STAT_LATENCY + 0), 1);
	for (int b = 1; b < VEX_LAT_BOUNDS; b++)
		assert_int_equal(sum(&r, "echo", VEX_STAT_LATENCY + b), 2);
	assert_int_equal(sum(&r, "echo", VEX_STAT_LATENCY + VEX_LAT_BOUNDS), 1);
	assert_int_equal(sum(&r, "echo", VEX_STAT_COMPLETED), 2 * VEX_LAT_BOUNDS);
	assert_int_equal(sum(&r, "echo", VEX_STAT_SUBMITTED), 2 * VEX_LAT_BOUNDS);
	vex_stat_rows_release(&r);
}

/* Two connections fold the same events one after the other: each event counted once; bad limits refused. */
static void test_rollup_folds_each_event_once(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	struct vex_store *other = NULL;
	char url[1024];
	int64_t n = -1;

	(void)state;
	store_url(url, sizeof(url));
	assert_int_equal(vex_store_open(url, 1, 5000, &other), 0);
	for (int i = 0; i < 5; i++)
		run("alice", "echo", T0, 2000, "completed");
	assert_int_equal(vex_store_stats_rollup(other, 4, &n), 0);
	assert_int_equal(n, 4);
	fold(store);
	assert_int_equal(vex_store_stats_rollup(other, 100, &n), 0);
	assert_int_equal(n, 0);
	run("alice", "echo", T0, -1, NULL);
	assert_int_equal(vex_store_stats_rollup(other, 100, &n), 0);
	assert_int_equal(n, 1);
	fold(store);
	assert_int_equal(vex_store_stat_minutes(store, "alice", 0, 1, &r), 0);
	assert_int_equal(sum(&r, "echo", VEX_STAT_SUBMITTED), 6);
	assert_int_equal(sum(&r, "echo", VEX_STAT_COMPLETED), 5);
	vex_stat_rows_release(&r);
	n = -1;
	assert_int_equal(vex_store_stats_rollup(store, 0, &n), VEX_EINVAL);
	assert_int_equal(vex_store_stats_rollup(store, VEX_PRUNE_BATCH_MAX + 1, &n), VEX_EINVAL);
	assert_int_equal(n, -1);
	assert_int_equal(vex_store_stats_rollup(NULL, 10, &n), VEX_EINVAL);
	vex_store_free(other);
}

#define RACERS 4
#define RACE_JOBS 60

/* One racer: its own connection folding in batches of 3 until nothing is left. */
static void *racer(void *arg)
{
	const char *url = arg;
	struct vex_store *s = NULL;
	int64_t n = 0, rounds = 0;
	intptr_t bad = 0;

	if (vex_store_open(url, 1, 5000, &s) != 0)
		return (void *)1;
	do {
		if (vex_store_stats_rollup(s, 3, &n) != 0)
			bad = 1;
	} while (!bad && ++rounds < 1000 && (n > 0 || rounds < 50));
	vex_store_free(s);
	return (void *)bad;
}

/* Connections folding at the same time: every event counted once, whoever wins each batch. */
static void test_rollup_races_count_once(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	pthread_t t[RACERS];
	char url[1024];

	(void)state;
	store_url(url, sizeof(url));
	for (int i = 0; i < RACE_JOBS; i++)
		run(i % 2 ? "alice" : "bob", "echo", T0, 1000, i % 3 ? "completed" : "failed");
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, url), 0);
	for (int i = 0; i < RACERS; i++) {
		void *bad = NULL;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
	fold(store); /* what the racers left, if any */
	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 1, &r), 0);
	assert_int_equal(sum(&r, "echo", VEX_STAT_SUBMITTED), RACE_JOBS);
	assert_int_equal(sum(&r, "echo", VEX_STAT_COMPLETED), RACE_JOBS - RACE_JOBS / 3);
	assert_int_equal(sum(&r, "echo", VEX_STAT_FAILED), RACE_JOBS / 3);
	vex_stat_rows_release(&r);
}

/* The prune takes rows of the minutes before the bound, at most "limit" a call, and nothing else. */
static void test_prune_in_batches(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	int64_t n = -1;

	(void)state;
	for (int m = 0; m < 5; m++)
		run("alice", m % 2 ? "echo" : "sleep", T0 + m * VEX_STATS_MINUTE_US, 1000, "failed");
	fold(store);
	/* each minute m holds two rows (submitted, failed): minutes 0..2 are before the bound */
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 3, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 3, 4, NULL), 0);
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 3, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 0, &r), 0);
	assert_int_equal(r.n, 4);
	for (size_t i = 0; i < r.n; i++)
		assert_true(r.items[i].minute >= MINUTE + 3);
	vex_stat_rows_release(&r);
	n = -1;
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 9, 0, &n), VEX_EINVAL);
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 9, VEX_PRUNE_BATCH_MAX + 1, &n), VEX_EINVAL);
	assert_int_equal(n, -1);
	assert_int_equal(vex_store_stat_minutes_prune(store, MINUTE + 9, VEX_PRUNE_BATCH_MAX, &n), 0);
	assert_int_equal(n, 4);
}

/* /metrics' counts: jobs by kind and status summed over owners, and the pending deliveries only. */
static void test_metrics_counts(void **state)
{
	struct vex_store_counts c;
	char id[VEX_UUID_LEN + 1];

	(void)state;
	memset(&c, 0x55, sizeof(c));
	assert_int_equal(vex_store_metrics_counts(store, &c), 0);
	for (int k = 0; k < 2; k++)
		for (int st = 0; st < VEX_JOB_STATUS_COUNT; st++)
			assert_int_equal(c.jobs[k][st], 0);
	assert_int_equal(c.deliveries_pending, 0);

	run("alice", "echo", T0, -1, NULL);
	run("bob", "echo", T0, -1, NULL);
	run("bob", "echo", T0, 10, "completed");
	add("carol", "01890000-0000-7000-8000-0000000000bb", 1, T0, id);
	raw("INSERT INTO webhooks(id, owner, url, events, secret, status, created_at, updated_at)"
	    " VALUES ('h1', 'bob', 'https://example.com/h', 1, 's', 'active', 1, 1);"
	    "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at) VALUES ('d1', 'h1', 'bob', 'j', 1, 'job.completed', '{}', 'pending', 1, 1),"
	    " ('d2', 'h1', 'bob', 'j', 2, 'job.completed', '{}', 'pending', 1, 1),"
	    " ('d3', 'h1', 'bob', 'j', 3, 'job.completed', '{}', 'delivered', 1, 1)");
	assert_int_equal(vex_store_metrics_counts(store, &c), 0);
	assert_int_equal(c.jobs[VEX_JOB_TOOL][VEX_JOB_QUEUED], 2);
	assert_int_equal(c.jobs[VEX_JOB_TOOL][VEX_JOB_COMPLETED], 1);
	assert_int_equal(c.jobs[VEX_JOB_AGENT][VEX_JOB_QUEUED], 1);
	assert_int_equal(c.jobs[VEX_JOB_AGENT][VEX_JOB_COMPLETED], 0);
	assert_int_equal(c.deliveries_pending, 2);
	raw("DELETE FROM jobs WHERE owner = 'bob'");
	assert_int_equal(vex_store_metrics_counts(store, &c), 0);
	assert_int_equal(c.jobs[VEX_JOB_TOOL][VEX_JOB_QUEUED], 1);
	assert_int_equal(c.jobs[VEX_JOB_TOOL][VEX_JOB_COMPLETED], 0);
}

static void count_due(void *arg)
{
	(*(int *)arg)++;
}

/* The housekeeping each backend answers: a new database gives freed room back (SQLite's incremental mode; the
 * server's autovacuum); a step on it has nothing to free; a checkpoint reports no more done than there was; small
 * commits never hand a checkpoint on. Bad arguments as SQLite refuses them. */
static void test_housekeeping(void **state)
{
	int64_t freed = -1;
	int pages = -1, done = -1, due = 0;

	(void)state;
	assert_int_equal(vex_store_auto_vacuum(store), 2);
	assert_int_equal(vex_store_vacuum_step(store, 500, 100, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(vex_store_vacuum_step(store, 500, 100, NULL), 0);
	freed = -1;
	assert_int_equal(vex_store_vacuum_step(store, 0, 0, &freed), VEX_EINVAL);
	assert_int_equal(vex_store_vacuum_step(store, 100001, 0, &freed), VEX_EINVAL);
	assert_int_equal(vex_store_vacuum_step(store, 10, -1, &freed), VEX_EINVAL);
	assert_int_equal(freed, -1);

	vex_store_checkpoint_elsewhere(store, count_due, &due);
	for (int i = 0; i < 5; i++)
		run("alice", "echo", T0, -1, NULL);
	assert_int_equal(due, 0);
	assert_int_equal(vex_store_checkpoint(store, &pages, &done), 0);
	assert_true(pages >= 0 && done >= 0 && done <= pages);
	if (store_fixture_postgres())
		assert_int_equal(pages, 0); /* the server's own checkpointer: nothing for a client */
	assert_int_equal(vex_store_checkpoint(store, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rollup_by_minute_and_name, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_latency_buckets_match_bounds, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rollup_folds_each_event_once, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rollup_races_count_once, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_in_batches, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_counts, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_housekeeping, store_setup, store_teardown),
	};

	vex_log_init("test_store_stats_maint", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
