/* test_ratelimit.c - the GCRA limiter and its CAS values over a real memcached, a disabled cache and a dead one. */
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
	assert_int_equal(vex_ratelimit_key("alice", key, sizeof(key)), 0);
	assert_string_equal(key, "vex:rl:alice");
	/* Spaces, colons and non-ASCII are escaped: memcached keys hold no whitespace or controls. */
	assert_int_equal(vex_ratelimit_key("a b:c\xc3\xa9", key, sizeof(key)), 0);
	assert_string_equal(key, "vex:rl:a%20b%3ac%c3%a9");
	/* Too long once escaped: a digest, still distinct per principal and within the key limit. */
	memset(longsub, ' ', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	assert_int_equal(vex_ratelimit_key(longsub, key, sizeof(key)), 0);
	assert_int_equal(strncmp(key, "vex:rl:h", 8), 0);
	assert_int_equal(strlen(key), strlen("vex:rl:h") + 64);
	assert_int_equal(vex_ratelimit_key("", key, sizeof(key)), VEX_EINVAL);
	assert_int_equal(vex_ratelimit_key("x", key, 8), VEX_EINVAL);
}

/* A principal of its own for each test, so runs never share a bucket. */
static void fresh(struct vex_principal *who, const char *tag, enum vex_plan plan)
{
	memset(who, 0, sizeof(*who));
	snprintf(who->sub, sizeof(who->sub), "%s-%d-%lld", tag, (int)getpid(), (long long)vex_now_us());
	who->plan = plan;
}

static void hit(struct vex_principal *who, int64_t at, struct vex_rate *r)
{
	assert_int_equal(vex_ratelimit_hit(live, NULL, &cfg, who, at, r), 0);
	assert_true(r->counted);
}

/* free = 3 a minute: one request every 20 s, bursts of 3 (docs/limits.md, "The algorithm"). */
static void test_gcra_burst_then_steady(void **state)
{
	struct vex_principal who;
	struct vex_rate r;
	int64_t now = vex_now_us(), s = 1000000;
	int i;

	(void)state;
	fresh(&who, "rl-burst", VEX_PLAN_FREE);
	for (i = 1; i <= 3; i++) {
		hit(&who, now, &r);
		assert_true(r.allowed);
		assert_true(r.limit == 3);
		assert_true(r.remaining == 3 - i);
		/* Whole again once every admitted request has drained: i × 20 s from now. */
		assert_true(r.reset_s == (now + i * 20 * s + s - 1) / s);
		assert_true(r.retry_after_s == 0);
	}
	/* The fourth at the same instant: refused, one more passes in 20 s, whole again in 60 s. */
	hit(&who, now, &r);
	assert_false(r.allowed);
	assert_true(r.remaining == 0);
	assert_true(r.retry_after_s == 20);
	assert_true(r.reset_s == (now + 60 * s + s - 1) / s);
	/* Refusals write nothing: hammering does not push the next slot further away. */
	for (i = 0; i < 5; i++) {
		hit(&who, now + 10 * s, &r);
		assert_false(r.allowed);
		assert_true(r.retry_after_s == 10);
	}
	hit(&who, now + 20 * s, &r);
	assert_true(r.allowed);
	assert_true(r.remaining == 0);
	hit(&who, now + 20 * s, &r);
	assert_false(r.allowed);
	/* Idle for longer than a minute: the whole burst is back. */
	hit(&who, now + 200 * s, &r);
	assert_true(r.allowed);
	assert_true(r.remaining == 2);
	assert_true(r.reset_s == (now + 220 * s + s - 1) / s);
}

/* Any 60 s holds at most limit + 60 s / emission requests: no double burst across a boundary. */
static void test_gcra_never_more_than_the_rate(void **state)
{
	struct vex_principal who;
	struct vex_rate r;
	int64_t now = vex_now_us(), s = 1000000, t;
	int passed = 0;

	(void)state;
	fresh(&who, "rl-rate", VEX_PLAN_FREE);
	/* One attempt a second for three minutes: 3 at once, then one every 20 s. */
	for (t = 0; t < 180; t++) {
		hit(&who, now + t * s, &r);
		passed += r.allowed;
	}
	assert_int_equal(passed, 3 + 179 / 20);
}

