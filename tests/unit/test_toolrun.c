/* test_toolrun.c - corex rules in core: queue positions, duration estimates, anchored counts, waits, synchronous runs. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/toolrun.h"
#include "tests/unit/store_fixture.h"

#define LEASE_US (60 * 1000000LL)

static struct store_fixture fx;
static struct vex_config cfg;
static struct vex_store *store;
static struct vex_cache *off_cache;
static struct vex_env env;
static const int limits[VEX_PLAN_COUNT] = { 100, 100, 100, 100 };

static const struct vex_principal alice = { "alice", VEX_ROLE_USER, VEX_PLAN_PRO };
static const struct vex_principal bob = { "bob", VEX_ROLE_USER, VEX_PLAN_PRO };
static const struct vex_principal root = { "root", VEX_ROLE_ADMIN, VEX_PLAN_ENTERPRISE };

static int group_setup(void **state)
{
	(void)state;
	vex_log_init("test_toolrun", VEX_LOG_ERROR);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_attempts = 1;
	cfg.default_timeout_ms = 60000;
	return vex_cache_open(NULL, 100, NULL, 0, &off_cache);
}

static int group_teardown(void **state)
{
	(void)state;
	vex_cache_free(off_cache);
	return 0;
}

/* Every test gets an empty database: queue positions count every owner's jobs. */
static int fresh_db(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, "toolrun") != 0)
		return -1;
	store = fx.store;
	env.cfg = &cfg;
	env.store = store;
	env.cache = off_cache;
	env.wake_fd = -1;
	env.commitq = NULL;
	return 0;
}

static int close_db(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}

static struct vex_job *submit(const struct vex_principal *who, const char *tool, const char *args_json)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	json_t *args = json_loads(args_json, 0, NULL);

	assert_non_null(args);
	assert_int_equal(vex_jobsvc_submit_tool(&env, who, tool, args, 0, NULL, NULL, &j, NULL, &e), 0);
	json_decref(args);
	return j;
}

/* Claim the next job and finish it "status" after "ran_us" of running (explicit clocks). */
static void run_next(enum vex_job_status status, int64_t start_us, int64_t ran_us, char id_out[VEX_UUID_LEN + 1])
{
	struct vex_job *c = NULL, *out = vex_job_new();

	assert_non_null(out);
	assert_int_equal(vex_store_job_claim(store, "r", start_us, LEASE_US, limits, &c), 0);
	if (id_out)
		memcpy(id_out, c->id, VEX_UUID_LEN + 1);
	if (status == VEX_JOB_COMPLETED)
		out->result_json = strdup("{\"ok\":true}");
	assert_int_equal(vex_store_job_finish(store, c->id, "r", status, out, start_us + ran_us, NULL), 0);
	vex_job_free(c);
	vex_job_free(out);
}

static void test_queue_position(void **state)
{
	struct vex_job *a1, *b1, *a2, *b2;
	int64_t pos = 0;

	(void)state;
	a1 = submit(&alice, "echo", "{}");
	b1 = submit(&bob, "echo", "{}");
	a2 = submit(&alice, "echo", "{}");
	b2 = submit(&bob, "sleep", "{\"ms\":1}");
	/* Claim order counts every owner's queued jobs ahead. */
	assert_int_equal(vex_store_job_queue_position(store, a1->id, &pos), 0);
	assert_true(pos == 1);
	assert_int_equal(vex_store_job_queue_position(store, b1->id, &pos), 0);
	assert_true(pos == 2);
	assert_int_equal(vex_store_job_queue_position(store, a2->id, &pos), 0);
	assert_true(pos == 3);
	assert_int_equal(vex_store_job_queue_position(store, b2->id, &pos), 0);
	assert_true(pos == 4);
	/* The head is claimed: everyone moves up; a claimed job has no position. */
	run_next(VEX_JOB_COMPLETED, vex_now_us(), 1000, NULL);
	pos = -7;
	assert_int_equal(vex_store_job_queue_position(store, a1->id, &pos), VEX_ESTATE);
	assert_true(pos == -7);
	assert_int_equal(vex_store_job_queue_position(store, b2->id, &pos), 0);
	assert_true(pos == 3);
	/* A canceled job leaves the queue too. */
	assert_int_equal(vex_jobsvc_cancel(&env, &bob, b1->id, 0, NULL), 0);
	assert_int_equal(vex_store_job_queue_position(store, b1->id, &pos), VEX_ESTATE);
	assert_int_equal(vex_store_job_queue_position(store, b2->id, &pos), 0);
	assert_true(pos == 2);
	assert_int_equal(vex_store_job_queue_position(store, "00000000-0000-7000-8000-000000000000", &pos),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_job_queue_position(store, NULL, &pos), VEX_EINVAL);
	vex_job_free(a1);
	vex_job_free(b1);
	vex_job_free(a2);
	vex_job_free(b2);
}

