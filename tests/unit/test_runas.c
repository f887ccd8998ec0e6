/* test_runas.c - resolving [tools] run_as: empty, unknown user, root refused, a real user's ids. */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/runas.h"

static void test_empty_is_own_user(void **state)
{
	struct vex_runas r;
	char err[512] = "";

	(void)state;
	assert_int_equal(vex_runas_resolve("", &r, err, sizeof(err)), 0);
	assert_null(r.user);
	assert_int_equal(vex_runas_resolve(NULL, &r, err, sizeof(err)), 0);
	assert_null(r.user);
	vex_runas_release(&r);
	vex_runas_release(NULL);
}

static void test_unknown_user(void **state)
{
	struct vex_runas r;
	char err[512] = "";

	(void)state;
	assert_int_equal(vex_runas_resolve("vex-no-such-user-q7", &r, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "[tools] run_as: no such user \"vex-no-such-user-q7\""));
	assert_null(r.user);
}

static void test_root_refused(void **state)
{
	struct vex_runas r;
	char err[512] = "";

	(void)state;
	assert_int_equal(vex_runas_resolve("root", &r, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "tools never run as root"));
}

static void test_real_user(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	struct vex_runas r;
	char err[512] = "";

	(void)state;
	if (!pw || geteuid() != 0)
		skip();
	assert_int_equal(vex_runas_resolve("nobody", &r, err, sizeof(err)), 0);
	assert_string_equal(r.user, "nobody");
	assert_int_equal(r.uid, pw->pw_uid);
	assert_int_equal(r.gid, pw->pw_gid);
	assert_true(r.ngroups >= 1);
	vex_runas_release(&r);
	assert_null(r.user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_own_user),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_root_refused),
		cmocka_unit_test(test_real_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
