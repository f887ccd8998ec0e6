/* test_pg_store.c - the PostgreSQL store's connection: migrations (idempotent, concurrent, newer refused, rolled
 * back), bad URLs, an unreachable server without its password in the log, a server that goes away and returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_explain.h"

#define PG_CLUSTER "tools/pg-cluster" /* the tests run from the repository's root */

static const char *base_url;     /* VEX_TEST_PG_URL: a database of a cluster where we are superuser */
static int db_seq;               /* numbers this process's databases */
static char db_name[64];         /* the running test's own database */
static char db_url[4096];        /* its conninfo string, for vex_pg_open */
static struct vex_pg *pg;        /* the running test's store, freed by teardown when an assertion stops it */
static PGconn *raw;              /* a plain connection to check behind the store's back, freed by teardown */
static char pg2_dir[64];         /* the second cluster of the outage test */
static char pg2_url[1024];
static int cap_fd = -1, saved_stderr = -1; /* the log (stderr) goes to cap_fd between cap_on and cap_off */

static void cap_on(void)
{
	dup2(cap_fd, STDERR_FILENO);
}

static void cap_off(void)
{
	dup2(saved_stderr, STDERR_FILENO);
}

static void cap_reset(void)
{
	assert_int_equal(ftruncate(cap_fd, 0), 0);
	assert_true(lseek(cap_fd, 0, SEEK_SET) == 0);
}

/* What was logged since cap_reset; the caller frees. */
static char *captured(void)
{
	off_t end = lseek(cap_fd, 0, SEEK_END);
	char *buf;

	assert_true(end >= 0);
	buf = malloc((size_t)end + 1);
	assert_non_null(buf);
	assert_int_equal(pread(cap_fd, buf, (size_t)end, 0), end);
	buf[end] = '\0';
	return buf;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void append(char *out, size_t cap, size_t *len, char ch)
{
	assert_true(*len + 1 < cap);
	out[(*len)++] = ch;
	out[*len] = '\0';
}

/*
 * The options of VEX_TEST_PG_URL with dbname set to "db": as keyword/value arrays (connect_db) or as a conninfo
 * string of quoted values (vex_pg_open takes a string), both built from libpq's parse, never from the URL text.
 * "keys" and "vals" hold "cap" entries; the option values stay owned by *ret_opts.
 */
static void db_options(const char *db, const char **keys, const char **vals, size_t cap, PQconninfoOption **ret_opts)
{
	PQconninfoOption *opts = PQconninfoParse(base_url, NULL), *o;
	size_t n = 0;

	assert_non_null(opts);
	for (o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "dbname") == 0)
			continue;
		assert_true(n + 2 < cap);
		keys[n] = o->keyword;
		vals[n++] = o->val;
	}
	keys[n] = "dbname";
	vals[n++] = db;
	keys[n] = NULL;
	vals[n] = NULL;
	*ret_opts = opts;
}

static void db_conninfo(const char *db, char *out, size_t cap)
{
	const char *keys[128], *vals[128];
	PQconninfoOption *opts = NULL;
	size_t len = 0;

	out[0] = '\0';
	db_options(db, keys, vals, 128, &opts);
	for (size_t i = 0; keys[i]; i++) {
		for (const char *k = keys[i]; *k; k++)
			append(out, cap, &len, *k);
		append(out, cap, &len, '=');
		append(out, cap, &len, '\'');
		for (const char *v = vals[i]; *v; v++) {
			if (*v == '\'' || *v == '\\')
				append(out, cap, &len, '\\');
			append(out, cap, &len, *v);
		}
		append(out, cap, &len, '\'');
		append(out, cap, &len, ' ');
	}
	PQconninfoFree(opts);
}

