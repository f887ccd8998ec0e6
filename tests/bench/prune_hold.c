/* prune_hold.c - how long one prune call holds the write lock with millions of rows kept (docs/bench.md, Retention). */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/err.h"
#include "core/store/store.h"

#define S 1000000LL
#define CALLS_MAX 1000

static void usage(void)
{
	fprintf(stderr, "usage: bench-prune-hold --db PATH [--events N (3000000)] [--jobs N (1000000)] [--calls K (20)]\n"
			"                        [--seed-only 1 [--spread S]]\n"
			"Seeds a new database at PATH with N young job events and N jobs finished within the\n"
			"retention (plus old ones below them), then times prune calls and incremental vacuum steps;\n"
			"prints one JSON line. --seed-only 1: seed and stop (tests/bench/soak's seeded runs); with\n"
			"--spread S the young rows' times are spread evenly over the last S seconds instead (a\n"
			"retention of S then prunes them steadily, oldest first, as under a steady load).\n");
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * S + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * S + ts.tv_nsec / 1000;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench-prune-hold: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Rows in SQL (one statement each), quickly: "old" finished jobs (and their events) eight days back,
 * then young ones, "n_jobs" jobs and "n_events" events in all, half an hour back or spread over the
 * last "spread_s" seconds; the fan-out cursor at the newest. */
static int seed(sqlite3 *db, long n_events, long n_jobs, long old, int64_t now, long spread_s)
{
	char sql[1024];
	int rc;

	rc = exec(db, "PRAGMA synchronous = OFF; BEGIN");
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %ld)"
		 " INSERT INTO jobs(id, owner, plan, kind, tool, input_json, status, created_at, started_at,"
		 " completed_at, updated_at, result_json)"
		 " SELECT printf('%%08x-0000-7000-8000-%%012d', i / 1000000, i), 'seed' || (i %% 100), 'free', 'tool',"
		 " 'echo', '{\"i\":1}', 'completed', t, t, t, t, '{\"i\":1}' FROM (SELECT i,"
		 " CASE WHEN i <= %ld THEN %lld ELSE %lld + i * %lld END AS t FROM c)",
		 n_jobs + old, old, (long long)(now - 8 * 86400 * S),
		 (long long)(spread_s ? now - spread_s * S : now - 1800 * S),
		 (long long)(spread_s ? spread_s * S / (n_jobs + old) : 1));
	if (rc == 0)
		rc = exec(db, sql);
	/* The insert trigger wrote one event a job at its time (the old jobs' are the old events); the
	 * rest of the young ones follow. Spread: all of them again in one run, so that seq follows at
	 * as it does when they are written live (three a job). */
	if (rc == 0 && spread_s)
		rc = exec(db, "DELETE FROM job_events");
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %ld)"
		 " INSERT INTO job_events(job_id, owner, rev, type, status, attempts, at)"
		 " SELECT printf('%%08x-0000-7000-8000-%%012d', 0, i / 3), 'seed', 1 + i %% 3, 'completed',"
		 " 'completed', 1, %lld + i * %lld FROM c",
		 spread_s ? n_events : n_events > n_jobs ? n_events - n_jobs : 1,
		 (long long)(spread_s ? now - spread_s * S : now - 1700 * S),
		 (long long)(spread_s ? spread_s * S / n_events : 1));
	if (rc == 0)
		rc = exec(db, sql);
	if (rc == 0)
		rc = exec(db, "UPDATE event_cursors SET seq = (SELECT MAX(seq) FROM job_events); COMMIT;"
			      " PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE)"); /* on disk before timing */
	return rc;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* p50 and max of "n" durations, as JSON fields named "name". */
static void report(const char *name, int64_t *d, int n, long rows, int last)
{
	qsort(d, (size_t)n, sizeof(*d), cmp_i64);
	printf("\"%s\":{\"calls\":%d,\"rows\":%ld,\"p50_ms\":%.3f,\"max_ms\":%.3f}%s", name, n, rows,
	       n ? (double)d[n / 2] / 1000.0 : 0.0, n ? (double)d[n - 1] / 1000.0 : 0.0, last ? "" : ",");
}

