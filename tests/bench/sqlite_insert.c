/* sqlite_insert.c - make bench baseline: durable single-row INSERT transactions into a WAL database. */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COUNT 1000000

static void usage(void)
{
	fprintf(stderr, "usage: bench-sqlite-insert --db PATH [--synchronous off|normal|full (default full)]\n"
			"                           [--count N (default 3000)] [--seconds S (default 4)]\n"
			"Prints {\"inserts_per_s\",\"p50_us\",\"p99_us\",...} as one JSON line.\n");
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_us_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted "v". */
static int64_t percentile(const int64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static int parse_long(const char *s, long lo, long hi, long *ret)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*ret = v;
	return 0;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench-sqlite-insert: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* One durable transaction, as vex commits a submitted job: BEGIN IMMEDIATE; INSERT; COMMIT. */
static int insert_one(sqlite3 *db, sqlite3_stmt *begin, sqlite3_stmt *ins, sqlite3_stmt *commit, long i,
		      const char *input)
{
	char id[64];
	int ret = -1;

	snprintf(id, sizeof(id), "bench-%016llx-%08lx", (unsigned long long)now_us_wall(), i);
	if (sqlite3_step(begin) != SQLITE_DONE)
		goto out;
	sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 2, "bench-owner", -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, input, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 4, now_us_wall());
	if (sqlite3_step(ins) != SQLITE_DONE) {
		exec_sql(db, "ROLLBACK");
		goto out;
	}
	if (sqlite3_step(commit) != SQLITE_DONE)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		fprintf(stderr, "bench-sqlite-insert: insert failed: %s\n", sqlite3_errmsg(db));
	sqlite3_reset(begin);
	sqlite3_reset(ins);
	sqlite3_reset(commit);
	return ret;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	const char *sync_name = "full";
	long count = 3000;
	long seconds = 4;
	sqlite3 *db = NULL;
	sqlite3_stmt *begin = NULL, *ins = NULL, *commit = NULL;
	int64_t *lat = NULL;
	long done = 0;
	int rc = 1;
	char pragma[64];
	/* The size of a typical submitted job's input (a prompt of a few words, as the bench sends). */
	const char *input = "{\"prompt\":\"benchmark prompt: say something short about durable queues\","
			    "\"context_id\":null}";

	for (int i = 1; i < argc; i++) {
		long v;
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--synchronous") == 0 && i + 1 < argc) {
			sync_name = argv[++i];
			if (strcmp(sync_name, "off") != 0 && strcmp(sync_name, "normal") != 0 &&
			    strcmp(sync_name, "full") != 0) {
				usage();
				return 2;
			}
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, MAX_COUNT, &v) < 0) {
				usage();
				return 2;
			}
			count = v;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 3600, &v) < 0) {
				usage();
				return 2;
			}
			seconds = v;
		} else {
			usage();
			return 2;
		}
	}
	if (path == NULL) {
		usage();
		return 2;
	}

	lat = calloc((size_t)count, sizeof(*lat));
	if (lat == NULL) {
		fprintf(stderr, "bench-sqlite-insert: out of memory\n");
		goto out;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-sqlite-insert: open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
		goto out;
	}
	/* The settings vex's store uses (DESIGN 4). */
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", sync_name);
	if (exec_sql(db, "PRAGMA journal_mode=WAL") < 0 || exec_sql(db, pragma) < 0 ||
	    exec_sql(db, "PRAGMA busy_timeout=5000") < 0 ||
	    exec_sql(db, "CREATE TABLE IF NOT EXISTS bench_jobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
			 " status INTEGER NOT NULL DEFAULT 0, input_json TEXT NOT NULL, created_at INTEGER NOT NULL)") < 0 ||
	    exec_sql(db, "CREATE INDEX IF NOT EXISTS bench_jobs_owner ON bench_jobs (owner, created_at)") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO bench_jobs (id, owner, input_json, created_at) VALUES (?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-sqlite-insert: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}

	int64_t t0 = now_ns();
	int64_t deadline = t0 + (int64_t)seconds * 1000000000;
	while (done < count) {
		int64_t a = now_ns();
		if (insert_one(db, begin, ins, commit, done, input) < 0)
			goto out;
		int64_t b = now_ns();
		lat[done++] = (b - a) / 1000;
		if (b >= deadline)
			break;
	}
	double elapsed_s = (double)(now_ns() - t0) / 1e9;
	qsort(lat, (size_t)done, sizeof(*lat), cmp_i64);
	printf("{\"inserts_per_s\":%.1f,\"p50_us\":%lld,\"p99_us\":%lld,\"count\":%ld,\"seconds\":%.3f,"
	       "\"synchronous\":\"%s\",\"journal_mode\":\"wal\",\"sqlite\":\"%s\"}\n",
	       elapsed_s > 0 ? (double)done / elapsed_s : 0.0, (long long)percentile(lat, (size_t)done, 50.0),
	       (long long)percentile(lat, (size_t)done, 99.0), done, elapsed_s, sync_name, sqlite3_libversion());
	rc = 0;
out:
	sqlite3_finalize(begin);
	sqlite3_finalize(ins);
	sqlite3_finalize(commit);
	sqlite3_close(db);
	free(lat);
	return rc;
}
