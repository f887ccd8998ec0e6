/* test_hooksign.c - webhook signatures against vectors computed outside vex.
 *
 * How the expected values were computed (openssl 3.0, bash):
 *   corex:    printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"             (key = the whole whsec_ text)
 *   standard: KEY=$(printf %s "${SECRET#whsec_}" | base64 -d | xxd -p -c 256)
 *             printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY -binary | base64
 * The first standard vector is also the example published with the Standard Webhooks specification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/hooksign.h"

#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330
#define SPEC_BODY "{\"test\": 2432232314}"

/* 32 bytes de ad be ef 00 00 00 00 11 22 ... ff 00 ... in standard base64 (with + and /). */
#define VEX_SECRET "whsec_3q2+7wAAAAAREiIzRFVmd4iZqrvM3e7/AAAAAAAAAAA="
#define VEX_ID "msg_0190f0a0b0c07d00800000000000000a"
#define VEX_TS 1735722000
#define VEX_BODY "{\"event\":\"job.completed\",\"timestamp\":\"2025-01-01T09:00:00.000Z\",\"job\":{\"job_id\":\"x\"}}"

static void test_corex(void **state)
{
	char out[VEX_HOOKSIGN_COREX_LEN + 1];

	(void)state;
	assert_int_equal(vex_hooksign_corex(SPEC_SECRET, SPEC_BODY, strlen(SPEC_BODY), out), 0);
	assert_string_equal(out, "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c");
	assert_int_equal(vex_hooksign_corex(VEX_SECRET, VEX_BODY, strlen(VEX_BODY), out), 0);
	assert_string_equal(out, "sha256=76fdcc91eac62a892e099a97fdfc35bd61e0f6dd5ffb00ecd4101326e56cc6a9");
	assert_int_equal(strlen(out), VEX_HOOKSIGN_COREX_LEN);
	/* an empty body is still signed */
	assert_int_equal(vex_hooksign_corex(VEX_SECRET, "", 0, out), 0);
	assert_string_equal(out, "sha256=d5dc55a951a432619e52cc84e4f4f91f75441212293bfd6688096748eb7b6788");
	assert_int_equal(vex_hooksign_corex(NULL, "x", 1, out), VEX_EINVAL);
	assert_int_equal(vex_hooksign_corex("", "x", 1, out), VEX_EINVAL);
}

static void test_standard(void **state)
{
	char out[VEX_HOOKSIGN_STANDARD_LEN + 1];

	(void)state;
	assert_int_equal(vex_hooksign_standard(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), out,
					       sizeof(out)),
			 0);
	assert_string_equal(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	assert_int_equal(vex_hooksign_standard(VEX_SECRET, VEX_ID, VEX_TS, VEX_BODY, strlen(VEX_BODY), out,
					       sizeof(out)),
			 0);
	assert_string_equal(out, "v1,Z0pLGJEjoNrIOh03YkiC5Wr5j18MHahFWZWJOrbZhUQ=");
	assert_int_equal(strlen(out), VEX_HOOKSIGN_STANDARD_LEN);
}

/* The key may come in the URL-safe alphabet and without padding: the same bytes, the same signature. */
static void test_standard_alphabets(void **state)
{
	char a[64], b[64];

	(void)state;
	assert_int_equal(vex_hooksign_standard("whsec_3q2-7wAAAAAREiIzRFVmd4iZqrvM3e7_AAAAAAAAAAA", VEX_ID, VEX_TS,
					       VEX_BODY, strlen(VEX_BODY), a, sizeof(a)),
			 0);
	assert_int_equal(vex_hooksign_standard(VEX_SECRET, VEX_ID, VEX_TS, VEX_BODY, strlen(VEX_BODY), b, sizeof(b)),
			 0);
	assert_string_equal(a, b);
	/* another id, timestamp or body changes the signature */
	assert_int_equal(vex_hooksign_standard(VEX_SECRET, VEX_ID, VEX_TS + 1, VEX_BODY, strlen(VEX_BODY), a,
					       sizeof(a)),
			 0);
	assert_string_not_equal(a, b);
}

static void test_standard_errors(void **state)
{
	char out[VEX_HOOKSIGN_STANDARD_LEN + 1];

	(void)state;
	assert_int_equal(vex_hooksign_standard("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SPEC_ID, 1, "x", 1, out, sizeof(out)),
			 VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard("whsec_", SPEC_ID, 1, "x", 1, out, sizeof(out)), VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard("whsec_a*b=", SPEC_ID, 1, "x", 1, out, sizeof(out)), VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard("whsec_abcde", SPEC_ID, 1, "x", 1, out, sizeof(out)), VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard(NULL, SPEC_ID, 1, "x", 1, out, sizeof(out)), VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard(SPEC_SECRET, NULL, 1, "x", 1, out, sizeof(out)), VEX_EINVAL);
	assert_int_equal(vex_hooksign_standard(SPEC_SECRET, SPEC_ID, 1, "x", 1, out, VEX_HOOKSIGN_STANDARD_LEN),
			 VEX_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corex),
		cmocka_unit_test(test_standard),
		cmocka_unit_test(test_standard_alphabets),
		cmocka_unit_test(test_standard_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
