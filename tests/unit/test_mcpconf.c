/* test_mcpconf.c - mcp.json: a pasted block resolved, ${VAR} expansion, warnings for what is ignored, every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/mcpconf.h"

static int parse(const char *text, struct vex_mcp_conf *c, char *err, size_t errlen)
{
	return vex_mcp_conf_parse("mcp.json", text, strlen(text), c, err, errlen);
}

static void test_full_example(void **state)
{
	const char *text =
		"{\"mcpServers\":{"
		"\"everything\":{\"command\":\"npx\",\"args\":[\"-y\",\"@modelcontextprotocol/server-everything\"],"
		"\"env\":{\"TOKEN\":\"${VEX_T_TOKEN}\",\"MODE\":\"${VEX_T_UNSET:-fast}-x\"}},"
		"\"remote\":{\"type\":\"streamable-http\",\"url\":\"https://mcp.example.com/mcp\","
		"\"headers\":{\"Authorization\":\"Bearer ${VEX_T_TOKEN}\"}},"
		"\"plain\":{\"command\":\"/usr/bin/true\"},"
		"\"off\":{\"command\":\"x\",\"disabled\":true}"
		"},\"globalShortcut\":\"\"}";
	struct vex_mcp_conf c = { 0 };
	char err[512];
	size_t i;
	int unknown = 0, disabled = 0;

	(void)state;
	setenv("VEX_T_TOKEN", "s3cret", 1);
	unsetenv("VEX_T_UNSET");
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.servers[0].name, "everything");
	assert_string_equal(c.servers[0].command, "npx");
	assert_int_equal(c.servers[0].nargs, 2);
	assert_string_equal(c.servers[0].args[1], "@modelcontextprotocol/server-everything");
	assert_null(c.servers[0].args[2]);
	assert_int_equal(c.servers[0].nenv, 2);
	assert_string_equal(c.servers[0].env[0], "TOKEN=s3cret");
	assert_string_equal(c.servers[0].env[1], "MODE=fast-x");
	assert_null(c.servers[0].url);
	assert_string_equal(c.servers[1].name, "remote");
	assert_null(c.servers[1].command);
	assert_string_equal(c.servers[1].url, "https://mcp.example.com/mcp");
	assert_int_equal(c.servers[1].nheaders, 1);
	assert_string_equal(c.servers[1].headers[0], "Authorization: Bearer s3cret");
	assert_int_equal(c.servers[2].nargs, 0);
	assert_non_null(c.servers[2].args);
	assert_null(c.servers[2].args[0]);
	assert_non_null(c.servers[2].env);
	for (i = 0; i < c.nwarnings; i++) {
		unknown += strstr(c.warnings[i], "unknown key \"globalShortcut\"") != NULL;
		disabled += strstr(c.warnings[i], "server \"off\" is disabled") != NULL;
	}
	assert_int_equal(unknown, 1);
	assert_int_equal(disabled, 1);
	vex_mcp_conf_release(&c);
	vex_mcp_conf_release(&c); /* released twice is harmless */
	vex_mcp_conf_release(NULL);
	unsetenv("VEX_T_TOKEN");
}

