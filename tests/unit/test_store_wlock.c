/* test_store_wlock.c - the cross-process writer mutex: waiting, timing out, surviving a killed holder. */
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

#include "core/base/err.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "tests/unit/store_fixture.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-wlock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/vex.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_unlink(path);
	rmdir(dir);
	return 0;
}

/* A writer holding the mutex makes a second connection's write wait, then fail with VEX_EBUSY
 * after that connection's busy_timeout; nothing is written. Once released the write goes through. */
static void test_second_writer_times_out(void **state)
{
	struct vex_store *a = NULL, *b = NULL;
	int64_t beat = 0;

	(void)state;
	assert_int_equal(vex_store_open(path, 2, 5000, &a), 0);
	assert_int_equal(vex_store_open(path, 2, 150, &b), 0);
	assert_non_null(vex_sqlite_of(a)->wlock);
	assert_int_equal(vex_sqlite_begin(vex_sqlite_of(a)), 0);
	assert_int_equal(vex_store_runner_beat(b, "b", 2, 42), VEX_EBUSY);
	vex_sqlite_rollback(vex_sqlite_of(a));
	assert_int_equal(vex_store_runner_last_beat(b, &beat), VEX_ENOTFOUND);
	assert_int_equal(vex_store_runner_beat(b, "b", 2, 42), 0);
	assert_int_equal(vex_store_runner_last_beat(a, &beat), 0);
	assert_int_equal(beat, 42);
	vex_store_free(a);
	vex_store_free(b);
}

/* A process killed while it holds the mutex (inside BEGIN IMMEDIATE) does not block anyone. */
static void test_killed_holder_recovered(void **state)
{
	struct vex_store *s = NULL;
	int ready[2], status;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(vex_store_open(path, 2, 2000, &s), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vex_store *cs = NULL;

		close(ready[0]);
		if (vex_store_open(path, 2, 2000, &cs) != 0 || vex_sqlite_begin(vex_sqlite_of(cs)) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(vex_store_runner_beat(s, "after", 3, 7), 0);
	assert_int_equal(vex_store_runner_beat(s, "again", 3, 8), 0);
	vex_store_free(s);
}

/* Many processes writing at once all succeed: none starves past the busy timeout. */
static void test_many_writers(void **state)
{
	enum { N = 4, EACH = 200 };
	pid_t pids[N];
	int i, status;
	struct vex_store *s = NULL;

	(void)state;
	assert_int_equal(vex_store_open(path, 1, 5000, &s), 0);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_store *cs = NULL;
			char id[32];
			int ok = vex_store_open(path, 1, 5000, &cs) == 0;

			snprintf(id, sizeof(id), "w%d", i);
			for (int k = 0; ok && k < EACH; k++)
				ok = vex_store_runner_beat(cs, id, getpid(), k + 1) == 0;
			vex_store_free(cs);
			_exit(ok ? 0 : 1);
		}
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	vex_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_writer_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_holder_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_writers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
