/* base64.h - the one base64 codec (RFC 4648): standard and URL-safe alphabets, strict decoding. */
#ifndef VEX_BASE64_H
#define VEX_BASE64_H

#include <stddef.h>

/*
 * "flags" for both directions:
 *   VEX_B64_URL     the URL-safe alphabet ("-_", RFC 4648 §5) instead of the standard one ("+/", §4).
 *   VEX_B64_PAD     encode: pad with '=' to a multiple of 4. decode: padding required.
 * decode only:
 *   VEX_B64_PAD_OPT padding accepted (complete and last) but not required.
 *   VEX_B64_EITHER  both alphabets accepted, even mixed.
 * Decoding is always strict: no whitespace, no character outside the alphabet, no '=' except as
 * trailing padding, no length that leaves 6 bits (4n+1 chars), and unused trailing bits must be
 * zero, so that each byte string has exactly one accepted encoding (per padding choice).
 */
#define VEX_B64_URL 0x1
#define VEX_B64_PAD 0x2
#define VEX_B64_PAD_OPT 0x4
#define VEX_B64_EITHER 0x8

/* The length (without NUL) of the encoding of "n" bytes, "padded" or not. */
#define VEX_B64_ENCODED_LEN(n, padded) ((padded) ? ((n) + 2) / 3 * 4 : ((n) * 4 + 2) / 3)

/* Encodes "n" bytes of "in" into "out", which holds VEX_B64_ENCODED_LEN(n, flags & VEX_B64_PAD) + 1
 * bytes; NUL-terminates it. Returns the length written (without NUL). */
size_t vex_b64_encode(const void *in, size_t n, char *out, int flags);

/* Decodes "n" chars of "in" into "out" of "cap" bytes. On success writes "*ret_len" and returns 0;
 * VEX_EINVAL when "in" is not base64 as "flags" say, VEX_ETOOBIG when it decodes to more than "cap"
 * bytes. "out" may be written on failure; "*ret_len" is not. */
int vex_b64_decode(const char *in, size_t n, void *out, size_t cap, size_t *ret_len, int flags);

#endif
