/* test_auth.c - HS256 JWT verification (every refusal), signing round trips, Bearer parsing. */
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

#define NOW 1735722000LL

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef-test-secret";
#define SECRET_LEN (sizeof(SECRET) - 1)
static const unsigned char OTHER[] = "another secret of sufficient length, 40b";
#define OTHER_LEN (sizeof(OTHER) - 1)

/* ---- helpers that build tokens independently of the code under test ---- */

static char *b64url(const unsigned char *in, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = tbl[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = tbl[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return out;
}

enum sig_kind { SIG_HS256, SIG_HS512, SIG_NONE };

/* header.payload.signature from raw JSON texts; caller frees. */
static char *make_token(const char *header, const char *payload, enum sig_kind sig, const unsigned char *key,
			size_t keylen)
{
	char *h = b64url((const unsigned char *)header, strlen(header));
	char *p = b64url((const unsigned char *)payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + 200;
	char *tok = malloc(n), *s = NULL;
	unsigned char mac[64];
	unsigned int maclen = 0;

	assert_non_null(tok);
	snprintf(tok, n, "%s.%s", h, p);
	if (sig != SIG_NONE) {
		HMAC(sig == SIG_HS256 ? EVP_sha256() : EVP_sha512(), key, (int)keylen, (unsigned char *)tok,
		     strlen(tok), mac, &maclen);
		s = b64url(mac, maclen);
	}
	snprintf(tok + strlen(tok), n - strlen(tok), ".%s", s ? s : "");
	free(h);
	free(p);
	free(s);
	return tok;
}

static const char *HDR = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Claims with the usual values; "extra" replaces or adds members (json text without braces). */
static char *claims(const char *sub, const char *role, const char *iss, const char *iat, const char *exp,
		    const char *extra)
{
	static char buf[VEX_TOKEN_MAX * 2];
	size_t o = 0;

	buf[o++] = '{';
#define ADD(name, val)                                                                               \
	if (val)                                                                                     \
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\":%s", o > 1 ? "," : "", name, val)
	ADD("sub", sub);
	ADD("role", role);
	ADD("iss", iss);
	ADD("iat", iat);
	ADD("exp", exp);
#undef ADD
	if (extra)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o > 1 ? "," : "", extra);
	snprintf(buf + o, sizeof(buf) - o, "}");
	return strdup(buf);
}

static char *good_claims(const char *extra)
{
	return claims("\"alice\"", "\"user\"", "\"vex-api\"", "1735721990", "1735725600", extra);
}

static void expect_refused(const char *token, const char *reason)
{
	struct vex_principal p;
	const char *why = NULL;

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, token, NOW, &p, &why), VEX_EAUTH);
	assert_non_null(why);
	if (strcmp(why, reason) != 0)
		fail_msg("token %s: reason \"%s\", expected \"%s\"", token, why, reason);
	assert_int_equal(((unsigned char *)&p)[0], 0x5a); /* untouched */
}

static void refuse_claims(char *payload, const char *reason)
{
	char *tok = make_token(HDR, payload, SIG_HS256, SECRET, SECRET_LEN);

	expect_refused(tok, reason);
	free(tok);
	free(payload);
}

/* ---- tests ---- */

static void test_valid(void **state)
{
	char *pl = good_claims("\"plan\":\"pro\",\"nbf\":1735721000,\"jti\":\"x\"");
	char *tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);
	struct vex_principal p;
	const char *why = "unset";

	(void)state;
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW, &p, &why), 0);
	assert_null(why);
	assert_string_equal(p.sub, "alice");
	assert_int_equal(p.role, VEX_ROLE_USER);
	assert_int_equal(p.plan, VEX_PLAN_PRO);
	free(tok);
	free(pl);

	/* Admin, no plan (free), no typ, real-valued times. */
	pl = claims("\"root\"", "\"admin\"", "\"vex-api\"", "1735721990.5", "1735725600.25", NULL);
	tok = make_token("{\"alg\":\"HS256\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW, &p, NULL), 0);
	assert_int_equal(p.role, VEX_ROLE_ADMIN);
	assert_int_equal(p.plan, VEX_PLAN_FREE);
	free(tok);
	free(pl);
}

