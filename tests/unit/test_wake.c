/* test_wake.c - the runner's wake-up datagram socket: bind, send, drain, stale and live sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/jobs/wake.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-wake-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/runner.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void test_send_drain(void **state)
{
	struct stat st;
	int r, s, flags;

	(void)state;
	r = vex_wake_bind(path);
	assert_true(r >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	flags = fcntl(r, F_GETFL);
	assert_true(flags & O_NONBLOCK);
	assert_true(fcntl(r, F_GETFD) & FD_CLOEXEC);

	s = vex_wake_open();
	assert_true(s >= 0);
	assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
	assert_int_equal(vex_wake_drain(r), 0);
	vex_wake_send(s, path);
	vex_wake_send(s, path);
	vex_wake_send(s, path);
	assert_int_equal(vex_wake_drain(r), 3);
	assert_int_equal(vex_wake_drain(r), 0);
	close(s);
	close(r);
}

/* Sending never blocks, even when nobody drains and the queue is full. */
static void test_send_full_queue(void **state)
{
	int r, s, n;

	(void)state;
	r = vex_wake_bind(path);
	assert_true(r >= 0);
	s = vex_wake_open();
	assert_true(s >= 0);
	for (int i = 0; i < 10000; i++)
		vex_wake_send(s, path);
	n = vex_wake_drain(r);
	assert_true(n > 0 && n <= 10000);
	close(s);
	close(r);
}

static void test_send_errors_ignored(void **state)
{
	int s = vex_wake_open();

	(void)state;
	assert_true(s >= 0);
	vex_wake_send(s, "/nonexistent/dir/runner.sock");
	vex_wake_send(s, NULL);
	vex_wake_send(-1, path);
	vex_wake_send(s, "");
	close(s);
	assert_int_equal(vex_wake_drain(-1), 0);
}

static void test_stale_and_live(void **state)
{
	int r1, r2, s;

	(void)state;
	r1 = vex_wake_bind(path);
	assert_true(r1 >= 0);
	/* A live runner's socket is not taken over. */
	assert_true(vex_wake_bind(path) < 0);
	close(r1);
	/* Its file is now stale: a restarted runner replaces it. */
	r2 = vex_wake_bind(path);
	assert_true(r2 >= 0);
	s = vex_wake_open();
	vex_wake_send(s, path);
	assert_int_equal(vex_wake_drain(r2), 1);
	close(s);
	close(r2);
}

static void test_bind_errors(void **state)
{
	char longpath[200];
	int fd;

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vex_wake_bind(longpath), VEX_EIO);
	assert_int_equal(vex_wake_bind("/nonexistent/dir/runner.sock"), VEX_EIO);
	assert_int_equal(vex_wake_bind(NULL), VEX_EIO);
	/* A regular file at the path is never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vex_wake_bind(path), VEX_EIO);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_full_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_errors_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
