/* test_store_stats.c - what GET /api/v1/stats reads: counts kept by triggers, the per-minute rollup folded from
 * the job events, its
 * latency buckets (the SQL's bounds are the C ones), quantiles, the prune, runners and running jobs, and the
 * listing filters by tool and created time. */
#include "tests/unit/store_jobs_fixture.h"

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"

/* A tool job of "owner" created at "created_us", running under "lease", finished "lat_us" later with "st". */
static void run_job(const char *owner, const char *tool, int64_t created_us, int64_t lat_us, enum vex_job_status st,
		    char id_out[VEX_UUID_LEN + 1])
{
	struct vex_job *j = new_tool_job(owner, VEX_PLAN_PRO, 0), *got = NULL;
	int created = 0;

	free(j->tool);
	j->tool = strdup(tool);
	j->created_at = created_us;
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	vex_job_free(got);
	got = NULL;
	if (id_out)
		memcpy(id_out, j->id, VEX_UUID_LEN + 1);
	if (lat_us >= 0) {
		assert_int_equal(vex_store_job_claim(store, "r1/w0", created_us + 1, LEASE_US, NULL, &got), 0);
		assert_string_equal(got->id, j->id);
		vex_job_free(got);
		assert_int_equal(vex_store_job_finish(store, j->id, "r1/w0", st, NULL, created_us + lat_us, NULL), 0);
	}
	vex_job_free(j);
}

/* Fold every job event into the rollup, as the runner does about once a second. */
static void fold(void)
{
	int64_t n = 0;

	do
		assert_int_equal(vex_store_stats_rollup(store, 7, &n), 0);
	while (n == 7);
}

/* The rows of "metric" (VEX_STAT_COMPLETED: every latency row, as readers count it) of "name" (NULL: any). */
static int64_t sum_metric(const struct vex_stat_rows *r, const char *name, int metric)
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

static void test_status_counts_follow_every_change(void **state)
{
	int64_t c[VEX_JOB_STATUS_COUNT];
	char id[VEX_UUID_LEN + 1];
	int64_t t = 1700000000000000;

	(void)state;
	run_job("alice", "echo", t, 5000, VEX_JOB_COMPLETED, NULL);
	run_job("alice", "echo", t, 5000, VEX_JOB_FAILED, NULL);
	run_job("alice", "sleep", t, -1, VEX_JOB_QUEUED, id);
	assert_int_equal(vex_store_job_cancel(store, id, "alice", 0, t + 9, NULL), 0);
	run_job("bob", "echo", t, 7000, VEX_JOB_TIMEOUT, NULL);
	run_job("bob", "echo", t, -1, VEX_JOB_QUEUED, NULL);

	assert_int_equal(vex_store_status_counts(store, "alice", c), 0);
	assert_int_equal(c[VEX_JOB_COMPLETED], 1);
	assert_int_equal(c[VEX_JOB_FAILED], 1);
	assert_int_equal(c[VEX_JOB_CANCELED], 1);
	assert_int_equal(c[VEX_JOB_QUEUED], 0);
	assert_int_equal(vex_store_status_counts(store, NULL, c), 0);
	assert_int_equal(c[VEX_JOB_QUEUED], 1);
	assert_int_equal(c[VEX_JOB_TIMEOUT], 1);
	assert_int_equal(c[VEX_JOB_COMPLETED] + c[VEX_JOB_FAILED] + c[VEX_JOB_CANCELED], 3);
	assert_int_equal(vex_store_status_counts(store, "nobody", c), 0);
	assert_int_equal(c[VEX_JOB_COMPLETED], 0);
}

static void test_oldest_queued(void **state)
{
	char id[VEX_UUID_LEN + 1], first[VEX_UUID_LEN + 1], got[VEX_UUID_LEN + 1];
	int64_t at = 0;

	(void)state;
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, &at), VEX_ENOTFOUND);
	run_job("alice", "echo", 1700000000000100, -1, VEX_JOB_QUEUED, first);
	run_job("bob", "echo", 1700000000000200, -1, VEX_JOB_QUEUED, id);
	run_job("bob", "echo", 1700000000000300, -1, VEX_JOB_QUEUED, NULL);
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, &at), 0);
	assert_string_equal(got, first);
	assert_int_equal(at, 1700000000000100);
	assert_int_equal(vex_store_oldest_queued(store, "bob", got, &at), 0);
	assert_string_equal(got, id);
	assert_int_equal(vex_store_oldest_queued(store, "carol", got, &at), VEX_ENOTFOUND);
}

