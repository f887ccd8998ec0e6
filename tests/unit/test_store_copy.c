/* test_store_copy.c - vex_store_copy (vexctl store migrate): a SQLite store with agents, keys, revocations, tools,
 * pauses, hooks, jobs run through (events, tallies, minute stats), deliveries and attempts, schedule fires, copied
 * into a new PostgreSQL database: every row alike, the PostgreSQL store working on from there; refusals change
 * nothing. Needs VEX_TEST_PG_URL (tools/run-unit starts a cluster). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/store_copy.h"
#include "tests/unit/store_deliveries_fixture.h"

static char pg_db[64], pg_url[1024];

static int setup_copy(void **state)
{
	static int seq;
	char sql[128];

	if (setup(state) != 0)
		return -1;
	snprintf(pg_db, sizeof(pg_db), "vex_copy_%ld_%d", (long)getpid(), ++seq);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_db);
	if (store_fixture_pg_admin(sql) != 0 || store_fixture_pg_url(pg_db, pg_url, sizeof(pg_url)) != 0)
		return -1;
	return 0;
}

static int teardown_copy(void **state)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_db);
	store_fixture_pg_admin(sql);
	return store_teardown(state);
}

static void sqlite_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static PGconn *pg_connect(void)
{
	PGconn *c = PQconnectdb(pg_url);

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

static int64_t pg_int(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int64_t v = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* Append "s" and a separator to the growing text *out. */
static void add(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*out = realloc(*out, *len + n + 2);
	assert_non_null(*out);
	memcpy(*out + *len, s, n);
	(*out)[*len + n] = '\x1f';
	*len += n + 1;
	(*out)[*len] = '\0';
}

/* The rows of "table" as one text (ordered by the first columns; floats as %.17g, NULL as \x01). */
static char *sqlite_rows(const char *table)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[128], buf[40], *out = NULL;
	size_t len = 0;
	int n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT * FROM %s LIMIT 0", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	n = sqlite3_column_count(st);
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1%s%s", table, n > 1 ? ", 2" : "", n > 2 ? ", 3" : "");
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	add(&out, &len, table);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				add(&out, &len, "\x01");
				break;
			case SQLITE_FLOAT:
				snprintf(buf, sizeof(buf), "%.17g", sqlite3_column_double(st, i));
				add(&out, &len, buf);
				break;
			default:
				add(&out, &len, (const char *)sqlite3_column_text(st, i));
			}
		}
		add(&out, &len, "\n");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static char *pg_rows(PGconn *c, const char *table)
{
	PGresult *r;
	char sql[128], buf[40], *out = NULL;
	size_t len = 0;
	int n;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s LIMIT 0", table);
	r = PQexec(c, sql);
	n = PQnfields(r);
	PQclear(r);
	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1%s%s", table, n > 1 ? ", 2" : "", n > 2 ? ", 3" : "");
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	add(&out, &len, table);
	for (int row = 0; row < PQntuples(r); row++) {
		for (int i = 0; i < n; i++) {
			if (PQgetisnull(r, row, i)) {
				add(&out, &len, "\x01");
			} else if (PQftype(r, i) == 701) { /* float8 */
				snprintf(buf, sizeof(buf), "%.17g", strtod(PQgetvalue(r, row, i), NULL));
				add(&out, &len, buf);
			} else {
				add(&out, &len, PQgetvalue(r, row, i));
			}
		}
		add(&out, &len, "\n");
	}
	PQclear(r);
	return out;
}

static char copied_log[1024];

static void copied(void *arg, const char *table, int64_t rows)
{
	size_t n = strlen(copied_log);

	(void)arg;
	snprintf(copied_log + n, sizeof(copied_log) - n, "%s=%lld ", table, (long long)rows);
}

static const char *const all_tables[] = {
	"agents",         "api_keys", "token_revocations", "tools",        "claim_pauses",
	"webhooks",       "jobs",     "job_events",        "event_cursors", "job_tally",
	"job_minute_stats", "schedule_fires", "webhook_deliveries", "webhook_attempts",
};