static void test_estimate(void **state)
{
	struct vex_job *j;
	int64_t ms = 0, avg = -1, t0 = vex_now_us();
	int n = -1, i;

	(void)state;
	/* No history: the documented default. */
	assert_int_equal(vex_toolrun_estimate_ms(store, "sleep", &ms), 0);
	assert_true(ms == VEX_TOOLRUN_ESTIMATE_DEFAULT_MS);
	assert_int_equal(vex_store_tool_recent_runs(store, "sleep", 20, &avg, &n), 0);
	assert_int_equal(n, 0);
	assert_true(avg == 0);

	/* Failed runs do not count; completed ones are averaged. */
	j = submit(&alice, "sleep", "{\"ms\":1}");
	vex_job_free(j);
	run_next(VEX_JOB_FAILED, t0, 999999000LL, NULL);
	assert_int_equal(vex_toolrun_estimate_ms(store, "sleep", &ms), 0);
	assert_true(ms == VEX_TOOLRUN_ESTIMATE_DEFAULT_MS);
	for (i = 0; i < 2; i++) {
		j = submit(&bob, "sleep", "{\"ms\":1}");
		vex_job_free(j);
		run_next(VEX_JOB_COMPLETED, t0, i == 0 ? 1000000 : 3000000, NULL); /* 1 s and 3 s */
	}
	assert_int_equal(vex_toolrun_estimate_ms(store, "sleep", &ms), 0);
	assert_true(ms == 2000);
	/* Only the last 20 completed runs: 25 runs of 10 ms after those push them out. */
	for (i = 0; i < 25; i++) {
		j = submit(&bob, "sleep", "{\"ms\":1}");
		vex_job_free(j);
		run_next(VEX_JOB_COMPLETED, t0, 10000, NULL);
	}
	assert_int_equal(vex_store_tool_recent_runs(store, "sleep", 20, &avg, &n), 0);
	assert_int_equal(n, 20);
	assert_true(avg == 10000);
	assert_int_equal(vex_toolrun_estimate_ms(store, "sleep", &ms), 0);
	assert_true(ms == 10);
	/* Other tools keep their own history. */
	assert_int_equal(vex_toolrun_estimate_ms(store, "echo", &ms), 0);
	assert_true(ms == VEX_TOOLRUN_ESTIMATE_DEFAULT_MS);
	/* A run under a millisecond still estimates 1. */
	j = submit(&bob, "echo", "{}");
	vex_job_free(j);
	run_next(VEX_JOB_COMPLETED, t0, 10, NULL);
	assert_int_equal(vex_toolrun_estimate_ms(store, "echo", &ms), 0);
	assert_true(ms == 1);
	assert_int_equal(vex_store_tool_recent_runs(store, "echo", 0, &avg, &n), VEX_EINVAL);
}

static void test_count_before(void **state)
{
	struct vex_job_filter f;
	struct vex_job *j[5];
	int64_t n = -1;
	char anchor[VEX_UUID_LEN + 2];
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		j[i] = submit(&alice, "echo", "{}");
	vex_job_filter_init(&f);
	f.owner = "alice";
	f.kind = VEX_JOB_TOOL;
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_true(n == 5);
	/* "id <= j[2]" through the successor string the corex presenter uses. */
	snprintf(anchor, sizeof(anchor), "%s~", j[2]->id);
	f.before_id = anchor;
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_true(n == 3);
	f.status = VEX_JOB_QUEUED;
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_true(n == 3);
	f.owner = "bob";
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_true(n == 0);
	f.status = 99;
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), VEX_EINVAL);
	for (i = 0; i < 5; i++)
		vex_job_free(j[i]);
}

