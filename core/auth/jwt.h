/* jwt.h - HS256 JWTs as vex-api issues them (DESIGN 6); API keys: apikeys.h; one request's credential,
 * either: credential.h; who is calling: core/base/principal.h. */
#ifndef VEX_JWT_H
#define VEX_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/config.h"
#include "core/base/principal.h"

#define VEX_TOKEN_MAX 8192    /* a longer bearer token is refused before any parsing */
#define VEX_JWT_ISSUER "vex-api"

/*
 * Verify a compact JWS "token" (header.payload.signature, base64url without
 * padding) at time "now_s" (Unix seconds):
 *   header alg must be exactly "HS256" (typ, when present, "JWT"); anything else refused;
 *   signature compared in constant time against HMAC-SHA256(secret);
 *   claims: sub (string, 1..128 bytes, no control chars), role ("user"|"admin"),
 *   iss == "vex-api", iat (number), exp (number) all required; exp <= now -> expired;
 *   nbf (optional) > now -> not yet valid; iat more than 60 s in the future -> refused;
 *   plan optional, one of free|standard|pro|enterprise.
 * No clock leeway except that 60 s on iat.
 * On success writes *ret and returns 0. On failure returns VEX_EAUTH and sets
 * *reason (when not NULL) to a static message fit for the client, e.g.
 * "token expired", "token not yet valid", "invalid issuer", "missing claim: sub",
 * "unsupported algorithm", "invalid signature", "token too large", "malformed token".
 */
int vex_jwt_verify(const unsigned char *secret, size_t secret_len, const char *token, int64_t now_s,
		   struct vex_principal *ret, const char **reason);

/*
 * Sign a token for "p" with iss "vex-api", iat "now_s", exp now_s + ttl_s,
 * and plan when p->plan != VEX_PLAN_FREE. Caller frees *ret. 0, VEX_EINVAL, VEX_ENOMEM.
 */
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

#endif
