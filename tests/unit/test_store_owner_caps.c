/* test_store_owner_caps.c - per-owner caps on agents, schedules and webhooks through the interface (the count, the
 * refusal, the race of two connections at the cap), on SQLite and, from tools/run-unit's second pass
 * (tests/unit/postgres.list), on PostgreSQL. Queued jobs, deletes of hooks and the counter: test_store_caps.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/log.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "ocaps"
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
	a->created_at = NOW;
	return a;
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

/* The count of each cap, its bad arguments, and owners that hold nothing. */
static void test_count(void **state)
{
	const char *owner = "\xe7\x94\xa8\xe6\x88\xb7 \xf0\x9f\x98\x80";
	struct vex_agent *a = make_agent(owner, SCHED), *b = make_agent(owner, NULL);
	struct vex_webhook *h = make_hook(owner);
	int64_t n = 42;

	(void)state;
	for (int cap = VEX_CAP_AGENTS; cap <= VEX_CAP_WEBHOOKS; cap++)
		assert_int_equal(held(store, (enum vex_cap)cap, owner), 0);
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_insert(store, b, NULL, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, owner), 2);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, owner), 1);
	assert_int_equal(held(store, VEX_CAP_WEBHOOKS, owner), 1);
	assert_int_equal(held(store, VEX_CAP_QUEUED_JOBS, owner), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "\xe7\x94\xa8\xe6\x88\xb7"), 0); /* a prefix is another owner */
	/* A paused agent counts; a deleted one does not. */
	a->status = VEX_AGENT_PAUSED;
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, owner), 1);
	assert_int_equal(vex_store_agent_delete(store, a->id, owner, NOW + 1), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, owner), 1);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, owner), 0);
	/* A disabled hook counts. */
	h->status = VEX_HOOK_DISABLED;
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	assert_int_equal(held(store, VEX_CAP_WEBHOOKS, owner), 1);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_STREAMS, owner, &n), VEX_EINVAL);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_COUNT, owner, &n), VEX_EINVAL);
	assert_int_equal(vex_store_cap_count(store, (enum vex_cap)-1, owner, &n), VEX_EINVAL);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_AGENTS, NULL, &n), VEX_EINVAL);
	assert_true(n == 42);
	vex_agent_free(a);
	vex_agent_free(b);
	vex_webhook_free(h);
}