/* The prune of before this change, timed as it ran: one write transaction per call. */
static int old_events_prune(sqlite3 *db, int64_t before_us, int limit)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"DELETE FROM job_events WHERE seq IN (SELECT seq FROM job_events WHERE at < ?1"
				" AND seq <= (SELECT COALESCE(MIN(seq), 0) FROM event_cursors)"
				" AND seq < (SELECT MAX(seq) FROM job_events) ORDER BY seq LIMIT ?2)",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, before_us);
		sqlite3_bind_int(st, 2, limit);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_exec(db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	static int64_t d[CALLS_MAX];
	long n_events = 3000000, n_jobs = 1000000, old = 20000, rows, spread_s = 0;
	char ids[100][VEX_UUID_LEN + 1];
	int calls = 20, i, n, rc = 1, seed_only = 0;
	const char *path = NULL;
	struct vex_store *s = NULL;
	sqlite3 *db = NULL;
	int64_t now = wall_us(), t, del;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--events") == 0)
			n_events = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--jobs") == 0)
			n_jobs = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--calls") == 0)
			calls = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--spread") == 0)
			spread_s = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed-only") == 0)
			seed_only = strcmp(argv[i + 1], "0") != 0;
		else
			break;
	}
	if (!path || i != argc || n_events < 1 || n_jobs < 1 || calls < 1 || calls > CALLS_MAX || spread_s < 0 ||
	    (spread_s && !seed_only)) {
		usage();
		return 2;
	}
	if (vex_store_open(path, 2, 5000, &s) != 0 || sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	t = mono_us();
	if (seed(db, n_events, n_jobs, old, now, spread_s) != 0)
		goto out;
	printf("{\"events_kept\":%ld,\"jobs_kept\":%ld,\"seed_s\":%.1f,", n_events, n_jobs,
	       (double)(mono_us() - t) / S);
	if (seed_only) {
		printf("\"seeded\":true}\n");
		rc = 0;
		goto out;
	}
	/* events: the old jobs' events (below the kept ones) go in batches of 500 (the runner's), then
	 * calls deleting nothing */
	for (i = 0, rows = 0; i < CALLS_MAX; i++) {
		t = mono_us();
		if (vex_store_job_events_prune(s, now - 3600 * S, 500, &del) != 0)
			goto out;
		d[i] = mono_us() - t;
		rows += del;
		if (del < 500)
			break;
	}
	report("events_new_deleting", d, i, rows, 0);
	for (i = 0; i < calls; i++) {
		t = mono_us();
		if (vex_store_job_events_prune(s, now - 3600 * S, 500, &del) != 0 || del != 0)
			goto out;
		d[i] = mono_us() - t;
	}
	report("events_new_nothing", d, calls, 0, 0);
	for (i = 0; i < calls && i < 5; i++) {
		t = mono_us();
		if (old_events_prune(db, now - 3600 * S, 5000) != 0)
			goto out;
		d[i] = mono_us() - t;
	}
	report("events_old_nothing", d, i, 0, 0);
	/* jobs: the old ones go in batches of 25 (the runner's), then calls deleting nothing */
	for (i = 0, rows = 0; i < CALLS_MAX; i++) {
		t = mono_us();
		if (vex_store_jobs_prune(s, now - 7 * 86400 * S, 25, ids, &n) != 0)
			goto out;
		d[i] = mono_us() - t;
		rows += n;
		if (n < 25)
			break;
	}
	report("jobs_deleting", d, i, rows, 0);
	for (i = 0; i < calls; i++) {
		t = mono_us();
		if (vex_store_jobs_prune(s, now - 7 * 86400 * S, 25, ids, &n) != 0 || n != 0)
			goto out;
		d[i] = mono_us() - t;
	}
	report("jobs_nothing", d, calls, 0, 0);
	/* the pages those deletes freed go back to the file system, 128 (the runner's step) at a time */
	for (i = 0, rows = 0; i < calls; i++) {
		t = mono_us();
		if (vex_store_vacuum_step(s, 128, 0, &del) != 0)
			goto out;
		d[i] = mono_us() - t;
		rows += del;
		if (del < 128)
			break;
	}
	report("vacuum_128_pages", d, i, rows, 1);
	printf("}\n");
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench-prune-hold: failed (%s)\n", db ? sqlite3_errmsg(db) : "open");
	sqlite3_close(db);
	vex_store_free(s);
	return rc;
}
