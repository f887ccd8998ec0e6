/* test_hex.c - hex encoding and decoding; the FNV-1a hash against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/hex.h"

static void test_hex_round_trip(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	unsigned char back[sizeof(bytes)];
	char text[2 * sizeof(bytes) + 1];

	(void)state;
	vex_hex_encode(bytes, sizeof(bytes), text);
	assert_string_equal(text, "00017f80abff");
	assert_int_equal(vex_hex_decode(text, sizeof(bytes), back), 0);
	assert_memory_equal(back, bytes, sizeof(bytes));
	assert_int_equal(vex_hex_decode("00017F80ABFF", sizeof(bytes), back), 0); /* either case */
	assert_memory_equal(back, bytes, sizeof(bytes));
	vex_hex_encode(bytes, 0, text);
	assert_string_equal(text, "");
}

static void test_hex_rejects(void **state)
{
	unsigned char out[4];

	(void)state;
	assert_int_equal(vex_hex_decode("0g", 1, out), VEX_EINVAL);
	assert_int_equal(vex_hex_decode("g0", 1, out), VEX_EINVAL);
	assert_int_equal(vex_hex_decode(" 0", 1, out), VEX_EINVAL);
	assert_int_equal(vex_hex_decode("0", 1, out), VEX_EINVAL); /* stops at the NUL */
	assert_int_equal(vex_hex_value('F'), 15);
	assert_int_equal(vex_hex_value('x'), -1);
	assert_int_equal(vex_hex_value('\0'), -1);
}

/* 64-bit FNV-1a vectors from the reference test suite (isthe.com/chongo/tech/comp/fnv). */
static void test_fnv1a(void **state)
{
	(void)state;
	assert_true(vex_hash_str("") == 0xcbf29ce484222325ULL);
	assert_true(vex_hash_str("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(vex_hash_str("foobar") == 0x85944171f73967e8ULL);
	/* Bytes (NULs included), and chained: the same as the whole at once. */
	assert_true(vex_hash_bytes("foobar", 6, VEX_HASH_SEED) == 0x85944171f73967e8ULL);
	assert_true(vex_hash_bytes("bar", 3, vex_hash_bytes("foo", 3, VEX_HASH_SEED)) == 0x85944171f73967e8ULL);
	assert_true(vex_hash_bytes("a\0b", 3, VEX_HASH_SEED) != vex_hash_bytes("a\0c", 3, VEX_HASH_SEED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_rejects),
		cmocka_unit_test(test_fnv1a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
