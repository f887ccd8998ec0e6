/* test_schema.c - tool arguments against JSON Schema: every keyword, nesting, field paths, messages, caps. */
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

static struct vex_field_error e;

/* Check arguments "args" (JSON text) against "schema" (JSON text); returns the code. */
static int check(const char *schema, const char *args)
{
	json_t *a = json_loads(args, JSON_DECODE_ANY, NULL);
	int rc;

	assert_non_null(a);
	memset(&e, 0, sizeof(e));
	rc = vex_schema_check_text(schema, a, &e);
	json_decref(a);
	return rc;
}

/* The arguments pass. */
static void ok(const char *schema, const char *args)
{
	int rc = check(schema, args);

	if (rc != 0)
		fail_msg("%s against %s: %s (%s)", args, schema, e.message, e.field);
}

/* The arguments fail, naming "field" with "message" (NULL: any message). */
static void bad(const char *schema, const char *args, const char *field, const char *message)
{
	assert_int_equal(check(schema, args), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "INVALID_ARGUMENTS");
	assert_string_equal(e.field, field);
	if (message)
		assert_string_equal(e.message, message);
}

/* {"type":"object","properties":{"x": <prop>}} */
static char *prop(const char *p)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{\"type\":\"object\",\"properties\":{\"x\":%s}}", p);
	return buf;
}

static void test_arguments_object(void **state)
{
	(void)state;
	bad("{\"type\":\"object\"}", "[1]", "arguments", "arguments must be an object");
	bad("{}", "\"x\"", "arguments", "arguments must be an object");
	bad("{}", "null", "arguments", "arguments must be an object");
	ok("{}", "{}");
	ok("true", "{\"a\":1}");
	bad("false", "{}", "arguments", "arguments is not allowed");
}

/* No schema at all constrains nothing; "e" may be NULL. */
static void test_no_schema(void **state)
{
	json_t *args = json_pack("{s:i}", "a", 1), *arr = json_array();

	(void)state;
	assert_int_equal(vex_schema_check(NULL, args, NULL), 0);
	assert_int_equal(vex_schema_check_text(NULL, args, NULL), 0);
	assert_int_equal(vex_schema_check(NULL, arr, NULL), VEX_EINVAL);
	json_decref(args);
	json_decref(arr);
}

static void test_type(void **state)
{
	(void)state;
	ok(prop("{\"type\":\"integer\"}"), "{\"x\":3}");
	bad(prop("{\"type\":\"integer\"}"), "{\"x\":3.5}", "arguments.x", "arguments.x must be of type integer");
	bad(prop("{\"type\":\"integer\"}"), "{\"x\":\"3\"}", "arguments.x", NULL);
	ok(prop("{\"type\":\"number\"}"), "{\"x\":3}");
	ok(prop("{\"type\":\"number\"}"), "{\"x\":3.5}");
	bad(prop("{\"type\":\"number\"}"), "{\"x\":true}", "arguments.x", "arguments.x must be of type number");
	ok(prop("{\"type\":\"string\"}"), "{\"x\":\"\"}");
	bad(prop("{\"type\":\"string\"}"), "{\"x\":null}", "arguments.x", "arguments.x must be of type string");
	ok(prop("{\"type\":\"boolean\"}"), "{\"x\":false}");
	bad(prop("{\"type\":\"boolean\"}"), "{\"x\":0}", "arguments.x", NULL);
	ok(prop("{\"type\":\"null\"}"), "{\"x\":null}");
	ok(prop("{\"type\":\"array\"}"), "{\"x\":[]}");
	bad(prop("{\"type\":\"array\"}"), "{\"x\":{}}", "arguments.x", "arguments.x must be of type array");
	ok(prop("{\"type\":\"object\"}"), "{\"x\":{}}");
	bad(prop("{\"type\":\"object\"}"), "{\"x\":[]}", "arguments.x", "arguments.x must be of type object");
	/* a list of types */
	ok(prop("{\"type\":[\"string\",\"null\"]}"), "{\"x\":null}");
	ok(prop("{\"type\":[\"string\",\"null\"]}"), "{\"x\":\"a\"}");
	bad(prop("{\"type\":[\"string\",\"null\"]}"), "{\"x\":1}", "arguments.x",
	    "arguments.x must be of type string or null");
	bad(prop("{\"type\":[\"string\",\"boolean\",\"null\"]}"), "{\"x\":1}", "arguments.x",
	    "arguments.x must be of type string, boolean or null");
	/* unknown type names and unknown keywords constrain nothing */
	ok(prop("{\"type\":\"uuid\"}"), "{\"x\":1}");
	ok(prop("{\"format\":\"email\",\"x-ui\":1}"), "{\"x\":\"not an email\"}");
}

