/* store_copy.c - a SQLite store's rows copied into a new PostgreSQL store in one transaction (store_copy.h):
 * the one place that holds a connection of each backend. */
#include "core/store/store_copy.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/sqlite/store_internal.h"

/*
 * The tables copied, parents before the rows that reference them. Every table of the schema except vex_schema
 * (the version) and runners (live heartbeats) must be here: a migration that adds a table adds it here too, or
 * the copy refuses to start (tests/unit/test_store_copy.c checks the list against the schema).
 */
static const char *const tables[] = {
	"agents",       "api_keys", "token_revocations", "tools",            "claim_pauses",
	"webhooks",     "jobs",     "job_events",        "event_cursors",    "job_tally",
	"job_minute_stats", "schedule_fires", "webhook_deliveries", "webhook_attempts",
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* Tables the schema has that the copy leaves out on purpose. */
static int skipped(const char *t)
{
	return strcmp(t, "vex_schema") == 0 || strcmp(t, "runners") == 0;
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Run "sql" on PostgreSQL; on failure say what was being done. */
static int pg_do(struct vex_pg *p, const char *sql, int n, const char *const *vals, PGresult **ret,
		 const char *what, char *err, size_t errlen)
{
	int rc = vex_pg_exec(p, sql, n, vals, ret);

	if (rc)
		errf(err, errlen, "PostgreSQL refused to %s: %s%s", what, vex_strerror(rc),
		     rc == VEX_EINVAL ? " (text that is not UTF-8)" : "");
	return rc;
}

/* The destination's tables must be the copy's: the same set, or a schema this program does not know. */
static int check_tables(struct vex_pg *p, char *err, size_t errlen)
{
	PGresult *r = NULL;
	int rc, found = 0;

	rc = pg_do(p, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", 0, NULL, &r,
		   "list its tables", err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *t = PQgetvalue(r, i, 0);
		size_t k;

		if (skipped(t))
			continue;
		for (k = 0; k < N_TABLES && strcmp(tables[k], t) != 0; k++)
			;
		if (k == N_TABLES) {
			errf(err, errlen, "the schema has a table this program does not copy: %s", t);
			rc = VEX_EIO;
		}
		found++;
	}
	PQclear(r);
	if (rc == 0 && found != (int)N_TABLES) {
		errf(err, errlen, "the schema lacks tables this program copies (%d of %zu)", found, N_TABLES);
		rc = VEX_EIO;
	}
	return rc;
}

/* The destination holds nothing a user made. */
static int check_empty(struct vex_pg *p, char *err, size_t errlen)
{
	PGresult *r = NULL;
	int rc;

	rc = pg_do(p,
		   "SELECT (SELECT count(*) FROM agents) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM api_keys)"
		   " + (SELECT count(*) FROM token_revocations) + (SELECT count(*) FROM tools)"
		   " + (SELECT count(*) FROM webhooks)",
		   0, NULL, &r, "count its rows", err, errlen);
	if (rc)
		return rc;
	if (vex_pg_get_i64(r, 0, 0) != 0) {
		errf(err, errlen, "the PostgreSQL store is not empty (%" PRId64 " agents, jobs, keys, revocations, tools "
			     "and webhooks): migrate into a new database", vex_pg_get_i64(r, 0, 0));
		rc = VEX_EEXIST;
	}
	PQclear(r);
	return rc;
}

/* A row's column "i" as PostgreSQL's text parameter, in "buf" for numbers; NULL for SQL NULL. */
static const char *column_text(sqlite3_stmt *st, int i, char buf[40])
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_INTEGER:
		snprintf(buf, 40, "%lld", (long long)sqlite3_column_int64(st, i));
		return buf;
	case SQLITE_FLOAT:
		snprintf(buf, 40, "%.17g", sqlite3_column_double(st, i)); /* reads back to the same double */
		return buf;
	default:
		return (const char *)sqlite3_column_text(st, i);
	}
}

/* The INSERT of one row of "t" with the source's column names (quoted: they are the schema's, never a user's). */
static int insert_sql(const char *t, sqlite3_stmt *st, char **ret)
{
	int n = sqlite3_column_count(st);
	size_t cap = 64 + strlen(t), len;
	char *sql;

	for (int i = 0; i < n; i++)
		cap += strlen(sqlite3_column_name(st, i)) + 16;
	sql = malloc(cap);
	if (!sql)
		return VEX_ENOMEM;
	len = (size_t)snprintf(sql, cap, "INSERT INTO %s (", t);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s\"%s\"", i ? ", " : "", sqlite3_column_name(st, i));
	len += (size_t)snprintf(sql + len, cap - len, ") VALUES (");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s$%d", i ? ", " : "", i + 1);
	snprintf(sql + len, cap - len, ")");
	*ret = sql;
	return 0;
}

