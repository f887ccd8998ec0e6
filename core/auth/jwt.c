/* jwt.c - HS256 JWT verification and signing (OpenSSL HMAC, base64url, jansson), bearer parsing. */
#include "core/auth/jwt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base/base64.h"
#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/json.h"

#define SHA256_LEN 32
#define IAT_FUTURE_S 60

static int hmac_sha256(const unsigned char *key, size_t keylen, const char *data, size_t len,
		       unsigned char out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len, out, &outlen) ||
	    outlen != SHA256_LEN)
		return VEX_ERROR;
	return 0;
}

/* Decode a base64url segment and parse it as a JSON object; NULL when it is neither. */
static json_t *segment_object(const char *seg, size_t n)
{
	unsigned char *buf;
	json_t *v = NULL;
	size_t len;

	buf = malloc(n * 3 / 4 + 1);
	if (!buf)
		return NULL;
	if (vex_b64_decode(seg, n, buf, n * 3 / 4 + 1, &len, VEX_B64_URL) == 0) {
		v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
		if (v && !json_is_object(v)) {
			json_decref(v);
			v = NULL;
		}
	}
	free(buf);
	return v;
}

/* A numeric claim: 0 when present and a number, 1 when absent, -1 when of the wrong type. */
static int num_claim(json_t *claims, const char *name, double *ret)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return 1;
	if (!json_is_number(v))
		return -1;
	*ret = json_number_value(v);
	return 0;
}

int vex_jwt_kid(const unsigned char *secret, size_t secret_len, char out[VEX_JWT_KID_LEN + 1])
{
	static const char label[] = "vex-jwt-kid";
	unsigned char mac[SHA256_LEN];
	char b64[(SHA256_LEN + 2) / 3 * 4 + 1];
	int rc = hmac_sha256(secret, secret_len, label, sizeof(label) - 1, mac);

	if (rc)
		return rc;
	vex_b64_encode(mac, SHA256_LEN, b64, VEX_B64_URL);
	memcpy(out, b64, VEX_JWT_KID_LEN);
	out[VEX_JWT_KID_LEN] = '\0';
	return 0;
}

void vex_jwt_keys_from_config(const struct vex_config *cfg, struct vex_jwt_keys *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!cfg)
		return;
	ret->secret = cfg->jwt_secret;
	ret->secret_len = cfg->jwt_secret_len;
	if (cfg->jwt_previous_secret_len > 0) {
		ret->previous = cfg->jwt_previous_secret;
		ret->previous_len = cfg->jwt_previous_secret_len;
		ret->previous_until_s = cfg->jwt_previous_until_s;
	}
	ret->max_age_s = cfg->token_max_age_s;
}

/* 1 when "mac" is the HMAC of the signing input under "secret"; 0 when not; VEX_ERROR. */
static int signed_by(const unsigned char *secret, size_t secret_len, const char *input, size_t len,
		     const unsigned char sig[SHA256_LEN])
{
	unsigned char mac[SHA256_LEN];

	if (!secret || secret_len < VEX_JWT_SECRET_MIN || secret_len > VEX_JWT_SECRET_MAX)
		return 0;
	if (hmac_sha256(secret, secret_len, input, len, mac))
		return VEX_ERROR;
	return CRYPTO_memcmp(mac, sig, SHA256_LEN) == 0;
}

/*
 * Which secret signed "input": the header's "kid" names one (the current one's, or the previous one's
 * until its deadline); without a kid the current secret, then the previous one until its deadline
 * (tokens minted before the rotation carry none). 0, or VEX_EAUTH with *why.
 */
