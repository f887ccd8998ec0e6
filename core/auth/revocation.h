/* revocation.h - token revocations: by jti, or by subject with an iat cut-off (checked in credential.c). */
#ifndef VEX_REVOCATION_H
#define VEX_REVOCATION_H

#include <stdint.h>

#include "core/base/json.h"
#include "core/store/store.h"

/*
 * Revoke, by "created_by" at "now_us", either the token "jti" (1..128 bytes, no control characters)
 * or every token of "sub" (1..128 bytes) issued before "issued_before_s" (Unix seconds; 0: now; not
 * in the future), with an optional "reason" (NULL or 1..200 code points). Exactly one of jti and sub.
 * On success *ret holds the stored row. VEX_EINVAL ("e": 400 VALIDATION_ERROR naming the field;
 * nothing stored), VEX_EEXIST (that jti is already revoked), VEX_E... from the store.
 */
int vex_revocation_issue(struct vex_store *s, const char *jti, const char *sub, int64_t issued_before_s,
			 const char *reason, const char *created_by, int64_t now_us, struct vex_token_revocation *ret,
			 struct vex_field_error *e);

#endif
