/* hex.h - the one hex codec: lower-case encoding, case-insensitive decoding. */
#ifndef VEX_HEX_H
#define VEX_HEX_H

#include <stddef.h>

/* Writes the 2n lower-case hex digits of the "n" bytes of "in" and a NUL into "out" (2n + 1 bytes). */
void vex_hex_encode(const void *in, size_t n, char *out);

/* The value of the hex digit "c" (either case), or -1. */
int vex_hex_value(char c);

/* Decodes the 2n hex digits of "in" into the "n" bytes of "out". 0, or VEX_EINVAL on any other
 * character ("out" may then be partly written). */
int vex_hex_decode(const char *in, size_t n, void *out);

#endif
