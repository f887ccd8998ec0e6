/* test_store_checkpoint.c - a writer that hands its WAL checkpoints to another connection, and that connection's
 * passive checkpoints (the runner's writer and its checkpoint thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/store.h"
#include "tests/unit/store_fixture.h"

#define ROWS_PER_TX 100 /* rows of a 4000-byte blob: about a page each */
#define TXS 30          /* 3,000 pages in all, three times the checkpoint threshold */

static struct store_fixture fx;
static int due_calls;

static int setup(void **state)
{
	(void)state;
	due_calls = 0;
	return store_fixture_open(&fx, "ckpt");
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	return 0;
}

static void count_due(void *arg)
{
	assert_ptr_equal(arg, &fx);
	due_calls++;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

/* "txs" transactions of ROWS_PER_TX page-sized rows on the store's own connection. */
static void write_pages(struct vex_store *s, int txs)
{
	char sql[256];

	exec(vex_sqlite_of(s)->db, "CREATE TABLE IF NOT EXISTS ckpt_fill(b BLOB)");
	for (int i = 0; i < txs; i++) {
		snprintf(sql, sizeof(sql),
			 "BEGIN IMMEDIATE; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
			 " INSERT INTO ckpt_fill SELECT randomblob(4000) FROM c; COMMIT",
			 ROWS_PER_TX);
		exec(vex_sqlite_of(s)->db, sql);
	}
}

static int64_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return (int64_t)st.st_size;
}

/* The writer's commits past the threshold call "due" and copy nothing into the database file; another
 * connection's checkpoint then does, and a fresh reader sees every row. */
static void test_writer_hands_its_checkpoints_on(void **state)
{
	struct vex_store *other = NULL;
	int64_t before;
	int pages = -1, done = -1;

	(void)state;
	before = file_size(fx.path);
	vex_store_checkpoint_elsewhere(fx.store, count_due, &fx);
	write_pages(fx.store, TXS);
	/* About 3,000 - 1,000 commits' worth of calls: every commit from the threshold on asks. */
	assert_true(due_calls >= TXS / 2);
	/* SQLite's automatic checkpoint would have copied the first thousand pages (4 MB) already. */
	assert_true(file_size(fx.path) < before + 1024 * 1024);

	assert_int_equal(vex_store_open(fx.path, 1, 1000, &other), 0);
	assert_int_equal(vex_store_checkpoint(other, &pages, &done), 0);
	assert_true(pages >= TXS * ROWS_PER_TX);
	assert_int_equal(done, pages);
	assert_true(file_size(fx.path) > before + (int64_t)TXS * ROWS_PER_TX * 4000);
	vex_store_free(other);
	/* The rows are in the database file: read with the WAL of another connection left alone. */
	assert_int_equal(store_fixture_int(fx.path, "SELECT COUNT(*) FROM ckpt_fill"), TXS * ROWS_PER_TX);

	/* The WAL starts over at the writer's next commit: the hook is asked no more below the threshold. */
	due_calls = 0;
	write_pages(fx.store, 1);
	assert_int_equal(due_calls, 0);
}

/* A connection without the hand-over checkpoints itself, as SQLite does: the case the hook changes. */
static void test_plain_writer_checkpoints_itself(void **state)
{
	int64_t before;

	(void)state;
	before = file_size(fx.path);
	write_pages(fx.store, TXS);
	assert_int_equal(due_calls, 0);
	assert_true(file_size(fx.path) > before + 1000 * 4000);
}

/* A reader on an old snapshot holds pages back: the checkpoint copies what it may, reports the rest,
 * and takes it at the next call once the reader is gone. */
static void test_reader_holds_pages_back(void **state)
{
	struct vex_store *other = NULL;
	sqlite3 *reader = NULL;
	sqlite3_stmt *st = NULL;
	int pages = -1, done = -1;

	(void)state;
	vex_store_checkpoint_elsewhere(fx.store, count_due, &fx);
	write_pages(fx.store, 2);
	assert_int_equal(sqlite3_open(fx.path, &reader), SQLITE_OK);
	exec(reader, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(reader, "SELECT COUNT(*) FROM ckpt_fill", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2 * ROWS_PER_TX);
	sqlite3_finalize(st);
	write_pages(fx.store, 3);

	assert_int_equal(vex_store_open(fx.path, 1, 1000, &other), 0);
	assert_int_equal(vex_store_checkpoint(other, &pages, &done), 0);
	assert_true(pages >= 5 * ROWS_PER_TX);
	assert_true(done < pages);
	exec(reader, "COMMIT");
	sqlite3_close(reader);
	assert_int_equal(vex_store_checkpoint(other, &pages, &done), 0);
	assert_int_equal(done, pages);
	vex_store_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writer_hands_its_checkpoints_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_writer_checkpoints_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_holds_pages_back, setup, teardown),
	};

	vex_log_init("test_store_checkpoint", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
