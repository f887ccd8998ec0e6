/* test_apikeys.c - API keys: generation, syntax, SHA-256, issuing, and the store (insert, lookup, list, revoke, touch),
 * on SQLite and, from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/auth/apikeys.h"
#include "core/base/err.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "keys"
#include "tests/unit/store_fixture.h"

static void test_generate(void **state)
{
	char a[VEX_APIKEY_LEN + 1], b[VEX_APIKEY_LEN + 1], disp[VEX_APIKEY_DISPLAY_LEN + 1];

	(void)state;
	assert_int_equal(vex_apikey_generate(a), 0);
	assert_int_equal(vex_apikey_generate(b), 0);
	assert_int_equal(strlen(a), 47);
	assert_memory_equal(a, "vex_", 4);
	assert_int_equal(strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(a, b);
	assert_true(vex_apikey_valid(a));
	assert_int_equal(vex_apikey_display(a, disp), 0);
	assert_memory_equal(disp, a + 4, 8);
	assert_int_equal(strlen(disp), 8);
}

static void test_valid(void **state)
{
	char k[VEX_APIKEY_LEN + 2], disp[VEX_APIKEY_DISPLAY_LEN + 1];

	(void)state;
	/* 43 'A's: 32 zero bytes. */
	memcpy(k, "vex_", 4);
	memset(k + 4, 'A', 43);
	k[47] = '\0';
	assert_true(vex_apikey_valid(k));
	k[46] = 'B'; /* low bits of the last char must be zero: not a key vex could have made */
	assert_false(vex_apikey_valid(k));
	k[46] = 'E';
	assert_true(vex_apikey_valid(k));
	k[10] = '+';
	assert_false(vex_apikey_valid(k));
	k[10] = 'A';
	k[47] = 'A';
	k[48] = '\0';
	assert_false(vex_apikey_valid(k)); /* too long */
	k[46] = '\0';
	assert_false(vex_apikey_valid(k)); /* too short */
	assert_false(vex_apikey_valid(NULL));
	assert_false(vex_apikey_valid("VEX_AAAA"));
	assert_false(vex_apikey_valid("eyJhbGciOiJIUzI1NiJ9.e30.x"));
	assert_true(vex_apikey_looks_like("vex_x"));
	assert_false(vex_apikey_looks_like("vexx"));
	assert_int_equal(vex_apikey_display("vex_short", disp), VEX_EINVAL);
}

static void test_hash(void **state)
{
	char h[VEX_APIKEY_HASH_LEN + 1];

	(void)state;
	assert_int_equal(vex_apikey_hash("abc", h), 0);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(vex_apikey_hash("", h), 0);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(vex_apikey_hash(NULL, h), VEX_ERROR);
}

