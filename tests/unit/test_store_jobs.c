/* test_store_jobs.c - jobs in the store: insert, paging, idempotency, counts, status sets, locks, query plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "tests/unit/store_jobs_fixture.h"

static void test_insert_get(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_PRO, 5), *got = NULL, *again = NULL;
	int created = -1;

	(void)state;
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(got->id, j->id);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	assert_true(got->rev == 1);
	assert_int_equal(got->attempts, 0);
	assert_int_equal(got->plan, VEX_PLAN_PRO);
	assert_int_equal(got->kind, VEX_JOB_TOOL);
	assert_string_equal(got->tool, "echo");
	assert_string_equal(got->agent_id, "");
	assert_string_equal(got->input_json, "{\"x\":1}");
	assert_int_equal(got->priority, 5);
	assert_true(got->timeout_ms == 1000);
	assert_true(got->created_at == j->created_at);
	assert_true(got->updated_at == j->created_at);
	assert_true(got->started_at == 0);
	assert_null(got->lease_owner);

	assert_int_equal(vex_store_job_get(store, j->id, "alice", &again), 0);
	assert_string_equal(again->id, j->id);
	vex_job_free(again);
	again = NULL;
	/* Owner isolation: another owner gets "not found", never the job. */
	assert_int_equal(vex_store_job_get(store, j->id, "bob", &again), VEX_ENOTFOUND);
	assert_null(again);
	assert_int_equal(vex_store_job_get(store, j->id, NULL, &again), 0);
	vex_job_free(again);
	again = NULL;
	assert_int_equal(vex_store_job_get(store, "0190a000-0000-7000-8000-000000000000", NULL, &again),
			 VEX_ENOTFOUND);

	/* The same id twice. */
	assert_int_equal(vex_store_job_insert(store, j, &again, &created), VEX_EEXIST);
	assert_int_equal(count(NULL, -1), 1);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_insert_invalid(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_FREE, 0), *got = NULL;

	(void)state;
	free(j->input_json);
	j->input_json = NULL;
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_EINVAL);
	j->input_json = strdup("{}");
	j->kind = VEX_JOB_AGENT; /* no agent_id */
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_EINVAL);
	/* An agent that does not exist (foreign key). */
	vex_uuid7(j->agent_id);
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(count(NULL, -1), 0);
	vex_job_free(j);
}

static void test_agent_job(void **state)
{
	struct vex_agent *a = vex_agent_new();
	struct vex_job *j = vex_job_new(), *got = NULL;
	struct vex_job_filter f;
	struct vex_job_list l = { NULL, 0 };

	(void)state;
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "alice");
	a->name = strdup("a");
	a->role = strdup("role");
	a->max_depth = 3;
	a->created_at = 1;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->kind = VEX_JOB_AGENT;
	memcpy(j->agent_id, a->id, sizeof(j->agent_id));
	j->input_json = strdup("{\"prompt\":\"hi\",\"context_id\":null}");
	j->max_attempts = 1;
	j->created_at = 5;
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), 0);
	assert_string_equal(got->agent_id, a->id);
	assert_null(got->tool);
	vex_job_free(got);

	vex_job_filter_init(&f);
	f.agent_id = a->id;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	vex_job_list_release(&l);
	f.kind = VEX_JOB_TOOL;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 0);
	vex_job_list_release(&l);
	vex_job_free(j);
	vex_agent_free(a);
}

