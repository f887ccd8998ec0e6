/* test_config.c - vex.conf: defaults, file values, environment overrides, path resolution, secrets, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/log.h"

extern char **environ;

static char dir[64];    /* a fresh temporary directory, also the cwd during each test */
static char oldcwd[4096];

static void clear_vex_env(void)
{
	/* Collect first: unsetenv while walking environ would skip entries. */
	char names[64][128];
	int n = 0;

	for (char **e = environ; *e && n < 64; e++) {
		if (strncmp(*e, "VEX_", 4) == 0) {
			const char *eq = strchr(*e, '=');
			size_t len = eq ? (size_t)(eq - *e) : strlen(*e);

			if (len < sizeof(names[0])) {
				memcpy(names[n], *e, len);
				names[n++][len] = '\0';
			}
		}
	}
	for (int i = 0; i < n; i++)
		unsetenv(names[i]);
}

static int setup(void **state)
{
	(void)state;
	clear_vex_env();
	if (!getcwd(oldcwd, sizeof(oldcwd)))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/vex-config-XXXXXX");
	if (!mkdtemp(dir) || chdir(dir) != 0)
		return -1;
	return 0;
}

static void rm_rf(const char *path)
{
	/* Only our own temporary tree; execv of rm avoids a shell. */
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = {"rm", "-rf", (char *)path, NULL};

		execv("/bin/rm", argv);
		_exit(127);
	}
	if (pid > 0) {
		int st;

		waitpid(pid, &st, 0);
	}
}

static int teardown(void **state)
{
	(void)state;
	clear_vex_env();
	if (chdir(oldcwd) != 0)
		return -1;
	rm_rf(dir);
	return 0;
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *path_in(const char *name)
{
	static char buf[4][4096 + 300];
	static int i;
	char real[4096];

	assert_non_null(realpath(dir, real));
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s%s", real, name[0] ? "/" : "", name);
	return buf[i];
}

static void test_defaults(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.home, path_in("var"));
	assert_int_equal(cfg.workers, 4);
	assert_string_equal(cfg.api_socket, path_in("var/run/api.sock"));
	assert_string_equal(cfg.runner_socket, path_in("var/run/runner.sock"));
	assert_int_equal(cfg.max_body_bytes, 1048576);
	assert_string_equal(cfg.db_path, path_in("var/vex.db"));
	assert_int_equal(cfg.db_synchronous, 2);
	assert_int_equal(cfg.db_busy_timeout_ms, 5000);
	assert_int_equal(cfg.job_retention_s, 604800);
	assert_string_equal(cfg.cache_servers, "127.0.0.1:11211");
	assert_int_equal(cfg.cache_timeout_ms, 100);
	assert_string_equal(cfg.jwt_secret_file, path_in("var/jwt.secret"));
	assert_int_equal(cfg.jwt_secret_len, 0);
	assert_int_equal(cfg.runner_concurrency, 8);
	assert_int_equal(cfg.lease_ms, 30000);
	assert_int_equal(cfg.rescue_interval_ms, 5000);
	assert_int_equal(cfg.poll_interval_ms, 1000);
	assert_int_equal(cfg.shutdown_grace_ms, 10000);
	assert_int_equal(cfg.default_timeout_ms, 300000);
	assert_int_equal(cfg.max_attempts, 3);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_FREE], 1);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_STANDARD], 2);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_PRO], 5);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_ENTERPRISE], 20);
	assert_int_equal(cfg.log_level, VEX_LOG_INFO);
	vex_config_release(&cfg);
	assert_null(cfg.home);
	vex_config_release(&cfg); /* twice is fine */
	vex_config_release(NULL);

	/* A missing file is fine when optional. */
	assert_int_equal(vex_config_load("nope.conf", 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 4);
	vex_config_release(&cfg);
}

