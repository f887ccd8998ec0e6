/* test_store_pauses.c - paused claiming in the store (pause, resume, the pause list, the state a claim reads), on
 * SQLite and, from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL. The claims that obey
 * the pauses: test_store_operator.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/store/operator.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "pauses"
#include "tests/unit/store_fixture.h"

/* What a claim would read (each backend's pause state: it has no interface function of its own). */
static int pause_state(void)
{
	int v = -1;

	if (store_fixture_postgres())
		assert_int_equal(vex_pg_pause_state(vex_pg_of(store), &v), 0);
	else
		assert_int_equal(vex_sqlite_pause_state(vex_sqlite_of(store), &v), 0);
	return v;
}

/* The tools of the pause list, comma separated, in "out". */
static void tools_of(char *out, size_t cap)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	size_t i, len = 0;

	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	out[0] = '\0';
	for (i = 0; i < l.n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", l.items[i].tool);
	vex_claim_pause_list_release(&l);
}

static void test_empty(void **state)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	int changed = -1;

	(void)state;
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items); /* an empty list owns nothing */
	assert_int_equal(pause_state(), 0);
	assert_int_equal(vex_store_claim_resume(store, "echo", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(vex_store_claim_resume(store, VEX_PAUSE_ALL, &changed), 0);
	assert_int_equal(changed, 0);
	vex_claim_pause_list_release(&l);
	vex_claim_pause_list_release(NULL);
}

/* Pausing what is paused keeps the first row; resuming says whether there was one. */
static void test_pause_resume(void **state)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	int changed = -1;

	(void)state;
	assert_int_equal(vex_store_claim_pause(store, "echo", "alice", 100), 0);
	assert_int_equal(vex_store_claim_pause(store, "echo", "bob", 200), 0);
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].tool, "echo");
	assert_string_equal(l.items[0].paused_by, "alice");
	assert_true(l.items[0].paused_at == 100);
	vex_claim_pause_list_release(&l);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	assert_int_equal(pause_state(), VEX_PAUSED_TOOLS);

	/* Names are compared as bytes: neither case nor a prefix matches. */
	assert_int_equal(vex_store_claim_resume(store, "ECHO", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(vex_store_claim_resume(store, "ech", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(vex_store_claim_resume(store, "echo", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(vex_store_claim_resume(store, "echo", &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(pause_state(), 0);
	/* ret_changed is optional; a later pause is a new row */
	assert_int_equal(vex_store_claim_pause(store, "echo", "bob", 300), 0);
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].paused_by, "bob");
	assert_true(l.items[0].paused_at == 300);
	vex_claim_pause_list_release(&l);
	assert_int_equal(vex_store_claim_resume(store, "echo", NULL), 0);
	assert_int_equal(vex_store_claim_resume(store, "echo", NULL), 0);
	assert_int_equal(pause_state(), 0);
	/* an empty "by" is stored as given */
	assert_int_equal(vex_store_claim_pause(store, "x", "", -5), 0);
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_string_equal(l.items[0].paused_by, "");
	assert_true(l.items[0].paused_at == -5);
	vex_claim_pause_list_release(&l);
}

/* The global pause is the tool "": first in the list, and resumed only by name. */
static void test_global(void **state)
{
	char tools[256];
	int changed = -1;

	(void)state;
	assert_int_equal(vex_store_claim_pause(store, VEX_PAUSE_ALL, "root", 1), 0);
	assert_int_equal(pause_state(), VEX_PAUSED_ALL);
	assert_int_equal(vex_store_claim_pause(store, "sleep", "root", 2), 0);
	assert_int_equal(pause_state(), VEX_PAUSED_ALL);
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, ",sleep");
	assert_int_equal(vex_store_claim_resume(store, "sleep", &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(pause_state(), VEX_PAUSED_ALL);
	assert_int_equal(vex_store_claim_pause(store, "sleep", "root", 3), 0);
	assert_int_equal(vex_store_claim_resume(store, VEX_PAUSE_ALL, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(pause_state(), VEX_PAUSED_TOOLS);
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, "sleep");
}

/* The list comes by tool name in bytes: upper case before lower, UTF-8 after ASCII, by its bytes. */
static void test_order_and_unicode(void **state)
{
	static const char *const names[] = {
		"\xf0\x9f\x98\x80.smile", /* U+1F600 */
		"\xc3\xa9" "cho",         /* U+00E9 */
		"\xef\xbf\xbf",            /* U+FFFF */
		"zeta",
		"Zeta",
		"a.b",
		"a",
		"e\xcc\x81" "cho",        /* e + combining acute: another name than U+00E9 */
	};
	struct vex_claim_pause_list l = { NULL, 0 };
	char tools[512];
	int changed = -1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(vex_store_claim_pause(store, names[i], "\xe7\xae\xa1\xe7\x90\x86", (int64_t)i), 0);
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, "Zeta,a,a.b,e\xcc\x81" "cho,zeta,\xc3\xa9" "cho,\xef\xbf\xbf,\xf0\x9f\x98\x80.smile");
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 8);
	assert_string_equal(l.items[7].paused_by, "\xe7\xae\xa1\xe7\x90\x86"); /* as stored */
	assert_true(l.items[7].paused_at == 0);
	vex_claim_pause_list_release(&l);
	assert_int_equal(vex_store_claim_resume(store, "\xc3\xa9" "cho", &changed), 0);
	assert_int_equal(changed, 1);
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, "Zeta,a,a.b,e\xcc\x81" "cho,zeta,\xef\xbf\xbf,\xf0\x9f\x98\x80.smile");
}

/* Names no tool can have: refused, nothing stored. */
static void test_invalid(void **state)
{
	char name[300], tools[512];
	int changed = 7;

	(void)state;
	memset(name, 'n', 256);
	name[256] = '\0';
	assert_int_equal(vex_store_claim_pause(store, name, "root", 1), 0); /* 256 bytes: the most */
	assert_int_equal(vex_store_claim_resume(store, name, &changed), 0);
	assert_int_equal(changed, 1);
	name[256] = 'n';
	name[257] = '\0';
	changed = 7;
	assert_int_equal(vex_store_claim_pause(store, name, "root", 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_resume(store, name, &changed), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, NULL, "root", 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, "echo", NULL, 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_resume(store, NULL, &changed), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, "a\nb", "root", 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, "a\tb", "root", 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, "a\x7f", "root", 1), VEX_EINVAL);
	assert_int_equal(vex_store_claim_pause(store, "a\xc2\x85", "root", 1), VEX_EINVAL); /* U+0085 */
	assert_int_equal(vex_store_claim_resume(store, "a\x1b", &changed), VEX_EINVAL);
	assert_int_equal(changed, 7); /* untouched on failure */
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, "");
	assert_int_equal(pause_state(), 0);
}

/* Bytes that are not UTF-8: SQLite keeps any bytes, PostgreSQL's text cannot hold them, so a pause of such a name
 * is refused there (VEX_EINVAL) and there is nothing to resume. */
static void test_not_utf8(void **state)
{
	char tools[64];
	int changed = -1;

	(void)state;
	if (store_fixture_postgres()) {
		assert_int_equal(vex_store_claim_pause(store, "bad\xff", "root", 1), VEX_EINVAL);
		assert_int_equal(vex_store_claim_pause(store, "echo", "r\xc3", 1), VEX_EINVAL);
		assert_int_equal(vex_store_claim_resume(store, "bad\xff", &changed), 0);
		assert_int_equal(changed, 0);
		tools_of(tools, sizeof(tools));
		assert_string_equal(tools, "");
	} else {
		assert_int_equal(vex_store_claim_pause(store, "bad\xff", "root", 1), 0);
		tools_of(tools, sizeof(tools));
		assert_string_equal(tools, "bad\xff");
		assert_int_equal(vex_store_claim_resume(store, "bad\xff", &changed), 0);
		assert_int_equal(changed, 1);
	}
	/* the store still answers */
	assert_int_equal(vex_store_claim_pause(store, "echo", "root", 2), 0);
	tools_of(tools, sizeof(tools));
	assert_string_equal(tools, "echo");
}

/* The list stops at 10000 rows: the first by name. */
static void test_list_capped(void **state)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	char name[16];
	int i;

	(void)state;
	for (i = 0; i < 10001; i++) {
		snprintf(name, sizeof(name), "t%05d", i);
		assert_int_equal(vex_store_claim_pause(store, name, "root", i), 0);
	}
	assert_int_equal(vex_store_claim_pauses(store, &l), 0);
	assert_int_equal(l.n, 10000);
	assert_string_equal(l.items[0].tool, "t00000");
	assert_string_equal(l.items[9999].tool, "t09999");
	assert_true(l.items[9999].paused_at == 9999);
	vex_claim_pause_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_global, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_order_and_unicode, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_not_utf8, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_capped, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
