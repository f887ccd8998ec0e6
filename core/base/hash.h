/* hash.h - the one non-cryptographic hash: 64-bit FNV-1a, for in-memory tables only. */
#ifndef VEX_HASH_H
#define VEX_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a (64 bits) of the NUL-terminated "s". Not keyed: never for values an attacker picks to
 * collide where that costs more than a longer probe. */
uint64_t vex_hash_str(const char *s);

/* FNV-1a of "len" bytes at "p", continuing from "h" (VEX_HASH_SEED to start; a previous result chains). */
#define VEX_HASH_SEED 14695981039346656037ULL
uint64_t vex_hash_bytes(const void *p, size_t len, uint64_t h);

#endif
