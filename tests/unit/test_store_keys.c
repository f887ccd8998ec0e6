/* test_store_keys.c - the store's API keys and token revocations through the interface (bad arguments, other owners,
 * duplicates, limits, cursor pages, byte order, non-ASCII text), on SQLite and, from tools/run-unit's second pass
 * (tests/unit/postgres.list), on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "storekeys"
#include "tests/unit/store_fixture.h"

/* A key "id" of "owner" with the hash "hash", created at "at". */
static int add_key(const char *id, const char *owner, const char *name, const char *hash, int64_t at)
{
	struct vex_api_key k;

	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "%s", id);
	snprintf(k.owner, sizeof(k.owner), "%s", owner);
	k.role = VEX_ROLE_USER;
	k.plan = VEX_PLAN_FREE;
	if (name)
		snprintf(k.name, sizeof(k.name), "%s", name);
	snprintf(k.prefix, sizeof(k.prefix), "pfx%.8s", id);
	k.created_at = at;
	return vex_store_key_insert(store, &k, hash);
}

/* A revocation "id" of the token "jti" or of "sub"'s tokens issued before "before_s", created at "at". */
static int add_rev(const char *id, const char *jti, const char *sub, int64_t before_s, const char *reason, int64_t at)
{
	struct vex_token_revocation r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	if (jti)
		snprintf(r.jti, sizeof(r.jti), "%s", jti);
	if (sub)
		snprintf(r.sub, sizeof(r.sub), "%s", sub);
	r.issued_before_s = before_s;
	if (reason)
		snprintf(r.reason, sizeof(r.reason), "%s", reason);
	snprintf(r.created_by, sizeof(r.created_by), "root");
	r.created_at = at;
	return vex_store_revocation_insert(store, &r);
}

