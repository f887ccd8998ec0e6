/* test_jobcache_view.c - the dialects' bodies kept beside a cached job (core/jobs/jobcache.c) and the cache calls
 * under them (vex_cache_job_gets, vex_cache_job_replace), against a real memcached. */
#include "tests/unit/cache_fixture.h"

#include "core/base/ids.h"
#include "core/jobs/jobcache.h"

#define BODY_V "{\"job_id\":\"x\",\"status\":\"completed\"}"
#define BODY_C "{\"status\":\"completed\",\"execution_time_ms\":3}"

/* The view "tag" of job "id": its body (caller frees), NULL when none is kept; the value's JSON must be "json". */
static char *view_of(struct vex_cache *c, const char *id, char tag, const char *json, const char *owner)
{
	struct vex_jobcache_view v;
	char *body = NULL;

	assert_int_equal(vex_jobcache_get_view(c, id, tag, &v), 0);
	assert_int_equal(v.item.json_len, strlen(json));
	assert_memory_equal(v.item.body, json, strlen(json));
	if (v.body) {
		assert_int_equal(v.owner_len, strlen(owner));
		assert_memory_equal(v.owner, owner, v.owner_len);
		body = strndup(v.body, v.body_len);
	}
	vex_jobcache_view_release(&v);
	return body;
}

static void keep(struct vex_cache *c, const char *id, char tag, const char *body)
{
	struct vex_jobcache_view v;

	assert_int_equal(vex_jobcache_get_view(c, id, tag, &v), 0);
	assert_null(v.body);
	vex_jobcache_keep_view(c, id, &v, tag, "alice", body, strlen(body));
	vex_jobcache_view_release(&v);
}

/* Kept bodies come back per dialect; readers of the JSON (polls, the rev rule) never see them. */
static void test_keep_and_read(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1], json[256], *b;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 4, "completed");
	job_json(json, sizeof(json), id, 4, "completed");
	assert_null(view_of(c, id, 'v', json, "alice"));
	keep(c, id, 'v', BODY_V);
	keep(c, id, 'c', BODY_C);
	b = view_of(c, id, 'v', json, "alice");
	assert_string_equal(b, BODY_V);
	free(b);
	b = view_of(c, id, 'c', json, "alice");
	assert_string_equal(b, BODY_C);
	free(b);
	assert_null(view_of(c, id, 'e', json, "alice"));
	expect_cached(c, id, 4, "completed");
	/* The rev rule reads the JSON behind the views: an older or equal rev is still refused. */
	put_rev(c, id, 3, "running");
	put_rev(c, id, 4, "failed");
	expect_cached(c, id, 4, "completed");
	b = view_of(c, id, 'v', json, "alice");
	assert_string_equal(b, BODY_V);
	free(b);
	vex_cache_free(c);
}

/* A change replaces the value, views and all; a body rendered from a state read before a change is not kept. */
static void test_change_drops_views(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_view v;
	char id[VEX_UUID_LEN + 1], json[256];

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 2, "running");
	keep(c, id, 'v', BODY_V);
	put_rev(c, id, 3, "completed");
	job_json(json, sizeof(json), id, 3, "completed");
	assert_null(view_of(c, id, 'v', json, "alice"));

	assert_int_equal(vex_jobcache_get_view(c, id, 'v', &v), 0);
	put_rev(c, id, 4, "canceled"); /* between the read and the keep */
	vex_jobcache_keep_view(c, id, &v, 'v', "alice", BODY_V, strlen(BODY_V));
	vex_jobcache_view_release(&v);
	job_json(json, sizeof(json), id, 4, "canceled");
	assert_null(view_of(c, id, 'v', json, "alice"));
	expect_cached(c, id, 4, "canceled");
	vex_cache_free(c);
}

/* Keeping a view keeps the value's authenticated deadline; replace refuses a stale CAS. */
static void test_replace(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_cache_item a, b;
	char id[VEX_UUID_LEN + 1], json[256], body[512];

	(void)state;
	vex_uuid7(id);
	job_json(json, sizeof(json), id, 1, "queued");
	assert_int_equal(vex_cache_job_put_ttl(c, id, json, strlen(json), 1, 30), 0);
	assert_int_equal(vex_cache_job_gets(c, id, &a), 0);
	assert_int_equal(a.len, strlen(json));
	assert_int_equal(a.json_len, a.len);
	snprintf(body, sizeof(body), "%s\nextra", json);
	assert_int_equal(vex_cache_job_replace(c, id, &a, body, strlen(body)), 0);
	assert_int_equal(vex_cache_job_replace(c, id, &a, body, strlen(body)), VEX_ECONFLICT);
	assert_int_equal(vex_cache_job_gets(c, id, &b), 0);
	assert_string_equal(b.body, body);
	assert_int_equal(b.json_len, strlen(json));
	assert_string_equal(b.exp_hex, a.exp_hex);
	assert_int_not_equal(b.cas, a.cas);
	free(a.body);
	free(b.body);
	expect_cached(c, id, 1, "queued");
	assert_int_equal(vex_cache_job_gets(NULL, id, &a), VEX_EINVAL);
	vex_cache_free(c);
}

/* A view added or changed by whoever reaches memcached, without the secret, makes the whole value a miss. */
static void test_forged_view(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_view v;
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1], *raw, forged[1024];
	size_t len = 0;
	int n;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 5, "completed");
	keep(c, id, 'v', BODY_V);
	raw = raw_get(mc, id, &len);
	assert_non_null(raw);
	/* The same value with the kept body's status changed. */
	n = snprintf(forged, sizeof(forged), "%.*s", (int)len, raw);
	assert_true(n > 0 && (size_t)n == len);
	memcpy(strstr(forged, "\"completed\"}"), "\"failed\"   ", 11);
	raw_set(mc, id, forged, len);
	assert_int_equal(vex_jobcache_get_view(c, id, 'v', &v), VEX_ENOTFOUND);
	/* A view appended to an authentic value, naming another owner. */
	n = snprintf(forged, sizeof(forged), "%.*s\ne 3 2\nbob{}", (int)len, raw);
	raw_set(mc, id, forged, (size_t)n);
	assert_int_equal(vex_jobcache_get_view(c, id, 'e', &v), VEX_ENOTFOUND);
	assert_true(vex_cache_rejected(c) >= 2);
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/* A view that would take the value past 256 KiB is not kept (memcached would refuse it on every poll). */
static void test_big_view_not_kept(void **state)
{
	struct vex_cache *c = open_cache();
	struct vex_jobcache_view v;
	char id[VEX_UUID_LEN + 1], json[256], *big = malloc(300 * 1024);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 300 * 1024);
	vex_uuid7(id);
	put_rev(c, id, 2, "completed");
	job_json(json, sizeof(json), id, 2, "completed");
	assert_int_equal(vex_jobcache_get_view(c, id, 'v', &v), 0);
	vex_jobcache_keep_view(c, id, &v, 'v', "alice", big, 300 * 1024);
	vex_jobcache_view_release(&v);
	assert_null(view_of(c, id, 'v', json, "alice"));
	keep(c, id, 'v', BODY_V); /* a small one still is */
	free(big);
	big = view_of(c, id, 'v', json, "alice");
	assert_string_equal(big, BODY_V);
	free(big);
	vex_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_and_read),
		cmocka_unit_test(test_change_drops_views),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_forged_view),
		cmocka_unit_test(test_big_view_not_kept),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
