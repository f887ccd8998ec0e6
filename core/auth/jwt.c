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

/* The verifier proper, on "len" bytes of "token" (no NUL needed at token[len]). */
static int verify(const unsigned char *secret, size_t secret_len, const char *token, size_t len, int64_t now_s,
		  struct vex_principal *ret, const char **reason)
{
	const char *why = "malformed token", *dot1, *dot2, *s;
	unsigned char mac[SHA256_LEN], sig[SHA256_LEN * 2];
	json_t *hdr = NULL, *claims = NULL, *v;
	struct vex_principal p;
	double iat, exp, nbf;
	size_t siglen;
	int rc = VEX_EAUTH, r;

	memset(&p, 0, sizeof(p));
	if (!secret || secret_len < VEX_JWT_SECRET_MIN || secret_len > VEX_JWT_SECRET_MAX) {
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
	if (hmac_sha256(secret, secret_len, token, (size_t)(dot2 - token), mac)) {
		why = "internal error";
		goto out;
	}
	if (CRYPTO_memcmp(mac, sig, SHA256_LEN) != 0) {
		why = "invalid signature";
		goto out;
	}

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
	*ret = p;
	rc = 0;
	why = NULL;
out:
	json_decref(hdr);
	json_decref(claims);
	if (reason)
		*reason = why;
	return rc;
}

int vex_jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, int64_t now_s,
		   struct vex_principal *ret, const char **reason)
{
	if (!token || !ret) {
		if (reason)
			*reason = "malformed token";
		return VEX_EAUTH;
	}
	return verify(secret, secret_len, token, strnlen(token, VEX_TOKEN_MAX + 1), now_s, ret, reason);
}

int vex_jwt_sign(const unsigned char *secret, size_t secret_len, const struct vex_principal *p, int64_t now_s,
		 int64_t ttl_s, char **ret)
{
	static const char hdr_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[SHA256_LEN];
	json_t *claims = NULL;
	char *payload = NULL, *tok = NULL;
	size_t plen, hl, pl, n;
	int rc = VEX_EINVAL;

	if (!secret || secret_len < VEX_JWT_SECRET_MIN || secret_len > VEX_JWT_SECRET_MAX || !p || !ret ||
	    ttl_s <= 0 || p->sub[0] == '\0' || strnlen(p->sub, VEX_SUB_MAX + 1) > VEX_SUB_MAX ||
	    vex_has_control_chars(p->sub) || (p->role != VEX_ROLE_USER && p->role != VEX_ROLE_ADMIN) ||
	    (int)p->plan < 0 || p->plan >= VEX_PLAN_COUNT)
		goto out;
	rc = VEX_ENOMEM;
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "sub", p->sub, "role", vex_role_name(p->role), "iss",
			   VEX_JWT_ISSUER, "iat", (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s));
	if (!claims)
		goto out;
	if (p->plan != VEX_PLAN_FREE && json_object_set_new(claims, "plan", json_string(vex_plan_name(p->plan))))
		goto out;
	payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		goto out;
	plen = strlen(payload);
	hl = (sizeof(hdr_json) - 1 + 2) / 3 * 4;
	pl = (plen + 2) / 3 * 4;
	tok = malloc(hl + pl + (SHA256_LEN + 2) / 3 * 4 + 4);
	if (!tok)
		goto out;
	n = vex_b64_encode((const unsigned char *)hdr_json, sizeof(hdr_json) - 1, tok, VEX_B64_URL);
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
	return verify(cfg->jwt_secret, cfg->jwt_secret_len, t, len, now_s, ret, reason);
}
