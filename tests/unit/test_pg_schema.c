/* test_pg_schema.c - PostgreSQL's migrations: they apply, build SQLite's schema, and their triggers write its rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/base/buf.h"
#include "core/base/log.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/sqlite/store_internal.h"
#include "store_fixture.h"

#define RENDER_MAX (1 << 20) /* bytes of one rendering (a table's rows, a schema section) */
#define MAX_TABLES 64
#define MAX_COLS 64
#define NAME_CAP 64

/* One test's two databases: a PostgreSQL database of its own, and SQLite's store in a temporary directory. */
struct pair {
	PGconn *admin;            /* the URL's database: creates and drops "db" */
	PGconn *pg;               /* "db" */
	char db[NAME_CAP];
	struct store_fixture lite; /* opened by vex_store_open, so SQLite's migrations applied */
	sqlite3 *sq;              /* the test's own connection to it, or to ":memory:" */
};

static struct pair t;

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * A connection to the URL's cluster: to "dbname" when not NULL, else to the URL's own database. The URL is
 * taken apart by libpq and only its dbname replaced. Fails the test when it cannot connect.
 */
static PGconn *pg_connect(const char *url, const char *dbname)
{
	const char *kw[MAX_COLS], *val[MAX_COLS];
	PQconninfoOption *opts, *o;
	char msg[512];
	char *err = NULL;
	PGconn *c;
	int n = 0;

	opts = PQconninfoParse(url, &err);
	if (!opts) {
		snprintf(msg, sizeof(msg), "%s", err ? err : "out of memory");
		PQfreemem(err);
		fail_msg("VEX_TEST_PG_URL is not a libpq URL: %s", msg);
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val || (dbname && strcmp(o->keyword, "dbname") == 0))
			continue;
		assert_true(n < MAX_COLS - 2);
		kw[n] = o->keyword;
		val[n++] = o->val;
	}
	if (dbname) {
		kw[n] = "dbname";
		val[n++] = dbname;
	}
	kw[n] = NULL;
	val[n] = NULL;
	c = PQconnectdbParams(kw, val, 0);
	PQconninfoFree(opts);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("cannot connect to PostgreSQL (%s): %s", dbname ? dbname : "VEX_TEST_PG_URL", msg);
	}
	/* The expected failures' and DROP ... IF EXISTS's notices are not the test's output. */
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	return c;
}

/* "sql" on "c" must succeed; the error otherwise, naming "what". */
static void pg_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	char msg[1024];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
	PQclear(r);
	fail_msg("PostgreSQL: %s failed: %s", what, msg);
}

/* "sql" on "c": 1 when it succeeded, 0 when it failed. */
static int pg_try(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void lite_ok(sqlite3 *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("SQLite: %s failed: %s", what, sqlite3_errmsg(db));
}

static int setup(void **state)
{
	static int n;
	const char *url = getenv("VEX_TEST_PG_URL");
	char sql[128];

	(void)state;
	memset(&t, 0, sizeof(t));
	/* Never a skip: a run without PostgreSQL would pass without testing anything. */
	if (!url || !*url)
		fail_msg("VEX_TEST_PG_URL is not set: it must hold the libpq URL of a PostgreSQL database where this "
			 "user is superuser (tools/run-unit starts one; or: d=$(mktemp -d); tools/pg-cluster start $d)");
	t.admin = pg_connect(url, NULL);
	snprintf(t.db, sizeof(t.db), "vex_t_%ld_%d", (long)getpid(), ++n);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t.db);
	pg_ok(t.admin, sql, sql);
	t.pg = pg_connect(url, t.db);
	if (store_fixture_open(&t.lite, "pgschema") != 0)
		fail_msg("SQLite: vex_store_open failed in %s", t.lite.dir);
	assert_int_equal(sqlite3_open(t.lite.path, &t.sq), SQLITE_OK);
	/* As the store's own connections: foreign keys are enforced in both databases. */
	lite_ok(t.sq, "PRAGMA foreign_keys = ON", "foreign_keys");
	return 0;
}

static int teardown(void **state)
{
	char sql[160];

	(void)state;
	PQfinish(t.pg);
	if (t.admin) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t.db);
		pg_try(t.admin, sql);
		PQfinish(t.admin);
	}
	sqlite3_close(t.sq);
	if (t.lite.store)
		store_fixture_close(&t.lite);
	memset(&t, 0, sizeof(t));
	return 0;
}

/*
 * PostgreSQL's migrations ["from", "to") on "c", each in a transaction of its own. With "again", each is run a
 * second time right after itself (in a savepoint, rolled back), which must fail: no IF NOT EXISTS or OR
 * REPLACE lets a migration pass over an object that is already there, so a wrong name cannot hide.
 */
