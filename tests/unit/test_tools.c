/* test_tools.c - the builtin tools (names, lookups, schemas), resolution and listing over the catalog, ranking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/base/err.h"
#include "core/tools/grant.h"
#include "core/tools/tools.h"
#include "tests/unit/store_fixture.h"

static void test_builtins(void **state)
{
	const struct vex_tool_info *t = NULL;
	size_t n, i;

	(void)state;
	n = vex_tools_builtin(&t);
	assert_int_equal(n, 3);
	assert_non_null(t);
	assert_string_equal(t[0].name, "echo");
	assert_string_equal(t[1].name, "sleep");
	assert_string_equal(t[2].name, "fail");
	for (i = 0; i < n; i++) {
		json_t *schema = json_loads(t[i].input_schema_json, 0, NULL);

		assert_non_null(schema);
		assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
		assert_string_equal(t[i].source, "builtin");
		assert_null(t[i].server);
		assert_true(strlen(t[i].description) > 20);
		assert_ptr_equal(vex_tool_find(t[i].name), &t[i]);
		json_decref(schema);
	}
}

static void test_sleep_schema(void **state)
{
	const struct vex_tool_info *t = vex_tool_find("sleep");
	json_t *schema, *ms, *steps;

	(void)state;
	assert_non_null(t);
	schema = json_loads(t->input_schema_json, 0, NULL);
	assert_non_null(schema);
	assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
	ms = json_object_get(json_object_get(schema, "properties"), "ms");
	steps = json_object_get(json_object_get(schema, "properties"), "steps");
	assert_string_equal(json_string_value(json_object_get(ms, "type")), "integer");
	assert_int_equal(json_integer_value(json_object_get(ms, "minimum")), 0);
	assert_int_equal(json_integer_value(json_object_get(ms, "maximum")), 3600000);
	assert_int_equal(json_integer_value(json_object_get(steps, "minimum")), 1);
	assert_int_equal(json_integer_value(json_object_get(steps, "maximum")), 1000);
	json_decref(schema);
}

static void test_fail_schema(void **state)
{
	const struct vex_tool_info *t = vex_tool_find("fail");
	json_t *schema, *props;

	(void)state;
	assert_non_null(t);
	schema = json_loads(t->input_schema_json, 0, NULL);
	props = json_object_get(schema, "properties");
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "message"), "type")), "string");
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "code"), "type")), "string");
	json_decref(schema);
}

static void test_find_unknown(void **state)
{
	(void)state;
	assert_null(vex_tool_find("rm"));
	assert_null(vex_tool_find(""));
	assert_null(vex_tool_find("ECHO"));
	assert_null(vex_tool_find(NULL));
}

/* ---- resolution and listing over a store ---- */

static struct store_fixture fx;

static int store_setup(void **state)
{
	(void)state;
	return store_fixture_open(&fx, "tools-resolve");
}

static int store_teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	return 0;
}

static void publish(const char *source, const char *server, const char *const *names, size_t n)
{
	struct vex_tool_row items[8];
	struct vex_tool_rows rows = { items, n };
	char full[8][64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(full[i], sizeof(full[i]), "%s%s%s", server ? server : "", server ? "." : "", names[i]);
		memset(&items[i], 0, sizeof(items[i]));
		items[i].name = full[i];
		items[i].short_name = (char *)names[i];
		items[i].server = (char *)server;
		items[i].source = (char *)source;
		items[i].description = (char *)"a published tool";
		items[i].input_schema = (char *)"{\"type\":\"object\",\"required\":[\"a\"]}";
	}
	assert_int_equal(vex_store_tools_replace(fx.store, source, server, &rows, 1), 0);
}

