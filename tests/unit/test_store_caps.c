/* test_store_caps.c - per-owner caps in the store: agents, schedules, queued jobs (single, batch, scheduled runs),
 * webhooks; counted in the write that adds one, so concurrent writers never pass a cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/log.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "caps"
#include "tests/unit/store_fixture.h"

#define SCHED "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}"
#define NOW 1700000000000000LL

static struct vex_agent *make_agent(const char *owner, const char *schedule)
{
	struct vex_agent *a = vex_agent_new();

	assert_non_null(a);
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "%s", owner);
	a->name = strdup("capped");
	a->role = strdup("You count things.");
	a->schedule_json = schedule ? strdup(schedule) : NULL;
	a->max_depth = 3;
	a->status = VEX_AGENT_ACTIVE;
	a->created_at = NOW;
	return a;
}

static struct vex_job *make_job(const char *owner, int cap, const char *key)
{
	struct vex_job *j = store_fixture_job(owner, "echo", "{}", NOW);

	j->queued_cap = cap;
	j->idempotency_key = key ? strdup(key) : NULL;
	return j;
}

static struct vex_webhook *make_hook(const char *owner)
{
	struct vex_webhook *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	vex_uuid7_prefixed("hook_", h->id, sizeof(h->id));
	snprintf(h->owner, sizeof(h->owner), "%s", owner);
	h->url = strdup("https://example.com/hook");
	h->events = VEX_HOOK_EV_ALL;
	h->secret = strdup("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
	h->status = VEX_HOOK_ACTIVE;
	h->created_at = NOW;
	return h;
}

static int64_t held(struct vex_store *s, enum vex_cap cap, const char *owner)
{
	int64_t n = -1;

	assert_int_equal(vex_store_cap_count(s, cap, owner, &n), 0);
	return n;
}

/* Insert a job of "owner" held to "cap": the store's answer. */
static int add_job(struct vex_store *s, const char *owner, int cap, const char *key, struct vex_job **ret)
{
	struct vex_job *j = make_job(owner, cap, key), *got = NULL;
	int created = 0, rc = vex_store_job_insert(s, j, &got, &created);

	if (ret)
		*ret = got;
	else
		vex_job_free(got);
	vex_job_free(j);
	return rc;
}

static void test_agents(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_agent *a[4], *bobs;
	enum vex_cap hit = VEX_CAP_COUNT;

	(void)state;
	caps.max[VEX_CAP_AGENTS] = 3;
	for (int i = 0; i < 4; i++)
		a[i] = make_agent("alice", NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vex_store_agent_insert(store, a[i], &caps, &hit), 0);
	assert_int_equal(vex_store_agent_insert(store, a[3], &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_AGENTS);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "alice"), 3); /* nothing stored */
	/* another owner has its own allowance; no caps (an admin's) is no cap */
	bobs = make_agent("bob", NULL);
	assert_int_equal(vex_store_agent_insert(store, bobs, &caps, NULL), 0);
	vex_agent_free(bobs);
	assert_int_equal(vex_store_agent_insert(store, a[3], NULL, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "alice"), 4);
	/* a deleted agent no longer counts */
	assert_int_equal(vex_store_agent_delete(store, a[0]->id, "alice", NOW + 1), 0);
	assert_int_equal(vex_store_agent_delete(store, a[1]->id, "alice", NOW + 1), 0);
	vex_agent_free(a[0]);
	a[0] = make_agent("alice", NULL);
	assert_int_equal(vex_store_agent_insert(store, a[0], &caps, &hit), 0);
	for (int i = 0; i < 4; i++)
		vex_agent_free(a[i]);
}

static void test_schedules(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_agent *s1 = make_agent("alice", SCHED), *s2 = make_agent("alice", SCHED);
	struct vex_agent *plain = make_agent("alice", NULL);
	enum vex_cap hit = VEX_CAP_COUNT;

	(void)state;
	caps.max[VEX_CAP_AGENTS] = 10;
	caps.max[VEX_CAP_SCHEDULES] = 1;
	assert_int_equal(vex_store_agent_insert(store, s1, &caps, &hit), 0);
	assert_int_equal(vex_store_agent_insert(store, s2, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_SCHEDULES);
	assert_int_equal(vex_store_agent_insert(store, plain, &caps, &hit), 0);
	/* giving the plain agent a schedule is refused; patching the scheduled one (even paused) is not */
	plain->schedule_json = strdup(SCHED);
	hit = VEX_CAP_COUNT;
	assert_int_equal(vex_store_agent_update(store, plain, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_SCHEDULES);
	s1->status = VEX_AGENT_PAUSED;
	assert_int_equal(vex_store_agent_update(store, s1, &caps, &hit), 0);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, "alice"), 1); /* a paused schedule still counts */
	/* removing the schedule frees the place */
	free(s1->schedule_json);
	s1->schedule_json = NULL;
	assert_int_equal(vex_store_agent_update(store, s1, &caps, &hit), 0);
	assert_int_equal(vex_store_agent_update(store, plain, &caps, &hit), 0);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, "alice"), 1);
	vex_agent_free(s1);
	vex_agent_free(s2);
	vex_agent_free(plain);
}