static int check_signature(const struct vex_jwt_keys *k, json_t *hdr, const char *input, size_t len,
			   const unsigned char sig[SHA256_LEN], int64_t now_s, int *by_previous, const char **why)
{
	char kid[VEX_JWT_KID_LEN + 1];
	int previous_open = k->previous && now_s < k->previous_until_s, r;
	json_t *v = json_object_get(hdr, "kid");
	const char *want;

	if (v) {
		want = json_string_value(v);
		if (!want || json_string_length(v) == 0 || json_string_length(v) > VEX_JTI_MAX) {
			*why = "invalid header: kid";
			return VEX_EAUTH;
		}
		if (vex_jwt_kid(k->secret, k->secret_len, kid) == 0 && strcmp(kid, want) == 0) {
			r = signed_by(k->secret, k->secret_len, input, len, sig);
		} else if (k->previous && vex_jwt_kid(k->previous, k->previous_len, kid) == 0 &&
			   strcmp(kid, want) == 0) {
			if (!previous_open) {
				*why = "token signed with a retired key";
				return VEX_EAUTH;
			}
			r = signed_by(k->previous, k->previous_len, input, len, sig);
			*by_previous = 1;
		} else {
			*why = "unknown key id";
			return VEX_EAUTH;
		}
	} else {
		r = signed_by(k->secret, k->secret_len, input, len, sig);
		if (r == 0 && previous_open) {
			r = signed_by(k->previous, k->previous_len, input, len, sig);
			*by_previous = 1;
		}
	}
	if (r < 0) {
		*why = "internal error";
		return VEX_EAUTH;
	}
	if (r == 0) {
		*why = "invalid signature";
		return VEX_EAUTH;
	}
	return 0;
}

/* The whole seconds of "x" (already rounded), clamped far inside int64. */
static int64_t whole_s(double x)
{
	return x < -1e15 ? (int64_t)-1e15 : x > 1e15 ? (int64_t)1e15 : (int64_t)x;
}

/*
 * The verifier proper, on "len" bytes of "token" (no NUL needed at token[len]). On success, *ret_window (may be
 * NULL) gets the seconds in which every rule that depends on the time holds (exp, nbf, iat's 60 s, the maximum
 * age, the previous key's deadline): from [0] <= now < [1].
 */
