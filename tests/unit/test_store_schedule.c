/* test_store_schedule.c - scheduled agents in the store: listing, firing a slot exactly once, paused/deleted agents,
 * on SQLite and, from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL. */
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
#include <jansson.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "sched"
#include "tests/unit/store_fixture.h"

#define SLOT 1763900460000000LL /* 2025-11-23T12:21:00Z */
#define NOW (SLOT + 5000000LL)

/* Insert an agent of "owner" with "schedule" (NULL: none) and "status"; its id into "id". */
static void add_agent(const char *owner, const char *schedule, enum vex_agent_status status,
		      char id[VEX_UUID_LEN + 1])
{
	struct vex_agent *a = vex_agent_new();

	assert_non_null(a);
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "%s", owner);
	a->name = strdup("scheduled");
	a->role = strdup("You summarise the news.");
	a->max_depth = 3;
	a->schedule_json = schedule ? strdup(schedule) : NULL;
	a->status = status;
	a->plan = VEX_PLAN_PRO;
	a->created_at = SLOT - 3600000000LL;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	memcpy(id, a->id, VEX_UUID_LEN + 1);
	vex_agent_free(a);
}

static struct vex_sched_fire fire_of(const char *agent_id, int64_t slot)
{
	struct vex_sched_fire f = { .agent_id = agent_id, .slot_us = slot, .now_us = NOW, .max_attempts = 2,
				    .timeout_ms = 60000 };

	return f;
}

/* Jobs stored, all owners. */
static int64_t count(void)
{
	return store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM jobs");
}

/* Fire rows stored, all agents. */
static int64_t fires(void)
{
	return store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM schedule_fires");
}

static void test_list_only_active_scheduled(void **state)
{
	char act[VEX_UUID_LEN + 1], paused[VEX_UUID_LEN + 1], del[VEX_UUID_LEN + 1], none[VEX_UUID_LEN + 1];
	char act2[VEX_UUID_LEN + 1];
	struct vex_sched_agent_list l = { 0 };

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, act);
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_PAUSED, paused);
	add_agent("bob", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, del);
	add_agent("bob", NULL, VEX_AGENT_ACTIVE, none);
	add_agent("carol", "{\"tasksPerDay\":2}", VEX_AGENT_ACTIVE, act2);
	assert_int_equal(vex_store_agent_delete(store, del, "bob", NOW), 0);

	assert_int_equal(vex_store_scheduled_agents(store, NULL, 10, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, act); /* ascending id */
	assert_string_equal(l.items[1].id, act2);
	assert_string_equal(l.items[0].schedule_json, "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}");
	assert_true(l.items[0].created_at == SLOT - 3600000000LL);
	vex_sched_agent_list_release(&l);

	/* paging by id */
	assert_int_equal(vex_store_scheduled_agents(store, NULL, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, act);
	vex_sched_agent_list_release(&l);
	assert_int_equal(vex_store_scheduled_agents(store, act, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, act2);
	vex_sched_agent_list_release(&l);
	assert_int_equal(vex_store_scheduled_agents(store, act2, 1, &l), 0);
	assert_int_equal(l.n, 0);
	vex_sched_agent_list_release(&l);

	assert_int_equal(vex_store_scheduled_agents(store, NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_scheduled_agents(store, NULL, 1001, &l), VEX_EINVAL);
}

static void test_fire_once(void **state)
{
	char id[VEX_UUID_LEN + 1];
	struct vex_sched_fire f;
	struct vex_job *j = NULL, *again = NULL, *got = NULL;
	json_t *input;
	int fired = -1;

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	assert_int_equal(vex_store_schedule_fired(store, id, SLOT, &fired), 0);
	assert_int_equal(fired, 0);

	f = fire_of(id, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_non_null(j);
	assert_int_equal(j->kind, VEX_JOB_AGENT);
	assert_string_equal(j->agent_id, id);
	assert_string_equal(j->owner, "alice");
	assert_int_equal(j->plan, VEX_PLAN_PRO);
	assert_int_equal(j->status, VEX_JOB_QUEUED);

	/* what is stored */
	assert_int_equal(vex_store_job_get(store, j->id, "alice", &got), 0);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	assert_int_equal(got->max_attempts, 2);
	assert_true(got->timeout_ms == 60000);
	assert_true(got->created_at == NOW);
	assert_int_equal(got->plan, VEX_PLAN_PRO);
	input = json_loads(got->input_json, 0, NULL);
	assert_non_null(input);
	assert_string_equal(json_string_value(json_object_get(input, "prompt")),
			    "You summarise the news.");
	assert_true(json_is_null(json_object_get(input, "context_id")));
	assert_string_equal(json_string_value(json_object_get(input, "trigger")), "schedule");
	assert_string_equal(json_string_value(json_object_get(input, "scheduled_for")), "2025-11-23T12:21:00.000Z");
	json_decref(input);
	assert_int_equal(vex_store_schedule_fired(store, id, SLOT, &fired), 0);
	assert_int_equal(fired, 1);

	/* a second fire of the same slot is a no-op */
	assert_int_equal(vex_store_schedule_fire(store, &f, &again), VEX_EEXIST);
	assert_null(again);
	assert_true(count() == 1);

	/* the next slot is a new run */
	f = fire_of(id, SLOT + 86400000000LL);
	assert_int_equal(vex_store_schedule_fire(store, &f, &again), 0);
	assert_true(count() == 2);
	vex_job_free(again);
	vex_job_free(got);
	vex_job_free(j);
}

/* A scheduled run decides tool grants as the agent's creator was recorded: an admin's agent fires
 * admin jobs (stored so), a user's agent user jobs. */
static void test_fire_as_recorded_owner(void **state)
{
	char user_id[VEX_UUID_LEN + 1];
	struct vex_agent *a = vex_agent_new(), *back = NULL;
	struct vex_sched_fire f;
	struct vex_job *j = NULL, *got = NULL;

	(void)state;
	assert_non_null(a);
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "%s", "root");
	a->name = strdup("scheduled");
	a->role = strdup("You summarise the news.");
	a->max_depth = 3;
	a->schedule_json = strdup("{\"tasksPerDay\":1,\"times\":[\"12:21\"]}");
	a->status = VEX_AGENT_ACTIVE;
	a->owner_admin = 1;
	a->created_at = SLOT - 3600000000LL;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_get(store, a->id, NULL, 0, &back), 0);
	assert_int_equal(back->owner_admin, 1);
	f = fire_of(a->id, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->owner_admin, 1);
	assert_int_equal(vex_store_job_get(store, j->id, "root", &got), 0);
	assert_int_equal(got->owner_admin, 1);
	vex_job_free(got);
	vex_job_free(j);
	got = j = NULL;

	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, user_id);
	f = fire_of(user_id, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->owner_admin, 0);
	assert_int_equal(vex_store_job_get(store, j->id, "alice", &got), 0);
	assert_int_equal(got->owner_admin, 0);
	vex_job_free(got);
	vex_job_free(j);
	vex_agent_free(back);
	vex_agent_free(a);
}

static void test_paused_deleted_not_fired(void **state)
{
	char paused[VEX_UUID_LEN + 1], del[VEX_UUID_LEN + 1], none[VEX_UUID_LEN + 1];
	struct vex_sched_fire f;
	struct vex_job *j = NULL;
	int fired = -1;

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_PAUSED, paused);
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, del);
	add_agent("alice", NULL, VEX_AGENT_ACTIVE, none);
	assert_int_equal(vex_store_agent_delete(store, del, NULL, NOW), 0);

	f = fire_of(paused, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_ENOTFOUND);
	f = fire_of(del, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_ENOTFOUND);
	f = fire_of(none, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_ENOTFOUND);
	f = fire_of("0190a000-0000-7000-8000-000000000000", SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_ENOTFOUND);
	assert_null(j);
	/* nothing stored for a refused fire: no job and the slot stays free */
	assert_true(count() == 0);
	assert_int_equal(vex_store_schedule_fired(store, paused, SLOT, &fired), 0);
	assert_int_equal(fired, 0);
}

