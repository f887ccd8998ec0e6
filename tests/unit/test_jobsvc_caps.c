/* test_jobsvc_caps.c - the queued-job cap in the job service: the refusal's error, nothing stored, no wake, a
 * replay still answered, admins free of it, a started job freeing a place. */
#include <poll.h>
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
#include "core/jobs/wake.h"
#include "fcgi-app/jobsvc.h"
#define STORE_FIXTURE_GLOBALS "jobsvc-caps"
#include "tests/unit/store_fixture.h"

static const struct vex_principal carol = { "carol", VEX_ROLE_USER, VEX_PLAN_STANDARD };
static const struct vex_principal root = { "root", VEX_ROLE_ADMIN, VEX_PLAN_STANDARD };

static struct vex_config cfg;
static struct vex_cache *off_cache;
static struct vex_env env;
static char sock_path[160];
static int wake_rx = -1;

/* The store, a disabled cache and the runner's wake socket; the standard plan's queued-job cap is 2. */
static int setup(void **state)
{
	if (store_setup(state) != 0 || vex_cache_open(NULL, 100, NULL, 0, &off_cache) != 0)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/runner.sock", fx.dir);
	wake_rx = vex_wake_bind(sock_path);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_attempts = 1;
	cfg.default_timeout_ms = 1000;
	cfg.runner_socket = sock_path;
	cfg.caps[VEX_CAP_QUEUED_JOBS][VEX_PLAN_STANDARD] = 2;
	env = (struct vex_env){ .cfg = &cfg, .store = store, .cache = off_cache, .wake_fd = vex_wake_open() };
	return wake_rx >= 0 && env.wake_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	close(env.wake_fd);
	close(wake_rx);
	unlink(sock_path);
	vex_cache_free(off_cache);
	return store_teardown(state);
}

/* The wakes that arrived up to a marker sent now (datagrams of one sender arrive in order). */
static int wakes(void)
{
	struct pollfd p = { .fd = wake_rx, .events = POLLIN };

	vex_wake_send(env.wake_fd, sock_path);
	if (poll(&p, 1, 5000) != 1)
		return -1;
	return vex_wake_drain(wake_rx) - 1;
}

static int submit(const struct vex_principal *who, const char *key, struct vex_job **ret, int *created,
		  struct vex_field_error *e)
{
	struct vex_idem idem = { .key = key, .request_hash = "" };
	json_t *args = json_pack("{s:s}", "say", "hi");
	int rc = vex_jobsvc_submit_tool(&env, who, "echo", args, 0, key ? &idem : NULL, NULL, ret, created, e);

	json_decref(args);
	return rc;
}

static void test_queued_cap(void **state)
{
	static const int limits[VEX_PLAN_COUNT] = { 9, 9, 9, 9 };
	struct vex_job *first = NULL, *j = NULL, *claimed = NULL;
	struct vex_field_error e;
	int created = -1;
	int64_t n = 0;

	(void)state;
	assert_int_equal(submit(&carol, "cap-1", &first, &created, &e), 0);
	assert_int_equal(submit(&carol, NULL, &j, &created, &e), 0);
	vex_job_free(j);
	j = NULL;
	assert_int_equal(wakes(), 2);
	assert_int_equal(submit(&carol, NULL, &j, &created, &e), VEX_ELIMIT);
	assert_null(j);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "QUEUED_JOB_LIMIT_REACHED");
	assert_non_null(strstr(e.message, "at most 2 queued jobs per owner on the standard plan"));
	assert_int_equal(wakes(), 0); /* nothing queued, nobody woken */
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_QUEUED_JOBS, "carol", &n), 0);
	assert_int_equal(n, 2);
	/* a replay at the cap answers the first job */
	assert_int_equal(submit(&carol, "cap-1", &j, &created, &e), 0);
	assert_int_equal(created, 0);
	assert_string_equal(j->id, first->id);
	/* an admin on the same plan has no cap */
	for (int i = 0; i < 3; i++) {
		vex_job_free(j);
		j = NULL;
		assert_int_equal(submit(&root, NULL, &j, &created, &e), 0);
	}
	/* a started job is no longer queued: a place frees up */
	do {
		vex_job_free(claimed);
		claimed = NULL;
		assert_int_equal(vex_store_job_claim(store, "r", vex_now_us(), 30000000, limits, &claimed), 0);
	} while (strcmp(claimed->owner, "carol") != 0);
	vex_job_free(j);
	j = NULL;
	assert_int_equal(submit(&carol, NULL, &j, &created, &e), 0);
	assert_int_equal(created, 1);
	vex_job_free(first);
	vex_job_free(j);
	vex_job_free(claimed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queued_cap, setup, teardown),
	};

	vex_log_init("test_jobsvc_caps", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
