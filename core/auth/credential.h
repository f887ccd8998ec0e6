/* credential.h - authenticate one request: API key (Bearer vex_... or X-API-Key) or JWT (DESIGN 6). */
#ifndef VEX_CREDENTIAL_H
#define VEX_CREDENTIAL_H

#include <stdint.h>

#include "core/auth/jwt.h"
#include "core/base/config.h"
#include "core/base/ids.h"
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

#define VEX_AUTHN_REVOKED "token revoked" /* the reason of a revoked JWT (its code: TOKEN_REVOKED) */
#define VEX_AUTHN_NO_TOUCH 1u             /* vex_authn_check: leave last_used_at to the caller */

/* What authenticated a request beside who: an API key (its id) or a JWT (its jti, "" when it has
 * none, and iat in Unix seconds). */
struct vex_credential {
	int is_key;
	char key_id[VEX_UUID_LEN + 1];
	int touch_due;               /* a key whose last_used_at is more than a minute old */
	char jti[VEX_JTI_MAX + 1];
	int64_t iat;
};

/*
 * vex_authn_request() that also says what the credential was (*ret_cred, may be NULL). With
 * VEX_AUTHN_NO_TOUCH in "flags" it never writes: a key whose last use is due to be recorded has
 * ret_cred->touch_due set, and the caller records it elsewhere (the stream server's loop must never
 * wait on the write lock). A JWT is checked against the revocations in "store" (by jti, and by its
 * sub's iat cut-off; VEX_EAUTH, reason VEX_AUTHN_REVOKED); a NULL store skips that check.
 */
int vex_authn_check(const struct vex_config *cfg, struct vex_store *store, const char *authorization,
		    const char *x_api_key, int64_t now_us, unsigned flags, struct vex_principal *ret,
		    struct vex_credential *ret_cred, const char **reason);

/* The error code of a refusal's "reason": TOKEN_REVOKED for a revoked token, else UNAUTHORIZED. */
const char *vex_authn_error_code(const char *reason);

/*
 * Mint a JWT for "p" (sub checked: 1..128 bytes, no control characters, field "sub") valid for
 * "ttl_s" seconds (1..[auth] token_ttl_max_s, VEX_TOKEN_TTL_MAX_DEFAULT when unset; field "ttl") from
 * "now_us", with a new jti (a UUIDv7) and the current secret's kid. On success *ret_token (caller
 * frees), *ret_expires_us and "ret_jti". VEX_EINVAL ("e" filled, 422), VEX_ENOMEM, VEX_ERROR.
 */
int vex_authn_mint(const struct vex_config *cfg, const struct vex_principal *p, long long ttl_s, int64_t now_us,
		   char **ret_token, int64_t *ret_expires_us, char ret_jti[VEX_UUID_LEN + 1], struct vex_field_error *e);

/* The longest lifetime vex mints under "cfg" (seconds). */
long long vex_authn_ttl_max(const struct vex_config *cfg);

#endif
