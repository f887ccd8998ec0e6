/* db.c - PostgreSQL store: connecting, reconnecting with backoff, and applying migrations.c's list. */
#include "core/store/postgres/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"

/* Seconds libpq may spend reaching the server when the URL names none: with the server away, a request
 * waits this long at most, and only once per backoff period. */
#define PG_CONNECT_TIMEOUT "3"
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
/* The advisory lock that serialises migrations ("vex_migr"): the same key in every vex process. */
#define PG_MIGRATE_LOCK INT64_C(0x7665785f6d696772)

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Format into "err" (may be NULL), without the trailing newline libpq's messages end with. */
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r' || err[n - 1] == ' '))
		err[--n] = '\0';
}

static const char *opt_value(const PQconninfoOption *o, const char *keyword)
{
	for (; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val;
	return NULL;
}

/*
 * Log "msg" with where the store is: host, dbname and user as "url" gives them, never the URL itself,
 * which may carry a password. "error" may be NULL.
 */
static void log_store(int level, const char *msg, const char *url, const char *error)
{
	PQconninfoOption *o = PQconninfoParse(url, NULL);
	const char *host = opt_value(o, "host"), *db = opt_value(o, "dbname"), *user = opt_value(o, "user");

	/* A NULL key ends the pairs: without an error the line stops before it. */
	vex_log(level, msg, "host", host ? host : "", "dbname", db ? db : "", "user", user ? user : "",
		error ? "error" : NULL, error, NULL);
	PQconninfoFree(o);
}

/* Notices the server still sends (client_min_messages = warning) go to the JSON log, not raw to stderr. */
static void log_notice(void *arg, const char *message)
{
	char msg[1024];

	(void)arg;
	errf(msg, sizeof(msg), "%s", message);
	vex_log(VEX_LOG_WARN, "store notice", "message", msg, NULL);
}

/*
 * A new connection to "url" with vex's session settings. 0 with *ret; VEX_EINVAL when libpq cannot parse
 * "url" (libpq's own message is not kept: it may quote the whole URL, password included) or it sets an
 * option to nothing; VEX_EIO with libpq's message in "err"; VEX_ENOMEM.
 */
static int pg_connect(const char *url, int statement_timeout_ms, PGconn **ret, char *err, size_t errlen)
{
	PQconninfoOption *opts = NULL, *o;
	const char **keys = NULL, **vals = NULL;
	char *perr = NULL, sql[128];
	PGconn *c = NULL;
	PGresult *r = NULL;
	size_t n = 0;
	int rc = VEX_EINVAL, has_timeout = 0;

	opts = PQconninfoParse(url, &perr);
	if (!opts) {
		rc = perr ? VEX_EINVAL : VEX_ENOMEM;
		errf(err, errlen, "%s", perr ? "the store URL cannot be parsed" : "out of memory");
		goto out;
	}
	for (o = opts; o->keyword; o++)
		n++;
	keys = calloc(n + 2, sizeof(*keys));
	vals = calloc(n + 2, sizeof(*vals));
	if (!keys || !vals) {
		rc = VEX_ENOMEM;
		errf(err, errlen, "out of memory");
		goto out;
	}
	n = 0;
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		/* libpq reads "host=" as its default: far likelier a configuration mistake (a variable left
		 * unset) than a wish, so it is refused rather than connected somewhere else. */
		if (!*o->val) {
			errf(err, errlen, "the store URL sets %s to nothing", o->keyword);
			goto out;
		}
		if (strcmp(o->keyword, "connect_timeout") == 0)
			has_timeout = 1;
		keys[n] = o->keyword;
		vals[n++] = o->val;
	}
	if (!has_timeout) {
		keys[n] = "connect_timeout";
		vals[n++] = PG_CONNECT_TIMEOUT;
	}
	/* The parsed options as arrays: a timeout added without editing the caller's string. */
	c = PQconnectdbParams(keys, vals, 0);
	if (!c) {
		rc = VEX_ENOMEM;
		errf(err, errlen, "out of memory");
		goto out;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		rc = VEX_EIO;
		errf(err, errlen, "%s", PQerrorMessage(c));
		goto out;
	}
	PQsetNoticeProcessor(c, log_notice, NULL);
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; SET client_min_messages = warning",
		 statement_timeout_ms);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = VEX_EIO;
		errf(err, errlen, "%s", PQerrorMessage(c));
		goto out;
	}
	*ret = c;
	c = NULL;
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	free(keys);
	free(vals);
	PQconninfoFree(opts);
	PQfreemem(perr);
	return rc;
}

/* The server is away: said once per outage, when it is first noticed. */
static void pg_lost(struct vex_pg *p, const char *error)
{
	if (p->warned)
		return;
	p->warned = 1;
	log_store(VEX_LOG_WARN, "store unreachable", p->url, error);
}

