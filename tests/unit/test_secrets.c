/* test_secrets.c - the secret scrub (environ, the kernel's initial block, dumpable) and the tools' allow-listed environment. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/secrets.h"
#include "runner/toolenv.h"

#define SECRET "s3cr3t-value-that-must-vanish"

/* 1 when "needle" occurs in the "len" bytes of "hay". */
static int contains(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (i = 0; i + nl <= len; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			return 1;
	return 0;
}

/* In the re-executed child: scrub, then check what /proc/self/environ shows. Exit 0 when clean. */
static int child_main(void)
{
	const char *names[] = { "VEX_JWT_SECRET", "MODEL_KEY", NULL };
	char buf[65536];
	ssize_t n;
	int fd;

	if (!getenv("VEX_JWT_SECRET") || !getenv("MODEL_KEY"))
		return 10;
	if (vex_secrets_scrub(names) != 0)
		return 11;
	if (getenv("VEX_JWT_SECRET") || getenv("MODEL_KEY") || !getenv("KEEP_ME"))
		return 12;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 13;
	fd = open("/proc/self/environ", O_RDONLY);
	if (fd < 0)
		return 14;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return 15;
	if (contains(buf, (size_t)n, SECRET) || contains(buf, (size_t)n, "modelkey-123"))
		return 16;
	if (!contains(buf, (size_t)n, "KEEP_ME=kept"))
		return 17;
	return 0;
}

static void test_scrub_initial_block(void **state)
{
	char *argv[] = { "test_secrets", "--child", NULL };
	char *envp[] = { "KEEP_ME=kept", "VEX_JWT_SECRET=" SECRET, "MODEL_KEY=modelkey-123", "VEX_JWT_SECRET=" SECRET,
			 NULL };
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execve("/proc/self/exe", argv, envp);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_unset_setenv_copy(void **state)
{
	(void)state;
	assert_int_equal(setenv("VEX_T_SECRET", "abc", 1), 0);
	assert_int_equal(vex_secrets_unset("VEX_T_SECRET"), 1);
	assert_null(getenv("VEX_T_SECRET"));
	assert_int_equal(vex_secrets_unset("VEX_T_SECRET"), 0);
	assert_int_equal(vex_secrets_unset(""), 0);
	assert_int_equal(vex_secrets_unset(NULL), 0);
	assert_int_equal(vex_secrets_unset("A=B"), 0);
}

static const char *find(char **env, const char *name)
{
	size_t nl = strlen(name), i;

	for (i = 0; env[i]; i++)
		if (strncmp(env[i], name, nl) == 0 && env[i][nl] == '=')
			return env[i] + nl + 1;
	return NULL;
}

static size_t count(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	return n;
}

static void test_toolenv_minimum(void **state)
{
	char **env = NULL;

	(void)state;
	setenv("VEX_JWT_SECRET", "jwt", 1);
	setenv("VEX_MODEL_API_KEY", "key", 1);
	setenv("LANG", "de_DE.UTF-8", 1);
	unsetenv("TZ");
	assert_int_equal(vex_toolenv_build("/w/h", "/w/t", NULL, 0, &env), 0);
	assert_string_equal(find(env, "PATH"), VEX_TOOLENV_PATH);
	assert_string_equal(find(env, "HOME"), "/w/h");
	assert_string_equal(find(env, "TMPDIR"), "/w/t");
	assert_string_equal(find(env, "LANG"), "de_DE.UTF-8");
	assert_null(find(env, "TZ"));
	assert_int_equal(count(env), 4);
	vex_toolenv_free(env);

	unsetenv("LANG");
	setenv("TZ", "Europe/Paris", 1);
	assert_int_equal(vex_toolenv_build("/h", NULL, NULL, 0, &env), 0);
	assert_string_equal(find(env, "LANG"), VEX_TOOLENV_LANG);
	assert_string_equal(find(env, "TZ"), "Europe/Paris");
	assert_null(find(env, "TMPDIR"));
	assert_null(find(env, "VEX_JWT_SECRET"));
	assert_null(find(env, "VEX_MODEL_API_KEY"));
	assert_int_equal(count(env), 4);
	vex_toolenv_free(env);
	unsetenv("VEX_JWT_SECRET");
	unsetenv("VEX_MODEL_API_KEY");
	unsetenv("TZ");
}

static void test_toolenv_operator_names(void **state)
{
	char *extra[] = { "PATH=/opt/x/bin", "VEX_MODEL_API_KEY=named", "FOO=bar", NULL };
	char **env = NULL;

	(void)state;
	assert_int_equal(vex_toolenv_build("/h", "/t", extra, 3, &env), 0);
	assert_string_equal(find(env, "PATH"), "/opt/x/bin");
	assert_string_equal(find(env, "VEX_MODEL_API_KEY"), "named");
	assert_string_equal(find(env, "FOO"), "bar");
	assert_string_equal(find(env, "HOME"), "/h");
	assert_int_equal(count(env), 6); /* PATH HOME TMPDIR LANG + 3 extra - replaced PATH */
	vex_toolenv_free(env);
	vex_toolenv_free(NULL);
}

/* The work directory is 0711 past a umask of 027, made once; an existing one is left as it is. */
static void test_toolenv_workdir_mode(void **state)
{
	char tmpl[] = "/tmp/vex-ut-workdir-XXXXXX", path[64];
	struct stat st;
	mode_t old;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/work", tmpl);
	old = umask(027);
	assert_int_equal(vex_toolenv_workdir(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(vex_toolenv_workdir(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	umask(old);
	snprintf(path, sizeof(path), "%s/no/such", tmpl);
	assert_int_equal(vex_toolenv_workdir(path), -1);
	snprintf(path, sizeof(path), "%s/work", tmpl);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrub_initial_block),
		cmocka_unit_test(test_unset_setenv_copy),
		cmocka_unit_test(test_toolenv_minimum),
		cmocka_unit_test(test_toolenv_operator_names),
		cmocka_unit_test(test_toolenv_workdir_mode),
	};

	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_main();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