/* Each latency lands in the bucket whose bounds hold it, by the rollup's SQL. */
static void test_latency_buckets_match_bounds(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	int64_t t = 1700000000000000, minute = t / VEX_STATS_MINUTE_US;

	(void)state;
	for (int b = 0; b < VEX_LAT_BOUNDS; b++) {
		run_job("alice", "echo", t, vex_lat_bounds_us[b], VEX_JOB_COMPLETED, NULL); /* top of bucket b */
		run_job("alice", "echo", t, vex_lat_bounds_us[b] + 1, VEX_JOB_COMPLETED, NULL); /* bottom of b + 1 */
	}
	fold();
	assert_int_equal(vex_store_stat_minutes(store, "alice", minute - 1, 1, &r), 0);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_LATENCY + 0), 1);
	for (int b = 1; b < VEX_LAT_BOUNDS; b++)
		assert_int_equal(sum_metric(&r, "echo", VEX_STAT_LATENCY + b), 2);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_LATENCY + VEX_LAT_BOUNDS), 1);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_COMPLETED), 2 * VEX_LAT_BOUNDS);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_SUBMITTED), 2 * VEX_LAT_BOUNDS);
	vex_stat_rows_release(&r);
}

static void test_rollup_by_minute_and_name(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	int64_t t = 1700000040000000, minute = t / VEX_STATS_MINUTE_US;

	(void)state;
	run_job("alice", "echo", t, 3000, VEX_JOB_COMPLETED, NULL);
	run_job("alice", "echo", t, 90 * 1000000LL, VEX_JOB_FAILED, NULL); /* finishes two minutes later */
	run_job("alice", "sleep", t, 1000, VEX_JOB_CANCELED, NULL);
	run_job("bob", "echo", t, 1000, VEX_JOB_COMPLETED, NULL);

	/* nothing is counted before the runner folds the events */
	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 0, &r), 0);
	assert_int_equal(r.n, 0);
	vex_stat_rows_release(&r);
	fold();
	assert_int_equal(vex_store_stat_minutes(store, "alice", minute, 0, &r), 0);
	for (size_t i = 0; i < r.n; i++)
		assert_null(r.items[i].name);
	assert_int_equal(sum_metric(&r, NULL, VEX_STAT_SUBMITTED), 3);
	assert_int_equal(sum_metric(&r, NULL, VEX_STAT_COMPLETED), 1);
	assert_int_equal(sum_metric(&r, NULL, VEX_STAT_FAILED), 1);
	assert_int_equal(sum_metric(&r, NULL, VEX_STAT_CANCELED), 1);
	for (size_t i = 0; i < r.n; i++)
		if (r.items[i].metric == VEX_STAT_FAILED)
			assert_int_equal(r.items[i].minute, (t + 90 * 1000000LL) / VEX_STATS_MINUTE_US);
	vex_stat_rows_release(&r);

	assert_int_equal(vex_store_stat_minutes(store, NULL, minute, 1, &r), 0);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_SUBMITTED), 3);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_COMPLETED), 2);
	assert_int_equal(sum_metric(&r, "sleep", VEX_STAT_CANCELED), 1);
	vex_stat_rows_release(&r);

	/* The prune takes the minutes before the bound and nothing else. */
	int64_t n = -1;

	assert_int_equal(vex_store_stat_minutes_prune(store, minute + 1, 1000, &n), 0);
	assert_true(n > 0);
	assert_int_equal(vex_store_stat_minutes(store, NULL, 0, 0, &r), 0);
	for (size_t i = 0; i < r.n; i++)
		assert_true(r.items[i].minute >= minute + 1);
	assert_int_equal(sum_metric(&r, NULL, VEX_STAT_FAILED), 1);
	vex_stat_rows_release(&r);
	assert_int_equal(vex_store_stat_minutes_prune(store, minute, 0, &n), VEX_EINVAL);
}

