/* test_store_rows.c - the row collector: every row, the cap, the filter, empty results, failures released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/err.h"
#include "core/store_internal.h"

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

/* The numbers 1..n as rows. */
static sqlite3_stmt *numbers(sqlite3 **db, int n)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(":memory:", db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(*db,
					    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)"
					    " SELECT x FROM c WHERE ?1 > 0",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, n);
	reads = releases = 0;
	fail_at = -1;
	return st;
}

static void done(sqlite3 *db, sqlite3_stmt *st, struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_release(&items[i]);
	free(items);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_all_rows(void **state)
{
	struct vex_rows spec = { sizeof(struct item), item_read, item_release, NULL };
	sqlite3 *db;
	sqlite3_stmt *st = numbers(&db, 1000);
	void *items = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(vex_store_collect(st, &spec, 0, NULL, &items, &n), 0);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(((struct item *)items)[i].v, (int64_t)i + 1);
	done(db, st, items, n);
}

static void test_cap_and_filter(void **state)
{
	struct vex_rows spec = { sizeof(struct item), item_read, item_release, NULL };
	sqlite3 *db;
	sqlite3_stmt *st = numbers(&db, 100);
	void *items = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(vex_store_collect(st, &spec, 10, NULL, &items, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(((struct item *)items)[9].v, 10);
	done(db, st, items, n);

	spec.keep = odd;
	st = numbers(&db, 100);
	assert_int_equal(vex_store_collect(st, &spec, 10, &spec, &items, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(((struct item *)items)[9].v, 19);
	assert_int_equal(releases, 9); /* the even rows read before the tenth odd one */
	done(db, st, items, n);
}

static void test_empty(void **state)
{
	struct vex_rows spec = { sizeof(struct item), item_read, item_release, NULL };
	sqlite3 *db;
	sqlite3_stmt *st = numbers(&db, 0);
	void *items = (void *)&spec;
	size_t n = 99;

	(void)state;
	assert_int_equal(vex_store_collect(st, &spec, 5, NULL, &items, &n), 0);
	assert_null(items); /* an empty list owns nothing */
	assert_int_equal(n, 0);
	done(db, st, NULL, 0);
}

static void test_read_failure_releases(void **state)
{
	struct vex_rows spec = { sizeof(struct item), item_read, item_release, NULL };
	sqlite3 *db;
	sqlite3_stmt *st = numbers(&db, 50);
	void *items = (void *)&spec;
	size_t n = 99;

	(void)state;
	fail_at = 20;
	assert_int_equal(vex_store_collect(st, &spec, 0, NULL, &items, &n), VEX_ENOMEM);
	assert_ptr_equal(items, &spec); /* nothing written */
	assert_int_equal(n, 99);
	assert_int_equal(reads, 21);
	assert_int_equal(releases, 21); /* the partial item too */
	/* the statement was handed back: reset, bindings cleared */
	assert_false(sqlite3_stmt_busy(st));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	done(db, st, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_rows),
		cmocka_unit_test(test_cap_and_filter),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_read_failure_releases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
