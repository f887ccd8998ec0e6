/* test_store_tools.c - the tool catalog in the store: replace per source and per server, keep_servers,
 * list, resolve by exact, short and ambiguous name, invalid publications; on SQLite and, from tools/run-unit's
 * second pass (tests/unit/postgres.list), on PostgreSQL. */
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
#include "tests/unit/store_fixture.h"

static struct store_fixture fx;
static struct vex_store *store;

static int setup(void **state)
{
	(void)state;
	if (store_fixture_open(&fx, "tools") != 0)
		return -1;
	store = fx.store;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}

/* A row with borrowed strings (never released: the tests only pass it to the store). */
static struct vex_tool_row row(const char *name, const char *short_name, const char *server, const char *source,
			       const char *description)
{
	struct vex_tool_row r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.short_name = (char *)short_name;
	r.server = (char *)server;
	r.source = (char *)source;
	r.description = (char *)description;
	r.input_schema = (char *)"{\"type\":\"object\"}";
	return r;
}

static int publish_mcp(const char *server, const char *const *tools, size_t n)
{
	struct vex_tool_row items[8];
	struct vex_tool_rows rows = { items, n };
	char names[8][64];
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "%s.%s", server, tools[i]);
		items[i] = row(names[i], tools[i], server, "mcp", "an MCP tool");
	}
	return vex_store_tools_replace(store, "mcp", server, &rows, 1000);
}

/* The names of every row, comma separated. */
static void names_of(char *out, size_t cap)
{
	struct vex_tool_rows l = { NULL, 0 };
	size_t i, len = 0;

	assert_int_equal(vex_store_tools_list(store, &l), 0);
	out[0] = '\0';
	for (i = 0; i < l.n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", l.items[i].name);
	vex_tool_rows_release(&l);
}

static void test_empty(void **state)
{
	struct vex_tool_rows l = { NULL, 0 };

	(void)state;
	assert_int_equal(vex_store_tools_list(store, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_tool_resolve(store, "add", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "", NULL, NULL, &l), VEX_ENOTFOUND);
	vex_tool_rows_release(&l);
	vex_tool_rows_release(NULL);
}

static void test_replace_commands(void **state)
{
	struct vex_tool_row items[2] = {
		row("resize", "resize", NULL, "command", "Resize an image"),
		row("backup", "backup", NULL, "command", NULL),
	};
	struct vex_tool_rows rows = { items, 2 }, l = { NULL, 0 };
	char names[256];

	(void)state;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1234), 0);
	assert_int_equal(vex_store_tools_list(store, &l), 0);
	assert_int_equal(l.n, 2);
	/* by name; a missing description reads as "" */
	assert_string_equal(l.items[0].name, "backup");
	assert_string_equal(l.items[0].description, "");
	assert_null(l.items[0].server);
	assert_string_equal(l.items[0].source, "command");
	assert_string_equal(l.items[0].short_name, "backup");
	assert_string_equal(l.items[0].input_schema, "{\"type\":\"object\"}");
	assert_true(l.items[0].updated_at == 1234);
	assert_string_equal(l.items[1].name, "resize");
	assert_string_equal(l.items[1].description, "Resize an image");
	vex_tool_rows_release(&l);
	assert_null(l.items);

	/* A second publication replaces the first entirely, and leaves MCP rows alone. */
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "add" }, 1), 0);
	rows.n = 1;
	items[0] = row("convert", "convert", NULL, "command", "Convert");
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1300), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "convert,fx.add");
	rows.n = 0;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1400), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "fx.add");
}

static void test_replace_per_server(void **state)
{
	struct vex_tool_rows l = { NULL, 0 };
	char names[256];

	(void)state;
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "add", "echo", "long" }, 3), 0);
	assert_int_equal(publish_mcp("everything", (const char *const[]){ "add", "printEnv" }, 2), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "everything.add,everything.printEnv,fx.add,fx.echo,fx.long");
	/* fx publishes again (tools/list_changed): only its rows change */
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "sub" }, 1), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "everything.add,everything.printEnv,fx.sub");
	assert_int_equal(vex_store_tool_resolve(store, "fx.sub", NULL, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].server, "fx");
	assert_string_equal(l.items[0].source, "mcp");
	assert_string_equal(l.items[0].short_name, "sub");
	assert_string_equal(l.items[0].description, "an MCP tool");
	assert_true(l.items[0].updated_at == 1000);
	vex_tool_rows_release(&l);
}

