/* test_walbuf.c - the WAL-buffering VFS shim: other processes see each commit, contents and integrity
 * through varied transactions and checkpoints, SIGKILL at random points, both synchronous levels,
 * a failing write, the pwrites per commit, and the store's use of it. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/store/sqlite/walbuf.h"
#include "core/store/store.h"

#define MAX_ID 20000

static char dir[64];
static char path[128];
static int model[MAX_ID]; /* the writer's view: each id's value length, 0 when absent */

static void rm_db(void)
{
	static const char *const sides[] = {"", "-wal", "-shm"};
	char p[192];

	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sides[i]);
		unlink(p);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-walbuf-XXXXXX");
	if (!mkdtemp(dir) || vex_walbuf_register() != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	memset(model, 0, sizeof(model));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_db();
	rmdir(dir);
	return 0;
}

/* The value of row "id" with "len" bytes: a pattern every process can check. */
static void fill(unsigned char *buf, int id, int len)
{
	for (int i = 0; i < len; i++)
		buf[i] = (unsigned char)('a' + (id * 7 + i) % 26);
}

static sqlite3 *open_db(int shim, int sync)
{
	static const char *const sync_sql[] = {"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL",
					       "PRAGMA synchronous = FULL"};
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    shim ? VEX_WALBUF_VFS : NULL) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sync_sql[sync], NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, txn INT, len INT, v BLOB);"
			     "CREATE TABLE IF NOT EXISTS txn (n INTEGER PRIMARY KEY, rows INT)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int put(sqlite3 *db, int id, int txn, int len)
{
	static unsigned char buf[300000];
	sqlite3_stmt *st = NULL;
	int rc;

	fill(buf, id, len);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t (id, txn, len, v) VALUES (?, ?, ?, ?)", -1, &st, NULL))
		return -1;
	sqlite3_bind_int(st, 1, id);
	sqlite3_bind_int(st, 2, txn);
	sqlite3_bind_int(st, 3, len);
	sqlite3_bind_blob(st, 4, buf, len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		fprintf(stderr, "put %d: %s\n", id, sqlite3_errmsg(db));
	return rc == SQLITE_DONE ? 0 : -1;
}

/* "rows sum-of-ids bad-rows" of table t, each value checked against its pattern. */
static void summarize(sqlite3 *db, char *out, size_t cap)
{
	unsigned char want[300000];
	sqlite3_stmt *st = NULL;
	long long rows = 0, sum = 0, bad = 0;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, len, v FROM t ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, cap, "prepare: %s", sqlite3_errmsg(db));
		return;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0), len = sqlite3_column_int(st, 1);

		rows++;
		sum += id;
		fill(want, id, len);
		if (sqlite3_column_bytes(st, 2) != len || memcmp(sqlite3_column_blob(st, 2), want, (size_t)len) != 0)
			bad++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		snprintf(out, cap, "step: %s", sqlite3_errstr(rc));
	else
		snprintf(out, cap, "%lld %lld %lld", rows, sum, bad);
}

static void model_summary(char *out, size_t cap)
{
	long long rows = 0, sum = 0;

	for (int id = 0; id < MAX_ID; id++)
		if (model[id]) {
			rows++;
			sum += id;
		}
	snprintf(out, cap, "%lld %lld 0", rows, sum);
}

/* Another process, forked before this one opens anything (no SQLite state crosses the fork): it
 * answers each command line on its pipe. 'K' summarizes t on a connection it keeps open, 'F' on a
 * fresh one, 'I' runs integrity_check; its connections use the shim or not as asked at start. */
struct helper {
	pid_t pid;
	FILE *to, *from;
};

