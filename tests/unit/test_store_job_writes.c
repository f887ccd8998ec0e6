/* test_store_job_writes.c - the runner's group commit: batched fair claims, finishes, requeues and progress in one transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/store/store.h"
#include "tests/unit/store_jobs_fixture.h"

static const char *const slots[8] = { "r/w0", "r/w1", "r/w2", "r/w3", "r/w4", "r/w5", "r/w6", "r/w7" };

static void free_jobs(struct vex_job **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vex_job_free(jobs[i]);
}

/* The event rows stored for "j" after its revision "j->rev" (of "type" only, when not NULL). */
static int64_t events_after(const struct vex_job *j, const char *type)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM job_events WHERE job_id = '%s' AND rev > %lld%s%s%s", j->id,
		 (long long)j->rev, type ? " AND type = '" : "", type ? type : "", type ? "'" : "");
	return store_fixture_sql_int(&fx, sql);
}

/* One batch takes the same jobs, in the same fair order, as claims one by one would. */
static void test_claim_batch_fair_order(void **state)
{
	struct vex_job *jobs[8] = { NULL };
	char order[9] = "";
	size_t n = 0, i;

	(void)state;
	add_jobs("alice", VEX_PLAN_ENTERPRISE, 5);
	add_jobs("bob", VEX_PLAN_ENTERPRISE, 5);
	add_jobs("carol", VEX_PLAN_ENTERPRISE, 2);
	assert_int_equal(vex_store_jobs_claim_batch(store, slots, 8, clock_us, LEASE_US, limits, jobs, &n), 0);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++) {
		order[i] = jobs[i]->owner[0];
		/* each job is running under the lease owner of the slot it was claimed for */
		assert_int_equal(jobs[i]->status, VEX_JOB_RUNNING);
		assert_string_equal(jobs[i]->lease_owner, slots[i]);
		assert_int_equal(jobs[i]->attempts, 1);
		assert_true(jobs[i]->rev == 2);
		assert_true(jobs[i]->lease_expires_at == clock_us + LEASE_US);
	}
	assert_string_equal(order, "abcabcab");
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 3);
	assert_true(stored_count("carol", VEX_JOB_QUEUED) == 0);
	free_jobs(jobs, n);
}

/* Plan limits hold inside one batch: a free owner gets one slot however many are free. */
static void test_claim_batch_plan_limits(void **state)
{
	struct vex_job *jobs[8] = { NULL };
	size_t n = 0;

	(void)state;
	add_jobs("alice", VEX_PLAN_FREE, 10);
	add_jobs("bob", VEX_PLAN_STANDARD, 10);
	assert_int_equal(vex_store_jobs_claim_batch(store, slots, 8, clock_us, LEASE_US, limits, jobs, &n), 0);
	assert_int_equal(n, 3); /* alice 1 (free), bob 2 (standard): fewer than the free slots */
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 1);
	assert_true(stored_count("bob", VEX_JOB_RUNNING) == 2);
	free_jobs(jobs, n);
	/* nothing claimable: 0 claimed is no error */
	assert_int_equal(vex_store_jobs_claim_batch(store, slots, 8, clock_us, LEASE_US, limits, jobs, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vex_store_jobs_claim_batch(store, slots, 0, clock_us, LEASE_US, limits, jobs, &n), VEX_EINVAL);
}