static void test_keep_servers(void **state)
{
	struct vex_tool_row cmd = row("backup", "backup", NULL, "command", "");
	struct vex_tool_rows rows = { &cmd, 1 };
	const char *keep[] = { "b", "zz" };
	char names[256];

	(void)state;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), 0);
	assert_int_equal(publish_mcp("a", (const char *const[]){ "x" }, 1), 0);
	assert_int_equal(publish_mcp("b", (const char *const[]){ "x", "y" }, 2), 0);
	assert_int_equal(publish_mcp("c", (const char *const[]){ "z" }, 1), 0);
	assert_int_equal(vex_store_tools_keep_servers(store, keep, 2), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "b.x,b.y,backup");
	/* keeping nothing removes every MCP row, never a command row */
	assert_int_equal(vex_store_tools_keep_servers(store, NULL, 0), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "backup");
	assert_int_equal(vex_store_tools_keep_servers(store, NULL, 1), VEX_EINVAL);
	keep[1] = NULL;
	assert_int_equal(vex_store_tools_keep_servers(store, keep, 2), VEX_EINVAL);
}

static void test_resolve(void **state)
{
	struct vex_tool_row cmd = row("add", "add", NULL, "command", "");
	struct vex_tool_rows rows = { &cmd, 1 }, l = { NULL, 0 };

	(void)state;
	assert_int_equal(publish_mcp("everything", (const char *const[]){ "add", "printEnv", "echo" }, 3), 0);
	assert_int_equal(publish_mcp("fixture", (const char *const[]){ "add", "crash" }, 2), 0);

	/* exact full name */
	assert_int_equal(vex_store_tool_resolve(store, "fixture.add", NULL, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].name, "fixture.add");
	vex_tool_rows_release(&l);
	/* a unique short name */
	assert_int_equal(vex_store_tool_resolve(store, "printEnv", NULL, NULL, &l), 0);
	assert_string_equal(l.items[0].name, "everything.printEnv");
	vex_tool_rows_release(&l);
	/* an ambiguous short name: the candidates, by name */
	assert_int_equal(vex_store_tool_resolve(store, "add", NULL, NULL, &l), VEX_ECONFLICT);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].name, "everything.add");
	assert_string_equal(l.items[1].name, "fixture.add");
	vex_tool_rows_release(&l);
	/* names are case-sensitive; unknown names and servers are not found */
	assert_int_equal(vex_store_tool_resolve(store, "PRINTENV", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "everything", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "other.add", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, NULL, NULL, NULL, &l), VEX_EINVAL);
	assert_null(l.items);
	/* an exact name wins over short names: the command tool "add" */
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 5), 0);
	assert_int_equal(vex_store_tool_resolve(store, "add", NULL, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].source, "command");
	vex_tool_rows_release(&l);
}

static void test_ambiguous_capped(void **state)
{
	const char *one[] = { "t" };
	struct vex_tool_rows l = { NULL, 0 };
	char server[16];
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(server, sizeof(server), "s%02d", i);
		assert_int_equal(publish_mcp(server, one, 1), 0);
	}
	assert_int_equal(vex_store_tool_resolve(store, "t", NULL, NULL, &l), VEX_ECONFLICT);
	assert_int_equal(l.n, 16);
	assert_string_equal(l.items[0].name, "s00.t");
	vex_tool_rows_release(&l);
}

