/* test_jobcache_items.c - publishing many jobs at once (the runner's writer): one set for a terminal copy, CAS for the rest, only a job's newest copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/cache_fixture.h"

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/log.h"
#include "core/jobs/jobcache.h"

static struct vex_job *job_at(const char *id, int64_t rev, enum vex_job_status status)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	memcpy(j->id, id, VEX_UUID_LEN + 1);
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{}");
	j->max_attempts = 1;
	j->created_at = 1700000000000000;
	j->rev = rev;
	j->status = status;
	return j;
}

static void render(struct vex_jobcache_item *it, const char *id, int64_t rev, enum vex_job_status status)
{
	struct vex_job *j = job_at(id, rev, status);

	assert_int_equal(vex_jobcache_render(j, it), 0);
	vex_job_free(j);
}

static void expect_job(struct vex_cache *c, const char *id, int64_t rev, enum vex_job_status status)
{
	struct vex_job *got = NULL;

	assert_int_equal(vex_jobcache_get(c, id, &got), 0);
	assert_true(got->rev == rev);
	assert_int_equal(got->status, status);
	vex_job_free(got);
}

/* A terminal copy replaces whatever is cached (nothing can be newer); a running one keeps the CAS rule. */
static void test_final_and_cas(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_item it[2];
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];

	(void)state;
	vex_uuid7(a);
	vex_uuid7(b);
	put_rev(c, a, 2, "running");
	put_rev(c, b, 5, "running"); /* newer than the copy below */
	render(&it[0], a, 3, VEX_JOB_COMPLETED);
	render(&it[1], b, 4, VEX_JOB_RUNNING);
	assert_true(it[0].final);
	assert_false(it[1].final);
	vex_jobcache_put_items(c, it, 2);
	assert_null(it[0].json); /* released */
	expect_job(c, a, 3, VEX_JOB_COMPLETED);
	expect_cached(c, b, 5, "running"); /* the older running copy did not go backwards */
	/* a forged value is replaced by the final copy as by any write */
	vex_uuid7(a);
	{
		memcached_st *mc = raw_open();

		raw_set(mc, a, "vex1:forged", 11);
		memcached_free(mc);
	}
	render(&it[0], a, 9, VEX_JOB_FAILED);
	vex_jobcache_put_items(c, it, 1);
	expect_job(c, a, 9, VEX_JOB_FAILED);
	vex_cache_free(c);
}

/* Of several copies of one job in a batch only the newest is written. */
static void test_newest_only(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_item it[3];
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];

	(void)state;
	vex_uuid7(a);
	vex_uuid7(b);
	render(&it[0], a, 2, VEX_JOB_RUNNING);
	render(&it[1], b, 2, VEX_JOB_RUNNING);
	render(&it[2], a, 3, VEX_JOB_COMPLETED);
	vex_jobcache_put_items(c, it, 3);
	expect_job(c, a, 3, VEX_JOB_COMPLETED);
	expect_job(c, b, 2, VEX_JOB_RUNNING);
	/* a disabled cache takes the items and releases them */
	render(&it[0], a, 4, VEX_JOB_COMPLETED);
	vex_jobcache_put_items(NULL, it, 1);
	assert_null(it[0].json);
	vex_cache_free(c);
}

/* A final copy too big for an item removes the cached one: readers fall back to the store. */
static void test_final_too_big(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_item it;
	struct vex_job *j;
	char a[VEX_UUID_LEN + 1], *big;
	size_t n = 2u << 20;

	(void)state;
	vex_uuid7(a);
	put_rev(c, a, 2, "running");
	j = job_at(a, 3, VEX_JOB_COMPLETED);
	big = malloc(n + 3);
	assert_non_null(big);
	memset(big, 'b', n + 2);
	big[0] = big[n + 1] = '"';
	big[n + 2] = '\0';
	j->result_json = big;
	assert_int_equal(vex_jobcache_render(j, &it), 0);
	vex_job_free(j);
	vex_jobcache_put_items(c, &it, 1);
	expect_miss(c, a);
	vex_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_final_and_cas),
		cmocka_unit_test(test_newest_only),
		cmocka_unit_test(test_final_too_big),
	};

	vex_log_init("test_jobcache_items", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