static void pg_migrate(PGconn *c, int from, int to, int again)
{
	char what[64];

	for (int i = from; i < to; i++) {
		snprintf(what, sizeof(what), "migration %d", i + 1);
		pg_ok(c, "BEGIN", "BEGIN");
		pg_ok(c, vex_pg_migrations[i], what);
		if (again) {
			pg_ok(c, "SAVEPOINT again", "SAVEPOINT");
			if (pg_try(c, vex_pg_migrations[i]))
				fail_msg("migration %d ran a second time without an error", i + 1);
			pg_ok(c, "ROLLBACK TO SAVEPOINT again", "ROLLBACK TO SAVEPOINT");
		}
		pg_ok(c, "COMMIT", "COMMIT");
	}
}

static void lite_migrate(sqlite3 *db, int from, int to)
{
	char what[64];

	for (int i = from; i < to; i++) {
		snprintf(what, sizeof(what), "migration %d", i + 1);
		lite_ok(db, vex_store_migrations[i], what);
	}
}

/* Every row of "sql" (with "param" as $1 / ?1 when not NULL) on each side: its values, NULL as "NULL",
 * separated by ' ', one line a row. */
static void pg_render(PGconn *c, const char *sql, const char *param, struct vex_buf *out)
{
	PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
	char msg[1024];

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("PostgreSQL: %s: %s", sql, msg);
	}
	for (int i = 0; i < PQntuples(r); i++) {
		for (int j = 0; j < PQnfields(r); j++)
			vex_buf_printf(out, "%s%s", j ? " " : "", PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
		vex_buf_puts(out, "\n");
	}
	PQclear(r);
	assert_int_equal(out->err, 0);
}

static void lite_render(sqlite3 *db, const char *sql, const char *param, struct vex_buf *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("SQLite: %s: %s", sql, sqlite3_errmsg(db));
	if (param)
		assert_int_equal(sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC), SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int j = 0; j < sqlite3_column_count(st); j++) {
			const unsigned char *v = sqlite3_column_text(st, j);

			vex_buf_printf(out, "%s%s", j ? " " : "", v ? (const char *)v : "NULL");
		}
		vex_buf_puts(out, "\n");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		fail_msg("SQLite: %s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(out->err, 0);
}

/* The two renderings must be equal; both are shown otherwise, under "what". Empties both. */
static void expect_same(const char *what, struct vex_buf *lite, struct vex_buf *pg)
{
	const char *a = lite->p ? lite->p : "", *b = pg->p ? pg->p : "";

	if (strcmp(a, b) != 0)
		fail_msg("%s differs\n--- SQLite:\n%s--- PostgreSQL:\n%s", what, a, b);
	vex_buf_reset(lite);
	vex_buf_reset(pg);
}

/* The tables of SQLite's schema (its own sqlite_* ones left out) into "names"; their number. */
static int lite_tables(sqlite3 *db, char names[][NAME_CAP])
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT name FROM sqlite_master WHERE type = 'table'"
					    " AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(n < MAX_TABLES);
		snprintf(names[n++], NAME_CAP, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return n;
}

/* SQLite's rowid alias (an INTEGER PRIMARY KEY of a rowid table): an identity column in PostgreSQL, never NULL. */
#define LITE_ROWID_ALIAS                                                                                     \
	"(pk = 1 AND upper(type) = 'INTEGER' AND (SELECT COUNT(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1" \
	" AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk'))"

/*
 * One table's schema, section by section, as each database describes it, rendered alike: columns in order
 * (name, type mapped as migrations.c maps it, NULL / NOT NULL, default, identity), indexes created by name
 * (unique, partial, key columns with DESC; not the ones a PRIMARY KEY or UNIQUE constraint makes), primary
 * key, unique constraints and foreign keys, and triggers.
 */
