/* test_retention.c - the runner's retention rounds: each kind pruned every round, backlog pacing, what is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "runner/retention.h"
#define STORE_FIXTURE_GLOBALS "retention"
#include "tests/unit/store_fixture.h"

#define S 1000000LL
#define OLD_EVENTS 200000 /* more than one round's share: a backlog */
#define OLD_JOBS 300

/* OLD_JOBS finished two days ago and one an hour ago, OLD_EVENTS events two hours old then 10 young
 * ones, the fan-out cursor past them all; fires two days and one hour back. */
static void seed(int64_t now)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i <= %d)"
		 " INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, completed_at, updated_at)"
		 " SELECT '00000000-0000-7000-8000-' || substr('00000000000' || i, length('00000000000' || i) - 11),"
		 " 'seed', 'free', 'tool', 'echo', '{}', 'completed', t, t, t"
		 " FROM (SELECT i, CASE WHEN i <= %d THEN %lld ELSE %lld END AS t FROM c) AS s;"
		 "DELETE FROM job_events;",
		 OLD_JOBS, OLD_JOBS, (long long)(now - 2 * 86400 * S), (long long)(now - 3600 * S));
	store_fixture_sql(&fx, sql);
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO job_events(job_id, owner, rev, type, status, attempts, at)"
		 " SELECT 'j', 'seed', i, 'progress', 'running', 1, CASE WHEN i <= %d THEN %lld ELSE %lld END FROM c;"
		 "UPDATE event_cursors SET seq = (SELECT MAX(seq) FROM job_events);"
		 "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
		 " VALUES ('a1', 'seed', 'n', 'role', 3, 'ACTIVE', 0, 0);"
		 "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('a1', %lld, 'j1', 0),"
		 " ('a1', %lld, 'j2', 0);",
		 OLD_EVENTS + 10, OLD_EVENTS, (long long)(now - 7200 * S), (long long)now,
		 (long long)(now - 2 * 86400 * S), (long long)(now - 3600 * S));
	store_fixture_sql(&fx, sql);
}

static int64_t count(const char *table)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	return store_fixture_sql_int(&fx, sql);
}

/* A round with a backlog of events still prunes jobs and fires, and comes back in 50 ms; rounds then
 * clear the backlog and go back to 5 s, keeping what is younger than the retentions. */
static void test_rounds(void **state)
{
	struct vex_config cfg;
	struct vex_retention r;
	struct vex_cache *cache = NULL;
	int64_t mono, jobs;
	int rounds = 0;

	(void)state;
	seed(vex_now_us());
	memset(&cfg, 0, sizeof(cfg));
	cfg.event_retention_s = 3600;
	cfg.job_retention_s = 86400;
	assert_int_equal(vex_cache_open("", 100, NULL, 0, &cache), 0); /* disabled: deletes do nothing */
	mono = vex_mono_us(); /* after the seed */
	vex_retention_init(&r, &cfg, mono);
	vex_retention_tick(&r, store, cache, mono);
	jobs = count("jobs");
	assert_true(jobs <= OLD_JOBS + 1 - 25);     /* a batch of jobs despite the events' backlog */
	assert_true(count("job_events") < OLD_EVENTS + 10);
	assert_true(count("job_events") > 10);       /* the events' backlog is left for the next rounds */
	assert_int_equal(count("schedule_fires"), 1); /* two days old: gone; an hour old: kept (a day at least) */
	assert_true(r.next_mono - mono < 2 * S);      /* work left: again in 50 ms, not after the 5 s pause */
	while (r.next_mono - mono < S && rounds++ < 10000) {
		mono = r.next_mono;
		vex_retention_tick(&r, store, cache, mono);
	}
	assert_true(r.next_mono - mono >= 4 * S); /* done: the next round in 5 s */
	assert_int_equal(count("jobs"), 1);        /* the one an hour old */
	assert_int_equal(count("job_events"), 10); /* the young ones */
	vex_retention_tick(&r, store, cache, mono + 1000); /* not due: nothing happens */
	assert_int_equal(count("job_events"), 10);
	vex_cache_free(cache);
}

/* job_retention_s 0 keeps every job and fire; events still go. */
static void test_keep_jobs(void **state)
{
	struct vex_config cfg;
	struct vex_retention r;
	int64_t mono;
	int rounds = 0;

	(void)state;
	seed(vex_now_us());
	memset(&cfg, 0, sizeof(cfg));
	cfg.event_retention_s = 3600;
	mono = vex_mono_us();
	vex_retention_init(&r, &cfg, mono);
	do {
		mono = r.next_mono;
		vex_retention_tick(&r, store, NULL, mono);
	} while (r.next_mono - mono < S && rounds++ < 10000);
	assert_int_equal(count("jobs"), OLD_JOBS + 1);
	assert_int_equal(count("schedule_fires"), 2);
	assert_int_equal(count("job_events"), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rounds, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_keep_jobs, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
