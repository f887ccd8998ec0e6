/* schema.c - fuzzes JSON Schema validation (core/tools/schema.h, schema_pattern.h): schema and instance both. */
#include "core/base/err.h"
#include "core/tools/schema.h"
#include "core/tools/schema_pattern.h"
#include "tests/fuzz/fuzz.h"

/*
 * The input is a schema, a NUL byte, then an instance (both JSON). A schema whose patterns do not
 * compile is refused as the catalog refuses it; any other is checked against the instance, as a
 * value and (for an object) as a tool's arguments, and from its text.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct vex_field_error e;
	json_t *schema = NULL, *inst = NULL;
	char why[512], *text = NULL;
	size_t slen;
	int rc;

	if (!nul)
		return 0;
	slen = (size_t)(nul - data);
	if (vex_json_parse((const char *)data, slen, &schema, &e) != 0)
		goto out;
	if (vex_json_parse((const char *)nul + 1, size - slen - 1, &inst, &e) != 0)
		goto out;
	if (vex_schema_patterns_compile(schema, why, sizeof(why)) != 0)
		goto out;
	rc = vex_schema_check_value(schema, inst, &e);
	FUZZ_ASSERT(rc == 0 || rc == VEX_EINVAL || rc == VEX_ENOMEM);
	if (rc == VEX_EINVAL)
		FUZZ_ASSERT(strlen(e.message) < sizeof(e.message) && e.status == 400);
	if (json_is_object(inst)) {
		rc = vex_schema_check(schema, inst, &e);
		FUZZ_ASSERT(rc == 0 || rc == VEX_EINVAL || rc == VEX_ENOMEM);
		text = fuzz_str(data, slen);
		if (text) {
			int rt = vex_schema_check_text(text, inst, &e);

			if (json_is_object(schema))
				FUZZ_ASSERT(rt == rc || rt == VEX_ENOMEM || rc == VEX_ENOMEM);
		}
	}
out:
	free(text);
	json_decref(schema);
	json_decref(inst);
	return 0;
}