/* Finishes in the same transaction come first: a freed plan slot is claimed again at once. */
static void test_write_batch_finish_then_claim(void **state)
{
	struct vex_job *held = NULL, *jobs[2] = { NULL }, *out = vex_job_new(), *got = NULL;
	struct vex_job_write w[2] = { 0 };
	struct vex_claim_batch claim = { slots, 2, LEASE_US, limits, jobs, 0 };

	(void)state;
	assert_non_null(out);
	out->result_json = strdup("{\"ok\":true}");
	add_job("alice", VEX_PLAN_FREE, 0, NULL);
	add_job("alice", VEX_PLAN_FREE, 0, NULL);
	assert_int_equal(vex_store_job_claim(store, "r/w0", clock_us, LEASE_US, limits, &held), 0);
	w[0] = (struct vex_job_write){ .op = VEX_JW_FINISH, .id = held->id, .lease_owner = "r/w0",
				       .status = VEX_JOB_COMPLETED, .outcome = out };
	/* a write under a lease that is not ours changes nothing and says so */
	w[1] = (struct vex_job_write){ .op = VEX_JW_FINISH, .id = held->id, .lease_owner = "r/w9",
				       .status = VEX_JOB_FAILED };
	assert_int_equal(vex_store_jobs_write_batch(store, w, 2, &claim, clock_us + 5), 0);
	assert_int_equal(w[0].rc, 0);
	assert_non_null(w[0].job);
	assert_int_equal(w[0].job->status, VEX_JOB_COMPLETED);
	assert_string_equal(w[0].job->result_json, "{\"ok\":true}");
	assert_null(w[0].job->lease_owner);
	assert_true(w[0].job->completed_at == clock_us + 5);
	assert_int_equal(w[1].rc, VEX_ECONFLICT);
	assert_null(w[1].job);
	/* alice's free plan allows one running job: the finish freed it for her second */
	assert_int_equal(claim.n, 1);
	assert_string_equal(jobs[0]->lease_owner, "r/w0");
	assert_true(stored_count("alice", VEX_JOB_RUNNING) == 1);
	assert_true(stored_count("alice", VEX_JOB_COMPLETED) == 1);
	/* what was returned is what is stored */
	assert_int_equal(vex_store_job_get(store, held->id, NULL, &got), 0);
	assert_true(got->rev == w[0].job->rev);
	assert_int_equal(got->status, VEX_JOB_COMPLETED);
	vex_job_free(got);
	vex_job_free(w[0].job);
	vex_job_free(jobs[0]);
	vex_job_free(held);
	vex_job_free(out);
}

/* Progress and requeue ride in a batch too; a malformed write is refused alone. */
static void test_write_batch_progress_requeue(void **state)
{
	struct vex_job *a = NULL, *b = NULL;
	struct vex_progress pr = { 0 };
	struct vex_job_write w[3] = { 0 };

	(void)state;
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	assert_int_equal(vex_store_job_claim(store, "r/w0", clock_us, LEASE_US, limits, &a), 0);
	assert_int_equal(vex_store_job_claim(store, "r/w1", clock_us, LEASE_US, limits, &b), 0);
	pr.current_step = "half";
	pr.total_steps = 2;
	pr.percentage = 50;
	w[0] = (struct vex_job_write){ .op = VEX_JW_PROGRESS, .id = a->id, .lease_owner = "r/w0", .progress = &pr };
	w[1] = (struct vex_job_write){ .op = VEX_JW_REQUEUE, .id = b->id, .lease_owner = "r/w1", .refund_attempt = 1 };
	w[2] = (struct vex_job_write){ .op = VEX_JW_FINISH, .id = a->id, .lease_owner = "r/w0",
				       .status = VEX_JOB_RUNNING }; /* not a terminal status */
	assert_int_equal(vex_store_jobs_write_batch(store, w, 3, NULL, clock_us + 7), 0);
	assert_int_equal(w[0].rc, 0);
	assert_string_equal(w[0].job->progress.current_step, "half");
	assert_int_equal(w[0].job->status, VEX_JOB_RUNNING);
	assert_true(w[0].job->rev == a->rev + 1);
	assert_int_equal(w[1].rc, 0);
	assert_int_equal(w[1].job->status, VEX_JOB_QUEUED);
	assert_int_equal(w[1].job->attempts, 0);
	assert_int_equal(w[2].rc, VEX_EINVAL);
	/* each change left its event row, as one at a time would */
	assert_true(events_after(a, NULL) == 1 && events_after(a, "progress") == 1);
	assert_true(events_after(b, NULL) == 1 && events_after(b, "requeued") == 1);
	vex_job_free(w[0].job);
	vex_job_free(w[1].job);
	vex_job_free(a);
	vex_job_free(b);
}

/* A percentage that is not a number is refused (SQLite stores NaN as NULL, which the column refuses), and the
 * whole round with it: nothing of the round is written. */
