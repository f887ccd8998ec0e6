/* credential.h - authenticate one request: API key (Bearer vex_... or X-API-Key) or JWT (DESIGN 6). */
#ifndef VEX_CREDENTIAL_H
#define VEX_CREDENTIAL_H

#include <stdint.h>

#include "core/auth/jwt.h"
#include "core/base/config.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/store/store.h"


/*
 * Who sent a request, from its "authorization" header value (may be NULL) and its
 * "x_api_key" header value (X-API-Key in any case, HTTP_X_API_KEY in FastCGI; may be NULL),
 * at "now_us":
 *   "Bearer vex_..." or an X-API-Key -> the live key with that SHA-256 in "store" (looked up on
 *     every request, so a revoked key fails at once): sub = the key's owner, its role and plan;
 *     last_used_at is recorded at most once a minute per key;
 *   "Bearer <JWT>" -> vex_auth_bearer();
 *   both headers, not naming the same key -> refused ("conflicting credentials ...").
 * 0 and *ret on success. VEX_EAUTH with *reason (static, for the client: "invalid API key",
 * "missing bearer token", JWT reasons) when refused. VEX_EBUSY / VEX_EIO / VEX_ERROR when the
 * store could not answer (a server failure, not the client's).
 */
int vex_authn_request(const struct vex_config *cfg, struct vex_store *store, const char *authorization,
		      const char *x_api_key, int64_t now_us, struct vex_principal *ret, const char **reason);

/*
 * Mint a JWT for "p" (sub checked: 1..128 bytes, no control characters, field "sub") valid for
 * "ttl_s" seconds (1..VEX_TOKEN_TTL_MAX, field "ttl") from "now_us". On success *ret_token
 * (caller frees) and *ret_expires_us. VEX_EINVAL ("e" filled, 422), VEX_ENOMEM, VEX_ERROR.
 */
int vex_authn_mint(const struct vex_config *cfg, const struct vex_principal *p, long long ttl_s, int64_t now_us,
		   char **ret_token, int64_t *ret_expires_us, struct vex_field_error *e);

#endif