/* A store with something in every table, most of it written as vex writes it. */
static void populate(void)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], c[VEX_UUID_LEN + 1];
	struct vex_delivery_claim_list cl = { 0 };
	struct vex_delivery_record rec;
	int created = 0;

	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	run_job(a, VEX_JOB_COMPLETED);
	add_job("alice", b);
	run_job(b, VEX_JOB_FAILED);
	add_job("bob", c); /* stays queued */
	fold_stats();
	assert_true(fanout(&created) > 0);
	assert_true(created > 0);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 1, 1, &cl), 0);
	assert_int_equal((int)cl.n, 1);
	memset(&rec, 0, sizeof(rec));
	rec.id = cl.items[0].d.id;
	rec.attempt.at = ++now;
	rec.attempt.status_code = 500;
	rec.attempt.error = "server error: \xc3\xbc" "n\xc3\xaf" "code \xf0\x9f\x98\x80";
	rec.attempt.duration_us = 1234;
	rec.attempt.response_body = "{\"retry\":true}";
	rec.outcome.status = VEX_DLV_PENDING;
	rec.outcome.next_at = now + S;
	assert_int_equal(vex_store_deliveries_record(store, "r", &rec, 1, now), 0);
	assert_int_equal(rec.rc, 0);
	vex_delivery_claim_list_release(&cl);
	sqlite_exec("INSERT INTO agents(id, owner, name, role, max_depth, spawn_shadow, model, tools_json, base_url,"
		    " schedule_json, status, generation, fitness, created_at, updated_at, plan, owner_role)"
		    " VALUES ('ag-1', 'alice', 'U\xcc\x88nicode \xe5\x90\x8d', 'role', 2, 0, NULL, '[]', NULL, '{\"every_s\":60}',"
		    " 'ACTIVE', 3, 0.1, 1, 2, 'pro', 'user')");
	sqlite_exec("INSERT INTO schedule_fires(agent_id, slot, job_id, fired_at) VALUES ('ag-1', 60000000, 'j-x', 5)");
	sqlite_exec("INSERT INTO api_keys(id, owner, role, plan, name, hash, prefix, created_at, last_used_at, revoked_at)"
		    " VALUES ('key-1', 'alice', 'user', 'free', 'ci', lower(hex(randomblob(32))), 'vex_ab', 1, NULL, NULL),"
		    " ('key-2', 'alice', 'admin', 'pro', NULL, lower(hex(randomblob(32))), 'vex_cd', 2, 3, 4)");
	sqlite_exec("INSERT INTO token_revocations(id, jti, sub, issued_before, reason, created_by, created_at)"
		    " VALUES ('rv-1', NULL, 'mallory', 10, 'left', 'op', 11), ('rv-2', 'jti-9', NULL, NULL, NULL, 'op', 12)");
	sqlite_exec("INSERT INTO claim_pauses(tool, paused_at, paused_by) VALUES ('echo', 7, 'op')");
}

/* Everything comes across: each table's rows alike, the report in copy order; the PostgreSQL store then works
 * on: the copied job reads back, a new job's event follows the last copied seq and the triggers count again. */
static void test_copy_everything(void **state)
{
	char err[512], want[1024] = "";
	struct vex_job *j = NULL, *got = NULL, *n = store_fixture_job("alice", "echo", "{}", 99);
	struct vex_store *pg = NULL;
	PGconn *c;
	int64_t last_seq, tally;
	int created = 0;

	(void)state;
	populate();
	copied_log[0] = '\0';
	assert_int_equal(vex_store_copy(path, pg_url, copied, NULL, err, sizeof(err)), 0);
	c = pg_connect();
	for (size_t i = 0; i < sizeof(all_tables) / sizeof(all_tables[0]); i++) {
		char *a = sqlite_rows(all_tables[i]), *b = pg_rows(c, all_tables[i]), line[128];
		size_t len = strlen(want);

		if (strcmp(a, b) != 0)
			fail_msg("table %s differs:\nSQLite:     %s\nPostgreSQL: %s", all_tables[i], a, b);
		snprintf(line, sizeof(line), "SELECT count(*) FROM %s", all_tables[i]);
		snprintf(want + len, sizeof(want) - len, "%s=%lld ", all_tables[i], (long long)pg_int(c, line));
		free(a);
		free(b);
	}
	assert_string_equal(copied_log, want);
	assert_true(pg_int(c, "SELECT count(*) FROM jobs") == 3);
	assert_true(pg_int(c, "SELECT count(*) FROM job_events") >= 9);
	assert_true(pg_int(c, "SELECT count(*) FROM webhook_attempts") == 1);
	assert_true(pg_int(c, "SELECT count(*) FROM runners") == 0);

	/* The store on PostgreSQL carries on from the copy: a job reads back as it ended. */
	assert_int_equal(vex_store_open(pg_url, 1, 5000, &pg), 0);
	{
		PGresult *r = PQexec(c, "SELECT id FROM jobs WHERE status = 'completed'");

		assert_int_equal(PQntuples(r), 1);
		assert_int_equal(vex_store_job_get(pg, PQgetvalue(r, 0, 0), "alice", &j), 0);
		PQclear(r);
	}
	assert_int_equal(j->status, VEX_JOB_COMPLETED);
	assert_int_equal(j->attempts, 1);
	assert_string_equal(j->progress.message, "half");
	vex_job_free(j);
	last_seq = pg_int(c, "SELECT max(seq) FROM job_events");
	tally = pg_int(c, "SELECT coalesce(sum(n), 0) FROM job_tally WHERE owner = 'alice'");
	assert_int_equal(vex_store_job_insert(pg, n, &got, &created), 0);
	assert_int_equal(created, 1);
	assert_true(pg_int(c, "SELECT max(seq) FROM job_events") == last_seq + 1);
	assert_true(pg_int(c, "SELECT coalesce(sum(n), 0) FROM job_tally WHERE owner = 'alice'") == tally + 1);
	vex_job_free(got);
	got = NULL;
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM job_events WHERE job_id = '%s' AND type = 'queued'", n->id);
		assert_true(pg_int(c, sql) == 1);
	}
	vex_store_free(pg);
	vex_job_free(n);
	PQfinish(c);
}