static void test_fire_invalid(void **state)
{
	char id[VEX_UUID_LEN + 1];
	struct vex_sched_fire f;
	struct vex_job *j = NULL;

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	assert_int_equal(vex_store_schedule_fire(store, NULL, &j), VEX_EINVAL);
	f = fire_of(id, SLOT);
	f.max_attempts = 0;
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_EINVAL);
	f = fire_of("", SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_EINVAL);
	assert_null(j);
	assert_true(count() == 0);
}

/* "n" processes (runners on as many hosts), each with a connection of its own, fire slot "slot" of agent "id" at
 * the same moment, "rounds" times over (one slot a round): each slot gives one job and one fire row. */
static void race(int n, const char *id, int rounds)
{
	char where[1024];
	pid_t pids[8];
	int gate[2], i, status;

	assert_true(n <= 8);
	if (store_fixture_postgres())
		assert_int_equal(store_fixture_pg_url(fx.pg_db, where, sizeof(where)), 0);
	else
		snprintf(where, sizeof(where), "%s", path);
	for (int r = 0; r < rounds; r++) {
		int64_t slot = SLOT + r * 60000000LL;
		int created = 0, fired = 0;

		assert_int_equal(pipe(gate), 0);
		for (i = 0; i < n; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				struct vex_sched_fire f = fire_of(id, slot);
				struct vex_store *s = NULL;
				struct vex_job *j = NULL;
				char c;
				int rc;

				close(gate[1]);
				if (vex_store_open(where, 1, 10000, &s) != 0)
					_exit(3);
				if (read(gate[0], &c, 1) < 0)
					_exit(3);
				rc = vex_store_schedule_fire(s, &f, &j);
				vex_job_free(j);
				vex_store_free(s);
				_exit(rc == 0 ? 0 : rc == VEX_EEXIST ? 1 : 2);
			}
		}
		close(gate[0]);
		close(gate[1]); /* all children go at once */
		for (i = 0; i < n; i++) {
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status));
			assert_true(WEXITSTATUS(status) <= 1);
			created += WEXITSTATUS(status) == 0;
		}
		assert_int_equal(created, 1);
		assert_int_equal(vex_store_schedule_fired(store, id, slot, &fired), 0);
		assert_int_equal(fired, 1);
		assert_true(count() == r + 1);
		assert_true(fires() == r + 1);
	}
}