static void test_replace_invalid(void **state)
{
	struct vex_tool_row items[2] = {
		row("fx.add", "add", "fx", "mcp", ""),
		row("fx.add", "add", "fx", "mcp", ""),
	};
	struct vex_tool_rows rows = { items, 1 };
	char names[256];

	(void)state;
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "keep" }, 1), 0);
	/* source and server must agree with every row */
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "mcp", "other", &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "mcp", NULL, &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "builtin", NULL, &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "command", "fx", &rows, 1), VEX_EINVAL);
	items[0].input_schema = NULL;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("", "add", "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a\nb", "a\nb", "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	/* duplicate names: the whole publication is refused, the previous rows stay */
	items[0] = row("fx.add", "add", "fx", "mcp", "");
	rows.n = 2;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EEXIST);
	names_of(names, sizeof(names));
	assert_string_equal(names, "fx.keep");
	rows.n = 1;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "fx.add");
}

/* A row's grant is stored and read back as given (NULL stays NULL); a lookup filter hides rows,
 * candidates included. */
static int keep_granted(const struct vex_tool_row *r, const void *arg)
{
	(void)arg;
	return r->grant != NULL;
}

static void test_grant_column(void **state)
{
	struct vex_tool_row items[2] = { row("fx.add", "add", "fx", "mcp", ""), row("fx.env", "env", "fx", "mcp", "") };
	struct vex_tool_rows rows = { items, 2 }, l = { NULL, 0 };

	(void)state;
	items[0].grant = (char *)"{\"roles\":[\"user\"]}";
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), 0);
	assert_int_equal(vex_store_tools_list(store, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].grant, "{\"roles\":[\"user\"]}");
	assert_null(l.items[1].grant);
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "fx.add", keep_granted, NULL, &l), 0);
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "fx.env", keep_granted, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "env", keep_granted, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "env", NULL, NULL, &l), 0);
	vex_tool_rows_release(&l);
}

/* Each limit at its edge: the most is stored, one byte more refuses the whole publication. */
static void test_limits(void **state)
{
	static char big[1024 * 1024 + 2];
	struct vex_tool_row items[1] = { row("fx.add", "add", "fx", "mcp", "") };
	struct vex_tool_rows rows = { items, 1 }, l = { NULL, 0 };
	char name[300], names[512], want[300];

	(void)state;
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "keep" }, 1), 0);
	/* a name of 256 bytes; a short name as long as the name */
	memset(name, 'n', 256);
	name[256] = '\0';
	items[0] = row(name, name, "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), 0);
	assert_int_equal(vex_store_tool_resolve(store, name, NULL, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	vex_tool_rows_release(&l);
	name[256] = 'n';
	name[257] = '\0';
	items[0] = row(name, "n", "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tool_resolve(store, name, NULL, NULL, &l), VEX_ENOTFOUND);
	items[0] = row("fx.a", "fx.ab", "fx", "mcp", ""); /* short name longer than the name */
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a", "", "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a", NULL, "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a\x7f", "a\x7f", "fx", "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a", "a\xc2\x9f", "fx", "mcp", ""); /* U+009F */
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a", "a", NULL, "mcp", "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	items[0] = row("fx.a", "a", "fx", NULL, "");
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	names_of(names, sizeof(names));
	memset(want, 'n', 256);
	want[256] = '\0';
	assert_string_equal(names, want);

	/* a description of 64 KiB, a schema and a grant of 1 MiB each */
	memset(big, 'd', sizeof(big) - 1);
	big[65536] = '\0';
	items[0] = row("fx.add", "add", "fx", "mcp", big);
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 2), 0);
	big[65536] = 'd';
	big[65537] = '\0';
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 3), VEX_EINVAL);
	memset(big, 'd', sizeof(big) - 1);
	big[1024 * 1024] = '\0';
	items[0] = row("fx.add", "add", "fx", "mcp", "");
	items[0].input_schema = big;
	items[0].grant = big;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 4), 0);
	assert_int_equal(vex_store_tool_resolve(store, "add", NULL, NULL, &l), 0);
	assert_int_equal(strlen(l.items[0].input_schema), 1024 * 1024);
	assert_int_equal(strlen(l.items[0].grant), 1024 * 1024);
	assert_true(l.items[0].updated_at == 4);
	vex_tool_rows_release(&l);
	big[1024 * 1024] = 'd';
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 5), VEX_EINVAL);
	items[0].grant = NULL;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 5), VEX_EINVAL);
	items[0].input_schema = (char *)"{}";
	items[0].grant = big;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 5), VEX_EINVAL);
	names_of(names, sizeof(names));
	assert_string_equal(names, "fx.add");

	/* the arguments themselves */
	assert_int_equal(vex_store_tools_replace(store, NULL, NULL, &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", NULL, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_replace(store, "mcp", "", &rows, 1), VEX_EINVAL);
	rows.items = NULL;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), VEX_EINVAL);
	assert_int_equal(vex_store_tools_list(store, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_tool_resolve(store, "add", NULL, NULL, NULL), VEX_EINVAL);
	rows.n = 0; /* an empty publication with no array: every row of fx goes */
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "");
}

