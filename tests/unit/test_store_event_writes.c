/* test_store_event_writes.c - job events the job writes leave: one row per change (triggers), their types, per-job
 * and global reads, pruning, a job as it was at an event. */
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
#include "core/store/store.h"
#include "tests/unit/store_fixture.h"

static struct store_fixture fx;
static struct vex_store *store;
static const int limits[VEX_PLAN_COUNT] = {5, 5, 5, 5};
static int64_t clock_us = 1700000000000000;

#define LEASE_US 30000000

static int setup(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, "events") != 0)
		return -1;
	store = fx.store;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}

static void add_job(const char *owner, char id[VEX_UUID_LEN + 1])
{
	store_fixture_add_job(store, owner, "sleep", "{\"ms\":1}", ++clock_us, id);
}

static void claim(const char *id)
{
	struct vex_job *got = NULL;

	assert_int_equal(vex_store_job_claim(store, "r1", ++clock_us, LEASE_US, limits, &got), 0);
	assert_string_equal(got->id, id);
	vex_job_free(got);
}

/* Every change leaves one event with the job's rev; a lease renewal (no rev bump) leaves none. */
static void test_lifecycle_types(void **state)
{
	static const enum vex_job_event_type want[] = {VEX_EV_QUEUED, VEX_EV_STARTED, VEX_EV_PROGRESS,
						       VEX_EV_CANCEL_REQUESTED, VEX_EV_CANCELED};
	struct vex_progress p = {"1", 2, 50.0, "half"};
	struct vex_job_event_list l = {NULL, 0};
	struct vex_job *got = NULL, outcome;
	char id[VEX_UUID_LEN + 1];
	int cancel = 0;

	(void)state;
	add_job("alice", id);
	claim(id);
	assert_int_equal(vex_store_job_renew(store, id, "r1", ++clock_us, LEASE_US, &cancel), 0);
	assert_int_equal(vex_store_job_progress(store, id, "r1", &p, ++clock_us, NULL), 0);
	assert_int_equal(vex_store_job_cancel(store, id, "alice", 1, ++clock_us, NULL), 0);
	memset(&outcome, 0, sizeof(outcome));
	assert_int_equal(vex_store_job_finish(store, id, "r1", VEX_JOB_CANCELED, &outcome, ++clock_us, &got), 0);

	assert_int_equal(vex_store_job_events_of(store, id, 0, 100, &l), 0);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.items[i].type, want[i]);
		assert_int_equal(l.items[i].rev, (int64_t)i + 1);
		assert_string_equal(l.items[i].owner, "alice");
		if (i > 0)
			assert_true(l.items[i].seq > l.items[i - 1].seq);
	}
	assert_int_equal(l.items[4].rev, got->rev);
	assert_int_equal(l.items[2].status, VEX_JOB_RUNNING);
	assert_string_equal(l.items[2].progress.current_step, "1");
	assert_string_equal(l.items[2].progress.message, "half");
	assert_int_equal(l.items[2].progress.total_steps, 2);
	assert_int_equal(l.items[3].cancel_requested, 1);
	vex_job_event_list_release(&l);

	/* after_rev skips what a client already saw */
	assert_int_equal(vex_store_job_events_of(store, id, 3, 100, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.items[0].rev, 4);
	vex_job_event_list_release(&l);
	vex_job_free(got);
}

/* A lease rescue puts the job back (requeued); a cancel of a queued job is terminal at once. */
static void test_requeue_and_queued_cancel(void **state)
{
	struct vex_job_event_list l = {NULL, 0};
	struct vex_job_list rescued = {NULL, 0};
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];

	(void)state;
	add_job("bob", a);
	claim(a);
	assert_int_equal(vex_store_jobs_rescue(store, clock_us + 2 * LEASE_US, &rescued), 0);
	assert_int_equal(rescued.n, 1);
	vex_job_list_release(&rescued);
	add_job("bob", b);
	assert_int_equal(vex_store_job_cancel(store, b, "bob", 0, ++clock_us, NULL), 0);

	assert_int_equal(vex_store_job_events_of(store, a, 0, 100, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.items[2].type, VEX_EV_REQUEUED);
	assert_int_equal(l.items[2].status, VEX_JOB_QUEUED);
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_of(store, b, 0, 100, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.items[1].type, VEX_EV_CANCELED);
	vex_job_event_list_release(&l);
}

