/* test_cursor.c - sealed page tokens: round trip, tampering, foreign scope and secret, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi-app/cursor.h"
#include "core/base/err.h"

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef-secret";
static const unsigned char OTHER[] = "another secret of at least thirty-two bytes";
#define SLEN (sizeof(SECRET) - 1)
#define ID "01890a5d-ac96-774b-bcce-b302099a8057"

static void test_round_trip(void **state)
{
	char tok[VEX_CURSOR_MAX], id[VEX_UUID_LEN + 1];

	(void)state;
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "events|alice||FAILED|0|0", ID, tok, sizeof(tok)), 0);
	assert_non_null(strchr(tok, '.'));
	assert_null(strstr(tok, "alice")); /* opaque: the scope is hashed */
	for (const char *p = tok; *p; p++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", *p));
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "events|alice||FAILED|0|0", tok, id), 0);
	assert_string_equal(id, ID);
}

static void test_foreign_scope_and_secret(void **state)
{
	char tok[VEX_CURSOR_MAX], id[VEX_UUID_LEN + 1] = "untouched";

	(void)state;
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "agents|alice", ID, tok, sizeof(tok)), 0);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "agents|bob", tok, id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "events|alice||||", tok, id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(OTHER, sizeof(OTHER) - 1, "agents|alice", tok, id), VEX_EINVAL);
	assert_string_equal(id, "untouched"); /* output only on success */
}

static void test_tampered(void **state)
{
	char tok[VEX_CURSOR_MAX], bad[VEX_CURSOR_MAX], id[VEX_UUID_LEN + 1];
	size_t i, n;

	(void)state;
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "s", ID, tok, sizeof(tok)), 0);
	n = strlen(tok);
	/* Every single-character change is refused. */
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", bad, id), VEX_EINVAL);
	}
	memcpy(bad, tok, n + 1);
	bad[n - 1] = '\0'; /* truncated */
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", bad, id), VEX_EINVAL);
}

static void test_malformed(void **state)
{
	char id[VEX_UUID_LEN + 1], big[600], tok[8];

	(void)state;
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", "", id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", "abc", id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", ".", id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", "e30.e30", id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", "!!!.???", id), VEX_EINVAL);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '.';
	assert_int_equal(vex_cursor_open(SECRET, SLEN, "s", big, id), VEX_EINVAL);
	assert_int_equal(vex_cursor_open(NULL, 0, "s", "a.b", id), VEX_EINVAL);
	assert_int_equal(vex_cursor_seal(NULL, 0, "s", ID, big, sizeof(big)), VEX_EINVAL);
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "s", ID, tok, sizeof(tok)), VEX_ETOOBIG);
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "s", ID "-too-long", big, sizeof(big)), VEX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_foreign_scope_and_secret),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