static void test_enum_const(void **state)
{
	(void)state;
	/* numbers compare by value, at any depth; booleans are not numbers */
	ok(prop("{\"const\":{\"a\":[1]}}"), "{\"x\":{\"a\":[1.0]}}");
	ok(prop("{\"enum\":[2.0]}"), "{\"x\":2}");
	bad(prop("{\"const\":0}"), "{\"x\":false}", "arguments.x", "arguments.x must be equal to 0");
	ok(prop("{\"enum\":[\"fast\",\"slow\",1,null]}"), "{\"x\":\"slow\"}");
	ok(prop("{\"enum\":[\"fast\",\"slow\",1,null]}"), "{\"x\":null}");
	bad(prop("{\"enum\":[\"fast\",\"slow\"]}"), "{\"x\":\"medium\"}", "arguments.x",
	    "arguments.x is not one of the allowed values: \"fast\", \"slow\"");
	bad(prop("{\"enum\":[]}"), "{\"x\":1}", "arguments.x", "arguments.x is not one of the allowed values");
	bad(prop("{\"enum\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		 "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"]}"),
	    "{\"x\":\"c\"}", "arguments.x", "arguments.x is not one of the allowed values");
	ok(prop("{\"enum\":[{\"a\":[1,2]}]}"), "{\"x\":{\"a\":[1,2]}}");
	ok(prop("{\"const\":\"v1\"}"), "{\"x\":\"v1\"}");
	bad(prop("{\"const\":\"v1\"}"), "{\"x\":\"v2\"}", "arguments.x", "arguments.x must be equal to \"v1\"");
	ok(prop("{\"const\":null}"), "{\"x\":null}");
	bad(prop("{\"const\":null}"), "{\"x\":0}", "arguments.x", "arguments.x must be equal to null");
	/* enum and const both apply */
	bad(prop("{\"enum\":[1,2],\"const\":2}"), "{\"x\":1}", "arguments.x", "arguments.x must be equal to 2");
}

static void test_numbers(void **state)
{
	(void)state;
	/* 1.0 is an integer; past 2^53 multipleOf needs an exact remainder */
	ok(prop("{\"type\":\"integer\"}"), "{\"x\":1.0}");
	bad(prop("{\"type\":\"integer\"}"), "{\"x\":1.5}", "arguments.x", "arguments.x must be of type integer");
	bad(prop("{\"type\":\"integer\",\"multipleOf\":0.123456789}"), "{\"x\":1e308}", "arguments.x", NULL);
	ok(prop("{\"multipleOf\":0.5}"), "{\"x\":1e20}");
	ok(prop("{\"minimum\":0,\"maximum\":10}"), "{\"x\":0}");
	ok(prop("{\"minimum\":0,\"maximum\":10}"), "{\"x\":10}");
	bad(prop("{\"minimum\":0}"), "{\"x\":-1}", "arguments.x", "arguments.x must be at least 0");
	bad(prop("{\"maximum\":10}"), "{\"x\":10.5}", "arguments.x", "arguments.x must be at most 10");
	ok(prop("{\"exclusiveMinimum\":0}"), "{\"x\":0.001}");
	bad(prop("{\"exclusiveMinimum\":0}"), "{\"x\":0}", "arguments.x", "arguments.x must be greater than 0");
	ok(prop("{\"exclusiveMaximum\":1.5}"), "{\"x\":1}");
	bad(prop("{\"exclusiveMaximum\":1.5}"), "{\"x\":1.5}", "arguments.x", "arguments.x must be less than 1.5");
	/* draft 4: booleans beside minimum / maximum */
	bad(prop("{\"minimum\":5,\"exclusiveMinimum\":true}"), "{\"x\":5}", "arguments.x",
	    "arguments.x must be greater than 5");
	ok(prop("{\"minimum\":5,\"exclusiveMinimum\":false}"), "{\"x\":5}");
	bad(prop("{\"maximum\":5,\"exclusiveMaximum\":true}"), "{\"x\":5}", "arguments.x",
	    "arguments.x must be less than 5");
	ok(prop("{\"multipleOf\":5}"), "{\"x\":-15}");
	bad(prop("{\"multipleOf\":5}"), "{\"x\":7}", "arguments.x", "arguments.x must be a multiple of 5");
	ok(prop("{\"multipleOf\":0.1}"), "{\"x\":0.3}");
	bad(prop("{\"multipleOf\":0.1}"), "{\"x\":0.35}", "arguments.x", NULL);
	/* bounds on a non-number constrain nothing (type says what it must be) */
	ok(prop("{\"minimum\":5}"), "{\"x\":\"abc\"}");
	/* a multipleOf past the integers (found by tests/fuzz/schema.c): only 0 is a multiple */
	bad(prop("{\"multipleOf\":1e30}"), "{\"x\":5}", "arguments.x", "arguments.x must be a multiple of 1e+30");
	ok(prop("{\"multipleOf\":1e30}"), "{\"x\":0}");
	ok(prop("{\"multipleOf\":9.3e18}"), "{\"x\":0}");
}