static void test_agents(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_agent *a[4], *bobs, *got = NULL;
	enum vex_cap hit = VEX_CAP_COUNT;

	(void)state;
	caps.max[VEX_CAP_AGENTS] = 3;
	for (int i = 0; i < 4; i++)
		a[i] = make_agent("alice", NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vex_store_agent_insert(store, a[i], &caps, &hit), 0);
	assert_int_equal(hit, VEX_CAP_COUNT); /* untouched on success */
	assert_int_equal(vex_store_agent_insert(store, a[3], &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_AGENTS);
	assert_int_equal(vex_store_agent_insert(store, a[3], &caps, NULL), VEX_ELIMIT);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "alice"), 3); /* nothing stored */
	assert_int_equal(vex_store_agent_get(store, a[3]->id, NULL, 1, &got), VEX_ENOTFOUND);
	/* A duplicate at the cap is refused by the cap first, as the count comes before the insert. */
	assert_int_equal(vex_store_agent_insert(store, a[0], &caps, NULL), VEX_ELIMIT);
	bobs = make_agent("bob", NULL);
	assert_int_equal(vex_store_agent_insert(store, bobs, &caps, NULL), 0);
	vex_agent_free(bobs);
	/* No caps, or a max of 0 (an admin's): no cap. */
	caps.max[VEX_CAP_AGENTS] = 0;
	assert_int_equal(vex_store_agent_insert(store, a[3], &caps, NULL), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "alice"), 4);
	vex_agent_free(a[3]);
	a[3] = make_agent("alice", NULL);
	assert_int_equal(vex_store_agent_insert(store, a[3], NULL, NULL), 0);
	caps.max[VEX_CAP_AGENTS] = 3;
	/* Deleted agents no longer count. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(vex_store_agent_delete(store, a[i]->id, "alice", NOW + 1), 0);
	vex_agent_free(a[0]);
	a[0] = make_agent("alice", NULL);
	assert_int_equal(vex_store_agent_insert(store, a[0], &caps, &hit), 0);
	assert_int_equal(held(store, VEX_CAP_AGENTS, "alice"), 3);
	for (int i = 0; i < 4; i++)
		vex_agent_free(a[i]);
}

static void test_schedules(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_agent *s1 = make_agent("alice", SCHED), *s2 = make_agent("alice", SCHED);
	struct vex_agent *plain = make_agent("alice", NULL), *ghost = make_agent("alice", SCHED);
	enum vex_cap hit = VEX_CAP_COUNT;

	(void)state;
	caps.max[VEX_CAP_AGENTS] = 10;
	caps.max[VEX_CAP_SCHEDULES] = 1;
	assert_int_equal(vex_store_agent_insert(store, s1, &caps, &hit), 0);
	assert_int_equal(vex_store_agent_insert(store, s2, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_SCHEDULES);
	assert_int_equal(vex_store_agent_insert(store, plain, &caps, &hit), 0);
	/* Both caps reached: the agents' is named (checked first). */
	caps.max[VEX_CAP_AGENTS] = 2;
	assert_int_equal(vex_store_agent_insert(store, s2, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_AGENTS);
	caps.max[VEX_CAP_AGENTS] = 10;
	/* Giving the plain agent a schedule is refused; patching the scheduled one (even paused) is not. */
	plain->schedule_json = strdup(SCHED);
	hit = VEX_CAP_COUNT;
	assert_int_equal(vex_store_agent_update(store, plain, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(hit, VEX_CAP_SCHEDULES);
	/* At the cap an unknown agent is refused by the cap before it is found missing, as on SQLite. */
	assert_int_equal(vex_store_agent_update(store, ghost, &caps, &hit), VEX_ELIMIT);
	assert_int_equal(vex_store_agent_update(store, ghost, NULL, &hit), VEX_ENOTFOUND);
	s1->status = VEX_AGENT_PAUSED;
	assert_int_equal(vex_store_agent_update(store, s1, &caps, &hit), 0);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, "alice"), 1);
	free(s1->schedule_json);
	s1->schedule_json = NULL;
	assert_int_equal(vex_store_agent_update(store, s1, &caps, &hit), 0);
	assert_int_equal(vex_store_agent_update(store, plain, &caps, &hit), 0);
	assert_int_equal(held(store, VEX_CAP_SCHEDULES, "alice"), 1);
	vex_agent_free(s1);
	vex_agent_free(s2);
	vex_agent_free(plain);
	vex_agent_free(ghost);
}

static void test_webhooks(void **state)
{
	struct vex_caps caps = { { 0 } };
	struct vex_webhook *h[4];

	(void)state;
	caps.max[VEX_CAP_WEBHOOKS] = 2;
	caps.max[VEX_CAP_AGENTS] = 1; /* other caps do not apply to hooks */
	for (int i = 0; i < 4; i++)
		h[i] = make_hook(i == 3 ? "bob" : "alice");
	assert_int_equal(vex_store_webhook_insert(store, h[0], &caps), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[1], &caps), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[2], &caps), VEX_ELIMIT);
	assert_int_equal(held(store, VEX_CAP_WEBHOOKS, "alice"), 2);
	assert_int_equal(vex_store_webhook_insert(store, h[3], &caps), 0);
	assert_int_equal(vex_store_webhook_insert(store, h[2], NULL), 0);
	assert_int_equal(held(store, VEX_CAP_WEBHOOKS, "alice"), 3);
	for (int i = 0; i < 4; i++)
		vex_webhook_free(h[i]);
}