/* A destination that holds anything, a source that is not SQLite, text PostgreSQL cannot hold, a schema table
 * the copy does not know: refused with a reason, and the destination is as it was. */
static void test_copy_refusals(void **state)
{
	char err[512];
	struct vex_store *pg = NULL;
	PGconn *c;

	(void)state;
	populate();
	assert_int_equal(vex_store_copy(pg_url, pg_url, NULL, NULL, err, sizeof(err)), VEX_EINVAL);
	assert_int_equal(vex_store_copy(path, path, NULL, NULL, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "SQLite store (a path) to a PostgreSQL store"));

	/* Not empty: one agent there already. */
	assert_int_equal(vex_store_open(pg_url, 1, 5000, &pg), 0);
	vex_store_free(pg);
	c = pg_connect();
	pg_exec(c, "INSERT INTO agents(id, owner, name, role, max_depth, spawn_shadow, tools_json, status, generation,"
		   " fitness, created_at, updated_at, plan, owner_role)"
		   " VALUES ('ag-pg', 'carol', 'n', 'r', 1, 0, '[]', 'ACTIVE', 0, 0, 1, 1, 'free', 'user')");
	assert_int_equal(vex_store_copy(path, pg_url, NULL, NULL, err, sizeof(err)), VEX_EEXIST);
	assert_non_null(strstr(err, "not empty"));
	assert_true(pg_int(c, "SELECT count(*) FROM jobs") == 0);
	pg_exec(c, "DELETE FROM agents");

	/* Text that is not UTF-8, then a NUL inside text: nothing written, the reason names the table. */
	sqlite_exec("UPDATE jobs SET error_message = CAST(x'6f6bff' AS TEXT) WHERE owner = 'bob'");
	assert_int_equal(vex_store_copy(path, pg_url, NULL, NULL, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "table jobs"));
	assert_non_null(strstr(err, "UTF-8"));
	assert_true(pg_int(c, "SELECT count(*) FROM agents") + pg_int(c, "SELECT count(*) FROM webhooks") == 0);
	sqlite_exec("UPDATE jobs SET error_message = CAST(x'6f6b006f6b' AS TEXT) WHERE owner = 'bob'");
	assert_int_equal(vex_store_copy(path, pg_url, NULL, NULL, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "NUL"));
	assert_true(pg_int(c, "SELECT count(*) FROM job_events") == 0);
	sqlite_exec("UPDATE jobs SET error_message = NULL WHERE owner = 'bob'");

	/* A table the copy would leave behind. */
	pg_exec(c, "CREATE TABLE extra_rows (x bigint)");
	assert_int_equal(vex_store_copy(path, pg_url, NULL, NULL, err, sizeof(err)), VEX_EIO);
	assert_non_null(strstr(err, "extra_rows"));
	pg_exec(c, "DROP TABLE extra_rows");
	/* Then it goes through. */
	assert_int_equal(vex_store_copy(path, pg_url, NULL, NULL, err, sizeof(err)), 0);
	assert_true(pg_int(c, "SELECT count(*) FROM jobs") == 3);
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_everything, setup_copy, teardown_copy),
		cmocka_unit_test_setup_teardown(test_copy_refusals, setup_copy, teardown_copy),
	};

	if (!getenv("VEX_TEST_PG_URL") || !*getenv("VEX_TEST_PG_URL")) {
		fprintf(stderr, "test_store_copy: needs VEX_TEST_PG_URL (tools/run-unit starts a cluster)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
