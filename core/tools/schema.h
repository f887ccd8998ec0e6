/* schema.h - tool arguments checked against the subset of JSON Schema tools use (docs/tools.md). */
#ifndef VEX_SCHEMA_H
#define VEX_SCHEMA_H

#include <jansson.h>

#include "core/base/json.h"

#define VEX_SCHEMA_TEXT_MAX (1024 * 1024) /* bytes of a schema text (the catalog stores no longer one) */
#define VEX_SCHEMA_DEPTH_MAX 64           /* nested schemas ($ref included) followed; deeper constrains nothing */
#define VEX_SCHEMA_STEPS_MAX 1000000      /* (schema, value) pairs one check may visit */
#define VEX_SCHEMA_MATCHES_MAX 1000       /* pattern matches one check may run (each bounded) */

/*
 * Check "arguments" (borrowed; must be a JSON object) against "schema" (borrowed; an object or a
 * boolean schema). Keywords: type (a name or a list), enum, const, minimum, maximum,
 * exclusiveMinimum, exclusiveMaximum (numbers, or booleans beside minimum/maximum), multipleOf,
 * minLength, maxLength, pattern (ECMA-262 through PCRE2, core/tools/schema_pattern.h), items (a schema or a list),
 * prefixItems, additionalItems, minItems, maxItems, uniqueItems, properties, required,
 * patternProperties, additionalProperties, minProperties, maxProperties, allOf, anyOf, oneOf, not, and "$ref" to
 * "#..." inside "schema" (a JSON pointer). Unknown keywords constrain nothing.
 *
 * 0 when the arguments conform. VEX_EINVAL with "e" filled otherwise: 400 INVALID_ARGUMENTS, field
 * the path of the offending value ("arguments", "arguments.a.b[2]"), message "<path> <what is
 * wrong>" or, for a missing property, "Missing required argument: <path below arguments>".
 * Arguments that would take more than VEX_SCHEMA_STEPS_MAX steps or VEX_SCHEMA_MATCHES_MAX pattern
 * matches ("arguments are too complex to check ..."), or a string a pattern cannot be
 * matched against within its limits, are refused the same way ("... cannot be matched against the
 * pattern ... within the match limits"). VEX_ERROR (logged) for a pattern that does not compile:
 * the catalog admits no such schema (vex_schema_patterns_compile). VEX_ENOMEM.
 */
int vex_schema_check(const json_t *schema, const json_t *arguments, struct vex_field_error *e);

/* The same for any JSON value "instance" (the arguments are an object; the JSON-Schema-Test-Suite
 * checks every kind), its path named "instance" in messages. */
int vex_schema_check_value(const json_t *schema, const json_t *instance, struct vex_field_error *e);

/* The same with the schema as JSON text (a tool's input_schema; NULL: no schema). Fails closed,
 * logged: VEX_ETOOBIG for a text longer than VEX_SCHEMA_TEXT_MAX, VEX_ERROR for one that does not
 * parse, VEX_ENOMEM. */
int vex_schema_check_text(const char *schema_json, const json_t *arguments, struct vex_field_error *e);

#endif
