/* ids.h - UUIDv7 identifiers (time-ordered) and UUID syntax checks. */
#ifndef VEX_IDS_H
#define VEX_IDS_H

#include <stddef.h>
#include <stdint.h>

#define VEX_UUID_LEN 36 /* without the terminating NUL */

/* Writes a new lower-case UUIDv7 ("xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx") into "out".
 * Monotonic within a process: two ids made in the same millisecond still sort in order. */
void vex_uuid7(char out[VEX_UUID_LEN + 1]);

/* "prefix" + the 32 hex digits of a new UUIDv7 ("hook_…", "msg_…": ids that sort in creation order)
 * into "out" of "cap" bytes (strlen(prefix) + 33 needed; shorter is cut). */
void vex_uuid7_prefixed(const char *prefix, char *out, size_t cap);

/* 1 when "s" is a canonical UUID of any version (36 chars, hex and dashes, either case), else 0. */
int vex_uuid_valid(const char *s);

/* Fills "buf" with "len" bytes from getrandom(2). 0 or VEX_EIO. */
int vex_random_bytes(void *buf, uint64_t len);

#endif
