/* test_store_claims.c - claiming jobs from the store: order, fairness across owners, plan limits, leases, terminal states, rescue, requeue, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/store/store.h"
#include "tests/unit/store_jobs_fixture.h"

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
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 4);
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
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 1);

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
	store_fixture_sql(&fx, "UPDATE jobs SET attempts = 3 WHERE id = (SELECT id FROM jobs"
			       " WHERE lease_owner = 'dead' ORDER BY priority LIMIT 1)");
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 3);
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

/* Claim one job with no plan limits and return its owner's first letter. */
static char claim_owner(const char *runner)
{
	struct vex_job *c = NULL;
	char who;

	assert_int_equal(vex_store_job_claim(store, runner, clock_us, LEASE_US, NULL, &c), 0);
	who = c->owner[0];
	vex_job_free(c);
	return who;
}

static void test_fair_round_robin(void **state)
{
	char order[16] = "";
	int i;

	(void)state;
	/* every job of alice is older than bob's and carol's: claims still take turns */
	add_jobs("alice", VEX_PLAN_ENTERPRISE, 5);
	add_jobs("bob", VEX_PLAN_ENTERPRISE, 5);
	add_jobs("carol", VEX_PLAN_ENTERPRISE, 2);
	for (i = 0; i < 12; i++)
		order[i] = claim_owner("r");
	assert_string_equal(order, "abcabcababab");
}

static void test_fair_backlog(void **state)
{
	char bob[VEX_UUID_LEN + 1];
	struct vex_job *c = NULL, *done = NULL, *held[4];
	int i;

	(void)state;
	/* alice's backlog fills the four slots; bob's job comes after all of it */
	for (i = 0; i < 200; i++)
		add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &held[i]), 0);
	add_job("bob", VEX_PLAN_FREE, 0, bob);
	/* the first slot that frees goes to bob */
	assert_int_equal(vex_store_job_finish(store, held[0]->id, "r", VEX_JOB_COMPLETED, NULL, clock_us, &done), 0);
	vex_job_free(done);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, bob);
	vex_job_free(c);
	/* a higher priority within alice's queue still goes first among hers */
	add_job("alice", VEX_PLAN_ENTERPRISE, 7, bob);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	assert_string_equal(c->id, bob);
	vex_job_free(c);
	for (i = 0; i < 4; i++)
		vex_job_free(held[i]);
}

/* A rescued job goes back into its owner's queue, and takes its turn as any other. */
static void test_fair_requeued(void **state)
{
	struct vex_job *a = NULL, *b = NULL, *got = NULL;
	struct vex_job_list l = { NULL, 0 };

	(void)state;
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	add_job("bob", VEX_PLAN_ENTERPRISE, 0, NULL);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, 10, NULL, &a), 0);
	assert_int_equal(vex_store_jobs_rescue(store, clock_us + 20, &l), 0);
	assert_int_equal(l.n, 1);
	vex_job_list_release(&l);
	/* alice's rescued job is her oldest: she and bob hold nothing, and it is the oldest queued */
	assert_int_equal(vex_store_job_claim(store, "r", clock_us + 30, LEASE_US, NULL, &got), 0);
	assert_string_equal(got->id, a->id);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us + 30, LEASE_US, NULL, &b), 0);
	assert_string_equal(b->owner, "bob");
	vex_job_free(got);
	vex_job_free(a);
	vex_job_free(b);
}

/* Queue "n" jobs of "owner" in batches. */
static void add_many(const char *owner, size_t n)
{
	struct vex_job *jobs[500], *rets[500];
	int created[500], rcs[500];
	size_t done, k, i;

	for (done = 0; done < n; done += k) {
		k = n - done < 500 ? n - done : 500;
		for (i = 0; i < k; i++)
			jobs[i] = new_tool_job(owner, VEX_PLAN_FREE, 0);
		assert_int_equal(vex_store_jobs_insert_batch(store, jobs, k, rets, created, rcs), 0);
		for (i = 0; i < k; i++) {
			assert_int_equal(rcs[i], 0);
			vex_job_free(rets[i]);
			vex_job_free(jobs[i]);
		}
	}
}

/* The cost of a claim behind 100k queued jobs of one owner held at its plan limit (printed only). */
static void test_fair_claim_cost(void **state)
{
	char bob[VEX_UUID_LEN + 1];
	struct vex_job *c = NULL;
	int64_t t0, t1;

	(void)state;
	add_many("alice", 100000);
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	vex_job_free(c);
	add_job("bob", VEX_PLAN_FREE, 0, bob);
	t0 = vex_mono_us();
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	t1 = vex_mono_us();
	assert_string_equal(c->id, bob);
	vex_job_free(c);
	printf("claim behind 100000 queued jobs of one owner at its limit: %lld us\n", (long long)(t1 - t0));
	t0 = vex_mono_us();
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, NULL, &c), 0);
	t1 = vex_mono_us();
	vex_job_free(c);
	printf("claim from 99999 queued jobs of one owner: %lld us\n", (long long)(t1 - t0));
}

/* The cost of a claim among 1000 owners with queued work (printed only): it grows with owners. */
static void test_fair_claim_cost_owners(void **state)
{
	struct vex_job *jobs[1000], *rets[1000], *c = NULL;
	int created[1000], rcs[1000], i;
	char owner[32];
	int64_t t0, t1;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(owner, sizeof(owner), "owner-%04d", i);
		jobs[i] = new_tool_job(owner, VEX_PLAN_FREE, 0);
	}
	assert_int_equal(vex_store_jobs_insert_batch(store, jobs, 1000, rets, created, rcs), 0);
	for (i = 0; i < 1000; i++) {
		vex_job_free(rets[i]);
		vex_job_free(jobs[i]);
	}
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	vex_job_free(c);
	t0 = vex_mono_us();
	assert_int_equal(vex_store_job_claim(store, "r", clock_us, LEASE_US, limits, &c), 0);
	t1 = vex_mono_us();
	vex_job_free(c);
	printf("claim among 1000 owners with queued work: %lld us\n", (long long)(t1 - t0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_order, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_plan_limit, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_lease_ownership, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_terminal_never_changes, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rescue, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_requeue, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_states, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fair_round_robin, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fair_backlog, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fair_requeued, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fair_claim_cost, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fair_claim_cost_owners, store_setup, store_teardown),
	};

	vex_log_init("test_store_claims", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