/* Two runners fold the same events: each event is counted once, batch after batch, whoever folds it;
 * bad limits are refused. */
static void test_rollup_folds_each_event_once(void **state)
{
	struct vex_stat_rows r = { NULL, 0 };
	struct vex_store *other = NULL;
	int64_t t = 1700000040000000, n = -1;
	char where[1024];

	(void)state;
	store_fixture_where(&fx, where, sizeof(where));
	assert_int_equal(vex_store_open(where, 1, 1000, &other), 0);
	for (int i = 0; i < 5; i++)
		run_job("alice", "echo", t, 2000, VEX_JOB_COMPLETED, NULL);
	assert_int_equal(vex_store_stats_rollup(other, 4, &n), 0); /* the first four events */
	assert_int_equal(n, 4);
	fold();
	assert_int_equal(vex_store_stats_rollup(other, 100, &n), 0); /* nothing left for the other */
	assert_int_equal(n, 0);
	run_job("alice", "echo", t, -1, VEX_JOB_QUEUED, NULL);
	assert_int_equal(vex_store_stats_rollup(other, 100, &n), 0);
	assert_int_equal(n, 1);
	fold();
	assert_int_equal(vex_store_stat_minutes(store, "alice", 0, 1, &r), 0);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_SUBMITTED), 6);
	assert_int_equal(sum_metric(&r, "echo", VEX_STAT_COMPLETED), 5);
	vex_stat_rows_release(&r);
	assert_int_equal(vex_store_stats_rollup(store, 0, &n), VEX_EINVAL);
	assert_int_equal(vex_store_stats_rollup(store, VEX_PRUNE_BATCH_MAX + 1, &n), VEX_EINVAL);
	vex_store_free(other);
}

static void test_quantiles_from_buckets(void **state)
{
	int64_t b[VEX_LAT_BUCKETS] = { 0 };
	double q;

	(void)state;
	assert_true(vex_lat_quantile_us(b, 0.5) < 0);
	/* 100 latencies in (5 ms, 10 ms]: p50 halfway, p95 near the top. */
	b[5] = 100;
	q = vex_lat_quantile_us(b, 0.5);
	assert_true(q > 7400 && q < 7600);
	q = vex_lat_quantile_us(b, 0.95);
	assert_true(q > 9700 && q <= 10000);
	/* 90 fast, 10 slow: p50 among the fast, p95 among the slow. */
	memset(b, 0, sizeof(b));
	b[0] = 90;
	b[11] = 10;
	assert_true(vex_lat_quantile_us(b, 0.5) <= 250);
	q = vex_lat_quantile_us(b, 0.95);
	assert_true(q > 500000 && q <= 1000000);
	/* Beyond the last bound: its lower bound. */
	memset(b, 0, sizeof(b));
	b[VEX_LAT_BUCKETS - 1] = 3;
	assert_true(vex_lat_quantile_us(b, 0.95) == (double)vex_lat_bounds_us[VEX_LAT_BOUNDS - 1]);
	assert_true(vex_lat_quantile_us(b, 0) < 0);
}

