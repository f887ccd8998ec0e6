/* test_store_plans.c - the store's hot paths never scan history: EXPLAIN QUERY PLAN of every statement they run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/store/store_explain.h"
#include "tests/unit/store_jobs_fixture.h"

/*
 * The hot paths are the store functions below, called as the service calls them (the claim and finish of the
 * runner, a poll, the job listings of each dialect, the event prune), on a database holding 20,000 finished
 * jobs of five owners and three events each. Whatever SQL those functions run today (or after a change) is in
 * the store's statement cache; vex_store_explain gives its plans, and no plan line may SCAN jobs or job_events
 * (under their own name or an alias): only SEARCH through an index or the primary key. Checked on the schema as
 * the service runs it (no statistics) and again after ANALYZE (the planner then knows how little one owner or
 * status selects). A SCAN of a partial index that holds only live jobs (WHERE status = 'queued' or 'running':
 * the claim's skip scan of jobs_owner_queue) is no walk of history and passes. webhook_deliveries is held to the
 * same rule: /metrics counts the backlog through a partial index of pending deliveries, never the delivered
 * history. A new hot path is one more entry in "ops".
 */
#define HISTORY_JOB "000003e8-0000-7000-8000-000000000001" /* n = 1 below: owner-1 */
#define AGENT "01890000-0000-7000-8000-000000000000"

