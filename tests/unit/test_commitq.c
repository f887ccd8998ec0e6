/* test_commitq.c - group commit: batch inserts (savepoints, idempotency), the committer over its socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/jobs/commitq.h"
#include "core/base/err.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "tests/unit/store_fixture.h"

static struct store_fixture fx;
static char where[1024]; /* the fixture's store, for the connections the tests open */
static char sock[128];

static int setup(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, "commitq") != 0)
		return -1;
	store_fixture_where(&fx, where, sizeof(where));
	snprintf(sock, sizeof(sock), "%s/commit.sock", fx.dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock);
	store_fixture_close(&fx);
	return 0;
}

/* A request hash: "c" 64 times. */
static char *hash_of(char c)
{
	char *h = malloc(VEX_JOB_REQUEST_HASH_LEN + 1);

	assert_non_null(h);
	memset(h, c, VEX_JOB_REQUEST_HASH_LEN);
	h[VEX_JOB_REQUEST_HASH_LEN] = '\0';
	return h;
}

static struct vex_job *tool_job(const char *owner, const char *idem)
{
	struct vex_job *j = store_fixture_job(owner, "echo", "{\"x\":1}", vex_now_us());

	j->idempotency_key = idem ? strdup(idem) : NULL;
	j->request_hash = idem ? hash_of('a') : NULL;
	return j;
}

static int64_t count_jobs(struct vex_store *s, const char *owner)
{
	struct vex_job_filter f;
	int64_t n = -1;

	vex_job_filter_init(&f);
	f.owner = owner;
	assert_int_equal(vex_store_jobs_count(s, &f, &n), 0);
	return n;
}

/* One transaction: a bad job fails alone; a repeated key inside the batch yields the first job. */
static void test_batch_isolation_and_idempotency(void **state)
{
	struct vex_store *s = NULL;
	struct vex_job *jobs[4], *rets[4];
	int created[4], rcs[4];

	(void)state;
	assert_int_equal(vex_store_open(where, 2, 2000, &s), 0);
	jobs[0] = tool_job("alice", "k1");
	jobs[1] = tool_job("alice", NULL);
	jobs[2] = tool_job("alice", "k1"); /* same key as jobs[0], same batch */
	jobs[3] = tool_job("alice", NULL);
	memcpy(jobs[3]->id, jobs[1]->id, sizeof(jobs[3]->id)); /* duplicate id: fails alone */
	assert_int_equal(vex_store_jobs_insert_batch(s, jobs, 4, rets, created, rcs), 0);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(created[0], 1);
	assert_int_equal(rets[0]->status, VEX_JOB_QUEUED);
	assert_int_equal(rets[0]->rev, 1);
	assert_int_equal(rcs[1], 0);
	assert_int_equal(created[1], 1);
	assert_int_equal(rcs[2], 0);
	assert_int_equal(created[2], 0);
	assert_string_equal(rets[2]->id, jobs[0]->id);
	assert_int_equal(rcs[3], VEX_EEXIST);
	assert_null(rets[3]);
	assert_int_equal(count_jobs(s, "alice"), 2);
	for (int i = 0; i < 4; i++) {
		vex_job_free(jobs[i]);
		vex_job_free(rets[i]);
	}
	vex_store_free(s);
}

static pid_t start_committer_at(const char *at)
{
	int lfd = vex_commitq_listen(at);
	pid_t pid;

	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static volatile sig_atomic_t stop;
		struct vex_store *s = NULL;

		if (vex_store_open(where, 2, 2000, &s) != 0)
			_exit(1);
		_exit(vex_commitq_serve(lfd, s, &stop) == 0 ? 0 : 1);
	}
	close(lfd);
	return pid;
}

static pid_t start_committer(void)
{
	return start_committer_at(sock);
}

/* Several processes submitting at once through the committer: every job stored once, replays found. */
static void test_clients_through_committer(void **state)
{
	enum { N = 6, EACH = 50 };
	struct vex_store *s = NULL;
	pid_t server, pids[N];
	int i, status;

	(void)state;
	assert_int_equal(vex_store_open(where, 2, 2000, &s), 0);
	server = start_committer();
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_commitq *q = NULL;
			char key[32];
			int ok = vex_commitq_open(sock, 3000, &q) == 0;

			for (int k = 0; ok && k < EACH; k++) {
				struct vex_job *j, *got = NULL, *again = NULL;
				int created = -1;

				snprintf(key, sizeof(key), "p%d-%d", i, k);
				j = tool_job("bob", key);
				ok = vex_commitq_insert(q, j, &got, &created) == 0 && created == 1 &&
				     strcmp(got->id, j->id) == 0 && got->status == VEX_JOB_QUEUED && got->rev == 1;
				/* The same key again (a new id, another request): the first job comes back, not
				 * created, with the request hash it was stored with. */
				vex_uuid7(j->id);
				free(j->request_hash);
				j->request_hash = hash_of('b');
				ok = ok && vex_commitq_insert(q, j, &again, &created) == 0 && created == 0 &&
				     strcmp(again->id, got->id) == 0 && again->idempotency_key &&
				     strcmp(again->idempotency_key, key) == 0 && again->request_hash &&
				     again->request_hash[0] == 'a' && strlen(again->request_hash) == VEX_JOB_REQUEST_HASH_LEN;
				vex_job_free(j);
				vex_job_free(got);
				vex_job_free(again);
			}
			vex_commitq_free(q);
			_exit(ok ? 0 : 1);
		}
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(count_jobs(s, "bob"), N * EACH);
	kill(server, SIGKILL);
	waitpid(server, &status, 0);
	vex_store_free(s);
}