static void test_issue_lookup_revoke(void **state)
{
	struct vex_api_key k, got;
	struct vex_field_error e;
	char key[VEX_APIKEY_LEN + 1], hash[VEX_APIKEY_HASH_LEN + 1];
	int64_t now = 1700000000000000;

	(void)state;
	assert_int_equal(vex_apikey_issue(store, "alice", VEX_ROLE_ADMIN, VEX_PLAN_PRO, "ci", now, &k, key, &e), 0);
	assert_true(vex_apikey_valid(key));
	assert_string_equal(k.owner, "alice");
	assert_string_equal(k.name, "ci");
	assert_memory_equal(k.prefix, key + 4, 8);
	assert_int_equal(k.created_at, now);

	assert_int_equal(vex_apikey_hash(key, hash), 0);
	assert_int_equal(vex_store_key_by_hash(store, hash, &got), 0);
	assert_string_equal(got.id, k.id);
	assert_string_equal(got.owner, "alice");
	assert_int_equal(got.role, VEX_ROLE_ADMIN);
	assert_int_equal(got.plan, VEX_PLAN_PRO);
	assert_string_equal(got.name, "ci");
	assert_string_equal(got.prefix, k.prefix);
	assert_int_equal(got.created_at, now);
	assert_int_equal(got.last_used_at, 0);
	assert_int_equal(got.revoked_at, 0);

	/* The key itself is not a hash of anything stored. */
	assert_int_equal(vex_store_key_by_hash(store, key, &got), VEX_ENOTFOUND);

	/* Touch: recorded once, not again within a minute, again after it. */
	assert_int_equal(vex_store_key_touch(store, k.id, now + 1), 0);
	assert_int_equal(vex_store_key_get(store, k.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, now + 1);
	assert_int_equal(vex_store_key_touch(store, k.id, now + 30000000), 0);
	assert_int_equal(vex_store_key_get(store, k.id, "alice", &got), 0);
	assert_int_equal(got.last_used_at, now + 1);
	assert_int_equal(vex_store_key_touch(store, k.id, now + 61000001), 0);
	assert_int_equal(vex_store_key_get(store, k.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, now + 61000001);
	assert_int_equal(vex_store_key_get(store, k.id, "bob", &got), VEX_ENOTFOUND);

	/* Revoked: never found by hash again; revoking twice or as another owner is not found. */
	assert_int_equal(vex_store_key_revoke(store, k.id, "bob", now + 2), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_revoke(store, k.id, "alice", now + 2), 0);
	assert_int_equal(vex_store_key_by_hash(store, hash, &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_revoke(store, k.id, NULL, now + 3), VEX_ENOTFOUND);
	assert_int_equal(vex_store_key_get(store, k.id, NULL, &got), 0);
	assert_int_equal(got.revoked_at, now + 2);
}

/* Keys revoked since a time (what the stream server reads to end their streams); live keys never. */
static void test_revoked_since(void **state)
{
	struct vex_api_key a, b;
	struct vex_field_error e;
	char key[VEX_APIKEY_LEN + 1], (*ids)[VEX_UUID_LEN + 1] = NULL;
	int64_t now = 1700000000000000;
	size_t n = 99;

	(void)state;
	assert_int_equal(vex_apikey_issue(store, "alice", VEX_ROLE_USER, VEX_PLAN_FREE, NULL, now, &a, key, &e), 0);
	assert_int_equal(vex_apikey_issue(store, "bob", VEX_ROLE_USER, VEX_PLAN_FREE, NULL, now, &b, key, &e), 0);
	assert_int_equal(vex_store_keys_revoked_since(store, 0, 10, &ids, &n), 0);
	assert_int_equal(n, 0);
	free(ids);
	assert_int_equal(vex_store_key_revoke(store, a.id, NULL, now + 10), 0);
	assert_int_equal(vex_store_key_revoke(store, b.id, NULL, now + 20), 0);
	assert_int_equal(vex_store_keys_revoked_since(store, now + 10, 10, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], a.id); /* oldest first */
	assert_string_equal(ids[1], b.id);
	free(ids);
	assert_int_equal(vex_store_keys_revoked_since(store, now + 11, 10, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], b.id);
	free(ids);
	assert_int_equal(vex_store_keys_revoked_since(store, now, 0, &ids, &n), VEX_EINVAL);
}

static void test_issue_invalid(void **state)
{
	struct vex_api_key k;
	struct vex_field_error e;
	char key[VEX_APIKEY_LEN + 1], long_owner[VEX_SUB_MAX + 2], long_name[VEX_APIKEY_NAME_MAX + 2];
	struct vex_api_key_list l = { NULL, 0 };

	(void)state;
	memset(long_owner, 'o', sizeof(long_owner) - 1);
	long_owner[sizeof(long_owner) - 1] = '\0';
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(vex_apikey_issue(store, "", VEX_ROLE_USER, VEX_PLAN_FREE, NULL, 1, &k, key, &e), VEX_EINVAL);
	assert_string_equal(e.field, "owner");
	assert_int_equal(e.status, 422);
	assert_int_equal(vex_apikey_issue(store, long_owner, VEX_ROLE_USER, VEX_PLAN_FREE, NULL, 1, &k, key, &e),
			 VEX_EINVAL);
	assert_int_equal(vex_apikey_issue(store, "a\nb", VEX_ROLE_USER, VEX_PLAN_FREE, NULL, 1, &k, key, &e),
			 VEX_EINVAL);
	assert_int_equal(vex_apikey_issue(store, "a", VEX_ROLE_USER, VEX_PLAN_FREE, "", 1, &k, key, &e), VEX_EINVAL);
	assert_string_equal(e.field, "name");
	assert_int_equal(vex_apikey_issue(store, "a", VEX_ROLE_USER, VEX_PLAN_FREE, long_name, 1, &k, key, &e),
			 VEX_EINVAL);
	assert_int_equal(vex_apikey_issue(store, "a", VEX_ROLE_USER, VEX_PLAN_FREE, "x\ty", 1, &k, key, &e),
			 VEX_EINVAL);
	/* Nothing stored for a rejected request. */
	assert_int_equal(vex_store_keys_list(store, NULL, NULL, 10, &l), 0);
	assert_int_equal(l.n, 0);
	/* Direct inserts check their input. */
	memset(&k, 0, sizeof(k));
	assert_int_equal(vex_store_key_insert(store, &k, "h"), VEX_EINVAL);
}

static void test_list(void **state)
{
	struct vex_api_key k[5];
	struct vex_field_error e;
	struct vex_api_key_list l = { NULL, 0 };
	char key[VEX_APIKEY_LEN + 1];
	const char *owners[5] = { "alice", "bob", "alice", "alice", "bob" };

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(vex_apikey_issue(store, owners[i], VEX_ROLE_USER, VEX_PLAN_FREE, NULL, 100 + i, &k[i],
						  key, &e),
				 0);
	assert_int_equal(vex_store_keys_list(store, NULL, NULL, 10, &l), 0);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(l.items[i].id, k[4 - i].id); /* newest first */
	vex_api_key_list_release(&l);

	assert_int_equal(vex_store_keys_list(store, "alice", NULL, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, k[3].id);
	assert_string_equal(l.items[1].id, k[2].id);
	vex_api_key_list_release(&l);
	assert_int_equal(vex_store_keys_list(store, "alice", k[2].id, 2, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, k[0].id);
	vex_api_key_list_release(&l);

	/* Revoked keys are still listed, marked. */
	assert_int_equal(vex_store_key_revoke(store, k[1].id, NULL, 999), 0);
	assert_int_equal(vex_store_keys_list(store, "bob", NULL, 10, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.items[1].revoked_at, 999);
	assert_int_equal(l.items[0].revoked_at, 0);
	vex_api_key_list_release(&l);

	assert_int_equal(vex_store_keys_list(store, "carol", NULL, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_int_equal(vex_store_keys_list(store, NULL, NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_keys_list(store, NULL, NULL, 1001, &l), VEX_EINVAL);
	vex_api_key_list_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_hash),
		cmocka_unit_test_setup_teardown(test_issue_lookup_revoke, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_issue_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_revoked_since, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
