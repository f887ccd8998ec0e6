/* test_store_operator.c - the store's side of the operator actions: a retry's link (one transaction, refusals),
 * cancel by filter in batches, paused claiming (per tool, global, fairness for the rest), re-sent deliveries. */
#include "tests/unit/store_jobs_fixture.h"

#include "core/base/err.h"

/* Claim the next job for "r1" and finish it with "status": its id in "id". */
static void claim_finish(enum vex_job_status status, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = NULL;

	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	memcpy(id, j->id, VEX_UUID_LEN + 1);
	vex_job_free(j);
	assert_int_equal(vex_store_job_finish(store, id, "r1", status, NULL, ++clock_us, NULL), 0);
}

/* Insert a retry of "old" for "owner": the store's answer. */
static int insert_retry(const char *owner, const char *old, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = new_tool_job(owner, VEX_PLAN_PRO, 0), *got = NULL;
	int created = 0, rc;

	snprintf(j->retry_of, sizeof(j->retry_of), "%s", old);
	rc = vex_store_job_insert(store, j, &got, &created);
	if (rc == 0) {
		assert_int_equal(created, 1);
		assert_string_equal(got->retry_of, old);
		memcpy(id, got->id, VEX_UUID_LEN + 1);
	}
	vex_job_free(got);
	vex_job_free(j);
	return rc;
}

static void test_retry_links_both_ways(void **state)
{
	char old[VEX_UUID_LEN + 1], new_id[VEX_UUID_LEN + 1], again[VEX_UUID_LEN + 1];
	struct vex_job *j = NULL;
	int64_t rev;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_finish(VEX_JOB_FAILED, old);
	assert_int_equal(vex_store_job_get(store, old, NULL, &j), 0);
	rev = j->rev;
	assert_string_equal(j->retried_by, "");
	vex_job_free(j);
	assert_int_equal(insert_retry("alice", old, new_id), 0);
	assert_int_equal(vex_store_job_get(store, old, NULL, &j), 0);
	assert_string_equal(j->retried_by, new_id);
	assert_int_equal(j->rev, rev + 1); /* a change: caches replace their copy */
	assert_int_equal(j->status, VEX_JOB_FAILED);
	vex_job_free(j);
	assert_int_equal(vex_store_job_get(store, new_id, NULL, &j), 0);
	assert_string_equal(j->retry_of, old);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	vex_job_free(j);
	/* A second retry, another owner's, and an unknown job: refused, nothing stored. */
	assert_int_equal(insert_retry("alice", old, again), VEX_ECONFLICT);
	assert_int_equal(insert_retry("bob", old, again), VEX_ENOTFOUND);
	assert_int_equal(insert_retry("alice", "01890000-0000-7000-8000-00000000dead", again), VEX_ENOTFOUND);
	assert_int_equal(count("alice", -1), 2);
	assert_int_equal(count("bob", -1), 0);
}

static void test_retry_only_of_finished_unsuccessful_jobs(void **state)
{
	char queued[VEX_UUID_LEN + 1], done[VEX_UUID_LEN + 1], id[VEX_UUID_LEN + 1], old[VEX_UUID_LEN + 1];
	struct vex_job *j = NULL;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_finish(VEX_JOB_COMPLETED, done);
	add_job("alice", VEX_PLAN_PRO, 0, queued);
	assert_int_equal(insert_retry("alice", done, id), VEX_ESTATE);
	assert_int_equal(insert_retry("alice", queued, id), VEX_ESTATE);
	/* canceled: retryable */
	assert_int_equal(vex_store_job_cancel(store, queued, "alice", 0, ++clock_us, NULL), 0);
	assert_int_equal(insert_retry("alice", queued, id), 0);
	/* the retry runs out of time: retryable too */
	claim_finish(VEX_JOB_TIMEOUT, old);
	assert_string_equal(old, id);
	assert_int_equal(insert_retry("alice", old, id), 0);
	assert_int_equal(vex_store_job_get(store, old, NULL, &j), 0);
	assert_string_equal(j->retried_by, id);
	assert_string_equal(j->retry_of, queued);
	vex_job_free(j);
}

