/* pg_insert.c - make bench baseline on PostgreSQL: durable single-row INSERT transactions through libpq. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COUNT 1000000

static void usage(void)
{
	fprintf(stderr, "usage: bench-pg-insert --url URL [--count N (default 3000)] [--seconds S (default 4)]\n"
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

static int exec_sql(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench-pg-insert: %s: %s", sql, PQerrorMessage(c));
		ret = -1;
	}
	PQclear(r);
	return ret;
}

/* One setting of the server ("synchronous_commit", "fsync") into "buf"; "?" when it cannot be read. */
static void show(PGconn *c, const char *name, char *buf, size_t len)
{
	char sql[64];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SHOW %s", name);
	r = PQexec(c, sql);
	snprintf(buf, len, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
}

/* One durable transaction, as sqlite_insert.c's: BEGIN; INSERT (prepared); COMMIT. */
static int insert_one(PGconn *c, long i, const char *input)
{
	char id[64], created[32];
	const char *vals[4];
	PGresult *r = NULL;
	int ret = -1;

	snprintf(id, sizeof(id), "bench-%016llx-%08lx", (unsigned long long)now_us_wall(), i);
	snprintf(created, sizeof(created), "%lld", (long long)now_us_wall());
	vals[0] = id;
	vals[1] = "bench-owner";
	vals[2] = input;
	vals[3] = created;
	if (exec_sql(c, "BEGIN") < 0)
		goto out;
	r = PQexecPrepared(c, "ins", 4, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench-pg-insert: insert failed: %s", PQerrorMessage(c));
		exec_sql(c, "ROLLBACK");
		goto out;
	}
	if (exec_sql(c, "COMMIT") < 0)
		goto out;
	ret = 0;
out:
	PQclear(r);
	return ret;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	long count = 3000;
	long seconds = 4;
	PGconn *c = NULL;
	PGresult *r = NULL;
	int64_t *lat = NULL;
	long done = 0;
	int rc = 1;
	char sync_commit[32], fsync_on[32];
	/* The size of a typical submitted job's input (a prompt of a few words, as the bench sends). */
	const char *input = "{\"prompt\":\"benchmark prompt: say something short about durable queues\","
			    "\"context_id\":null}";

	for (int i = 1; i < argc; i++) {
		long v;
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			url = argv[++i];
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
	if (url == NULL) {
		usage();
		return 2;
	}

	lat = calloc((size_t)count, sizeof(*lat));
	if (lat == NULL) {
		fprintf(stderr, "bench-pg-insert: out of memory\n");
		goto out;
	}
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message, not the URL: it may hold a password. */
		fprintf(stderr, "bench-pg-insert: connect: %s", PQerrorMessage(c));
		goto out;
	}
	/* The same table and index as sqlite_insert.c's; durability is the server's (synchronous_commit, fsync),
	 * as it is for vex's store on PostgreSQL. */
	if (exec_sql(c, "CREATE TABLE IF NOT EXISTS bench_jobs (id text COLLATE \"C\" PRIMARY KEY, owner text COLLATE \"C\""
			" NOT NULL, status bigint NOT NULL DEFAULT 0, input_json text COLLATE \"C\" NOT NULL,"
			" created_at bigint NOT NULL)") < 0 ||
	    exec_sql(c, "CREATE INDEX IF NOT EXISTS bench_jobs_owner ON bench_jobs (owner, created_at)") < 0)
		goto out;
	r = PQprepare(c, "ins", "INSERT INTO bench_jobs (id, owner, input_json, created_at) VALUES ($1, $2, $3, $4)",
		      4, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench-pg-insert: prepare: %s", PQerrorMessage(c));
		goto out;
	}
	show(c, "synchronous_commit", sync_commit, sizeof(sync_commit));
	show(c, "fsync", fsync_on, sizeof(fsync_on));

	int64_t t0 = now_ns();
	int64_t deadline = t0 + (int64_t)seconds * 1000000000;
	while (done < count) {
		int64_t a = now_ns();
		if (insert_one(c, done, input) < 0)
			goto out;
		int64_t b = now_ns();
		lat[done++] = (b - a) / 1000;
		if (b >= deadline)
			break;
	}
	double elapsed_s = (double)(now_ns() - t0) / 1e9;
	qsort(lat, (size_t)done, sizeof(*lat), cmp_i64);
	printf("{\"inserts_per_s\":%.1f,\"p50_us\":%lld,\"p99_us\":%lld,\"count\":%ld,\"seconds\":%.3f,"
	       "\"synchronous_commit\":\"%s\",\"fsync\":\"%s\",\"server_version\":%d,\"libpq\":%d}\n",
	       elapsed_s > 0 ? (double)done / elapsed_s : 0.0, (long long)percentile(lat, (size_t)done, 50.0),
	       (long long)percentile(lat, (size_t)done, 99.0), done, elapsed_s, sync_commit, fsync_on,
	       PQserverVersion(c), PQlibVersion());
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	free(lat);
	return rc;
}