/* Two runners fire the same slot at the same moment: one job, one fire row. */
static void test_two_connections_fire_once(void **state)
{
	char id[VEX_UUID_LEN + 1];

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	race(2, id, 10);
}

/* Several processes (two runners and more) fire the same slot at the same moment: one job. */
static void test_concurrent_fire(void **state)
{
	char id[VEX_UUID_LEN + 1];

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	race(6, id, 3);
}

/* A scheduled run at the queued-job cap is stored failed, once, with the cap's code; an admin's agent has none. */
static void test_fire_at_cap(void **state)
{
	const int caps[VEX_PLAN_COUNT] = { 1, 1, 1, 1 };
	char id[VEX_UUID_LEN + 1], queued[VEX_UUID_LEN + 1];
	struct vex_sched_fire f;
	struct vex_job *j = NULL, *got = NULL;
	int64_t held = -1;

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	store_fixture_add_job(store, "alice", "echo", "{}", NOW, queued);
	f = fire_of(id, SLOT);
	f.queued_caps = caps;
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->status, VEX_JOB_FAILED);
	assert_string_equal(j->error_code, "QUEUED_JOB_LIMIT_REACHED");
	assert_non_null(strstr(j->error_message, "at most 1 queued jobs"));
	assert_true(j->completed_at == NOW);
	assert_int_equal(j->rev, 2);
	assert_int_equal(vex_store_job_get(store, j->id, "alice", &got), 0);
	assert_int_equal(got->status, VEX_JOB_FAILED);
	assert_string_equal(got->error_code, "QUEUED_JOB_LIMIT_REACHED");
	vex_job_free(got);
	vex_job_free(j);
	j = NULL;
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_QUEUED_JOBS, "alice", &held), 0);
	assert_true(held == 1);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), VEX_EEXIST); /* the slot counts as fired */
	assert_null(j);
	/* without the cap it queues */
	f = fire_of(id, SLOT + 60000000LL);
	assert_int_equal(vex_store_schedule_fire(store, &f, &j), 0);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	vex_job_free(j);
	assert_true(count() == 3);
	assert_true(fires() == 2);
}

/* Bad arguments, and ids no agent has (odd bytes: SQLite keeps any, PostgreSQL's text only UTF-8). */
static void test_odd_arguments(void **state)
{
	char id[VEX_UUID_LEN + 1];
	struct vex_sched_agent_list l = { 0 };
	struct vex_sched_fire f;
	int fired = -1;

	(void)state;
	add_agent("alice", "{\"tasksPerDay\":1,\"times\":[\"12:21\"]}", VEX_AGENT_ACTIVE, id);
	assert_int_equal(vex_store_schedule_fired(store, NULL, SLOT, &fired), VEX_EINVAL);
	assert_int_equal(fired, -1);
	f = fire_of(id, SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, NULL), VEX_EINVAL);
	f.timeout_ms = -1;
	assert_int_equal(vex_store_schedule_fire(store, &f, &(struct vex_job *){ NULL }), VEX_EINVAL);
	assert_int_equal(vex_store_scheduled_agents(store, NULL, 1000, &l), 0);
	assert_int_equal(l.n, 1);
	vex_sched_agent_list_release(&l);
	assert_int_equal(vex_store_scheduled_agents(store, "", 10, &l), 0); /* "" as NULL: from the start */
	assert_int_equal(l.n, 1);
	vex_sched_agent_list_release(&l);
	assert_int_equal(vex_store_scheduled_agents(store, "\xe2\x82\xac", 10, &l), 0); /* after every id */
	assert_int_equal(l.n, 0);
	vex_sched_agent_list_release(&l);
	assert_int_equal(vex_store_schedule_fired(store, "\xe2\x82\xac", SLOT, &fired), 0);
	assert_int_equal(fired, 0);
	if (store_fixture_postgres()) {
		assert_int_equal(vex_store_scheduled_agents(store, "\xff", 10, &l), VEX_EINVAL);
		assert_int_equal(vex_store_schedule_fired(store, "\xff", SLOT, &fired), VEX_EINVAL);
	} else {
		assert_int_equal(vex_store_scheduled_agents(store, "\xff", 10, &l), 0);
		assert_int_equal(l.n, 0);
		vex_sched_agent_list_release(&l);
		assert_int_equal(vex_store_schedule_fired(store, "\xff", SLOT, &fired), 0);
		assert_int_equal(fired, 0);
	}
	f = fire_of("\xe2\x82\xac", SLOT);
	assert_int_equal(vex_store_schedule_fire(store, &f, &(struct vex_job *){ NULL }), VEX_ENOTFOUND);
	assert_true(count() == 0);
	assert_true(fires() == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_only_active_scheduled, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fire_once, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fire_as_recorded_owner, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_paused_deleted_not_fired, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fire_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_two_connections_fire_once, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_fire, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fire_at_cap, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_odd_arguments, store_setup, store_teardown),
	};

	vex_log_init("test_store_schedule", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
