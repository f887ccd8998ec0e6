/* test_base64.c - RFC 4648 test vectors in both alphabets, padding rules, strict rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/base64.h"
#include "core/base/err.h"

/* RFC 4648 section 10. */
static const char *const vec_in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const vec_pad[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *const vec_nopad[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

static void expect_decode(const char *in, int flags, const void *want, size_t wlen)
{
	unsigned char out[64];
	size_t len = 12345;

	assert_int_equal(vex_b64_decode(in, strlen(in), out, sizeof(out), &len, flags), 0);
	assert_int_equal(len, wlen);
	assert_memory_equal(out, want, wlen);
}

static void expect_refused(const char *in, int flags)
{
	unsigned char out[64];
	size_t len = 12345;

	assert_int_equal(vex_b64_decode(in, strlen(in), out, sizeof(out), &len, flags), VEX_EINVAL);
	assert_int_equal(len, 12345); /* untouched on failure */
}

static void test_rfc4648_vectors(void **state)
{
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(vec_in) / sizeof(vec_in[0]); i++) {
		size_t n = strlen(vec_in[i]);

		assert_int_equal(vex_b64_encode(vec_in[i], n, out, VEX_B64_PAD), strlen(vec_pad[i]));
		assert_string_equal(out, vec_pad[i]);
		assert_int_equal(strlen(out), VEX_B64_ENCODED_LEN(n, 1));
		assert_int_equal(vex_b64_encode(vec_in[i], n, out, VEX_B64_URL), strlen(vec_nopad[i]));
		assert_string_equal(out, vec_nopad[i]);
		assert_int_equal(strlen(out), VEX_B64_ENCODED_LEN(n, 0));
		expect_decode(vec_pad[i], VEX_B64_PAD, vec_in[i], n);
		expect_decode(vec_nopad[i], VEX_B64_URL, vec_in[i], n);
		expect_decode(vec_pad[i], VEX_B64_PAD_OPT, vec_in[i], n);
		expect_decode(vec_nopad[i], VEX_B64_PAD_OPT, vec_in[i], n);
	}
}

/* The two alphabets differ in 62 and 63 only. */
static void test_alphabets(void **state)
{
	static const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
	char out[8];

	(void)state;
	vex_b64_encode(bytes, sizeof(bytes), out, 0);
	assert_string_equal(out, "+/+/");
	vex_b64_encode(bytes, sizeof(bytes), out, VEX_B64_URL);
	assert_string_equal(out, "-_-_");
	expect_decode("+/+/", 0, bytes, sizeof(bytes));
	expect_decode("-_-_", VEX_B64_URL, bytes, sizeof(bytes));
	expect_refused("-_-_", 0);
	expect_refused("+/+/", VEX_B64_URL);
	expect_decode("+_-/", VEX_B64_EITHER, bytes, sizeof(bytes));
	expect_decode("-_+/", VEX_B64_URL | VEX_B64_EITHER, bytes, sizeof(bytes));
}

static void test_padding_rules(void **state)
{
	(void)state;
	expect_refused("Zg==", 0);               /* padding where none is allowed */
	expect_refused("Zg==", VEX_B64_URL);
	expect_refused("Zg", VEX_B64_PAD);       /* padding required */
	expect_refused("Zm8", VEX_B64_PAD);
	expect_refused("Zg=", VEX_B64_PAD_OPT);  /* incomplete padding */
	expect_refused("Zg===", VEX_B64_PAD_OPT); /* too much */
	expect_refused("Z===", VEX_B64_PAD_OPT);
	expect_refused("====", VEX_B64_PAD_OPT);
	expect_refused("Zg==Zg==", VEX_B64_PAD); /* padding in the middle */
	expect_refused("Z=g=", VEX_B64_PAD);
}

static void test_rejections(void **state)
{
	(void)state;
	expect_refused("Z", VEX_B64_PAD_OPT);    /* 6 bits: no byte */
	expect_refused("Zm9vY", VEX_B64_URL);
	expect_refused("Zm9 v", 0);              /* whitespace */
	expect_refused("Zm9v\n", 0);
	expect_refused("Zm.v", 0);
	expect_refused("Zh", VEX_B64_URL);       /* non-canonical: "Zg" with spare bits set */
	expect_refused("Zm9=", VEX_B64_PAD);     /* "Zm8=" with spare bits set */
	expect_refused("Zm9vYh==", VEX_B64_PAD);
	{
		/* an embedded NUL is not a base64 character */
		unsigned char out[8];
		size_t len = 7;

		assert_int_equal(vex_b64_decode("Zm\0v", 4, out, sizeof(out), &len, 0), VEX_EINVAL);
		assert_int_equal(len, 7);
	}
}

static void test_capacity(void **state)
{
	unsigned char out[3];
	size_t len = 99;

	(void)state;
	assert_int_equal(vex_b64_decode("Zm9vYmFy", 8, out, sizeof(out), &len, 0), VEX_ETOOBIG);
	assert_int_equal(len, 99);
	assert_int_equal(vex_b64_decode("Zm9v", 4, out, sizeof(out), &len, 0), 0);
	assert_int_equal(len, 3);
	assert_int_equal(vex_b64_decode("", 0, NULL, 0, &len, 0), 0);
	assert_int_equal(len, 0);
}

/* Every byte string of a few lengths round-trips through both alphabets and both padding styles. */
static void test_round_trip(void **state)
{
	unsigned char in[40], back[40];
	char text[64];
	static const int styles[] = { 0, VEX_B64_PAD, VEX_B64_URL, VEX_B64_URL | VEX_B64_PAD };

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 251);
	for (size_t n = 0; n <= sizeof(in); n++)
		for (size_t s = 0; s < 4; s++) {
			size_t len = 0, tl = vex_b64_encode(in, n, text, styles[s]);

			assert_int_equal(tl, VEX_B64_ENCODED_LEN(n, styles[s] & VEX_B64_PAD));
			assert_int_equal(vex_b64_decode(text, tl, back, sizeof(back), &len, styles[s]), 0);
			assert_int_equal(len, n);
			assert_memory_equal(back, in, n);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_alphabets),
		cmocka_unit_test(test_padding_rules),   cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_capacity),        cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