/* Counts written as reals past the integers (found by tests/fuzz/schema.c): a bound no value reaches. */
static void test_huge_counts(void **state)
{
	(void)state;
	ok(prop("{\"maxLength\":1e30}"), "{\"x\":\"abc\"}");
	bad(prop("{\"minLength\":1e30}"), "{\"x\":\"abc\"}", "arguments.x", NULL);
	ok(prop("{\"maxItems\":5.3e32}"), "{\"x\":[1,2]}");
	bad(prop("{\"minItems\":5.3e32}"), "{\"x\":[1,2]}", "arguments.x", NULL);
	ok("{\"maxProperties\":1e19}", "{\"a\":1}");
	bad("{\"minProperties\":53.3333333303322332e31}", "{\"a\":1}", "arguments", NULL);
}

static void test_strings(void **state)
{
	(void)state;
	ok(prop("{\"minLength\":2,\"maxLength\":3}"), "{\"x\":\"ab\"}");
	bad(prop("{\"minLength\":2}"), "{\"x\":\"a\"}", "arguments.x", "arguments.x must be at least 2 characters");
	bad(prop("{\"maxLength\":3}"), "{\"x\":\"abcd\"}", "arguments.x", "arguments.x must be at most 3 characters");
	/* characters, not bytes */
	ok(prop("{\"maxLength\":3}"), "{\"x\":\"\\u00e9\\u00e9\\u00e9\"}");
	ok(prop("{\"pattern\":\"^[a-z]+/[a-z]+$\"}"), "{\"x\":\"owner/repo\"}");
	bad(prop("{\"pattern\":\"^[a-z]+/[a-z]+$\"}"), "{\"x\":\"Owner/repo\"}", "arguments.x",
	    "arguments.x must match the pattern ^[a-z]+/[a-z]+$");
	/* a search, not a full match, as in JSON Schema */
	ok(prop("{\"pattern\":\"b+\"}"), "{\"x\":\"abbc\"}");
	/* \d and \D, outside and inside brackets */
	ok(prop("{\"pattern\":\"^\\\\d{4}-\\\\d{2}$\"}"), "{\"x\":\"2024-05\"}");
	bad(prop("{\"pattern\":\"^\\\\d{4}-\\\\d{2}$\"}"), "{\"x\":\"2024-5\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^\\\\D+$\"}"), "{\"x\":\"abc\"}");
	bad(prop("{\"pattern\":\"^\\\\D+$\"}"), "{\"x\":\"a1c\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^[\\\\d.]+$\"}"), "{\"x\":\"1.2.3\"}");
	bad(prop("{\"pattern\":\"^[\\\\d.]+$\"}"), "{\"x\":\"1.2a\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^[\\\\w-]+$\"}"), "{\"x\":\"a_b-c\"}");
	bad(prop("{\"pattern\":\"^[\\\\w-]+$\"}"), "{\"x\":\"a b\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^a\\\\.b$\"}"), "{\"x\":\"a.b\"}");
	bad(prop("{\"pattern\":\"^a\\\\.b$\"}"), "{\"x\":\"axb\"}", "arguments.x", NULL);
	/* ECMA-262 through PCRE2: back-references, escaped brackets, \u escapes */
	bad(prop("{\"pattern\":\"^(a)\\\\1$\"}"), "{\"x\":\"ab\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^(a)\\\\1$\"}"), "{\"x\":\"aa\"}");
	bad(prop("{\"pattern\":\"[\\\\]]\"}"), "{\"x\":\"q\"}", "arguments.x", NULL);
	ok(prop("{\"pattern\":\"^\\\\u00e9$\"}"), "{\"x\":\"\\u00e9\"}");
	/* a pattern that does not compile fails closed (the catalog admits none) */
	assert_int_equal(check(prop("{\"pattern\":\"(unclosed\"}"), "{\"x\":\"anything\"}"), VEX_ERROR);
	/* a pattern on a non-string constrains nothing */
	ok(prop("{\"pattern\":\"^a$\"}"), "{\"x\":5}");
}

