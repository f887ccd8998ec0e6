/* test_json.c - bounded parsing, UTF-8 helpers and the request field readers with their exact errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/json.h"

static json_t *parse_ok(const char *s)
{
	struct vex_field_error e;
	json_t *v = NULL;

	memset(&e, 0, sizeof(e));
	if (vex_json_parse(s, strlen(s), &v, &e) != 0)
		fail_msg("parse failed: %s", e.message);
	return v;
}

static void expect_parse_error(const char *buf, size_t len, const char *needle)
{
	struct vex_field_error e;
	json_t *v = (json_t *)0x1;

	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_json_parse(buf, len, &v, &e), VEX_EINVAL);
	assert_ptr_equal(v, (json_t *)0x1); /* untouched */
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "INVALID_JSON");
	if (!strstr(e.message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", e.message, needle);
}

static void test_parse_ok(void **state)
{
	json_t *v;

	(void)state;
	v = parse_ok("{\"a\":[1,2,{\"b\":null}],\"c\":\"\xc3\xa9\"}");
	assert_true(json_is_object(v));
	json_decref(v);
	v = parse_ok("42"); /* any value */
	assert_true(json_is_integer(v));
	json_decref(v);
	v = parse_ok("\"str\"");
	assert_true(json_is_string(v));
	json_decref(v);
}

static void test_parse_errors(void **state)
{
	static const char nul_raw[] = "{\"a\":\"x\0y\"}";
	char deep[200], ok_deep[200];
	size_t n = 0;

	(void)state;
	expect_parse_error("{\"a\":", 5, "line 1");
	expect_parse_error("{\"a\":1,}", 8, "position");
	expect_parse_error("", 0, "invalid JSON");
	expect_parse_error("{} {}", 5, "invalid JSON");
	expect_parse_error("{\"a\":1,\"a\":2}", 13, "duplicate");
	expect_parse_error(nul_raw, sizeof(nul_raw) - 1, "NUL");
	expect_parse_error("{\"a\":\"x\\u0000y\"}", 16, "invalid JSON");
	expect_parse_error("\"\xff\xfe\"", 4, "invalid JSON"); /* invalid UTF-8 */
	expect_parse_error("{\"a\":1.5e99999}", 15, "invalid JSON");
	expect_parse_error("99999999999999999999999", 23, "invalid JSON");

	/* 33 nested arrays are refused, 32 are fine. */
	for (int i = 0; i < 33; i++)
		deep[n++] = '[';
	for (int i = 0; i < 33; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	expect_parse_error(deep, n, "nesting");
	memcpy(ok_deep, deep + 1, n - 2);
	ok_deep[n - 2] = '\0';
	json_decref(parse_ok(ok_deep));
	/* Brackets inside strings do not count. */
	json_decref(parse_ok("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"]"));
	{
		struct vex_field_error e;
		json_t *v;

		assert_int_equal(vex_json_parse(NULL, 0, &v, &e), VEX_EINVAL);
	}
}

static void test_dump(void **state)
{
	json_t *v = json_pack("{s:i, s:s, s:[i,i]}", "z", 1, "a", "x", "m", 1, 2);
	char *s;

	(void)state;
	s = vex_json_dump(v);
	assert_string_equal(s, "{\"z\":1,\"a\":\"x\",\"m\":[1,2]}"); /* insertion order, compact */
	free(s);
	json_decref(v);
	v = json_integer(7);
	s = vex_json_dump(v);
	assert_string_equal(s, "7");
	free(s);
	json_decref(v);
	assert_null(vex_json_dump(NULL));
}

static void test_utf8(void **state)
{
	(void)state;
	assert_int_equal(vex_utf8_len(""), 0);
	assert_int_equal(vex_utf8_len("abc"), 3);
	assert_int_equal(vex_utf8_len("\xc3\xa9t\xc3\xa9"), 3);          /* été */
	assert_int_equal(vex_utf8_len("\xe2\x82\xac"), 1);               /* € */
	assert_int_equal(vex_utf8_len("\xf0\x9f\x98\x80x"), 2);          /* emoji + x */

	assert_false(vex_has_control_chars("plain text \xc3\xa9 \xe2\x82\xac"));
	assert_true(vex_has_control_chars("a\nb"));
	assert_true(vex_has_control_chars("a\tb"));
	assert_true(vex_has_control_chars("\x1f"));
	assert_true(vex_has_control_chars("del\x7f"));
	assert_true(vex_has_control_chars("c1 \xc2\x80"));  /* U+0080 */
	assert_true(vex_has_control_chars("c1 \xc2\x9f"));  /* U+009F */
	assert_false(vex_has_control_chars("\xc2\xa0"));     /* U+00A0 no-break space is not a control */
	assert_false(vex_has_control_chars("\xc3\x80"));     /* À: continuation 0x80 after C3 */
	assert_false(vex_has_control_chars(NULL));
}

static void test_get_string(void **state)
{
	json_t *o = parse_ok("{\"name\":\"agent \xc3\xa9\",\"empty\":\"\",\"num\":5,\"nl\":\"a\\nb\","
			     "\"c1\":\"x\\u0085y\",\"nul\":null,\"long\":\"abcdef\"}");
	struct vex_field_error e;
	const char *s = NULL;

	(void)state;
	assert_int_equal(vex_json_get_string(o, "name", 1, 1, 100, 0, &s, &e), 0);
	assert_string_equal(s, "agent \xc3\xa9");

	/* Code points, not bytes: "agent é" is 7 characters. */
	s = NULL;
	assert_int_equal(vex_json_get_string(o, "name", 1, 1, 7, 0, &s, &e), 0);
	assert_int_equal(vex_json_get_string(o, "name", 1, 1, 6, 0, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, "name");
	assert_string_equal(e.message, "name must be 1 to 6 characters");

	assert_int_equal(vex_json_get_string(o, "empty", 1, 1, 100, 0, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.message, "empty must be 1 to 100 characters");

	assert_int_equal(vex_json_get_string(o, "long", 1, 0, 3, 0, &s, &e), VEX_EINVAL);
	assert_string_equal(e.message, "long must be at most 3 characters");

	assert_int_equal(vex_json_get_string(o, "num", 1, 1, 100, 0, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, "num");
	assert_string_equal(e.message, "num must be a string");

	assert_int_equal(vex_json_get_string(o, "missing", 1, 1, 100, 0, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "missing");
	assert_string_equal(e.message, "missing is required");

	s = "untouched";
	assert_int_equal(vex_json_get_string(o, "missing", 0, 1, 100, 0, &s, &e), VEX_ENOTFOUND);
	assert_string_equal(s, "untouched");
	assert_int_equal(vex_json_get_string(o, "nul", 0, 1, 100, 0, &s, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_json_get_string(o, "nul", 1, 1, 100, 0, &s, &e), VEX_EINVAL);
	assert_string_equal(e.message, "nul is required");

	/* Control characters: refused unless allowed. */
	assert_int_equal(vex_json_get_string(o, "nl", 1, 1, 100, 0, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.message, "nl must not contain control characters");
	assert_int_equal(vex_json_get_string(o, "nl", 1, 1, 100, 1, &s, &e), 0);
	assert_string_equal(s, "a\nb");
	assert_int_equal(vex_json_get_string(o, "c1", 1, 1, 100, 0, &s, &e), VEX_EINVAL);

	/* A string built in code with an embedded NUL. */
	json_object_set_new(o, "embedded", json_stringn("a\0b", 3));
	assert_int_equal(vex_json_get_string(o, "embedded", 1, 0, 100, 1, &s, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);

	/* Not an object. */
	{
		json_t *arr = json_array();

		assert_int_equal(vex_json_get_string(arr, "x", 0, 0, 10, 0, &s, &e), VEX_EINVAL);
		assert_int_equal(e.status, 400);
		json_decref(arr);
	}
	json_decref(o);
}

static void test_get_int(void **state)
{
	json_t *o = parse_ok("{\"n\":42,\"neg\":-7,\"real\":3.0,\"frac\":2.5,\"s\":\"5\",\"b\":true,"
			     "\"big\":9223372036854775807}");
	struct vex_field_error e;
	long long n = 0;

	(void)state;
	assert_int_equal(vex_json_get_int(o, "n", 1, &n, &e), 0);
	assert_int_equal(n, 42);
	assert_int_equal(vex_json_get_int(o, "neg", 1, &n, &e), 0);
	assert_int_equal(n, -7);
	assert_int_equal(vex_json_get_int(o, "big", 1, &n, &e), 0);
	assert_true(n == 9223372036854775807LL);
	n = 99;
	assert_int_equal(vex_json_get_int(o, "real", 1, &n, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, "real");
	assert_string_equal(e.message, "real must be an integer");
	assert_int_equal(n, 99);
	assert_int_equal(vex_json_get_int(o, "frac", 1, &n, &e), VEX_EINVAL);
	assert_int_equal(vex_json_get_int(o, "s", 1, &n, &e), VEX_EINVAL);
	assert_string_equal(e.message, "s must be an integer");
	assert_int_equal(vex_json_get_int(o, "b", 1, &n, &e), VEX_EINVAL);
	assert_int_equal(vex_json_get_int(o, "absent", 0, &n, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_json_get_int(o, "absent", 1, &n, &e), VEX_EINVAL);
	assert_string_equal(e.message, "absent is required");
	assert_int_equal(n, 99);
	json_decref(o);
}

static void test_get_bool(void **state)
{
	json_t *o = parse_ok("{\"t\":true,\"f\":false,\"i\":1,\"s\":\"true\"}");
	struct vex_field_error e;
	int b = 7;

	(void)state;
	assert_int_equal(vex_json_get_bool(o, "t", 1, &b, &e), 0);
	assert_int_equal(b, 1);
	assert_int_equal(vex_json_get_bool(o, "f", 1, &b, &e), 0);
	assert_int_equal(b, 0);
	b = 7;
	assert_int_equal(vex_json_get_bool(o, "i", 1, &b, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.message, "i must be a boolean");
	assert_int_equal(vex_json_get_bool(o, "s", 0, &b, &e), VEX_EINVAL);
	assert_int_equal(vex_json_get_bool(o, "absent", 0, &b, &e), VEX_ENOTFOUND);
	assert_int_equal(b, 7);
	json_decref(o);
}

static void test_field_error_set(void **state)
{
	struct vex_field_error e;
	char longfield[400];

	(void)state;
	memset(longfield, 'f', sizeof(longfield) - 1);
	longfield[sizeof(longfield) - 1] = '\0';
	assert_int_equal(vex_field_error_set(&e, 422, "VALIDATION_ERROR", "max_depth",
					     "max_depth exceeds safety limit of %d", 10),
			 VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.field, "max_depth");
	assert_string_equal(e.message, "max_depth exceeds safety limit of 10");
	vex_field_error_set(&e, 400, "INVALID_JSON", NULL, "%s", longfield);
	assert_string_equal(e.field, "");
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	vex_field_error_set(&e, 400, "X", longfield, "m");
	assert_int_equal(strlen(e.field), sizeof(e.field) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),  cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_dump),      cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_get_string), cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_get_bool),  cmocka_unit_test(test_field_error_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