static void test_principals_and_plans_apart(void **state)
{
	struct vex_principal a, b;
	struct vex_rate r;
	int64_t now = vex_now_us();
	int i;

	(void)state;
	fresh(&a, "rl-a", VEX_PLAN_FREE);
	fresh(&b, "rl-b", VEX_PLAN_PRO);
	for (i = 0; i < 4; i++)
		hit(&a, now, &r);
	assert_false(r.allowed);
	/* Another principal has its own allowance and its plan's limit. */
	hit(&b, now, &r);
	assert_true(r.allowed);
	assert_true(r.limit == 100);
	assert_true(r.remaining == 99);
	for (i = 0; i < 99; i++)
		hit(&b, now, &r);
	assert_true(r.allowed);
	assert_true(r.remaining == 0);
	hit(&b, now, &r);
	assert_false(r.allowed);
	assert_true(r.retry_after_s == 1); /* 0.6 s, rounded up */
}

/* Four processes, each with its own handle, race for one principal's allowance at one instant:
 * exactly "limit" requests are admitted and counted (CAS makes the read-modify-write atomic),
 * with or without the pool's lanes (which only make the processes take turns). */
static void race(const char *sub, struct vex_ratelanes *lanes)
{
	struct vex_principal who;
	int64_t now = vex_now_us();
	int fds[2], i, status;
	long counted = 0, uncounted = 0, got[2];
	pid_t pids[4];

	fresh(&who, sub, VEX_PLAN_STANDARD);
	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_cache *own = NULL;
			struct vex_rate r;
			long mine[2] = { 0, 0 };

			close(fds[0]);
			if (vex_cache_open(mcd.servers, 500, MC_SECRET, &own) != 0)
				_exit(2);
			for (int k = 0; k < 40; k++) {
				vex_ratelimit_hit(own, lanes, &cfg, &who, now, &r);
				if (r.allowed)
					mine[r.counted ? 0 : 1]++;
			}
			vex_cache_free(own);
			_exit(write(fds[1], mine, sizeof(mine)) == (ssize_t)sizeof(mine) ? 0 : 3);
		}
	}
	close(fds[1]);
	for (i = 0; i < 4; i++) {
		assert_int_equal(read(fds[0], got, sizeof(got)), (ssize_t)sizeof(got));
		counted += got[0];
		uncounted += got[1];
	}
	close(fds[0]);
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(counted, 30);
	/* Passing uncounted needs RATE_CAS_TRIES lost races in a row, each to an admitted request. */
	assert_true(uncounted <= 30);
}

static void test_concurrent_processes(void **state)
{
	(void)state;
	race("rl-race", NULL);
}

static void test_concurrent_processes_in_lanes(void **state)
{
	struct vex_ratelanes *lanes = NULL;

	(void)state;
	assert_int_equal(vex_ratelimit_lanes_new(&lanes), 0);
	race("rl-race-lanes", lanes);
	race("rl-race-lanes-2", lanes); /* the lanes are free again afterwards */
	vex_ratelimit_lanes_free(lanes);
	vex_ratelimit_lanes_free(NULL);
}