static void test_resolve(void **state)
{
	struct vex_field_error e;
	struct vex_tool_match m;

	(void)state;
	publish("mcp", "everything", (const char *const[]){ "add", "echo", "printEnv" }, 3);
	publish("mcp", "fixture", (const char *const[]){ "add", "crash" }, 2);
	publish("command", NULL, (const char *const[]){ "resize" }, 1);

	/* builtins win, even over a catalog tool of the same short name */
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "echo", &m, &e), 0);
	assert_string_equal(m.info.source, "builtin");
	assert_ptr_equal(m.info.name, vex_tool_find("echo")->name);
	vex_tool_match_release(&m);
	/* full names, unique short names, command tools */
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "everything.echo", &m, &e), 0);
	assert_string_equal(m.info.name, "everything.echo");
	assert_string_equal(m.info.server, "everything");
	assert_string_equal(m.info.source, "mcp");
	assert_string_equal(m.info.description, "a published tool");
	assert_string_equal(m.info.input_schema_json, "{\"type\":\"object\",\"required\":[\"a\"]}");
	vex_tool_match_release(&m);
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "crash", &m, &e), 0);
	assert_string_equal(m.info.name, "fixture.crash");
	vex_tool_match_release(&m);
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "resize", &m, &e), 0);
	assert_string_equal(m.info.source, "command");
	assert_null(m.info.server);
	vex_tool_match_release(&m);
	/* ambiguous */
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "add", &m, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "AMBIGUOUS_TOOL");
	assert_string_equal(e.field, "tool");
	assert_string_equal(e.message, "add is ambiguous: everything.add, fixture.add");
	/* unknown */
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "nope", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, NULL, NULL, &m, NULL), VEX_ENOTFOUND);
	vex_tool_match_release(NULL);
}

/* Grant matching: admins and the system run everything; a user by any listed role, plan or owner. */
static void test_grant_allows(void **state)
{
	struct vex_principal alice = { "alice", VEX_ROLE_USER, VEX_PLAN_FREE };
	struct vex_principal pro = { "bob", VEX_ROLE_USER, VEX_PLAN_PRO };
	struct vex_principal admin = { "root", VEX_ROLE_ADMIN, VEX_PLAN_FREE };

	(void)state;
	assert_true(vex_grant_allows(NULL, NULL));
	assert_true(vex_grant_allows(NULL, &admin));
	assert_false(vex_grant_allows(NULL, &alice));
	assert_true(vex_grant_allows("{\"roles\":[\"user\"]}", &alice));
	assert_false(vex_grant_allows("{\"roles\":[\"admin\"]}", &alice));
	assert_true(vex_grant_allows("{\"plans\":[\"pro\",\"enterprise\"]}", &pro));
	assert_false(vex_grant_allows("{\"plans\":[\"pro\",\"enterprise\"]}", &alice));
	assert_true(vex_grant_allows("{\"owners\":[\"alice\"]}", &alice));
	assert_false(vex_grant_allows("{\"owners\":[\"alice\"]}", &pro));
	assert_false(vex_grant_allows("{\"owners\":[\"ALICE\",\"alic\"]}", &alice));
	assert_true(vex_grant_allows("{\"owners\":[\"x\"],\"plans\":[\"pro\"]}", &pro));
	assert_false(vex_grant_allows("not json", &alice));
	assert_false(vex_grant_allows("[\"user\"]", &alice));
	assert_false(vex_grant_allows("{\"roles\":\"user\"}", &alice));
}

/* What a user may not run does not exist for it: not by full name, not by short name, not as an
 * ambiguity candidate, not in the listing. */