int vex_pg_open(const char *url, int statement_timeout_ms, struct vex_pg **ret)
{
	struct vex_pg *p = NULL;
	char err[1024] = "";
	int rc;

	if (!url || !ret || statement_timeout_ms < 0)
		return VEX_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return VEX_ENOMEM;
	p->base.kind = VEX_STORE_POSTGRES;
	p->statement_timeout_ms = statement_timeout_ms;
	p->backoff_ms = PG_BACKOFF_MIN_MS;
	p->url = strdup(url);
	if (!p->url) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = pg_connect(p->url, statement_timeout_ms, &p->c, err, sizeof(err));
	if (rc) {
		log_store(VEX_LOG_ERROR, "cannot connect to the store", p->url, err);
		goto out;
	}
	rc = vex_pg_migrate(p->c, err, sizeof(err));
	if (rc) {
		log_store(VEX_LOG_ERROR, "store migration failed", p->url, err);
		goto out;
	}
	*ret = p;
	p = NULL;
out:
	vex_pg_free(p);
	return rc;
}

void vex_pg_free(struct vex_pg *p)
{
	if (!p)
		return;
	PQfinish(p->c);
	/* The URL may hold a password: not left behind in freed memory. */
	if (p->url)
		OPENSSL_cleanse(p->url, strlen(p->url));
	free(p->url);
	free(p);
}

int vex_pg_ready(struct vex_pg *p)
{
	char err[1024] = "";
	int rc;

	if (p->c && PQstatus(p->c) != CONNECTION_BAD)
		return 0;
	PQfinish(p->c);
	p->c = NULL;
	if (vex_mono_us() < p->retry_mono_us)
		return VEX_EUNAVAIL;
	rc = pg_connect(p->url, p->statement_timeout_ms, &p->c, err, sizeof(err));
	if (rc) {
		pg_lost(p, err);
		/* Counted from the attempt's end, so a slow connect_timeout does not use up the wait. */
		p->retry_mono_us = vex_mono_us() + (int64_t)p->backoff_ms * 1000;
		p->backoff_ms = p->backoff_ms >= PG_BACKOFF_MAX_MS / 2 ? PG_BACKOFF_MAX_MS : p->backoff_ms * 2;
		return rc == VEX_ENOMEM ? rc : VEX_EUNAVAIL;
	}
	p->backoff_ms = PG_BACKOFF_MIN_MS;
	p->retry_mono_us = 0;
	if (p->warned) {
		p->warned = 0;
		log_store(VEX_LOG_INFO, "store reachable again", p->url, NULL);
	}
	return 0;
}

int vex_pg_ping(struct vex_pg *p)
{
	PGresult *r = NULL;
	char err[1024];
	int rc = vex_pg_ready(p);

	if (rc)
		return rc;
	r = PQexec(p->c, "SELECT 1");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = VEX_EIO;
		/* A dead connection is dropped: the next call reconnects (vex_pg_ready). */
		if (PQstatus(p->c) == CONNECTION_BAD) {
			rc = VEX_EUNAVAIL;
			errf(err, sizeof(err), "%s", PQerrorMessage(p->c));
			pg_lost(p, err);
			PQfinish(p->c);
			p->c = NULL;
		}
	}
	PQclear(r);
	return rc;
}

/* Run "sql" (one or more statements) for its effect. 0 or VEX_EIO with libpq's message in "err". */
static int exec_cmd(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		errf(err, errlen, "%s", PQerrorMessage(c));
		rc = VEX_EIO;
	}
	PQclear(r);
	return rc;
}

/* vex_schema's one row into *ret. VEX_EIO (message in "err") for an error, no row, several, or a bad value. */
static int read_version(PGconn *c, int *ret, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT version FROM vex_schema");
	const char *s;
	char *end;
	long v;
	int rc = VEX_EIO;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		errf(err, errlen, "%s", PQerrorMessage(c));
		goto out;
	}
	if (PQntuples(r) != 1) {
		errf(err, errlen, "vex_schema holds %d rows instead of one", PQntuples(r));
		goto out;
	}
	s = PQgetvalue(r, 0, 0);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX) {
		errf(err, errlen, "vex_schema holds no valid version");
		goto out;
	}
	*ret = (int)v;
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/*
 * All in one transaction: the advisory lock makes processes that start together wait for the first, which
 * then leaves them nothing to apply; any failure rolls every step back.
 */
