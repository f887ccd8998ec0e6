/* test_store_rows.c - the row collector: every row, the cap, the filter, empty results, failures released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

struct item {
	int64_t v;
	char *text; /* owned */
};

static int reads, releases, fail_at = -1;

static int item_read(sqlite3_stmt *st, void *it)
{
	struct item *i = it;

	i->v = sqlite3_column_int64(st, 0);
	i->text = strdup("x");
	if (!i->text || reads++ == fail_at)
		return VEX_ENOMEM;
	return 0;
}

static void item_release(void *it)
{
	struct item *i = it;

	free(i->text);
	i->text = NULL;
	releases++;
}

static int odd(const void *it, const void *arg)
{
	assert_non_null(arg); /* the caller's, passed through */
	return ((const struct item *)it)->v % 2 == 1;
}

/* Collects the numbers 1..rows through "spec" (a statement of its own, reset and finalized after). */
static int collect_numbers(int rows, const struct vex_rows *spec, size_t max, const void *arg, struct item **ret,
			   size_t *ret_n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	void *items = ret ? (void *)*ret : NULL;
	int rc;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)"
					    " SELECT x FROM c WHERE ?1 > 0",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, rows);
	reads = releases = 0;
	rc = vex_sqlite_collect(st, spec, max, arg, &items, ret_n);
	*ret = items;
	/* the statement was handed back in every case: reset, bindings cleared */
	assert_false(sqlite3_stmt_busy(st));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static void free_items(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_release(&items[i]);
	free(items);
}

static const struct vex_rows spec = { sizeof(struct item), item_read, item_release, NULL };
static const struct vex_rows odd_spec = { sizeof(struct item), item_read, item_release, odd };

static void test_all_rows_and_cap(void **state)
{
	struct item *items = NULL;
	size_t n = 0;

	(void)state;
	fail_at = -1;
	assert_int_equal(collect_numbers(1000, &spec, 0, NULL, &items, &n), 0);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(items[i].v, (int64_t)i + 1);
	free_items(items, n);
	assert_int_equal(collect_numbers(100, &spec, 10, NULL, &items, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(items[9].v, 10);
	free_items(items, n);
}

static void test_filter(void **state)
{
	struct item *items = NULL;
	size_t n = 0;

	(void)state;
	fail_at = -1;
	assert_int_equal(collect_numbers(100, &odd_spec, 10, &spec, &items, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(items[9].v, 19);
	assert_int_equal(releases, 9); /* the even rows read before the tenth odd one */
	free_items(items, n);
}

static void test_empty(void **state)
{
	struct item *items = (struct item *)&spec;
	size_t n = 99;

	(void)state;
	fail_at = -1;
	assert_int_equal(collect_numbers(0, &spec, 5, NULL, &items, &n), 0);
	assert_null(items); /* an empty list owns nothing */
	assert_int_equal(n, 0);
}

static void test_read_failure_releases(void **state)
{
	struct item *items = (struct item *)&spec;
	size_t n = 99;

	(void)state;
	fail_at = 20;
	assert_int_equal(collect_numbers(50, &spec, 0, NULL, &items, &n), VEX_ENOMEM);
	assert_ptr_equal(items, &spec); /* nothing written */
	assert_int_equal(n, 99);
	assert_int_equal(reads, 21);
	assert_int_equal(releases, 21); /* the partial item too */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_rows_and_cap),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_read_failure_releases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