/*
 * Two connections (each opened by a process of its own after fork) add one thing each for the same owner that
 * holds CAP - 1, ROUNDS times, released together by a barrier: in every round exactly one wins and the other is
 * refused with VEX_ELIMIT. Rounds cycle through agents, schedules and webhooks, each round a new owner.
 */
enum { ROUNDS = 60, CAP = 3 };

struct race_shared {
	pthread_barrier_t go;
	int rc[2][ROUNDS];
};

static enum vex_cap round_cap(int r)
{
	static const enum vex_cap caps[] = { VEX_CAP_AGENTS, VEX_CAP_SCHEDULES, VEX_CAP_WEBHOOKS };

	return caps[r % 3];
}

static void round_owner(int r, char *out, size_t cap)
{
	snprintf(out, cap, "racer-%d-\xc3\xa9", r);
}

/* Add one thing of round "r"'s kind for its owner through "s": the store's answer. */
static int add_one(struct vex_store *s, int r)
{
	struct vex_caps caps = { { 0 } };
	char owner[64];
	int rc;

	round_owner(r, owner, sizeof(owner));
	caps.max[round_cap(r)] = CAP;
	if (round_cap(r) == VEX_CAP_WEBHOOKS) {
		struct vex_webhook *h = make_hook(owner);

		rc = vex_store_webhook_insert(s, h, &caps);
		vex_webhook_free(h);
	} else {
		struct vex_agent *a = make_agent(owner, round_cap(r) == VEX_CAP_SCHEDULES ? SCHED : NULL);

		if (round_cap(r) == VEX_CAP_SCHEDULES)
			caps.max[VEX_CAP_AGENTS] = 1000;
		rc = vex_store_agent_insert(s, a, &caps, NULL);
		vex_agent_free(a);
	}
	return rc;
}

static void racer(struct race_shared *sh, int who, const char *where)
{
	struct vex_store *s = NULL;
	int opened = vex_store_open(where, 1, 10000, &s) == 0;

	/* Every round's barrier is waited on even when the open failed, so the other racer is not left waiting. */
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&sh->go);
		sh->rc[who][r] = opened ? add_one(s, r) : VEX_EIO;
	}
	vex_store_free(s);
	_exit(opened ? 0 : 1);
}

static void test_race_at_cap(void **state)
{
	struct race_shared *sh;
	pthread_barrierattr_t attr;
	char where[1024], owner[64];
	pid_t pids[2];
	int status;

	(void)state;
	if (store_fixture_postgres())
		assert_int_equal(store_fixture_pg_url(fx.pg_db, where, sizeof(where)), 0);
	else
		snprintf(where, sizeof(where), "%s", path);
	/* Each round's owner holds CAP - 1 already (for schedules: scheduled agents). */
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < CAP - 1; i++)
			assert_int_equal(add_one(store, r), 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	assert_int_equal(pthread_barrierattr_init(&attr), 0);
	assert_int_equal(pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), 0);
	assert_int_equal(pthread_barrier_init(&sh->go, &attr, 2), 0);
	pthread_barrierattr_destroy(&attr);
	for (int who = 0; who < 2; who++) {
		pids[who] = fork();
		assert_true(pids[who] >= 0);
		if (pids[who] == 0)
			racer(sh, who, where);
	}
	for (int who = 0; who < 2; who++) {
		assert_int_equal(waitpid(pids[who], &status, 0), pids[who]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		int a = sh->rc[0][r], b = sh->rc[1][r];

		if (!((a == 0 && b == VEX_ELIMIT) || (a == VEX_ELIMIT && b == 0)))
			fail_msg("round %d (cap %d): the racers answered %d and %d", r, round_cap(r), a, b);
		round_owner(r, owner, sizeof(owner));
		assert_int_equal(held(store, round_cap(r), owner), CAP);
	}
	pthread_barrier_destroy(&sh->go);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_agents, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_schedules, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_webhooks, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_race_at_cap, store_setup, store_teardown),
	};

	vex_log_init("test_store_owner_caps", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
