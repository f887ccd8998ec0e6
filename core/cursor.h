/* cursor.h - opaque, tamper-proof page tokens: base64url(JSON payload) "." base64url(HMAC-SHA256). */
#ifndef VEX_CURSOR_H
#define VEX_CURSOR_H

#include <stddef.h>

#include "ids.h"

#define VEX_CURSOR_MAX 256 /* bytes of a token, NUL included; longer input is refused */

/*
 * Seal "last_id" (the last item of a page) for the listing named by "scope" (the caller's owner,
 * the listing and its filters, e.g. "events|alice|<agent>|FAILED|0|0") into "out" (outlen >=
 * VEX_CURSOR_MAX). The MAC key is derived from "secret" (the JWT secret), never the secret itself.
 * 0, VEX_EINVAL (empty secret, id too long), VEX_ETOOBIG, VEX_ENOMEM.
 */
int vex_cursor_seal(const unsigned char *secret, size_t secret_len, const char *scope, const char *last_id,
		    char *out, size_t outlen);

/*
 * Check "token" and write the id it carries into "ret_id". VEX_EINVAL when the token is malformed,
 * its MAC does not verify, or it was sealed for another scope (another owner, other filters).
 */
int vex_cursor_open(const unsigned char *secret, size_t secret_len, const char *scope, const char *token,
		    char ret_id[VEX_UUID_LEN + 1]);

#endif
