/* test_store_ops.c - cancel by filter and the prunes (events, jobs with their deliveries, schedule fires) through
 * the store interface, on SQLite and, from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL:
 * the same jobs chosen, the same bounds. Jobs are moved on (running, finished) in SQL of the test's own, so that
 * only these functions and job inserts are the store's; test_store_operator.c and test_store_retention.c cover them
 * with claims, the fan-out and the stats rollup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/store/operator.h"
#include "core/store/retention.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "ops"
#include "tests/unit/store_fixture.h"

#define T0 1700000000000000LL
#define S 1000000LL

/* Queue a tool job of "owner" running "tool" at "priority", created at "at": its id in "id". */
static void add(const char *owner, const char *tool, int priority, int64_t at, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = store_fixture_job(owner, tool, "{}", at), *got = NULL;

	j->priority = priority;
	assert_int_equal(vex_store_job_insert(store, j, &got, &(int){ 0 }), 0);
	memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

/* Run "fmt" (one %s: the job id "id", one %lld: "v") on the test's own connection. */
static void sql_job(const char *fmt, const char *id, long long v)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, v, id);
	store_fixture_exec(&fx, sql);
}

/* Job "id" as a runner holds it, its lease ending at "lease". */
static void set_running(const char *id, int64_t lease)
{
	sql_job("UPDATE jobs SET status = 'running', attempts = 1, lease_owner = 'r1', lease_expires_at = %lld,"
		" rev = rev + 1 WHERE id = '%s'",
		id, (long long)lease);
}

/* Job "id" finished ("status") at "at". */
static void set_finished(const char *id, const char *status, int64_t at)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "UPDATE jobs SET status = '%s', completed_at = %lld, updated_at = %lld, rev = rev + 1 WHERE id = '%s'",
		 status, (long long)at, (long long)at, id);
	store_fixture_exec(&fx, sql);
}

static int64_t sql_int(const char *sql)
{
	return store_fixture_sql_int(&fx, sql);
}

/* The status of job "id" (VEX_JOB_*), or -1 when it is gone. */
static int status_of(const char *id)
{
	struct vex_job *j = NULL;
	int rc = vex_store_job_get(store, id, NULL, &j), st;

	if (rc == VEX_ENOTFOUND)
		return -1;
	assert_int_equal(rc, 0);
	st = j->status;
	vex_job_free(j);
	return st;
}

/* One batch: the ids it returned, in order, comma separated, in "out"; the rows' own checks. */
static size_t batch(const struct vex_cancel_filter *f, enum vex_job_status which, int max, int64_t now_us, char *out,
		    size_t cap)
{
	struct vex_job_list l = { NULL, 0 };
	size_t len = 0, n;

	assert_int_equal(vex_store_jobs_cancel_batch(store, f, which, max, now_us, &l), 0);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		const struct vex_job *j = l.items[i];

		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", j->id);
		assert_true(j->updated_at == now_us);
		if (which == VEX_JOB_QUEUED) {
			assert_int_equal(j->status, VEX_JOB_CANCELED);
			assert_true(j->completed_at == now_us);
			assert_string_equal(j->error_code, "CANCELED");
			assert_string_equal(j->error_message, "canceled before it started (cancel by filter)");
		} else {
			assert_int_equal(j->status, VEX_JOB_RUNNING);
			assert_int_equal(j->cancel_requested, 1);
		}
	}
	n = l.n;
	vex_job_list_release(&l);
	return n;
}

/* Queued jobs go in claim order (priority, then id) whatever the filter, a batch at a time; jobs after the cutoff,
 * other owners', other tools' and other statuses' stay. */
static void test_cancel_queued_in_claim_order(void **state)
{
	char low[VEX_UUID_LEN + 1], high[VEX_UUID_LEN + 1], mid1[VEX_UUID_LEN + 1], mid2[VEX_UUID_LEN + 1];
	char bob[VEX_UUID_LEN + 1], other[VEX_UUID_LEN + 1], late[VEX_UUID_LEN + 1], run[VEX_UUID_LEN + 1];
	char got[512], want[512];
	struct vex_cancel_filter f = { .owner = "alice", .tool = "echo", .cutoff_us = T0 + 10 };

	(void)state;
	add("alice", "echo", 0, T0 + 1, low);
	add("alice", "echo", 9, T0 + 2, high);
	add("alice", "echo", 5, T0 + 3, mid1);
	add("alice", "echo", 5, T0 + 4, mid2);
	add("bob", "echo", 9, T0 + 5, bob);
	add("alice", "sleep", 9, T0 + 6, other);
	add("alice", "echo", 0, T0 + 6, run);
	set_running(run, T0 + 100);
	add("alice", "echo", 9, T0 + 11, late); /* after the cutoff */
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 3, T0 + 20, got, sizeof(got)), 3);
	snprintf(want, sizeof(want), "%s,%s,%s", high, mid1, mid2);
	assert_string_equal(got, want);
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 3, T0 + 21, got, sizeof(got)), 1);
	assert_string_equal(got, low);
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 3, T0 + 22, got, sizeof(got)), 0);
	assert_int_equal(status_of(bob), VEX_JOB_QUEUED);
	assert_int_equal(status_of(other), VEX_JOB_QUEUED);
	assert_int_equal(status_of(late), VEX_JOB_QUEUED);
	assert_int_equal(status_of(run), VEX_JOB_RUNNING);
	/* every owner, any tool: the best of the whole queue first */
	f = (struct vex_cancel_filter){ .cutoff_us = T0 + 10 };
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 1, T0 + 23, got, sizeof(got)), 1);
	assert_string_equal(got, bob);
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 5, T0 + 24, got, sizeof(got)), 1);
	assert_string_equal(got, other);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE status = 'queued'"), 1);
	assert_int_equal(sql_int("SELECT SUM(n) FROM job_tally WHERE owner = 'alice' AND status = 'queued'"), 1);
	/* one event per job changed, as any job write */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM job_events WHERE type = 'canceled'"), 6);
}

