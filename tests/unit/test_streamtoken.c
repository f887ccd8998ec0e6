/* test_streamtoken.c - stream tokens: round trip, expiry, another job, tampering, other secret, not a cursor or JWT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/auth/jwt.h"
#include "fcgi-app/cursor.h"
#include "core/base/err.h"
#include "fcgi-app/streamtoken.h"

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef-secret";
static const unsigned char OTHER[] = "another secret of at least thirty-two bytes";
#define SLEN (sizeof(SECRET) - 1)
#define JOB "01890a5d-ac96-774b-bcce-b302099a8057"
#define JOB2 "01890a5d-ac96-774b-bcce-b302099a8058"
#define NOW 1700000000LL

static void test_round_trip(void **state)
{
	char tok[VEX_STREAMTOKEN_MAX];
	struct vex_principal p;
	const char *why = NULL;

	(void)state;
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "alice", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW + 300, tok, sizeof(tok)), 0);
	assert_non_null(strchr(tok, '.'));
	/* URL-safe as it is: it travels in a query string. */
	for (const char *c = tok; *c; c++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", *c));
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW, &p, &why), 0);
	assert_string_equal(p.sub, "alice");
	assert_int_equal(p.role, VEX_ROLE_USER);
	assert_int_equal(p.plan, VEX_PLAN_FREE);

	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "root", VEX_ROLE_ADMIN, VEX_PLAN_FREE,
				 NOW + 1, tok, sizeof(tok)), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW, &p, &why), 0);
	assert_string_equal(p.sub, "root");
	assert_int_equal(p.role, VEX_ROLE_ADMIN);

	/* the minter's plan travels with it: the stream cap is the plan's */
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "carol", VEX_ROLE_USER, VEX_PLAN_PRO,
				 NOW + 1, tok, sizeof(tok)), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW, &p, &why), 0);
	assert_int_equal(p.plan, VEX_PLAN_PRO);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "carol", VEX_ROLE_USER, VEX_PLAN_COUNT,
				 NOW + 1, tok, sizeof(tok)), VEX_EINVAL);
}

static void test_expired(void **state)
{
	char tok[VEX_STREAMTOKEN_MAX];
	struct vex_principal p;
	const char *why = NULL;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "alice", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW + 300, tok, sizeof(tok)), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW + 299, &p, &why), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW + 300, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "stream_token expired");
	why = NULL;
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB, NOW + 100000, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "stream_token expired");
}

static void test_other_job(void **state)
{
	char tok[VEX_STREAMTOKEN_MAX];
	struct vex_principal p, untouched;
	const char *why = NULL;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	untouched = p;
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "alice", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW + 300, tok, sizeof(tok)), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, tok, JOB2, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "stream_token is for another job");
	assert_memory_equal(&p, &untouched, sizeof(p)); /* output only on success */
}

static void test_tampered_and_foreign(void **state)
{
	char tok[VEX_STREAMTOKEN_MAX], bad[VEX_STREAMTOKEN_MAX], cur[VEX_CURSOR_MAX];
	struct vex_principal p;
	const char *why;
	size_t i, n;

	(void)state;
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "alice", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW + 300, tok, sizeof(tok)), 0);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		why = NULL;
		assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, bad, JOB, NOW, &p, &why), VEX_EAUTH);
		assert_string_equal(why, "stream_token is not valid");
	}
	memcpy(bad, tok, n + 1);
	bad[n - 1] = '\0';
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, bad, JOB, NOW, &p, &why), VEX_EAUTH);
	/* another secret */
	why = NULL;
	assert_int_equal(vex_streamtoken_verify(OTHER, sizeof(OTHER) - 1, tok, JOB, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "stream_token is not valid");
	/* a page token sealed with the same secret is not a stream token, nor the other way round */
	assert_int_equal(vex_cursor_seal(SECRET, SLEN, "scope", JOB, cur, sizeof(cur)), 0);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, cur, JOB, NOW, &p, &why), VEX_EAUTH);
	/* a JWT signed with the same secret */
	{
		struct vex_principal a = { "alice", VEX_ROLE_USER, VEX_PLAN_FREE };
		char *jwt = NULL;

		assert_int_equal(vex_jwt_sign(SECRET, SLEN, &a, NOW, 300, &jwt), 0);
		assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, jwt, JOB, NOW, &p, &why), VEX_EAUTH);
		assert_string_equal(why, "stream_token is not valid");
		free(jwt);
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = { "", ".", "abc", "abc.", ".abc", "!!!.???", "a.b.c", "a b.c" };
	char long_tok[VEX_STREAMTOKEN_MAX + 10];
	struct vex_principal p;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, bad[i], JOB, NOW, &p, &why), VEX_EAUTH);
		assert_string_equal(why, "stream_token is not valid");
	}
	memset(long_tok, 'A', sizeof(long_tok) - 1);
	long_tok[sizeof(long_tok) - 1] = '\0';
	long_tok[10] = '.';
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, long_tok, JOB, NOW, &p, &why), VEX_EAUTH);
	assert_int_equal(vex_streamtoken_verify(SECRET, SLEN, NULL, JOB, NOW, &p, &why), VEX_EAUTH);
}

static void test_mint_refuses(void **state)
{
	char tok[VEX_STREAMTOKEN_MAX], longsub[VEX_SUB_MAX + 2], small[40];

	(void)state;
	memset(longsub, 's', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	assert_int_equal(vex_streamtoken_mint(NULL, 0, JOB, "a", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, tok, sizeof(tok)), VEX_EINVAL);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, "not-a-uuid", "a", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, tok, sizeof(tok)),
			 VEX_EINVAL);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, tok, sizeof(tok)), VEX_EINVAL);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "a\nb", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, tok, sizeof(tok)),
			 VEX_EINVAL);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, longsub, VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, tok, sizeof(tok)),
			 VEX_EINVAL);
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, "a", VEX_ROLE_USER, VEX_PLAN_FREE,
				 NOW, small, sizeof(small)),
			 VEX_ETOOBIG);
	/* the longest owner still fits the documented size */
	longsub[VEX_SUB_MAX] = '\0';
	assert_int_equal(vex_streamtoken_mint(SECRET, SLEN, JOB, longsub, VEX_ROLE_ADMIN, VEX_PLAN_FREE,
				 99999999999LL, tok, sizeof(tok)),
			 0);
	assert_true(strlen(tok) < VEX_STREAMTOKEN_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_other_job),
		cmocka_unit_test(test_tampered_and_foreign),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mint_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
