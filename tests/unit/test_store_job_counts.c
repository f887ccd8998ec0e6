/* test_store_job_counts.c - listings and counts of jobs a claim or a cancel moved (statuses, start times, status
 * sets): the job store tests that need the job writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "tests/unit/store_jobs_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_filters, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_status_mask, store_setup, store_teardown),
	};

	vex_log_init("test_store_job_counts", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