/* The time bounds (created_after inclusive, created_before exclusive) and an agent's jobs. */
static void test_cancel_bounds_and_agent(void **state)
{
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], c[VEX_UUID_LEN + 1], got[512], want[512];
	char agent_job[VEX_UUID_LEN + 1];
	struct vex_cancel_filter f = { .created_after = T0 + 2, .created_before = T0 + 4, .cutoff_us = T0 + 10 };
	struct vex_agent *ag = vex_agent_new();
	struct vex_sched_fire fire = { .slot_us = T0, .now_us = T0 + 5, .max_attempts = 1, .timeout_ms = 1000 };
	struct vex_job *j = NULL;

	(void)state;
	add("alice", "echo", 0, T0 + 1, a);
	add("alice", "echo", 0, T0 + 2, b);
	add("alice", "echo", 0, T0 + 4, c);
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 10, T0 + 20, got, sizeof(got)), 1);
	assert_string_equal(got, b);
	f = (struct vex_cancel_filter){ .created_after = T0 + 3, .cutoff_us = T0 + 10 };
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 10, T0 + 21, got, sizeof(got)), 1);
	assert_string_equal(got, c);
	/* an agent's run (fired by its schedule) */
	assert_non_null(ag);
	vex_uuid7(ag->id);
	snprintf(ag->owner, sizeof(ag->owner), "alice");
	ag->name = strdup("n");
	ag->role = strdup("r");
	ag->max_depth = 3;
	ag->schedule_json = strdup("{\"tasksPerDay\":1}");
	ag->status = VEX_AGENT_ACTIVE;
	ag->created_at = T0;
	assert_int_equal(vex_store_agent_insert(store, ag, NULL, NULL), 0);
	fire.agent_id = ag->id;
	assert_int_equal(vex_store_schedule_fire(store, &fire, &j), 0);
	memcpy(agent_job, j->id, sizeof(agent_job));
	vex_job_free(j);
	f = (struct vex_cancel_filter){ .agent_id = ag->id, .cutoff_us = T0 + 10 };
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 10, T0 + 22, got, sizeof(got)), 1);
	assert_string_equal(got, agent_job);
	assert_int_equal(status_of(a), VEX_JOB_QUEUED);
	f = (struct vex_cancel_filter){ .owner = "alice", .cutoff_us = T0 + 10 };
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 10, T0 + 23, got, sizeof(got)), 1);
	snprintf(want, sizeof(want), "%s", a);
	assert_string_equal(got, want);
	vex_agent_free(ag);
}

/* Running jobs are asked to stop once, by lease expiry; refused arguments change nothing. */
static void test_cancel_running(void **state)
{
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], q[VEX_UUID_LEN + 1], got[512];
	struct vex_cancel_filter f = { .cutoff_us = T0 + 10 };
	struct vex_job_list l = { NULL, 0 };

	(void)state;
	add("alice", "echo", 0, T0 + 1, a);
	add("bob", "echo", 0, T0 + 2, b);
	add("bob", "echo", 0, T0 + 3, q);
	set_running(a, T0 + 900);
	set_running(b, T0 + 800);
	assert_int_equal(batch(&f, VEX_JOB_RUNNING, 1, T0 + 20, got, sizeof(got)), 1);
	assert_string_equal(got, b); /* the lease that ends first */
	assert_int_equal(batch(&f, VEX_JOB_RUNNING, 10, T0 + 21, got, sizeof(got)), 1);
	assert_string_equal(got, a);
	assert_int_equal(batch(&f, VEX_JOB_RUNNING, 10, T0 + 22, got, sizeof(got)), 0);
	assert_int_equal(status_of(q), VEX_JOB_QUEUED);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM job_events WHERE type = 'cancel_requested'"), 2);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_COMPLETED, 10, T0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_QUEUED, 0, T0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_QUEUED, 1001, T0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_cancel_batch(store, NULL, VEX_JOB_QUEUED, 1, T0, &l), VEX_EINVAL);
	/* a filter no job can match: odd bytes (SQLite keeps any, PostgreSQL's text only UTF-8) */
	f.owner = "\xe2\x82\xac";
	assert_int_equal(batch(&f, VEX_JOB_QUEUED, 10, T0 + 23, got, sizeof(got)), 0);
	f.owner = "\xff";
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_QUEUED, 10, T0, &l),
			 store_fixture_postgres() ? VEX_EINVAL : 0);
	vex_job_list_release(&l);
	assert_int_equal(status_of(q), VEX_JOB_QUEUED);
}