static PGconn *connect_db(const char *db)
{
	const char *keys[128], *vals[128];
	PQconninfoOption *opts = NULL;
	PGconn *c;

	db_options(db, keys, vals, 128, &opts);
	c = PQconnectdbParams(keys, vals, 0);
	PQconninfoFree(opts);
	assert_non_null(c);
	if (PQstatus(c) != CONNECTION_OK) {
		char why[512];

		snprintf(why, sizeof(why), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("cannot connect to database %s: %s", db, why);
	}
	return c;
}

/* Run "sql" on "c"; a message and -1 when it fails (usable in setup and teardown). */
static int run_sql(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		print_error("%s: %s", sql, PQerrorMessage(c));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* "sql" on the URL's own database (CREATE/DROP DATABASE). */
static int admin_sql(const char *sql)
{
	PGconn *c = PQconnectdb(base_url);
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK)
		print_error("cannot connect to VEX_TEST_PG_URL: %s", PQerrorMessage(c));
	else
		rc = run_sql(c, sql);
	PQfinish(c);
	return rc;
}

static void exec_ok(PGconn *c, const char *sql)
{
	assert_int_equal(run_sql(c, sql), 0);
}

/* The first column of the first row as text ("" for none); the caller frees. */
static char *query_text(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *s;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char why[512];

		snprintf(why, sizeof(why), "%s", PQerrorMessage(c));
		PQclear(r);
		fail_msg("%s: %s", sql, why);
	}
	s = strdup(PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	assert_non_null(s);
	return s;
}

static void expect_text(PGconn *c, const char *sql, const char *want)
{
	char *got = query_text(c, sql);

	if (strcmp(got, want) != 0) {
		char copy[512];

		snprintf(copy, sizeof(copy), "%s", got);
		free(got);
		fail_msg("%s: \"%s\", expected \"%s\"", sql, copy, want);
	}
	free(got);
}

/* Every relation outside the system schemas with its kind, columns and catalog row version, and vex_schema's row
 * with its row version: any DDL or write a migration run makes changes this text. The caller frees. */
static char *fingerprint(PGconn *c)
{
	return query_text(c, "SELECT coalesce((SELECT string_agg(c.relname::text || '.' || c.relkind::text || '.' || c.xmin::text || '.'"
			     " || (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid), ',' ORDER BY c.relname)"
			     " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
			     " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')), '')"
			     " || ' ' || coalesce((SELECT string_agg(version || '@' || xmin::text, ',') FROM vex_schema), '')"
			     " || ' ' || (SELECT count(*) FROM pg_trigger) || ' ' || (SELECT count(*) FROM pg_proc)");
}

static int group_setup(void **state)
{
	char path[] = "/tmp/vex-pg-log-XXXXXX";

	(void)state;
	base_url = getenv("VEX_TEST_PG_URL");
	if (!base_url || !*base_url) {
		print_error("test_pg_store: VEX_TEST_PG_URL is not set: run it through tools/run-unit (make test-unit), or "
			    "start a cluster with `d=$(mktemp -d); tools/pg-cluster start $d` and export the URL it prints\n");
		return -1;
	}
	cap_fd = mkostemp(path, O_CLOEXEC);
	if (cap_fd < 0)
		return -1;
	unlink(path);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	return saved_stderr < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (cap_fd >= 0)
		close(cap_fd);
	if (saved_stderr >= 0)
		close(saved_stderr);
	return 0;
}

/* A fresh database of this test's own. */
static int setup_db(void **state)
{
	char sql[128];

	(void)state;
	snprintf(db_name, sizeof(db_name), "vex_s_%ld_%d", (long)getpid(), ++db_seq);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db_name);
	if (admin_sql(sql) != 0)
		return -1;
	db_conninfo(db_name, db_url, sizeof(db_url));
	return 0;
}

static int teardown_db(void **state)
{
	char sql[128];

	(void)state;
	cap_off();
	vex_pg_free(pg);
	pg = NULL;
	PQfinish(raw);
	raw = NULL;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db_name);
	return admin_sql(sql);
}

static void test_open_fresh(void **state)
{
	char *before, *after;

	(void)state;
	assert_true(vex_pg_migration_count > 0);
	raw = connect_db(db_name);
	assert_int_equal(vex_pg_schema_version(raw), 0);
	assert_int_equal(vex_pg_open(db_url, 5000, &pg), 0);
	assert_non_null(pg);
	assert_int_equal(pg->base.kind, VEX_STORE_POSTGRES);
	assert_int_equal(vex_pg_schema_version(pg->c), vex_pg_migration_count);
	assert_int_equal(vex_pg_schema_version(raw), vex_pg_migration_count);
	assert_int_equal(vex_pg_ping(pg), 0);
	assert_int_equal(vex_pg_ready(pg), 0);
	expect_text(pg->c, "SHOW statement_timeout", "5s");
	expect_text(pg->c, "SHOW client_min_messages", "warning");
	expect_text(raw, "SELECT count(*) FROM vex_schema", "1");

	/* A second open (a restart) finds nothing to do and writes nothing. */
	before = fingerprint(raw);
	vex_pg_free(pg);
	pg = NULL;
	assert_int_equal(vex_pg_open(db_url, 0, &pg), 0);
	assert_int_equal(vex_pg_schema_version(pg->c), vex_pg_migration_count);
	expect_text(pg->c, "SHOW statement_timeout", "0");
	after = fingerprint(raw);
	assert_string_equal(before, after);
	free(before);
	free(after);
	vex_pg_free(NULL);
}