/* 10000 rows in one publication, 10001 refused; a listing stops at 10000, the first by name. */
static void test_many_rows(void **state)
{
	struct vex_tool_row *items = calloc(10001, sizeof(*items));
	char (*names)[16] = calloc(10001, sizeof(*names));
	struct vex_tool_rows rows = { items, 10001 }, l = { NULL, 0 };
	size_t i;

	(void)state;
	assert_non_null(items);
	assert_non_null(names);
	for (i = 0; i < 10001; i++) {
		snprintf(names[i], sizeof(names[i]), "c%05zu", i);
		items[i] = row(names[i], names[i], NULL, "command", "");
	}
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), VEX_EINVAL);
	rows.n = 10000;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), 0);
	assert_int_equal(publish_mcp("a", (const char *const[]){ "x" }, 1), 0);
	assert_int_equal(vex_store_tools_list(store, &l), 0);
	assert_int_equal(l.n, 10000);
	assert_string_equal(l.items[0].name, "a.x");
	assert_string_equal(l.items[1].name, "c00000");
	assert_string_equal(l.items[9999].name, "c09998");
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "c09999", NULL, NULL, &l), 0);
	vex_tool_rows_release(&l);
	free(items);
	free(names);
}

/* A publication that fails on its last row leaves the previous one whole: a name another source holds. */
static void test_replace_rolled_back(void **state)
{
	struct vex_tool_row items[3] = {
		row("backup", "backup", NULL, "command", ""),
		row("convert", "convert", NULL, "command", ""),
		row("fx.keep", "fx.keep", NULL, "command", ""),
	};
	struct vex_tool_rows rows = { items, 1 };
	char names[256];

	(void)state;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), 0);
	assert_int_equal(publish_mcp("fx", (const char *const[]){ "keep" }, 1), 0);
	rows.items = items + 1;
	rows.n = 2;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 2), VEX_EEXIST);
	names_of(names, sizeof(names));
	assert_string_equal(names, "backup,fx.keep");
	/* and the store goes on */
	rows.n = 1;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 3), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "convert,fx.keep");
}