static void test_arrays(void **state)
{
	(void)state;
	/* uniqueItems compares numbers by value; a count may be written 2.0 */
	bad(prop("{\"uniqueItems\":true}"), "{\"x\":[1.0,1]}", "arguments.x", NULL);
	ok(prop("{\"uniqueItems\":true}"), "{\"x\":[0,false]}");
	bad(prop("{\"maxItems\":2.0}"), "{\"x\":[1,2,3]}", "arguments.x", "arguments.x must have at most 2 items");
	ok(prop("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}"), "{\"x\":[1,2,3]}");
	bad(prop("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}"), "{\"x\":[1,2,\"3\"]}", "arguments.x[2]",
	    "arguments.x[2] must be of type integer");
	ok(prop("{\"minItems\":1,\"maxItems\":2}"), "{\"x\":[1]}");
	bad(prop("{\"minItems\":1}"), "{\"x\":[]}", "arguments.x", "arguments.x must have at least 1 items");
	bad(prop("{\"maxItems\":2}"), "{\"x\":[1,2,3]}", "arguments.x", "arguments.x must have at most 2 items");
	ok(prop("{\"uniqueItems\":true}"), "{\"x\":[1,\"1\",[1],{\"a\":1},{\"a\":2}]}");
	bad(prop("{\"uniqueItems\":true}"), "{\"x\":[3,1,2,1,3]}", "arguments.x",
	    "arguments.x must not contain duplicate items (items 1 and 3 are equal)");
	/* objects are equal whatever the order of their keys */
	bad(prop("{\"uniqueItems\":true}"), "{\"x\":[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]}", "arguments.x",
	    "arguments.x must not contain duplicate items (items 0 and 1 are equal)");
	ok(prop("{\"uniqueItems\":false}"), "{\"x\":[1,1]}");
	/* tuples: items as a list with additionalItems, and prefixItems with items */
	ok(prop("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}"), "{\"x\":[\"a\",1,null]}");
	bad(prop("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"additionalItems\":false}"),
	    "{\"x\":[\"a\",1,null]}", "arguments.x[2]", "arguments.x[2] is not allowed");
	bad(prop("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"integer\"}}"), "{\"x\":[\"a\",1,\"b\"]}",
	    "arguments.x[2]", "arguments.x[2] must be of type integer");
	bad(prop("{\"prefixItems\":[{\"type\":\"string\"}]}"), "{\"x\":[2]}", "arguments.x[0]", NULL);
}

static void test_objects(void **state)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}},"
			"\"required\":[\"a\"],\"additionalProperties\":false}";

	(void)state;
	ok(s, "{\"a\":\"x\"}");
	ok(s, "{\"a\":\"x\",\"b\":2}");
	bad(s, "{\"b\":2}", "arguments.a", "Missing required argument: a");
	bad(s, "{\"a\":\"x\",\"c\":1}", "arguments.c", "arguments.c is not allowed (unknown property)");
	bad(s, "{\"a\":\"x\",\"b\":\"2\"}", "arguments.b", "arguments.b must be of type integer");
	/* additionalProperties as a schema */
	ok("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"p\":\"q\"}");
	bad("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"p\":1}", "arguments.p", NULL);
	/* patternProperties: matching keys are not "additional" */
	ok("{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false}", "{\"x-a\":1}");
	bad("{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false}", "{\"x-a\":\"1\"}",
	    "arguments.x-a", "arguments.x-a must be of type integer");
	bad("{\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false}", "{\"y\":1}",
	    "arguments.y", "arguments.y is not allowed (unknown property)");
	ok("{\"minProperties\":1,\"maxProperties\":2}", "{\"a\":1}");
	bad("{\"minProperties\":1}", "{}", "arguments", "arguments must have at least 1 properties");
	bad("{\"maxProperties\":2}", "{\"a\":1,\"b\":2,\"c\":3}", "arguments", "arguments must have at most 2 properties");
	/* a property schema "false" */
	bad("{\"properties\":{\"secret\":false}}", "{\"secret\":1}", "arguments.secret", "arguments.secret is not allowed");
}