static int verify(const struct vex_jwt_keys *k, const char *token, size_t len, int64_t now_s,
		  struct vex_principal *ret, struct vex_jwt_claims *ret_claims, int64_t ret_window[2],
		  const char **reason)
{
	int64_t from, until;
	int by_previous = 0;
	const char *why = "malformed token", *dot1, *dot2, *s;
	unsigned char sig[SHA256_LEN * 2];
	json_t *hdr = NULL, *claims = NULL, *v;
	struct vex_jwt_claims jc;
	struct vex_principal p;
	double iat, exp, nbf = 0;
	size_t siglen;
	int rc = VEX_EAUTH, r;

	memset(&p, 0, sizeof(p));
	memset(&jc, 0, sizeof(jc));
	if (!k->secret || k->secret_len < VEX_JWT_SECRET_MIN || k->secret_len > VEX_JWT_SECRET_MAX) {
		why = "authentication is not configured";
		goto out;
	}
	if (len > VEX_TOKEN_MAX) {
		why = "token too large";
		goto out;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) || dot1 == token ||
	    dot2 == dot1 + 1)
		goto out;

	/* Header first: only HS256 is ever accepted, so "none" and friends stop here. */
	hdr = segment_object(token, (size_t)(dot1 - token));
	if (!hdr)
		goto out;
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") != 0) {
		why = "unsupported algorithm";
		goto out;
	}
	v = json_object_get(hdr, "typ");
	if (v && (!json_is_string(v) || strcasecmp(json_string_value(v), "JWT") != 0)) {
		why = "unsupported token type";
		goto out;
	}
	if (json_object_get(hdr, "crit")) {
		why = "unsupported critical header";
		goto out;
	}

	/* Signature before anything in the payload is looked at. */
	if (vex_b64_decode(dot2 + 1, (size_t)(token + len - (dot2 + 1)), sig, sizeof(sig), &siglen, VEX_B64_URL) ||
	    siglen != SHA256_LEN) {
		why = "invalid signature";
		goto out;
	}
	if (check_signature(k, hdr, token, (size_t)(dot2 - token), sig, now_s, &by_previous, &why) != 0)
		goto out;
	why = "malformed token";

	claims = segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		goto out;

	v = json_object_get(claims, "sub");
	if (!v) {
		why = "missing claim: sub";
		goto out;
	}
	s = json_string_value(v);
	if (!s || json_string_length(v) == 0 || json_string_length(v) > VEX_SUB_MAX ||
	    strlen(s) != json_string_length(v) || vex_has_control_chars(s)) {
		why = "invalid claim: sub";
		goto out;
	}
	memcpy(p.sub, s, json_string_length(v) + 1);

	v = json_object_get(claims, "role");
	if (!v) {
		why = "missing claim: role";
		goto out;
	}
	if (vex_role_parse(json_string_value(v), &p.role)) {
		why = "invalid claim: role";
		goto out;
	}

	v = json_object_get(claims, "iss");
	if (!v) {
		why = "missing claim: iss";
		goto out;
	}
	if (!json_is_string(v) || strcmp(json_string_value(v), VEX_JWT_ISSUER) != 0) {
		why = "invalid issuer";
		goto out;
	}

	r = num_claim(claims, "iat", &iat);
	if (r) {
		why = r > 0 ? "missing claim: iat" : "invalid claim: iat";
		goto out;
	}
	r = num_claim(claims, "exp", &exp);
	if (r) {
		why = r > 0 ? "missing claim: exp" : "invalid claim: exp";
		goto out;
	}
	r = num_claim(claims, "nbf", &nbf);
	if (r < 0) {
		why = "invalid claim: nbf";
		goto out;
	}

	p.plan = VEX_PLAN_FREE;
	v = json_object_get(claims, "plan");
	if (v && !json_is_null(v) && vex_plan_parse(json_string_value(v), &p.plan)) {
		why = "invalid claim: plan";
		goto out;
	}

	if (exp <= (double)now_s) {
		why = "token expired";
		goto out;
	}
	if (r == 0 && nbf > (double)now_s) {
		why = "token not yet valid";
		goto out;
	}
	if (iat > (double)now_s + IAT_FUTURE_S) {
		why = "token issued in the future";
		goto out;
	}
	if (k->max_age_s > 0 && iat < (double)(now_s - k->max_age_s)) {
		why = "token older than the maximum age";
		goto out;
	}
	/* jti is optional (integrators mint their own tokens); when present it is a short string. */
	v = json_object_get(claims, "jti");
	if (v) {
		s = json_string_value(v);
		if (!s || json_string_length(v) == 0 || json_string_length(v) > VEX_JTI_MAX ||
		    strlen(s) != json_string_length(v) || vex_has_control_chars(s)) {
			why = "invalid claim: jti";
			goto out;
		}
		memcpy(jc.jti, s, json_string_length(v) + 1);
	}
	jc.iat = whole_s(floor(iat));
	until = whole_s(ceil(exp));
	if (k->max_age_s > 0 && whole_s(floor(iat + (double)k->max_age_s)) + 1 < until)
		until = whole_s(floor(iat + (double)k->max_age_s)) + 1;
	if (by_previous && k->previous_until_s < until)
		until = k->previous_until_s;
	from = whole_s(ceil(iat - IAT_FUTURE_S));
	if (r == 0 && whole_s(ceil(nbf)) > from)
		from = whole_s(ceil(nbf));
	*ret = p;
	if (ret_claims)
		*ret_claims = jc;
	if (ret_window) {
		ret_window[0] = from;
		ret_window[1] = until;
	}
	rc = 0;
	why = NULL;
out:
	json_decref(hdr);
	json_decref(claims);
	if (reason)
		*reason = why;
	return rc;
}

int vex_jwt_verify_keys(const struct vex_jwt_keys *keys, const char *token, size_t len, int64_t now_s,
			struct vex_principal *ret, struct vex_jwt_claims *ret_claims, const char **reason)
{
	if (!keys || !token || !ret) {
		if (reason)
			*reason = "malformed token";
		return VEX_EAUTH;
	}
	return verify(keys, token, len, now_s, ret, ret_claims, NULL, reason);
}

int vex_jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, int64_t now_s,
		   struct vex_principal *ret, const char **reason)
{
	struct vex_jwt_keys k = { .secret = secret, .secret_len = secret_len };