static void test_file_values(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(mkdir("home", 0700), 0);
	write_file("vex.conf",
		   "; comment\n"
		   "# another\n"
		   "[server]\n"
		   "home = home\n"
		   "workers = 16\n"
		   "api_socket = sockets/api.sock\n"
		   "runner_socket = /tmp/abs-runner.sock\n"
		   "max_body_bytes = 2048\n"
		   "\n"
		   "[store]\n"
		   "path = ./data/vex.db\n"
		   "synchronous = NORMAL\n"
		   "busy_timeout_ms = 0\n"
		   "job_retention_s = 0\n"
		   "[cache]\n"
		   "servers = 10.0.0.1:11211, 10.0.0.2:11212,localhost\n"
		   "timeout_ms = 250\n"
		   "[auth]\n"
		   "jwt_secret_file = secret.txt\n"
		   "[runner]\n"
		   "concurrency = 2\n"
		   "lease_ms = 5000\n"
		   "rescue_interval_ms = 100\n"
		   "poll_interval_ms = 10\n"
		   "shutdown_grace_ms = 0\n"
		   "default_timeout_ms = 1000\n"
		   "max_attempts = 1\n"
		   "[limits]\n"
		   "free = 3\n"
		   "standard = 4\n"
		   "pro = 6\n"
		   "enterprise = 100\n"
		   "[log]\n"
		   "level = debug\n");
	write_file("home/secret.txt", "0123456789abcdef0123456789abcdef\r\n\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.home, path_in("home"));
	assert_int_equal(cfg.workers, 16);
	assert_string_equal(cfg.api_socket, path_in("home/sockets/api.sock"));
	assert_string_equal(cfg.runner_socket, "/tmp/abs-runner.sock");
	assert_int_equal(cfg.max_body_bytes, 2048);
	assert_string_equal(cfg.db_path, path_in("home/data/vex.db"));
	assert_int_equal(cfg.db_synchronous, 1);
	assert_int_equal(cfg.db_busy_timeout_ms, 0);
	assert_int_equal(cfg.job_retention_s, 0); /* keep forever */
	assert_string_equal(cfg.cache_servers, "10.0.0.1:11211, 10.0.0.2:11212,localhost");
	assert_int_equal(cfg.cache_timeout_ms, 250);
	assert_string_equal(cfg.jwt_secret_file, path_in("home/secret.txt"));
	/* Trailing CR/LF stripped. */
	assert_int_equal(cfg.jwt_secret_len, 32);
	assert_memory_equal(cfg.jwt_secret, "0123456789abcdef0123456789abcdef", 32);
	assert_int_equal(vex_config_require_secret(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.runner_concurrency, 2);
	assert_int_equal(cfg.lease_ms, 5000);
	assert_int_equal(cfg.rescue_interval_ms, 100);
	assert_int_equal(cfg.poll_interval_ms, 10);
	assert_int_equal(cfg.shutdown_grace_ms, 0);
	assert_int_equal(cfg.default_timeout_ms, 1000);
	assert_int_equal(cfg.max_attempts, 1);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_FREE], 3);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_STANDARD], 4);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_PRO], 6);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_ENTERPRISE], 100);
	assert_int_equal(cfg.log_level, VEX_LOG_DEBUG);
	vex_config_release(&cfg);
}

static void test_env_overrides(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	write_file("vex.conf", "[server]\nworkers = 16\n[store]\nsynchronous = full\n[cache]\nservers = 1.2.3.4:5\n");
	setenv("VEX_SERVER_WORKERS", "2", 1);
	setenv("VEX_STORE_SYNCHRONOUS", "off", 1);
	setenv("VEX_CACHE_SERVERS", "", 1); /* empty disables the cache */
	setenv("VEX_LIMITS_PRO", "9", 1);
	setenv("VEX_LOG_LEVEL", "error", 1);
	setenv("VEX_RUNNER_LEASE_MS", "60000", 1);
	setenv("VEX_SERVER_HOME", "/tmp/ignored-home", 1);
	setenv("VEX_HOME", "elsewhere", 1); /* wins over VEX_SERVER_HOME; relative to the cwd */
	setenv("VEX_STORE_PATH", "/var/lib/vex/vex.db", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.db_synchronous, 0);
	assert_string_equal(cfg.cache_servers, "");
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_PRO], 9);
	assert_int_equal(cfg.log_level, VEX_LOG_ERROR);
	assert_int_equal(cfg.lease_ms, 60000);
	assert_string_equal(cfg.home, path_in("elsewhere"));
	assert_string_equal(cfg.api_socket, path_in("elsewhere/run/api.sock"));
	assert_string_equal(cfg.db_path, "/var/lib/vex/vex.db");
	vex_config_release(&cfg);

	/* A bad environment value names the variable. */
	setenv("VEX_RUNNER_MAX_ATTEMPTS", "many", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "VEX_RUNNER_MAX_ATTEMPTS"));
	assert_non_null(strstr(err, "\"many\""));
	assert_non_null(strstr(err, "from 1 to 100"));
	assert_null(cfg.home); /* left released */
}