static void test_key_insert_get(void **state)
{
	struct vex_api_key k, got;

	(void)state;
	assert_int_equal(add_key("k1", "alice", "ci ✓ 日本 🚀", "h1", 10), 0);
	assert_int_equal(vex_store_key_get(store, "k1", "alice", &got), 0);
	assert_string_equal(got.id, "k1");
	assert_string_equal(got.owner, "alice");
	assert_string_equal(got.name, "ci ✓ 日本 🚀");
	assert_string_equal(got.prefix, "pfxk1");
	assert_int_equal(got.role, VEX_ROLE_USER);
	assert_int_equal(got.plan, VEX_PLAN_FREE);
	assert_int_equal(got.created_at, 10);
	assert_int_equal(got.last_used_at, 0);
	assert_int_equal(got.revoked_at, 0);

	/* An owner of non-ASCII bytes, no name, another role and plan, a negative time. */
	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "k2");
	snprintf(k.owner, sizeof(k.owner), "zoë-Ω");
	k.role = VEX_ROLE_ADMIN;
	k.plan = VEX_PLAN_PRO;
	snprintf(k.prefix, sizeof(k.prefix), "abcdefgh");
	k.created_at = -5;
	assert_int_equal(vex_store_key_insert(store, &k, "h2"), 0);
	assert_int_equal(vex_store_key_by_hash(store, "h2", &got), 0);
	assert_string_equal(got.owner, "zoë-Ω");
	assert_string_equal(got.name, "");
	assert_int_equal(got.role, VEX_ROLE_ADMIN);
	assert_int_equal(got.plan, VEX_PLAN_PRO);
	assert_int_equal(got.created_at, -5);
	assert_int_equal(vex_store_key_get(store, "k2", "zoe-Ω", &got), VEX_ENOTFOUND);

	/* Duplicates: the id or the hash taken. */
	assert_int_equal(add_key("k1", "bob", NULL, "h3", 11), VEX_EEXIST);
	assert_int_equal(add_key("k3", "bob", NULL, "h1", 11), VEX_EEXIST);
	assert_int_equal(vex_store_key_get(store, "k3", NULL, &got), VEX_ENOTFOUND);

	/* Bad arguments. */
	memset(&k, 0, sizeof(k));
	assert_int_equal(vex_store_key_insert(store, NULL, "h"), VEX_EINVAL);
	assert_int_equal(vex_store_key_insert(store, &k, "h"), VEX_EINVAL);
	snprintf(k.id, sizeof(k.id), "k4");
	snprintf(k.owner, sizeof(k.owner), "bob");
	assert_int_equal(vex_store_key_insert(store, &k, "h4"), VEX_EINVAL); /* no prefix */
	snprintf(k.prefix, sizeof(k.prefix), "p");
	assert_int_equal(vex_store_key_insert(store, &k, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_key_insert(store, &k, ""), VEX_EINVAL);
	assert_int_equal(vex_store_key_get(store, NULL, NULL, &got), VEX_EINVAL);
	assert_int_equal(vex_store_key_by_hash(store, NULL, &got), VEX_EINVAL);

	/* Lookups that match nothing. */
	assert_int_equal(vex_store_key_by_hash(store, "", &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_by_hash(store, "H1", &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, "", NULL, &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, "k1", "", &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, "k1", "Alice", &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, "k1' OR '1'='1", NULL, &got), VEX_ENOTFOUND);
}

static void test_key_revoke_touch(void **state)
{
	struct vex_api_key got;
	char (*ids)[VEX_UUID_LEN + 1] = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(add_key("k1", "alice", NULL, "h1", 10), 0);
	assert_int_equal(add_key("k2", "bob", NULL, "h2", 10), 0);

	/* Touch: an unknown id changes nothing and is no error. */
	assert_int_equal(vex_store_key_touch(store, "nope", 100), 0);
	assert_int_equal(vex_store_key_touch(store, NULL, 100), VEX_EINVAL);
	assert_int_equal(vex_store_key_touch(store, "k1", 1000), 0);
	assert_int_equal(vex_store_key_touch(store, "k1", 1000 + VEX_APIKEY_TOUCH_US - 1), 0);
	assert_int_equal(vex_store_key_get(store, "k1", NULL, &got), 0);
	assert_int_equal(got.last_used_at, 1000);
	/* Exactly a minute later: written. */
	assert_int_equal(vex_store_key_touch(store, "k1", 1000 + VEX_APIKEY_TOUCH_US), 0);
	assert_int_equal(vex_store_key_get(store, "k1", NULL, &got), 0);
	assert_int_equal(got.last_used_at, 1000 + VEX_APIKEY_TOUCH_US);
	assert_int_equal(vex_store_key_get(store, "k2", NULL, &got), 0);
	assert_int_equal(got.last_used_at, 0);

	/* Revoke: another owner's key is not found; NULL id is refused. */
	assert_int_equal(vex_store_key_revoke(store, NULL, NULL, 5), VEX_EINVAL);
	assert_int_equal(vex_store_key_revoke(store, "k2", "alice", 5), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_revoke(store, "nope", NULL, 5), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_revoke(store, "k2", "bob", 7), 0);
	assert_int_equal(vex_store_key_revoke(store, "k2", "bob", 8), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_by_hash(store, "h2", &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, "k2", "bob", &got), 0);
	assert_int_equal(got.revoked_at, 7);
	/* A revoked key is still touched (its last use stays what the store saw). */
	assert_int_equal(vex_store_key_touch(store, "k2", 50), 0);
	assert_int_equal(vex_store_key_get(store, "k2", NULL, &got), 0);
	assert_int_equal(got.last_used_at, 50);

	/* Revoked since: bounds, the limit, oldest first. */
	assert_int_equal(vex_store_key_revoke(store, "k1", NULL, 6), 0);
	assert_int_equal(vex_store_keys_revoked_since(store, 0, 1000, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "k1");
	assert_string_equal(ids[1], "k2");
	free(ids);
	ids = NULL;
	assert_int_equal(vex_store_keys_revoked_since(store, 0, 1, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "k1");
	free(ids);
	ids = NULL;
	assert_int_equal(vex_store_keys_revoked_since(store, 8, 10, &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ids);
	assert_int_equal(vex_store_keys_revoked_since(store, 0, 1001, &ids, &n), VEX_EINVAL);
	assert_int_equal(vex_store_keys_revoked_since(store, 0, -1, &ids, &n), VEX_EINVAL);
}

/* Every page of a listing by id cursor, and the ids ordered by bytes (uppercase before lowercase before
 * non-ASCII), as a client pages through them. */
static void test_keys_pages(void **state)
{
	static const char *const ids[] = { "Z1", "a1", "a2", "b1", "b2", "é1", "ζ1" };
	static const char *const owners[] = { "bob", "alice", "bob", "alice", "bob", "alice", "bob" };
	struct vex_api_key_list l = { NULL, 0 };
	char hash[16], before[VEX_UUID_LEN + 1];
	size_t i, seen = 0;

	(void)state;
	for (i = 0; i < 7; i++) {
		snprintf(hash, sizeof(hash), "h%zu", i);
		assert_int_equal(add_key(ids[i], owners[i], NULL, hash, (int64_t)i), 0);
	}
	/* All owners, two per page, newest (largest id) first. */
	before[0] = '\0';
	for (;;) {
		assert_int_equal(vex_store_keys_list(store, NULL, before[0] ? before : NULL, 2, &l), 0);
		if (l.n == 0)
			break;
		assert_true(l.n <= 2);
		for (i = 0; i < l.n; i++, seen++)
			assert_string_equal(l.items[i].id, ids[6 - seen]);
		snprintf(before, sizeof(before), "%s", l.items[l.n - 1].id);
		vex_api_key_list_release(&l);
	}
	assert_int_equal(seen, 7);
	assert_null(l.items);

	/* bob's, after a cursor that is no id of his (nor of anyone). */
	assert_int_equal(vex_store_keys_list(store, "bob", "b", 1000, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "a2");
	assert_string_equal(l.items[1].id, "Z1");
	vex_api_key_list_release(&l);
	assert_int_equal(vex_store_keys_list(store, "bob", "\xf4\x8f\xbf\xbf", 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "ζ1");
	vex_api_key_list_release(&l);
	assert_int_equal(vex_store_keys_list(store, NULL, "", 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_keys_list(store, "", NULL, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_keys_list(store, "alice", "a1", 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_keys_list(store, NULL, NULL, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "ζ1");
	vex_api_key_list_release(&l);
	assert_int_equal(vex_store_keys_list(store, "alice", NULL, -1, &l), VEX_EINVAL);
	assert_int_equal(vex_store_keys_list(store, "alice", "z", 1001, &l), VEX_EINVAL);
}

static void test_revocation_insert_check(void **state)
{
	struct vex_token_revocation r;
	int revoked = -1;

	(void)state;
	assert_int_equal(add_rev("r1", "jti-1", NULL, 0, "leaked ✗", 100), 0);
	assert_int_equal(add_rev("r2", NULL, "dave", 500, NULL, 101), 0);

	/* Bad arguments: neither or both of jti and sub, no id, no creator. */
	assert_int_equal(vex_store_revocation_insert(store, NULL), VEX_EINVAL);
	assert_int_equal(add_rev("r3", NULL, NULL, 0, NULL, 1), VEX_EINVAL);
	assert_int_equal(add_rev("r3", "j", "s", 5, NULL, 1), VEX_EINVAL);
	assert_int_equal(add_rev("", "j", NULL, 0, NULL, 1), VEX_EINVAL);
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "r3");
	snprintf(r.jti, sizeof(r.jti), "j3");
	assert_int_equal(vex_store_revocation_insert(store, &r), VEX_EINVAL);
	/* Duplicates: that jti already revoked, that id taken. */
	assert_int_equal(add_rev("r4", "jti-1", NULL, 0, NULL, 102), VEX_EEXIST);
	assert_int_equal(add_rev("r1", "jti-9", NULL, 0, NULL, 102), VEX_EEXIST);
	/* A second cut-off for the same sub is fine. */
	assert_int_equal(add_rev("r5", NULL, "dave", 400, NULL, 103), 0);

	/* The check: by jti, by cut-off (strictly after iat), neither. */
	assert_int_equal(vex_store_token_revoked(store, "jti-1", "erin", 999, &revoked), 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(vex_store_token_revoked(store, "jti-2", "erin", 1, &revoked), 0);
	assert_int_equal(revoked, 0);
	assert_int_equal(vex_store_token_revoked(store, NULL, "dave", 499, &revoked), 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(vex_store_token_revoked(store, "", "dave", 500, &revoked), 0);
	assert_int_equal(revoked, 0);
	assert_int_equal(vex_store_token_revoked(store, "jti-3", "dave", -1, &revoked), 0);
	assert_int_equal(revoked, 1);
	assert_int_equal(vex_store_token_revoked(store, "JTI-1", "Dave", 1, &revoked), 0);
	assert_int_equal(revoked, 0);
	revoked = 7;
	assert_int_equal(vex_store_token_revoked(store, "jti-1", NULL, 1, &revoked), VEX_EINVAL);
	assert_int_equal(revoked, 7);
}

static void test_revocation_lists(void **state)
{
	static const char *const ids[] = { "R0", "r1", "r2", "r3", "r4", "é5" };
	struct vex_token_revocation_list l = { NULL, 0 };
	char before[VEX_UUID_LEN + 1], jti[16];
	size_t i, seen = 0;

	(void)state;
	/* r1 and r3 of erin (cut-offs), the others by jti; created 10 apart except r3 and r4 (the same time). */
	for (i = 0; i < 6; i++) {
		snprintf(jti, sizeof(jti), "j%zu", i);
		if (i == 1 || i == 3)
			assert_int_equal(add_rev(ids[i], NULL, "erin", 1000 + (int64_t)i, "ünïcode", 10 * (int64_t)i), 0);
		else
			assert_int_equal(add_rev(ids[i], jti, NULL, 0, NULL, i == 4 ? 30 : 10 * (int64_t)i), 0);
	}
	before[0] = '\0';
	for (;;) {
		assert_int_equal(vex_store_revocations_list(store, NULL, before[0] ? before : NULL, 4, &l), 0);
		if (l.n == 0)
			break;
		for (i = 0; i < l.n; i++, seen++)
			assert_string_equal(l.items[i].id, ids[5 - seen]);
		snprintf(before, sizeof(before), "%s", l.items[l.n - 1].id);
		vex_token_revocation_list_release(&l);
	}
	assert_int_equal(seen, 6);

	assert_int_equal(vex_store_revocations_list(store, "erin", NULL, 10, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "r3");
	assert_string_equal(l.items[0].sub, "erin");
	assert_string_equal(l.items[0].jti, "");
	assert_int_equal(l.items[0].issued_before_s, 1003);
	assert_string_equal(l.items[0].reason, "ünïcode");
	assert_string_equal(l.items[0].created_by, "root");
	assert_int_equal(l.items[0].created_at, 30);
	vex_token_revocation_list_release(&l);
	assert_int_equal(vex_store_revocations_list(store, "erin", "r3", 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "r1");
	vex_token_revocation_list_release(&l);
	assert_int_equal(vex_store_revocations_list(store, "erin", "r1", 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_int_equal(vex_store_revocations_list(store, "j0", NULL, 10, &l), 0); /* a jti is no sub */
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_revocations_list(store, NULL, "r1", 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, "R0");
	assert_string_equal(l.items[0].jti, "j0");
	assert_string_equal(l.items[0].sub, "");
	assert_int_equal(l.items[0].issued_before_s, 0);
	assert_string_equal(l.items[0].reason, "");
	vex_token_revocation_list_release(&l);
	assert_int_equal(vex_store_revocations_list(store, NULL, NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_revocations_list(store, "erin", NULL, 1001, &l), VEX_EINVAL);

	/* Since: oldest first, from the bound on, at most "max". */
	assert_int_equal(vex_store_revocations_since(store, 20, 1000, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0].id, "r2");
	assert_int_equal(l.items[1].created_at, 30);
	assert_int_equal(l.items[2].created_at, 30);
	assert_string_equal(l.items[3].id, "é5");
	vex_token_revocation_list_release(&l);
	assert_int_equal(vex_store_revocations_since(store, 0, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "R0");
	assert_string_equal(l.items[1].id, "r1");
	vex_token_revocation_list_release(&l);
	assert_int_equal(vex_store_revocations_since(store, 51, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_int_equal(vex_store_revocations_since(store, 0, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_revocations_since(store, 0, 1001, &l), VEX_EINVAL);
	vex_token_revocation_list_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_insert_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_key_revoke_touch, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_keys_pages, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_revocation_insert_check, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_revocation_lists, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