/* A retry the insert refuses after the link (its id taken) or before it (the owner's queued-job cap) leaves the
 * old job unlinked: the link and the insert are one transaction. */
static void test_retry_refused_leaves_no_link(void **state)
{
	char old[VEX_UUID_LEN + 1], queued[VEX_UUID_LEN + 1];
	struct vex_job *j, *got = NULL;

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_finish(VEX_JOB_FAILED, old);
	add_job("alice", VEX_PLAN_PRO, 0, queued);
	j = new_tool_job("alice", VEX_PLAN_PRO, 0);
	snprintf(j->retry_of, sizeof(j->retry_of), "%s", old);
	memcpy(j->id, queued, sizeof(j->id)); /* the INSERT fails after the link was written */
	assert_int_equal(vex_store_job_insert(store, j, &got, &(int){ 0 }), VEX_EEXIST);
	vex_uuid7(j->id);
	j->queued_cap = 1; /* alice already has one queued */
	assert_int_equal(vex_store_job_insert(store, j, &got, &(int){ 0 }), VEX_ELIMIT);
	vex_job_free(j);
	assert_int_equal(vex_store_job_get(store, old, NULL, &got), 0);
	assert_string_equal(got->retried_by, "");
	vex_job_free(got);
	assert_int_equal(store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM jobs WHERE retry_of IS NOT NULL"), 0);
}

static void test_retry_in_a_batch_is_its_own(void **state)
{
	struct vex_job *jobs[3], *rets[3];
	int created[3], rcs[3];
	char old[VEX_UUID_LEN + 1];

	(void)state;
	add_job("alice", VEX_PLAN_PRO, 0, NULL);
	claim_finish(VEX_JOB_FAILED, old);
	for (int i = 0; i < 3; i++)
		jobs[i] = new_tool_job("alice", VEX_PLAN_PRO, 0);
	snprintf(jobs[0]->retry_of, sizeof(jobs[0]->retry_of), "%s", old);
	snprintf(jobs[1]->retry_of, sizeof(jobs[1]->retry_of), "%s", old); /* the same job twice */
	assert_int_equal(vex_store_jobs_insert_batch(store, jobs, 3, rets, created, rcs), 0);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(rcs[1], VEX_ECONFLICT);
	assert_int_equal(rcs[2], 0);
	assert_int_equal(count("alice", VEX_JOB_QUEUED), 2);
	for (int i = 0; i < 3; i++) {
		vex_job_free(jobs[i]);
		vex_job_free(rets[i]);
	}
}

static void test_cancel_batches_match_exactly(void **state)
{
	struct vex_cancel_filter f = { .owner = "alice", .tool = "echo" };
	struct vex_job_list l = { NULL, 0 };
	struct vex_job *j = NULL, *mine;
	char later[VEX_UUID_LEN + 1];
	int64_t total = 0;

	(void)state;
	add_jobs("alice", VEX_PLAN_PRO, 7);
	add_jobs("bob", VEX_PLAN_PRO, 2);
	mine = new_tool_job("alice", VEX_PLAN_PRO, 0);
	free(mine->tool);
	mine->tool = strdup("sleep");
	assert_int_equal(vex_store_job_insert(store, mine, &j, &(int){ 0 }), 0);
	vex_job_free(j);
	vex_job_free(mine);
	f.cutoff_us = clock_us;
	add_job("alice", VEX_PLAN_PRO, 0, later); /* after the cutoff: left alone */
	for (;;) {
		assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_QUEUED, 3, ++clock_us, &l), 0);
		total += (int64_t)l.n;
		for (size_t i = 0; i < l.n; i++) {
			assert_int_equal(l.items[i]->status, VEX_JOB_CANCELED);
			assert_string_equal(l.items[i]->error_code, "CANCELED");
		}
		if (l.n < 3) {
			vex_job_list_release(&l);
			break;
		}
		vex_job_list_release(&l);
	}
	assert_int_equal(total, 7);
	assert_int_equal(count("alice", VEX_JOB_QUEUED), 2); /* the sleep job and the later one */
	assert_int_equal(count("bob", VEX_JOB_QUEUED), 2);
	assert_int_equal(vex_store_job_get(store, later, NULL, &j), 0);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	vex_job_free(j);
	assert_int_equal(store_fixture_sql_int(&fx, "SELECT SUM(n) FROM job_tally WHERE owner = 'alice' AND status = 'queued'"), 2);
	/* Running jobs are asked to stop, once. */
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	vex_job_free(j);
	f.owner = NULL;
	f.tool = NULL;
	f.cutoff_us = clock_us;
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_RUNNING, 10, ++clock_us, &l), 0);
	assert_int_equal(l.n, 1);
	assert_true(l.items[0]->cancel_requested);
	assert_int_equal(l.items[0]->status, VEX_JOB_RUNNING);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_RUNNING, 10, ++clock_us, &l), 0);
	assert_int_equal(l.n, 0);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_COMPLETED, 10, ++clock_us, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_cancel_batch(store, &f, VEX_JOB_QUEUED, 0, ++clock_us, &l), VEX_EINVAL);
}

