/* test_timeutil.c - clocks, RFC 3339 formatting and parsing, sleep. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"

/* The monotonic clock never goes back, and a sleep ends past its deadline, never before it. */
static void test_clocks(void **state)
{
	int64_t a = vex_mono_us(), b;

	(void)state;
	assert_true(vex_now_us() > 1700000000LL * 1000000);
	vex_sleep_ms(5, NULL);
	b = vex_mono_us();
	assert_true(b >= a + 5000);
}

static void test_format(void **state)
{
	char out[VEX_RFC3339_LEN];

	(void)state;
	vex_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	vex_rfc3339(1735722000123456LL, out);
	assert_string_equal(out, "2025-01-01T09:00:00.123Z");
	vex_rfc3339(951782400000000LL, out); /* leap day 2000 */
	assert_string_equal(out, "2000-02-29T00:00:00.000Z");
	vex_rfc3339(-1000, out); /* 1 ms before the epoch */
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	vex_rfc3339(INT64_MAX, out);
	assert_true(strlen(out) < VEX_RFC3339_LEN);
}

static void test_parse_good(void **state)
{
	int64_t us = 0;

	(void)state;
	assert_int_equal(vex_parse_rfc3339("2025-01-01T09:00:00Z", &us), 0);
	assert_true(us == 1735722000000000LL);
	assert_int_equal(vex_parse_rfc3339("2025-01-01T09:00:00.123456Z", &us), 0);
	assert_true(us == 1735722000123456LL);
	assert_int_equal(vex_parse_rfc3339("2025-01-01T09:00:00.1234567891Z", &us), 0);
	assert_true(us == 1735722000123456LL);
	assert_int_equal(vex_parse_rfc3339("2025-01-01T10:30:00+01:30", &us), 0);
	assert_true(us == 1735722000000000LL);
	assert_int_equal(vex_parse_rfc3339("2025-01-01T08:00:00-01:00", &us), 0);
	assert_true(us == 1735722000000000LL);
	assert_int_equal(vex_parse_rfc3339("2025-01-01", &us), 0);
	assert_true(us == 1735689600000000LL);
	assert_int_equal(vex_parse_rfc3339("2024-02-29t00:00:00z", &us), 0);
	assert_int_equal(vex_parse_rfc3339("1969-12-31T23:59:59Z", &us), 0);
	assert_true(us == -1000000LL);
}

static void test_parse_bad(void **state)
{
	static const char *bad[] = {
		"", "2025", "2025-1-01", "2025-13-01", "2025-02-29", "2025-04-31", "2025-01-00",
		"2025-01-01T", "2025-01-01T24:00:00Z", "2025-01-01T09:60:00Z", "2025-01-01T09:00:60Z",
		"2025-01-01T09:00:00", "2025-01-01T09:00:00.Z", "2025-01-01T09:00:00+0100",
		"2025-01-01T09:00:00Zjunk", "2025-01-01X09:00:00Z", "abcd-ef-ghT00:00:00Z",
		"2025-01-01T09:00:00+24:00", " 2025-01-01",
	};
	int64_t us = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vex_parse_rfc3339(bad[i], &us), VEX_EINVAL);
		assert_true(us == 42); /* untouched on failure */
	}
	assert_int_equal(vex_parse_rfc3339(NULL, &us), VEX_EINVAL);
}

static void test_roundtrip(void **state)
{
	char out[VEX_RFC3339_LEN];
	int64_t us;

	(void)state;
	for (int64_t t = -86400000000LL * 800; t < 86400000000LL * 40000; t += 86400000000LL * 37 + 123000) {
		vex_rfc3339(t, out);
		assert_int_equal(vex_parse_rfc3339(out, &us), 0);
		assert_true(us == t);
	}
}

static volatile sig_atomic_t alarms;
static volatile int stop_flag;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	stop_flag = 1;
}

/*
 * A signal that sets "*stop" ends the sleep: the call returns while the one-minute deadline it
 * was given still lies ahead. A signal that leaves "*stop" alone does not end it. Zero and
 * negative durations return without sleeping.
 */
static void test_sleep_stop(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	/* Periodic, so that an alarm that comes before the sleep starts is followed by one within it. */
	struct itimerval it = { .it_value = { .tv_usec = 20000 }, .it_interval = { .tv_usec = 20000 } }, off = { 0 };
	int64_t deadline;

	(void)state;
	vex_sleep_ms(0, NULL);
	vex_sleep_ms(-5, NULL);

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	deadline = vex_mono_us() + 60 * 1000000LL;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	vex_sleep_ms(60000, &stop_flag);
	setitimer(ITIMER_REAL, &off, NULL);
	assert_true(alarms >= 1);
	assert_true(vex_mono_us() < deadline);

	/* Without a stop flag the interrupted sleep goes on to its end. */
	alarms = 0;
	deadline = vex_mono_us() + 100000;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	vex_sleep_ms(100, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	assert_true(alarms >= 1);
	assert_true(vex_mono_us() >= deadline);
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clocks),      cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_good),  cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_roundtrip),   cmocka_unit_test(test_sleep_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