static const struct section {
	const char *what, *lite, *pg;
} sections[] = {
	{"columns",
	 "SELECT name, CASE upper(type) WHEN 'INTEGER' THEN 'bigint' WHEN 'TEXT' THEN 'text'"
	 " WHEN 'REAL' THEN 'double precision' ELSE type END,"
	 " CASE WHEN \"notnull\" OR " LITE_ROWID_ALIAS " THEN 'NOT-NULL' ELSE 'NULL' END,"
	 " COALESCE(dflt_value, '-'), CASE WHEN " LITE_ROWID_ALIAS " THEN 'identity' ELSE '-' END"
	 " FROM pragma_table_info(?1) ORDER BY cid",
	 /* A default as PostgreSQL shows it, without the cast it adds ('0'::bigint is 0, 'free'::text 'free'). */
	 "SELECT column_name, data_type, CASE is_nullable WHEN 'NO' THEN 'NOT-NULL' ELSE 'NULL' END,"
	 " COALESCE(regexp_replace(regexp_replace(column_default, '::[a-z ]+$', ''), '^''(-?[0-9.]+)''$', '\\1'), '-'),"
	 " CASE is_identity WHEN 'YES' THEN 'identity' ELSE '-' END"
	 " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position"},
	{"indexes",
	 "SELECT il.name, CASE il.\"unique\" WHEN 1 THEN 'unique' ELSE '-' END,"
	 " CASE il.partial WHEN 1 THEN 'partial' ELSE '-' END,"
	 " (SELECT group_concat(x.name || CASE x.\"desc\" WHEN 1 THEN ' DESC' ELSE '' END, ',')"
	 " FROM (SELECT name, \"desc\" FROM pragma_index_xinfo(il.name) WHERE key = 1 ORDER BY seqno) x)"
	 " FROM pragma_index_list(?1) il WHERE substr(il.name, 1, 17) <> 'sqlite_autoindex_' ORDER BY il.name",
	 "SELECT ic.relname, CASE WHEN i.indisunique THEN 'unique' ELSE '-' END,"
	 " CASE WHEN i.indpred IS NOT NULL THEN 'partial' ELSE '-' END,"
	 " (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true)"
	 " || CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END, ',' ORDER BY k)"
	 " FROM generate_series(1, i.indnkeyatts) k)"
	 " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tb ON tb.oid = i.indrelid"
	 " JOIN pg_namespace s ON s.oid = tb.relnamespace WHERE s.nspname = 'public' AND tb.relname = $1"
	 " AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid AND co.contype IN ('p', 'u'))"
	 " ORDER BY ic.relname COLLATE \"C\""},
	{"keys",
	 "SELECT k FROM ("
	 " SELECT 'primary-key (' || (SELECT group_concat(name, ',') FROM"
	 " (SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk)) || ')' AS k"
	 " UNION ALL SELECT 'unique (' || (SELECT group_concat(name, ',') FROM"
	 " (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)) || ')'"
	 " FROM pragma_index_list(?1) il WHERE il.origin = 'u'"
	 " UNION ALL SELECT 'foreign-key (' || \"from\" || ') ' || \"table\" || '(' || \"to\" || ')'"
	 " FROM pragma_foreign_key_list(?1)) WHERE k IS NOT NULL ORDER BY k",
	 "SELECT k FROM (SELECT CASE co.contype WHEN 'p' THEN 'primary-key (' WHEN 'u' THEN 'unique ('"
	 " ELSE 'foreign-key (' END || (SELECT string_agg(a.attname, ',' ORDER BY x.n)"
	 " FROM unnest(co.conkey) WITH ORDINALITY x(attnum, n)"
	 " JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = x.attnum) || ')'"
	 " || CASE WHEN co.contype = 'f' THEN ' ' || f.relname || '(' || (SELECT string_agg(a.attname, ',' ORDER BY x.n)"
	 " FROM unnest(co.confkey) WITH ORDINALITY x(attnum, n)"
	 " JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = x.attnum) || ')' ELSE '' END AS k"
	 " FROM pg_constraint co JOIN pg_class tb ON tb.oid = co.conrelid JOIN pg_namespace s ON s.oid = tb.relnamespace"
	 " LEFT JOIN pg_class f ON f.oid = co.confrelid"
	 " WHERE s.nspname = 'public' AND tb.relname = $1 AND co.contype IN ('p', 'u', 'f')) u ORDER BY k COLLATE \"C\""},
	{"triggers",
	 "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 ORDER BY name",
	 "SELECT tg.tgname FROM pg_trigger tg JOIN pg_class tb ON tb.oid = tg.tgrelid"
	 " JOIN pg_namespace s ON s.oid = tb.relnamespace"
	 " WHERE NOT tg.tgisinternal AND s.nspname = 'public' AND tb.relname = $1 ORDER BY tg.tgname COLLATE \"C\""},
};

/* Both lists are one numbered list: the same length, no empty step. */
static void test_same_count(void **state)
{
	(void)state;
	assert_int_equal(vex_pg_migration_count, vex_store_migration_count);
	for (int i = 0; i < vex_pg_migration_count; i++) {
		assert_non_null(vex_pg_migrations[i]);
		assert_true(strlen(vex_pg_migrations[i]) > 0);
	}
}