/* [limits] rate_<plan>, and the names it had before (*_per_minute) as aliases (docs/configuration.md). */
static void test_rate_keys(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_FREE], 10);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_STANDARD], 30);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_PRO], 100);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_ENTERPRISE], 1000);
	vex_config_release(&cfg);
	/* Old and new names set the same limit; in the file the later line wins. */
	write_file("vex.conf", "[limits]\nfree_per_minute = 5\npro_per_minute = 50\nrate_pro = 70\n"
			       "rate_enterprise = 9000\nenterprise_per_minute = 8000\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_FREE], 5);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_PRO], 70);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_ENTERPRISE], 8000);
	vex_config_release(&cfg);
	/* In the environment the new name wins over the old, whatever the file says. */
	setenv("VEX_LIMITS_FREE_PER_MINUTE", "3", 1);
	setenv("VEX_LIMITS_RATE_FREE", "4", 1);
	setenv("VEX_LIMITS_STANDARD_PER_MINUTE", "33", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_FREE], 4);
	assert_int_equal(cfg.plan_rate_per_minute[VEX_PLAN_STANDARD], 33);
	vex_config_release(&cfg);
	unsetenv("VEX_LIMITS_FREE_PER_MINUTE");
	unsetenv("VEX_LIMITS_RATE_FREE");
	unsetenv("VEX_LIMITS_STANDARD_PER_MINUTE");
	write_file("vex.conf", "[limits]\nrate_free = 0\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "rate_free"));
}

/* [cache] servers takes unix sockets ("/path" or "unix:/path") beside host:port entries. */
static void test_cache_unix_sockets(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	write_file("vex.conf", "[cache]\nservers = /run/vex/mc.sock, unix:/tmp/m.sock,10.0.0.1:11211\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cache_servers, "/run/vex/mc.sock, unix:/tmp/m.sock,10.0.0.1:11211");
	vex_config_release(&cfg);
}

static void test_home_realpath(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(mkdir("real", 0700), 0);
	assert_int_equal(symlink("real", "link"), 0);
	setenv("VEX_HOME", "./link/", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.home, path_in("real"));
	assert_string_equal(cfg.db_path, path_in("real/vex.db"));
	vex_config_release(&cfg);

	/* home naming a file is an error. */
	write_file("afile", "x");
	setenv("VEX_HOME", "afile", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "not a directory"));
}

/* Load "text" as vex.conf and expect an error mentioning every "needles" entry. */
static char last_err[512]; /* expect_error's message */

static void expect_error(const char *text, const char *const *needles)
{
	struct vex_config cfg;
	char *err = last_err;

	write_file("bad.conf", text);
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(vex_config_load("bad.conf", 0, &cfg, err, sizeof(last_err)), VEX_EINVAL);
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("error \"%s\" lacks \"%s\"", err, *needles);
	assert_null(cfg.home);
}

