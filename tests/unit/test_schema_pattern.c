/* test_schema_pattern.c - patterns through PCRE2: ECMA-262 meaning, match limits, patterns that do not compile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/base/err.h"
#include "core/tools/schema.h"
#include "core/tools/schema_pattern.h"

/* "subject" against "pattern" with a fresh cache. */
static int match(const char *pattern, const char *subject)
{
	struct vex_patterns *ps = NULL;
	int rc = vex_patterns_match(&ps, pattern, subject);

	vex_patterns_free(ps);
	return rc;
}

static void test_ecma_meaning(void **state)
{
	(void)state;
	assert_int_equal(match("b+", "abbc"), 1); /* a search, not a full match */
	assert_int_equal(match("^a$", "a\n"), 0); /* "$" only at the very end */
	assert_int_equal(match("^\\d+$", "123"), 1);
	assert_int_equal(match("^\\d+$", "\xd9\xa3"), 0); /* ARABIC-INDIC DIGIT THREE: \d is ASCII */
	assert_int_equal(match("^\\p{L}+$", "\xc3\xa9t\xc3\xa9"), 1); /* Unicode properties */
	assert_int_equal(match("^\\p{Letter}+$", "\xcf\x80"), 1);     /* long names, as ECMA-262 spells them */
	assert_int_equal(match("^\\P{gc=Decimal_Number}$", "7"), 0);
	assert_int_equal(match("^\\p{Script=Greek}$", "\xcf\x80"), 1);
	assert_int_equal(match("^\\\\p{Letter}$", "\\p{Letter}"), 1); /* an escaped backslash is no property */
	assert_int_equal(match("^.$", "\xe2\x82\xac"), 1);            /* "." is one code point */
	assert_int_equal(match("^\\u20ac$", "\xe2\x82\xac"), 1);       /* \uHHHH */
	assert_int_equal(match("^(a)\\1$", "aa"), 1);
	assert_int_equal(match("^\\C$", "a"), VEX_EINVAL); /* \C is refused */
	assert_int_equal(match("(unclosed", "x"), VEX_EINVAL);
}

/* A catastrophic pattern stops at the match limit, quickly, instead of running for ages. */
static void test_match_limit(void **state)
{
	char subject[64];
	struct vex_field_error e;
	json_t *schema, *args;

	(void)state;
	memset(subject, 'a', 40);
	subject[40] = 'b';
	subject[41] = '\0';
	assert_int_equal(match("^(a+)+$", subject), VEX_ETOOBIG);
	/* the same subject against a sane pattern is answered */
	assert_int_equal(match("^a+$", subject), 0);

	schema = json_pack("{s:{s:{s:s}}}", "properties", "x", "pattern", "^(a+)+$");
	args = json_pack("{s:s}", "x", subject);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_schema_check(schema, args, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "INVALID_ARGUMENTS");
	assert_string_equal(e.field, "arguments.x");
	assert_string_equal(e.message, "arguments.x cannot be matched against the pattern ^(a+)+$ within the match limits");
	json_decref(schema);

	/* inside "not" or anyOf the limit still ends the check: no second slow match */
	schema = json_pack("{s:{s:{s:[{s:s},{s:s}]}}}", "properties", "x", "anyOf", "pattern", "^(a+)+$", "pattern",
			   "^(a+)+$");
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_schema_check(schema, args, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments.x");
	json_decref(schema);
	json_decref(args);
}

/* More matches than VEX_SCHEMA_MATCHES_MAX in one check: refused as too complex. */
static void test_matches_cap(void **state)
{
	struct vex_field_error e;
	json_t *schema, *args, *arr;
	int i;

	(void)state;
	schema = json_pack("{s:{s:{s:{s:s}}}}", "properties", "x", "items", "pattern", "^a");
	arr = json_array();
	for (i = 0; i < VEX_SCHEMA_MATCHES_MAX; i++)
		json_array_append_new(arr, json_string("a"));
	args = json_pack("{s:O}", "x", arr);
	assert_int_equal(vex_schema_check(schema, args, &e), 0);
	json_array_append_new(arr, json_string("a"));
	json_decref(args);
	args = json_pack("{s:O}", "x", arr);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_schema_check(schema, args, &e), VEX_EINVAL);
	assert_string_equal(e.message, "arguments are too complex to check against the tool's input schema");
	json_decref(arr);
	json_decref(args);
	json_decref(schema);
}

/* Every pattern of a schema is compiled before the schema enters the catalog. */
static void test_schema_patterns_compile(void **state)
{
	char why[VEX_SCHEMA_PATTERN_WHY_MAX + 200], *longp;
	json_t *s;

	(void)state;
	s = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"^[a-z]+$\"},"
		       "\"b\":{\"items\":{\"patternProperties\":{\"^x-\":{}}}}},"
		       "\"$defs\":{\"d\":{\"anyOf\":[{\"pattern\":\"ok\"}]}},\"enum\":[{\"pattern\":\"(\"}]}",
		       0, NULL);
	assert_non_null(s);
	assert_int_equal(vex_schema_patterns_compile(s, why, sizeof(why)), 0); /* "enum" holds data */
	json_decref(s);
	s = json_loads("{\"properties\":{\"repo\":{\"pattern\":\"(a\"}}}", 0, NULL);
	assert_int_equal(vex_schema_patterns_compile(s, why, sizeof(why)), VEX_EINVAL);
	assert_string_equal(why, "properties.repo.pattern \"(a\": missing closing parenthesis at offset 2");
	json_decref(s);
	s = json_loads("{\"allOf\":[{},{\"patternProperties\":{\"[z-a]\":{}}}]}", 0, NULL);
	assert_int_equal(vex_schema_patterns_compile(s, why, sizeof(why)), VEX_EINVAL);
	assert_non_null(strstr(why, "allOf[1].patternProperties key \"[z-a]\": range out of order"));
	json_decref(s);
	longp = malloc(VEX_SCHEMA_PATTERN_MAX + 2);
	assert_non_null(longp);
	memset(longp, 'a', VEX_SCHEMA_PATTERN_MAX + 1);
	longp[VEX_SCHEMA_PATTERN_MAX + 1] = '\0';
	s = json_pack("{s:s}", "pattern", longp);
	assert_int_equal(vex_schema_patterns_compile(s, why, sizeof(why)), VEX_EINVAL);
	assert_non_null(strstr(why, "longer than 1024 bytes"));
	json_decref(s);
	free(longp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecma_meaning),
		cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_matches_cap),
		cmocka_unit_test(test_schema_patterns_compile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
