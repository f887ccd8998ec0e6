/* test_cache_mac.c - the job cache's authenticated values against a real memcached: tampering, keys, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/cache_fixture.h"
#include <libmemcached/memcached.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/timeutil.h"

/* ---- authenticated values: what a process that reaches memcached can and cannot do ---- */

/* The stored value is a header, then the JSON exactly as given; the reader gets the JSON back. */
static void test_mac_round_trip(void **state)
{
	struct vex_cache *c = open_cache();
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1], want[256], *raw;
	size_t len = 0;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	raw = raw_get(mc, id, &len);
	assert_non_null(raw);
	job_json(want, sizeof(want), id, 1, "queued");
	assert_true(len > strlen(want));
	assert_memory_equal(raw, "vex1:", 5);
	assert_memory_equal(raw + len - strlen(want), want, strlen(want));
	expect_cached(c, id, 1, "queued");
	assert_int_equal(vex_cache_rejected(c), 0);
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/*
 * A local process rewrites a real job's entry: plain JSON in the old format with a higher rev, and
 * the real value with its JSON changed. Both are misses, both counted, and the real writer's next
 * rev replaces them (a forged rev is not respected).
 */
static void test_tampered_value(void **state)
{
	struct vex_cache *c = open_cache();
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1], forged[256], *raw, *p;
	size_t len = 0;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	job_json(forged, sizeof(forged), id, 99, "completed");
	raw_set(mc, id, forged, strlen(forged));
	expect_miss(c, id);
	assert_int_equal(vex_cache_rejected(c), 1);
	put_rev(c, id, 2, "running"); /* the writer's gets refuses it too (2) and replaces it */
	expect_cached(c, id, 2, "running");
	assert_int_equal(vex_cache_rejected(c), 2);

	/* The authentic value with one word changed and its header kept. */
	raw = raw_get(mc, id, &len);
	assert_non_null(raw);
	p = strstr(raw, "\"running\"");
	assert_non_null(p);
	memcpy(p + 1, "failed!", 7);
	raw_set(mc, id, raw, len);
	expect_miss(c, id);
	assert_int_equal(vex_cache_rejected(c), 3);
	/* Same rev as the real one, which the writer would otherwise leave alone: replaced. */
	put_rev(c, id, 2, "running");
	expect_cached(c, id, 2, "running");
	/* A forged header with a well-formed but wrong MAC. */
	memset(raw + 22, 'a', 64);
	raw_set(mc, id, raw, len);
	expect_miss(c, id);
	assert_int_equal(vex_cache_rejected(c), 5);
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/* A value written by a handle with another secret (a forger's guess, or a stale server) is a miss. */
static void test_wrong_key(void **state)
{
	static const unsigned char other[] = "another secret, also 32 bytes long";
	struct vex_cache *c = open_cache(), *o = NULL;
	char id[VEX_UUID_LEN + 1];

	(void)state;
	assert_int_equal(vex_cache_open(servers, LIVE_TIMEOUT_MS, other, sizeof(other) - 1, &o), 0);
	vex_uuid7(id);
	put_rev(o, id, 7, "completed");
	expect_cached(o, id, 7, "completed");
	expect_miss(c, id);
	assert_int_equal(vex_cache_rejected(c), 1);
	/* Our writer does not respect its rev 7. */
	put_rev(c, id, 2, "running");
	expect_cached(c, id, 2, "running");
	assert_int_equal(vex_cache_rejected(o), 0);
	vex_cache_free(o);
	vex_cache_free(c);
}

/* Another job's authentic value copied under this job's key is refused: the MAC covers the key name. */
static void test_key_binding(void **state)
{
	struct vex_cache *c = open_cache();
	memcached_st *mc = raw_open();
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], *raw;
	size_t len = 0;

	(void)state;
	vex_uuid7(a);
	vex_uuid7(b);
	put_rev(c, a, 5, "completed");
	put_rev(c, b, 1, "queued");
	raw = raw_get(mc, a, &len);
	assert_non_null(raw);
	raw_set(mc, b, raw, len);
	expect_miss(c, b);
	assert_int_equal(vex_cache_rejected(c), 1);
	expect_cached(c, a, 5, "completed");
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/* Cut anywhere (inside the header, after it, in the JSON) or emptied: a miss, counted each time. */
static void test_truncated_value(void **state)
{
	static const size_t cuts[] = { 0, 1, 4, 5, 21, 22, 87, 88, 89, 120 };
	struct vex_cache *c = open_cache();
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1], *raw;
	size_t len = 0;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	raw = raw_get(mc, id, &len);
	assert_non_null(raw);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_true(cuts[i] < len);
		raw_set(mc, id, raw, cuts[i]);
		expect_miss(c, id);
		assert_int_equal(vex_cache_rejected(c), i + 1);
	}
	/* The whole value again: accepted, not counted. */
	raw_set(mc, id, raw, len);
	expect_cached(c, id, 1, "queued");
	assert_int_equal(vex_cache_rejected(c), sizeof(cuts) / sizeof(cuts[0]));
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/*
 * The counter counts each refused read and each refused copy a writer finds (it replaces them),
 * per handle; a disabled or NULL handle reads 0. Many refusals do not stop service.
 */
static void test_rejection_counter(void **state)
{
	struct vex_cache *c = open_cache(), *off = NULL;
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1];

	(void)state;
	assert_int_equal(vex_cache_rejected(c), 0);
	assert_int_equal(vex_cache_rejected(NULL), 0);
	vex_uuid7(id);
	for (int i = 0; i < 50; i++) {
		raw_set(mc, id, "{\"rev\":1000}", 12);
		expect_miss(c, id);
	}
	assert_int_equal(vex_cache_rejected(c), 50);
	put_rev(c, id, 1, "queued"); /* the writer's gets sees the forgery too */
	assert_int_equal(vex_cache_rejected(c), 51);
	expect_cached(c, id, 1, "queued");
	assert_int_equal(vex_cache_rejected(c), 51);
	assert_int_equal(vex_cache_open(NULL, 100, NULL, 0, &off), 0);
	assert_int_equal(vex_cache_rejected(off), 0);
	vex_cache_free(off);
	memcached_free(mc);
	vex_cache_free(c);
}

/* An enabled cache needs a secret; a disabled one does not. */
static void test_open_needs_secret(void **state)
{
	struct vex_cache *c = NULL;

	(void)state;
	assert_int_equal(vex_cache_open(servers, 100, NULL, 0, &c), VEX_EINVAL);
	assert_null(c);
	assert_int_equal(vex_cache_open(servers, 100, mc_secret, 0, &c), VEX_EINVAL);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_round_trip),   cmocka_unit_test(test_tampered_value),
		cmocka_unit_test(test_wrong_key),        cmocka_unit_test(test_key_binding),
		cmocka_unit_test(test_truncated_value),  cmocka_unit_test(test_rejection_counter),
		cmocka_unit_test(test_open_needs_secret),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
