/* mcpconf.c - fuzzes parsing the operator's mcp.json (runner/mcpconf.h) from a buffer. */
#include "core/base/err.h"
#include "runner/mcpconf.h"
#include "tests/fuzz/fuzz.h"

/* ${VEX_FUZZ_HOME} and ${VEX_FUZZ_TOKEN} resolve; any other ${VAR} needs a default. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("VEX_FUZZ_HOME", "/opt/mcp", 1);
	setenv("VEX_FUZZ_TOKEN", "t0k3n", 1);
	return 0;
}

/* The input is the text of mcp.json. Every server loaded has exactly one of command and url. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_mcp_conf c;
	char err[1024];
	size_t i, j;
	int rc;

	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	rc = vex_mcp_conf_parse("mcp.json", (const char *)data, size, &c, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == VEX_EINVAL || rc == VEX_ENOMEM);
		FUZZ_ASSERT(err[0] != '\0' || rc == VEX_ENOMEM);
		return 0;
	}
	FUZZ_ASSERT(c.n <= VEX_MCP_SERVERS_MAX && c.nwarnings <= VEX_MCP_WARN_MAX);
	for (i = 0; i < c.n; i++) {
		const struct vex_mcp_server_conf *s = &c.servers[i];

		FUZZ_ASSERT(vex_mcp_name_valid(s->name));
		FUZZ_ASSERT((s->command == NULL) != (s->url == NULL));
		for (j = 0; j < s->ntool_grants; j++)
			FUZZ_ASSERT(vex_mcp_server_grant(s, s->tool_grants[j].tool) != NULL);
		vex_mcp_server_grant(s, "nope");
	}
	vex_mcp_conf_release(&c);
	return 0;
}