	if (!token) {
		if (reason)
			*reason = "malformed token";
		return VEX_EAUTH;
	}
	return vex_jwt_verify_keys(&k, token, strnlen(token, VEX_TOKEN_MAX + 1), now_s, ret, NULL, reason);
}

int vex_jwt_sign(const unsigned char *secret, size_t secret_len, const struct vex_principal *p, int64_t now_s,
		 int64_t ttl_s, char **ret)
{
	return vex_jwt_mint(secret, secret_len, p, now_s, ttl_s, NULL, ret);
}

int vex_jwt_mint(const unsigned char *secret, size_t secret_len, const struct vex_principal *p, int64_t now_s,
		 int64_t ttl_s, const char *jti, char **ret)
{
	char hdr_json[64 + VEX_JWT_KID_LEN], kid[VEX_JWT_KID_LEN + 1];
	unsigned char mac[SHA256_LEN];
	json_t *claims = NULL;
	char *payload = NULL, *tok = NULL;
	size_t plen, hl, pl, n, hlen;
	int rc = VEX_EINVAL;

	if (!secret || secret_len < VEX_JWT_SECRET_MIN || secret_len > VEX_JWT_SECRET_MAX || !p || !ret ||
	    ttl_s <= 0 || p->sub[0] == '\0' || strnlen(p->sub, VEX_SUB_MAX + 1) > VEX_SUB_MAX ||
	    vex_has_control_chars(p->sub) || (p->role != VEX_ROLE_USER && p->role != VEX_ROLE_ADMIN) ||
	    (int)p->plan < 0 || p->plan >= VEX_PLAN_COUNT ||
	    (jti && (!*jti || strlen(jti) > VEX_JTI_MAX || vex_has_control_chars(jti))))
		goto out;
	rc = vex_jwt_kid(secret, secret_len, kid);
	if (rc)
		goto out;
	hlen = (size_t)snprintf(hdr_json, sizeof(hdr_json), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	rc = VEX_ENOMEM;
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "sub", p->sub, "role", vex_role_name(p->role), "iss",
			   VEX_JWT_ISSUER, "iat", (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s));
	if (!claims)
		goto out;
	if (p->plan != VEX_PLAN_FREE && json_object_set_new(claims, "plan", json_string(vex_plan_name(p->plan))))
		goto out;
	if (jti && json_object_set_new(claims, "jti", json_string(jti)))
		goto out;
	payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		goto out;
	plen = strlen(payload);
	hl = (hlen + 2) / 3 * 4;
	pl = (plen + 2) / 3 * 4;
	tok = malloc(hl + pl + (SHA256_LEN + 2) / 3 * 4 + 4);
	if (!tok)
		goto out;
	n = vex_b64_encode((const unsigned char *)hdr_json, hlen, tok, VEX_B64_URL);
	tok[n++] = '.';
	n += vex_b64_encode((const unsigned char *)payload, plen, tok + n, VEX_B64_URL);
	if (hmac_sha256(secret, secret_len, tok, n, mac)) {
		rc = VEX_ERROR;
		goto out;
	}
	tok[n++] = '.';
	vex_b64_encode(mac, SHA256_LEN, tok + n, VEX_B64_URL);
	*ret = tok;
	tok = NULL;
	rc = 0;
out:
	json_decref(claims);
	free(payload);
	free(tok);
	return rc;
}

/*
 * Each thread's memo of the last tokens it verified on the request path: a poll loop presents the same token
 * again and again, and its HMAC and JSON need checking once. An entry is the token's exact bytes (compared in
 * constant time), a print of the keys it was verified with, its principal and claims, and the seconds in which
 * its time rules hold; outside them, or under other keys, the token is verified again (and refused with the
 * reason). Revocations are not memoised: callers look them up on every request.
 */
#define MEMO_N 8
#define MEMO_TOKEN_MAX 1024

struct memo {
	size_t len; /* 0: empty */
	char token[MEMO_TOKEN_MAX];
	uint64_t keys;
	int64_t window[2];
	struct vex_principal p;
	struct vex_jwt_claims c;
};