static void test_queued_jobs(void **state)
{
	struct vex_job *first = NULL, *second = NULL, *again = NULL, *claimed = NULL;
	const int limits[VEX_PLAN_COUNT] = { 5, 5, 5, 5 };

	(void)state;
	assert_int_equal(add_job(store, "alice", 2, "k1", &first), 0);
	assert_int_equal(add_job(store, "alice", 2, NULL, &second), 0);
	assert_int_equal(add_job(store, "alice", 2, NULL, NULL), VEX_ELIMIT);
	assert_int_equal(add_job(store, "alice", 2, "k3", NULL), VEX_ELIMIT);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "alice"), 2);
	/* a replay at the cap answers the first job */
	assert_int_equal(add_job(store, "alice", 2, "k1", &again), 0);
	assert_string_equal(again->id, first->id);
	/* others, and no cap, pass */
	assert_int_equal(add_job(store, "bob", 2, NULL, NULL), 0);
	assert_int_equal(add_job(store, "alice", 0, NULL, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "alice"), 3);
	/* started and canceled jobs are no longer queued */
	assert_int_equal(vex_store_job_claim(store, "r1", NOW + 1, 30000000, limits, &claimed), 0);
	assert_string_equal(claimed->id, first->id); /* the oldest */
	assert_int_equal(vex_store_job_cancel(store, second->id, "alice", 0, NOW + 2, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "alice"), 1);
	assert_int_equal(add_job(store, "alice", 2, NULL, NULL), 0);
	assert_int_equal(add_job(store, "alice", 2, NULL, NULL), VEX_ELIMIT);
	vex_job_free(first);
	vex_job_free(second);
	vex_job_free(again);
	vex_job_free(claimed);
}

/* Inside one batch (the group committer's), jobs of one owner count the ones before them. */
static void test_queued_jobs_batch(void **state)
{
	struct vex_job *jobs[5], *rets[5];
	int created[5], rcs[5];

	(void)state;
	jobs[0] = make_job("alice", 3, NULL);
	jobs[1] = make_job("alice", 3, "k");
	jobs[2] = make_job("bob", 1, NULL);
	jobs[3] = make_job("alice", 3, NULL);
	jobs[4] = make_job("alice", 3, NULL);
	assert_int_equal(vex_store_jobs_insert_batch(store, jobs, 5, rets, created, rcs), 0);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(rcs[1], 0);
	assert_int_equal(rcs[2], 0);
	assert_int_equal(rcs[3], 0);
	assert_int_equal(rcs[4], VEX_ELIMIT);
	assert_null(rets[4]);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "alice"), 3);
	for (int i = 0; i < 5; i++) {
		vex_job_free(jobs[i]);
		vex_job_free(rets[i]);
	}
}

/* A scheduled run at the cap is stored failed, once, with the cap's code; an admin's agent has none. */
static void test_scheduled_run_at_cap(void **state)
{
	const int caps[VEX_PLAN_COUNT] = { 1, 1, 1, 1 };
	struct vex_agent *a = make_agent("alice", SCHED), *root = make_agent("root", SCHED);
	struct vex_sched_fire f = { .slot_us = NOW, .now_us = NOW + 5, .max_attempts = 1, .timeout_ms = 1000,
				    .queued_caps = caps };
	struct vex_job *j = NULL;

	(void)state;
	root->owner_admin = 1;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_insert(store, root, NULL, NULL), 0);
	assert_int_equal(add_job(store, "alice", 1, NULL, NULL), 0);
	f.agent_id = a->id;
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->status, VEX_JOB_FAILED);
	assert_string_equal(j->error_code, "QUEUED_JOB_LIMIT_REACHED");
	assert_non_null(strstr(j->error_message, "at most 1 queued jobs"));
	assert_int_equal(j->completed_at, NOW + 5);
	vex_job_free(j);
	j = NULL;
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "alice"), 1);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_EEXIST); /* the slot counts as fired */
	/* below the cap it queues */
	f.slot_us = NOW + 60000000;
	f.queued_caps = NULL;
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	vex_job_free(j);
	j = NULL;
	/* an admin's agent is not capped */
	assert_int_equal(add_job(store, "root", 0, NULL, NULL), 0);
	f.agent_id = root->id;
	f.queued_caps = caps;
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	vex_job_free(j);
	vex_agent_free(a);
	vex_agent_free(root);
}