/* No committer listening, or one that dies: VEX_EIO, so that the caller writes directly. */
static void test_committer_absent(void **state)
{
	struct vex_commitq *q = NULL;
	struct vex_job *j = tool_job("carol", NULL), *got = NULL;
	pid_t server;
	int created, status;

	(void)state;
	assert_int_equal(vex_commitq_open(sock, 500, &q), 0);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), VEX_EIO);
	server = start_committer();
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	vex_job_free(got);
	got = NULL;
	kill(server, SIGKILL);
	waitpid(server, &status, 0);
	vex_uuid7(j->id);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), VEX_EIO);
	assert_null(got);
	vex_job_free(j);
	vex_commitq_free(q);
	assert_int_equal(vex_commitq_open(NULL, 500, &q), VEX_EINVAL);
}

/* Two servers (the runner's intake first, vex-api's committer second): the first answers while it
 * is there; killed, the second at once (no error to the caller), for a second; then the first
 * again, on the same client (a vex-api started before its runner must not stay on the second). */
static void test_first_then_second(void **state)
{
	char intake[160];
	struct vex_commitq *q = NULL;
	struct vex_job *j = tool_job("erin", NULL), *got = NULL;
	pid_t first, second;
	int created, status;

	(void)state;
	snprintf(intake, sizeof(intake), "%s/intake.sock", fx.dir);
	first = start_committer_at(intake);
	second = start_committer();
	assert_int_equal(vex_commitq_open2(intake, sock, 2000, &q), 0);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(vex_commitq_by_first(q), 1);
	vex_job_free(got);

	kill(first, SIGKILL);
	waitpid(first, &status, 0);
	vex_uuid7(j->id);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(vex_commitq_by_first(q), 0);
	vex_job_free(got);

	first = start_committer_at(intake);
	vex_uuid7(j->id);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	assert_int_equal(vex_commitq_by_first(q), 0); /* within the second after the failure */
	vex_job_free(got);
	usleep(1100000);
	/* the same client goes back to the first once it answers again */
	vex_uuid7(j->id);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	assert_int_equal(vex_commitq_by_first(q), 1);
	vex_job_free(got);
	vex_commitq_free(q);
	kill(first, SIGKILL);
	kill(second, SIGKILL);
	waitpid(first, &status, 0);
	waitpid(second, &status, 0);
	unlink(intake);
	vex_job_free(j);
	assert_int_equal(vex_commitq_open2(intake, NULL, 500, &q), VEX_EINVAL);
}

/* The queued-job cap travels in the request and holds in the committer's batch: VEX_ELIMIT comes back. */
static void test_cap_through_committer(void **state)
{
	struct vex_commitq *q = NULL;
	struct vex_job *j = tool_job("dave", NULL), *got = NULL;
	pid_t server;
	int created = 0, status;

	(void)state;
	server = start_committer();
	assert_int_equal(vex_commitq_open(sock, 3000, &q), 0);
	j->queued_cap = 2;
	for (int i = 0; i < 3; i++) {
		vex_uuid7(j->id);
		assert_int_equal(vex_commitq_insert(q, j, &got, &created), i < 2 ? 0 : VEX_ELIMIT);
		assert_true(i < 2 ? got != NULL : got == NULL);
		vex_job_free(got);
		got = NULL;
	}
	kill(server, SIGTERM);
	waitpid(server, &status, 0);
	vex_job_free(j);
	vex_commitq_free(q);
}

/* A job far larger than a socket buffer goes out and comes back whole (a frame in several writes
 * and reads both ways: the request, and the stored row a replay ships back). */
static void test_big_job_through_committer(void **state)
{
	enum { BIG = 900 * 1024 };
	struct vex_commitq *q = NULL;
	struct vex_job *j = tool_job("erin", "big-1"), *got = NULL, *again = NULL;
	pid_t server;
	int created = -1, status;

	(void)state;
	free(j->input_json);
	j->input_json = malloc(BIG + 16);
	assert_non_null(j->input_json);
	memcpy(j->input_json, "{\"x\":\"", 6);
	memset(j->input_json + 6, 'y', BIG);
	memcpy(j->input_json + 6 + BIG, "\"}", 3);
	server = start_committer();
	assert_int_equal(vex_commitq_open(sock, 3000, &q), 0);
	assert_int_equal(vex_commitq_insert(q, j, &got, &created), 0);
	assert_int_equal(created, 1);
	vex_uuid7(j->id);
	assert_int_equal(vex_commitq_insert(q, j, &again, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(again->id, got->id);
	assert_string_equal(again->input_json, j->input_json);
	kill(server, SIGTERM);
	waitpid(server, &status, 0);
	vex_job_free(got);
	vex_job_free(again);
	vex_job_free(j);
	vex_commitq_free(q);
}

/* A second committer never takes the socket of a live one; a dead one's file is replaced. */
static void test_listen_respects_live_committer(void **state)
{
	int a, b;

	(void)state;
	a = vex_commitq_listen(sock);
	assert_true(a >= 0);
	assert_int_equal(vex_commitq_listen(sock), VEX_EEXIST);
	close(a);
	b = vex_commitq_listen(sock);
	assert_true(b >= 0);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_isolation_and_idempotency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clients_through_committer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_committer_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_then_second, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_through_committer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_job_through_committer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_respects_live_committer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
