/* test_store_agents.c - agents in the store: insert, get, update, soft delete, owner isolation, paging, on SQLite
 * and, from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL. Their caps: test_store_owner_caps.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "agents"
#include "tests/unit/store_fixture.h"

static struct vex_agent *make_agent(const char *owner, const char *name)
{
	struct vex_agent *a = vex_agent_new();

	assert_non_null(a);
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "%s", owner);
	a->name = strdup(name);
	a->role = strdup("You are helpful.");
	a->max_depth = 3;
	a->created_at = 1700000000000000;
	return a;
}

static void test_insert_get(void **state)
{
	struct vex_agent *a = make_agent("alice", "first"), *got = NULL;

	(void)state;
	a->spawn_shadow = 1;
	a->model = strdup("gpt-x");
	a->tools_json = strdup("[\"echo\"]");
	a->base_url = strdup("https://example.com");
	a->schedule_json = strdup("{\"tasksPerDay\":1,\"times\":[\"09:00\"]}");
	a->fitness = 0.75;
	a->generation = 2;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), VEX_EEXIST);

	assert_int_equal(vex_store_agent_get(store, a->id, "alice", 0, &got), 0);
	assert_string_equal(got->id, a->id);
	assert_string_equal(got->owner, "alice");
	assert_string_equal(got->name, "first");
	assert_string_equal(got->role, "You are helpful.");
	assert_int_equal(got->max_depth, 3);
	assert_int_equal(got->spawn_shadow, 1);
	assert_string_equal(got->model, "gpt-x");
	assert_string_equal(got->tools_json, "[\"echo\"]");
	assert_string_equal(got->base_url, "https://example.com");
	assert_string_equal(got->schedule_json, "{\"tasksPerDay\":1,\"times\":[\"09:00\"]}");
	assert_int_equal(got->status, VEX_AGENT_ACTIVE);
	assert_int_equal(got->generation, 2);
	assert_true(got->fitness == 0.75);
	assert_true(got->created_at == a->created_at);
	assert_true(got->updated_at == a->created_at); /* defaults to creation time */
	vex_agent_free(got);
	got = NULL;

	/* Another owner sees nothing; an admin (owner NULL) sees it. */
	assert_int_equal(vex_store_agent_get(store, a->id, "bob", 0, &got), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(vex_store_agent_get(store, a->id, NULL, 0, &got), 0);
	vex_agent_free(got);
	vex_agent_free(a);
}

static void test_update_delete(void **state)
{
	struct vex_agent *a = make_agent("alice", "before"), *got = NULL;

	(void)state;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	free(a->name);
	a->name = strdup("after");
	a->status = VEX_AGENT_PAUSED;
	a->max_depth = 7;
	a->updated_at = 1700000000000999;
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_get(store, a->id, "alice", 0, &got), 0);
	assert_string_equal(got->name, "after");
	assert_int_equal(got->status, VEX_AGENT_PAUSED);
	assert_int_equal(got->max_depth, 7);
	assert_true(got->updated_at == 1700000000000999);
	assert_true(got->created_at == 1700000000000000);
	vex_agent_free(got);
	got = NULL;

	/* Update through the wrong owner changes nothing. */
	snprintf(a->owner, sizeof(a->owner), "bob");
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_delete(store, a->id, "bob", 5), VEX_ENOTFOUND);
	snprintf(a->owner, sizeof(a->owner), "alice");

	assert_int_equal(vex_store_agent_delete(store, a->id, "alice", 1700000000001000), 0);
	assert_int_equal(vex_store_agent_delete(store, a->id, "alice", 1700000000002000), VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_get(store, a->id, "alice", 0, &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_get(store, a->id, "alice", 1, &got), 0);
	assert_int_equal(got->status, VEX_AGENT_DELETED);
	assert_true(got->updated_at == 1700000000001000);
	vex_agent_free(got);
	/* A deleted agent cannot be revived through update. */
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), VEX_ENOTFOUND);
	vex_agent_free(a);
}