static void test_webhooks(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_webhook *h[3];

	(void)state;
	caps.max[VEX_CAP_WEBHOOKS] = 2;
	for (int i = 0; i < 3; i++)
		h[i] = make_hook("alice");
	assert_int_equal(vex_store_webhook_insert(store, h[0], &caps), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[1], &caps), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[2], &caps), VEX_ELIMIT);
	assert_int_equal(held(store, VEX_CAP_WEBHOOKS, "alice"), 2);
	assert_int_equal(vex_store_webhook_delete(store, h[0]->id, "alice", NOW + 1), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[2], &caps), 0);
	for (int i = 0; i < 3; i++)
		vex_webhook_free(h[i]);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_STREAMS, "alice", &(int64_t){ 0 }), VEX_EINVAL);
}

/* Run "sql" on the store with a connection of our own; with "ret", the first column of its one row. */
static void raw(const char *sql, int64_t *ret)
{
	if (ret) {
		*ret = store_fixture_sql_int(&fx, sql);
		assert_true(*ret >= 0);
	} else {
		store_fixture_sql(&fx, sql);
	}
}

/* The count the queued-job cap reads against the jobs themselves. */
static void assert_counter_true(const char *owner)
{
	char sql[160];
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM jobs WHERE owner = '%s' AND status = 'queued'", owner);
	raw(sql, &n);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, owner), n);
}

/* Every way a job enters or leaves the queue moves the count: insert, claim, requeue, lease
 * rescue, cancel, finish. */
static void test_counter_follows_every_transition(void **state)
{
	const int limits[VEX_PLAN_COUNT] = { 9, 9, 9, 9 };
	struct vex_job *j = NULL, *out = vex_job_new();
	struct vex_job_list l = { NULL, 0 };
	char id[VEX_UUID_LEN + 1];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(add_job(store, "erin", 0, NULL, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "erin"), 4);
	assert_int_equal(vex_store_job_claim(store, "r1", NOW, 1000, limits, &j), 0);
	assert_counter_true("erin");
	assert_int_equal(vex_store_job_requeue(store, j->id, "r1", 1, NOW + 1, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "erin"), 4);
	vex_job_free(j);
	assert_int_equal(vex_store_job_claim(store, "r1", NOW + 2, 1000, limits, &j), 0);
	assert_int_equal(vex_store_jobs_rescue(store, NOW + 10000000, &l), 0); /* its lease ran out */
	vex_job_list_release(&l);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "erin"), 4);
	vex_job_free(j);
	assert_int_equal(vex_store_job_claim(store, "r1", NOW + 20000000, 30000000, limits, &j), 0);
	assert_int_equal(vex_store_job_finish(store, j->id, "r1", VEX_JOB_COMPLETED, out, NOW + 20000001, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "erin"), 3);
	store_fixture_add_job(store, "erin", "echo", "{}", NOW, id);
	assert_int_equal(vex_store_job_cancel(store, id, "erin", 0, NOW + 3, NULL), 0);
	assert_counter_true("erin");
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, "nobody"), 0);
	vex_job_free(j);
	vex_job_free(out);
}

/* A database from before the counter (schema 7; migration 9's indexes and the columns, indexes, tables and triggers
 * of migrations 10-14 dropped too) with queued jobs gets both counters filled at open; deleting a queued job (an
 * operator's SQL, say) takes it off. */
