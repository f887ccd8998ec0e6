/* test_store_runners.c - runner heartbeats and the runner list, on SQLite and, from tools/run-unit's second pass
 * (tests/unit/postgres.list), on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/stats.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "runners"
#include "tests/unit/store_fixture.h"

static void test_heartbeats(void **state)
{
	int64_t t = 0;

	(void)state;
	assert_int_equal(vex_store_runner_last_beat(store, &t), VEX_ENOTFOUND);
	assert_int_equal(vex_store_runner_beat(store, "r1", 10, 5000), 0);
	assert_int_equal(vex_store_runner_beat(store, "r2", 11, 7000), 0);
	assert_int_equal(vex_store_runner_beat(store, "r1", 10, 9000), 0);
	assert_int_equal(vex_store_runner_last_beat(store, &t), 0);
	assert_true(t == 9000);
	assert_int_equal(vex_store_runner_gone(store, "r1"), 0);
	assert_int_equal(vex_store_runner_last_beat(store, &t), 0);
	assert_true(t == 7000);
	assert_int_equal(vex_store_runner_gone(store, "r2"), 0);
	assert_int_equal(vex_store_runner_gone(store, "never-beat"), 0);
	t = 123;
	assert_int_equal(vex_store_runner_last_beat(store, &t), VEX_ENOTFOUND);
	assert_true(t == 123); /* untouched on failure */
	assert_int_equal(vex_store_runner_beat(store, "", 1, 1), VEX_EINVAL);
	assert_int_equal(vex_store_runner_beat(store, NULL, 1, 1), VEX_EINVAL);
	assert_int_equal(vex_store_runner_gone(store, NULL), VEX_EINVAL);
}

/* A report replaces every field of its runner's row; the list comes by id, bytes compared ("B" before
 * "a"), and a plain beat keeps the fields only a report sets. */
static void test_report_and_list(void **state)
{
	struct vex_runner_info r = { .pid = 42, .started_at = 10, .beat_at = 20, .slots = 4, .busy = 1 };
	struct vex_runner_infos l = { NULL, 0 };

	(void)state;
	assert_int_equal(vex_store_runners_list(store, &l), 0);
	assert_int_equal(l.n, 0);
	vex_runner_infos_release(&l);
	snprintf(r.id, sizeof(r.id), "a-host:42");
	snprintf(r.host, sizeof(r.host), "a-host");
	assert_int_equal(vex_store_runner_report(store, &r), 0);
	r.busy = 3;
	r.beat_at = 30;
	assert_int_equal(vex_store_runner_report(store, &r), 0);
	snprintf(r.id, sizeof(r.id), "B-host:7");
	snprintf(r.host, sizeof(r.host), "B-host \xc3\xa9"); /* UTF-8 comes back as stored */
	r.pid = 7;
	assert_int_equal(vex_store_runner_report(store, &r), 0);
	assert_int_equal(vex_store_runner_beat(store, "a-host:42", 43, 50), 0);

	assert_int_equal(vex_store_runners_list(store, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "B-host:7");
	assert_string_equal(l.items[0].host, "B-host \xc3\xa9");
	assert_int_equal(l.items[0].pid, 7);
	assert_string_equal(l.items[1].id, "a-host:42");
	assert_string_equal(l.items[1].host, "a-host");
	assert_int_equal(l.items[1].pid, 43);
	assert_true(l.items[1].beat_at == 50);
	assert_true(l.items[1].started_at == 10);
	assert_int_equal(l.items[1].slots, 4);
	assert_int_equal(l.items[1].busy, 3);
	vex_runner_infos_release(&l);

	r.id[0] = '\0';
	assert_int_equal(vex_store_runner_report(store, &r), VEX_EINVAL);
	assert_int_equal(vex_store_runner_report(store, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_runners_list(store, NULL), VEX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heartbeats, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_report_and_list, store_setup, store_teardown),
	};

	vex_log_init("test_store_runners", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