static void test_list_paging(void **state)
{
	struct vex_agent_list l = { NULL, 0 };
	char ids[130][VEX_UUID_LEN + 1], cursor[VEX_UUID_LEN + 1];
	int seen[130], i, pages = 0, total = 0;
	size_t k;

	(void)state;
	for (i = 0; i < 130; i++) {
		struct vex_agent *a = make_agent(i % 2 ? "bob" : "alice", "agent");

		assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
		memcpy(ids[i], a->id, sizeof(ids[i]));
		vex_agent_free(a);
	}
	/* Delete one of alice's: it must vanish from listings. */
	assert_int_equal(vex_store_agent_delete(store, ids[10], "alice", 1), 0);

	memset(seen, 0, sizeof(seen));
	cursor[0] = '\0';
	for (;;) {
		assert_int_equal(vex_store_agents_list(store, "alice", cursor[0] ? cursor : NULL, 7, &l), 0);
		if (l.n == 0)
			break;
		pages++;
		for (k = 0; k < l.n; k++) {
			assert_string_equal(l.items[k]->owner, "alice");
			if (k > 0)
				assert_true(strcmp(l.items[k - 1]->id, l.items[k]->id) > 0); /* newest first */
			for (i = 0; i < 130; i++)
				if (strcmp(ids[i], l.items[k]->id) == 0)
					seen[i]++;
			total++;
		}
		memcpy(cursor, l.items[l.n - 1]->id, sizeof(cursor));
		vex_agent_list_release(&l);
	}
	assert_int_equal(total, 64);
	assert_int_equal(pages, 10);
	for (i = 0; i < 130; i++)
		assert_int_equal(seen[i], (i % 2 == 0 && i != 10) ? 1 : 0);

	/* All owners (admin). */
	assert_int_equal(vex_store_agents_list(store, NULL, NULL, 1000, &l), 0);
	assert_int_equal(l.n, 129);
	assert_string_equal(l.items[0]->id, ids[129]);
	vex_agent_list_release(&l);
	assert_int_equal(vex_store_agents_list(store, NULL, ids[5], 1000, &l), 0);
	assert_int_equal(l.n, 5); /* ids 0..4, none deleted */
	vex_agent_list_release(&l);

	assert_int_equal(vex_store_agents_list(store, "alice", NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_agents_list(store, "alice", NULL, 1001, &l), VEX_EINVAL);
	vex_agent_list_release(NULL);
}

static void test_insert_invalid(void **state)
{
	struct vex_agent *a = make_agent("alice", "x");

	(void)state;
	free(a->role);
	a->role = NULL;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), VEX_EINVAL);
	vex_agent_free(a);
}

/* Every field comes back as stored: NULL optional fields, odd unicode, exact doubles, plan and role. */
static void test_round_trip(void **state)
{
	static const double fits[] = { 0.1, -1e-300, 1.0 / 3.0, 123456789.125, 0.0 };
	struct vex_agent *a = make_agent("\xe7\x94\xa8\xe6\x88\xb7-\xf0\x9f\x98\x80", "n\xc3\xa4me \xf0\x9f\xa6\x8a 'x\"; --"),
			 *got = NULL;

	(void)state;
	free(a->role);
	a->role = strdup("r\xc3\xb4le\n\ttabs \\ and \xe2\x80\xae rtl");
	a->plan = VEX_PLAN_PRO;
	a->owner_admin = 1;
	a->status = VEX_AGENT_PAUSED;
	a->updated_at = 1700000000000123;
	a->max_depth = 0;
	for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++) {
		vex_uuid7(a->id);
		a->fitness = fits[i];
		a->generation = (int)i + 1;
		assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
		assert_int_equal(vex_store_agent_get(store, a->id, a->owner, 0, &got), 0);
		assert_true(got->fitness == fits[i]);
		assert_int_equal(got->generation, (int)i + 1);
		assert_string_equal(got->owner, a->owner);
		assert_string_equal(got->name, a->name);
		assert_string_equal(got->role, a->role);
		assert_null(got->model);
		assert_null(got->tools_json);
		assert_null(got->base_url);
		assert_null(got->schedule_json);
		assert_int_equal(got->status, VEX_AGENT_PAUSED);
		assert_int_equal(got->plan, VEX_PLAN_PRO);
		assert_int_equal(got->owner_admin, 1);
		assert_int_equal(got->max_depth, 0);
		assert_int_equal(got->spawn_shadow, 0);
		assert_true(got->updated_at == 1700000000000123);
		vex_agent_free(got);
		got = NULL;
	}
	/* An update may clear optional fields again; plan and owner role stay as created. */
	a->model = strdup("m");
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_get(store, a->id, NULL, 0, &got), 0);
	assert_string_equal(got->model, "m");
	vex_agent_free(got);
	got = NULL;
	free(a->model);
	a->model = NULL;
	a->plan = VEX_PLAN_FREE;
	a->owner_admin = 0;
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_get(store, a->id, NULL, 0, &got), 0);
	assert_null(got->model);
	assert_int_equal(got->plan, VEX_PLAN_PRO);
	assert_int_equal(got->owner_admin, 1);
	vex_agent_free(got);
	vex_agent_free(a);
}

