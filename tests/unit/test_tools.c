/* test_tools.c - the builtin tool catalog: names, lookups, descriptions and valid input schemas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/tools.h"

static void test_builtins(void **state)
{
	const struct vex_tool_info *t = NULL;
	size_t n, i;

	(void)state;
	n = vex_tools_builtin(&t);
	assert_int_equal(n, 3);
	assert_non_null(t);
	assert_string_equal(t[0].name, "echo");
	assert_string_equal(t[1].name, "sleep");
	assert_string_equal(t[2].name, "fail");
	for (i = 0; i < n; i++) {
		json_t *schema = json_loads(t[i].input_schema_json, 0, NULL);

		assert_non_null(schema);
		assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
		assert_string_equal(t[i].source, "builtin");
		assert_true(strlen(t[i].description) > 20);
		assert_ptr_equal(vex_tool_find(t[i].name), &t[i]);
		json_decref(schema);
	}
}

static void test_sleep_schema(void **state)
{
	const struct vex_tool_info *t = vex_tool_find("sleep");
	json_t *schema, *ms, *steps;

	(void)state;
	assert_non_null(t);
	schema = json_loads(t->input_schema_json, 0, NULL);
	assert_non_null(schema);
	assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
	ms = json_object_get(json_object_get(schema, "properties"), "ms");
	steps = json_object_get(json_object_get(schema, "properties"), "steps");
	assert_string_equal(json_string_value(json_object_get(ms, "type")), "integer");
	assert_int_equal(json_integer_value(json_object_get(ms, "minimum")), 0);
	assert_int_equal(json_integer_value(json_object_get(ms, "maximum")), 3600000);
	assert_int_equal(json_integer_value(json_object_get(steps, "minimum")), 1);
	assert_int_equal(json_integer_value(json_object_get(steps, "maximum")), 1000);
	json_decref(schema);
}

static void test_fail_schema(void **state)
{
	const struct vex_tool_info *t = vex_tool_find("fail");
	json_t *schema, *props;

	(void)state;
	assert_non_null(t);
	schema = json_loads(t->input_schema_json, 0, NULL);
	props = json_object_get(schema, "properties");
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "message"), "type")), "string");
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "code"), "type")), "string");
	json_decref(schema);
}

static void test_find_unknown(void **state)
{
	(void)state;
	assert_null(vex_tool_find("rm"));
	assert_null(vex_tool_find(""));
	assert_null(vex_tool_find("ECHO"));
	assert_null(vex_tool_find(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_sleep_schema),
		cmocka_unit_test(test_fail_schema),
		cmocka_unit_test(test_find_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
