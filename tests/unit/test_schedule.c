/* test_schedule.c - the UTC minutes of a schedule and its slots in a time range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/schedule.h"

#define DAY0 1763856000000000LL /* 2025-11-23T00:00:00Z */
#define MIN 60000000LL

static void test_minutes_times(void **state)
{
	uint16_t m[VEX_SCHEDULE_MINUTES];
	size_t n = 99;

	(void)state;
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":3,\"times\":[\"23:59\",\"00:00\",\"09:30\"]}", m, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 9 * 60 + 30);
	assert_int_equal(m[2], 23 * 60 + 59);
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":1,\"times\":[]}", m, &n), 0);
	assert_int_equal(n, 0);
}

static void test_minutes_spread(void **state)
{
	uint16_t m[VEX_SCHEDULE_MINUTES];
	size_t n = 0;

	(void)state;
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":4}", m, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[1], 360);
	assert_int_equal(m[2], 720);
	assert_int_equal(m[3], 1080);
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":1440}", m, &n), 0);
	assert_int_equal(n, 1440);
}

static void test_minutes_invalid(void **state)
{
	uint16_t m[VEX_SCHEDULE_MINUTES];
	size_t n = 7;

	(void)state;
	assert_int_equal(vex_schedule_minutes(NULL, m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("[]", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"times\":[\"24:00\"]}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"times\":[\"9:00\"]}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"times\":[\"09:60\"]}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"times\":[900]}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":0}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("{\"tasksPerDay\":1441}", m, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_minutes("not json", m, &n), VEX_EINVAL);
	assert_int_equal(n, 7); /* untouched on failure */
}

static void test_slots(void **state)
{
	uint16_t m[] = { 0, 9 * 60, 23 * 60 + 59 };
	int64_t out[8];
	size_t n = 0;

	(void)state;
	/* now 09:00:30, window 300 s: today's 09:00 only */
	assert_int_equal(vex_schedule_slots(m, 3, DAY0 + 9 * 60 * MIN + 30000000 - 300000000,
					     DAY0 + 9 * 60 * MIN + 30000000, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_true(out[0] == DAY0 + 9 * 60 * MIN);
	/* now 00:02 today, window 5 min: yesterday's 23:59 and today's 00:00 */
	assert_int_equal(vex_schedule_slots(m, 3, DAY0 + 2 * MIN - 5 * MIN, DAY0 + 2 * MIN, out, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_true(out[0] == DAY0 - MIN);
	assert_true(out[1] == DAY0);
	/* bounds are inclusive */
	assert_int_equal(vex_schedule_slots(m, 3, DAY0, DAY0, out, 8, &n), 0);
	assert_int_equal(n, 1);
	/* a slot in the future is not due */
	assert_int_equal(vex_schedule_slots(m, 3, DAY0 + 1, DAY0 + 9 * 60 * MIN - 1, out, 8, &n), 0);
	assert_int_equal(n, 0);
	/* two days: six slots */
	assert_int_equal(vex_schedule_slots(m, 3, DAY0, DAY0 + 2 * 86400000000LL - 1, out, 8, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(vex_schedule_slots(m, 3, DAY0, DAY0 + 2 * 86400000000LL - 1, out, 5, &n), VEX_ETOOBIG);
	assert_int_equal(vex_schedule_slots(m, 3, DAY0, DAY0 - 1, out, 8, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_slots(m, 3, DAY0, DAY0 + 3 * 86400000000LL, out, 8, &n), VEX_EINVAL);
	assert_int_equal(vex_schedule_slots(NULL, 0, DAY0, DAY0 + 1, out, 8, &n), 0);
	assert_int_equal(n, 0);
}

static void test_eligible(void **state)
{
	(void)state;
	/* created during the slot's minute: it fires; created after the minute ended: not its slot */
	assert_true(vex_schedule_slot_eligible(DAY0, DAY0 + 59 * 1000000LL));
	assert_true(vex_schedule_slot_eligible(DAY0, DAY0 - 1));
	assert_false(vex_schedule_slot_eligible(DAY0, DAY0 + MIN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minutes_times),
		cmocka_unit_test(test_minutes_spread),
		cmocka_unit_test(test_minutes_invalid),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_eligible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