int vex_pg_migrate(PGconn *c, char *err, size_t errlen)
{
	char sql[128], why[1024] = "";
	int rc, version = 0, i;

	rc = exec_cmd(c, "BEGIN", err, errlen);
	if (rc)
		goto out;
	/* Local to the transaction: an upgrade of a big table is not cut short by the statement_timeout meant
	 * for requests, and CREATE TABLE IF NOT EXISTS on an existing table sends no notice. */
	rc = exec_cmd(c, "SET LOCAL statement_timeout = 0; SET LOCAL client_min_messages = warning", err, errlen);
	if (rc)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%" PRId64 ")", (int64_t)PG_MIGRATE_LOCK);
	rc = exec_cmd(c, sql, err, errlen);
	if (rc)
		goto out;
	rc = exec_cmd(c, "CREATE TABLE IF NOT EXISTS vex_schema (version integer NOT NULL)", err, errlen);
	if (rc)
		goto out;
	rc = exec_cmd(c, "INSERT INTO vex_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM vex_schema)",
		      err, errlen);
	if (rc)
		goto out;
	rc = read_version(c, &version, err, errlen);
	if (rc)
		goto out;
	if (version > vex_pg_migration_count) {
		errf(err, errlen, "database schema %d is newer than this program's %d", version,
		     vex_pg_migration_count);
		rc = VEX_EINVAL;
		goto out;
	}
	for (i = version; i < vex_pg_migration_count; i++) {
		rc = exec_cmd(c, vex_pg_migrations[i], why, sizeof(why));
		if (rc) {
			errf(err, errlen, "migration %d: %s", i + 1, why);
			goto out;
		}
	}
	/* Nothing applied, nothing written: a second open leaves the database as it was. */
	if (version < vex_pg_migration_count) {
		snprintf(sql, sizeof(sql), "UPDATE vex_schema SET version = %d", vex_pg_migration_count);
		rc = exec_cmd(c, sql, err, errlen);
		if (rc)
			goto out;
	}
	rc = exec_cmd(c, "COMMIT", err, errlen);
out:
	if (rc && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int vex_pg_schema_version(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('vex_schema') IS NOT NULL");
	char err[256];
	int rc = VEX_EIO, version = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		goto out;
	/* No table yet: an empty database, schema 0. */
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		rc = 0;
		goto out;
	}
	rc = read_version(c, &version, err, sizeof(err));
	if (rc == 0)
		rc = version;
out:
	PQclear(r);
	return rc;
}

int vex_pg_url(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

int vex_pg_version(struct vex_pg *p)
{
	int rc = vex_pg_ready(p);

	return rc ? rc : vex_pg_schema_version(p->c);
}

/* The VEX code of a statement the server refused, by the class of its SQLSTATE, as SQLite's codes map
 * (core/store/sqlite/db.c): a unique key VEX_EEXIST, a foreign key VEX_ENOTFOUND, another constraint (check,
 * not null) VEX_EINVAL, a timeout, lock wait or serialization failure
 * VEX_EBUSY, the server shutting down or the connection failing VEX_EUNAVAIL, anything else VEX_EIO; and text the
 * database cannot hold (not UTF-8: SQLite keeps any bytes)
 * VEX_EINVAL, the caller's fault rather than the store's. */
static int refused_code(const PGresult *r)
{
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (!st)
		return VEX_EIO;
	/* The server going away under the statement: shutting down (57P01..57P03) or a connection fault (08). */
	if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
	    strcmp(st, "57P03") == 0)
		return VEX_EUNAVAIL;
	if (strcmp(st, "23505") == 0)
		return VEX_EEXIST;
	if (strcmp(st, "23503") == 0)
		return VEX_ENOTFOUND;
	if (strncmp(st, "23", 2) == 0)
		return VEX_EINVAL;
	if (strcmp(st, "22021") == 0 || strcmp(st, "22P05") == 0)
		return VEX_EINVAL;
	if (strcmp(st, "57014") == 0 || strcmp(st, "55P03") == 0 || strcmp(st, "40001") == 0 ||
	    strcmp(st, "40P01") == 0)
		return VEX_EBUSY;
	return VEX_EIO;
}

int vex_pg_exec(struct vex_pg *p, const char *sql, int n, const char *const *vals, PGresult **ret)
{
	PGresult *r;
	ExecStatusType st;
	char err[1024];
	int rc = vex_pg_ready(p);

	if (rc)
		return rc;
	r = PQexecParams(p->c, sql, n, NULL, vals, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (ret)
			*ret = r;
		else
			PQclear(r);
		return 0;
	}
	if (PQstatus(p->c) == CONNECTION_BAD) {
		/* A dead connection is dropped: the next call reconnects (vex_pg_ready). */
		errf(err, sizeof(err), "%s", PQerrorMessage(p->c));
		pg_lost(p, err);
		PQfinish(p->c);
		p->c = NULL;
		rc = VEX_EUNAVAIL;
	} else {
		rc = refused_code(r);
		/* The message names the statement's fault, never its parameters. */
		if (rc == VEX_EIO) {
			errf(err, sizeof(err), "%s", PQresultErrorMessage(r));
			vex_log(VEX_LOG_ERROR, "store statement failed", "error", err, NULL);
		}
	}
	PQclear(r);
	return rc;
}

const char *vex_pg_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

int64_t vex_pg_get_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}