/* "n" events of one job at time "at" (seqs after the newest). */
static void seed_events(int n, int64_t at)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO job_events(job_id, owner, rev, type, status, attempts, at)"
		 " SELECT '00000000-0000-7000-8000-000000000000', 'seed', i, 'progress', 'running', 1, %lld FROM c",
		 n, (long long)at);
	store_fixture_exec(&fx, sql);
}

static void set_cursors(int64_t seq)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "UPDATE event_cursors SET seq = %lld", (long long)seq);
	store_fixture_exec(&fx, sql);
}

/* The slowest cursor, the newest event and the first young event bound the prune; a batch at most "limit". */
static void test_events_prune_bounds(void **state)
{
	int64_t deleted = -1, first, last;

	(void)state;
	assert_int_equal(vex_store_job_events_prune(store, T0, 10, &deleted), 0);
	assert_int_equal(deleted, 0); /* no event at all */
	seed_events(100, T0 - 7200 * S);
	seed_events(20, T0);
	first = sql_int("SELECT MIN(seq) FROM job_events");
	last = sql_int("SELECT MAX(seq) FROM job_events");
	set_cursors(first + 9);
	store_fixture_exec(&fx, "UPDATE event_cursors SET seq = seq + 50 WHERE name = 'webhooks'");
	assert_int_equal(vex_store_job_events_prune(store, T0, 1000, &deleted), 0);
	assert_int_equal(deleted, 10); /* up to the slowest cursor, included */
	set_cursors(last);
	assert_int_equal(vex_store_job_events_prune(store, T0, 30, &deleted), 0);
	assert_int_equal(deleted, 30); /* a batch */
	assert_int_equal(sql_int("SELECT MIN(seq) FROM job_events"), first + 40);
	assert_int_equal(vex_store_job_events_prune(store, T0, 1000, &deleted), 0);
	assert_int_equal(deleted, 60); /* up to the first young event */
	assert_int_equal(vex_store_job_events_prune(store, T0, 1000, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(vex_store_job_events_prune(store, T0 + 1, 1000, &deleted), 0);
	assert_int_equal(deleted, 19); /* never the newest */
	assert_int_equal(sql_int("SELECT MIN(seq) FROM job_events"), last);
	/* no cursor at all: nothing passed, nothing goes */
	seed_events(5, T0 - 7200 * S);
	store_fixture_exec(&fx, "DELETE FROM event_cursors");
	assert_int_equal(vex_store_job_events_prune(store, T0 + 1, 1000, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(vex_store_job_events_prune(store, T0, 0, &deleted), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_prune(store, T0, VEX_PRUNE_BATCH_MAX + 1, &deleted), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_prune(store, T0, VEX_PRUNE_BATCH_MAX, NULL), 0);
}

/* A delivery of job "id" to hook "hook" with one attempt. */
static void add_delivery(const char *hook, const char *id, int n)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, attempts,"
		 " next_at, created_at) VALUES ('msg_%d', '%s', 'alice', '%s', %d, 'job.completed', '{}', 'failed', 1, 0, 0);"
		 "INSERT INTO webhook_attempts(delivery_id, n, at, status_code, duration_us)"
		 " VALUES ('msg_%d', 1, 0, 500, 10)",
		 n, hook, id, n, n);
	store_fixture_exec(&fx, sql);
}

/* Old finished jobs go, oldest first, a batch at a time, with their deliveries and attempts; nothing the fan-out has
 * not passed (with its margin), and never a queued or running job. */
static void test_jobs_prune(void **state)
{
	static const char *const ends[] = { "completed", "failed", "canceled", "timeout" };
	char old[4][VEX_UUID_LEN + 1], young[VEX_UUID_LEN + 1], running[VEX_UUID_LEN + 1], queued[VEX_UUID_LEN + 1];
	char ids[10][VEX_UUID_LEN + 1];
	int n = -1;

	(void)state;
	store_fixture_exec(&fx, "INSERT INTO webhooks(id, owner, url, events, secret, status, created_at, updated_at)"
				" VALUES ('hook_1', 'alice', 'http://receiver.example/hook', 1, 's', 'active', 0, 0)");
	/* completed in an order other than their ids' */
	for (int i = 0; i < 4; i++)
		add("alice", "echo", 0, T0 + i, old[i]);
	for (int i = 0; i < 4; i++)
		set_finished(old[i], ends[i], T0 + 100 * S - (4 - i) * S);
	add_delivery("hook_1", old[0], 1);
	add_delivery("hook_1", old[0], 2);
	add("alice", "echo", 0, T0 + 5, young);
	set_finished(young, "completed", T0 + 200 * S);
	add_delivery("hook_1", young, 3);
	add("alice", "echo", 0, T0 + 6, running);
	set_running(running, T0 + 300 * S);
	add("alice", "echo", 0, T0 + 7, queued);
	/* the cursors have not passed any event: the first one's time (minus the margin) bounds the prune */
	assert_int_equal(vex_store_jobs_prune(store, T0 + 150 * S, 10, ids, &n), 0);
	assert_int_equal(n, 0);
	set_cursors(sql_int("SELECT MAX(seq) FROM job_events"));
	assert_int_equal(vex_store_jobs_prune(store, T0 + 150 * S, 3, ids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(vex_store_jobs_prune(store, T0 + 150 * S, 3, ids + 3, &n), 0);
	assert_int_equal(n, 1);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(ids[i], old[i]); /* oldest first */
		assert_int_equal(status_of(old[i]), -1);
	}
	assert_int_equal(sql_int("SELECT COUNT(*) FROM webhook_deliveries"), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM webhook_attempts"), 1);
	assert_int_equal(vex_store_jobs_prune(store, T0 + 150 * S, 3, ids, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(status_of(young), VEX_JOB_COMPLETED);
	assert_int_equal(status_of(running), VEX_JOB_RUNNING);
	assert_int_equal(status_of(queued), VEX_JOB_QUEUED);
	/* a cursor behind the young job's events holds it back, then lets it go */
	set_cursors(0);
	assert_int_equal(vex_store_jobs_prune(store, T0 + 1000 * S, 3, ids, &n), 0);
	assert_int_equal(n, 0);
	set_cursors(sql_int("SELECT MAX(seq) FROM job_events"));
	assert_int_equal(vex_store_jobs_prune(store, T0 + 1000 * S, 3, ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], young);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM webhook_deliveries"), 0);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM webhook_attempts"), 0);
	assert_true(sql_int("SELECT COUNT(*) FROM job_events") > 0); /* events follow their own retention */
	assert_int_equal(vex_store_jobs_prune(store, T0, 0, ids, &n), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_prune(store, T0, VEX_PRUNE_BATCH_MAX + 1, ids, &n), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_prune(store, T0, 1, NULL, &n), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_prune(store, T0, 1, ids, NULL), VEX_EINVAL);
}

/* Fires older than the bound go, by slot, a batch at a time. */
static void test_schedule_fires_prune(void **state)
{
	struct vex_agent *ag = vex_agent_new();
	struct vex_sched_fire f = { .now_us = T0, .max_attempts = 1, .timeout_ms = 1000 };
	struct vex_job *j = NULL;
	int64_t deleted = -1;
	int fired = -1;

	(void)state;
	assert_non_null(ag);
	vex_uuid7(ag->id);
	snprintf(ag->owner, sizeof(ag->owner), "alice");
	ag->name = strdup("n");
	ag->role = strdup("r");
	ag->max_depth = 3;
	ag->schedule_json = strdup("{\"tasksPerDay\":3}");
	ag->status = VEX_AGENT_ACTIVE;
	ag->created_at = T0;
	assert_int_equal(vex_store_agent_insert(store, ag, NULL, NULL), 0);
	f.agent_id = ag->id;
	for (int64_t slot = 100; slot <= 300; slot += 100) {
		f.slot_us = slot;
		assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
		vex_job_free(j);
		j = NULL;
	}
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 1, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(vex_store_schedule_fired(store, ag->id, 100, &fired), 0);
	assert_int_equal(fired, 0);
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 10, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 10, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(sql_int("SELECT slot FROM schedule_fires"), 300);
	assert_int_equal(vex_store_schedule_fired(store, ag->id, 300, &fired), 0);
	assert_int_equal(fired, 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs"), 3); /* the runs stay */
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, 0, &deleted), VEX_EINVAL);
	assert_int_equal(vex_store_schedule_fires_prune(store, 250, VEX_PRUNE_BATCH_MAX + 1, &deleted), VEX_EINVAL);
	vex_agent_free(ag);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cancel_queued_in_claim_order, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_bounds_and_agent, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_running, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_events_prune_bounds, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_prune, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_schedule_fires_prune, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
