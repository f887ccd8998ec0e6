/* test_ratelimit.c - rate-limit keys and counters over a real memcached, a disabled cache and a dead one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/memcached_fixture.h"

#include "core/base/err.h"
#include "core/base/log.h"
#include "fcgi-app/ratelimit.h"
#include "core/base/timeutil.h"

static struct mc_fixture mcd = { .pid = -1 };
static char dead_servers[64];
static struct vex_cache *live;
static struct vex_config cfg;

static int group_setup(void **state)
{
	(void)state;
	vex_log_init("test_ratelimit", VEX_LOG_ERROR);
	if (mc_start(&mcd, 0) != 0)
		return -1;
	snprintf(dead_servers, sizeof(dead_servers), "127.0.0.1:%d", mc_free_port());
	memset(&cfg, 0, sizeof(cfg));
	cfg.plan_rate_per_minute[VEX_PLAN_FREE] = 3;
	cfg.plan_rate_per_minute[VEX_PLAN_STANDARD] = 30;
	cfg.plan_rate_per_minute[VEX_PLAN_PRO] = 100;
	cfg.plan_rate_per_minute[VEX_PLAN_ENTERPRISE] = 1000;
	return vex_cache_open(mcd.servers, 500, MC_SECRET, &live);
}

static int group_teardown(void **state)
{
	(void)state;
	vex_cache_free(live);
	mc_stop(&mcd);
	return 0;
}

static void test_key(void **state)
{
	char key[VEX_RATE_KEY_MAX + 1], longsub[400];

	(void)state;
	assert_int_equal(vex_ratelimit_key("alice", 28000000, key, sizeof(key)), 0);
	assert_string_equal(key, "vex:rl:alice:28000000");
	/* Spaces, colons and non-ASCII are escaped: memcached keys hold no whitespace or controls. */
	assert_int_equal(vex_ratelimit_key("a b:c\xc3\xa9", 7, key, sizeof(key)), 0);
	assert_string_equal(key, "vex:rl:a%20b%3ac%c3%a9:7");
	/* Too long once escaped: a digest, still distinct per principal and within the key limit. */
	memset(longsub, ' ', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	assert_int_equal(vex_ratelimit_key(longsub, 7, key, sizeof(key)), 0);
	assert_int_equal(strncmp(key, "vex:rl:h", 8), 0);
	assert_true(strlen(key) <= VEX_RATE_KEY_MAX);
	assert_int_equal(strlen(key), strlen("vex:rl:h") + 64 + strlen(":7"));
	assert_int_equal(vex_ratelimit_key("", 7, key, sizeof(key)), VEX_EINVAL);
	assert_int_equal(vex_ratelimit_key("x", -1, key, sizeof(key)), VEX_EINVAL);
	assert_int_equal(vex_ratelimit_key("x", 7, key, 8), VEX_EINVAL);
}

static void test_counts_and_refuses(void **state)
{
	struct vex_principal who = { "", VEX_ROLE_USER, VEX_PLAN_FREE };
	struct vex_rate r;
	int64_t now = vex_now_us();
	int64_t window_end = (now / 1000000 / 60 + 1) * 60;
	int i;

	(void)state;
	snprintf(who.sub, sizeof(who.sub), "rl-%d-%lld", (int)getpid(), (long long)now);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(vex_ratelimit_hit(live, &cfg, &who, now, &r), 0);
		assert_true(r.allowed);
		assert_true(r.counted);
		assert_true(r.limit == 3);
		assert_true(r.remaining == 3 - i);
		assert_true(r.reset_s == window_end);
	}
	assert_int_equal(vex_ratelimit_hit(live, &cfg, &who, now, &r), 0);
	assert_false(r.allowed);
	assert_true(r.remaining == 0);
	/* The next window starts from zero. */
	assert_int_equal(vex_ratelimit_hit(live, &cfg, &who, now + 60 * 1000000LL, &r), 0);
	assert_true(r.allowed);
	assert_true(r.remaining == 2);
	assert_true(r.reset_s == window_end + 60);
	/* Another principal and another plan have their own counters and limits. */
	snprintf(who.sub, sizeof(who.sub), "rl2-%d-%lld", (int)getpid(), (long long)now);
	who.plan = VEX_PLAN_PRO;
	assert_int_equal(vex_ratelimit_hit(live, &cfg, &who, now, &r), 0);
	assert_true(r.allowed);
	assert_true(r.limit == 100);
	assert_true(r.remaining == 99);
}

static void test_fail_open(void **state)
{
	struct vex_principal who = { "nobody-counts", VEX_ROLE_USER, VEX_PLAN_FREE };
	struct vex_cache *off = NULL, *dead = NULL;
	struct vex_rate r;
	int i;

	(void)state;
	assert_int_equal(vex_cache_open(NULL, 100, NULL, 0, &off), 0);
	assert_int_equal(vex_cache_open(dead_servers, 100, MC_SECRET, &dead), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(vex_ratelimit_hit(off, &cfg, &who, vex_now_us(), &r), 0);
		assert_true(r.allowed);
		assert_false(r.counted);
		assert_true(r.remaining == 2);
		assert_int_equal(vex_ratelimit_hit(dead, &cfg, &who, vex_now_us(), &r), 0);
		assert_true(r.allowed);
		assert_false(r.counted);
	}
	vex_cache_free(off);
	vex_cache_free(dead);
}

static void test_cache_incr(void **state)
{
	char key[64];
	uint64_t v = 0;

	(void)state;
	snprintf(key, sizeof(key), "vex:test:incr:%d:%lld", (int)getpid(), (long long)vex_now_us());
	assert_int_equal(vex_cache_incr(live, key, 60, &v), 0);
	assert_true(v == 1);
	assert_int_equal(vex_cache_incr(live, key, 60, &v), 0);
	assert_true(v == 2);
	assert_int_equal(vex_cache_incr(live, "has space", 60, &v), VEX_EINVAL);
	assert_int_equal(vex_cache_incr(live, "", 60, &v), VEX_EINVAL);
	assert_int_equal(vex_cache_incr(NULL, key, 60, &v), VEX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_counts_and_refuses),
		cmocka_unit_test(test_fail_open),
		cmocka_unit_test(test_cache_incr),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