static void seed_history(int analyze)
{
	static const char *const sql[] = {
		"WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < 20000)"
		" INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, attempts, created_at, started_at,"
		" completed_at, updated_at, rev, result_json)"
		" SELECT printf('%08x-0000-7000-8000-%012x', 1000 + n / 1000, n), 'owner-' || (n % 5), 'pro', 'tool',"
		" 'echo', '{\"i\":1}', 'completed', 1, 1000000 + n * 10, 1000001 + n * 10, 1000002 + n * 10,"
		" 1000002 + n * 10, 3, '{\"i\":1}' FROM k",
		/* The insert trigger wrote each job's first event; its start and finish follow. */
		"INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, at)"
		" SELECT job_id, owner, 2, 'started', 'running', 1, at, at + 1 FROM job_events WHERE rev = 3",
		"INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, at)"
		" SELECT job_id, owner, 3, 'completed', 'completed', 1, at - 1, at + 1 FROM job_events WHERE rev = 2",
	};
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (sqlite3_exec(db, sql[i], NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("seed: %s\n  %s", sqlite3_errmsg(db), sql[i]);
	if (analyze)
		assert_int_equal(sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* ---- the hot paths ---- */

static void op_claim_finish(void)
{
	char id[VEX_UUID_LEN + 1];
	struct vex_job *j = NULL;

	add_job("owner-1", VEX_PLAN_PRO, 0, NULL);
	add_job("owner-2", VEX_PLAN_PRO, 1, NULL);
	add_job("owner-2", VEX_PLAN_PRO, 0, NULL);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	memcpy(id, j->id, sizeof(id));
	vex_job_free(j);
	assert_int_equal(vex_store_job_finish(store, id, "r1", VEX_JOB_COMPLETED, NULL, ++clock_us, NULL), 0);
}

/* The claim with a tool paused (store_pauses.c): each owner's best job of a tool not paused, still a seek per
 * owner; then the global pause, which claims nothing. The pause is lifted for the ops after. */
static void op_claim_paused(void)
{
	struct vex_job *j = NULL;

	add_job("owner-1", VEX_PLAN_PRO, 0, NULL);
	assert_int_equal(vex_store_claim_pause(store, "echo", "admin", ++clock_us), 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), VEX_ENOTFOUND);
	assert_int_equal(vex_store_claim_pause(store, VEX_PAUSE_ALL, "admin", ++clock_us), 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), VEX_ENOTFOUND);
	assert_int_equal(vex_store_claim_resume(store, VEX_PAUSE_ALL, NULL), 0);
	assert_int_equal(vex_store_claim_resume(store, "echo", NULL), 0);
}

/* Cancel by filter, both statuses, with and without conditions: batches over the live partial indexes. */
static void op_cancel_where(void)
{
	struct vex_cancel_filter f = { .cutoff_us = ++clock_us + 1000000 };
	struct vex_job_list l = { NULL, 0 };
	enum vex_job_status which[] = { VEX_JOB_QUEUED, VEX_JOB_RUNNING };

	add_job("owner-3", VEX_PLAN_PRO, 0, NULL);
	for (size_t i = 0; i < 2; i++) {
		f.owner = NULL;
		f.tool = NULL;
		assert_int_equal(vex_store_jobs_cancel_batch(store, &f, which[i], 10, ++clock_us, &l), 0);
		vex_job_list_release(&l);
		f.owner = "owner-3";
		f.tool = "echo";
		f.created_after = 1;
		f.created_before = f.cutoff_us;
		assert_int_equal(vex_store_jobs_cancel_batch(store, &f, which[i], 10, ++clock_us, &l), 0);
		vex_job_list_release(&l);
		f.created_after = f.created_before = 0;
	}
}

static void op_poll(void)
{
	struct vex_job *j = NULL;

	assert_int_equal(vex_store_job_get(store, HISTORY_JOB, "owner-1", &j), 0);
	vex_job_free(j);
	assert_int_equal(vex_store_job_get(store, HISTORY_JOB, NULL, &j), 0);
	vex_job_free(j);
}

static void list(const struct vex_job_filter *f)
{
	struct vex_job_list l = { 0 };

	assert_int_equal(vex_store_jobs_list(store, f, &l), 0);
	vex_job_list_release(&l);
}

/* The filters each dialect builds for an owner's page (fcgi-app/dialect_vex.c, dialect_corex.c,
 * dialect_events.c), first page and with a cursor. */
static void op_listings(void)
{
	for (int cursor = 0; cursor < 2; cursor++) {
		struct vex_job_filter f;

		/* vex: GET /api/v1/jobs?status=&agent_id=&cursor= */
		vex_job_filter_init(&f);
		f.owner = "owner-1";
		f.limit = 21;
		f.before_id = cursor ? HISTORY_JOB : NULL;
		list(&f);
		f.status = VEX_JOB_COMPLETED;
		list(&f);
		f.agent_id = AGENT;
		list(&f);
		f.status = -1;
		list(&f);
		/* corex: tool jobs, a status, a cursor or an offset */
		vex_job_filter_init(&f);
		f.owner = "owner-2";
		f.kind = VEX_JOB_TOOL;
		f.limit = 20;
		f.before_id = cursor ? HISTORY_JOB : NULL;
		f.offset = cursor ? 0 : 40;
		list(&f);
		f.status = VEX_JOB_FAILED;
		list(&f);
		/* events: an agent's runs, a status set, a started_at window */
		vex_job_filter_init(&f);
		f.owner = "owner-3";
		f.kind = VEX_JOB_AGENT;
		f.agent_id = AGENT;
		f.limit = 51;
		f.before_id = cursor ? HISTORY_JOB : NULL;
		list(&f);
		f.status_mask = (1u << VEX_JOB_FAILED) | (1u << VEX_JOB_TIMEOUT);
		list(&f);
		f.started_after = 1000000;
		f.started_before = 2000000;
		list(&f);
	}
}

/* The filters of GET /api/v1/jobs and corex GET /jobs (fcgi-app/jobfilter.c) in every combination, for an
 * owner, and an admin's over every owner when a tool, an agent or a created window narrows it. */
static void op_filters(void)
{
	static const unsigned sets[] = { 0, 1u << VEX_JOB_COMPLETED, (1u << VEX_JOB_FAILED) | (1u << VEX_JOB_TIMEOUT) };

	for (unsigned bits = 0; bits < 32; bits++) {
		for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
			struct vex_job_filter f;

			vex_job_filter_init(&f);
			f.owner = "owner-1";
			f.limit = 21;
			if (sets[k] && (sets[k] & (sets[k] - 1)) == 0)
				f.status = VEX_JOB_COMPLETED;
			else
				f.status_mask = sets[k];
			f.kind = bits & 1 ? VEX_JOB_TOOL : -1;
			f.tool = bits & 2 ? "echo" : NULL;
			f.agent_id = bits & 4 ? AGENT : NULL;
			f.created_after = bits & 8 ? 1000000 : 0;
			f.created_before = bits & 16 ? 1100000 : 0;
			list(&f);
			f.before_id = HISTORY_JOB;
			list(&f);
			if (bits & (2 | 4 | 8 | 16)) {
				f.owner = NULL;
				list(&f);
				f.before_id = NULL;
				list(&f);
			}
		}
	}
}

/* GET /api/v1/stats and /api/v1/runners: an owner's and everyone's. */
static void op_stats(void)
{
	struct vex_stat_rows r = { NULL, 0 };
	struct vex_running_jobs jl = { NULL, 0 };
	struct vex_runner_infos rl = { NULL, 0 };
	int64_t counts[VEX_JOB_STATUS_COUNT], at;
	char id[VEX_UUID_LEN + 1];
	const char *owners[] = { "owner-1", NULL };

	add_job("owner-1", VEX_PLAN_PRO, 0, NULL);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(vex_store_status_counts(store, owners[i], counts), 0);
		assert_int_equal(vex_store_oldest_queued(store, owners[i], id, &at), 0);
		for (int by_name = 0; by_name < 2; by_name++) {
			assert_int_equal(vex_store_stat_minutes(store, owners[i], 0, by_name, &r), 0);
			vex_stat_rows_release(&r);
		}
		assert_int_equal(vex_store_running_jobs(store, owners[i], 100, &jl), 0);
		vex_running_jobs_release(&jl);
	}
	assert_int_equal(vex_store_runners_list(store, &rl), 0);
	vex_runner_infos_release(&rl);
	assert_int_equal(vex_store_stat_minutes_prune(store, 10, 100, NULL), 0);
}

