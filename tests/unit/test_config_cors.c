/* test_config_cors.c - [http] cors_origins: exact browser origins only, checked when vex.conf loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/config.h"
#include "core/base/err.h"

static int load(const char *value, struct vex_config *cfg, char *err, size_t errlen)
{
	int rc;

	setenv("VEX_HTTP_CORS_ORIGINS", value, 1);
	rc = vex_config_load(NULL, 1, cfg, err, errlen);
	unsetenv("VEX_HTTP_CORS_ORIGINS");
	return rc;
}

static void test_default_is_empty(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	unsetenv("VEX_HTTP_CORS_ORIGINS");
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cors_origins, "");
	vex_config_release(&cfg);
}

static void test_exact_origins_are_accepted(void **state)
{
	static const char *const good[] = {
		"https://app.example.com",
		"https://app.example.com, http://localhost:3000",
		" https://a.example ,https://b.example:8443 ",
		"http://127.0.0.1:5173",
		"http://[::1]:8080",
		"https://xn--bcher-kva.example",
		"",
	};
	struct vex_config cfg;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(load(good[i], &cfg, err, sizeof(err)), 0);
		assert_string_equal(cfg.cors_origins, good[i]);
		vex_config_release(&cfg);
	}
}

static void test_anything_else_is_refused(void **state)
{
	static const char *const bad[] = {
		"*",
		"null",
		"https://*.example.com",
		"https://app.example.com/",
		"https://app.example.com/path",
		"https://app.example.com?x=1",
		"https://App.Example.com",              /* browsers send lower case */
		"app.example.com",
		"ftp://app.example.com",
		"https://",
		"https://app.example.com:",
		"https://app.example.com:0",
		"https://app.example.com:08443",
		"https://app.example.com:65536",
		"https://app.example.com:443",          /* browsers leave the default port out */
		"http://app.example.com:80",
		"https://user@app.example.com",
		"https://app.example.com,",
		"https://a.example,,https://b.example",
		"https://.example.com",
		"https://app.example.com\"; add_header X 1",
		"https://app.example.com\nadd_header X 1",
		"https://app example.com",
		"http://[::1",
		"http://[]",
	};
	struct vex_config cfg;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i], &cfg, err, sizeof(err)), VEX_EINVAL);
		assert_non_null(strstr(err, "cors_origins"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_empty),
		cmocka_unit_test(test_exact_origins_are_accepted),
		cmocka_unit_test(test_anything_else_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
