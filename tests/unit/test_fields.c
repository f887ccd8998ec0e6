/* test_fields.c - a write body against its route's field list; the agent fields both dialects read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "fcgi-app/fields.h"

static const char *const tool_body[] = { "arguments", "timeout_ms", NULL };

static void test_known_fields_pass(void **state)
{
	struct vex_field_error e;
	json_t *b = json_pack("{s:{s:i}, s:i}", "arguments", "ms", 100, "timeout_ms", 5000);

	(void)state;
	assert_int_equal(vex_fields_known(b, tool_body, &e), 0);
	json_object_clear(b);
	assert_int_equal(vex_fields_known(b, tool_body, &e), 0);
	assert_int_equal(vex_fields_known(b, NULL, &e), 0); /* {} where no field is taken */
	json_decref(b);
}

static void test_unknown_field_named(void **state)
{
	struct vex_field_error e;
	json_t *b = json_pack("{s:i}", "ms", 100);

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_fields_known(b, tool_body, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, "ms");
	assert_string_equal(e.message, "unknown field 'ms'; allowed: arguments, timeout_ms");
	/* a route that takes no fields says so */
	assert_int_equal(vex_fields_known(b, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.message, "unknown field 'ms'; this endpoint takes no fields");
	/* names compare exactly: case and nulls count */
	json_decref(b);
	b = json_pack("{s:n}", "Arguments");
	assert_int_equal(vex_fields_known(b, tool_body, &e), VEX_EINVAL);
	assert_string_equal(e.field, "Arguments");
	json_decref(b);
}

/* A client-sized name is cut in "field" and in the message, never overflowing either. */
static void test_long_unknown_name(void **state)
{
	struct vex_field_error e;
	char name[4096];
	json_t *b;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	b = json_pack("{s:i}", name, 1);
	assert_int_equal(vex_fields_known(b, tool_body, &e), VEX_EINVAL);
	assert_int_equal(strlen(e.field), sizeof(e.field) - 1);
	assert_true(strlen(e.message) < sizeof(e.message));
	assert_non_null(strstr(e.message, "allowed: arguments, timeout_ms"));
	json_decref(b);
}

static void test_agent_fields(void **state)
{
	struct vex_field_error e;
	char *field = strdup("old");
	json_t *b = json_pack("{s:[s,s], s:n, s:s, s:i}", "tools", "echo", "fx.add", "model", "base", "x", "n", 1);

	(void)state;
	assert_int_equal(vex_fields_tool_names(b, "tools", &field, &e), 0);
	assert_string_equal(field, "[\"echo\",\"fx.add\"]");
	assert_int_equal(vex_fields_nullable_str(b, "model", &field, &e), 0);
	assert_null(field);
	assert_int_equal(vex_fields_nullable_str(b, "absent", &field, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_fields_tool_names(b, "absent", &field, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_fields_nullable_str(b, "base", &field, &e), 0);
	assert_string_equal(field, "x");
	assert_int_equal(vex_fields_tool_names(b, "base", &field, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "base");
	assert_string_equal(field, "x"); /* kept on failure */
	assert_int_equal(vex_fields_nullable_str(b, "n", &field, &e), VEX_EINVAL);
	assert_string_equal(e.field, "n");
	assert_int_equal(vex_fields_tool_names(b, "model", &field, &e), 0); /* null: every tool */
	assert_null(field);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_fields_pass),
		cmocka_unit_test(test_unknown_field_named),
		cmocka_unit_test(test_long_unknown_name),
		cmocka_unit_test(test_agent_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
