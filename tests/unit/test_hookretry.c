/* test_hookretry.c - webhook retry waits (schedule, jitter bounds, exhaustion) and Retry-After parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/hookretry.h"

#define S 1000000LL
/* 1994-11-06T08:49:37Z, the date of RFC 9110's examples */
#define RFC_DATE_US (784111777LL * S)

static void test_after_seconds(void **state)
{
	int64_t w = -1;

	(void)state;
	assert_int_equal(vex_hookretry_after_parse("120", 0, &w), 0);
	assert_true(w == 120 * S);
	assert_int_equal(vex_hookretry_after_parse("  0 \r\n", 0, &w), 0);
	assert_true(w == 0);
	assert_int_equal(vex_hookretry_after_parse("1", 0, &w), 0);
	assert_true(w == S);
	/* capped at a day */
	assert_int_equal(vex_hookretry_after_parse("999999999999", 0, &w), 0);
	assert_true(w == VEX_HOOKRETRY_AFTER_MAX_US);
	assert_int_equal(vex_hookretry_after_parse("86401", 0, &w), 0);
	assert_true(w == VEX_HOOKRETRY_AFTER_MAX_US);
	assert_int_equal(vex_hookretry_after_parse("-1", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("1.5", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("12abc", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse(NULL, 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("1234567890123456789012", 0, &w), VEX_EINVAL);
}

static void test_after_dates(void **state)
{
	int64_t w = -1;

	(void)state;
	/* the three forms of the same instant, 30 s ahead of "now" */
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_US - 30 * S, &w), 0);
	assert_true(w == 30 * S);
	assert_int_equal(vex_hookretry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", RFC_DATE_US - 30 * S, &w), 0);
	assert_true(w == 30 * S);
	assert_int_equal(vex_hookretry_after_parse("Sun Nov  6 08:49:37 1994", RFC_DATE_US - 30 * S, &w), 0);
	assert_true(w == 30 * S);
	/* in the past: no wait; far ahead: a day */
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_US + S, &w), 0);
	assert_true(w == 0);
	assert_int_equal(vex_hookretry_after_parse("Fri, 01 Jan 2100 00:00:00 GMT", RFC_DATE_US, &w), 0);
	assert_true(w == VEX_HOOKRETRY_AFTER_MAX_US);
	/* not dates */
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Nov 1994 08:49:37 XYZ", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Foo 1994 08:49:37 GMT", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("Sun, 31 Feb 1994 08:49:37 GMT", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Nov 1994 25:49:37 GMT", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT trailing", 0, &w), VEX_EINVAL);
	assert_int_equal(vex_hookretry_after_parse("tomorrow", 0, &w), VEX_EINVAL);
}

static void schedule(struct vex_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hook_retry_ms[0] = 5000;
	cfg->hook_retry_ms[1] = 30000;
	cfg->hook_retry_ms[2] = 100;
	cfg->hook_retries = 3;
}

static void test_wait_schedule(void **state)
{
	struct vex_config cfg;
	int64_t w = -1;

	(void)state;
	schedule(&cfg);
	/* rnd 2^31 is the middle of the jitter range: the schedule itself */
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 0, 0x80000000u, &w), 0);
	assert_true(w == 5000 * 1000LL);
	assert_int_equal(vex_hookretry_wait(&cfg, 2, 0, 0x80000000u, &w), 0);
	assert_true(w == 30000 * 1000LL);
	assert_int_equal(vex_hookretry_wait(&cfg, 3, 0, 0x80000000u, &w), 0);
	assert_true(w == 100 * 1000LL);
	/* used up: failed for good */
	assert_int_equal(vex_hookretry_wait(&cfg, 4, 0, 0, &w), VEX_ESTATE);
	assert_int_equal(vex_hookretry_wait(&cfg, 0, 0, 0, &w), VEX_ESTATE);
	cfg.hook_retries = 0;
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 0, 0, &w), VEX_ESTATE);
}

static void test_wait_jitter(void **state)
{
	struct vex_config cfg;
	int64_t w = -1, lo = INT64_MAX, hi = 0;
	uint32_t r;

	(void)state;
	schedule(&cfg);
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 0, 0, &w), 0);
	assert_true(w == 4000 * 1000LL); /* -20% */
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 0, 0xffffffffu, &w), 0);
	assert_true(w >= 5999 * 1000LL && w <= 6000 * 1000LL); /* just under +20% */
	for (r = 0; r < 0xffffffffu - 0x01000000u; r += 0x01000000u) {
		assert_int_equal(vex_hookretry_wait(&cfg, 2, 0, r, &w), 0);
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	assert_true(lo >= 24000 * 1000LL && hi <= 36000 * 1000LL && hi - lo > 10000 * 1000LL);
}

static void test_wait_retry_after(void **state)
{
	struct vex_config cfg;
	int64_t w = -1;

	(void)state;
	schedule(&cfg);
	/* a longer Retry-After wins, a shorter one does not shorten the schedule */
	assert_int_equal(vex_hookretry_wait(&cfg, 3, 2 * S, 0x80000000u, &w), 0);
	assert_true(w == 2 * S);
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 1 * S, 0x80000000u, &w), 0);
	assert_true(w == 5 * S);
	/* capped at a day */
	assert_int_equal(vex_hookretry_wait(&cfg, 1, 10 * VEX_HOOKRETRY_AFTER_MAX_US, 0x80000000u, &w), 0);
	assert_true(w == VEX_HOOKRETRY_AFTER_MAX_US);
	/* Retry-After does not extend the schedule once it is used up */
	assert_int_equal(vex_hookretry_wait(&cfg, 4, 2 * S, 0, &w), VEX_ESTATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_seconds),  cmocka_unit_test(test_after_dates),
		cmocka_unit_test(test_wait_schedule),  cmocka_unit_test(test_wait_jitter),
		cmocka_unit_test(test_wait_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