static void test_migration_fills_the_counter(void **state)
{
	struct vex_store *s = NULL;
	struct vex_store_counts n;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* undoes SQLite migrations; PostgreSQL's schema has one version */
	for (int i = 0; i < 3; i++)
		assert_int_equal(add_job(store, "fran", 0, NULL, NULL), 0);
	assert_int_equal(add_job(store, "gus", 0, NULL, NULL), 0);
	vex_store_free(store);
	fx.store = store = NULL;
	raw(STORE_UNDO_MIGRATION_14, NULL);
	raw(STORE_UNDO_MIGRATION_13, NULL);
	raw("DROP INDEX jobs_finished;"
	    " DROP INDEX webhook_deliveries_job; DROP INDEX schedule_fires_slot;"
	    " ALTER TABLE jobs DROP COLUMN retry_of; ALTER TABLE jobs DROP COLUMN retried_by;"
	    " DROP INDEX webhook_deliveries_event; ALTER TABLE webhook_deliveries DROP COLUMN resend_of;"
	    " CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq);"
	    " DROP TABLE claim_pauses; ALTER TABLE jobs DROP COLUMN traceparent;"
	    " PRAGMA user_version = 7;", NULL);
	assert_int_equal(vex_store_open(path, 1, 1000, &s), 0);
	fx.store = store = s;
	assert_int_equal(vex_store_schema_version(s), 14);
	assert_int_equal(held(s, VEX_CAP_QUEUED_JOBS, "fran"), 3);
	assert_int_equal(vex_store_metrics_counts(s, &n), 0);
	assert_int_equal(n.jobs[VEX_JOB_TOOL][VEX_JOB_QUEUED], 4);
	assert_int_equal(held(s, VEX_CAP_QUEUED_JOBS, "gus"), 1);
	assert_int_equal(add_job(s, "fran", 3, NULL, NULL), VEX_ELIMIT);
	raw("DELETE FROM jobs WHERE owner = 'fran' AND id = (SELECT MIN(id) FROM jobs WHERE owner = 'fran')", NULL);
	assert_counter_true("fran");
	assert_int_equal(vex_store_metrics_counts(s, &n), 0);
	assert_int_equal(n.jobs[VEX_JOB_TOOL][VEX_JOB_QUEUED], 3);
	assert_int_equal(add_job(s, "fran", 3, NULL, NULL), 0);
	assert_counter_true("fran");
	assert_int_equal(vex_store_metrics_counts(s, &n), 0);
	assert_int_equal(n.jobs[VEX_JOB_TOOL][VEX_JOB_QUEUED], 4);
	assert_int_equal(n.jobs[VEX_JOB_TOOL][VEX_JOB_RUNNING] + n.jobs[VEX_JOB_AGENT][VEX_JOB_QUEUED], 0);
}

/*
 * N processes, each with its own connection, add K things of one owner at once against a cap of
 * CAP: exactly CAP are stored, whatever the interleaving (the count is inside the write).
 */
enum { N = 6, K = 4, CAP = 7 };

static int child_adds(enum vex_cap what)
{
	struct vex_caps caps = { { 0 } };
	struct vex_store *s = NULL;
	int ok = 0, rc = 0;
	char where[1024];

	caps.max[what] = CAP;
	store_fixture_where(&fx, where, sizeof(where));
	if (vex_store_open(where, 1, 10000, &s) != 0)
		return -1;
	for (int i = 0; i < K && rc >= 0; i++) {
		if (what == VEX_CAP_AGENTS) {
			struct vex_agent *a = make_agent("alice", NULL);

			rc = vex_store_agent_insert(s, a, &caps, NULL);
			vex_agent_free(a);
		} else if (what == VEX_CAP_WEBHOOKS) {
			struct vex_webhook *h = make_hook("alice");

			rc = vex_store_webhook_insert(s, h, &caps);
			vex_webhook_free(h);
		} else {
			rc = add_job(s, "alice", CAP, NULL, NULL);
		}
		ok += rc == 0;
		if (rc == VEX_ELIMIT)
			rc = 0;
	}
	vex_store_free(s);
	return rc < 0 ? -1 : ok;
}

static void race(enum vex_cap what)
{
	pid_t pids[N];
	int gate[2], status, stored = 0;

	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char c;
			int ok;

			close(gate[1]);
			if (read(gate[0], &c, 1) < 0)
				_exit(100);
			ok = child_adds(what);
			_exit(ok < 0 ? 100 : ok);
		}
	}
	close(gate[0]);
	close(gate[1]); /* all go at once */
	for (int i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_true(WEXITSTATUS(status) <= K);
		stored += WEXITSTATUS(status);
	}
	assert_int_equal(stored, CAP);
	assert_int_equal(held(store, what, "alice"), CAP);
}

static void test_race_agents(void **state)
{
	(void)state;
	race(VEX_CAP_AGENTS);
}

static void test_race_queued_jobs(void **state)
{
	(void)state;
	race(VEX_CAP_QUEUED_JOBS);
}

static void test_race_webhooks(void **state)
{
	(void)state;
	race(VEX_CAP_WEBHOOKS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_agents, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_schedules, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_queued_jobs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_queued_jobs_batch, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_scheduled_run_at_cap, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_webhooks, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_counter_follows_every_transition, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_migration_fills_the_counter, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_race_agents, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_race_queued_jobs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_race_webhooks, store_setup, store_teardown),
	};

	vex_log_init("test_store_caps", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