static void op_prune(void)
{
	int64_t n = -1;

	assert_int_equal(vex_store_job_events_prune(store, 1000500, 5000, &n), 0);
}

/* The runner's fold of new job events into the stats rollup: a range of seq, each event's job by primary key. */
static void op_rollup(void)
{
	int64_t n = -1;

	assert_int_equal(vex_store_stats_rollup(store, 5000, &n), 0);
	assert_int_equal(n, 5000);
}

/* GET /metrics: the jobs by kind and status (the trigger-kept job_tally summed over owners) and the webhook backlog. */
static void op_metrics(void)
{
	struct vex_store_counts n;

	assert_int_equal(vex_store_metrics_counts(store, &n), 0);
	assert_true(n.jobs[VEX_JOB_TOOL][VEX_JOB_COMPLETED] >= 20000); /* the seeded history, counted by the trigger */
	assert_int_equal(n.deliveries_pending, 0);
}

static const struct {
	const char *name;
	void (*run)(void);
} ops[] = {
	{ "claim and finish", op_claim_finish },
	{ "claim with pauses", op_claim_paused },
	{ "cancel by filter", op_cancel_where },
	{ "poll (job by id)", op_poll },
	{ "job listings", op_listings },
	{ "job listing filters", op_filters },
	{ "stats", op_stats },
	{ "event prune", op_prune },
	{ "stats rollup", op_rollup },
	{ "metrics scrape", op_metrics },
};

/* ---- reading the plans ---- */

/* The partial indexes of jobs that hold only live (queued or running) jobs, read from the schema. */
static char live_indexes[16][64];
static size_t nlive;

static void read_live_indexes(void)
{
	static const char sql[] = "SELECT name FROM sqlite_master WHERE type = 'index'"
				  " AND ((tbl_name = 'jobs' AND (sql LIKE '%WHERE status = ''queued'''"
				  " OR sql LIKE '%WHERE status = ''running'''))"
				  " OR (tbl_name = 'webhook_deliveries' AND sql LIKE '%WHERE status = ''pending'''))";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	nlive = 0;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && nlive < 16)
		snprintf(live_indexes[nlive++], sizeof(live_indexes[0]), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(nlive > 0);
}

/* 1 when the plan line "detail" scans through one of live_indexes. */
static int scans_live_index(const char *detail)
{
	const char *u = strstr(detail, " INDEX ");

	if (!u)
		return 0;
	u += 7;
	for (size_t i = 0; i < nlive; i++) {
		size_t n = strlen(live_indexes[i]);

		if (!strncmp(u, live_indexes[i], n) && (u[n] == '\0' || u[n] == ' '))
			return 1;
	}
	return 0;
}

struct check {
	const char *op;
	size_t lines; /* plan lines read for the op */
	char failures[4096];
};