static void test_times(void **state)
{
	(void)state;
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735700000", "1735722000", NULL), "token expired");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735700000", "1735721999", NULL), "token expired");
	refuse_claims(good_claims("\"nbf\":1735722001"), "token not yet valid");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735722061", "1735725600", NULL),
		      "token issued in the future");
	/* iat 60 s ahead is still tolerated; nbf == now is valid. */
	{
		char *pl = claims("\"a\"", "\"user\"", "\"vex-api\"", "1735722060", "1735725600", "\"nbf\":1735722000");
		char *tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);
		struct vex_principal p;

		assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW, &p, NULL), 0);
		free(tok);
		free(pl);
	}
}

static void test_issuer(void **state)
{
	(void)state;
	refuse_claims(claims("\"a\"", "\"user\"", "\"other\"", "1735721990", "1735725600", NULL), "invalid issuer");
	refuse_claims(claims("\"a\"", "\"user\"", "\"VEX-API\"", "1735721990", "1735725600", NULL), "invalid issuer");
	refuse_claims(claims("\"a\"", "\"user\"", "7", "1735721990", "1735725600", NULL), "invalid issuer");
}

static void test_missing_claims(void **state)
{
	(void)state;
	refuse_claims(claims(NULL, "\"user\"", "\"vex-api\"", "1735721990", "1735725600", NULL), "missing claim: sub");
	refuse_claims(claims("\"a\"", NULL, "\"vex-api\"", "1735721990", "1735725600", NULL), "missing claim: role");
	refuse_claims(claims("\"a\"", "\"user\"", NULL, "1735721990", "1735725600", NULL), "missing claim: iss");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", NULL, "1735725600", NULL), "missing claim: iat");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735721990", NULL, NULL), "missing claim: exp");
}

static void test_claim_types(void **state)
{
	char longsub[200];

	(void)state;
	refuse_claims(claims("42", "\"user\"", "\"vex-api\"", "1735721990", "1735725600", NULL), "invalid claim: sub");
	refuse_claims(claims("\"\"", "\"user\"", "\"vex-api\"", "1735721990", "1735725600", NULL), "invalid claim: sub");
	refuse_claims(claims("\"a\\nb\"", "\"user\"", "\"vex-api\"", "1735721990", "1735725600", NULL),
		      "invalid claim: sub");
	memset(longsub + 1, 'x', 129);
	longsub[0] = '"';
	longsub[130] = '"';
	longsub[131] = '\0'; /* 129 bytes */
	refuse_claims(claims(longsub, "\"user\"", "\"vex-api\"", "1735721990", "1735725600", NULL),
		      "invalid claim: sub");
	refuse_claims(claims("\"a\"", "\"root\"", "\"vex-api\"", "1735721990", "1735725600", NULL),
		      "invalid claim: role");
	refuse_claims(claims("\"a\"", "\"Admin\"", "\"vex-api\"", "1735721990", "1735725600", NULL),
		      "invalid claim: role");
	refuse_claims(claims("\"a\"", "1", "\"vex-api\"", "1735721990", "1735725600", NULL), "invalid claim: role");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "\"1735721990\"", "1735725600", NULL),
		      "invalid claim: iat");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735721990", "\"1735725600\"", NULL),
		      "invalid claim: exp");
	refuse_claims(claims("\"a\"", "\"user\"", "\"vex-api\"", "1735721990", "null", NULL), "invalid claim: exp");
	refuse_claims(good_claims("\"nbf\":\"soon\""), "invalid claim: nbf");
	refuse_claims(good_claims("\"plan\":\"gold\""), "invalid claim: plan");
	refuse_claims(good_claims("\"plan\":3"), "invalid claim: plan");
}

static void test_algorithms(void **state)
{
	char *pl = good_claims(NULL);
	char *tok;

	(void)state;
	/* alg none, with an empty signature and with a (HS256) signature attached. */
	tok = make_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, SIG_NONE, NULL, 0);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"alg\":\"NONE\"}", pl, SIG_NONE, NULL, 0);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	/* HS512 with the right secret. */
	tok = make_token("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, SIG_HS512, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	/* An HS512 signature under an HS256 header. */
	tok = make_token(HDR, pl, SIG_HS512, SECRET, SECRET_LEN);
	expect_refused(tok, "invalid signature");
	free(tok);
	tok = make_token("{\"alg\":\"RS256\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"alg\":\"hs256\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"typ\":\"JWT\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"alg\":256}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported algorithm");
	free(tok);
	tok = make_token("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported token type");
	free(tok);
	tok = make_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "unsupported critical header");
	free(tok);
	/* Duplicate alg members could hide a second value from other parsers. */
	tok = make_token("{\"alg\":\"none\",\"alg\":\"HS256\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(tok, "malformed token");
	free(tok);
	free(pl);
}