static void test_file_errors(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	expect_error("[server]\nworkers = 4\nthreads = 8\n",
		     (const char *const[]){"bad.conf:3:", "unknown key 'threads'", "[server]", "workers", "api_socket",
					   NULL});
	expect_error("[server]\n[database]\npath = x\n",
		     (const char *const[]){"bad.conf:3:", "unknown section [database]", "store", NULL});
	expect_error("workers = 4\n", (const char *const[]){"bad.conf:1:", "outside any section", NULL});
	expect_error("[server]\nworkers = abc\n",
		     (const char *const[]){"bad.conf:2:", "workers", "\"abc\"", "an integer from 1 to 256", NULL});
	expect_error("[server]\nworkers = 0\n", (const char *const[]){"bad.conf:2:", "from 1 to 256", NULL});
	expect_error("[server]\nworkers = 4x\n", (const char *const[]){"bad.conf:2:", "\"4x\"", NULL});
	expect_error("[server]\nworkers = 99999999999999999999\n", (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[server]\nworkers = -1\n", (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[store]\nsynchronous = yes\n",
		     (const char *const[]){"bad.conf:2:", "synchronous", "off, normal, full", NULL});
	expect_error("[store]\njob_retention_s = -1\n",
		     (const char *const[]){"bad.conf:2:", "job_retention_s", "from 0 to 315360000", NULL});
	expect_error("[log]\nlevel = loud\n",
		     (const char *const[]){"bad.conf:2:", "level", "debug, info, warn, error", NULL});
	expect_error("[cache]\nservers = host:notaport\n",
		     (const char *const[]){"bad.conf:2:", "servers", "host:port", NULL});
	expect_error("[cache]\nservers = a:1,,b:2\n", (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[cache]\nservers = a:70000\n", (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[cache]\nservers = unix:relative.sock\n", (const char *const[]){"bad.conf:2:", "unix socket", NULL});
	expect_error("[cache]\nservers = /has space.sock\n", (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[cache]\nservers = /a/very/long/path/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock\n",
		     (const char *const[]){"bad.conf:2:", NULL});
	expect_error("[store]\npath =\n", (const char *const[]){"bad.conf:2:", "path", "empty", NULL});
	expect_error("[server]\nworkers = 4\nthis is not ini\n",
		     (const char *const[]){"bad.conf:3:", "syntax error", NULL});
	expect_error("[server\nworkers = 4\n", (const char *const[]){"bad.conf:1:", "syntax error", NULL});
	/* The first error is reported. */
	expect_error("[server]\nbogus = 1\nworkers = x\n", (const char *const[]){"bad.conf:2:", "bogus", NULL});
	{
		char text[600];

		snprintf(text, sizeof(text), "[store]\npath = /%0300d\n", 0);
		expect_error(text, (const char *const[]){"bad.conf:2:", "longer than", NULL});
	}
	expect_error("[server]\napi_socket = /tmp/"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaa.sock\n",
		     (const char *const[]){"api_socket", "unix socket", "107", NULL});

	/* Missing file when required. */
	assert_int_equal(vex_config_load("missing.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "missing.conf"));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(vex_config_load(NULL, 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	/* A directory is not a configuration file. */
	assert_int_equal(mkdir("confdir", 0700), 0);
	assert_int_equal(vex_config_load("confdir", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "confdir"));
}

static void test_secret(void **state)
{
	struct vex_config cfg;
	char err[512], big[700];

	(void)state;
	assert_int_equal(mkdir("var", 0700), 0);

	/* No secret anywhere: loads, but require_secret explains. */
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_secret_len, 0);
	assert_int_equal(vex_config_require_secret(&cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "VEX_JWT_SECRET"));
	assert_non_null(strstr(err, "jwt.secret"));
	vex_config_release(&cfg);

	/* Short file secret. */
	write_file("var/jwt.secret", "short\n");
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_secret_len, 5);
	assert_int_equal(vex_config_require_secret(&cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "is 5 bytes; at least 32 are required"));
	vex_config_release(&cfg);

	/* The environment wins over the file, raw bytes (no newline stripping). */
	setenv("VEX_JWT_SECRET", "env-secret-env-secret-env-secret-xx\n", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_secret_len, 36);
	assert_memory_equal(cfg.jwt_secret, "env-secret-env-secret-env-secret-xx\n", 36);
	assert_int_equal(vex_config_require_secret(&cfg, err, sizeof(err)), 0);
	vex_config_release(&cfg);

	setenv("VEX_JWT_SECRET", "0123456789", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(vex_config_require_secret(&cfg, err, sizeof(err)), VEX_EINVAL);
	assert_string_equal(err, "VEX_JWT_SECRET is 10 bytes; at least 32 are required");
	vex_config_release(&cfg);

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("VEX_JWT_SECRET", big, 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "VEX_JWT_SECRET is 699 bytes; at most 512"));
	unsetenv("VEX_JWT_SECRET");

	/* Oversized file. */
	write_file("var/jwt.secret", big);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "jwt.secret"));
	assert_non_null(strstr(err, "at most 512"));

	/* Exactly 512 bytes plus a CRLF is fine. */
	big[512] = '\r';
	big[513] = '\n';
	big[514] = '\0';
	write_file("var/jwt.secret", big);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_secret_len, 512);
	vex_config_release(&cfg);

	/* An unreadable secret file (a directory here: root reads any mode) is an error. */
	unlink("var/jwt.secret");
	assert_int_equal(mkdir("var/jwt.secret", 0700), 0);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "jwt_secret_file"));
	assert_non_null(strstr(err, "cannot read"));
	rmdir("var/jwt.secret");

	assert_int_equal(vex_config_require_secret(NULL, err, sizeof(err)), VEX_EINVAL);
}

/* Write "text" to "name" with mode "mode" (chmod: the umask does not apply). */
static void write_mode(const char *name, const char *text, mode_t mode)
{
	write_file(name, text);
	assert_int_equal(chmod(name, mode), 0);
}

/* [cache] sasl_user and sasl_password_file: both or neither, the password read from a file others may not
 * reach, and no message ever shows it. */