static int is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* 1 when "name" (a plan's table) is "table" itself, or an alias "sql" gives it ("jobs q", "jobs AS q"). */
static int names_table(const char *sql, const char *name, size_t len, const char *table)
{
	size_t tl = strlen(table);
	const char *p = sql;

	if (len == tl && !strncmp(name, table, len))
		return 1;
	while ((p = strstr(p, table)) != NULL) {
		const char *a = p + tl;

		if ((p > sql && is_ident(p[-1])) || is_ident(*a)) {
			p = a;
			continue;
		}
		while (*a == ' ')
			a++;
		if (!strncmp(a, "AS ", 3))
			for (a += 3; *a == ' '; a++)
				;
		if (!strncmp(a, name, len) && !is_ident(a[len]))
			return 1;
		p = a;
	}
	return 0;
}

static int check_line(void *arg, const char *sql, const char *detail)
{
	struct check *c = arg;
	const char *name;
	size_t len, n;

	c->lines++;
	if (getenv("VEX_TEST_PLANS_PRINT")) /* every plan line read, for a reader of this test */
		printf("%s: %s\n    %s\n", c->op, detail, sql);
	if (strncmp(detail, "SCAN ", 5) != 0)
		return 0;
	name = detail + 5;
	if (!strncmp(name, "TABLE ", 6))
		name += 6;
	for (len = 0; is_ident(name[len]); len++)
		;
	if (len == 0 || !(names_table(sql, name, len, "jobs") || names_table(sql, name, len, "job_events") ||
			  names_table(sql, name, len, "webhook_deliveries")))
		return 0;
	if (scans_live_index(detail))
		return 0;
	n = strlen(c->failures);
	snprintf(c->failures + n, sizeof(c->failures) - n, "\n  %s: %s\n    in %s", c->op, detail, sql);
	return 0;
}

static void check_hot_paths(int analyze)
{
	struct check *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	seed_history(analyze);
	read_live_indexes();
	/* Each op on a connection of its own, so that its statement cache holds exactly what the op ran. */
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct vex_store *conn = NULL;

		assert_int_equal(vex_store_open(path, 1, 1000, &conn), 0);
		store = conn;
		c->op = ops[i].name;
		c->lines = 0;
		ops[i].run();
		assert_int_equal(vex_store_explain(conn, check_line, c), 0);
		store = fx.store;
		vex_store_free(conn);
		if (c->lines == 0)
			fail_msg("%s ran no statement with a plan: nothing was checked", ops[i].name);
	}
	if (c->failures[0])
		fail_msg("a hot path scans history (%s):%s", analyze ? "after ANALYZE" : "no statistics", c->failures);
	free(c);
}

static void test_hot_paths_search_without_stats(void **state)
{
	(void)state;
	check_hot_paths(0);
}

static void test_hot_paths_search_after_analyze(void **state)
{
	(void)state;
	check_hot_paths(1);
}

/* The checker itself: a scan under an alias is caught, a CTE's or another table's is not. */
static void test_checker_sees_aliases(void **state)
{
	struct check c = { .op = "self-test" };

	(void)state;
	check_line(&c, "SELECT 1 FROM o JOIN jobs b ON b.id = o.x", "SCAN o");
	check_line(&c, "SELECT 1 FROM event_cursors", "SCAN event_cursors");
	check_line(&c, "SELECT 1 FROM jobs WHERE id = ?1", "SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 (id=?)");
	assert_string_equal(c.failures, "");
	check_line(&c, "SELECT 1 FROM jobs AS q WHERE q.status = 'x'", "SCAN q");
	assert_non_null(strstr(c.failures, "SCAN q"));
	c.failures[0] = '\0';
	check_line(&c, "SELECT seq FROM job_events e WHERE at < ?1", "SCAN e USING COVERING INDEX job_events_at");
	assert_non_null(strstr(c.failures, "SCAN e"));
	c.failures[0] = '\0';
	check_line(&c, "SELECT COUNT(*) FROM jobs", "SCAN jobs USING COVERING INDEX jobs_owner_id");
	assert_non_null(strstr(c.failures, "SCAN jobs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_sees_aliases),
		cmocka_unit_test_setup_teardown(test_hot_paths_search_without_stats, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_hot_paths_search_after_analyze, store_setup, store_teardown),
	};

	vex_log_init("test_store_plans", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
