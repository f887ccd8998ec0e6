/* cmdconf.c - fuzzes parsing the operator's tools.json (runner/cmdconf.h) from a buffer. */
#include "core/base/err.h"
#include "runner/cmdconf.h"
#include "tests/fuzz/fuzz.h"

/* The input is the text of tools.json. What loads must be what the header promises of every tool. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_cmd_tools t;
	char err[1024];
	size_t i;
	int rc;

	memset(&t, 0, sizeof(t));
	err[0] = '\0';
	rc = vex_cmd_tools_parse("tools.json", (const char *)data, size, &t, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == VEX_EINVAL || rc == VEX_ENOMEM || rc == VEX_EIO);
		FUZZ_ASSERT(err[0] != '\0' || rc == VEX_ENOMEM);
		return 0;
	}
	for (i = 0; i < t.n; i++) {
		const struct vex_cmd_tool *c = &t.items[i];

		FUZZ_ASSERT(c->name && strlen(c->name) <= VEX_CMD_NAME_MAX);
		FUZZ_ASSERT(c->argc >= 1 && c->argv[0][0] == '/' && c->argv[c->argc] == NULL);
		FUZZ_ASSERT(c->input_schema && c->input_schema[0] == '{');
		FUZZ_ASSERT(vex_cmd_tools_find(&t, c->name) != NULL);
	}
	vex_cmd_tools_release(&t);
	return 0;
}