/* Queue one job of "tool" for "owner". */
static void add_tool_job(const char *owner, const char *tool, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = new_tool_job(owner, VEX_PLAN_PRO, 0), *got = NULL;

	free(j->tool);
	j->tool = strdup(tool);
	assert_int_equal(vex_store_job_insert(store, j, &got, &(int){ 0 }), 0);
	if (id)
		memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_paused_tool_is_skipped_fairly(void **state)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	struct vex_job *j = NULL;
	char a_sleep[VEX_UUID_LEN + 1], a_echo[VEX_UUID_LEN + 1], b_echo[VEX_UUID_LEN + 1];
	int changed = -1;

	(void)state;
	/* alice's best job is of the paused tool: her next one goes; bob keeps his turn. */
	add_tool_job("alice", "sleep", a_sleep);
	add_tool_job("alice", "echo", a_echo);
	add_tool_job("bob", "echo", b_echo);
	assert_int_equal(vex_store_claim_pause(store, "sleep", "root", ++clock_us), 0);
	assert_int_equal(vex_store_claim_pause(store, "sleep", "other", ++clock_us), 0); /* the first stays */
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].tool, "sleep");
	assert_string_equal(l.items[0].paused_by, "root");
	vex_claim_pause_list_release(&l);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	assert_string_equal(j->id, a_echo);
	vex_job_free(j);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	assert_string_equal(j->id, b_echo);
	vex_job_free(j);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), VEX_ENOTFOUND);
	assert_int_equal(vex_store_claim_resume(store, "sleep", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(vex_store_claim_resume(store, "sleep", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	assert_string_equal(j->id, a_sleep);
	vex_job_free(j);
}

static void test_global_pause_claims_nothing(void **state)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	struct vex_job *j = NULL;

	(void)state;
	add_tool_job("alice", "echo", NULL);
	assert_int_equal(vex_store_claim_pause(store, VEX_PAUSE_ALL, "root", ++clock_us), 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), VEX_ENOTFOUND);
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].tool, "");
	vex_claim_pause_list_release(&l);
	/* Resuming a tool leaves the global pause. */
	assert_int_equal(vex_store_claim_resume(store, "echo", NULL), 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), VEX_ENOTFOUND);
	assert_int_equal(vex_store_claim_resume(store, VEX_PAUSE_ALL, NULL), 0);
	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &j), 0);
	vex_job_free(j);
	/* Names no tool can have. */
	assert_int_equal(vex_store_claim_pause(store, "a\nb", "root", ++clock_us), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, NULL, "root", ++clock_us), VEX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry_links_both_ways, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_retry_only_of_finished_unsuccessful_jobs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_retry_refused_leaves_no_link, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_retry_in_a_batch_is_its_own, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_batches_match_exactly, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_paused_tool_is_skipped_fairly, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_global_pause_claims_nothing, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