static void test_tampering(void **state)
{
	char *pl = good_claims(NULL), *tok, *dot, *forged, *p2, *b;
	size_t n;

	(void)state;
	tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);

	/* Tampered payload: swap in role admin, keep the old signature. */
	p2 = claims("\"alice\"", "\"admin\"", "\"vex-api\"", "1735721990", "1735725600", NULL);
	forged = make_token(HDR, p2, SIG_HS256, OTHER, OTHER_LEN);
	dot = strrchr(forged, '.');
	n = (size_t)(dot - forged);
	b = malloc(strlen(tok) + n + 2);
	memcpy(b, forged, n);
	memcpy(b + n, strrchr(tok, '.'), strlen(strrchr(tok, '.')) + 1);
	expect_refused(b, "invalid signature");
	free(b);
	free(forged);
	free(p2);

	/* Tampered signature: flip one character of it. */
	b = strdup(tok);
	dot = strrchr(b, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	expect_refused(b, "invalid signature");
	free(b);

	/* Signature truncated, and extended. */
	b = strdup(tok);
	b[strlen(b) - 4] = '\0';
	expect_refused(b, "invalid signature");
	free(b);
	n = strlen(tok);
	b = malloc(n + 8);
	memcpy(b, tok, n);
	memcpy(b + n, "AAAA", 5);
	expect_refused(b, "invalid signature");
	free(b);

	/* Last signature char with non-zero unused bits: another encoding of the same bytes is refused. */
	b = strdup(tok);
	{
		char *last = b + strlen(b) - 1;
		static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int v = (int)(strchr(tbl, *last) - tbl);

		*last = tbl[v | 1];
		if (*last != tok[strlen(tok) - 1])
			expect_refused(b, "invalid signature");
	}
	free(b);

	/* Wrong secret. */
	assert_int_equal(vex_jwt_verify(OTHER, OTHER_LEN, tok, NOW, &(struct vex_principal){0}, NULL), VEX_EAUTH);
	{
		const char *why;
		struct vex_principal p;

		assert_int_equal(vex_jwt_verify(OTHER, OTHER_LEN, tok, NOW, &p, &why), VEX_EAUTH);
		assert_string_equal(why, "invalid signature");
		/* A secret shorter than 32 bytes is never used. */
		assert_int_equal(vex_jwt_verify(SECRET, 16, tok, NOW, &p, &why), VEX_EAUTH);
	}
	free(tok);
	free(pl);
}

