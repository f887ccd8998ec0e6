/* cursor.h - opaque, tamper-proof tokens: base64url(payload) "." base64url(HMAC-SHA256); page tokens built on them. */
#ifndef VEX_CURSOR_H
#define VEX_CURSOR_H

#include <stddef.h>

#include "core/base/ids.h"
#include "core/base/json.h"

#define VEX_CURSOR_MAX 256 /* bytes of a token, NUL included; longer input is refused */

#define VEX_SEAL_PAYLOAD_MAX 512 /* bytes a sealed token can carry */

/*
 * Seal "payload" ("len" bytes, at most VEX_SEAL_PAYLOAD_MAX) as base64url(payload) "." base64url(MAC)
 * into "out" (NUL terminated). The MAC is HMAC-SHA256 keyed with HMAC-SHA256("secret", "label"):
 * never the secret itself, and a token sealed under one label never verifies under another (a page
 * token is not a stream token). 0, VEX_EINVAL, VEX_ETOOBIG (outlen too small), VEX_ERROR.
 */
int vex_seal(const unsigned char *secret, size_t secret_len, const char *label, const void *payload, size_t len,
	     char *out, size_t outlen);

/*
 * Check "token" (refused when "token_max" bytes or longer) sealed under "label" and copy its payload
 * into "out" ("cap" bytes; not NUL terminated), its length into *ret_len. 0, or VEX_EINVAL when the
 * token is malformed, too long, does not verify, or carries more than "cap" bytes.
 */
int vex_unseal(const unsigned char *secret, size_t secret_len, const char *label, const char *token,
	       size_t token_max, unsigned char *out, size_t cap, size_t *ret_len);

/*
 * vex_unseal of a JSON object sealed at version 1 ({"v":1, ...}) carrying at most "cap" bytes
 * (<= VEX_SEAL_PAYLOAD_MAX): the object into *ret (caller decrefs). VEX_EINVAL when the token does
 * not open or holds no such object.
 */
int vex_unseal_json(const unsigned char *secret, size_t secret_len, const char *label, const char *token,
		    size_t token_max, size_t cap, json_t **ret);

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
