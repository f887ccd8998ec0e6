/* test_log.c - JSON-lines logging: fields, escaping, levels, truncation, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/base/log.h"

static char tmpl[64];
static int saved_stderr = -1;
static int capture_fd = -1;

/* Send fd 2 to a temporary file for the duration of a test. */
static int setup(void **state)
{
	(void)state;
	snprintf(tmpl, sizeof(tmpl), "/tmp/vex-log-XXXXXX");
	capture_fd = mkstemp(tmpl);
	if (capture_fd < 0)
		return -1;
	unlink(tmpl);
	saved_stderr = dup(2);
	dup2(capture_fd, 2);
	vex_log_init("vex-test", VEX_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(capture_fd);
	return 0;
}

/* Everything logged so far; caller frees. */
static char *captured(size_t *len)
{
	off_t end = lseek(capture_fd, 0, SEEK_END);
	char *buf = malloc((size_t)end + 1);

	assert_non_null(buf);
	assert_int_equal(pread(capture_fd, buf, (size_t)end, 0), end);
	buf[end] = '\0';
	*len = (size_t)end;
	return buf;
}

static json_t *only_line(void)
{
	size_t len;
	char *buf = captured(&len);
	json_error_t err;
	json_t *v;

	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', len - 1)); /* exactly one line */
	v = json_loadb(buf, len, 0, &err);
	if (!v)
		fail_msg("not JSON: %s: %s", err.text, buf);
	free(buf);
	return v;
}

static void test_fields(void **state)
{
	json_t *v;

	(void)state;
	vex_log(VEX_LOG_INFO, "job claimed", "job_id", "0190a6c2-7b8e-7c3d-9f00-0123456789ab", "runner", "r1",
		NULL);
	v = only_line();
	assert_string_equal(json_string_value(json_object_get(v, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(v, "proc")), "vex-test");
	assert_string_equal(json_string_value(json_object_get(v, "msg")), "job claimed");
	assert_string_equal(json_string_value(json_object_get(v, "job_id")), "0190a6c2-7b8e-7c3d-9f00-0123456789ab");
	assert_string_equal(json_string_value(json_object_get(v, "runner")), "r1");
	assert_int_equal(json_integer_value(json_object_get(v, "pid")), getpid());
	assert_int_equal(strlen(json_string_value(json_object_get(v, "ts"))), 24);
	assert_int_equal(json_string_value(json_object_get(v, "ts"))[23], 'Z');
	json_decref(v);
}

static void test_escaping(void **state)
{
	json_t *v;

	(void)state;
	vex_log(VEX_LOG_WARN, "quote \" backslash \\ newline \n tab \t bell \a", "k\"ey", "v\x01\x7f\xff\xc3\xa9",
		"null", NULL, NULL);
	v = only_line();
	assert_string_equal(json_string_value(json_object_get(v, "msg")),
			    "quote \" backslash \\ newline \n tab \t bell \a");
	/* Invalid UTF-8 (\xff) becomes U+FFFD; valid multibyte text is kept. */
	assert_string_equal(json_string_value(json_object_get(v, "k\"ey")), "v\x01\x7f\xef\xbf\xbd\xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(v, "null")), "");
	assert_string_equal(json_string_value(json_object_get(v, "level")), "warn");
	json_decref(v);
}

static void test_levels(void **state)
{
	size_t len;
	char *buf;

	(void)state;
	assert_int_equal(vex_log_level_parse("debug"), VEX_LOG_DEBUG);
	assert_int_equal(vex_log_level_parse("info"), VEX_LOG_INFO);
	assert_int_equal(vex_log_level_parse("warn"), VEX_LOG_WARN);
	assert_int_equal(vex_log_level_parse("error"), VEX_LOG_ERROR);
	assert_int_equal(vex_log_level_parse("verbose"), -1);
	assert_int_equal(vex_log_level_parse(NULL), -1);

	vex_log_init("vex-test", VEX_LOG_WARN);
	vex_log(VEX_LOG_DEBUG, "hidden", NULL);
	vex_log(VEX_LOG_INFO, "hidden", NULL);
	buf = captured(&len);
	assert_int_equal(len, 0);
	free(buf);
	vex_log(VEX_LOG_ERROR, "shown", NULL);
	buf = captured(&len);
	assert_non_null(strstr(buf, "\"level\":\"error\""));
	free(buf);
}

/* An oversized value is cut, but the line stays one valid JSON object. */
static void test_truncation(void **state)
{
	size_t n = 100000;
	char *big = malloc(n + 1);
	json_t *v;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "a\"\xc3\xa9"[i % 4] ? "a\"\xc3\xa9"[i % 4] : 'x';
	big[n] = '\0';
	vex_log(VEX_LOG_INFO, "big", "value", big, "after", "x", NULL);
	v = only_line();
	assert_true(json_is_true(json_object_get(v, "truncated")));
	assert_string_equal(json_string_value(json_object_get(v, "msg")), "big");
	json_decref(v);
	free(big);
}

static void test_many_pairs_truncation(void **state)
{
	char key[32];
	json_t *v;

	(void)state;
	/* Many pairs of medium size: each cut must leave a whole object. */
	for (int k = 0; k < 200; k++) {
		char val[300];

		memset(val, 'v', sizeof(val) - 1);
		val[sizeof(val) - 1] = '\0';
		snprintf(key, sizeof(key), "key%d", k);
		vex_log(VEX_LOG_INFO, "pairs", key, val, key, val, key, val, key, val, key, val, key, val, key, val,
			key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key,
			val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val,
			key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key,
			val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val,
			key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key,
			val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val, key, val,
			NULL);
		v = only_line();
		json_decref(v);
		assert_int_equal(ftruncate(capture_fd, 0), 0);
		lseek(capture_fd, 0, SEEK_SET); /* fd 2 shares this offset */
	}
}

/* Credentials a message or value quotes are masked; look-alikes that are no credential stay. */
static void test_credentials_masked(void **state)
{
	static const char jwt[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
	static const char key[] = "vex_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	json_t *v;
	size_t len;
	char *buf, msg[512];

	(void)state;
	snprintf(msg, sizeof(msg), "header Authorization: Bearer %s; key %s; url /x?stream_token=abc.def&y=1", jwt,
		 key);
	vex_log(VEX_LOG_INFO, msg, "auth", "bearer opaque-token-1234567", "secret",
		"whsec_3q2+7wAAAAAREiIzRFVmd4iZqrvM3e7/AAAAAAAAAAA=", "model", "upstream said: bad key sk-abcdefghijklmnopqrstu",
		"plain", "VEX_MODEL_API_KEY vex_runner eyJ short", NULL);
	v = only_line();
	assert_string_equal(json_string_value(json_object_get(v, "msg")),
			    "header Authorization: Bearer [masked]; key vex_[masked]; url /x?stream_token=[masked]&y=1");
	assert_string_equal(json_string_value(json_object_get(v, "auth")), "bearer [masked]");
	assert_string_equal(json_string_value(json_object_get(v, "secret")), "whsec_[masked]");
	assert_string_equal(json_string_value(json_object_get(v, "model")), "upstream said: bad key sk-[masked]");
	assert_string_equal(json_string_value(json_object_get(v, "plain")), "VEX_MODEL_API_KEY vex_runner eyJ short");
	json_decref(v);
	/* A bare JWT (no "Bearer") is masked as well. */
	lseek(capture_fd, 0, SEEK_SET);
	assert_int_equal(ftruncate(capture_fd, 0), 0);
	vex_log(VEX_LOG_INFO, "token", "value", jwt, NULL);
	buf = captured(&len);
	assert_null(strstr(buf, "eyJhbGci"));
	assert_non_null(strstr(buf, "\"value\":\"[masked]\""));
	free(buf);
}

static void *logger(void *arg)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", (int)(intptr_t)arg);
	for (int i = 0; i < 500; i++)
		vex_log(VEX_LOG_INFO, "threaded", "thread", n, NULL);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[8];
	size_t len, lines = 0;
	char *buf, *line, *save = NULL;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, logger, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	buf = captured(&len);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *v = json_loads(line, 0, NULL);

		assert_non_null(v);
		json_decref(v);
		lines++;
	}
	assert_int_equal(lines, 8 * 500);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_pairs_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