static void helper_main(int shim, FILE *in, FILE *out)
{
	char cmd[16], res[256];
	sqlite3 *kept = NULL, *db;

	while (fgets(cmd, sizeof(cmd), in)) {
		if (!kept && cmd[0] == 'K')
			kept = open_db(shim, 1);
		db = cmd[0] == 'K' ? kept : open_db(shim, 1);
		if (!db)
			snprintf(res, sizeof(res), "cannot open");
		else if (cmd[0] == 'I') {
			sqlite3_stmt *st = NULL;

			snprintf(res, sizeof(res), "no answer");
			if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
			    sqlite3_step(st) == SQLITE_ROW)
				snprintf(res, sizeof(res), "%s", (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		} else
			summarize(db, res, sizeof(res));
		if (db != kept)
			sqlite3_close(db);
		fprintf(out, "%s\n", res);
		fflush(out);
	}
	sqlite3_close(kept);
}

static void helper_start(struct helper *h, int shim)
{
	int a[2], b[2];

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		close(a[1]);
		close(b[0]);
		helper_main(shim, fdopen(a[0], "r"), fdopen(b[1], "w"));
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	h->to = fdopen(a[1], "w");
	h->from = fdopen(b[0], "r");
}

static void helper_ask(struct helper *h, char cmd, char *out, size_t cap)
{
	fprintf(h->to, "%c\n", cmd);
	fflush(h->to);
	assert_non_null(fgets(out, (int)cap, h->from));
	out[strcspn(out, "\n")] = '\0';
}

static void helper_stop(struct helper *h)
{
	int status = 0;

	fclose(h->to);
	fclose(h->from);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Both of the helper's connections (kept and fresh) see exactly the writer's model. */
static void expect_seen(struct helper *h)
{
	char want[128], got[256];

	model_summary(want, sizeof(want));
	helper_ask(h, 'K', got, sizeof(got));
	assert_string_equal(got, want);
	helper_ask(h, 'F', got, sizeof(got));
	assert_string_equal(got, want);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

/* A writer on one side (shim or not) and a reader process on the other: after every commit, with
 * the writer's connection still open and the WAL not checkpointed, the reader sees it. */
static void visible_at_commit(int writer_shim, int sync)
{
	struct helper h;
	struct vex_walbuf_counts c0, c1;
	sqlite3 *db;
	int id = 1;

	helper_start(&h, !writer_shim);
	db = open_db(writer_shim, sync);
	assert_non_null(db);
	exec_ok(db, "PRAGMA wal_autocheckpoint = 0");
	for (int txn = 1; txn <= 40; txn++) {
		int rows = 1 + txn % 5, len = txn % 3 == 0 ? 9000 : 40 + txn; /* some rows with overflow pages */

		vex_walbuf_counts(&c0);
		exec_ok(db, "BEGIN IMMEDIATE");
		for (int r = 0; r < rows; r++, id++) {
			assert_int_equal(put(db, id, txn, len), 0);
			model[id] = len;
		}
		exec_ok(db, "COMMIT");
		vex_walbuf_counts(&c1);
		expect_seen(&h);
		if (writer_shim) { /* every frame buffered; one buffer write per commit (a new WAL: two) */
			assert_true(c1.writes - c0.writes >= 2);
			assert_int_equal(c1.buffered - c0.buffered, c1.writes - c0.writes);
			assert_true(c1.flushes - c0.flushes >= 1 && c1.flushes - c0.flushes <= 2);
			/* written at the commit frame, inside the xWrite that can fail the COMMIT */
			assert_int_equal(c1.late - c0.late, 0);
		}
	}
	sqlite3_close(db);
	helper_stop(&h);
}

static void test_shim_writer_full(void **state)
{
	(void)state;
	visible_at_commit(1, 2);
}

static void test_shim_writer_normal(void **state)
{
	(void)state;
	visible_at_commit(1, 1);
}

static void test_plain_writer_shim_reader(void **state)
{
	(void)state;
	visible_at_commit(0, 2);
	rm_db();
	memset(model, 0, sizeof(model));
	visible_at_commit(0, 1);
}

/* Many transactions of varied sizes (small rows, overflow pages, more than the 256 KiB buffer,
 * spills of a small page cache, updates and deletes), checkpoints of both kinds in between. */
static void test_varied_and_checkpoints(void **state)
{
	struct helper h;
	char got[256];
	sqlite3 *db;

	(void)state;
	srand(13);
	helper_start(&h, 0);
	db = open_db(1, 1);
	assert_non_null(db);
	exec_ok(db, "PRAGMA wal_autocheckpoint = 40; PRAGMA cache_size = 20");
	for (int txn = 1; txn <= 120; txn++) {
		int kind = txn % 6, rows = kind == 5 ? 60 : 1 + rand() % 8;

		exec_ok(db, "BEGIN IMMEDIATE");
		for (int r = 0; r < rows; r++) {
			int id = 1 + rand() % (MAX_ID - 1);
			int len = kind == 5 ? 5000 + rand() % 20000 : kind == 3 ? 4000 + rand() % 30000 : 1 + rand() % 300;

			assert_int_equal(put(db, id, txn, len), 0);
			model[id] = len;
		}
		if (kind == 4) { /* delete a few, rewrite the same rows twice in one transaction */
			for (int id = 1; id < MAX_ID; id += 97)
				model[id] = 0;
			exec_ok(db, "DELETE FROM t WHERE id % 97 = 1");
		}
		exec_ok(db, txn % 17 == 0 ? "ROLLBACK" : "COMMIT");
		if (txn % 17 == 0) { /* the model follows the database again */
			sqlite3_stmt *st = NULL;

			memset(model, 0, sizeof(model));
			assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, len FROM t", -1, &st, NULL), SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW)
				model[sqlite3_column_int(st, 0)] = sqlite3_column_int(st, 1);
			sqlite3_finalize(st);
		}
		if (txn % 10 == 0)
			exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
		expect_seen(&h);
	}
	helper_ask(&h, 'I', got, sizeof(got));
	assert_string_equal(got, "ok");
	sqlite3_close(db);
	helper_stop(&h);
}

/* A child writes transactions through the shim and reports each after COMMIT returned; it is
 * SIGKILLed at a random point. Reopened: integrity ok, every reported transaction whole. */
static void test_sigkill(void **state)
{
	(void)state;
	srand((unsigned)time(NULL));
	for (int round = 0; round < 8; round++) {
		int fds[2], n, status, sync = round % 2 ? 1 : 2, reported = 0, bad = -1, first = 0;
		pid_t pid;
		FILE *in;
		sqlite3 *db;
		sqlite3_stmt *st = NULL;
		char got[256];

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			sqlite3 *w = open_db(1, sync);
			int base = round * 100000;
			char sql[96];

			close(fds[0]);
			if (!w)
				_exit(2);
			sqlite3_exec(w, "PRAGMA wal_autocheckpoint = 30", NULL, NULL, NULL);
			for (int txn = 1;; txn++) {
				int rows = 1 + txn % 7;

				if (sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
					_exit(3);
				for (int r = 0; r < rows; r++)
					if (put(w, (base + txn * 8 + r) % MAX_ID, base + txn, txn % 4 == 0 ? 7000 : 100 + r) != 0)
						_exit(4);
				snprintf(sql, sizeof(sql), "INSERT INTO txn (n, rows) VALUES (%d, %d)", base + txn, rows);
				if (sqlite3_exec(w, sql, NULL, NULL, NULL) != SQLITE_OK ||
				    sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
					_exit(6);
				if (write(fds[1], &(int){base + txn}, sizeof(int)) != sizeof(int))
					_exit(7);
				if (txn % 25 == 0)
					sqlite3_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
			}
		}
		close(fds[1]);
		in = fdopen(fds[0], "r");
		/* the kill lands at a random point once the writer is running (its first commit reported) */
		assert_int_equal(fread(&first, sizeof(first), 1, in), 1);
		usleep((useconds_t)(rand() % 150000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("round %d: the writer stopped by itself (status %d)", round, status);
		db = open_db(round % 3 == 0 ? 0 : 1, 2);
		assert_non_null(db);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT txn.rows, (SELECT count(*) FROM t WHERE t.txn = txn.n) "
						    "FROM txn WHERE n = ?",
						    -1, &st, NULL),
				 SQLITE_OK);
		n = first;
		do {
			sqlite3_bind_int(st, 1, n);
			if (sqlite3_step(st) != SQLITE_ROW)
				fail_msg("round %d: transaction %d reported committed, not found", round, n);
			/* rows of later transactions of the round may have replaced some of its ids */
			assert_true(sqlite3_column_int(st, 1) <= sqlite3_column_int(st, 0));
			sqlite3_reset(st);
			reported++;
		} while (fread(&n, sizeof(n), 1, in) == 1);
		sqlite3_finalize(st);
		fclose(in);
		summarize(db, got, sizeof(got));
		assert_int_equal(sscanf(got, "%*d %*d %d", &bad), 1);
		assert_int_equal(bad, 0); /* every value as written */
		print_message("round %d (synchronous %s): %d transactions reported, all present\n", round,
			      sync == 2 ? "full" : "normal", reported);
		sqlite3_close(db);
	}
}

/* A failing write: COMMIT reports it, nothing of the transaction is visible to anyone, and the
 * next transaction commits and is seen (the buffer was kept whole, then written). */
static int fail_writes;
static sqlite3_syscall_ptr real_pwrite64, real_pwrite;

static ssize_t failing_pwrite64(int fd, const void *p, size_t n, off_t off)
{
	if (fail_writes) {
		errno = EIO;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite64)(fd, p, n, off);
}

static ssize_t failing_pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (fail_writes) {
		errno = EIO;
		return -1;
	}
	return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, p, n, off);
}

static void test_failed_write(void **state)
{
	sqlite3_vfs *vfs = sqlite3_vfs_find(VEX_WALBUF_VFS);
	struct helper h;
	sqlite3 *db;
	int rc, hooked = 0;

	(void)state;
	assert_non_null(vfs);
	helper_start(&h, 0);
	real_pwrite64 = vfs->xGetSystemCall(vfs, "pwrite64");
	real_pwrite = vfs->xGetSystemCall(vfs, "pwrite");
	if (real_pwrite64 && vfs->xSetSystemCall(vfs, "pwrite64", (sqlite3_syscall_ptr)failing_pwrite64) == SQLITE_OK)
		hooked++;
	if (real_pwrite && vfs->xSetSystemCall(vfs, "pwrite", (sqlite3_syscall_ptr)failing_pwrite) == SQLITE_OK)
		hooked++;
	assert_true(hooked > 0);
	db = open_db(1, 2);
	assert_non_null(db);
	assert_int_equal(put(db, 1, 1, 100), 0);
	model[1] = 100;
	expect_seen(&h);
	exec_ok(db, "BEGIN IMMEDIATE");
	assert_int_equal(put(db, 2, 2, 5000), 0);
	fail_writes = 1;
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	fail_writes = 0;
	assert_int_equal(rc & 0xff, SQLITE_IOERR);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	expect_seen(&h); /* row 2 is nowhere */
	assert_int_equal(put(db, 3, 3, 300), 0);
	model[3] = 300;
	expect_seen(&h);
	sqlite3_close(db);
	vfs->xSetSystemCall(vfs, NULL, NULL); /* every system call back to its default */
	helper_stop(&h);
}

/* vex's store opens its connections through the shim: its migrations' WAL writes are buffered. */
static void test_store_uses_shim(void **state)
{
	struct vex_walbuf_counts c0, c1;
	struct vex_store *s = NULL;
	char wlock[192];

	(void)state;
	vex_walbuf_counts(&c0);
	assert_int_equal(vex_store_open(path, 2, 1000, &s), 0);
	vex_walbuf_counts(&c1);
	vex_store_free(s);
	snprintf(wlock, sizeof(wlock), "%s-wlock", path);
	unlink(wlock);
	assert_true(c1.writes - c0.writes > 10);
	assert_int_equal(c1.buffered - c0.buffered, c1.writes - c0.writes);
	assert_true(c1.flushes - c0.flushes > 0 && c1.flushes - c0.flushes < (c1.writes - c0.writes) / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shim_writer_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shim_writer_normal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_writer_shim_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_varied_and_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_uses_shim, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