/* Every migration applies in order on an empty database, each in a transaction of its own, and would fail if
 * run twice; no statement in it passes over an object that is already there (or that is not). */
static void test_apply_in_order(void **state)
{
	static const char *const lenient[] = {"IF NOT EXISTS", "OR REPLACE", "IF EXISTS"};
	struct vex_buf pg = {.max = RENDER_MAX};

	(void)state;
	for (int i = 0; i < vex_pg_migration_count; i++)
		for (size_t k = 0; k < sizeof(lenient) / sizeof(lenient[0]); k++)
			if (strcasestr(vex_pg_migrations[i], lenient[k]))
				fail_msg("migration %d says %s", i + 1, lenient[k]);
	pg_migrate(t.pg, 0, vex_pg_migration_count, 1);
	pg_render(t.pg, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'", NULL, &pg);
	assert_string_not_equal(pg.p, "0\n");
	vex_buf_release(&pg);
}

/* Text compares by bytes, as in SQLite, in a database whose own collation does not: every text column is
 * COLLATE "C", so an ICU en-US database orders ids "B-2" before "a-1" as SQLite does. */
static void test_text_sorts_by_bytes(void **state)
{
	const char *url = getenv("VEX_TEST_PG_URL");
	struct vex_buf out = {.max = RENDER_MAX};
	char sql[256], db[NAME_CAP + 8];
	PGconn *icu;

	(void)state;
	snprintf(db, sizeof(db), "%s_icu", t.db);
	snprintf(sql, sizeof(sql),
		 "CREATE DATABASE %s TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", db);
	pg_ok(t.admin, sql, sql);
	icu = pg_connect(url, db);
	/* The database's own order is not SQLite's: the case the column collation is for. */
	pg_render(icu, "SELECT 'a-1' < 'B-2'", NULL, &out);
	assert_string_equal(out.p, "t\n");
	vex_buf_release(&out);
	pg_migrate(icu, 0, vex_pg_migration_count, 0);
	pg_ok(icu, "INSERT INTO runners(id, pid, beat_at) VALUES ('a-1', 1, 1), ('B-2', 2, 2), ('a1', 3, 3)", "rows");
	pg_render(icu, "SELECT string_agg(id, ',' ORDER BY id) FROM runners", NULL, &out);
	assert_string_equal(out.p, "B-2,a-1,a1\n");
	vex_buf_release(&out);
	pg_render(icu,
		  "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'text'"
		  " AND collation_name IS DISTINCT FROM 'C'",
		  NULL, &out);
	assert_string_equal(out.p, "0\n");
	vex_buf_release(&out);
	PQfinish(icu);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
	pg_ok(t.admin, sql, sql);
}

/* The schema the PostgreSQL list builds is the one SQLite's list builds, table by table. */
static void test_schema_matches_sqlite(void **state)
{
	char names[MAX_TABLES][NAME_CAP], what[128];
	struct vex_buf lite = {.max = RENDER_MAX}, pg = {.max = RENDER_MAX};
	int n;

	(void)state;
	pg_migrate(t.pg, 0, vex_pg_migration_count, 0);
	lite_render(t.sq,
		    "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
		    NULL, &lite);
	pg_render(t.pg,
		  "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
		  " AND table_type = 'BASE TABLE' ORDER BY table_name COLLATE \"C\"",
		  NULL, &pg);
	expect_same("the set of tables", &lite, &pg);
	n = lite_tables(t.sq, names);
	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++) {
			snprintf(what, sizeof(what), "table %.*s: %s", NAME_CAP - 1, names[i], sections[k].what);
			lite_render(t.sq, sections[k].lite, names[i], &lite);
			pg_render(t.pg, sections[k].pg, names[i], &pg);
			expect_same(what, &lite, &pg);
		}
	/* Each trigger's function is named after it, and no function outlives its trigger (migration 14). */
	pg_render(t.pg,
		  "SELECT tg.tgname, p.proname FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid"
		  " WHERE NOT tg.tgisinternal AND p.proname <> tg.tgname || '_fn'",
		  NULL, &pg);
	expect_same("trigger functions not named <trigger>_fn", &lite, &pg);
	pg_render(t.pg,
		  "SELECT p.proname FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace"
		  " WHERE s.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgfoid = p.oid)",
		  NULL, &pg);
	expect_same("functions without a trigger", &lite, &pg);
	vex_buf_release(&lite);
	vex_buf_release(&pg);
}

/* "sql" on both databases; both must succeed. */
static void both(const char *sql)
{
	lite_ok(t.sq, sql, sql);
	pg_ok(t.pg, sql, sql);
}

