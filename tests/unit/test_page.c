/* test_page.c - one page of a listing: how many rows are shown and where the next page starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi-app/page.h"

static const char *const ids[] = { "a", "b", "c" };

static json_t *row(const void *list, size_t i, const void *arg, const char **id)
{
	const char *const *l = list;

	*id = l[i];
	return json_pack("{s:s, s:s}", "id", l[i], "tag", (const char *)arg);
}

static json_t *failing_row(const void *list, size_t i, const void *arg, const char **id)
{
	(void)arg;
	*id = ((const char *const *)list)[i];
	return i == 1 ? NULL : json_object();
}

static void more_rows_than_the_limit_give_a_next_cursor(void **state)
{
	const char *next = "unset";
	json_t *arr;

	(void)state;
	/* The store was asked for limit + 1 = 3 rows and returned 3: two are shown, "b" is the cursor. */
	arr = vex_page_rows(ids, 3, 2, row, "t", &next);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "id")), "a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "id")), "b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "tag")), "t");
	assert_string_equal(next, "b");
	json_decref(arr);
}

static void the_last_page_has_no_cursor(void **state)
{
	const char *next = "unset";
	json_t *arr;

	(void)state;
	arr = vex_page_rows(ids, 3, 3, row, "t", &next);
	assert_int_equal(json_array_size(arr), 3);
	assert_null(next);
	json_decref(arr);
	arr = vex_page_rows(ids, 0, 5, row, "t", &next);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 0);
	assert_null(next);
	json_decref(arr);
}

static void a_row_that_cannot_be_rendered_fails_the_page(void **state)
{
	const char *next = "unset";

	(void)state;
	assert_null(vex_page_rows(ids, 3, 2, failing_row, NULL, &next));
	assert_null(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(more_rows_than_the_limit_give_a_next_cursor),
		cmocka_unit_test(the_last_page_has_no_cursor),
		cmocka_unit_test(a_row_that_cannot_be_rendered_fails_the_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
