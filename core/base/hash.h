/* hash.h - the one non-cryptographic hash: 64-bit FNV-1a, for in-memory tables only. */
#ifndef VEX_HASH_H
#define VEX_HASH_H

#include <stdint.h>

/* FNV-1a (64 bits) of the NUL-terminated "s". Not keyed: never for values an attacker picks to
 * collide where that costs more than a longer probe. */
uint64_t vex_hash_str(const char *s);

#endif
