/* hooksign.h - the two signatures of a webhook delivery: corex's X-Agent-CoreX-Signature and Standard Webhooks'. */
#ifndef VEX_HOOKSIGN_H
#define VEX_HOOKSIGN_H

#include <stddef.h>
#include <stdint.h>

#define VEX_HOOKSIGN_COREX_LEN 71    /* "sha256=" + 64 hex, without NUL */
#define VEX_HOOKSIGN_STANDARD_LEN 47 /* "v1," + 44 base64 chars, without NUL */
#define VEX_HOOKSIGN_SECRET_PREFIX "whsec_"

/*
 * X-Agent-CoreX-Signature: "sha256=" + lower-case hex HMAC-SHA256 with key = the bytes of "secret"
 * exactly as the user was shown it (the whole "whsec_..." text) and message = the raw "body".
 * 0, VEX_EINVAL ("secret" NULL or empty), VEX_ERROR.
 */
int vex_hooksign_corex(const char *secret, const void *body, size_t len, char out[VEX_HOOKSIGN_COREX_LEN + 1]);

/*
 * webhook-signature (Standard Webhooks): "v1," + base64 (with padding) of HMAC-SHA256 over
 * "<msg_id>.<ts_s>.<body>", key = the base64-decoded text after "whsec_" (either base64 alphabet,
 * padding optional). "out" gets at least VEX_HOOKSIGN_STANDARD_LEN + 1 bytes ("cap").
 * 0, VEX_EINVAL (no "whsec_" prefix, undecodable or empty key, NULL msg_id), VEX_ETOOBIG (cap), VEX_ERROR.
 */
int vex_hooksign_standard(const char *secret, const char *msg_id, int64_t ts_s, const void *body, size_t len,
			  char *out, size_t cap);

#endif
