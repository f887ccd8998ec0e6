/* fuzz.h - what the libFuzzer harnesses under tests/fuzz/ share (docs/fuzzing.md). */
#ifndef VEX_FUZZ_H
#define VEX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property a harness checks failed: a finding, as a crash. */
#define FUZZ_ASSERT(cond)                                                                                     \
	do {                                                                                                  \
		if (!(cond))                                                                                  \
			abort();                                                                              \
	} while (0)

/* "size" bytes of "data" as a malloc'd NUL-terminated string (embedded NULs kept); NULL on ENOMEM. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif
