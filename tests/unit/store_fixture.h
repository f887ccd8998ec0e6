/* store_fixture.h - unit tests' store: a fresh database in a temporary directory, removed with its side files. */
#ifndef VEX_TEST_STORE_FIXTURE_H
#define VEX_TEST_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/base/ids.h"
#include "core/store/store.h"

struct store_fixture {
	char dir[64];
	char path[128];           /* <dir>/vex.db */
	char pg_db[64];           /* PostgreSQL: the test's own database ("" on SQLite) */
	struct vex_store *store;
};

/* 1 when the tests run against PostgreSQL: VEX_TEST_STORE=postgres (tools/run-unit sets it for the
 * programs of tests/unit/postgres.list, with VEX_TEST_PG_URL naming a cluster where it may create
 * databases); else SQLite. */
static inline int store_fixture_postgres(void)
{
	const char *b = getenv("VEX_TEST_STORE");

	return b && strcmp(b, "postgres") == 0;
}

/* Run "sql" on the database VEX_TEST_PG_URL names (CREATE and DROP DATABASE). 0 or -1. */
static inline int store_fixture_pg_admin(const char *sql)
{
	const char *base = getenv("VEX_TEST_PG_URL");
	PGconn *c;
	PGresult *r;
	int ok;

	if (!base || !*base) {
		fprintf(stderr, "VEX_TEST_STORE=postgres needs VEX_TEST_PG_URL (tools/run-unit sets both)\n");
		return -1;
	}
	c = PQconnectdb(base);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* The URL of database "db" on VEX_TEST_PG_URL's cluster, as its user, in "out". 0 or -1. */
static inline int store_fixture_pg_url(const char *db, char *out, size_t cap)
{
	PQconninfoOption *o = PQconninfoParse(getenv("VEX_TEST_PG_URL"), NULL), *i;
	const char *user = "", *host = "";

	if (!o)
		return -1;
	for (i = o; i->keyword; i++) {
		if (strcmp(i->keyword, "user") == 0 && i->val)
			user = i->val;
		else if (strcmp(i->keyword, "host") == 0 && i->val)
			host = i->val;
	}
	snprintf(out, cap, "postgresql://%s@/%s?host=%s", user, db, host);
	PQconninfoFree(o);
	return 0;
}

/* Make the directory (named after "tag") and open the store there (synchronous normal); on
 * PostgreSQL, a database of the test's own instead. 0 or -1. */
static inline int store_fixture_open(struct store_fixture *f, const char *tag)
{
	static int seq;
	char sql[128], url[1024];

	snprintf(f->dir, sizeof(f->dir), "/tmp/vex-%s-XXXXXX", tag);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/vex.db", f->dir);
	f->pg_db[0] = '\0';
	f->store = NULL;
	if (!store_fixture_postgres())
		return vex_store_open(f->path, 1, 1000, &f->store) == 0 ? 0 : -1;
	snprintf(f->pg_db, sizeof(f->pg_db), "vex_f_%ld_%d", (long)getpid(), ++seq);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pg_db);
	if (store_fixture_pg_admin(sql) != 0 || store_fixture_pg_url(f->pg_db, url, sizeof(url)) != 0)
		return -1;
	/* A statement timeout for a loaded machine (the sanitizer pass beside other work): the tests time nothing. */
	return vex_store_open(url, 1, 30000, &f->store) == 0 ? 0 : -1;
}

/* Where another connection opens the test's store: its PostgreSQL URL or its SQLite path, in "out". */
static inline void store_fixture_where(const struct store_fixture *f, char *out, size_t cap)
{
	if (f->pg_db[0])
		assert_int_equal(store_fixture_pg_url(f->pg_db, out, cap), 0);
	else
		snprintf(out, cap, "%s", f->path);
}

/* Run "sql" (statements both backends take) on a connection of the test's own to its store: the setup a test
 * cannot reach through the interface. Fails the test on any error. */
static inline void store_fixture_exec(const struct store_fixture *f, const char *sql)
{
	char url[1024];

	if (f->pg_db[0]) {
		PGconn *c;
		PGresult *r;

		store_fixture_where(f, url, sizeof(url));
		c = PQconnectdb(url);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
	}
}

/* Remove the database "path" and its -wal, -shm and -wlock files. */
static inline void store_fixture_unlink(const char *path)
{
	static const char *const sides[] = {"", "-wal", "-shm", "-wlock"};
	char p[256];

	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sides[i]);
		unlink(p);
	}
}

/* SQL that takes a database back from schema 14 to 13: migration 14's tally, its triggers and the 'stats'
 * cursor removed (the counts it dropped are not put back: migration 14 drops them only if they exist). */
#define STORE_UNDO_MIGRATION_14                                                                               \
	"DROP TRIGGER job_tally_insert; DROP TRIGGER job_tally_update; DROP TRIGGER job_tally_delete;"          \
	" DROP TABLE job_tally; DELETE FROM event_cursors WHERE name = 'stats'; PRAGMA user_version = 13;"

/* SQL that takes a database back from schema 13 to 12 (migration 13's stats tables, triggers and runner columns
 * removed), for the tests of migrations 8 to 10 on an older database. */
#define STORE_UNDO_MIGRATION_13                                                                               \
	"DROP TRIGGER IF EXISTS job_stats_insert; DROP TRIGGER IF EXISTS job_stats_status;"                     \
	" DROP TRIGGER IF EXISTS job_stats_finish; DROP TRIGGER IF EXISTS job_status_counts_delete;"           \
	" DROP TABLE IF EXISTS job_status_counts; DROP TABLE job_minute_stats;"                                \
	" ALTER TABLE runners DROP COLUMN host; ALTER TABLE runners DROP COLUMN started_at;"                  \
	" ALTER TABLE runners DROP COLUMN slots; ALTER TABLE runners DROP COLUMN busy; PRAGMA user_version = 12;"