static void test_cache_sasl(void **state)
{
	static const char pw[] = "s3cret-memcached-pass";
	struct vex_config cfg;
	char err[512], big[1100];

	(void)state;
	assert_int_equal(mkdir("var", 0700), 0);

	/* Neither: no SASL. */
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_null(cfg.cache_sasl_user);
	assert_null(cfg.cache_sasl_password_file);
	assert_null(cfg.cache_sasl_password);
	vex_config_release(&cfg);

	/* Both, from the file: the path is under home, the password read without its newline. */
	write_mode("var/mc.pass", "s3cret-memcached-pass\n", 0600);
	write_file("vex.conf", "[cache]\nsasl_user = vex\nsasl_password_file = mc.pass\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cache_sasl_user, "vex");
	assert_string_equal(cfg.cache_sasl_password_file, path_in("var/mc.pass"));
	assert_string_equal(cfg.cache_sasl_password, pw);
	vex_config_release(&cfg);
	assert_null(cfg.cache_sasl_password);

	/* Both, from the environment (which wins over the file); 0640 (vex's group) is fine, CRLF stripped. */
	write_mode("var/other.pass", "from-env-file\r\n", 0640);
	setenv("VEX_CACHE_SASL_USER", "vex-b", 1);
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/other.pass"), 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cache_sasl_user, "vex-b");
	assert_string_equal(cfg.cache_sasl_password, "from-env-file");
	vex_config_release(&cfg);

	/* One without the other: a start error naming both keys and both variables. */
	unsetenv("VEX_CACHE_SASL_PASSWORD_FILE");
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "sasl_user is set but sasl_password_file is not"));
	assert_non_null(strstr(err, "VEX_CACHE_SASL_PASSWORD_FILE"));
	assert_null(cfg.cache_sasl_user); /* released */
	unsetenv("VEX_CACHE_SASL_USER");
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/mc.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "sasl_password_file is set but sasl_user is not"));
	assert_null(strstr(err, pw));
	/* An empty user is no user. */
	setenv("VEX_CACHE_SASL_USER", "", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "sasl_password_file is set but sasl_user is not"));
	unsetenv("VEX_CACHE_SASL_PASSWORD_FILE");
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_null(cfg.cache_sasl_password);
	vex_config_release(&cfg);

	/* Others may read it (or write it, or even run it): refused, naming the file and mode, never the password. */
	setenv("VEX_CACHE_SASL_USER", "vex", 1);
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/mc.pass"), 1);
	static const mode_t open_modes[] = {0644, 0604, 0602, 0601, 0666};
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		char mode[16];

		assert_int_equal(chmod("var/mc.pass", open_modes[i]), 0);
		assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
		snprintf(mode, sizeof(mode), "mode %04o", (unsigned)open_modes[i]);
		assert_non_null(strstr(err, mode));
		assert_non_null(strstr(err, "others may read or change"));
		assert_non_null(strstr(err, path_in("var/mc.pass")));
		assert_null(strstr(err, pw));
	}
	assert_int_equal(chmod("var/mc.pass", 0600), 0);

	/* Missing, a directory, empty, a NUL, too long: refused. */
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/none.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "cannot read"));
	assert_int_equal(mkdir("var/dir.pass", 0700), 0);
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/dir.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	write_mode("var/empty.pass", "\n", 0600);
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/empty.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "is empty"));
	{
		FILE *f = fopen("var/nul.pass", "w");

		assert_non_null(f);
		assert_int_equal(fwrite("ab\0cd", 1, 5, f), 5);
		fclose(f);
		assert_int_equal(chmod("var/nul.pass", 0600), 0);
	}
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/nul.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "NUL"));
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_mode("var/big.pass", big, 0600);
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/big.pass"), 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "more than 1024 bytes"));
	assert_null(strstr(err, "pppp"));
	/* Exactly 1024 bytes and a CRLF is fine; 1025 and a newline is not. */
	big[1024] = '\r';
	big[1025] = '\n';
	big[1026] = '\0';
	write_mode("var/big.pass", big, 0600);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.cache_sasl_password), 1024);
	vex_config_release(&cfg);
	big[1024] = 'p';
	write_mode("var/big.pass", big, 0600);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "more than 1024 bytes"));

	/* A user name with a control character. */
	setenv("VEX_CACHE_SASL_PASSWORD_FILE", path_in("var/mc.pass"), 1);
	setenv("VEX_CACHE_SASL_USER", "vex\tx", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "sasl_user"));
	assert_non_null(strstr(err, "control character"));
}

/* [auth] rotation and lifetimes: a previous secret needs its deadline (RFC 3339 or Unix seconds), differs
 * from the current one; token_ttl_max_s defaults to 30 days and stays within 366. */
