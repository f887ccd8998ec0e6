/* hash.c - 64-bit FNV-1a. */
#include "core/base/hash.h"

#define FNV64_OFFSET VEX_HASH_SEED /* 14695981039346656037: the old copies dropped the final 7 */
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

uint64_t vex_hash_bytes(const void *p, size_t len, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= FNV64_PRIME;
	}
	return h;
}
