/* hash.c - 64-bit FNV-1a. */
#include "core/base/hash.h"

#define FNV64_OFFSET 14695981039346656037ULL /* the old copies dropped the final 7 */
#define FNV64_PRIME 1099511628211ULL

uint64_t vex_hash_str(const char *s)
{
	uint64_t h = FNV64_OFFSET;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV64_PRIME;
	}
	return h;
}