/*
 * Every table's rows in both databases, alike: ordered by all columns (bytewise, NULL first, as SQLite
 * orders), REAL / double precision values as %.17g (SQLite prints 0.0, PostgreSQL 0), a rowid alias left
 * out (job_events.seq: its order is kept, its values belong to each database).
 */
static void expect_same_rows(const char *when)
{
	char names[MAX_TABLES][NAME_CAP], cols[MAX_COLS][NAME_CAP], what[160];
	unsigned char real[MAX_COLS], text[MAX_COLS], skip[MAX_COLS];
	struct vex_buf lsql = {.max = RENDER_MAX}, psql = {.max = RENDER_MAX};
	struct vex_buf lite = {.max = RENDER_MAX}, pg = {.max = RENDER_MAX};
	int n = lite_tables(t.sq, names);

	for (int i = 0; i < n; i++) {
		sqlite3_stmt *st = NULL;
		PGresult *r;
		int nc = 0;

		assert_int_equal(sqlite3_prepare_v2(t.sq,
						    "SELECT name, upper(type) = 'REAL', upper(type) = 'TEXT', " LITE_ROWID_ALIAS
						    " FROM pragma_table_info(?1) ORDER BY cid",
						    -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_text(st, 1, names[i], -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			assert_true(nc < MAX_COLS);
			snprintf(cols[nc], NAME_CAP, "%s", (const char *)sqlite3_column_text(st, 0));
			real[nc] = (unsigned char)sqlite3_column_int(st, 1);
			text[nc] = (unsigned char)sqlite3_column_int(st, 2);
			skip[nc++] = (unsigned char)sqlite3_column_int(st, 3);
		}
		sqlite3_finalize(st);
		vex_buf_puts(&lsql, "SELECT ");
		vex_buf_puts(&psql, "SELECT ");
		for (int j = 0; j < nc; j++) {
			vex_buf_printf(&lsql, "%s%s", j ? ", " : "", cols[j]);
			vex_buf_printf(&psql, "%s%s", j ? ", " : "", cols[j]);
		}
		vex_buf_printf(&lsql, " FROM %s ORDER BY ", names[i]);
		vex_buf_printf(&psql, " FROM %s ORDER BY ", names[i]);
		for (int j = 0; j < nc; j++) {
			vex_buf_printf(&lsql, "%s%s", j ? ", " : "", cols[j]);
			vex_buf_printf(&psql, "%s%s%s NULLS FIRST", j ? ", " : "", cols[j], text[j] ? " COLLATE \"C\"" : "");
		}
		assert_int_equal(lsql.err, 0);
		assert_int_equal(psql.err, 0);

		assert_int_equal(sqlite3_prepare_v2(t.sq, lsql.p, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int j = 0; j < nc; j++) {
				if (skip[j])
					continue;
				if (sqlite3_column_type(st, j) == SQLITE_NULL)
					vex_buf_puts(&lite, "NULL|");
				else if (real[j])
					vex_buf_printf(&lite, "%.17g|", sqlite3_column_double(st, j));
				else
					vex_buf_printf(&lite, "%s|", (const char *)sqlite3_column_text(st, j));
			}
			vex_buf_puts(&lite, "\n");
		}
		sqlite3_finalize(st);

		r = PQexec(t.pg, psql.p);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		for (int k = 0; k < PQntuples(r); k++) {
			for (int j = 0; j < nc; j++) {
				if (skip[j])
					continue;
				if (PQgetisnull(r, k, j))
					vex_buf_puts(&pg, "NULL|");
				else if (real[j])
					vex_buf_printf(&pg, "%.17g|", strtod(PQgetvalue(r, k, j), NULL));
				else
					vex_buf_printf(&pg, "%s|", PQgetvalue(r, k, j));
			}
			vex_buf_puts(&pg, "\n");
		}
		PQclear(r);
		assert_int_equal(lite.err, 0);
		assert_int_equal(pg.err, 0);
		snprintf(what, sizeof(what), "%s: the rows of %.*s", when, NAME_CAP - 1, names[i]);
		expect_same(what, &lite, &pg);
		vex_buf_reset(&lsql);
		vex_buf_reset(&psql);
	}
	vex_buf_release(&lsql);
	vex_buf_release(&psql);
	vex_buf_release(&lite);
	vex_buf_release(&pg);
}

/*
 * Job changes as the store makes them, in plain SQL both databases take, from 2026-01-01 00:00 UTC (minute
 * 29453760). Part one: a tool job queued, claimed, moved along (a progress bump, a lease extension without
 * one), completed in 3 ms; an agent job claimed, cancel requested, requeued; a queued job deleted; a tool
 * job without a tool failed from the queue; one completed in 2 s.
 */
static const char *const changes_one[] = {
	"INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
	" VALUES ('ag-1', 'bob', 'scout', 'researcher', 2, 'ACTIVE', 1767225600000000, 1767225600000000)",
	"INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, max_attempts, created_at, updated_at)"
	" VALUES ('job-1', 'alice', 'free', 'tool', 'echo', '{\"text\": \"hi\"}', 'queued', 3,"
	" 1767225600000000, 1767225600000000)",
	"UPDATE jobs SET status = 'running', attempts = 1, started_at = 1767225600001000, lease_owner = 'runner-1',"
	" lease_expires_at = 1767225630000000, rev = rev + 1, updated_at = 1767225600001000 WHERE id = 'job-1'",
	"UPDATE jobs SET progress_step = 'half', progress_total = 2, progress_pct = 0.5, progress_message = 'halfway',"
	" rev = rev + 1, updated_at = 1767225600002000 WHERE id = 'job-1'",
	"UPDATE jobs SET lease_expires_at = 1767225660000000 WHERE id = 'job-1'",
	"UPDATE jobs SET status = 'completed', completed_at = 1767225600003000, result_json = '{\"echo\": \"hi\"}',"
	" lease_owner = NULL, lease_expires_at = NULL, rev = rev + 1, updated_at = 1767225600003000 WHERE id = 'job-1'",
	"INSERT INTO jobs(id, owner, plan, kind, agent_id, input_json, status, priority, created_at, updated_at)"
	" VALUES ('job-2', 'bob', 'pro', 'agent', 'ag-1', '{}', 'queued', 5, 1767225660000000, 1767225660000000)",
	"UPDATE jobs SET status = 'running', attempts = 1, started_at = 1767225660500000, rev = rev + 1,"
	" updated_at = 1767225660500000 WHERE id = 'job-2'",
	"UPDATE jobs SET cancel_requested = 1, rev = rev + 1, updated_at = 1767225661000000 WHERE id = 'job-2'",
	"UPDATE jobs SET status = 'queued', started_at = NULL, rev = rev + 1, updated_at = 1767225662000000"
	" WHERE id = 'job-2'",
	"INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	" VALUES ('job-3', 'alice', 'free', 'tool', 'sleep', '{}', 'queued', 1767225600000000, 1767225600000000)",
	"DELETE FROM jobs WHERE id = 'job-3'",
	"INSERT INTO jobs(id, owner, plan, kind, input_json, status, created_at, updated_at)"
	" VALUES ('job-5', 'carol', 'free', 'tool', '{}', 'queued', 1767225600000000, 1767225600000000)",
	"UPDATE jobs SET status = 'failed', error_code = 'invalid_input', error_message = 'no tool',"
	" completed_at = 1767225600000100, rev = rev + 1, updated_at = 1767225600000100 WHERE id = 'job-5'",
	"INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	" VALUES ('job-6', 'carol', 'free', 'tool', 'echo', '{}', 'queued', 1767225600000000, 1767225600000000)",
	"UPDATE jobs SET status = 'running', attempts = 1, rev = rev + 1, updated_at = 1767225600100000 WHERE id = 'job-6'",
	"UPDATE jobs SET status = 'completed', completed_at = 1767225602000000, rev = rev + 1,"
	" updated_at = 1767225602000000 WHERE id = 'job-6'",
};

/* Part two: a tool job that times out, a status "change" to the same status (an event, no count moves), the
 * agent job canceled, and a finished job deleted. */
static const char *const changes_two[] = {
	"INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	" VALUES ('job-4', 'alice', 'free', 'tool', 'echo', '{}', 'queued', 1767225720000000, 1767225720000000)",
	"UPDATE jobs SET status = 'running', attempts = 1, rev = rev + 1, updated_at = 1767225720001000 WHERE id = 'job-4'",
	"UPDATE jobs SET status = 'running', progress_pct = 0.25, rev = rev + 1, updated_at = 1767225720002000"
	" WHERE id = 'job-4'",
	"UPDATE jobs SET status = 'timeout', error_code = 'timeout', completed_at = 1767225722000000, rev = rev + 1,"
	" updated_at = 1767225722000000 WHERE id = 'job-4'",
	"UPDATE jobs SET status = 'canceled', completed_at = 1767225663000000, rev = rev + 1,"
	" updated_at = 1767225663000000 WHERE id = 'job-2'",
	"DELETE FROM jobs WHERE id = 'job-5'",
};

static void run_both(const char *const *sqls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		both(sqls[i]);
}

/* The triggers of the final schema (job events, job_tally) write in PostgreSQL what they write in SQLite. */
static void test_triggers_match_sqlite(void **state)
{
	(void)state;
	pg_migrate(t.pg, 0, vex_pg_migration_count, 0);
	expect_same_rows("before any job");
	run_both(changes_one, sizeof(changes_one) / sizeof(changes_one[0]));
	expect_same_rows("after part one");
	run_both(changes_two, sizeof(changes_two) / sizeof(changes_two[0]));
	expect_same_rows("after part two");
}

/*
 * The triggers migrations 8, 12 and 13 made (owner_queued, job_counts, job_status_counts, job_minute_stats),
 * at schema 13 in both databases, then migration 14 over those jobs: job_tally filled from them, the 'stats'
 * cursor at the newest event, the old counts gone, and the new triggers from there.
 */
static void test_older_triggers_and_14(void **state)
{
	int last = vex_store_migration_count - 1;

	(void)state;
	assert_int_equal(last, 13);
	/* A SQLite database of our own at schema 13, instead of the store's at 14. */
	sqlite3_close(t.sq);
	t.sq = NULL;
	assert_int_equal(sqlite3_open(":memory:", &t.sq), SQLITE_OK);
	lite_ok(t.sq, "PRAGMA foreign_keys = ON", "foreign_keys");
	lite_migrate(t.sq, 0, last);
	pg_migrate(t.pg, 0, last, 0);
	run_both(changes_one, sizeof(changes_one) / sizeof(changes_one[0]));
	expect_same_rows("schema 13, after part one");
	lite_migrate(t.sq, last, last + 1);
	pg_migrate(t.pg, last, last + 1, 0);
	expect_same_rows("migration 14 over part one");
	run_both(changes_two, sizeof(changes_two) / sizeof(changes_two[0]));
	expect_same_rows("schema 14, after part two");
}

/*
 * The same writes are refused by both databases (CHECK, NOT NULL, foreign and unique keys) and the same are
 * taken: "ok" says which.
 */
static const struct {
	int ok;
	const char *sql;
} writes[] = {
	{1, "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
	    " VALUES ('ag-1', 'bob', 'scout', 'researcher', 2, 'ACTIVE', 1, 1)"},
	{0, "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
	    " VALUES ('ag-2', 'bob', 'scout', 'researcher', 2, 'GONE', 1, 1)"},
	{0, "INSERT INTO agents(id, owner, name, role, max_depth, status, created_at, updated_at)"
	    " VALUES ('ag-1', 'bob', 'again', 'researcher', 2, 'ACTIVE', 1, 1)"},
	{1, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, idempotency_key, created_at, updated_at)"
	    " VALUES ('j-1', 'alice', 'free', 'tool', 'echo', '{}', 'queued', 'k1', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, idempotency_key, created_at, updated_at)"
	    " VALUES ('j-2', 'alice', 'free', 'tool', 'echo', '{}', 'queued', 'k1', 1, 1)"},
	{1, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, idempotency_key, created_at, updated_at)"
	    " VALUES ('j-3', 'bob', 'free', 'tool', 'echo', '{}', 'queued', 'k1', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	    " VALUES ('j-1', 'alice', 'free', 'tool', 'echo', '{}', 'queued', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	    " VALUES ('j-4', 'alice', 'free', 'tool', 'echo', '{}', 'paused', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	    " VALUES ('j-4', 'alice', 'free', 'script', 'echo', '{}', 'queued', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
	    " VALUES ('j-4', NULL, 'free', 'tool', 'echo', '{}', 'queued', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, agent_id, input_json, status, created_at, updated_at)"
	    " VALUES ('j-4', 'alice', 'free', 'agent', 'ag-9', '{}', 'queued', 1, 1)"},
	{0, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, traceparent, created_at, updated_at)"
	    " VALUES ('j-4', 'alice', 'free', 'tool', 'echo', '{}', 'queued', '00-short', 1, 1)"},
	{1, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, traceparent, created_at, updated_at)"
	    " VALUES ('j-4', 'alice', 'free', 'tool', 'echo', '{}', 'queued',"
	    " '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 1, 1)"},
	{1, "INSERT INTO api_keys(id, owner, role, plan, hash, prefix, created_at) VALUES ('k-1', 'alice', 'user', 'free',"
	    " 'h1', 'vex_', 1)"},
	{0, "INSERT INTO api_keys(id, owner, role, plan, hash, prefix, created_at) VALUES ('k-2', 'alice', 'user', 'free',"
	    " 'h1', 'vex_', 1)"},
	{0, "INSERT INTO api_keys(id, owner, role, plan, hash, prefix, created_at) VALUES ('k-2', 'alice', 'root', 'free',"
	    " 'h2', 'vex_', 1)"},
	{1, "INSERT INTO token_revocations(id, jti, created_by, created_at) VALUES ('r-1', 'jti-1', 'admin', 1)"},
	{0, "INSERT INTO token_revocations(id, jti, created_by, created_at) VALUES ('r-2', 'jti-1', 'admin', 1)"},
	{0, "INSERT INTO token_revocations(id, jti, sub, issued_before, created_by, created_at)"
	    " VALUES ('r-2', 'jti-2', 'alice', 5, 'admin', 1)"},
	{0, "INSERT INTO token_revocations(id, sub, created_by, created_at) VALUES ('r-2', 'alice', 'admin', 1)"},
	{1, "INSERT INTO token_revocations(id, sub, issued_before, created_by, created_at)"
	    " VALUES ('r-2', 'alice', 5, 'admin', 1)"},
	{0, "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('ag-9', 1, 'j-1', 1)"},
	{1, "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('ag-1', 1, 'j-1', 1)"},
	{0, "INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('ag-1', 1, 'j-3', 1)"},
	{0, "INSERT INTO tools(name, short_name, source, input_schema, updated_at) VALUES ('t', 't', 'http', '{}', 1)"},
	{1, "INSERT INTO tools(name, short_name, source, input_schema, updated_at) VALUES ('t', 't', 'mcp', '{}', 1)"},
	{1, "INSERT INTO webhooks(id, owner, url, events, secret, status, created_at, updated_at)"
	    " VALUES ('h-1', 'alice', 'https://example.test/h', 3, 's', 'active', 1, 1)"},
	{0, "INSERT INTO webhooks(id, owner, url, events, secret, status, created_at, updated_at)"
	    " VALUES ('h-2', 'alice', 'https://example.test/h', 3, 's', 'paused', 1, 1)"},
	{0, "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at) VALUES ('d-0', 'h-9', 'alice', 'j-1', 1, 'job.queued', '{}', 'pending', 1, 1)"},
	{1, "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at) VALUES ('d-1', 'h-1', 'alice', 'j-1', 1, 'job.queued', '{}', 'pending', 1, 1)"},
	{0, "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at) VALUES ('d-2', 'h-1', 'alice', 'j-1', 1, 'job.queued', '{}', 'pending', 1, 1)"},
	{1, "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at, resend_of) VALUES ('d-2', 'h-1', 'alice', 'j-1', 1, 'job.queued', '{}', 'pending', 1, 1, 'd-1')"},
	{0, "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status, next_at,"
	    " created_at) VALUES ('d-3', 'h-1', 'alice', 'j-1', 2, 'job.queued', '{}', 'sent', 1, 1)"},
	{1, "INSERT INTO webhook_attempts(delivery_id, n, at, duration_us) VALUES ('d-1', 1, 1, 10)"},
	{0, "INSERT INTO webhook_attempts(delivery_id, n, at, duration_us) VALUES ('d-1', 1, 2, 10)"},
	{0, "INSERT INTO webhook_attempts(delivery_id, n, at, duration_us) VALUES ('d-9', 1, 1, 10)"},
	{1, "INSERT INTO runners(id, pid, beat_at) VALUES ('r-1', 42, 1)"},
	{1, "INSERT INTO claim_pauses(tool, paused_at, paused_by) VALUES ('', 1, 'admin')"},
	{0, "INSERT INTO claim_pauses(tool, paused_at, paused_by) VALUES ('', 2, 'admin')"},
	{0, "INSERT INTO event_cursors(name, seq) VALUES ('webhooks', 1)"},
};

static void test_constraints_match_sqlite(void **state)
{
	(void)state;
	pg_migrate(t.pg, 0, vex_pg_migration_count, 0);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		int lite = sqlite3_exec(t.sq, writes[i].sql, NULL, NULL, NULL) == SQLITE_OK;
		int pg = pg_try(t.pg, writes[i].sql);

		if (lite != writes[i].ok)
			fail_msg("SQLite %s: %s", lite ? "took" : "refused", writes[i].sql);
		if (pg != writes[i].ok)
			fail_msg("PostgreSQL %s: %s (%s)", pg ? "took" : "refused", writes[i].sql, PQerrorMessage(t.pg));
	}
	/* What both took, defaults filled in, is the same. */
	expect_same_rows("after the writes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_count),
		cmocka_unit_test_setup_teardown(test_apply_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_matches_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_sorts_by_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_triggers_match_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_triggers_and_14, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints_match_sqlite, setup, teardown),
	};

	vex_log_init("test_pg_schema", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