static void test_unknown_server_keys_warn(void **state)
{
	struct vex_mcp_conf c = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"mcpServers\":{\"a\":{\"command\":\"x\",\"autoApprove\":[],\"timeout\":60}}}", &c, err,
			       sizeof(err)),
			 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.nwarnings, 2);
	assert_non_null(strstr(c.warnings[0], "server \"a\": unknown key \"autoApprove\" ignored"));
	vex_mcp_conf_release(&c);
	assert_int_equal(parse("{\"mcpServers\":{}}", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	vex_mcp_conf_release(&c);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "", "mcp.json: " },
		{ "[]", "must be a JSON object" },
		{ "{}", "has no \"mcpServers\" object" },
		{ "{\"mcpServers\":[]}", "mcpServers must be an object" },
		{ "{\"mcpServers\":{\"a.b\":{\"command\":\"x\"}}}", "server name \"a.b\" must match" },
		{ "{\"mcpServers\":{\"\":{\"command\":\"x\"}}}", "server name \"\" must match" },
		{ "{\"mcpServers\":{\"a\":5}}", "server \"a\": must be an object" },
		{ "{\"mcpServers\":{\"a\":{}}}", "server \"a\": needs a command (stdio) or a url" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"url\":\"http://h\"}}}", "has both command and url" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"\"}}}", "command: must not be empty" },
		{ "{\"mcpServers\":{\"a\":{\"command\":5}}}", "command: must be a string" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"args\":\"-v\"}}}", "args: must be an array of strings" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"args\":[1]}}}", "args[0]: must be a string" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"env\":[]}}}", "env: must be an object of strings" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"env\":{\"1X\":\"v\"}}}}", "\"1X\" is not a variable name" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"env\":{\"K\":1}}}}", "env.K: must be a string" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"headers\":{}}}}", "only a url server has headers" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"args\":[]}}}", "only a command server has args" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"ftp://h\"}}}", "url: must be an http:// or https:// URL" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://\"}}}", "url: must be an http:// or https:// URL" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"headers\":{\"Bad Name\":\"v\"}}}}", "is not a header name" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"headers\":{\"Accept\":\"v\"}}}}", "Accept is set by vex" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"headers\":{\"X\":\"a\\nb\"}}}}",
		  "headers.X: must not contain control characters" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"type\":\"sse\"}}}", "legacy HTTP+SSE transport" },
		{ "{\"mcpServers\":{\"a\":{\"url\":\"http://h\",\"type\":\"stdio\"}}}", "type: \"stdio\" does not match" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"type\":\"http\"}}}", "type: \"http\" does not match" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"type\":\"ws\"}}}", "\"ws\" is not stdio, http" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"disabled\":\"yes\"}}}", "disabled: must be true or false" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"${VEX_T_NOPE}\"}}}", "command: ${VEX_T_NOPE} is not set" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"${VEX_T_NOPE\"}}}", "must end with }" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"${}\"}}}", "must be followed by a variable name" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"${X:-abc\"}}}", "has no closing }" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":[]}}}", "server \"a\": vex: must be an object" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"grants\":{}}}}}", "vex: unknown key \"grants\"" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"grant\":{}}}}}", "vex.grant: names no roles" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"grant\":{\"roles\":[\"boss\"]}}}}}",
		  "vex.grant.roles: unknown role \"boss\"" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"tools\":[]}}}}", "vex.tools: must be an object" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"tools\":{\"add\":{}}}}}}",
		  "vex.tools.add: needs a grant" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"tools\":{\"add\":{\"grant\":{},\"x\":1}}}}}}",
		  "vex.tools.add: unknown key" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"tools\":{\"add\":{\"grant\":{\"plans\":[\"x\"]}}}}}}}",
		  "vex.tools.add.grant.plans: unknown plan" },
		{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",\"vex\":{\"tools\":{\"\":{\"grant\":{\"roles\":[\"user\"]}}}}}}}",
		  "vex.tools: a tool name must be" },
	};
	struct vex_mcp_conf c = { 0 };
	char err[512];
	size_t i;

	(void)state;
	unsetenv("VEX_T_NOPE");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(cases[i].text, &c, err, sizeof(err)) != VEX_EINVAL || !strstr(err, cases[i].msg) ||
		    strncmp(err, "mcp.json: ", 10) != 0)
			fail_msg("case %zu (%s): got \"%s\", wanted \"%s\"", i, cases[i].text, err, cases[i].msg);
		assert_int_equal(c.n, 0);
		assert_null(c.servers);
	}
}

/* "vex": a server's grant, a tool's own grant winning over it; no "vex" key (a block pasted from
 * another client) leaves every tool admin-only. */