static void test_grant_filters(void **state)
{
	struct vex_principal user = { "alice", VEX_ROLE_USER, VEX_PLAN_FREE };
	struct vex_principal admin = { "root", VEX_ROLE_ADMIN, VEX_PLAN_FREE };
	struct vex_tool_row items[3];
	struct vex_tool_rows rows = { items, 3 };
	struct vex_field_error e;
	struct vex_tool_match m;
	struct vex_tool_list l;

	(void)state;
	memset(items, 0, sizeof(items));
	items[0] = (struct vex_tool_row){ "fx.add", "add", "fx", "mcp", "", "{}", 0, "{\"roles\":[\"user\"]}" };
	items[1] = (struct vex_tool_row){ "fx.env", "env", "fx", "mcp", "", "{}", 0, "{\"owners\":[\"bob\"]}" };
	items[2] = (struct vex_tool_row){ "fx.sub", "sub", "fx", "mcp", "", "{}", 0, NULL };
	assert_int_equal(vex_store_tools_replace(fx.store, "mcp", "fx", &rows, 1), 0);
	items[0] = (struct vex_tool_row){ "hid.add", "add", "hid", "mcp", "", "{}", 0, NULL };
	rows.n = 1;
	assert_int_equal(vex_store_tools_replace(fx.store, "mcp", "hid", &rows, 1), 0);

	assert_int_equal(vex_tool_resolve(fx.store, &user, "add", &m, &e), 0);
	assert_string_equal(m.info.name, "fx.add");
	vex_tool_match_release(&m);
	assert_int_equal(vex_tool_resolve(fx.store, &user, "hid.add", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, &user, "fx.env", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, &user, "env", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, &user, "sub", &m, &e), VEX_ENOTFOUND);
	assert_int_equal(vex_tool_resolve(fx.store, &user, "echo", &m, &e), 0);
	vex_tool_match_release(&m);
	/* the admin and the system see both adds */
	assert_int_equal(vex_tool_resolve(fx.store, &admin, "add", &m, &e), VEX_EINVAL);
	assert_string_equal(e.message, "add is ambiguous: fx.add, hid.add");
	assert_int_equal(vex_tool_resolve(fx.store, NULL, "add", &m, &e), VEX_EINVAL);
	assert_int_equal(vex_tool_resolve(fx.store, &admin, "fx.sub", &m, &e), 0);
	vex_tool_match_release(&m);

	assert_int_equal(vex_tools_list(fx.store, &user, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[3].name, "fx.add");
	vex_tool_list_release(&l);
	assert_int_equal(vex_tools_list(fx.store, &admin, &l), 0);
	assert_int_equal(l.n, 7);
	vex_tool_list_release(&l);
}

static void test_list(void **state)
{
	struct vex_tool_list l;
	json_t *schema;

	(void)state;
	assert_int_equal(vex_tools_list(fx.store, NULL, &l), 0);
	assert_int_equal(l.n, 3);
	vex_tool_list_release(&l);
	publish("mcp", "fx", (const char *const[]){ "b", "a" }, 2);
	publish("command", NULL, (const char *const[]){ "echo", "zip" }, 2); /* "echo" is shadowed by the builtin */
	assert_int_equal(vex_tools_list(fx.store, NULL, &l), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.items[0].name, "echo");
	assert_string_equal(l.items[0].source, "builtin");
	assert_string_equal(l.items[2].name, "fail");
	assert_string_equal(l.items[3].name, "fx.a");
	assert_string_equal(l.items[3].server, "fx");
	assert_string_equal(l.items[4].name, "fx.b");
	assert_string_equal(l.items[5].name, "zip");
	assert_string_equal(l.items[5].source, "command");
	schema = vex_tool_schema(&l.items[5]);
	assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
	json_decref(schema);
	vex_tool_list_release(&l);
	vex_tool_list_release(NULL);
}

static void test_schema_fallback(void **state)
{
	struct vex_tool_info t = { "x", "command", "", "{broken", NULL };
	json_t *schema;

	(void)state;
	schema = vex_tool_schema(&t);
	assert_true(json_is_object(schema) && json_object_size(schema) == 0);
	json_decref(schema);
	t.input_schema_json = NULL;
	schema = vex_tool_schema(&t);
	assert_true(json_is_object(schema));
	json_decref(schema);
}

/* ---- ranking ---- */

static const struct vex_tool_info catalog[] = {
	{ "everything.add", "mcp", "Adds two numbers", "{}", "everything" },
	{ "everything.printEnv", "mcp", "Prints all environment variables, helpful for debugging", "{}", "everything" },
	{ "fixture.add", "mcp", "Add a and b", "{}", "fixture" },
	{ "addresses", "command", "Looks up postal records", "{}", NULL },
	{ "resize_image", "command", "Resize an image to the given width and height", "{}", NULL },
	{ "sleep", "builtin", "Waits ms milliseconds, reporting progress", "{}", NULL },
};

#define NCAT (sizeof(catalog) / sizeof(catalog[0]))

static size_t rank(const char *query, struct vex_tool_hit *hits)
{
	return vex_tools_rank(query, catalog, NCAT, hits);
}

static void test_rank_scores(void **state)
{
	struct vex_tool_hit hits[NCAT];
	size_t n;

	(void)state;
	/* "add": 3 for an equal name token; 2 for a name token it starts ("addresses") */
	n = rank("add", hits);
	assert_int_equal(n, 3);
	assert_string_equal(hits[0].tool->name, "everything.add");
	assert_true(hits[0].score == 1.0);
	assert_string_equal(hits[1].tool->name, "fixture.add"); /* a tie: by name */
	assert_true(hits[1].score == 1.0);
	assert_string_equal(hits[2].tool->name, "addresses");
	assert_true(hits[2].score == 2.0 / 3.0);
	/* two tokens: "image" in the name (3), "width" in the description (1): 4 / 6 */
	n = rank("Image WIDTH", hits);
	assert_int_equal(n, 1);
	assert_string_equal(hits[0].tool->name, "resize_image");
	assert_true(hits[0].score == 4.0 / 6.0);
	/* camelCase splits: "env" equals a name token of printEnv; "environment" a description token */
	n = rank("env", hits);
	assert_int_equal(n, 1);
	assert_string_equal(hits[0].tool->name, "everything.printEnv");
	assert_true(hits[0].score == 1.0);
	n = rank("environment", hits);
	assert_int_equal(n, 1);
	assert_true(hits[0].score == 1.0 / 3.0);
	/* a description prefix: "debug" starts "debugging" */
	n = rank("debug", hits);
	assert_int_equal(n, 1);
	assert_true(hits[0].score == 1.0 / 3.0);
	/* repeated query tokens count once; the full name scores as its tokens */
	n = rank("add add ADD", hits);
	assert_true(hits[0].score == 1.0);
	n = rank("fixture.add", hits);
	assert_string_equal(hits[0].tool->name, "fixture.add");
	assert_true(hits[0].score == 1.0);
	assert_string_equal(hits[1].tool->name, "everything.add");
	assert_true(hits[1].score == 0.5);
	/* ordering: best first */
	n = rank("add numbers", hits);
	assert_string_equal(hits[0].tool->name, "everything.add"); /* 3 + 1 */
	assert_true(hits[0].score == 4.0 / 6.0);
	assert_string_equal(hits[1].tool->name, "fixture.add");    /* 3 */
	assert_true(hits[1].score == 0.5);
	assert_string_equal(hits[2].tool->name, "addresses");      /* 2 */
	(void)n;
}

static void test_rank_nothing(void **state)
{
	struct vex_tool_hit hits[NCAT];
	char many[2000];
	size_t i, len = 0;

	(void)state;
	assert_int_equal(rank("zebra", hits), 0);
	assert_int_equal(rank("", hits), 0);
	assert_int_equal(rank("--- !!! ...", hits), 0);
	assert_int_equal(vex_tools_rank(NULL, catalog, NCAT, hits), 0);
	assert_int_equal(vex_tools_rank("add", catalog, 0, hits), 0);
	/* past VEX_TOOLS_QUERY_TOKENS_MAX distinct tokens the rest are ignored */
	for (i = 0; i < VEX_TOOLS_QUERY_TOKENS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "q%zu ", i);
	snprintf(many + len, sizeof(many) - len, "sleep");
	assert_int_equal(rank(many, hits), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_sleep_schema),
		cmocka_unit_test(test_fail_schema),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test_setup_teardown(test_resolve, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list, store_setup, store_teardown),
		cmocka_unit_test(test_grant_allows),
		cmocka_unit_test_setup_teardown(test_grant_filters, store_setup, store_teardown),
		cmocka_unit_test(test_schema_fallback),
		cmocka_unit_test(test_rank_scores),
		cmocka_unit_test(test_rank_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