/* Close the store, remove the database, its -wal, -shm and -wlock files and the directory (on PostgreSQL,
 * drop the test's database). */
static inline void store_fixture_close(struct store_fixture *f)
{
	char sql[128];

	vex_store_free(f->store);
	f->store = NULL;
	store_fixture_unlink(f->path);
	rmdir(f->dir);
	if (f->pg_db[0]) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->pg_db);
		store_fixture_pg_admin(sql);
		f->pg_db[0] = '\0';
	}
}

/* One integer from "sql" on a connection of the test's own to the database "path"; -1 when no row came. */
static inline int64_t store_fixture_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A raw connection of the test's own to the store of "f" (SQLite or PostgreSQL, as "f" is), for rows the
 * interface does not write and checks of what it stored. */
struct store_fixture_conn {
	sqlite3 *db;
	PGconn *pg;
};

static inline void store_fixture_connect(const struct store_fixture *f, struct store_fixture_conn *c)
{
	char url[1024];

	memset(c, 0, sizeof(*c));
	if (f->pg_db[0]) {
		store_fixture_where(f, url, sizeof(url));
		c->pg = PQconnectdb(url);
		assert_int_equal(PQstatus(c->pg), CONNECTION_OK);
		return;
	}
	assert_int_equal(sqlite3_open(f->path, &c->db), SQLITE_OK);
	sqlite3_busy_timeout(c->db, 1000);
}

static inline void store_fixture_disconnect(struct store_fixture_conn *c)
{
	sqlite3_close(c->db);
	PQfinish(c->pg);
	memset(c, 0, sizeof(*c));
}

/* Run "sql" (one statement, or several without results) on "c"; fails the test when it fails. */
static inline void store_fixture_conn_exec(struct store_fixture_conn *c, const char *sql)
{
	PGresult *r;

	if (c->pg) {
		r = PQexec(c->pg, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c->pg));
		PQclear(r);
	} else if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fail_msg("%s: %s", sql, sqlite3_errmsg(c->db));
	}
}

/* The first column of the first row "sql" yields on "c", as text in "out" ("" for NULL): 1, or 0 when no row
 * came. */
static inline int store_fixture_conn_text(struct store_fixture_conn *c, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	PGresult *r;
	int got = 0;

	out[0] = '\0';
	if (c->pg) {
		r = PQexec(c->pg, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(c->pg));
		got = PQntuples(r) > 0;
		if (got)
			snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		return got;
	}
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(c->db));
	got = sqlite3_step(st) == SQLITE_ROW;
	if (got && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return got;
}

/* store_fixture_conn_exec on a connection of its own. */
static inline void store_fixture_sql(const struct store_fixture *f, const char *sql)
{
	struct store_fixture_conn c;

	store_fixture_connect(f, &c);
	store_fixture_conn_exec(&c, sql);
	store_fixture_disconnect(&c);
}

/* store_fixture_conn_text on a connection of its own. */
static inline int store_fixture_sql_text(const struct store_fixture *f, const char *sql, char *out, size_t cap)
{
	struct store_fixture_conn c;
	int got;

	store_fixture_connect(f, &c);
	got = store_fixture_conn_text(&c, sql, out, cap);
	store_fixture_disconnect(&c);
	return got;
}

/* One integer from "sql" on a connection of its own to the store of "f"; -1 when no row came. */
static inline int64_t store_fixture_sql_int(const struct store_fixture *f, const char *sql)
{
	char v[32];

	return store_fixture_sql_text(f, sql, v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

/* SQLite's plan for "sql" on "db": the detail of each EXPLAIN QUERY PLAN row, each followed by "; ". */
static inline void store_fixture_plan(sqlite3 *db, const char *sql, char *plan, size_t cap)
{
	char q[1024];
	sqlite3_stmt *st = NULL;

	plan[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(plan);

		snprintf(plan + n, cap - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
}

#ifdef STORE_FIXTURE_GLOBALS
/* A test program's store in file-level globals: "store", and its "path" for a connection of the test's own. */
static struct store_fixture fx;
static char path[128];
static struct vex_store *store;

/* cmocka's per-test setup: a fresh store in a directory named after STORE_FIXTURE_GLOBALS. */
static inline int store_setup(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, STORE_FIXTURE_GLOBALS) != 0)
		return -1;
	store = fx.store;
	snprintf(path, sizeof(path), "%s", fx.path);
	return 0;
}

static inline int store_teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}
#endif

/* A new (not stored) tool job of "owner" running "tool" with "input" (JSON), created at "created_at",
 * three attempts and a 1 s timeout, with a fresh id. Fails the test when out of memory. */
static inline struct vex_job *store_fixture_job(const char *owner, const char *tool, const char *input,
						int64_t created_at)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup(tool);
	j->input_json = strdup(input);
	j->max_attempts = 3;
	j->timeout_ms = 1000;
	j->created_at = created_at;
	assert_true(j->tool && j->input_json);
	return j;
}

/* Insert store_fixture_job(owner, tool, input, created_at) into "s"; its id into "id". Fails the
 * test on any error. */
static inline void store_fixture_add_job(struct vex_store *s, const char *owner, const char *tool, const char *input,
					 int64_t created_at, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = store_fixture_job(owner, tool, input, created_at), *got = NULL;
	int created = 0;

	assert_int_equal(vex_store_job_insert(s, j, &got, &created), 0);
	assert_int_equal(created, 1);
	memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

#endif