static void test_write_nan_refused(void **state)
{
	struct vex_job *a = NULL, *got = NULL, *out = vex_job_new();
	struct vex_progress pr = { 0 };
	struct vex_job_write w[2] = { 0 };

	(void)state;
	assert_non_null(out);
	add_job("alice", VEX_PLAN_ENTERPRISE, 0, NULL);
	assert_int_equal(vex_store_job_claim(store, "r/w0", clock_us, LEASE_US, limits, &a), 0);
	pr.percentage = NAN;
	assert_int_equal(vex_store_job_progress(store, a->id, "r/w0", &pr, clock_us + 1, &got), VEX_EINVAL);
	out->browser_seconds = NAN;
	assert_int_equal(vex_store_job_finish(store, a->id, "r/w0", VEX_JOB_COMPLETED, out, clock_us + 1, &got),
			 VEX_EINVAL);
	pr.percentage = 10;
	w[0] = (struct vex_job_write){ .op = VEX_JW_PROGRESS, .id = a->id, .lease_owner = "r/w0", .progress = &pr };
	w[1] = (struct vex_job_write){ .op = VEX_JW_FINISH, .id = a->id, .lease_owner = "r/w0",
				       .status = VEX_JOB_COMPLETED, .outcome = out };
	assert_int_equal(vex_store_jobs_write_batch(store, w, 2, NULL, clock_us + 2), VEX_EINVAL);
	assert_int_equal(w[0].rc, VEX_EINVAL);
	assert_null(w[0].job);
	assert_int_equal(w[1].rc, VEX_EINVAL);
	assert_int_equal(vex_store_job_get(store, a->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_RUNNING);
	assert_true(got->rev == a->rev);
	vex_job_free(got);
	vex_job_free(a);
	vex_job_free(out);
}

/* The runner's intake: new jobs stored by the round's transaction, claimable by its claims, an
 * idempotent replay found in the same batch, a bad job failing alone. */
static void test_round_inserts_then_claims(void **state)
{
	struct vex_job *in[4], *rets[4] = { NULL }, *claimed[8] = { NULL }, *again = NULL;
	int created[4], rcs[4], found = -1;
	struct vex_insert_batch ins = { in, 4, rets, created, rcs };
	struct vex_claim_batch claim = { slots, 2, LEASE_US, limits, claimed, 0 };
	size_t i;

	(void)state;
	in[0] = new_tool_job("dave", VEX_PLAN_ENTERPRISE, 0);
	in[1] = new_tool_job("erin", VEX_PLAN_ENTERPRISE, 0);
	in[1]->idempotency_key = strdup("same");
	in[2] = new_tool_job("erin", VEX_PLAN_ENTERPRISE, 0);
	in[2]->idempotency_key = strdup("same"); /* a retry of in[1] in the same batch */
	in[3] = new_tool_job("frank", VEX_PLAN_ENTERPRISE, 0);
	in[3]->kind = 99; /* malformed: refused alone */
	assert_int_equal(vex_store_jobs_round(store, &ins, NULL, 0, &claim, clock_us), 0);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(created[0], 1);
	assert_int_equal(rcs[1], 0);
	assert_int_equal(created[1], 1);
	assert_int_equal(rcs[2], 0);
	assert_int_equal(created[2], 0); /* the job in[1] made, found by its key */
	assert_string_equal(rets[2]->id, in[1]->id);
	assert_int_not_equal(rcs[3], 0);
	assert_null(rets[3]);
	/* the two new jobs were claimed by the transaction that stored them */
	assert_int_equal(claim.n, 2);
	for (i = 0; i < claim.n; i++) {
		assert_int_equal(claimed[i]->status, VEX_JOB_RUNNING);
		assert_true(strcmp(claimed[i]->id, in[0]->id) == 0 || strcmp(claimed[i]->id, in[1]->id) == 0);
	}
	assert_true(stored_count("dave", VEX_JOB_RUNNING) == 1 && stored_count("erin", VEX_JOB_RUNNING) == 1);
	assert_true(stored_count("frank", -1) == 0);
	assert_int_equal(vex_store_job_get(store, in[0]->id, "dave", &again), 0);
	found = again->status == VEX_JOB_RUNNING;
	assert_true(found);
	vex_job_free(again);
	free_jobs(rets, 4);
	free_jobs(claimed, claim.n);
	free_jobs(in, 4);
}

/*
 * Two connections (each opened by a process of its own after fork, released together by a barrier) claim from
 * 200 queued jobs of four owners until none is left, one by job_claim, the other by batches of 3: every job is
 * claimed exactly once, each under the lease owner of the claimer that got it.
 */
enum { RACE_JOBS = 200 };

struct claim_race {
	pthread_barrier_t go;
	char ids[2][RACE_JOBS][VEX_UUID_LEN + 1];
	int n[2];
	int rc[2];
};

static void claimer(struct claim_race *sh, int who, const char *where)
{
	static const char *const mine[2][3] = { { "race/a", "race/a", "race/a" }, { "race/b", "race/b", "race/b" } };
	struct vex_store *s = NULL;
	struct vex_job *got[3] = { NULL };
	size_t n = 0, i;
	int rc = vex_store_open(where, 1, 10000, &s);

	pthread_barrier_wait(&sh->go);
	while (rc == 0) {
		if (who == 0) {
			rc = vex_store_job_claim(s, mine[0][0], clock_us, LEASE_US, NULL, &got[0]);
			n = rc == 0 ? 1 : 0;
			if (rc == VEX_ENOTFOUND)
				rc = 0;
		} else {
			rc = vex_store_jobs_claim_batch(s, mine[1], 3, clock_us, LEASE_US, NULL, got, &n);
		}
		if (rc == VEX_EBUSY) { /* SQLite: the other writer held the file past the busy timeout */
			rc = 0;
			continue;
		}
		if (rc || n == 0)
			break;
		for (i = 0; i < n; i++) {
			if (sh->n[who] < RACE_JOBS && strcmp(got[i]->lease_owner, mine[who][0]) == 0)
				memcpy(sh->ids[who][sh->n[who]++], got[i]->id, VEX_UUID_LEN + 1);
			else
				rc = VEX_ERROR;
			vex_job_free(got[i]);
			got[i] = NULL;
		}
	}
	sh->rc[who] = rc;
	vex_store_free(s);
	_exit(0);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_concurrent_claims_never_share(void **state)
{
	static char all[RACE_JOBS][VEX_UUID_LEN + 1];
	static const char *const owners[4] = { "ann", "ben", "cat", "dan" };
	struct vex_job *in[RACE_JOBS], *rets[RACE_JOBS];
	int created[RACE_JOBS], rcs[RACE_JOBS], i, status;
	struct claim_race *sh;
	pthread_barrierattr_t attr;
	char where[1024];
	pid_t pids[2];

	(void)state;
	store_fixture_where(&fx, where, sizeof(where));
	for (i = 0; i < RACE_JOBS; i++)
		in[i] = new_tool_job(owners[i % 4], VEX_PLAN_FREE, i % 3);
	assert_int_equal(vex_store_jobs_insert_batch(store, in, RACE_JOBS, rets, created, rcs), 0);
	for (i = 0; i < RACE_JOBS; i++) {
		assert_int_equal(rcs[i], 0);
		vex_job_free(rets[i]);
		vex_job_free(in[i]);
	}
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
			claimer(sh, who, where);
	}
	for (int who = 0; who < 2; who++) {
		assert_int_equal(waitpid(pids[who], &status, 0), pids[who]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(sh->rc[who], 0);
	}
	/* how they shared the queue depends on timing: printed, not asserted */
	printf("claimed by one at a time: %d, by batches: %d\n", sh->n[0], sh->n[1]);
	assert_int_equal(sh->n[0] + sh->n[1], RACE_JOBS);
	memcpy(all, sh->ids[0], sizeof(all[0]) * (size_t)sh->n[0]);
	memcpy(all + sh->n[0], sh->ids[1], sizeof(all[0]) * (size_t)sh->n[1]);
	qsort(all, RACE_JOBS, sizeof(all[0]), id_cmp);
	for (i = 1; i < RACE_JOBS; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			fail_msg("job %s was claimed twice", all[i]);
	/* and what is stored agrees: every job running once, under the claimer that reported it */
	assert_true(store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND attempts = 1") ==
		    RACE_JOBS);
	assert_true(store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM jobs WHERE lease_owner = 'race/a'") == sh->n[0]);
	pthread_barrier_destroy(&sh->go);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_batch_fair_order, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_claim_batch_plan_limits, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_write_batch_finish_then_claim, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_write_batch_progress_requeue, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_round_inserts_then_claims, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_write_nan_refused, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_claims_never_share, store_setup, store_teardown),
	};

	vex_log_init("test_store_job_writes", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
