/* test_jwt_memo.c - the request path's memo of verified tokens (core/auth/jwt.c, verify_memo): a token verified
 * once is taken again only while every time rule still holds, under the same keys, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/auth/jwt.h"
#include "core/base/base64.h"
#include "core/base/config.h"
#include "core/base/err.h"

#define NOW 1800000000LL

static struct vex_config cfg;

static void config(char fill, size_t max_age_s)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(cfg.jwt_secret, fill, 40);
	cfg.jwt_secret_len = 40;
	cfg.token_max_age_s = (int)max_age_s;
}

/* "Bearer " + a token of "payload" signed with "key" (40 bytes of "fill"). */
static char *bearer(const char *payload, char fill)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char key[40], mac[32];
	unsigned int maclen = 0;
	size_t n = 7 + VEX_B64_ENCODED_LEN(sizeof(hdr), 0) + VEX_B64_ENCODED_LEN(strlen(payload), 0) + 64;
	char *t = malloc(n), *p;

	assert_non_null(t);
	memset(key, fill, sizeof(key));
	memcpy(t, "Bearer ", 7);
	p = t + 7;
	p += vex_b64_encode(hdr, sizeof(hdr) - 1, p, VEX_B64_URL);
	*p++ = '.';
	p += vex_b64_encode(payload, strlen(payload), p, VEX_B64_URL);
	HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)t + 7, (size_t)(p - t - 7), mac, &maclen);
	*p++ = '.';
	p += vex_b64_encode(mac, maclen, p, VEX_B64_URL);
	*p = '\0';
	return t;
}

static char *claims(int64_t iat, int64_t exp, const char *extra)
{
	char *buf = malloc(256);

	assert_non_null(buf);
	snprintf(buf, 256, "{\"sub\":\"alice\",\"role\":\"user\",\"iss\":\"vex-api\",\"iat\":%lld,\"exp\":%lld%s}",
		 (long long)iat, (long long)exp, extra ? extra : "");
	return buf;
}

static const char *check(const char *auth, int64_t now_s)
{
	struct vex_principal p;
	struct vex_jwt_claims c;
	const char *why = "unset";

	if (vex_auth_bearer_claims(&cfg, auth, now_s, &p, &c, &why) == 0) {
		assert_string_equal(p.sub, "alice");
		assert_int_equal(c.iat, NOW);
		return "ok";
	}
	assert_non_null(why);
	return why;
}

/* exp, nbf and iat's 60 s are honoured for a token verified (and memoised) before. */
static void test_times(void **state)
{
	char *pl = claims(NOW, NOW + 10, ",\"nbf\":1800000005");
	char *t = bearer(pl, 's');

	(void)state;
	config('s', 0);
	assert_string_equal(check(t, NOW + 5), "ok");
	assert_string_equal(check(t, NOW + 5), "ok");
	assert_string_equal(check(t, NOW + 9), "ok");
	assert_string_equal(check(t, NOW + 10), "token expired");
	assert_string_equal(check(t, NOW + 4), "token not yet valid");
	assert_string_equal(check(t, NOW + 5), "ok");
	free(t);
	free(pl);

	pl = claims(NOW, NOW + 1000, NULL);
	t = bearer(pl, 's');
	assert_string_equal(check(t, NOW - 60), "ok");
	assert_string_equal(check(t, NOW - 61), "token issued in the future");
	free(t);
	free(pl);
}

/* The maximum age, the keys and the exact bytes are part of the memo's key. */
static void test_keys_age_bytes(void **state)
{
	char *pl = claims(NOW, NOW + 1000, NULL);
	char *t = bearer(pl, 's');
	size_t n = strlen(t);

	(void)state;
	config('s', 100);
	assert_string_equal(check(t, NOW + 100), "ok");
	assert_string_equal(check(t, NOW + 101), "token older than the maximum age");
	config('s', 0);
	assert_string_equal(check(t, NOW + 101), "ok");
	config('o', 0); /* another secret: the same bytes no longer verify */
	assert_string_equal(check(t, NOW + 1), "invalid signature");
	config('s', 0);
	assert_string_equal(check(t, NOW + 1), "ok");
	t[n - 1] = t[n - 1] == 'A' ? 'B' : 'A';
	assert_string_equal(check(t, NOW + 1), "invalid signature");
	free(t);
	free(pl);
}

/* A token of the previous secret is taken only until the previous secret's deadline. */
static void test_previous_key(void **state)
{
	char *pl = claims(NOW, NOW + 1000, NULL);
	char *t = bearer(pl, 'p');

	(void)state;
	config('s', 0);
	memset(cfg.jwt_previous_secret, 'p', 40);
	cfg.jwt_previous_secret_len = 40;
	cfg.jwt_previous_until_s = NOW + 50;
	assert_string_equal(check(t, NOW + 49), "ok");
	assert_string_equal(check(t, NOW + 49), "ok");
	assert_string_equal(check(t, NOW + 50), "invalid signature");
	free(t);
	free(pl);
}

/* More tokens than the memo holds still verify; an oversized one is verified every time. */
static void test_many(void **state)
{
	char extra[64], *pl, *t;

	(void)state;
	config('s', 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 20; i++) {
			snprintf(extra, sizeof(extra), ",\"jti\":\"t%d\"", i);
			pl = claims(NOW, NOW + 1000, extra);
			t = bearer(pl, 's');
			assert_string_equal(check(t, NOW), "ok");
			free(t);
			free(pl);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_keys_age_bytes),
		cmocka_unit_test(test_previous_key),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
