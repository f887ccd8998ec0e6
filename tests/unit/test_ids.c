/* test_ids.c - UUIDv7 format, version and variant bits, ordering, syntax checks, randomness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/timeutil.h"

#define N_IDS 10000

static int is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_format(void **state)
{
	char id[VEX_UUID_LEN + 1];
	int64_t before = vex_now_us() / 1000, after;
	uint64_t ms = 0;

	(void)state;
	vex_uuid7(id);
	after = vex_now_us() / 1000;
	assert_int_equal(strlen(id), VEX_UUID_LEN);
	for (int i = 0; i < VEX_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(id[i], '-');
		else
			assert_true(is_hex_lower(id[i]));
	}
	assert_int_equal(id[14], '7');                  /* version 7 */
	assert_non_null(strchr("89ab", id[19]));        /* variant 10 */
	for (int i = 0; i < 13; i++)
		if (id[i] != '-')
			ms = ms * 16 + (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	assert_true((int64_t)ms >= before && (int64_t)ms <= after + 1);
	assert_true(vex_uuid_valid(id));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_ordering(void **state)
{
	char (*ids)[VEX_UUID_LEN + 1] = malloc(N_IDS * sizeof(*ids));

	(void)state;
	assert_non_null(ids);
	for (int i = 0; i < N_IDS; i++)
		vex_uuid7(ids[i]);
	for (int i = 1; i < N_IDS; i++) {
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
		assert_int_equal(ids[i][14], '7');
		assert_non_null(strchr("89ab", ids[i][19]));
	}
	/* Sorted order equals creation order, and there are no duplicates. */
	qsort(ids, N_IDS, sizeof(*ids), cmp_str);
	for (int i = 1; i < N_IDS; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	free(ids);
}

/* Parent and child continue from the same generator state (the random pool half used): every id
 * either makes after the fork differs from all of the other's. The sub-millisecond clock bits alone
 * usually tell them apart, so this does not prove the pool is emptied in the child (ids.c's
 * pthread_atfork does that); it proves the ids stay distinct. */
static void test_fork_distinct(void **state)
{
	enum { N = 100 };
	char a[N][VEX_UUID_LEN + 1], b[N][VEX_UUID_LEN + 1];
	int fds[2], status;
	pid_t pid;

	(void)state;
	for (int i = 0; i < 30; i++)
		vex_uuid7(a[0]);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < N; i++)
			vex_uuid7(b[i]);
		_exit(write(fds[1], b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : 1);
	}
	for (int i = 0; i < N; i++)
		vex_uuid7(a[i]);
	for (size_t got = 0; got < sizeof(b);) {
		ssize_t n = read(fds[0], (char *)b + got, sizeof(b) - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < N; i++)
		for (int k = 0; k < N; k++)
			assert_string_not_equal(a[i], b[k]);
}

/* Two processes taking turns (each id made after the other's, by a pipe handshake): the ids sort
 * in the order they were made, although the processes share no state (sub-millisecond clock bits). */
static void test_cross_process_order(void **state)
{
	enum { ROUNDS = 300 };
	int ping[2], pong[2], ids_pipe[2], status;
	char all[2 * ROUNDS][VEX_UUID_LEN + 1];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ping), 0);
	assert_int_equal(pipe(pong), 0);
	assert_int_equal(pipe(ids_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c, id[VEX_UUID_LEN + 1];

		for (int i = 0; i < ROUNDS; i++) {
			if (read(ping[0], &c, 1) != 1)
				_exit(1);
			vex_uuid7(id);
			if (write(ids_pipe[1], id, VEX_UUID_LEN) != VEX_UUID_LEN || write(pong[1], "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	for (int i = 0; i < ROUNDS; i++) {
		char c;

		vex_uuid7(all[2 * i]);
		assert_int_equal(write(ping[1], "x", 1), 1);
		assert_int_equal(read(pong[0], &c, 1), 1);
		assert_int_equal(read(ids_pipe[0], all[2 * i + 1], VEX_UUID_LEN), VEX_UUID_LEN);
		all[2 * i + 1][VEX_UUID_LEN] = '\0';
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 1; i < 2 * ROUNDS; i++)
		if (strcmp(all[i - 1], all[i]) >= 0)
			fail_msg("id %d (%s) does not sort after id %d (%s)", i, all[i], i - 1, all[i - 1]);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(vex_uuid_valid("0190a6c2-7b8e-7c3d-9f00-0123456789ab"));
	assert_true(vex_uuid_valid("0190A6C2-7B8E-7C3D-9F00-0123456789AB"));
	assert_true(vex_uuid_valid("123e4567-e89b-12d3-a456-426614174000")); /* v1 is fine too */
	assert_false(vex_uuid_valid(NULL));
	assert_false(vex_uuid_valid(""));
	assert_false(vex_uuid_valid("0190a6c2-7b8e-7c3d-9f00-0123456789a"));   /* short */
	assert_false(vex_uuid_valid("0190a6c2-7b8e-7c3d-9f00-0123456789abc")); /* long */
	assert_false(vex_uuid_valid("0190a6c2x7b8e-7c3d-9f00-0123456789ab"));  /* dash */
	assert_false(vex_uuid_valid("0190a6c2-7b8e-7c3d-9f00-0123456789ag"));  /* hex */
	assert_false(vex_uuid_valid("0190a6c27b8e7c3d9f000123456789ab"));      /* no dashes */
	assert_false(vex_uuid_valid("{0190a6c2-7b8e-7c3d-9f00-0123456789ab}"));
	assert_false(vex_uuid_valid("0190a6c2-7b8e-7c3d-9f00-0123456789a "));
	assert_false(vex_uuid_valid("../../etc/passwd"));
}

static void test_random(void **state)
{
	unsigned char a[64], b[64], big[100000];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(vex_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(vex_random_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(vex_random_bytes(big, sizeof(big)), 0);
	assert_int_equal(vex_random_bytes(a, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),        cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_fork_distinct), cmocka_unit_test(test_valid),
		cmocka_unit_test(test_cross_process_order),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
