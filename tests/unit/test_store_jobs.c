/* test_store_jobs.c - jobs in the store: insert, paging, idempotency, claims, leases, cancel, rescue, locks. */
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

#include "core/err.h"
#include "core/log.h"
#include "core/store.h"

static char dir[64];
static char path[128];
static struct vex_store *store;
static const int limits[VEX_PLAN_COUNT] = { 1, 2, 5, 20 };
static int64_t clock_us = 1700000000000000;

#define LEASE_US 30000000

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-jobs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/vex.db", dir);
	return vex_store_open(path, 1, 1000, &store) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char side[160];

	(void)state;
	vex_store_free(store);
	store = NULL;
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-wlock", path);
	unlink(side);
	rmdir(dir);
	return 0;
}

static struct vex_job *new_tool_job(const char *owner, enum vex_plan plan, int priority)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->plan = plan;
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{\"x\":1}");
	j->max_attempts = 3;
	j->priority = priority;
	j->timeout_ms = 1000;
	j->created_at = ++clock_us;
	return j;
}

/* Insert a tool job and return its id in "id". */
static void add_job(const char *owner, enum vex_plan plan, int priority, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = new_tool_job(owner, plan, priority), *got = NULL;
	int created = -1;

	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	assert_int_equal(created, 1);
	if (id)
		memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

static int64_t count(const char *owner, int status)
{
	struct vex_job_filter f;
	int64_t n = -1;

	vex_job_filter_init(&f);
	f.owner = owner;
	f.status = status;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	return n;
}

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
	assert_int_equal(vex_store_agent_insert(store, a), 0);
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

static void test_claim_order(void **state)
{
	char low[VEX_UUID_LEN + 1], high_old[VEX_UUID_LEN + 1], high_new[VEX_UUID_LEN + 1];
	char mid[VEX_UUID_LEN + 1];
	struct vex_job *c = NULL;
	int64_t now = clock_us + 1000;

	(void)state;
	assert_int_equal(vex_store_job_claim(store, "r1", now, LEASE_US, limits, &c), VEX_ENOTFOUND);
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, low);
	add_job("alice", VEX_PLAN_ENTERPRISE, 9, high_old);
	add_job("alice", VEX_PLAN_ENTERPRISE, 5, mid);
	add_job("alice", VEX_PLAN_ENTERPRISE, 9, high_new);

	assert_int_equal(vex_store_job_claim(store, "r1", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, high_old);
	assert_int_equal(c->status, VEX_JOB_RUNNING);
	assert_int_equal(c->attempts, 1);
	assert_true(c->started_at == now);
	assert_true(c->updated_at == now);
	assert_string_equal(c->lease_owner, "r1");
	assert_true(c->lease_expires_at == now + LEASE_US);
	assert_true(c->rev == 2);
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r1", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, high_new);
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r2", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, mid);
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r2", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, low);
	vex_job_free(c);
	c = NULL;
	assert_int_equal(vex_store_job_claim(store, "r2", now, LEASE_US, limits, &c), VEX_ENOTFOUND);
	assert_null(c);
	assert_true(count("alice", VEX_JOB_RUNNING) == 4);
}

static void test_plan_limit(void **state)
{
	char a1[VEX_UUID_LEN + 1], a2[VEX_UUID_LEN + 1], b1[VEX_UUID_LEN + 1], p[3][VEX_UUID_LEN + 1];
	struct vex_job *c = NULL, *done = NULL;
	int64_t now = clock_us + 1000;
	int i;

	(void)state;
	/* alice is on the free plan (1 running), with a long queue ahead of bob. */
	add_job("alice", VEX_PLAN_FREE, 10, a1);
	add_job("alice", VEX_PLAN_FREE, 10, a2);
	for (i = 0; i < 50; i++)
		add_job("alice", VEX_PLAN_FREE, 10, NULL);
	add_job("bob", VEX_PLAN_STANDARD, 1, b1);
	for (i = 0; i < 3; i++)
		add_job("pat", VEX_PLAN_STANDARD, 0, p[i]);

	assert_int_equal(vex_store_job_claim(store, "r", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, a1);
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, b1); /* alice is at her limit: skipped, not blocking */
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, p[0]);
	vex_job_free(c);
	assert_int_equal(vex_store_job_claim(store, "r", now, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, p[1]);
	vex_job_free(c);
	c = NULL;
	/* pat (standard: 2) is now at the limit too. */
	assert_int_equal(vex_store_job_claim(store, "r", now, LEASE_US, limits, &c), VEX_ENOTFOUND);
	assert_null(c);
	assert_true(count("alice", VEX_JOB_RUNNING) == 1);

	/* When alice's job ends her next one becomes claimable. */
	assert_int_equal(vex_store_job_finish(store, a1, "r", VEX_JOB_COMPLETED, NULL, now + 1, &done), 0);
	vex_job_free(done);
	assert_int_equal(vex_store_job_claim(store, "r", now + 2, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, a2);
	vex_job_free(c);

	/* No limits at all (NULL): anything queued is claimable. */
	assert_int_equal(vex_store_job_claim(store, "r", now + 3, LEASE_US, NULL, &c), 0);
	vex_job_free(c);
}

static void claim_one(const char *runner, struct vex_job **ret)
{
	assert_int_equal(vex_store_job_claim(store, runner, clock_us, LEASE_US, limits, ret), 0);
}

static void test_lease_ownership(void **state)
{
	struct vex_job *c = NULL, *got = NULL, outcome;
	struct vex_progress p = { "2", 4, 50.0, "half way" };
	int cancel = -1;
	int64_t rev;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_one("r1", &c);
	rev = c->rev;

	assert_int_equal(vex_store_job_renew(store, c->id, "r2", clock_us, LEASE_US, &cancel), VEX_ECONFLICT);
	assert_int_equal(cancel, -1);
	assert_int_equal(vex_store_job_progress(store, c->id, "r2", &p, clock_us, &got), VEX_ECONFLICT);
	assert_null(got);
	assert_int_equal(vex_store_job_finish(store, c->id, "r2", VEX_JOB_COMPLETED, NULL, clock_us, &got),
			 VEX_ECONFLICT);
	assert_int_equal(vex_store_job_requeue(store, c->id, "r2", 1, clock_us, &got), VEX_ECONFLICT);

	assert_int_equal(vex_store_job_renew(store, c->id, "r1", clock_us + 10, LEASE_US, &cancel), 0);
	assert_int_equal(cancel, 0);
	assert_int_equal(vex_store_job_get(store, c->id, NULL, &got), 0);
	assert_true(got->lease_expires_at == clock_us + 10 + LEASE_US);
	assert_true(got->rev == rev); /* a renewal is invisible to clients */
	vex_job_free(got);
	got = NULL;

	assert_int_equal(vex_store_job_progress(store, c->id, "r1", &p, clock_us + 20, &got), 0);
	assert_string_equal(got->progress.current_step, "2");
	assert_int_equal(got->progress.total_steps, 4);
	assert_true(got->progress.percentage == 50.0);
	assert_string_equal(got->progress.message, "half way");
	assert_true(got->rev == rev + 1);
	vex_job_free(got);
	got = NULL;

	memset(&outcome, 0, sizeof(outcome));
	outcome.result_json = "{\"answer\":42}";
	outcome.tokens_in = 10;
	outcome.tokens_out = 20;
	outcome.final_model = "echo";
	outcome.steps = 3;
	assert_int_equal(vex_store_job_finish(store, c->id, "r1", VEX_JOB_QUEUED, &outcome, clock_us, &got),
			 VEX_EINVAL);
	assert_int_equal(vex_store_job_finish(store, c->id, "r1", VEX_JOB_COMPLETED, &outcome, clock_us + 30, &got),
			 0);
	assert_int_equal(got->status, VEX_JOB_COMPLETED);
	assert_string_equal(got->result_json, "{\"answer\":42}");
	assert_true(got->tokens_in == 10 && got->tokens_out == 20);
	assert_string_equal(got->final_model, "echo");
	assert_int_equal(got->steps, 3);
	assert_true(got->completed_at == clock_us + 30);
	assert_null(got->lease_owner);
	assert_true(got->lease_expires_at == 0);
	assert_true(got->rev == rev + 2);
	assert_string_equal(got->progress.message, "half way"); /* kept: the outcome had none */
	assert_null(got->error_code);
	vex_job_free(got);
	got = NULL;

	/* After the finish the lease is gone for everyone. */
	assert_int_equal(vex_store_job_renew(store, c->id, "r1", clock_us, LEASE_US, &cancel), VEX_ECONFLICT);
	vex_job_free(c);
}

static void test_terminal_never_changes(void **state)
{
	struct vex_job *c = NULL, *got = NULL, *before = NULL, outcome;
	struct vex_job_list l = { NULL, 0 };
	struct vex_progress p = { "x", 1, 1.0, NULL };
	int cancel;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_one("r1", &c);
	memset(&outcome, 0, sizeof(outcome));
	outcome.error_message = "boom";
	assert_int_equal(vex_store_job_finish(store, c->id, "r1", VEX_JOB_FAILED, &outcome, clock_us, &before), 0);
	assert_string_equal(before->error_code, "EXECUTION_ERROR"); /* default code */
	assert_string_equal(before->error_message, "boom");

	assert_int_equal(vex_store_job_finish(store, c->id, "r1", VEX_JOB_COMPLETED, NULL, clock_us, &got),
			 VEX_ECONFLICT);
	assert_int_equal(vex_store_job_progress(store, c->id, "r1", &p, clock_us, &got), VEX_ECONFLICT);
	assert_int_equal(vex_store_job_renew(store, c->id, "r1", clock_us, LEASE_US, &cancel), VEX_ECONFLICT);
	assert_int_equal(vex_store_job_requeue(store, c->id, "r1", 1, clock_us, &got), VEX_ECONFLICT);
	assert_int_equal(vex_store_job_cancel(store, c->id, NULL, 1, clock_us, &got), VEX_ESTATE);
	assert_int_equal(got->status, VEX_JOB_FAILED);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_store_jobs_rescue(store, clock_us + 10LL * LEASE_US, &l), 0);
	assert_int_equal(l.n, 0);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_job_claim(store, "r2", clock_us, LEASE_US, limits, &got), VEX_ENOTFOUND);

	assert_int_equal(vex_store_job_get(store, c->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_FAILED);
	assert_true(got->rev == before->rev);
	assert_true(got->updated_at == before->updated_at);
	vex_job_free(got);
	vex_job_free(before);
	vex_job_free(c);
}

static void test_rescue(void **state)
{
	struct vex_job_list l = { NULL, 0 };
	struct vex_job *c1 = NULL, *c2 = NULL, *live = NULL, *got = NULL;
	int64_t t0 = clock_us;
	size_t k;

	(void)state;
	add_job("alice", VEX_PLAN_ENTERPRISE, 3, NULL);
	add_job("alice", VEX_PLAN_ENTERPRISE, 2, NULL);
	add_job("alice", VEX_PLAN_ENTERPRISE, 1, NULL);
	assert_int_equal(vex_store_job_claim(store, "dead", t0, 1000, limits, &c1), 0);
	assert_int_equal(vex_store_job_claim(store, "dead", t0, 1000, limits, &c2), 0);
	assert_int_equal(vex_store_job_claim(store, "alive", t0, LEASE_US, limits, &live), 0);
	/* c2 has used all of its attempts. */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 1000);
		assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET attempts = 3 WHERE id = (SELECT id FROM jobs"
					      " WHERE lease_owner = 'dead' ORDER BY priority LIMIT 1)",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	/* Nothing has expired yet. */
	assert_int_equal(vex_store_jobs_rescue(store, t0 + 500, &l), 0);
	assert_int_equal(l.n, 0);
	vex_job_list_release(&l);

	assert_int_equal(vex_store_jobs_rescue(store, t0 + 2000, &l), 0);
	assert_int_equal(l.n, 2);
	for (k = 0; k < l.n; k++) {
		struct vex_job *j = l.items[k];

		assert_null(j->lease_owner);
		if (strcmp(j->id, c1->id) == 0) {
			assert_int_equal(j->status, VEX_JOB_QUEUED);
			assert_int_equal(j->attempts, 1);
			assert_true(j->completed_at == 0);
		} else {
			assert_string_equal(j->id, c2->id);
			assert_int_equal(j->status, VEX_JOB_FAILED);
			assert_string_equal(j->error_code, "LEASE_EXPIRED");
			assert_true(j->completed_at == t0 + 2000);
		}
		assert_true(j->rev == 3);
	}
	vex_job_list_release(&l);
	/* The dead runner's late writes are refused; the live job is untouched. */
	assert_int_equal(vex_store_job_finish(store, c1->id, "dead", VEX_JOB_COMPLETED, NULL, t0, &got), VEX_ECONFLICT);
	assert_int_equal(vex_store_job_get(store, live->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_RUNNING);
	assert_string_equal(got->lease_owner, "alive");
	vex_job_free(got);

	/* The requeued job is claimed again: attempts 2, started_at kept from the first claim. */
	assert_int_equal(vex_store_job_claim(store, "r3", t0 + 3000, LEASE_US, limits, &got), 0);
	assert_string_equal(got->id, c1->id);
	assert_int_equal(got->attempts, 2);
	assert_true(got->started_at == t0);
	vex_job_free(got);
	vex_job_free(c1);
	vex_job_free(c2);
	vex_job_free(live);
}

static void test_requeue(void **state)
{
	struct vex_job *c = NULL, *got = NULL;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_one("r1", &c);
	assert_int_equal(c->attempts, 1);
	assert_int_equal(vex_store_job_requeue(store, c->id, "r1", 1, clock_us + 5, &got), 0);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	assert_int_equal(got->attempts, 0); /* refunded: shutdown is not the job's fault */
	assert_null(got->lease_owner);
	assert_true(got->rev == c->rev + 1);
	vex_job_free(got);
	vex_job_free(c);

	claim_one("r1", &c);
	assert_int_equal(c->attempts, 1);
	assert_int_equal(vex_store_job_requeue(store, c->id, "r1", 0, clock_us + 6, &got), 0);
	assert_int_equal(got->attempts, 1);
	vex_job_free(got);
	vex_job_free(c);
}

static void test_cancel_states(void **state)
{
	char q[VEX_UUID_LEN + 1];
	struct vex_job *c = NULL, *got = NULL;
	int64_t rev;
	int cancel = -1;

	(void)state;
	/* queued -> canceled at once */
	add_job("alice", VEX_PLAN_PRO, 0, q);
	assert_int_equal(vex_store_job_cancel(store, q, "bob", 0, clock_us, &got), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(vex_store_job_cancel(store, "0190a000-0000-7000-8000-000000000000", NULL, 0, clock_us, &got),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_job_cancel(store, q, "alice", 0, clock_us + 7, &got), 0);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	assert_string_equal(got->error_code, "CANCELED");
	assert_true(got->completed_at == clock_us + 7);
	assert_true(got->rev == 2);
	vex_job_free(got);
	got = NULL;
	/* canceled is terminal */
	assert_int_equal(vex_store_job_cancel(store, q, "alice", 1, clock_us, &got), VEX_ESTATE);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	assert_true(got->rev == 2);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_store_job_claim(store, "r1", clock_us, LEASE_US, limits, &got), VEX_ENOTFOUND);

	/* running: refused without force; with force the runner is asked to stop */
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_one("r1", &c);
	rev = c->rev;
	assert_int_equal(vex_store_job_cancel(store, c->id, "alice", 0, clock_us, &got), VEX_ESTATE);
	assert_int_equal(got->status, VEX_JOB_RUNNING);
	assert_int_equal(got->cancel_requested, 0);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_store_job_cancel(store, c->id, "alice", 1, clock_us + 8, &got), 0);
	assert_int_equal(got->status, VEX_JOB_RUNNING);
	assert_int_equal(got->cancel_requested, 1);
	assert_true(got->rev == rev + 1);
	vex_job_free(got);
	got = NULL;
	/* asking twice changes nothing */
	assert_int_equal(vex_store_job_cancel(store, c->id, "alice", 1, clock_us + 9, &got), 0);
	assert_true(got->rev == rev + 1);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_store_job_renew(store, c->id, "r1", clock_us, LEASE_US, &cancel), 0);
	assert_int_equal(cancel, 1);
	/* A runner that gives a cancel-requested job back ends it canceled instead of requeueing it. */
	assert_int_equal(vex_store_job_requeue(store, c->id, "r1", 1, clock_us + 10, &got), 0);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	assert_string_equal(got->error_code, "CANCELED");
	vex_job_free(got);
	vex_job_free(c);

	/* the runner records the cancel itself */
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_one("r1", &c);
	assert_int_equal(vex_store_job_cancel(store, c->id, NULL, 1, clock_us, NULL), 0);
	assert_int_equal(vex_store_job_finish(store, c->id, "r1", VEX_JOB_CANCELED, NULL, clock_us + 11, &got), 0);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	assert_string_equal(got->error_code, "CANCELED");
	vex_job_free(got);
	vex_job_free(c);
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
	assert_true(count("alice", VEX_JOB_RUNNING) == 3);
	assert_true(count("alice", VEX_JOB_QUEUED) == 1);
	assert_true(count("bob", VEX_JOB_QUEUED) == 2);
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
		char sql[512], plan[1024] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", cases[i].sql);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			size_t n = strlen(plan);

			snprintf(plan + n, sizeof(plan) - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
		if (!strstr(plan, cases[i].index))
			fail_msg("%s\n  plan: %s\n  expected index %s", cases[i].sql, plan, cases[i].index);
		assert_null(strstr(plan, "TEMP B-TREE"));
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_ownership, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminal_never_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
	};

	vex_log_init("test_store_jobs", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