static void test_grants(void **state)
{
	const char *text = "{\"mcpServers\":{"
			   "\"fx\":{\"command\":\"x\",\"vex\":{\"grant\":{\"roles\":[\"user\"]},"
			   "\"tools\":{\"env\":{\"grant\":{\"owners\":[\"alice\"]}}}}},"
			   "\"pasted\":{\"command\":\"y\"},"
			   "\"one\":{\"url\":\"http://h/mcp\",\"vex\":{\"tools\":{\"add\":{\"grant\":{\"plans\":[\"pro\"]}}}}}}}";
	struct vex_mcp_conf c = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.nwarnings, 0);
	assert_string_equal(vex_mcp_server_grant(&c.servers[0], "add"), "{\"roles\":[\"user\"]}");
	assert_string_equal(vex_mcp_server_grant(&c.servers[0], "env"), "{\"owners\":[\"alice\"]}");
	assert_null(vex_mcp_server_grant(&c.servers[1], "add"));
	assert_string_equal(vex_mcp_server_grant(&c.servers[2], "add"), "{\"plans\":[\"pro\"]}");
	assert_null(vex_mcp_server_grant(&c.servers[2], "other"));
	vex_mcp_conf_release(&c);
}

static void test_caps(void **state)
{
	struct vex_mcp_conf c = { 0 };
	char err[512], *text, *p;
	size_t i, n = 70 * 40 + 64;

	(void)state;
	/* more servers than VEX_MCP_SERVERS_MAX */
	text = malloc(n);
	assert_non_null(text);
	p = text + snprintf(text, n, "{\"mcpServers\":{");
	for (i = 0; i < VEX_MCP_SERVERS_MAX + 1; i++)
		p += snprintf(p, n - (size_t)(p - text), "%s\"s%zu\":{\"command\":\"x\"}", i ? "," : "", i);
	snprintf(p, n - (size_t)(p - text), "}}");
	assert_int_equal(parse(text, &c, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "at most 64 servers"));
	free(text);
	/* a value longer than VEX_MCP_VALUE_MAX, also when a ${VAR} makes it so */
	text = malloc(VEX_MCP_VALUE_MAX + 100);
	assert_non_null(text);
	p = malloc(VEX_MCP_VALUE_MAX);
	assert_non_null(p);
	memset(p, 'a', VEX_MCP_VALUE_MAX - 1);
	p[VEX_MCP_VALUE_MAX - 1] = '\0';
	setenv("VEX_T_LONG", p, 1);
	snprintf(text, VEX_MCP_VALUE_MAX + 100, "{\"mcpServers\":{\"a\":{\"command\":\"xx${VEX_T_LONG}\"}}}");
	assert_int_equal(parse(text, &c, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "longer than 8192 bytes"));
	unsetenv("VEX_T_LONG");
	free(p);
	free(text);
	assert_int_equal(vex_mcp_name_valid("a-b_C9"), 1);
	assert_int_equal(vex_mcp_name_valid("a b"), 0);
	assert_int_equal(vex_mcp_name_valid("x234567890123456789012345678901234567890123456789012345678901234"), 1);
	assert_int_equal(vex_mcp_name_valid("x2345678901234567890123456789012345678901234567890123456789012345"), 0);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/vex-mcpconf-XXXXXX", path[128], err[512];
	struct vex_mcp_conf c = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mcp.json", dir);
	assert_int_equal(vex_mcp_conf_load(path, &c, err, sizeof(err)), 0); /* absent: none */
	assert_int_equal(c.n, 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"mcpServers\":{\"fx\":{\"command\":\"/bin/cat\"}}}", f);
	fclose(f);
	assert_int_equal(vex_mcp_conf_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.servers[0].command, "/bin/cat");
	vex_mcp_conf_release(&c);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"mcpServers\":{\"fx\":{\"command\":1}}}", f);
	fclose(f);
	assert_int_equal(vex_mcp_conf_load(path, &c, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "server \"fx\": command: must be a string"));
	unlink(path);
	assert_int_equal(vex_mcp_conf_load(dir, &c, err, sizeof(err)), VEX_EINVAL); /* a directory */
	assert_non_null(strstr(err, "must be a regular file"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_unknown_server_keys_warn),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
