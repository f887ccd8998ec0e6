/* test_caps.c - per-owner caps: an owner's limit by plan (none for admins), the code naming each cap, the refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/caps.h"
#include "core/base/err.h"

static void test_limit_by_plan(void **state)
{
	struct vex_config cfg;
	struct vex_principal who;
	struct vex_caps caps;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.caps[VEX_CAP_AGENTS][VEX_PLAN_FREE] = 2;
	cfg.caps[VEX_CAP_AGENTS][VEX_PLAN_PRO] = 20;
	cfg.caps[VEX_CAP_STREAMS][VEX_PLAN_PRO] = 5;
	assert_int_equal(vex_cap_limit(&cfg, VEX_CAP_AGENTS, VEX_PLAN_FREE, 0), 2);
	assert_int_equal(vex_cap_limit(&cfg, VEX_CAP_AGENTS, VEX_PLAN_PRO, 0), 20);
	assert_int_equal(vex_cap_limit(&cfg, VEX_CAP_AGENTS, VEX_PLAN_PRO, 1), 0); /* admins: none */
	assert_int_equal(vex_cap_limit(&cfg, VEX_CAP_COUNT, VEX_PLAN_PRO, 0), 0);
	assert_int_equal(vex_cap_limit(NULL, VEX_CAP_AGENTS, VEX_PLAN_PRO, 0), 0);
	memset(&who, 0, sizeof(who));
	who.plan = VEX_PLAN_PRO;
	vex_caps_of(&cfg, &who, &caps);
	assert_int_equal(caps.max[VEX_CAP_AGENTS], 20);
	assert_int_equal(caps.max[VEX_CAP_STREAMS], 5);
	who.role = VEX_ROLE_ADMIN;
	vex_caps_of(&cfg, &who, &caps);
	assert_int_equal(caps.max[VEX_CAP_AGENTS], 0);
}

static void test_refusal(void **state)
{
	static const char *const codes[VEX_CAP_COUNT] = {
		"AGENT_LIMIT_REACHED", "SCHEDULE_LIMIT_REACHED", "QUEUED_JOB_LIMIT_REACHED", "WEBHOOK_LIMIT_REACHED",
		"STREAM_LIMIT_REACHED",
	};
	struct vex_field_error e;

	(void)state;
	for (int i = 0; i < VEX_CAP_COUNT; i++) {
		assert_string_equal(vex_cap_code((enum vex_cap)i), codes[i]);
		assert_int_equal(vex_cap_refuse((enum vex_cap)i, 7, VEX_PLAN_STANDARD, &e), VEX_ELIMIT);
		assert_int_equal(e.status, 409);
		assert_string_equal(e.code, codes[i]);
		assert_string_equal(e.field, "");
		assert_int_equal(e.limit, 7);
		assert_non_null(strstr(e.message, "at most 7 "));
		assert_non_null(strstr(e.message, "per owner on the standard plan"));
	}
	vex_cap_refuse(VEX_CAP_QUEUED_JOBS, 100, VEX_PLAN_FREE, &e);
	assert_string_equal(e.message, "queued-job limit reached: at most 100 queued jobs per owner on the free plan; "
				       "retry when some have started, or cancel one");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_by_plan),
		cmocka_unit_test(test_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