/* keep_servers: at most 1000 names, UTF-8 only; names with JSON's special characters match as they are. */
static void test_keep_servers_names(void **state)
{
	static const char *const servers[] = { "q\"uote", "back\\slash", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x90\x98", "x" };
	const char *keep[1001];
	char names[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
		assert_int_equal(publish_mcp(servers[i], (const char *const[]){ "t" }, 1), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "back\\slash.t,q\"uote.t,x.t,\xc3\xa9t\xc3\xa9.t,\xf0\x9f\x90\x98.t");
	for (i = 0; i < 1001; i++)
		keep[i] = "zz";
	keep[0] = "q\"uote";
	keep[1] = "back\\slash";
	keep[2] = "\xc3\xa9t\xc3\xa9";
	keep[3] = "X"; /* case matters */
	assert_int_equal(vex_store_tools_keep_servers(store, keep, 1001), VEX_EINVAL);
	keep[4] = "bad\xff";
	assert_int_equal(vex_store_tools_keep_servers(store, keep, 5), VEX_EINVAL);
	names_of(names, sizeof(names));
	assert_string_equal(names, "back\\slash.t,q\"uote.t,x.t,\xc3\xa9t\xc3\xa9.t,\xf0\x9f\x90\x98.t");
	keep[4] = "zz";
	assert_int_equal(vex_store_tools_keep_servers(store, keep, 1000), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "back\\slash.t,q\"uote.t,\xc3\xa9t\xc3\xa9.t");
}

/* Names in UTF-8 sort by their bytes and resolve by full or short name; bytes that are not UTF-8 are found
 * nowhere, and PostgreSQL's text cannot store them (SQLite keeps any bytes). */
static void test_unicode(void **state)
{
	struct vex_tool_row items[4] = {
		row("\xc3\xa9" "cho", "\xc3\xa9" "cho", NULL, "command", "\xf0\x9f\x98\x80 smiles"),
		row("Zip", "Zip", NULL, "command", ""),
		row("e\xcc\x81" "cho", "e\xcc\x81" "cho", NULL, "command", ""),
		row("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac", NULL, "command", ""),
	};
	struct vex_tool_rows rows = { items, 4 }, l = { NULL, 0 };
	struct vex_tool_row bad = row("bad\xff", "bad\xff", NULL, "command", "");
	struct vex_tool_rows bad_rows = { &bad, 1 };
	char names[256];

	(void)state;
	assert_int_equal(vex_store_tools_replace(store, "command", NULL, &rows, 1), 0);
	names_of(names, sizeof(names));
	assert_string_equal(names, "Zip,e\xcc\x81" "cho,\xc3\xa9" "cho,\xe6\x97\xa5\xe6\x9c\xac");
	assert_int_equal(vex_store_tool_resolve(store, "\xc3\xa9" "cho", NULL, NULL, &l), 0);
	assert_string_equal(l.items[0].name, "\xc3\xa9" "cho");
	assert_string_equal(l.items[0].description, "\xf0\x9f\x98\x80 smiles");
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "zip", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "\xc3\xa9", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "nope\xff", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "\xc3", NULL, NULL, &l), VEX_ENOTFOUND);
	assert_null(l.items);
	if (store_fixture_postgres()) {
		assert_int_equal(vex_store_tools_replace(store, "command", NULL, &bad_rows, 2), VEX_EINVAL);
		names_of(names, sizeof(names));
		assert_string_equal(names, "Zip,e\xcc\x81" "cho,\xc3\xa9" "cho,\xe6\x97\xa5\xe6\x9c\xac");
	} else {
		assert_int_equal(vex_store_tools_replace(store, "command", NULL, &bad_rows, 2), 0);
		names_of(names, sizeof(names));
		assert_string_equal(names, "bad\xff");
	}
}

/* A filter hides rows before the cap: the candidates are the first 16 rows it keeps, and a full name it hides
 * falls back to short names. */
static void test_filter_candidates(void **state)
{
	struct vex_tool_row item = row("", "t", "", "mcp", "");
	struct vex_tool_rows rows = { &item, 1 }, l = { NULL, 0 };
	char server[16], name[24];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(server, sizeof(server), "s%02d", i);
		snprintf(name, sizeof(name), "s%02d.t", i);
		item.name = name;
		item.server = server;
		item.grant = i % 2 ? (char *)"{\"roles\":[\"user\"]}" : NULL;
		assert_int_equal(vex_store_tools_replace(store, "mcp", server, &rows, i), 0);
	}
	assert_int_equal(vex_store_tool_resolve(store, "t", NULL, NULL, &l), VEX_ECONFLICT);
	assert_int_equal(l.n, 16);
	assert_string_equal(l.items[0].name, "s00.t");
	assert_string_equal(l.items[15].name, "s15.t");
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "t", keep_granted, NULL, &l), VEX_ECONFLICT);
	assert_int_equal(l.n, 16);
	assert_string_equal(l.items[0].name, "s01.t");
	assert_string_equal(l.items[15].name, "s31.t");
	assert_non_null(l.items[15].grant);
	vex_tool_rows_release(&l);
	assert_int_equal(vex_store_tool_resolve(store, "s02.t", keep_granted, NULL, &l), VEX_ENOTFOUND);
	assert_int_equal(vex_store_tool_resolve(store, "s03.t", keep_granted, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	vex_tool_rows_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_per_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ambiguous_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_servers_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_candidates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
