/* apikeys.h - API keys: generation ("vex_" + base64url of 32 random bytes), SHA-256 digests, syntax. */
#ifndef VEX_APIKEYS_H
#define VEX_APIKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth/jwt.h"
#include "core/base/json.h"
#include "core/store/store.h"

#define VEX_APIKEY_PREFIX "vex_"
#define VEX_APIKEY_RAW 32                                  /* random bytes in a key */
#define VEX_APIKEY_LEN (4 + 43)                            /* "vex_" + 43 base64url chars, no padding */
#define VEX_APIKEY_HASH_LEN 64                             /* hex SHA-256, without NUL */
#define VEX_APIKEY_DISPLAY_LEN 8                           /* chars after "vex_" kept for display */

/* A new key into "out" (NUL terminated). 0 or VEX_EIO (no randomness). */
int vex_apikey_generate(char out[VEX_APIKEY_LEN + 1]);

/* 1 when "s" looks like a key vex issues ("vex_" + exactly 43 base64url chars), else 0. */
int vex_apikey_valid(const char *s);

/* 1 when "s" starts with "vex_" (a credential meant as an API key, valid or not), else 0. */
int vex_apikey_looks_like(const char *s);

/* Lower-case hex SHA-256 of the bytes of "key" into "out". 0 or VEX_ERROR. */
int vex_apikey_hash(const char *key, char out[VEX_APIKEY_HASH_LEN + 1]);

/* The display prefix: the first 8 chars after "vex_". VEX_EINVAL unless vex_apikey_valid(key). */
int vex_apikey_display(const char *key, char out[VEX_APIKEY_DISPLAY_LEN + 1]);

/*
 * Issue a key: check "owner" (1..128 bytes, no control characters; field "owner") and "name"
 * (NULL or 1..100 code points, no control characters; field "name"), generate a key, store only
 * its hash with a new UUIDv7 id and created_at "now_us". On success *ret holds the stored row and
 * "key" the key itself (shown once, never stored). VEX_EINVAL ("e" filled, 422 VALIDATION_ERROR),
 * VEX_EIO, VEX_EBUSY, VEX_E... from the store.
 */
int vex_apikey_issue(struct vex_store *s, const char *owner, enum vex_role role, enum vex_plan plan,
		     const char *name, int64_t now_us, struct vex_api_key *ret, char key[VEX_APIKEY_LEN + 1],
		     struct vex_field_error *e);

#endif
