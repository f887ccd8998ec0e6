/* test_sseread.c - the event-stream reader: fields, line ends, events split anywhere, caps, stopping early. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/sseread.h"

/* What the callback saw: "type|data" per event ("type|<dropped N>" for an event over the cap). */
struct seen {
	char text[4096];
	int n;
	int stop_at; /* return 7 from this event on (1-based); 0 never */
};

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;
	size_t used = strlen(s->text);

	s->n++;
	if (data) {
		assert_int_equal(strlen(data), len);
		snprintf(s->text + used, sizeof(s->text) - used, "[%s|%s]", event, data);
	} else {
		snprintf(s->text + used, sizeof(s->text) - used, "[%s|<dropped %zu>]", event, len);
	}
	return s->stop_at && s->n >= s->stop_at ? 7 : 0;
}

static const char STREAM[] = ": a comment\r\n"
			     "id: 1\r\n"
			     "event: message\r\n"
			     "data: {\"a\":1}\r\n"
			     "\r\n"
			     "data:two\n"
			     "data:  lines\n"
			     "retry: 100\n"
			     "\n"
			     "event: ping\r"
			     "data\r"
			     "\r"
			     "event: only-type\n"
			     "\n"
			     "data: last\n"
			     "\n";
static const char WANT[] = "[message|{\"a\":1}][message|two\n lines][ping|]" "[message|last]";

static void test_whole_stream(void **state)
{
	struct vex_sse_reader r;
	struct seen s = { 0 };

	(void)state;
	vex_sse_init(&r, 1024);
	assert_int_equal(vex_sse_feed(&r, STREAM, strlen(STREAM), on_event, &s), 0);
	assert_string_equal(s.text, WANT);
	vex_sse_release(&r);
	vex_sse_release(NULL);
}

static void test_split_at_every_byte(void **state)
{
	size_t cut, len = strlen(STREAM);

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		struct vex_sse_reader r;
		struct seen s = { 0 };

		vex_sse_init(&r, 1024);
		assert_int_equal(vex_sse_feed(&r, STREAM, cut, on_event, &s), 0);
		assert_int_equal(vex_sse_feed(&r, STREAM + cut, len - cut, on_event, &s), 0);
		if (strcmp(s.text, WANT) != 0)
			fail_msg("cut at %zu: %s", cut, s.text);
		vex_sse_release(&r);
	}
	{
		/* one byte at a time */
		struct vex_sse_reader r;
		struct seen s = { 0 };
		size_t i;

		vex_sse_init(&r, 1024);
		for (i = 0; i < len; i++)
			assert_int_equal(vex_sse_feed(&r, STREAM + i, 1, on_event, &s), 0);
		assert_string_equal(s.text, WANT);
		vex_sse_release(&r);
	}
}

static void test_caps_drop_the_event_only(void **state)
{
	struct vex_sse_reader r;
	struct seen s = { 0 };
	char big[300];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vex_sse_init(&r, 100);
	/* a data line over the cap, then several lines adding up over it, then a normal event */
	assert_int_equal(vex_sse_feed(&r, "data: ", 6, on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, big, strlen(big), on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, "\n\n", 2, on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, "data: 0123456789012345678901234567890123456789\n", 47, on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, "data: 0123456789012345678901234567890123456789\n", 47, on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, "data: 0123456789012345678901234567890123456789\n\n", 48, on_event, &s), 0);
	assert_int_equal(vex_sse_feed(&r, "data: ok\n\n", 10, on_event, &s), 0);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.text, "[message|<dropped "));
	assert_non_null(strstr(s.text, "[message|ok]"));
	assert_int_equal(strncmp(strstr(s.text, "]") + 1, "[message|<dropped", 17), 0);
	vex_sse_release(&r);
	vex_sse_init(&r, 1); /* raised to the minimum of 64 */
	assert_int_equal(r.max, 64);
	vex_sse_release(&r);
}

static void test_stop_returns_the_callback_value(void **state)
{
	struct vex_sse_reader r;
	struct seen s = { .stop_at = 1 };

	(void)state;
	vex_sse_init(&r, 1024);
	assert_int_equal(vex_sse_feed(&r, "data: a\n\ndata: b\n\n", 18, on_event, &s), 7);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text, "[message|a]");
	vex_sse_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_caps_drop_the_event_only),
		cmocka_unit_test(test_stop_returns_the_callback_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
