/* test_schema_suite.c - the official JSON-Schema-Test-Suite (draft 2020-12) for every keyword vex claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/base/err.h"
#include "core/tools/schema.h"

/* Where tools/install-deps puts the suite (@json-schema-org/tests pulls it in); VEX_SCHEMA_SUITE
 * names another copy of its tests/draft2020-12. */
#define SUITE_DIR ".deps/jsts/node_modules/json-schema-test-suite/tests/draft2020-12"

/* One file per keyword vex claims (docs/tools.md, "Argument validation"). */
static const char *const files[] = {
	"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
	"minLength", "maxLength", "pattern", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
	"properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties",
	"allOf", "anyOf", "oneOf", "not", "boolean_schema", "ref", "defs", NULL,
};

/*
 * The known exceptions: a case that fails is excused only when its schema uses something vex
 * knowingly does not support, named here with the reason; each excused case is printed. Data
 * ("enum", "const") is not searched.
 */
static const struct {
	const char *key;
	const char *reason;
} unsupported[] = {
	{ "$id", "schema identifiers: vex resolves \"$ref\" only as a JSON pointer inside the same schema" },
	{ "$anchor", "anchors: vex resolves \"$ref\" only as a JSON pointer inside the same schema" },
	{ "$dynamicRef", "dynamic references are not supported" },
	{ "$dynamicAnchor", "dynamic references are not supported" },
	{ "contains", "\"contains\" is not among the keywords vex checks" },
	{ "if", "\"if\"/\"then\"/\"else\" are not among the keywords vex checks" },
	{ "dependentSchemas", "\"dependentSchemas\" is not among the keywords vex checks" },
	{ "dependentRequired", "\"dependentRequired\" is not among the keywords vex checks" },
	{ "propertyNames", "\"propertyNames\" is not among the keywords vex checks" },
	{ "unevaluatedItems", "\"unevaluatedItems\" is not among the keywords vex checks" },
	{ "unevaluatedProperties", "\"unevaluatedProperties\" is not among the keywords vex checks" },
};
#define REMOTE_REASON "a \"$ref\" to another document (remote or the meta-schema): vex fetches nothing"

/* The reason "schema" is excused, or NULL. */
static const char *excuse(const json_t *schema)
{
	const char *key, *why;
	json_t *v;
	size_t i;

	if (json_is_array(schema)) {
		json_array_foreach(schema, i, v)
			if ((why = excuse(v)) != NULL)
				return why;
		return NULL;
	}
	if (!json_is_object(schema))
		return NULL;
	json_object_foreach((json_t *)schema, key, v) {
		if (strcmp(key, "enum") == 0 || strcmp(key, "const") == 0)
			continue;
		if (strcmp(key, "$ref") == 0 && json_is_string(v) && json_string_value(v)[0] != '#')
			return REMOTE_REASON;
		for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
			if (strcmp(key, unsupported[i].key) == 0)
				return unsupported[i].reason;
		if ((why = excuse(v)) != NULL)
			return why;
	}
	return NULL;
}

struct tally {
	int cases, passed, excused, failed;
};

static void run_file(const char *dir, const char *name, struct tally *all)
{
	struct tally t = { 0 };
	struct vex_field_error e;
	json_error_t jerr;
	json_t *groups, *g, *c;
	char path[512];
	size_t i, j;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	groups = json_load_file(path, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
	if (!groups) {
		printf("  FAILED %s: %s\n", path, jerr.text);
		all->failed++;
		return;
	}
	json_array_foreach(groups, i, g) {
		const json_t *schema = json_object_get(g, "schema");
		const char *why = excuse(schema);

		json_array_foreach(json_object_get(g, "tests"), j, c) {
			int want = json_is_true(json_object_get(c, "valid"));
			int rc = vex_schema_check_value(schema, json_object_get(c, "data"), &e);

			t.cases++;
			if ((rc == 0) == want && (rc == 0 || rc == VEX_EINVAL)) {
				t.passed++;
			} else if (why) {
				t.excused++;
				printf("  excused %s: %s / %s: %s\n", name, json_string_value(json_object_get(g, "description")),
				       json_string_value(json_object_get(c, "description")), why);
			} else {
				t.failed++;
				printf("  FAILED %s: %s / %s: expected %s, got %d%s%s\n", name,
				       json_string_value(json_object_get(g, "description")),
				       json_string_value(json_object_get(c, "description")), want ? "valid" : "invalid", rc,
				       rc == VEX_EINVAL ? " " : "", rc == VEX_EINVAL ? e.message : "");
			}
		}
	}
	json_decref(groups);
	printf("suite %-22s %3d cases, %3d passed, %2d known exceptions, %d failed\n", name, t.cases, t.passed,
	       t.excused, t.failed);
	all->cases += t.cases;
	all->passed += t.passed;
	all->excused += t.excused;
	all->failed += t.failed;
}

static void test_suite(void **state)
{
	const char *dir = getenv("VEX_SCHEMA_SUITE");
	struct tally all = { 0 };
	size_t i;

	(void)state;
	if (!dir || !dir[0])
		dir = SUITE_DIR;
	if (access(dir, R_OK) != 0) {
		/* said loudly: the suite comes from GitHub through npm, which not every machine reaches */
		printf("JSON-Schema-Test-Suite not installed at %s (tools/install-deps installs it): not run\n", dir);
		skip();
	}
	for (i = 0; files[i]; i++)
		run_file(dir, files[i], &all);
	printf("suite total: %zu keywords, %d cases, %d passed, %d known exceptions, %d failed\n", i, all.cases,
	       all.passed, all.excused, all.failed);
	assert_int_equal(all.failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