static void test_wait(void **state)
{
	struct vex_job *j, *got = NULL;
	char id[VEX_UUID_LEN + 1];

	(void)state;
	j = submit(&alice, "echo", "{}");
	/* Unfinished past the deadline: VEX_ESTATE, nothing handed back. */
	assert_int_equal(vex_jobsvc_wait(&env, &alice, j->id, vex_now_us() + 30000, &got), VEX_ESTATE);
	assert_null(got);
	/* Another owner never sees it; an admin does. */
	assert_int_equal(vex_jobsvc_wait(&env, &bob, j->id, vex_now_us() + 30000, &got), VEX_ENOTFOUND);
	run_next(VEX_JOB_COMPLETED, vex_now_us(), 1000, id);
	assert_string_equal(id, j->id);
	assert_int_equal(vex_jobsvc_wait(&env, &root, j->id, vex_now_us() + 30000, &got), 0);
	assert_int_equal(got->status, VEX_JOB_COMPLETED);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_execute_rejects(void **state)
{
	struct vex_field_error e;
	struct vex_toolrun run;
	struct vex_job_filter f;
	json_t *args = json_object(), *bad = json_pack("{s:s}", "ms", "x");
	int64_t n = -1;

	(void)state;
	memset(&run, 0, sizeof(run));
	assert_int_equal(vex_toolrun_execute(&env, &root, "nope", args, 0, NULL, &run, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_toolrun_execute(&env, &root, "echo", args, VEX_EXECUTE_WAIT_MAX_MS + 1, NULL, &run, &e),
			 VEX_EINVAL);
	assert_string_equal(e.code, "INVALID_ARGUMENTS");
	assert_string_equal(e.field, "timeout_ms");
	assert_true(e.limit == VEX_EXECUTE_WAIT_MAX_MS);
	assert_int_equal(vex_toolrun_execute(&env, &root, "echo", args, -5, NULL, &run, &e), VEX_EINVAL);
	assert_string_equal(e.field, "timeout_ms");
	assert_int_equal(vex_toolrun_execute(&env, &root, "sleep", bad, 1000, NULL, &run, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments.ms");
	assert_null(run.job);
	/* Nothing stored for a rejected request. */
	vex_job_filter_init(&f);
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_true(n == 0);
	json_decref(args);
	json_decref(bad);
}

/* No runner: the job never starts, so at the deadline it is canceled and reported timed out. */
static void test_execute_times_out_unclaimed(void **state)
{
	struct vex_field_error e;
	struct vex_toolrun run;
	json_t *args = json_pack("{s:i}", "ms", 10);
	struct vex_job *stored = NULL;

	(void)state;
	memset(&run, 0, sizeof(run));
	assert_int_equal(vex_toolrun_execute(&env, &root, "sleep", args, 5, NULL, &run, &e), 0);
	assert_true(run.timed_out);
	assert_true(run.timeout_ms == 5);
	assert_int_equal(run.job->status, VEX_JOB_CANCELED);
	assert_int_equal(vex_store_job_get(store, run.job->id, NULL, &stored), 0);
	assert_int_equal(stored->status, VEX_JOB_CANCELED);
	assert_true(stored->timeout_ms == 5);
	vex_job_free(stored);
	vex_toolrun_release(&run);
	assert_null(run.job);
	vex_toolrun_release(NULL);
	json_decref(args);
}

/* A forked "runner" with its own connection claims and completes the job while we wait. */
static void test_execute_completes(void **state)
{
	struct vex_field_error e;
	struct vex_toolrun run;
	json_t *args = json_pack("{s:s}", "say", "hi");
	pid_t pid;
	int status;
	char where[1024];

	(void)state;
	store_fixture_where(&fx, where, sizeof(where));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vex_store *mine = NULL;
		struct vex_job *c = NULL, *out = vex_job_new();
		int i, rc = VEX_ENOTFOUND;

		if (vex_store_open(where, 1, 1000, &mine) != 0 || !out)
			_exit(2);
		for (i = 0; i < 500 && rc == VEX_ENOTFOUND; i++) {
			rc = vex_store_job_claim(mine, "child", vex_now_us(), LEASE_US, limits, &c);
			if (rc == VEX_ENOTFOUND)
				usleep(10000);
		}
		if (rc)
			_exit(3);
		out->result_json = strdup("{\"say\":\"hi\"}");
		out->tokens_in = 3;
		if (vex_store_job_finish(mine, c->id, "child", VEX_JOB_COMPLETED, out, vex_now_us(), NULL) != 0)
			_exit(4);
		_exit(0);
	}
	memset(&run, 0, sizeof(run));
	assert_int_equal(vex_toolrun_execute(&env, &root, "echo", args, 20000, NULL, &run, &e), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(run.timed_out);
	assert_int_equal(run.job->status, VEX_JOB_COMPLETED);
	assert_string_equal(run.job->result_json, "{\"say\":\"hi\"}");
	assert_true(run.job->tokens_in == 3);
	assert_true(run.job->timeout_ms == 20000);
	vex_toolrun_release(&run);
	json_decref(args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_position, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_estimate, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_count_before, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_wait, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_execute_rejects, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_execute_times_out_unclaimed, fresh_db, close_db),
		cmocka_unit_test_setup_teardown(test_execute_completes, fresh_db, close_db),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
