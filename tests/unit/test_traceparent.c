/* test_traceparent.c - the W3C traceparent check: version 00, future versions, what is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/traceparent.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"
#define GOOD "00-" TRACE "-" PARENT "-01"

static void test_version_00_is_kept_as_sent(void **state)
{
	char out[VEX_TRACEPARENT_LEN + 1];

	(void)state;
	assert_int_equal(vex_traceparent_parse(GOOD, out), 0);
	assert_string_equal(out, GOOD);
	assert_true(vex_traceparent_valid(out));
	assert_int_equal(vex_traceparent_parse("00-" TRACE "-" PARENT "-00", out), 0);
	assert_string_equal(out, "00-" TRACE "-" PARENT "-00");
}

static void test_future_versions_keep_their_first_55_characters_as_00(void **state)
{
	char out[VEX_TRACEPARENT_LEN + 1];

	(void)state;
	assert_int_equal(vex_traceparent_parse("01-" TRACE "-" PARENT "-01", out), 0);
	assert_string_equal(out, GOOD);
	assert_int_equal(vex_traceparent_parse("cc-" TRACE "-" PARENT "-01-what-ever", out), 0);
	assert_string_equal(out, GOOD);
	/* after the 55 characters, a future version's next field starts with "-" */
	assert_int_equal(vex_traceparent_parse("cc-" TRACE "-" PARENT "-01x", out), VEX_EINVAL);
}

static void test_everything_else_is_refused_and_out_untouched(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		GOOD "0",                                   /* version 00 is exactly 55 characters */
		"00-" TRACE "-" PARENT "-0",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01", /* upper case */
		"00-" TRACE "-00F067AA0BA902B7-01",
		"00-" TRACE "-" PARENT "-0A",
		"00-00000000000000000000000000000000-" PARENT "-01", /* all-zero trace-id */
		"00-" TRACE "-0000000000000000-01",          /* all-zero parent-id */
		"ff-" TRACE "-" PARENT "-01",               /* version ff */
		"0g-" TRACE "-" PARENT "-01",
		"00_" TRACE "-" PARENT "-01",
		"00-" TRACE "_" PARENT "-01",
		"00-" TRACE "-" PARENT "_01",
		" 00-" TRACE "-" PARENT "-01",
		"00-" TRACE "-" PARENT "\r\nX-Evil: 1",
		"00-" TRACE "-" PARENT "-\"}",
		"00-4bf92f3577b34da6a3ce929d0e0e473\"-" PARENT "-01",
		"01-" TRACE "-" PARENT "-01\r\nX-Evil: 1",
	};
	char out[VEX_TRACEPARENT_LEN + 1];
	char big[VEX_TRACEPARENT_HEADER_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(vex_traceparent_parse(bad[i], out), VEX_EINVAL);
		assert_int_equal(out[0], 'x');
		assert_false(vex_traceparent_valid(bad[i]));
	}
	assert_int_equal(vex_traceparent_parse(NULL, out), VEX_EINVAL);
	assert_false(vex_traceparent_valid(NULL));
	/* a future version longer than the cap is ignored whole */
	memset(big, 'a', sizeof(big));
	memcpy(big, "01-" TRACE "-" PARENT "-01-", VEX_TRACEPARENT_LEN + 1);
	big[VEX_TRACEPARENT_HEADER_MAX + 1] = '\0';
	assert_int_equal(vex_traceparent_parse(big, out), VEX_EINVAL);
	big[VEX_TRACEPARENT_HEADER_MAX] = '\0';
	assert_int_equal(vex_traceparent_parse(big, out), 0);
	/* a future version is stored as 00, but "valid" means exactly what the parse writes */
	assert_false(vex_traceparent_valid("01-" TRACE "-" PARENT "-01"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_00_is_kept_as_sent),
		cmocka_unit_test(test_future_versions_keep_their_first_55_characters_as_00),
		cmocka_unit_test(test_everything_else_is_refused_and_out_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