/* Every row of table "t" from "q" into "p"; *ret_rows the rows copied. */
static int copy_table(struct vex_sqlite *q, struct vex_pg *p, const char *t, int64_t *ret_rows, char *err,
		      size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const char **vals = NULL;
	char select[128], what[160], (*bufs)[40] = NULL, *sql = NULL;
	int64_t rows = 0;
	int rc, step, n;

	snprintf(select, sizeof(select), "SELECT * FROM %s", t);
	if (sqlite3_prepare_v2(q->db, select, -1, &st, NULL) != SQLITE_OK) {
		errf(err, errlen, "cannot read table %s of the SQLite store: %s", t, sqlite3_errmsg(q->db));
		return VEX_EIO;
	}
	n = sqlite3_column_count(st);
	rc = insert_sql(t, st, &sql);
	vals = calloc((size_t)n + 1, sizeof(*vals));
	bufs = calloc((size_t)n + 1, sizeof(*bufs));
	if (rc == 0 && (!vals || !bufs))
		rc = VEX_ENOMEM;
	if (rc) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			vals[i] = column_text(st, i, bufs[i]);
			/* A NUL inside text: PostgreSQL's text cannot hold it (SQLite can). */
			if (vals[i] && sqlite3_column_type(st, i) == SQLITE_TEXT &&
			    strlen(vals[i]) != (size_t)sqlite3_column_bytes(st, i)) {
				errf(err, errlen, "row %" PRId64 " of table %s: column %s holds a NUL byte, which PostgreSQL "
					     "cannot store", rows + 1, t, sqlite3_column_name(st, i));
				rc = VEX_EINVAL;
				goto out;
			}
		}
		snprintf(what, sizeof(what), "store row %" PRId64 " of table %s", rows + 1, t);
		rc = pg_do(p, sql, n, vals, NULL, what, err, errlen);
		if (rc)
			goto out;
		rows++;
	}
	if (step != SQLITE_DONE) {
		errf(err, errlen, "cannot read table %s of the SQLite store: %s", t, sqlite3_errmsg(q->db));
		rc = VEX_EIO;
		goto out;
	}
	*ret_rows = rows;
out:
	sqlite3_finalize(st);
	free(sql);
	free(vals);
	free(bufs);
	return rc;
}

/* The copy's rows in PostgreSQL's table "t" match the count read from the source. */
static int check_count(struct vex_pg *p, const char *t, int64_t want, char *err, size_t errlen)
{
	char sql[128];
	PGresult *r = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t);
	rc = pg_do(p, sql, 0, NULL, &r, "count a table", err, errlen);
	if (rc)
		return rc;
	if (vex_pg_get_i64(r, 0, 0) != want) {
		errf(err, errlen, "table %s holds %" PRId64 " rows after the copy, the source %" PRId64, t,
		     vex_pg_get_i64(r, 0, 0), want);
		rc = VEX_EIO;
	}
	PQclear(r);
	return rc;
}

int vex_store_copy(const char *from, const char *to, vex_store_copy_fn fn, void *arg, char *err, size_t errlen)
{
	struct vex_sqlite *q = NULL;
	struct vex_pg *p = NULL;
	int64_t rows;
	int rc;

	errf(err, errlen, "%s", "");
	if (!from || !to || vex_pg_url(from) || !vex_pg_url(to)) {
		errf(err, errlen, "copy from a SQLite store (a path) to a PostgreSQL store (postgresql://...)");
		return VEX_EINVAL;
	}
	rc = vex_sqlite_open(from, 1, 5000, &q);
	if (rc) {
		errf(err, errlen, "cannot open the SQLite store: %s", vex_strerror(rc));
		goto out;
	}
	rc = vex_pg_open(to, 0, &p);
	if (rc) {
		errf(err, errlen, "cannot open the PostgreSQL store (its log line says why): %s", vex_strerror(rc));
		goto out;
	}
	if (vex_store_migration_count != vex_pg_migration_count) {
		errf(err, errlen, "the two schemas differ (%d and %d migrations)", vex_store_migration_count,
		     vex_pg_migration_count);
		rc = VEX_EIO;
		goto out;
	}
	rc = check_tables(p, err, errlen);
	if (rc)
		goto out;
	/* A read transaction on the source: one consistent picture while vex may still be writing it. */
	if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		errf(err, errlen, "cannot read the SQLite store: %s", sqlite3_errmsg(q->db));
		rc = VEX_EIO;
		goto out;
	}
	rc = pg_do(p, "BEGIN", 0, NULL, NULL, "begin", err, errlen);
	if (rc == 0)
		rc = check_empty(p, err, errlen);
	/* The rows come as they are: no trigger adds events, tallies or minute stats of its own. The lock keeps
	 * any vex program already on this database out until the copy commits. */
	if (rc == 0)
		rc = pg_do(p, "LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE", 0, NULL, NULL, "lock the jobs table", err,
			   errlen);
	if (rc == 0)
		rc = pg_do(p, "ALTER TABLE jobs DISABLE TRIGGER USER", 0, NULL, NULL, "pause the jobs triggers", err,
			   errlen);
	if (rc == 0)
		rc = pg_do(p, "DELETE FROM event_cursors", 0, NULL, NULL, "clear the event cursors", err, errlen);
	if (rc == 0)
		rc = pg_do(p, "DELETE FROM job_tally", 0, NULL, NULL, "clear the job tally", err, errlen);
	if (rc == 0)
		rc = pg_do(p, "DELETE FROM job_minute_stats", 0, NULL, NULL, "clear the minute stats", err, errlen);
	for (size_t i = 0; rc == 0 && i < N_TABLES; i++) {
		rc = copy_table(q, p, tables[i], &rows, err, errlen);
		if (rc == 0)
			rc = check_count(p, tables[i], rows, err, errlen);
		if (rc == 0 && fn)
			fn(arg, tables[i], rows);
	}
	if (rc == 0)
		rc = pg_do(p, "ALTER TABLE jobs ENABLE TRIGGER USER", 0, NULL, NULL, "resume the jobs triggers", err,
			   errlen);
	/* New events are numbered after the last one copied. */
	if (rc == 0)
		rc = pg_do(p,
			   "SELECT setval(pg_get_serial_sequence('job_events', 'seq'),"
			   " COALESCE((SELECT MAX(seq) FROM job_events), 1), (SELECT MAX(seq) FROM job_events) IS NOT NULL)",
			   0, NULL, NULL, "continue the event numbering", err, errlen);
	if (rc == 0)
		rc = pg_do(p, "COMMIT", 0, NULL, NULL, "commit", err, errlen);
	if (rc)
		vex_pg_rollback(p);
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
out:
	vex_pg_free(p);
	vex_sqlite_free(q);
	return rc;
}