static void test_malformed(void **state)
{
	char *pl = good_claims(NULL), *tok, *b;
	size_t n;

	(void)state;
	tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused("", "malformed token");
	expect_refused("abc", "malformed token");
	expect_refused("a.b", "malformed token");
	expect_refused("a.b.c.d", "malformed token");
	expect_refused("..", "malformed token");
	expect_refused(".x.y", "malformed token");
	/* alg none without the third segment at all. */
	{
		char *h = make_token("{\"alg\":\"none\"}", pl, SIG_NONE, NULL, 0);

		h[strlen(h) - 1] = '\0';
		expect_refused(h, "malformed token");
		free(h);
	}
	/* Four segments built from a valid token. */
	n = strlen(tok);
	b = malloc(n + 8);
	snprintf(b, n + 8, "%s.xyz", tok);
	expect_refused(b, "malformed token");
	free(b);
	/* Bad base64 in the header (padding, standard alphabet, spaces). */
	b = strdup(tok);
	b[2] = '+';
	expect_refused(b, "malformed token");
	b[2] = '=';
	expect_refused(b, "malformed token");
	b[2] = ' ';
	expect_refused(b, "malformed token");
	free(b);
	/* Header that is not an object, or not JSON. */
	b = make_token("[\"HS256\"]", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(b, "malformed token");
	free(b);
	b = make_token("alg=HS256", pl, SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(b, "malformed token");
	free(b);
	/* Correctly signed payloads that are not objects / not JSON / not base64. */
	b = make_token(HDR, "[1,2]", SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(b, "malformed token");
	free(b);
	b = make_token(HDR, "\"sub\"", SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(b, "malformed token");
	free(b);
	b = make_token(HDR, "{\"sub\":", SIG_HS256, SECRET, SECRET_LEN);
	expect_refused(b, "malformed token");
	free(b);
	{
		/* Sign "header.p@yload" by hand so only the base64 is wrong. */
		char *h = make_token(HDR, "{}", SIG_NONE, NULL, 0);
		char buf[512], *sig;
		unsigned char mac[32];
		unsigned int ml;

		*strchr(h, '.') = '\0';
		snprintf(buf, sizeof(buf), "%s.p@yload", h);
		HMAC(EVP_sha256(), SECRET, SECRET_LEN, (unsigned char *)buf, strlen(buf), mac, &ml);
		sig = b64url(mac, ml);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%s", sig);
		expect_refused(buf, "malformed token");
		free(sig);
		free(h);
	}
	{
		struct vex_principal p;
		const char *why;

		assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, NULL, NOW, &p, &why), VEX_EAUTH);
		assert_string_equal(why, "malformed token");
	}
	free(tok);
	free(pl);
}

static void test_oversized(void **state)
{
	char extra[VEX_TOKEN_MAX + 100], *pl, *tok;

	(void)state;
	snprintf(extra, sizeof(extra), "\"pad\":\"");
	memset(extra + 7, 'x', VEX_TOKEN_MAX);
	snprintf(extra + 7 + VEX_TOKEN_MAX, sizeof(extra) - 7 - VEX_TOKEN_MAX, "\"");
	pl = good_claims(extra);
	tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);
	assert_true(strlen(tok) > VEX_TOKEN_MAX);
	expect_refused(tok, "token too large");
	free(tok);
	free(pl);
}

static void test_sign_roundtrip(void **state)
{
	struct vex_principal in, out;
	char *tok = NULL;
	const char *why;

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.sub, sizeof(in.sub), "bob@example.com");
	in.role = VEX_ROLE_ADMIN;
	in.plan = VEX_PLAN_ENTERPRISE;
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 3600, &tok), 0);
	assert_non_null(tok);
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW, &out, &why), 0);
	assert_string_equal(out.sub, "bob@example.com");
	assert_int_equal(out.role, VEX_ROLE_ADMIN);
	assert_int_equal(out.plan, VEX_PLAN_ENTERPRISE);
	/* Expires exactly at now + ttl. */
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW + 3599, &out, &why), 0);
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW + 3600, &out, &why), VEX_EAUTH);
	assert_string_equal(why, "token expired");
	assert_null(strchr(tok, '='));
	free(tok);

	/* Free plan: no plan claim, still reads back as free. */
	in.plan = VEX_PLAN_FREE;
	in.role = VEX_ROLE_USER;
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 60, &tok), 0);
	assert_int_equal(vex_jwt_verify(SECRET, SECRET_LEN, tok, NOW, &out, &why), 0);
	assert_int_equal(out.plan, VEX_PLAN_FREE);
	assert_int_equal(out.role, VEX_ROLE_USER);
	free(tok);

	/* Bad inputs. */
	tok = (char *)0x1;
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 0, &tok), VEX_EINVAL);
	assert_int_equal(vex_jwt_sign(SECRET, 10, &in, NOW, 60, &tok), VEX_EINVAL);
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, NULL, NOW, 60, &tok), VEX_EINVAL);
	in.sub[0] = '\0';
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 60, &tok), VEX_EINVAL);
	snprintf(in.sub, sizeof(in.sub), "a\tb");
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 60, &tok), VEX_EINVAL);
	assert_ptr_equal(tok, (char *)0x1);
}

static void test_roles(void **state)
{
	enum vex_role r;

	(void)state;
	assert_int_equal(vex_role_parse("user", &r), 0);
	assert_int_equal(r, VEX_ROLE_USER);
	assert_int_equal(vex_role_parse("admin", &r), 0);
	assert_int_equal(r, VEX_ROLE_ADMIN);
	assert_int_equal(vex_role_parse("ADMIN", &r), VEX_EINVAL);
	assert_int_equal(vex_role_parse(NULL, &r), VEX_EINVAL);
	assert_string_equal(vex_role_name(VEX_ROLE_ADMIN), "admin");
	assert_string_equal(vex_role_name(VEX_ROLE_USER), "user");
}

