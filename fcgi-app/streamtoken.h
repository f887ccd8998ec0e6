/* streamtoken.h - stream_token: a short-lived sealed grant to read one job's event stream (for EventSource,
 * which cannot send an Authorization header). */
#ifndef VEX_STREAMTOKEN_H
#define VEX_STREAMTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth/jwt.h"

#define VEX_STREAMTOKEN_MAX 768 /* bytes of a token, NUL included; longer input is refused */

/*
 * Seal {job, owner, role, plan, exp} into "out" ("cap" >= VEX_STREAMTOKEN_MAX is always enough) with a MAC
 * key derived from "secret" (the JWT secret) and the label "vex stream_token v1" (fcgi-app/cursor.h), so a
 * stream token is never mistaken for a JWT or a page token. "exp_s": Unix seconds after which it is
 * refused. 0, VEX_EINVAL (no secret, "job_id" not a UUID, "owner" not 1..128 bytes without control
 * characters), VEX_ETOOBIG, VEX_ENOMEM, VEX_ERROR.
 */
int vex_streamtoken_mint(const unsigned char *secret, size_t secret_len, const char *job_id, const char *owner,
			 enum vex_role role, enum vex_plan plan, int64_t exp_s, char *out, size_t cap);

/*
 * Check "token" for the stream of "job_id" at "now_s" (Unix seconds). 0 with *ret: the minting owner
 * as sub, its role and plan (free for a token without one: the per-owner stream cap's plan).
 * Otherwise VEX_EAUTH with *reason (static, for the client):
 * "stream_token is not valid" (malformed, tampered, another secret), "stream_token expired"
 * (exp <= now), "stream_token is for another job". *ret is written only on success.
 */
int vex_streamtoken_verify(const unsigned char *secret, size_t secret_len, const char *token, const char *job_id,
			   int64_t now_s, struct vex_principal *ret, const char **reason);

#endif
