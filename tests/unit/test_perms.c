/* test_perms.c - private files: umask, the database files' modes (fixed at start), the run directory, the socket group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/perms.h"
#include "tests/unit/store_fixture.h"

static char dir[64];
static char db[128], run[128], api[160], runner[160];
static struct vex_config cfg;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-perms-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/vex.db", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(api, sizeof(api), "%s/run/api.sock", dir);
	snprintf(runner, sizeof(runner), "%s/elsewhere/runner.sock", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.home = dir;
	cfg.db_path = db;
	cfg.api_socket = api;
	cfg.stream_socket = api;
	cfg.runner_socket = runner;
	cfg.commit_socket = runner;
	cfg.socket_group = "";
	cfg.store_group = "";
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_unlink(db);
	rmdir(run);
	return rmdir(dir);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void touch(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_umask(void **state)
{
	mode_t old;

	(void)state;
	vex_perms_umask();
	old = umask(0);
	umask(old);
	assert_int_equal(old, 027);
}

static void test_store_files(void **state)
{
	char wal[160], shm[160];

	(void)state;
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);
	/* absent: created 0600, empty */
	assert_int_equal(vex_perms_store_files(&cfg), 0);
	assert_int_equal(mode_of(db), 0600);
	/* left too open by an earlier version: fixed */
	assert_int_equal(chmod(db, 0644), 0);
	touch(wal, 0666);
	touch(shm, 0644);
	assert_int_equal(vex_perms_store_files(&cfg), 0);
	assert_int_equal(mode_of(db), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(mode_of(shm), 0600);
	/* a backup group: 0640 with it */
	cfg.store_group = "root";
	assert_int_equal(vex_perms_store_files(&cfg), 0);
	assert_int_equal(mode_of(db), 0640);
	assert_int_equal(mode_of(wal), 0640);
	cfg.store_group = "no-such-group-here";
	assert_int_equal(vex_perms_store_files(&cfg), VEX_EINVAL);
}

static void test_rundir_and_group(void **state)
{
	gid_t gid;

	(void)state;
	/* the socket group: named, or the default (a group this process may use) */
	cfg.socket_group = "no-such-group-here";
	assert_int_equal(vex_perms_socket_gid(&cfg, &gid), VEX_EINVAL);
	cfg.socket_group = "root";
	assert_int_equal(vex_perms_socket_gid(&cfg, &gid), 0);
	assert_int_equal(gid, 0);
	cfg.socket_group = "";
	assert_int_equal(vex_perms_socket_gid(&cfg, &gid), 0);
	/* created 0750, and an existing one fixed */
	assert_int_equal(vex_perms_rundir(&cfg, getegid()), 0);
	assert_int_equal(mode_of(run), 0750);
	assert_int_equal(chmod(run, 0777), 0);
	assert_int_equal(vex_perms_rundir(&cfg, getegid()), 0);
	assert_int_equal(mode_of(run), 0750);
	/* no socket there: not created */
	assert_int_equal(rmdir(run), 0);
	cfg.api_socket = cfg.stream_socket = runner;
	assert_int_equal(vex_perms_rundir(&cfg, getegid()), 0);
	assert_int_equal(access(run, F_OK), -1);
	/* a sibling whose name starts the same is not inside */
	snprintf(api, sizeof(api), "%s/runner/api.sock", dir);
	cfg.api_socket = api;
	assert_int_equal(vex_perms_rundir(&cfg, getegid()), 0);
	assert_int_equal(access(run, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_umask),
		cmocka_unit_test_setup_teardown(test_store_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rundir_and_group, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