static void test_bearer(void **state)
{
	struct vex_config cfg;
	struct vex_principal in, p;
	char *tok = NULL, hdr[VEX_TOKEN_MAX + 200];
	const char *why;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.jwt_secret, SECRET, SECRET_LEN);
	cfg.jwt_secret_len = SECRET_LEN;
	memset(&in, 0, sizeof(in));
	snprintf(in.sub, sizeof(in.sub), "carol");
	assert_int_equal(vex_jwt_sign(SECRET, SECRET_LEN, &in, NOW, 600, &tok), 0);

	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), 0);
	assert_string_equal(p.sub, "carol");
	snprintf(hdr, sizeof(hdr), "bearer   %s  ", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), 0);
	snprintf(hdr, sizeof(hdr), "BEARER\t%s", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), 0);

	assert_int_equal(vex_auth_bearer(&cfg, NULL, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "missing bearer token");
	assert_int_equal(vex_auth_bearer(&cfg, "", NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "missing bearer token");
	assert_int_equal(vex_auth_bearer(&cfg, "Bearer", NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "missing bearer token");
	assert_int_equal(vex_auth_bearer(&cfg, "Bearer    ", NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "missing bearer token");
	snprintf(hdr, sizeof(hdr), "Basic %s", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "unsupported authorization scheme; use Bearer");
	snprintf(hdr, sizeof(hdr), "Bearer%s", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), VEX_EAUTH);
	snprintf(hdr, sizeof(hdr), "Bearer %s extra", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), VEX_EAUTH);
	assert_int_equal(vex_auth_bearer(&cfg, "Bearer vex_abcdef", NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "malformed token");

	/* An oversized header is refused as too large. */
	memcpy(hdr, "Bearer ", 7);
	memset(hdr + 7, 'a', sizeof(hdr) - 8);
	hdr[sizeof(hdr) - 1] = '\0';
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "token too large");

	/* A short server secret refuses everything. */
	cfg.jwt_secret_len = 31;
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	assert_int_equal(vex_auth_bearer(&cfg, hdr, NOW, &p, &why), VEX_EAUTH);
	assert_string_equal(why, "authentication is not configured");
	assert_int_equal(vex_auth_bearer(NULL, hdr, NOW, &p, &why), VEX_EAUTH);
	free(tok);
}

/* A header naming "kid". */
static char *kid_header(const unsigned char *secret, size_t len)
{
	char kid[VEX_JWT_KID_LEN + 1], *h = malloc(96);

	assert_int_equal(vex_jwt_kid(secret, len, kid), 0);
	snprintf(h, 96, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	return h;
}

static int verify_keys(const struct vex_jwt_keys *k, const char *tok, int64_t now, const char **why)
{
	struct vex_principal p;

	*why = NULL;
	return vex_jwt_verify_keys(k, tok, strlen(tok), now, &p, NULL, why);
}

/* Rotation: the previous secret verifies (with its kid or none) until its deadline, never after; an
 * unknown kid is refused; minted tokens carry the current kid. */
static void test_rotation(void **state)
{
	struct vex_jwt_keys k = { SECRET, SECRET_LEN, OTHER, OTHER_LEN, NOW + 100, 0 };
	char *pl = good_claims(NULL), *h_old = kid_header(OTHER, OTHER_LEN), *h_new = kid_header(SECRET, SECRET_LEN);
	char *old_kid = make_token(h_old, pl, SIG_HS256, OTHER, OTHER_LEN);
	char *old_bare = make_token(HDR, pl, SIG_HS256, OTHER, OTHER_LEN);
	char *new_kid = make_token(h_new, pl, SIG_HS256, SECRET, SECRET_LEN);
	char *crossed = make_token(h_new, pl, SIG_HS256, OTHER, OTHER_LEN);
	char *unknown = make_token("{\"alg\":\"HS256\",\"kid\":\"nope\"}", pl, SIG_HS256, SECRET, SECRET_LEN);
	char *minted = NULL, want[VEX_JWT_KID_LEN + 1];
	struct vex_principal who = { "alice", VEX_ROLE_USER, VEX_PLAN_FREE };
	const char *why;

	(void)state;
	assert_int_equal(verify_keys(&k, old_kid, NOW, &why), 0);
	assert_int_equal(verify_keys(&k, old_bare, NOW, &why), 0);
	assert_int_equal(verify_keys(&k, new_kid, NOW, &why), 0);
	assert_int_equal(verify_keys(&k, crossed, NOW, &why), VEX_EAUTH); /* the kid picks the secret */
	assert_string_equal(why, "invalid signature");
	assert_int_equal(verify_keys(&k, unknown, NOW, &why), VEX_EAUTH);
	assert_string_equal(why, "unknown key id");
	/* Past the deadline. */
	k.previous_until_s = NOW - 1;
	assert_int_equal(verify_keys(&k, old_kid, NOW, &why), VEX_EAUTH);
	assert_string_equal(why, "token signed with a retired key");
	assert_int_equal(verify_keys(&k, old_bare, NOW, &why), VEX_EAUTH);
	assert_string_equal(why, "invalid signature");
	assert_int_equal(verify_keys(&k, new_kid, NOW, &why), 0);
	/* No rotation: the old kid is unknown. */
	k.previous = NULL;
	assert_int_equal(verify_keys(&k, old_kid, NOW, &why), VEX_EAUTH);
	assert_string_equal(why, "unknown key id");
	/* Minted tokens name the current secret. */
	assert_int_equal(vex_jwt_mint(SECRET, SECRET_LEN, &who, NOW, 60, "j-1", &minted), 0);
	assert_int_equal(vex_jwt_kid(SECRET, SECRET_LEN, want), 0);
	assert_int_equal(verify_keys(&k, minted, NOW, &why), 0);
	{
		char *dot = strchr(minted, '.'), hdr[128];
		unsigned char raw[128];
		size_t n;

		assert_int_equal(vex_b64_decode(minted, (size_t)(dot - minted), raw, sizeof(raw), &n, VEX_B64_URL), 0);
		memcpy(hdr, raw, n);
		hdr[n] = '\0';
		assert_non_null(strstr(hdr, want));
	}
	free(minted);
	free(pl);
	free(h_old);
	free(h_new);
	free(old_kid);
	free(old_bare);
	free(new_kid);
	free(crossed);
	free(unknown);
}

/* jti optional, returned when present; a maximum age refuses old iats. */
static void test_jti_and_max_age(void **state)
{
	struct vex_jwt_keys k = { SECRET, SECRET_LEN, NULL, 0, 0, 0 };
	struct vex_jwt_claims jc;
	struct vex_principal p;
	char *pl = good_claims("\"jti\":\"abc\""), *tok = make_token(HDR, pl, SIG_HS256, SECRET, SECRET_LEN);
	char *bare_pl = good_claims(NULL), *bare = make_token(HDR, bare_pl, SIG_HS256, SECRET, SECRET_LEN);
	const char *why;

	(void)state;
	assert_int_equal(vex_jwt_verify_keys(&k, tok, strlen(tok), NOW, &p, &jc, &why), 0);
	assert_string_equal(jc.jti, "abc");
	assert_int_equal(jc.iat, 1735721990);
	assert_int_equal(vex_jwt_verify_keys(&k, bare, strlen(bare), NOW, &p, &jc, &why), 0);
	assert_string_equal(jc.jti, "");
	k.max_age_s = 5; /* iat is NOW - 10 */
	assert_int_equal(vex_jwt_verify_keys(&k, bare, strlen(bare), NOW, &p, &jc, &why), VEX_EAUTH);
	assert_string_equal(why, "token older than the maximum age");
	refuse_claims(good_claims("\"jti\":5"), "invalid claim: jti");
	refuse_claims(good_claims("\"jti\":\"\""), "invalid claim: jti");
	free(pl);
	free(tok);
	free(bare_pl);
	free(bare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation),    cmocka_unit_test(test_jti_and_max_age),
		cmocka_unit_test(test_valid),       cmocka_unit_test(test_times),
		cmocka_unit_test(test_issuer),      cmocka_unit_test(test_missing_claims),
		cmocka_unit_test(test_claim_types), cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_tampering),   cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),   cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_roles),       cmocka_unit_test(test_bearer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