static void test_runners_and_running_jobs(void **state)
{
	struct vex_runner_info r = { .pid = 42, .started_at = 10, .beat_at = 20, .slots = 4, .busy = 1 };
	struct vex_runner_infos l = { NULL, 0 };
	struct vex_running_jobs jl = { NULL, 0 };
	char id[VEX_UUID_LEN + 1];

	(void)state;
	snprintf(r.id, sizeof(r.id), "host:42");
	snprintf(r.host, sizeof(r.host), "host");
	assert_int_equal(vex_store_runner_report(store, &r), 0);
	r.busy = 2;
	r.beat_at = 30;
	assert_int_equal(vex_store_runner_report(store, &r), 0);
	assert_int_equal(vex_store_runners_list(store, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].host, "host");
	assert_int_equal(l.items[0].busy, 2);
	assert_int_equal(l.items[0].slots, 4);
	assert_int_equal(l.items[0].beat_at, 30);
	assert_int_equal(l.items[0].started_at, 10);
	vex_runner_infos_release(&l);

	run_job("alice", "echo", clock_us, -1, VEX_JOB_QUEUED, id);
	run_job("bob", "echo", clock_us, -1, VEX_JOB_QUEUED, NULL);
	{
		struct vex_job *a = NULL, *b = NULL;

		assert_int_equal(vex_store_job_claim(store, "host:42/w0", ++clock_us, LEASE_US, NULL, &a), 0);
		assert_int_equal(vex_store_job_claim(store, "host:42/w1", ++clock_us, LEASE_US, NULL, &b), 0);
		vex_job_free(a);
		vex_job_free(b);
	}
	assert_int_equal(vex_store_running_jobs(store, NULL, 100, &jl), 0);
	assert_int_equal(jl.n, 2);
	vex_running_jobs_release(&jl);
	assert_int_equal(vex_store_running_jobs(store, "alice", 100, &jl), 0);
	assert_int_equal(jl.n, 1);
	assert_string_equal(jl.items[0].id, id);
	assert_string_equal(jl.items[0].name, "echo");
	assert_int_equal(jl.items[0].kind, VEX_JOB_TOOL);
	assert_non_null(strstr(jl.items[0].lease_owner, "host:42/w"));
	vex_running_jobs_release(&jl);
	assert_int_equal(vex_store_running_jobs(store, NULL, 0, &jl), VEX_EINVAL);
}

/* Filters by tool and by created time (ids made now, as the service makes them). */
static void test_listing_filters(void **state)
{
	struct vex_job_filter f;
	struct vex_job_list l = { NULL, 0 };
	int64_t now = vex_now_us(), n = -1;

	(void)state;
	run_job("alice", "echo", now - 3000000, -1, VEX_JOB_QUEUED, NULL);
	run_job("alice", "sleep", now - 2000000, -1, VEX_JOB_QUEUED, NULL);
	run_job("alice", "echo", now - 1000000, -1, VEX_JOB_QUEUED, NULL);
	run_job("bob", "echo", now - 1000000, -1, VEX_JOB_QUEUED, NULL);

	vex_job_filter_init(&f);
	f.owner = "alice";
	f.tool = "echo";
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, 2);
	f.created_after = now - 2500000;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, 1);
	f.tool = NULL;
	f.created_before = now - 1000000; /* exclusive */
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->tool, "sleep");
	vex_job_list_release(&l);
	f.owner = NULL;
	f.created_before = 0;
	f.created_after = now - 1000000; /* inclusive */
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, 2);
	f.created_after = -1;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), VEX_EINVAL);
}

/* A database of schema 13 with jobs gets the tally filled when migration 14 runs at open. */
static void test_migration_fills_the_counts(void **state)
{
	struct vex_store *s = NULL;
	int64_t c[VEX_JOB_STATUS_COUNT];
	sqlite3 *db = NULL;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* undoes a SQLite migration; PostgreSQL's schema has one version */
	run_job("gina", "echo", 1700000000000000, 1000, VEX_JOB_COMPLETED, NULL);
	run_job("gina", "echo", 1700000000000000, -1, VEX_JOB_QUEUED, NULL);
	run_job("hal", "echo", 1700000000000000, -1, VEX_JOB_QUEUED, NULL);
	vex_store_free(store);
	fx.store = store = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, STORE_UNDO_MIGRATION_14, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(vex_store_open(path, 1, 1000, &s), 0);
	fx.store = store = s;
	assert_int_equal(vex_store_schema_version(s), 14);
	assert_int_equal(vex_store_status_counts(s, "gina", c), 0);
	assert_int_equal(c[VEX_JOB_COMPLETED], 1);
	assert_int_equal(c[VEX_JOB_QUEUED], 1);
	assert_int_equal(vex_store_status_counts(s, NULL, c), 0);
	assert_int_equal(c[VEX_JOB_QUEUED], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_counts_follow_every_change, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_oldest_queued, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_latency_buckets_match_bounds, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rollup_by_minute_and_name, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rollup_folds_each_event_once, store_setup, store_teardown),
		cmocka_unit_test(test_quantiles_from_buckets),
		cmocka_unit_test_setup_teardown(test_runners_and_running_jobs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_listing_filters, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_migration_fills_the_counts, store_setup, store_teardown),
	};

	vex_log_init("test_store_stats", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
