/* jwt.h - HS256 JWTs as vex-api issues them (DESIGN 6); API keys: apikeys.h; one request's credential,
 * either: credential.h; who is calling: core/base/principal.h. */
#ifndef VEX_JWT_H
#define VEX_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/config.h"
#include "core/base/limits.h"
#include "core/base/principal.h"

#define VEX_TOKEN_MAX 8192    /* a longer bearer token is refused before any parsing */
#define VEX_JWT_ISSUER "vex-api"
#define VEX_JWT_KID_LEN 16    /* base64url chars of a kid vex derives from a secret */

/*
 * The secrets a verifier accepts (borrowed, not owned): the current one and, during a rotation,
 * the previous one until "previous_until_s" (Unix seconds); "max_age_s" > 0 refuses tokens whose
 * iat is older (0: off). Each secret's key id is vex_jwt_kid() of it.
 */
struct vex_jwt_keys {
	const unsigned char *secret;
	size_t secret_len;
	const unsigned char *previous; /* NULL: no rotation */
	size_t previous_len;
	int64_t previous_until_s;
	int64_t max_age_s;
};

/* What a verified token says beyond its principal: jti ("" when it has none) and iat (Unix seconds). */
struct vex_jwt_claims {
	char jti[VEX_JTI_MAX + 1];
	int64_t iat;
};

/* The key id of "secret": the first 16 chars of base64url(HMAC-SHA256(secret, "vex-jwt-kid")); it names
 * the secret without revealing it. 0 or VEX_ERROR. */
int vex_jwt_kid(const unsigned char *secret, size_t secret_len, char out[VEX_JWT_KID_LEN + 1]);

/* The keys of "cfg": [auth] jwt secret, previous secret and its deadline, token_max_age_s. */
void vex_jwt_keys_from_config(const struct vex_config *cfg, struct vex_jwt_keys *ret);

/*
 * Verify a compact JWS "token" (header.payload.signature, base64url without
 * padding) at time "now_s" (Unix seconds):
 *   header alg must be exactly "HS256" (typ, when present, "JWT"); anything else refused;
 *   signature compared in constant time against HMAC-SHA256(secret);
 *   claims: sub (string, 1..128 bytes, no control chars), role ("user"|"admin"),
 *   iss == "vex-api", iat (number), exp (number) all required; exp <= now -> expired;
 *   nbf (optional) > now -> not yet valid; iat more than 60 s in the future -> refused;
 *   plan optional, one of free|standard|pro|enterprise.
 * No clock leeway except that 60 s on iat. A "kid" in the header must name the secret (else
 * "unknown key id"); vex_jwt_verify_keys() also knows a previous secret ("token signed with a retired
 * key" past its deadline) and a maximum age ("token older than the maximum age"); jti optional
 * (1..128 bytes, no control characters: "invalid claim: jti").
 * On success writes *ret and returns 0. On failure returns VEX_EAUTH and sets
 * *reason (when not NULL) to a static message fit for the client, e.g.
 * "token expired", "token not yet valid", "invalid issuer", "missing claim: sub",
 * "unsupported algorithm", "invalid signature", "token too large", "malformed token".
 */
int vex_jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, int64_t now_s,
		   struct vex_principal *ret, const char **reason);

/* vex_jwt_verify() with several keys, on "len" bytes of "token"; *ret_claims (may be NULL) on success. */
int vex_jwt_verify_keys(const struct vex_jwt_keys *keys, const char *token, size_t len, int64_t now_s,
			struct vex_principal *ret, struct vex_jwt_claims *ret_claims, const char **reason);

/*
 * Sign a token for "p" with iss "vex-api", iat "now_s", exp now_s + ttl_s, plan when
 * p->plan != VEX_PLAN_FREE, "jti" when not NULL (1..128 bytes, no control characters), and the
 * secret's kid in the header. Caller frees *ret. 0, VEX_EINVAL, VEX_ENOMEM.
 */
int vex_jwt_mint(const unsigned char *secret, size_t secret_len, const struct vex_principal *p, int64_t now_s,
		 int64_t ttl_s, const char *jti, char **ret);

/* vex_jwt_mint() without a jti. */
int vex_jwt_sign(const unsigned char *secret, size_t secret_len, const struct vex_principal *p, int64_t now_s,
		 int64_t ttl_s, char **ret);

/*
 * The credential of the (non-NULL) Authorization value "authorization": "Bearer <cred>", scheme
 * case-insensitive, blanks around it trimmed, into *ret (pointing into "authorization") and *ret_len.
 * VEX_EAUTH with *reason (when not NULL) "unsupported authorization scheme; use Bearer" or
 * "missing bearer token".
 */
int vex_auth_bearer_token(const char *authorization, const char **ret, size_t *ret_len, const char **reason);

/*
 * Authenticate an HTTP request from its Authorization header value ("Bearer <token>",
 * scheme case-insensitive). NULL or empty header -> VEX_EAUTH, reason "missing bearer token".
 */
int vex_auth_bearer(const struct vex_config *cfg, const char *authorization, int64_t now_s,
		    struct vex_principal *ret, const char **reason);

/* vex_auth_bearer() with the token's jti and iat into *ret_claims (may be NULL), keys from "cfg". */
int vex_auth_bearer_claims(const struct vex_config *cfg, const char *authorization, int64_t now_s,
			   struct vex_principal *ret, struct vex_jwt_claims *ret_claims, const char **reason);

#endif
