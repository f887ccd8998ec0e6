/* cache_fixture.h - the cache tests' live memcached (started once per group) and job value helpers. */
#ifndef VEX_TEST_CACHE_FIXTURE_H
#define VEX_TEST_CACHE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/memcached_fixture.h"
#include <libmemcached/memcached.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"

static struct mc_fixture mcd = { .pid = -1 };
static char servers[64];

/* (Re)start memcached on the port chosen at group setup (the outage test restarts it there). */
static inline int start_memcached(void)
{
	return mc_start(&mcd, mcd.port);
}

static inline int group_setup(void **state)
{
	(void)state;
	if (access(MEMCACHED_BIN, X_OK) != 0) {
		fprintf(stderr, "test_cache: %s not found\n", MEMCACHED_BIN);
		return -1;
	}
	mcd.port = mc_free_port();
	if (mcd.port <= 0)
		return -1;
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", mcd.port);
	return start_memcached();
}

static inline int group_teardown(void **state)
{
	(void)state;
	mc_stop(&mcd);
	return 0;
}

/* Against the live memcached: a timeout no loaded CI machine reaches (the outage tests use their own). */
#define LIVE_TIMEOUT_MS 2000

static inline struct vex_cache *open_cache(void)
{
	struct vex_cache *c = NULL;

	assert_int_equal(vex_cache_open(servers, LIVE_TIMEOUT_MS, MC_SECRET, &c), 0);
	assert_non_null(c);
	return c;
}

static inline void job_json(char *buf, size_t len, const char *id, int64_t rev, const char *status)
{
	snprintf(buf, len, "{\"id\":\"%s\",\"owner\":\"alice\",\"input\":{\"rev\":999},\"status\":\"%s\",\"rev\":%lld}",
		 id, status, (long long)rev);
}

static inline void put_rev(struct vex_cache *c, const char *id, int64_t rev, const char *status)
{
	char buf[256];

	job_json(buf, sizeof(buf), id, rev, status);
	assert_int_equal(vex_cache_job_put(c, id, buf, strlen(buf), rev), 0);
}

static inline void expect_cached(struct vex_cache *c, const char *id, int64_t rev, const char *status)
{
	char want[256], *got = NULL;
	size_t len = 0;

	job_json(want, sizeof(want), id, rev, status);
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

static inline memcached_st *raw_open(void)
{
	memcached_st *mc = memcached_create(NULL);

	assert_non_null(mc);
	assert_int_equal(memcached_server_add(mc, "127.0.0.1", (in_port_t)mcd.port), MEMCACHED_SUCCESS);
	return mc;
}

/* The value as stored under "vex:job:<id>" (NUL added), NULL when absent. */
static inline char *raw_get(memcached_st *mc, const char *id, size_t *len)
{
	char key[64];
	uint32_t flags;
	memcached_return_t mrc;
	char *v;

	snprintf(key, sizeof(key), "vex:job:%s", id);
	v = memcached_get(mc, key, strlen(key), len, &flags, &mrc);
	return mrc == MEMCACHED_SUCCESS ? v : NULL;
}

static inline void raw_set(memcached_st *mc, const char *id, const char *val, size_t len)
{
	char key[64];

	snprintf(key, sizeof(key), "vex:job:%s", id);
	assert_int_equal(memcached_set(mc, key, strlen(key), val, len, 0, 0), MEMCACHED_SUCCESS);
}

static inline void expect_miss(struct vex_cache *c, const char *id)
{
	char *got = NULL;
	size_t len = 0;

	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_ENOTFOUND);
	assert_null(got);
}

#endif