static void test_auth_rotation(void **state)
{
	static const char cur[] = "current-secret-current-secret-current-secret";
	static const char prev[] = "previous-secret-previous-secret-previous-secret";
	struct vex_config cfg;
	char err[512];

	(void)state;
	setenv("VEX_JWT_SECRET", cur, 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.token_ttl_max_s, 30 * 24 * 3600);
	assert_int_equal(cfg.token_max_age_s, 0);
	assert_int_equal(cfg.jwt_previous_secret_len, 0);
	vex_config_release(&cfg);

	setenv("VEX_JWT_SECRET_PREVIOUS", prev, 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "jwt_previous_until is not set"));
	setenv("VEX_AUTH_JWT_PREVIOUS_UNTIL", "2027-01-31T00:00:00Z", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_previous_until_s, 1801353600);
	assert_int_equal(cfg.jwt_previous_secret_len, sizeof(prev) - 1);
	vex_config_release(&cfg);
	setenv("VEX_AUTH_JWT_PREVIOUS_UNTIL", "1801353600", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.jwt_previous_until_s, 1801353600);
	vex_config_release(&cfg);
	setenv("VEX_AUTH_JWT_PREVIOUS_UNTIL", "next week", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "jwt_previous_until"));
	setenv("VEX_AUTH_JWT_PREVIOUS_UNTIL", "1801353600", 1);
	setenv("VEX_JWT_SECRET_PREVIOUS", cur, 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "is the current one"));
	setenv("VEX_JWT_SECRET_PREVIOUS", "short", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "at least 32"));
	unsetenv("VEX_JWT_SECRET_PREVIOUS");
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "no previous secret"));
	unsetenv("VEX_AUTH_JWT_PREVIOUS_UNTIL");

	setenv("VEX_AUTH_TOKEN_TTL_MAX_S", "31622401", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), VEX_EINVAL);
	setenv("VEX_AUTH_TOKEN_TTL_MAX_S", "3600", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.token_ttl_max_s, 3600);
	vex_config_release(&cfg);
	unsetenv("VEX_AUTH_TOKEN_TTL_MAX_S");
	unsetenv("VEX_JWT_SECRET");
}