static void test_nested_paths(void **state)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{"
			"\"b\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
			"\"c\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"c\"]}}},"
			"\"required\":[\"b\"]}},\"required\":[\"a\"]}";

	(void)state;
	ok(s, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2}]}}");
	bad(s, "{}", "arguments.a", "Missing required argument: a");
	bad(s, "{\"a\":{}}", "arguments.a.b", "Missing required argument: a.b");
	bad(s, "{\"a\":{\"b\":{}}}", "arguments.a.b", "arguments.a.b must be of type array");
	bad(s, "{\"a\":{\"b\":[{\"c\":1},{\"c\":1},{}]}}", "arguments.a.b[2].c", "Missing required argument: a.b[2].c");
	bad(s, "{\"a\":{\"b\":[{\"c\":1},{\"c\":1},{\"c\":0}]}}", "arguments.a.b[2].c",
	    "arguments.a.b[2].c must be at least 1");
	/* arrays of arrays */
	bad(prop("{\"items\":{\"items\":{\"type\":\"string\"}}}"), "{\"x\":[[\"a\"],[\"b\",2]]}", "arguments.x[1][1]",
	    "arguments.x[1][1] must be of type string");
}

static void test_combinators(void **state)
{
	const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\",\"minimum\":0}]}";
	const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\",\"minimum\":10}]}";

	(void)state;
	ok(prop(any), "{\"x\":\"s\"}");
	ok(prop(any), "{\"x\":3}");
	bad(prop(any), "{\"x\":-3}", "arguments.x", "arguments.x does not match any of the allowed schemas (anyOf)");
	bad(prop(any), "{\"x\":null}", "arguments.x", NULL);
	/* one choice: its own reason */
	bad(prop("{\"anyOf\":[{\"type\":\"string\",\"minLength\":2}]}"), "{\"x\":\"a\"}", "arguments.x",
	    "arguments.x must be at least 2 characters");
	ok(prop(one), "{\"x\":3}");
	ok(prop(one), "{\"x\":10.5}");
	bad(prop(one), "{\"x\":12}", "arguments.x", "arguments.x matches more than one of the allowed schemas (oneOf)");
	bad(prop(one), "{\"x\":1.5}", "arguments.x", "arguments.x does not match any of the allowed schemas (oneOf)");
	/* allOf: every branch, the first failure reported as it is */
	ok(prop("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}"), "{\"x\":3}");
	bad(prop("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}"), "{\"x\":1}", "arguments.x",
	    "arguments.x must be at least 2");
	bad(prop("{\"not\":{\"type\":\"null\"}}"), "{\"x\":null}", "arguments.x",
	    "arguments.x must not match the schema given by \"not\"");
	ok(prop("{\"not\":{\"type\":\"null\"}}"), "{\"x\":1}");
	/* branches reaching into nested values */
	ok("{\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"b\":1}");
	bad("{\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"c\":1}", "arguments", NULL);
	/* a nullable property as pydantic writes it */
	ok(prop("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"default\":null}"), "{\"x\":null}");
}