/* The global feed is in seq order across jobs and pages with after_seq; last_seq is its end. */
static void test_feed_and_last_seq(void **state)
{
	struct vex_job_event_list l = {NULL, 0};
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	int64_t last = -1;

	(void)state;
	assert_int_equal(vex_store_job_events_last_seq(store, &last), 0);
	assert_int_equal(last, 0);
	add_job("carol", a);
	add_job("dave", b);
	claim(a);
	assert_int_equal(vex_store_job_events_last_seq(store, &last), 0);
	assert_int_equal(last, 3);
	assert_int_equal(vex_store_job_events_since(store, 0, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].job_id, a);
	assert_string_equal(l.items[1].job_id, b);
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_since(store, 2, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.items[0].type, VEX_EV_STARTED);
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_since(store, 0, 0, &l), VEX_EINVAL);
}

/* Pruning removes old events only once the webhook cursor passed them, and never the newest row. */
static void test_prune(void **state)
{
	struct vex_job_event_list l = {NULL, 0};
	char a[VEX_UUID_LEN + 1];
	int64_t deleted = -1, last = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		add_job("erin", a);
	assert_int_equal(vex_store_job_events_prune(store, clock_us + 1000, 100, &deleted), 0);
	assert_int_equal(deleted, 0); /* the cursor is still at 0 */

	store_fixture_exec(&fx, "UPDATE event_cursors SET seq = 3"); /* the fan-out's and the stats rollup's */

	assert_int_equal(vex_store_job_events_prune(store, clock_us + 1000, 100, &deleted), 0);
	assert_int_equal(deleted, 2); /* seq 1 and 2; seq 3 is the newest row and stays */
	assert_int_equal(vex_store_job_events_since(store, 0, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.items[0].seq, 3);
	vex_job_event_list_release(&l);
	add_job("erin", a);
	assert_int_equal(vex_store_job_events_last_seq(store, &last), 0);
	assert_int_equal(last, 4); /* seq keeps growing after a prune */
}

/* The job as it was at an event: earlier state, no terminal fields; a terminal event keeps them. */
static void test_apply_event(void **state)
{
	struct vex_job_event_list l = {NULL, 0};
	struct vex_progress p = {"1", 2, 50.0, NULL};
	struct vex_job *now = NULL, outcome;
	char id[VEX_UUID_LEN + 1];

	(void)state;
	add_job("frank", id);
	claim(id);
	assert_int_equal(vex_store_job_progress(store, id, "r1", &p, ++clock_us, NULL), 0);
	memset(&outcome, 0, sizeof(outcome));
	outcome.result_json = "{\"ok\":true}";
	outcome.tokens_in = 7;
	assert_int_equal(vex_store_job_finish(store, id, "r1", VEX_JOB_COMPLETED, &outcome, ++clock_us, NULL), 0);
	assert_int_equal(vex_store_job_events_of(store, id, 0, 100, &l), 0);
	assert_int_equal(l.n, 4);

	assert_int_equal(vex_store_job_get(store, id, NULL, &now), 0);
	assert_int_equal(vex_job_apply_event(now, &l.items[0]), 0);
	assert_int_equal(now->status, VEX_JOB_QUEUED);
	assert_int_equal(now->rev, 1);
	assert_null(now->result_json);
	assert_int_equal(now->completed_at, 0);
	assert_int_equal(now->tokens_in, 0);
	assert_int_equal(vex_job_apply_event(now, &l.items[2]), 0);
	assert_int_equal(now->status, VEX_JOB_RUNNING);
	assert_string_equal(now->progress.current_step, "1");
	vex_job_free(now);

	assert_int_equal(vex_store_job_get(store, id, NULL, &now), 0);
	assert_int_equal(vex_job_apply_event(now, &l.items[3]), 0);
	assert_int_equal(now->status, VEX_JOB_COMPLETED);
	assert_string_equal(now->result_json, "{\"ok\":true}");
	assert_int_equal(now->tokens_in, 7);
	vex_job_free(now);
	vex_job_event_list_release(&l);
	assert_string_equal(vex_job_event_type_name(VEX_EV_CANCEL_REQUESTED), "cancel_requested");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeue_and_queued_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_and_last_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_event, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