/* [model]: defaults, file values, the URL check; the key's variable is a name, never the key. */
static void test_model(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.model_base_url, "");
	assert_string_equal(cfg.model_name, "");
	assert_string_equal(cfg.model_api_key_env, "VEX_MODEL_API_KEY");
	assert_string_equal(cfg.tools_run_as, "vex-tools");
	assert_int_equal(cfg.model_timeout_ms, 60000);
	assert_int_equal(cfg.model_retries, 3);
	assert_int_equal(cfg.model_max_tokens, 0);
	vex_config_release(&cfg);

	/* the key is read at load, into memory (the environment then drops it); run_as may be empty */
	setenv("VEX_MODEL_API_KEY", "sk-unit", 1);
	setenv("VEX_TOOLS_RUN_AS", "", 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.model_api_key, "sk-unit");
	assert_string_equal(cfg.tools_run_as, "");
	vex_config_release(&cfg);
	unsetenv("VEX_MODEL_API_KEY");
	unsetenv("VEX_TOOLS_RUN_AS");

	write_file("vex.conf", "[model]\nbase_url = http://127.0.0.1:8080/v1\nmodel = qwen2.5\n"
			       "api_key_env = OPENAI_API_KEY\ntimeout_ms = 5000\nretries = 0\nmax_tokens = 512\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.model_base_url, "http://127.0.0.1:8080/v1");
	assert_string_equal(cfg.model_name, "qwen2.5");
	assert_string_equal(cfg.model_api_key_env, "OPENAI_API_KEY");
	assert_null(cfg.model_api_key); /* OPENAI_API_KEY is not set here */
	assert_int_equal(cfg.model_timeout_ms, 5000);
	assert_int_equal(cfg.model_retries, 0);
	assert_int_equal(cfg.model_max_tokens, 512);
	vex_config_release(&cfg);

	setenv("VEX_MODEL_MODEL", "llama3", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.model_name, "llama3");
	vex_config_release(&cfg);

	write_file("vex.conf", "[model]\nbase_url = ftp://example.com/v1\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "vex.conf:2: [model] base_url"));
	assert_non_null(strstr(err, "http://"));
	write_file("vex.conf", "[model]\nretries = 11\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "from 0 to 10"));
}

/* Private files: socket and store groups (checked against the host), the webhook key files. */
static void test_groups_and_key_files(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.socket_group, "");
	assert_string_equal(cfg.store_group, "");
	assert_string_equal(cfg.hook_key_file, path_in("var/webhook.key"));
	assert_null(cfg.hook_key_file_previous);
	vex_config_release(&cfg);

	write_file("g.conf", "[server]\nsocket_group = root\n[store]\ngroup = root\n"
			     "[webhooks]\nsecret_key_file = keys/hook.key\nsecret_key_file_previous = /etc/old.key\n");
	assert_int_equal(vex_config_load("g.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.socket_group, "root");
	assert_string_equal(cfg.store_group, "root");
	assert_string_equal(cfg.hook_key_file, path_in("var/keys/hook.key"));
	assert_string_equal(cfg.hook_key_file_previous, "/etc/old.key");
	vex_config_release(&cfg);

	setenv("VEX_WEBHOOKS_SECRET_KEY_FILE_PREVIOUS", "prev.key", 1);
	setenv("VEX_SERVER_SOCKET_GROUP", "", 1);
	assert_int_equal(vex_config_load("g.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.hook_key_file_previous, path_in("var/prev.key"));
	assert_string_equal(cfg.socket_group, "");
	vex_config_release(&cfg);

	setenv("VEX_STORE_GROUP", "no-such-group-here", 1);
	assert_int_equal(vex_config_load("g.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "[store] group: no group \"no-such-group-here\""));
	unsetenv("VEX_STORE_GROUP");
	setenv("VEX_SERVER_SOCKET_GROUP", "no-such-group-here", 1);
	assert_int_equal(vex_config_load("g.conf", 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "[server] socket_group"));
}

/* Per-owner caps: per plan, defaults from core/base/limits.h, file and environment, the old keys explained. */
static void test_caps(void **state)
{
	static const int agents[] = VEX_CAP_AGENTS_DEFAULT, streams[] = VEX_CAP_STREAMS_DEFAULT;
	struct vex_config cfg;
	char err[1024];

	(void)state;
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.caps[VEX_CAP_AGENTS][VEX_PLAN_FREE], agents[VEX_PLAN_FREE]);
	assert_int_equal(cfg.caps[VEX_CAP_STREAMS][VEX_PLAN_ENTERPRISE], streams[VEX_PLAN_ENTERPRISE]);
	vex_config_release(&cfg);
	write_file("caps.conf", "[limits]\nmax_agents_pro = 7\nmax_queued_jobs_free = 1\nfree = 2\n");
	setenv("VEX_LIMITS_MAX_WEBHOOKS_ENTERPRISE", "3", 1);
	assert_int_equal(vex_config_load("caps.conf", 0, &cfg, err, sizeof(err)), 0);
	unsetenv("VEX_LIMITS_MAX_WEBHOOKS_ENTERPRISE");
	assert_int_equal(cfg.caps[VEX_CAP_AGENTS][VEX_PLAN_PRO], 7);
	assert_int_equal(cfg.caps[VEX_CAP_AGENTS][VEX_PLAN_FREE], agents[VEX_PLAN_FREE]);
	assert_int_equal(cfg.caps[VEX_CAP_QUEUED_JOBS][VEX_PLAN_FREE], 1);
	assert_int_equal(cfg.caps[VEX_CAP_WEBHOOKS][VEX_PLAN_ENTERPRISE], 3);
	assert_int_equal(cfg.plan_concurrency[VEX_PLAN_FREE], 2);
	vex_config_release(&cfg);
	expect_error("[limits]\nmax_schedules_standard = 0\n",
		     (const char *const[]){"bad.conf:2:", "max_schedules_standard", "from 1 to 10000000", NULL});
	expect_error("[limits]\nmax_agents = 5\n",
		     (const char *const[]){"bad.conf:2:", "unknown key 'max_agents'", "max_agents_free", NULL});
	expect_error("[webhooks]\nper_owner = 5\n",
		     (const char *const[]){"bad.conf:2:", "[limits] max_webhooks_free", "max_webhooks_enterprise", NULL});
	expect_error("[streams]\nper_owner = 5\n", (const char *const[]){"bad.conf:2:", "max_streams_pro", NULL});
}

static void test_plans(void **state)
{
	enum vex_plan p;

	(void)state;
	assert_int_equal(vex_plan_parse("free", &p), 0);
	assert_int_equal(p, VEX_PLAN_FREE);
	assert_int_equal(vex_plan_parse("standard", &p), 0);
	assert_int_equal(p, VEX_PLAN_STANDARD);
	assert_int_equal(vex_plan_parse("pro", &p), 0);
	assert_int_equal(p, VEX_PLAN_PRO);
	assert_int_equal(vex_plan_parse("enterprise", &p), 0);
	assert_int_equal(p, VEX_PLAN_ENTERPRISE);
	p = VEX_PLAN_PRO;
	assert_int_equal(vex_plan_parse("gold", &p), VEX_EINVAL);
	assert_int_equal(vex_plan_parse("Free", &p), VEX_EINVAL);
	assert_int_equal(vex_plan_parse(NULL, &p), VEX_EINVAL);
	assert_int_equal(p, VEX_PLAN_PRO);
	assert_string_equal(vex_plan_name(VEX_PLAN_ENTERPRISE), "enterprise");
	assert_string_equal(vex_plan_name(VEX_PLAN_FREE), "free");
}

/* [store] url: a path or a sqlite: URL names the SQLite file (replacing [store] path), a postgresql:// URL the
 * PostgreSQL store; no error or log name repeats a password. */
static void test_store_url(void **state)
{
	struct vex_config cfg;
	char err[512];

	(void)state;
	write_file("vex.conf", "[server]\nhome = home\n[store]\npath = ignored.db\nurl = sqlite:data/vex.db\n");
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.db_path, path_in("home/data/vex.db"));
	vex_config_release(&cfg);

	setenv("VEX_STORE_URL", "sqlite:///var/lib/vex/vex.db", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.db_path, "/var/lib/vex/vex.db");
	vex_config_release(&cfg);

	setenv("VEX_STORE_URL", "/srv/vex.db", 1);
	assert_int_equal(vex_config_load("vex.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.db_path, "/srv/vex.db");
	vex_config_release(&cfg);

	setenv("VEX_STORE_URL", "", 1); /* empty: unset, [store] path as before */
	write_file("plain.conf", "[server]\nhome = home\n[store]\npath = plain.db\n");
	assert_int_equal(vex_config_load("plain.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.db_path, path_in("home/plain.db"));
	vex_config_release(&cfg);
	unsetenv("VEX_STORE_URL");

	/* PostgreSQL: the URL is what the store opens; logs get it without its passwords; the SQLite path stays
	 * the stem of this host's own files. */
	write_file("pg.conf", "[server]\nhome = home\n[store]\nurl = postgresql://vex:s3cret@db.internal:5433/vex"
			      "?sslmode=require&password=other&sslpassword=key&application_name=a\n");
	assert_int_equal(vex_config_load("pg.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.store_pg, 1);
	assert_string_equal(cfg.store, "postgresql://vex:s3cret@db.internal:5433/vex?sslmode=require&password=other"
				       "&sslpassword=key&application_name=a");
	assert_string_equal(cfg.store_label, "postgresql://vex:***@db.internal:5433/vex?sslmode=require&password=***"
					     "&sslpassword=***&application_name=a");
	assert_string_equal(cfg.db_path, path_in("home/vex.db"));
	vex_config_release(&cfg);
	setenv("VEX_STORE_URL", "postgres://db/vex?user=vex", 1);
	assert_int_equal(vex_config_load("plain.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.store_pg, 1);
	assert_string_equal(cfg.store, "postgres://db/vex?user=vex");
	assert_string_equal(cfg.store_label, "postgres://db/vex?user=vex");
	assert_string_equal(cfg.db_path, path_in("home/plain.db"));
	vex_config_release(&cfg);
	setenv("VEX_STORE_URL", "postgresql://vex@db.internal/vex", 1); /* a user without a password: kept */
	assert_int_equal(vex_config_load("plain.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.store_label, "postgresql://vex@db.internal/vex");
	vex_config_release(&cfg);
	unsetenv("VEX_STORE_URL");
	/* SQLite: both are the path. */
	assert_int_equal(vex_config_load("plain.conf", 0, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.store_pg, 0);
	assert_string_equal(cfg.store, path_in("home/plain.db"));
	assert_string_equal(cfg.store_label, path_in("home/plain.db"));
	vex_config_release(&cfg);
	expect_error("[store]\nurl = mysql://root:s3cret@db/vex\n",
		     (const char *const[]){ "unknown scheme \"mysql\"", NULL });
	assert_null(strstr(last_err, "s3cret"));
	expect_error("[store]\nurl = sqlite://relative/vex.db\n", (const char *const[]){ "absolute path", NULL });
	expect_error("[store]\nurl = sqlite:\n", (const char *const[]){ "names no database file", NULL });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_home_realpath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_unix_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_sasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_and_key_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_url, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