static void test_refs(void **state)
{
	const char *s = "{\"$defs\":{\"Point\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"}},"
			"\"required\":[\"x\"]},\"a/b\":{\"type\":\"string\"}},"
			"\"type\":\"object\",\"properties\":{\"p\":{\"$ref\":\"#/$defs/Point\"},"
			"\"q\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Point\"}},"
			"\"s\":{\"$ref\":\"#/$defs/a~1b\"},\"u\":{\"$ref\":\"https://example.com/x.json\"}}}";

	(void)state;
	/* a fragment's %-escapes are decoded before the pointer's ~0 and ~1 */
	bad("{\"$defs\":{\"a%b\":{\"type\":\"string\"}},\"properties\":{\"p\":{\"$ref\":\"#/$defs/a%25b\"}}}",
	    "{\"p\":1}", "arguments.p", "arguments.p must be of type string");
	ok(s, "{\"p\":{\"x\":1},\"q\":[{\"x\":2}],\"s\":\"t\",\"u\":5}");
	bad(s, "{\"p\":{}}", "arguments.p.x", "Missing required argument: p.x");
	bad(s, "{\"q\":[{\"x\":1},{\"x\":\"2\"}]}", "arguments.q[1].x", "arguments.q[1].x must be of type number");
	bad(s, "{\"s\":1}", "arguments.s", "arguments.s must be of type string");
	/* a reference loop ends at the depth cap instead of the stack */
	ok("{\"$ref\":\"#\"}", "{}");
	ok("{\"properties\":{\"n\":{\"$ref\":\"#\"}}}", "{\"n\":{\"n\":{\"n\":{}}}}");
	bad("{\"properties\":{\"n\":{\"$ref\":\"#\"},\"v\":{\"type\":\"integer\"}}}", "{\"n\":{\"n\":{\"v\":\"x\"}}}",
	    "arguments.n.n.v", NULL);
}

static void test_caps(void **state)
{
	json_t *schema, *args, *arr, *sub;
	char *big;
	int i;

	(void)state;
	/* nested anyOf doubles the work at each level: the step budget refuses instead of spinning */
	sub = json_pack("{s:s}", "type", "integer");
	for (i = 0; i < 30; i++)
		sub = json_pack("{s:[O, o]}", "anyOf", sub, sub);
	schema = json_pack("{s:{s:{s:o}}}", "properties", "x", "items", sub);
	arr = json_array();
	for (i = 0; i < 200; i++)
		json_array_append_new(arr, json_real(1.5));
	args = json_pack("{s:o}", "x", arr);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_schema_check(schema, args, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments");
	assert_string_equal(e.message, "arguments are too complex to check against the tool's input schema");
	json_decref(schema);
	json_decref(args);

	/* a schema text that does not parse, or is too large, refuses every call (logged) */
	args = json_pack("{s:i}", "a", 1);
	assert_int_equal(vex_schema_check_text("{not json", args, &e), VEX_ERROR);
	big = malloc(VEX_SCHEMA_TEXT_MAX + 16);
	assert_non_null(big);
	memset(big, ' ', VEX_SCHEMA_TEXT_MAX + 8);
	memcpy(big, "{\"type\":\"array\"}", 16);
	big[VEX_SCHEMA_TEXT_MAX + 8] = '\0';
	assert_int_equal(vex_schema_check_text(big, args, &e), VEX_ETOOBIG);
	big[VEX_SCHEMA_TEXT_MAX - 1] = '\0';
	bad(big, "{\"a\":1}", "arguments", "arguments must be of type array");
	free(big);
	json_decref(args);
	/* a long path is cut, never overflowed */
	ok(prop("{\"type\":\"object\"}"), "{\"x\":{}}");
	big = malloc(1200);
	assert_non_null(big);
	memset(big, 'a', 1200);
	memcpy(big, "{\"", 2);
	memcpy(big + 1190, "\":1}", 5);
	big[1195] = '\0';
	assert_int_equal(check("{\"additionalProperties\":false}", big), VEX_EINVAL);
	assert_int_equal(strlen(e.field), sizeof(e.field) - 1);
	assert_int_equal(strncmp(e.field, "arguments.aaaa", 14), 0);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	free(big);
}

/* The builtin tools' schemas keep the messages clients have relied on. */
static void test_builtin_messages(void **state)
{
	const char *sleep_schema = "{\"type\":\"object\",\"properties\":{"
				   "\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":3600000},"
				   "\"steps\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}},"
				   "\"additionalProperties\":false}";

	(void)state;
	bad(sleep_schema, "{\"ms\":\"x\"}", "arguments.ms", "arguments.ms must be of type integer");
	bad(sleep_schema, "{\"ms\":-1}", "arguments.ms", "arguments.ms must be at least 0");
	bad(sleep_schema, "{\"bogus\":1}", "arguments.bogus", "arguments.bogus is not allowed (unknown property)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments_object),
		cmocka_unit_test(test_no_schema),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_enum_const),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_nested_paths),
		cmocka_unit_test(test_combinators),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_builtin_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