static void test_list_paging(void **state)
{
	enum { N = 250 };
	static char ids[N][VEX_UUID_LEN + 1];
	struct vex_job_list l = { NULL, 0 };
	struct vex_job_filter f;
	char cursor[VEX_UUID_LEN + 1] = "";
	int seen[N], i, total = 0;
	size_t k;

	(void)state;
	for (i = 0; i < N; i++)
		add_job("alice", VEX_PLAN_FREE, i % 3, ids[i]);
	for (i = 0; i < 40; i++)
		add_job("bob", VEX_PLAN_FREE, 0, NULL);

	/* Cursor paging, newest first. */
	memset(seen, 0, sizeof(seen));
	vex_job_filter_init(&f);
	f.owner = "alice";
	f.limit = 20;
	for (;;) {
		f.before_id = cursor[0] ? cursor : NULL;
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		for (k = 0; k < l.n; k++) {
			int idx = -1;

			assert_string_equal(l.items[k]->owner, "alice");
			for (i = 0; i < N; i++)
				if (strcmp(ids[i], l.items[k]->id) == 0)
					idx = i;
			assert_true(idx >= 0);
			/* Newest first: the index goes down by exactly one each row. */
			assert_int_equal(idx, N - 1 - total);
			seen[idx]++;
			total++;
		}
		memcpy(cursor, l.items[l.n - 1]->id, sizeof(cursor));
		vex_job_list_release(&l);
	}
	assert_int_equal(total, N);
	for (i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);

	/* Offset paging gives the same sequence. */
	f.before_id = NULL;
	total = 0;
	for (f.offset = 0;; f.offset += 20) {
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		for (k = 0; k < l.n; k++, total++)
			assert_string_equal(l.items[k]->id, ids[N - 1 - total]);
		vex_job_list_release(&l);
	}
	assert_int_equal(total, N);

	assert_true(count("alice", -1) == N);
	assert_true(count("bob", -1) == 40);
	assert_true(count(NULL, -1) == N + 40);
	assert_true(count("carol", -1) == 0);

	f.offset = 0;
	f.limit = 0;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.limit = 1001;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.limit = 10;
	f.offset = -1;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.offset = 0;
	f.status = 6;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
}

static void test_idempotency_key(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_FREE, 0), *first = NULL, *second = NULL;
	int created = -1;

	(void)state;
	j->idempotency_key = strdup("order-42");
	assert_int_equal(vex_store_job_insert(store, j, &first, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(first->idempotency_key, "order-42");

	/* A retry with a fresh id and the same key: the first job comes back, nothing is added. */
	vex_uuid7(j->id);
	assert_int_equal(vex_store_job_insert(store, j, &second, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(second->id, first->id);
	vex_job_free(second);
	second = NULL;
	assert_true(count("alice", -1) == 1);

	/* The key is per owner. */
	snprintf(j->owner, sizeof(j->owner), "bob");
	assert_int_equal(vex_store_job_insert(store, j, &second, &created), 0);
	assert_int_equal(created, 1);
	assert_string_not_equal(second->id, first->id);
	assert_true(count(NULL, -1) == 2);
	vex_job_free(second);
	vex_job_free(first);
	vex_job_free(j);
}

static void test_count_filters(void **state)
{
	struct vex_job_filter f;
	struct vex_job *c = NULL;
	int64_t n = -1, t_first;
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		add_job(i < 4 ? "alice" : "bob", VEX_PLAN_ENTERPRISE, 10 - i, NULL);
	t_first = clock_us;
	for (i = 0; i < 3; i++) {
		assert_int_equal(vex_store_job_claim(store, "r", t_first + i * 100, LEASE_US, limits, &c), 0);
		vex_job_free(c);
	}
	/* fair claims: alice, bob, alice */
	assert_true(count("alice", VEX_JOB_RUNNING) == 2);
	assert_true(count("alice", VEX_JOB_QUEUED) == 2);
	assert_true(count("bob", VEX_JOB_QUEUED) == 1);
	assert_true(count(NULL, VEX_JOB_QUEUED) == 3);
	assert_true(count(NULL, VEX_JOB_COMPLETED) == 0);

	vex_job_filter_init(&f);
	assert_int_equal(f.status, -1);
	assert_int_equal(f.kind, -1);
	assert_int_equal(f.limit, 20);
	f.kind = VEX_JOB_TOOL;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 6);
	f.kind = VEX_JOB_AGENT;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 0);
	f.kind = -1;
	f.started_after = t_first;       /* exclusive */
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 2);
	f.started_before = t_first + 200; /* exclusive */
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 1);
	/* before_id, limit and offset do not affect the count */
	f.started_after = 0;
	f.started_before = 0;
	f.before_id = "00000000-0000-0000-0000-000000000000";
	f.limit = 1;
	f.offset = 5;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 6);
	f.status = 99;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), VEX_EINVAL);
}

