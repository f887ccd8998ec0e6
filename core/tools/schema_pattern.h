/* schema_pattern.h - JSON Schema "pattern" and "patternProperties" through PCRE2, with bounded matching. */
#ifndef VEX_SCHEMA_PATTERN_H
#define VEX_SCHEMA_PATTERN_H

#include <stddef.h>

#include <jansson.h>

#define VEX_SCHEMA_PATTERN_MAX 1024          /* bytes of a pattern; a longer one does not compile */
#define VEX_SCHEMA_MATCH_LIMIT 100000        /* PCRE2 match limit of one match (about 1 ms here) */
#define VEX_SCHEMA_MATCH_DEPTH 100000        /* PCRE2 depth limit: nested backtracking points */
#define VEX_SCHEMA_MATCH_HEAP_KIB 16384      /* PCRE2 heap limit of one match, KiB */
#define VEX_SCHEMA_PATTERN_WHY_MAX 256       /* bytes of a compile error's explanation */

/* The compiled patterns of one check (opaque; NULL until the first pattern). */
struct vex_patterns;

/*
 * Match "subject" (UTF-8) against pattern "text": 1 when it matches (anywhere, as ECMA-262's
 * RegExp.test does), 0 when not. "text" is borrowed and must stay put while "*ps" lives: its
 * address keys the cache. "*ps" is created on first use; vex_patterns_free releases it.
 * VEX_EINVAL: the pattern does not compile (the catalog admits no such schema). VEX_ETOOBIG: the
 * match hit one of the limits above (a pattern that backtracks catastrophically). VEX_ENOMEM.
 */
int vex_patterns_match(struct vex_patterns **ps, const char *text, const char *subject);

void vex_patterns_free(struct vex_patterns *ps);

/*
 * 0 when every "pattern" and "patternProperties" key in "schema" (borrowed; followed through every
 * keyword that holds subschemas) compiles. VEX_EINVAL otherwise, with "why" telling where, which
 * pattern and the PCRE2 error ("properties.repo.pattern \"(a\": missing closing parenthesis at
 * offset 2"). VEX_ENOMEM.
 */
int vex_schema_patterns_compile(const json_t *schema, char *why, size_t whylen);

#endif