/* The running test's database as a postgresql:// URL (what [store] url holds) in "url". */
static void test_db_url(char *url, size_t cap)
{
	PQconninfoOption *opts = PQconninfoParse(base_url, NULL);
	const char *user = NULL, *host = NULL;

	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
	}
	assert_non_null(user);
	assert_non_null(host);
	snprintf(url, cap, "postgresql://%s@/%s?host=%s", user, db_name, host);
	PQconninfoFree(opts);
}

/* A plan row, for the one function without a PostgreSQL body: none may come. */
static int explain_row(void *arg, const char *sql, const char *detail)
{
	(void)arg;
	fail_msg("a plan on PostgreSQL: %s: %s", sql, detail);
	return -1;
}

/* The store interface opens a postgresql:// URL as a PostgreSQL store: ping, the schema version, free and
 * the runner and pause functions go to this backend; a function it does not have yet answers VEX_EIO and writes
 * nothing. */
static void test_store_interface(void **state)
{
	struct vex_store *s = NULL;
	char url[1024], *log;
	int64_t count = 0;

	(void)state;
	assert_true(vex_pg_url(base_url));
	test_db_url(url, sizeof(url));
	assert_true(vex_pg_url(url));
	assert_false(vex_pg_url("/var/lib/vex/vex.db"));
	assert_false(vex_pg_url("host=/tmp dbname=vex"));

	assert_int_equal(vex_store_open(url, 2, 5000, &s), 0);
	assert_int_equal(vex_store_ping(s), 0);
	assert_int_equal(vex_store_schema_version(s), vex_pg_migration_count);
	cap_reset();
	cap_on();
	assert_int_equal(vex_store_explain(s, explain_row, NULL), VEX_EIO);
	cap_off();
	log = captured();
	assert_int_equal(count_of(log, "not available on PostgreSQL yet"), 1);
	assert_non_null(strstr(log, "vex_store_explain"));
	free(log);
	raw = connect_db(db_name);
	expect_text(raw, "SELECT count(*) FROM webhook_deliveries", "0");
	/* What the backend has answers: the runner functions (store_runners.c), paused claiming (store_pauses.c). */
	assert_int_equal(vex_store_runner_beat(s, "r1", 42, 1000), 0);
	assert_int_equal(vex_store_runner_last_beat(s, &count), 0);
	assert_true(count == 1000);
	expect_text(raw, "SELECT count(*) FROM runners", "1");
	assert_int_equal(vex_store_claim_pause(s, "echo", "operator", 1000), 0);
	expect_text(raw, "SELECT paused_by FROM claim_pauses WHERE tool = 'echo'", "operator");
	vex_store_free(s);
}

/* vex_pg_exec maps what the server refuses as SQLite's codes are mapped, and never logs a parameter. */
static void test_exec_codes(void **state)
{
	const char *v[3] = { "r-exec", "1", "2" };
	const char *secret[1] = { "s3cret-param" };
	PGresult *r = NULL;
	char *log;

	(void)state;
	assert_int_equal(vex_pg_open(db_url, 300, &pg), 0);
	assert_int_equal(vex_pg_exec(pg, "INSERT INTO runners(id, pid, beat_at) VALUES ($1, $2, $3)", 3, v, NULL), 0);
	assert_int_equal(vex_pg_exec(pg, "INSERT INTO runners(id, pid, beat_at) VALUES ($1, $2, $3)", 3, v, NULL),
			 VEX_EEXIST);
	assert_int_equal(vex_pg_exec(pg, "SELECT pg_sleep(2)", 0, NULL, NULL), VEX_EBUSY); /* statement_timeout */
	cap_reset();
	cap_on();
	assert_int_equal(vex_pg_exec(pg, "SELECT no_such_column FROM runners WHERE id = $1", 1, secret, NULL), VEX_EIO);
	cap_off();
	log = captured();
	assert_non_null(strstr(log, "store statement failed"));
	assert_null(strstr(log, "s3cret-param"));
	free(log);
	/* Text the database cannot hold (not UTF-8): the caller's fault, VEX_EINVAL, and nothing logged. */
	secret[0] = "s3cret\xff";
	cap_reset();
	cap_on();
	assert_int_equal(vex_pg_exec(pg, "SELECT pid FROM runners WHERE id = $1", 1, secret, NULL), VEX_EINVAL);
	cap_off();
	log = captured();
	assert_null(strstr(log, "store statement failed"));
	free(log);
	/* The connection is still good after each refusal. */
	assert_int_equal(vex_pg_exec(pg, "SELECT pid FROM runners WHERE id = $1", 1, v, &r), 0);
	assert_int_equal(PQntuples(r), 1);
	assert_true(vex_pg_get_i64(r, 0, 0) == 1);
	PQclear(r);
}

/* A new job of the given id, a tool job of "alice" (the caller frees it). */
static struct vex_job *tool_job(const char *id, const char *idem)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{\"x\":1}");
	j->max_attempts = 1;
	j->idempotency_key = idem ? strdup(idem) : NULL;
	j->request_hash = idem ? strdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") : NULL;
	return j;
}

/*
 * Job events become visible in seq order: a transaction that wrote an event (here a plain connection's insert
 * of another owner's job, left open: no row of a tally or a cap is shared) holds the jobs lock, so a job write
 * through the store waits for it (here past its statement
 * timeout: VEX_EBUSY, nothing written) instead of committing a later seq first, which a reader of
 * "seq > cursor" would pass before the earlier one appears. Inserts are idempotent under that lock.
 */
static void test_jobs_lock_orders_events(void **state)
{
	struct vex_job *a = tool_job("j-b", NULL), *b = tool_job("j-c", "key-1"), *got = NULL, *again = NULL;
	int created = -1;

	(void)state;
	assert_int_equal(vex_pg_open(db_url, 300, &pg), 0);
	raw = connect_db(db_name);
	exec_ok(raw, "BEGIN");
	exec_ok(raw, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
		     " VALUES ('j-a', 'carol', 'free', 'tool', 'echo', '{}', 'queued', 1, 1)");
	assert_int_equal(vex_store_job_insert(&pg->base, a, &got, &created), VEX_EBUSY);
	assert_null(got);
	exec_ok(raw, "COMMIT");
	expect_text(raw, "SELECT count(*) FROM jobs WHERE id = 'j-b'", "0");

	assert_int_equal(vex_store_job_insert(&pg->base, a, &got, &created), 0);
	assert_int_equal(created, 1);
	vex_job_free(got);
	expect_text(raw, "SELECT string_agg(job_id, ',' ORDER BY seq) FROM job_events", "j-a,j-b");

	/* The same idempotency key again answers the stored job, created 0, and stores nothing. */
	got = NULL;
	assert_int_equal(vex_store_job_insert(&pg->base, b, &got, &created), 0);
	assert_int_equal(created, 1);
	vex_job_free(got);
	got = NULL;
	snprintf(b->id, sizeof(b->id), "j-d");
	assert_int_equal(vex_store_job_insert(&pg->base, b, &again, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(again->id, "j-c");
	assert_string_equal(again->idempotency_key, "key-1");
	assert_int_equal(again->status, VEX_JOB_QUEUED);
	expect_text(raw, "SELECT count(*) FROM jobs WHERE id = 'j-d'", "0");
	vex_job_free(again);
	again = NULL;
	/* Read back: only by its owner. */
	assert_int_equal(vex_store_job_get(&pg->base, "j-c", "alice", &again), 0);
	assert_string_equal(again->tool, "echo");
	assert_string_equal(again->input_json, "{\"x\":1}");
	assert_true(again->rev == 1);
	assert_int_equal(vex_store_job_get(&pg->base, "j-c", "bob", &got), VEX_ENOTFOUND);
	vex_job_free(again);
	vex_job_free(a);
	vex_job_free(b);
}

/* Wait up to "ms" for input on the wake-ups' descriptor: 1 when some came. */
static int wake_input(const struct vex_store_wake *w, int ms)
{
	struct pollfd pfd = { .fd = vex_store_wake_fd(w), .events = POLLIN };

	assert_true(pfd.fd >= 0);
	return poll(&pfd, 1, ms) == 1;
}

/* Wake-ups: a committed new job, or one given back to the queue, notifies every listener (any host); a
 * rolled-back insert, a job's progress or its start do not. SQLite has none. */
static void test_wake_ups(void **state)
{
	struct vex_job *a = tool_job("j-w1", NULL), *got = NULL;
	struct vex_store_wake *w = NULL, *none = (struct vex_store_wake *)1;
	char url[1024];
	int created = 0, n;

	(void)state;
	assert_int_equal(vex_store_wake_open("/nonexistent/vex.db", &none), 0);
	assert_null(none);
	assert_int_equal(vex_store_wake_fd(NULL), -1);
	assert_int_equal(vex_store_wake_drain(NULL), 0);
	vex_store_wake_free(NULL);

	assert_int_equal(vex_pg_open(db_url, 5000, &pg), 0);
	raw = connect_db(db_name);
	test_db_url(url, sizeof(url));
	assert_int_equal(vex_store_wake_open(url, &w), 0);
	assert_non_null(w);
	assert_int_equal(vex_store_wake_drain(w), 0);

	assert_int_equal(vex_store_job_insert(&pg->base, a, &got, &created), 0);
	vex_job_free(got);
	assert_true(wake_input(w, 5000));
	n = vex_store_wake_drain(w);
	assert_int_equal(n, 1);

	/* Nothing for a transaction that did not commit, nor for changes that queue nothing. */
	exec_ok(raw, "BEGIN");
	exec_ok(raw, "INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, updated_at)"
		     " VALUES ('j-w2', 'alice', 'free', 'tool', 'echo', '{}', 'queued', 1, 1)");
	exec_ok(raw, "ROLLBACK");
	exec_ok(raw, "UPDATE jobs SET status = 'running', rev = rev + 1 WHERE id = 'j-w1'");
	exec_ok(raw, "UPDATE jobs SET progress_pct = 50, rev = rev + 1 WHERE id = 'j-w1'");
	assert_false(wake_input(w, 300));
	assert_int_equal(vex_store_wake_drain(w), 0);
	/* Given back to the queue: a wake-up. */
	exec_ok(raw, "UPDATE jobs SET status = 'queued', rev = rev + 1 WHERE id = 'j-w1'");
	assert_true(wake_input(w, 5000));
	assert_int_equal(vex_store_wake_drain(w), 1);
	vex_store_wake_free(w);
	vex_job_free(a);
}

/* Processes starting together on a new database: each opens it, the migrations run once. */
static void test_concurrent_first_open(void **state)
{
	enum { N = 4 };
	pid_t pids[N];
	int gate[2], i, status;

	(void)state;
	/* No connection of ours is open here: none may cross fork(). */
	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_pg *p = NULL;
			char c;
			int ok;

			close(gate[1]);
			/* Wait until the parent closes the pipe: all children start at once. */
			if (read(gate[0], &c, 1) < 0)
				_exit(3);
			ok = vex_pg_open(db_url, 10000, &p) == 0 && vex_pg_schema_version(p->c) == vex_pg_migration_count &&
			     vex_pg_ping(p) == 0;
			vex_pg_free(p);
			_exit(ok ? 0 : 1);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	raw = connect_db(db_name);
	assert_int_equal(vex_pg_schema_version(raw), vex_pg_migration_count);
	expect_text(raw, "SELECT count(*) FROM vex_schema", "1");
}

static void test_newer_schema_refused(void **state)
{
	struct vex_pg *p = NULL;
	char sql[96], err[256] = "", want[128];
	char *before, *after;

	(void)state;
	assert_int_equal(vex_pg_open(db_url, 5000, &pg), 0);
	vex_pg_free(pg);
	pg = NULL;
	raw = connect_db(db_name);
	snprintf(sql, sizeof(sql), "UPDATE vex_schema SET version = %d", vex_pg_migration_count + 1);
	exec_ok(raw, sql);
	before = fingerprint(raw);
	cap_on();
	assert_int_equal(vex_pg_open(db_url, 5000, &p), VEX_EINVAL);
	cap_off();
	assert_null(p);

	/* Directly: the message says why, nothing changed, no transaction left open. */
	assert_int_equal(vex_pg_migrate(raw, err, sizeof(err)), VEX_EINVAL);
	snprintf(want, sizeof(want), "database schema %d is newer than this program's %d", vex_pg_migration_count + 1,
		 vex_pg_migration_count);
	assert_string_equal(err, want);
	assert_int_equal(PQtransactionStatus(raw), PQTRANS_IDLE);
	assert_int_equal(vex_pg_schema_version(raw), vex_pg_migration_count + 1);
	after = fingerprint(raw);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/*
 * A failure after every migration ran (the version's UPDATE, refused by a trigger of ours) takes all of them
 * back: the database is as it was, and a later run applies the whole list.
 */
static void test_migration_failure_rolls_back(void **state)
{
	char err[512] = "", *before, *after;

	(void)state;
	raw = connect_db(db_name);
	exec_ok(raw, "CREATE TABLE vex_schema (version integer NOT NULL)");
	exec_ok(raw, "INSERT INTO vex_schema VALUES (0)");
	exec_ok(raw, "CREATE FUNCTION vex_test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
		     " $$BEGIN RAISE EXCEPTION 'vex test refuses the update'; END$$");
	exec_ok(raw, "CREATE TRIGGER vex_test_refuse BEFORE UPDATE ON vex_schema"
		     " FOR EACH ROW EXECUTE FUNCTION vex_test_refuse()");
	before = fingerprint(raw);
	assert_int_equal(vex_pg_migrate(raw, err, sizeof(err)), VEX_EIO);
	assert_non_null(strstr(err, "vex test refuses the update"));
	assert_true(err[0] != '\0' && err[strlen(err) - 1] != '\n');
	assert_int_equal(PQtransactionStatus(raw), PQTRANS_IDLE);
	after = fingerprint(raw);
	assert_string_equal(before, after);
	assert_int_equal(vex_pg_schema_version(raw), 0);
	free(before);
	free(after);

	exec_ok(raw, "DROP TRIGGER vex_test_refuse ON vex_schema");
	assert_int_equal(vex_pg_migrate(raw, err, sizeof(err)), 0);
	assert_int_equal(vex_pg_schema_version(raw), vex_pg_migration_count);
}

static void test_open_bad_arguments(void **state)
{
	struct vex_pg *p = NULL;

	(void)state;
	assert_int_equal(vex_pg_open(NULL, 5000, &p), VEX_EINVAL);
	assert_int_equal(vex_pg_open("host=/nonexistent-dir", -1, &p), VEX_EINVAL);
	assert_null(p);
}

/* Bad URLs are refused before any connection; an unreachable server is VEX_EIO; no password reaches the log. */
static void test_bad_and_unreachable_urls(void **state)
{
	static const char *const bad[] = {
		"postgresql://[::1",
		"host=",
		"postgresql://vex:Pw-bad-8081@[::1",
		"host='unterminated password=Pw-bad-8082",
		"postgresql://vex:Pw-bad-8083@/vex?host=",
	};
	static const char *const away[] = {
		"host=/nonexistent-dir dbname=vex user=vex password=Pw-away-8084",
		"postgresql://vex:Pw-away-8085@/vex?host=/nonexistent-dir",
	};
	struct vex_pg *p = NULL;
	char *log;
	size_t i;
	int rc;

	(void)state;
	cap_reset();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cap_on();
		rc = vex_pg_open(bad[i], 5000, &p);
		cap_off();
		if (rc != VEX_EINVAL)
			fail_msg("%s: %d, expected VEX_EINVAL", bad[i], rc);
		assert_null(p);
	}
	for (i = 0; i < sizeof(away) / sizeof(away[0]); i++) {
		cap_on();
		rc = vex_pg_open(away[i], 5000, &p);
		cap_off();
		if (rc != VEX_EIO)
			fail_msg("%s: %d, expected VEX_EIO", away[i], rc);
		assert_null(p);
	}
	log = captured();
	/* Every attempt said something; the reachable parts are there to tell where, the passwords are not. */
	assert_int_equal(count_of(log, "\n"), (int)(sizeof(bad) / sizeof(bad[0]) + sizeof(away) / sizeof(away[0])));
	assert_int_equal(count_of(log, "\"host\":\"/nonexistent-dir\""), 2);
	assert_int_equal(count_of(log, "\"dbname\":\"vex\""), 3);
	if (strstr(log, "Pw-"))
		fail_msg("a password reached the log:\n%s", log);
	free(log);
}

/* Run tools/pg-cluster "cmd" "dir" (execve, no shell of ours); its output's first line into "out" when given. */
static int run_cluster(const char *cmd, const char *dir, char *out, size_t cap)
{
	char *const argv[] = { (char *)PG_CLUSTER, (char *)cmd, (char *)dir, NULL };
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	int fd[2], status;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd[0]);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (out)
		snprintf(out, cap, "%s", buf);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void remove_tree(const char *dir)
{
	char *const argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/* A second cluster of the test's own, which it stops and starts. */
static int setup_cluster(void **state)
{
	(void)state;
	snprintf(pg2_dir, sizeof(pg2_dir), "/tmp/vex-pg2-XXXXXX");
	if (!mkdtemp(pg2_dir)) {
		pg2_dir[0] = '\0';
		return -1;
	}
	if (run_cluster("start", pg2_dir, pg2_url, sizeof(pg2_url)) != 0 || !pg2_url[0]) {
		print_error("%s start %s failed\n", PG_CLUSTER, pg2_dir);
		return -1;
	}
	return 0;
}

static int teardown_cluster(void **state)
{
	(void)state;
	cap_off();
	vex_pg_free(pg);
	pg = NULL;
	if (!pg2_dir[0])
		return 0;
	run_cluster("stop", pg2_dir, NULL, 0);
	remove_tree(pg2_dir);
	pg2_dir[0] = '\0';
	return 0;
}

static int ping_quiet(struct vex_pg *p)
{
	int rc;

	cap_on();
	rc = vex_pg_ping(p);
	cap_off();
	return rc;
}

static void test_server_away_and_back(void **state)
{
	int64_t t0, deadline;
	char *log;
	int rc, i;

	(void)state;
	cap_reset();
	assert_int_equal(vex_pg_open(pg2_url, 5000, &pg), 0);
	assert_int_equal(vex_pg_ping(pg), 0);

	assert_int_equal(run_cluster("stop", pg2_dir, NULL, 0), 0);
	t0 = vex_mono_us();
	assert_int_equal(ping_quiet(pg), VEX_EUNAVAIL);
	/* A guard against a hang, not a timing: a request must not wait on a server that is gone. */
	assert_true(vex_mono_us() - t0 < 5 * 1000000);
	assert_null(pg->c);
	for (i = 0; i < 6; i++) {
		assert_int_equal(ping_quiet(pg), VEX_EUNAVAIL);
		vex_sleep_ms(50, NULL);
	}
	assert_true(pg->backoff_ms > 100);
	assert_true(pg->backoff_ms <= 5000);

	assert_int_equal(run_cluster("start", pg2_dir, NULL, 0), 0);
	/* Back within one full backoff (at most 5 s) of its return. */
	deadline = vex_mono_us() + 10 * 1000000;
	do {
		rc = ping_quiet(pg);
		if (rc == 0)
			break;
		vex_sleep_ms(100, NULL);
	} while (vex_mono_us() < deadline);
	assert_int_equal(rc, 0);
	assert_int_equal(pg->backoff_ms, 100);
	/* The new connection has the session settings again. */
	expect_text(pg->c, "SHOW statement_timeout", "5s");
	assert_int_equal(vex_pg_schema_version(pg->c), vex_pg_migration_count);

	/* One warning for the outage, one line for the return. */
	log = captured();
	if (count_of(log, "\"msg\":\"store unreachable\"") != 1 || count_of(log, "\"msg\":\"store reachable again\"") != 1)
		fail_msg("expected one \"store unreachable\" and one \"store reachable again\":\n%s", log);
	assert_non_null(strstr(log, pg2_dir));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_fresh, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_store_interface, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_exec_codes, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_jobs_lock_orders_events, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_wake_ups, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_migration_failure_rolls_back, setup_db, teardown_db),
		cmocka_unit_test(test_open_bad_arguments),
		cmocka_unit_test(test_bad_and_unreachable_urls),
		cmocka_unit_test_setup_teardown(test_server_away_and_back, setup_cluster, teardown_cluster),
	};

	/* Every line the store writes, debug included, is checked for passwords where it is captured. */
	vex_log_init("test_pg_store", VEX_LOG_DEBUG);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