/* Bad arguments, an admin's delete (owner NULL), and paging of all owners by cursor. */
static void test_edges(void **state)
{
	struct vex_agent *a = make_agent("alice", "x"), *b = make_agent("bob", "y"), *got = NULL;
	struct vex_agent_list l = { NULL, 0 };

	(void)state;
	assert_int_equal(vex_store_agent_get(store, NULL, "alice", 0, &got), VEX_EINVAL);
	assert_int_equal(vex_store_agent_delete(store, NULL, "alice", 1), VEX_EINVAL);
	assert_int_equal(vex_store_agent_insert(store, NULL, NULL, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_agent_update(store, NULL, NULL, NULL), VEX_EINVAL);
	a->owner[0] = '\0';
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), VEX_EINVAL);
	snprintf(a->owner, sizeof(a->owner), "alice");
	free(a->name);
	a->name = NULL;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_agent_update(store, a, NULL, NULL), VEX_EINVAL);
	a->name = strdup("x");
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	assert_int_equal(vex_store_agent_insert(store, b, NULL, NULL), 0);
	/* The same id under another owner is still a duplicate. */
	memcpy(b->id, a->id, sizeof(b->id));
	assert_int_equal(vex_store_agent_insert(store, b, NULL, NULL), VEX_EEXIST);
	assert_int_equal(vex_store_agent_get(store, "no-such-id", NULL, 1, &got), VEX_ENOTFOUND);
	assert_null(got);

	assert_int_equal(vex_store_agents_list(store, "nobody", NULL, 10, &l), 0);
	assert_int_equal(l.n, 0);
	vex_agent_list_release(&l);
	assert_int_equal(vex_store_agents_list(store, NULL, NULL, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->owner, "bob"); /* the newer id */
	vex_agent_list_release(&l);
	assert_int_equal(vex_store_agents_list(store, "alice", "", 10, &l), 0);
	assert_int_equal(l.n, 0); /* nothing sorts before "" */
	vex_agent_list_release(&l);
	assert_int_equal(vex_store_agents_list(store, "alice", "\xef\xbf\xbf", 10, &l), 0);
	assert_int_equal(l.n, 1); /* ids compare as bytes: U+FFFF after every id */
	vex_agent_list_release(&l);
	/* Bytes that are not UTF-8: SQLite keeps them, PostgreSQL refuses them (docs/storage.md). */
	assert_int_equal(vex_store_agents_list(store, "alice", "\xff", 10, &l), store_fixture_postgres() ? VEX_EINVAL : 0);
	if (!store_fixture_postgres()) {
		assert_int_equal(l.n, 1);
		vex_agent_list_release(&l);
	}

	/* An admin deletes any owner's agent (owner NULL); then it is gone for everyone. */
	assert_int_equal(vex_store_agent_delete(store, a->id, NULL, 77), 0);
	assert_int_equal(vex_store_agent_delete(store, a->id, NULL, 78), VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_get(store, a->id, NULL, 0, &got), VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_get(store, a->id, "alice", 1, &got), 0);
	assert_true(got->updated_at == 77);
	vex_agent_free(got);
	vex_agent_free(a);
	vex_agent_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_update_delete, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_edges, store_setup, store_teardown),
	};

	vex_log_init("test_store_agents", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