/* A status set (the events dialect's FAILED = failed | timeout | canceled) in lists and counts. */
static void test_status_mask(void **state)
{
	struct vex_job_filter f;
	struct vex_job_list l = { NULL, 0 };
	struct vex_job *c = NULL;
	char queued[VEX_UUID_LEN + 1], canceled[VEX_UUID_LEN + 1];
	int64_t n = -1;

	(void)state;
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, queued);
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, canceled);
	add_job("alice", VEX_PLAN_ENTERPRISE, 9, NULL);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0); /* priority 9 */
	vex_job_free(c);
	assert_int_equal(vex_store_job_cancel(store, canceled, "alice", 0, clock_us, NULL), 0);

	vex_job_filter_init(&f);
	f.owner = "alice";
	f.status_mask = 1u << VEX_JOB_FAILED | 1u << VEX_JOB_TIMEOUT | 1u << VEX_JOB_CANCELED;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->id, canceled);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 1);
	f.status_mask = 1u << VEX_JOB_QUEUED | 1u << VEX_JOB_RUNNING;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 2);
	f.status_mask = 1u << VEX_JOB_QUEUED;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->id, queued);
	vex_job_list_release(&l);
	/* A set and a single status together, or bits past the last status, are refused. */
	f.status = VEX_JOB_QUEUED;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), VEX_EINVAL);
	f.status = -1;
	f.status_mask = 1u << VEX_JOB_STATUS_COUNT;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
}

/* Another connection holds the write lock: our write waits busy_timeout, then VEX_EBUSY, nothing changed. */
static void test_busy(void **state)
{
	struct vex_store *quick = NULL;
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_FREE, 0), *got = NULL;
	struct vex_job_list l = { NULL, 0 };
	char queued[VEX_UUID_LEN + 1];
	sqlite3 *db = NULL;
	int cancel;

	(void)state;
	add_job("alice", VEX_PLAN_FREE, 0, queued);
	assert_int_equal(vex_store_open(path, 1, 50, &quick), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(vex_store_job_insert(quick, j, &got, NULL), VEX_EBUSY);
	assert_null(got);
	assert_int_equal(vex_store_job_claim(quick, "r", clock_us, LEASE_US, limits, &got), VEX_EBUSY);
	assert_int_equal(vex_store_job_cancel(quick, queued, NULL, 0, clock_us, &got), VEX_EBUSY);
	assert_null(got);
	assert_int_equal(vex_store_job_renew(quick, queued, "r", clock_us, LEASE_US, &cancel), VEX_EBUSY);
	assert_int_equal(vex_store_jobs_rescue(quick, clock_us, &l), VEX_EBUSY);
	assert_int_equal(vex_store_runner_beat(quick, "r", 1, 1), VEX_EBUSY);
	/* Reads still work under WAL while a writer holds the lock. */
	assert_int_equal(vex_store_job_get(quick, queued, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	vex_job_free(got);
	got = NULL;

	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(count(NULL, -1) == 1);
	assert_true(count(NULL, VEX_JOB_QUEUED) == 1);
	/* And the connection is usable again afterwards. */
	assert_int_equal(vex_store_job_insert(quick, j, &got, NULL), 0);
	vex_job_free(got);
	assert_true(count(NULL, -1) == 2);
	vex_store_free(quick);
	vex_job_free(j);
}

/* The hot queries use their indexes (no full scans as the table grows). */
static void test_query_plans(void **state)
{
	static const struct {
		const char *sql;
		const char *index;
	} cases[] = {
		{ "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id ASC", "jobs_claim" },
		{ "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE owner = 'a' AND status = 'running' LIMIT 5)",
		  "jobs_owner_status_id" },
		{ "SELECT id FROM jobs WHERE owner = 'a' AND id < 'x' ORDER BY id DESC LIMIT 20", "jobs_owner_id" },
		{ "SELECT id FROM jobs WHERE owner = 'a' AND status = 'failed' ORDER BY id DESC LIMIT 20",
		  "jobs_owner_status_id" },
		{ "SELECT id FROM jobs WHERE agent_id = 'a' AND started_at > 5 ORDER BY id DESC LIMIT 50",
		  "jobs_agent_id" },
		{ "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < 5 ORDER BY lease_expires_at",
		  "jobs_lease" },
		{ "SELECT id FROM agents WHERE owner = 'a' AND status <> 'DELETED' ORDER BY id DESC LIMIT 5",
		  "agents_owner_id" },
	};
	sqlite3 *db = NULL;
	size_t i;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char plan[1024];

		store_fixture_plan(db, cases[i].sql, plan, sizeof(plan));
		if (!strstr(plan, cases[i].index))
			fail_msg("%s\n  plan: %s\n  expected index %s", cases[i].sql, plan, cases[i].index);
		assert_null(strstr(plan, "TEMP B-TREE"));
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_agent_job, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_key, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_count_filters, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_status_mask, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_busy, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, store_setup, store_teardown),
	};

	vex_log_init("test_store_jobs", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