static _Thread_local struct memo memo[MEMO_N];
static _Thread_local unsigned memo_next;

static uint64_t keys_print(const struct vex_jwt_keys *k)
{
	uint64_t h = vex_hash_bytes(k->secret, k->secret_len, VEX_HASH_SEED);

	h = vex_hash_bytes(&k->secret_len, sizeof(k->secret_len), h);
	if (k->previous) {
		h = vex_hash_bytes(k->previous, k->previous_len, h);
		h = vex_hash_bytes(&k->previous_until_s, sizeof(k->previous_until_s), h);
	}
	return vex_hash_bytes(&k->max_age_s, sizeof(k->max_age_s), h);
}

static int verify_memo(const struct vex_jwt_keys *k, const char *token, size_t len, int64_t now_s,
		       struct vex_principal *ret, struct vex_jwt_claims *ret_claims, const char **reason)
{
	uint64_t keys = keys_print(k);
	struct vex_jwt_claims c;
	const struct memo *hit = NULL;
	struct memo *m;
	int64_t w[2];
	int rc;

	for (int i = 0; i < MEMO_N; i++)
		if (memo[i].len == len && memo[i].keys == keys && CRYPTO_memcmp(memo[i].token, token, len) == 0)
			hit = &memo[i];
	if (hit && now_s >= hit->window[0] && now_s < hit->window[1]) {
		*ret = hit->p;
		if (ret_claims)
			*ret_claims = hit->c;
		if (reason)
			*reason = NULL;
		return 0;
	}
	rc = verify(k, token, len, now_s, ret, &c, w, reason);
	if (rc == 0 && len > 0 && len <= MEMO_TOKEN_MAX) {
		m = &memo[memo_next++ % MEMO_N];
		memcpy(m->token, token, len);
		m->len = len;
		m->keys = keys;
		memcpy(m->window, w, sizeof(w));
		m->p = *ret;
		m->c = c;
	}
	if (rc == 0 && ret_claims)
		*ret_claims = c;
	return rc;
}

int vex_auth_bearer_token(const char *authorization, const char **ret, size_t *ret_len, const char **reason)
{
	const char *t = authorization, *end;

	while (*t == ' ' || *t == '\t')
		t++;
	if (strncasecmp(t, "Bearer", 6) != 0 || (t[6] != ' ' && t[6] != '\t' && t[6] != '\0')) {
		if (reason)
			*reason = "unsupported authorization scheme; use Bearer";
		return VEX_EAUTH;
	}
	t += 6;
	while (*t == ' ' || *t == '\t')
		t++;
	/* Bound the scan: a huge header is refused without walking all of it. */
	end = t + strnlen(t, VEX_TOKEN_MAX + 64);
	while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == t) {
		if (reason)
			*reason = "missing bearer token";
		return VEX_EAUTH;
	}
	*ret = t;
	*ret_len = (size_t)(end - t);
	return 0;
}

int vex_auth_bearer(const struct vex_config *cfg, const char *authorization, int64_t now_s,
		    struct vex_principal *ret, const char **reason)
{
	return vex_auth_bearer_claims(cfg, authorization, now_s, ret, NULL, reason);
}

int vex_auth_bearer_claims(const struct vex_config *cfg, const char *authorization, int64_t now_s,
			   struct vex_principal *ret, struct vex_jwt_claims *ret_claims, const char **reason)
{
	struct vex_jwt_keys k;
	const char *t;
	size_t len;

	if (!authorization || authorization[0] == '\0') {
		if (reason)
			*reason = "missing bearer token";
		return VEX_EAUTH;
	}
	if (!cfg || cfg->jwt_secret_len < VEX_JWT_SECRET_MIN) {
		if (reason)
			*reason = "authentication is not configured";
		return VEX_EAUTH;
	}
	if (vex_auth_bearer_token(authorization, &t, &len, reason) != 0)
		return VEX_EAUTH;
	vex_jwt_keys_from_config(cfg, &k);
	return verify_memo(&k, t, len, now_s, ret, ret_claims, reason);
}