/* A value written by another secret (whoever reaches memcached) is not believed: it cannot lock anyone out. */
static void test_forged_value_ignored(void **state)
{
	static const unsigned char other[] = "not the service's secret, 32 bytes+";
	struct vex_principal who;
	struct vex_cache *forger = NULL;
	char key[VEX_RATE_KEY_MAX + 1];
	struct vex_rate r;
	uint64_t v = 0, cas = 0;
	int64_t now = vex_now_us();

	(void)state;
	fresh(&who, "rl-forged", VEX_PLAN_FREE);
	assert_int_equal(vex_ratelimit_key(who.sub, key, sizeof(key)), 0);
	assert_int_equal(vex_cache_open(mcd.servers, 500, other, sizeof(other) - 1, &forger), 0);
	assert_int_equal(vex_cache_u64_cas(forger, key, (uint64_t)now + 3600000000ULL, 60, 0), 0);
	hit(&who, now, &r);
	assert_true(r.allowed);
	assert_true(r.remaining == 2);
	/* ... and the limiter's own value replaced it. */
	assert_int_equal(vex_cache_u64_gets(live, key, &v, &cas), 0);
	assert_true(v == (uint64_t)now + 20000000ULL);
	vex_cache_free(forger);
}

static void test_u64_cas(void **state)
{
	char key[64];
	uint64_t v = 7, cas = 7, cas2 = 0;

	(void)state;
	snprintf(key, sizeof(key), "vex:test:u64:%d:%lld", (int)getpid(), (long long)vex_now_us());
	assert_int_equal(vex_cache_u64_gets(live, key, &v, &cas), 0);
	assert_true(v == 0 && cas == 0); /* absent */
	assert_int_equal(vex_cache_u64_cas(live, key, 41, 60, 0), 0);
	assert_int_equal(vex_cache_u64_cas(live, key, 99, 60, 0), VEX_ECONFLICT); /* add: already there */
	assert_int_equal(vex_cache_u64_gets(live, key, &v, &cas), 0);
	assert_true(v == 41 && cas != 0);
	assert_int_equal(vex_cache_u64_cas(live, key, 42, 60, cas), 0);
	assert_int_equal(vex_cache_u64_cas(live, key, 43, 60, cas), VEX_ECONFLICT); /* stale cas */
	assert_int_equal(vex_cache_u64_gets(live, key, &v, &cas2), 0);
	assert_true(v == 42 && cas2 != cas);
	assert_int_equal(vex_cache_u64_gets(live, "has space", &v, &cas), VEX_EINVAL);
	assert_int_equal(vex_cache_u64_cas(live, "", 1, 60, 0), VEX_EINVAL);
	assert_int_equal(vex_cache_u64_gets(NULL, key, &v, &cas), VEX_EINVAL);
}

static void test_fail_open(void **state)
{
	struct vex_principal who = { "nobody-counts", VEX_ROLE_USER, VEX_PLAN_FREE };
	struct vex_cache *off = NULL, *dead = NULL;
	struct vex_rate r;
	uint64_t v, cas;
	int i;

	(void)state;
	assert_int_equal(vex_cache_open(NULL, 100, NULL, 0, &off), 0);
	assert_int_equal(vex_cache_open(dead_servers, 100, MC_SECRET, &dead), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(vex_ratelimit_hit(off, NULL, &cfg, &who, vex_now_us(), &r), 0);
		assert_true(r.allowed);
		assert_false(r.counted);
		assert_true(r.remaining == 2);
		assert_int_equal(vex_ratelimit_hit(dead, NULL, &cfg, &who, vex_now_us(), &r), 0);
		assert_true(r.allowed);
		assert_false(r.counted);
		assert_true(r.remaining == 2);
	}
	assert_int_equal(vex_cache_u64_gets(off, "k", &v, &cas), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_u64_gets(dead, "k", &v, &cas), VEX_EIO);
	assert_int_equal(vex_cache_u64_cas(dead, "k", 1, 60, 0), VEX_EIO);
	vex_cache_free(off);
	vex_cache_free(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_gcra_burst_then_steady),
		cmocka_unit_test(test_gcra_never_more_than_the_rate),
		cmocka_unit_test(test_principals_and_plans_apart),
		cmocka_unit_test(test_concurrent_processes),
		cmocka_unit_test(test_concurrent_processes_in_lanes),
		cmocka_unit_test(test_forged_value_ignored),
		cmocka_unit_test(test_u64_cas),
		cmocka_unit_test(test_fail_open),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
