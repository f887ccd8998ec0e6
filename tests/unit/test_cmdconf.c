/* test_cmdconf.c - tools.json: a full example resolved, defaults, and every refusal naming file, tool and field. */
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

#include "runner/cmdconf.h"
#include "core/base/err.h"

static char dir[64];
static char prog[128];    /* an executable file */
static char noexec[128];  /* a file without the execute bit */

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-cmdconf-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(prog, sizeof(prog), "%s/tool.sh", dir);
	snprintf(noexec, sizeof(noexec), "%s/data.txt", dir);
	write_file(prog, "#!/bin/sh\ncat\n", 0755);
	write_file(noexec, "not a program\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	char path[160];

	(void)state;
	unlink(prog);
	unlink(noexec);
	snprintf(path, sizeof(path), "%s/tools.json", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Parses "text" with %P replaced by the executable's path and %N by the non-executable file's. */
static int parse(const char *text, struct vex_cmd_tools *ret, char *err, size_t errlen)
{
	char buf[8192], *o = buf;
	const char *p;

	for (p = text; *p && (size_t)(o - buf) < sizeof(buf) - sizeof(prog) - 1; p++) {
		if (p[0] == '%' && p[1] == 'P') {
			o += snprintf(o, sizeof(buf) - (size_t)(o - buf), "%s", prog);
			p++;
		} else if (p[0] == '%' && p[1] == 'N') {
			o += snprintf(o, sizeof(buf) - (size_t)(o - buf), "%s", noexec);
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return vex_cmd_tools_parse("tools.json", buf, strlen(buf), ret, err, errlen);
}

static void test_full_example(void **state)
{
	struct vex_cmd_tools t = { 0 };
	const struct vex_cmd_tool *a;
	char err[512];
	size_t i;
	int found_path = 0, found_set = 0, found_missing = 0;

	(void)state;
	setenv("VEX_T2_COPIED", "copied value", 1);
	unsetenv("VEX_T2_ABSENT");
	assert_int_equal(parse("{\"tools\":{\"resize\":{\"description\":\"Resizes an image.\","
			       "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"integer\"}},"
			       "\"required\":[\"w\"]},"
			       "\"argv\":[\"%P\",\"--fast\",\"\"],\"timeout_ms\":5000,"
			       "\"env\":[\"VEX_T2_COPIED\",\"VEX_T2_ABSENT\"],\"env_set\":{\"LANG\":\"C.UTF-8\"},"
			       "\"limits\":{\"cpu_s\":10,\"as_mb\":256,\"nofile\":32,\"nproc\":8}},"
			       "\"plain\":{\"argv\":[\"%P\"]}}}",
			       &t, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(t.n, 2);
	a = vex_cmd_tools_find(&t, "resize");
	assert_non_null(a);
	assert_string_equal(a->description, "Resizes an image.");
	assert_string_equal(a->input_schema,
			    "{\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"integer\"}},\"required\":[\"w\"]}");
	assert_int_equal(a->argc, 3);
	assert_string_equal(a->argv[0], prog);
	assert_string_equal(a->argv[1], "--fast");
	assert_string_equal(a->argv[2], "");
	assert_null(a->argv[3]);
	assert_int_equal(a->timeout_ms, 5000);
	assert_int_equal(a->limits.cpu_s, 10);
	assert_int_equal(a->limits.as_mb, 256);
	assert_int_equal(a->limits.nofile, 32);
	assert_int_equal(a->limits.nproc, 8);
	assert_null(a->user);
	for (i = 0; i < a->envc; i++) {
		found_path += strcmp(a->env[i], "VEX_T2_COPIED=copied value") == 0;
		found_set += strcmp(a->env[i], "LANG=C.UTF-8") == 0;
		found_missing += strncmp(a->env[i], "VEX_T2_ABSENT", 13) == 0;
	}
	assert_int_equal(found_path, 1);
	assert_int_equal(found_set, 1);
	assert_int_equal(found_missing, 0); /* absent from the environment: not passed */
	assert_int_equal(a->envc, 2);
	assert_null(a->env[a->envc]);

	/* defaults */
	a = vex_cmd_tools_find(&t, "plain");
	assert_non_null(a);
	assert_string_equal(a->description, "");
	assert_string_equal(a->input_schema, "{\"type\":\"object\"}");
	assert_int_equal(a->timeout_ms, 0);
	assert_int_equal(a->envc, 0);
	assert_int_equal(a->limits.cpu_s, 60);
	assert_int_equal(a->limits.as_mb, 1024);
	assert_int_equal(a->limits.nofile, 64);
	assert_int_equal(a->limits.nproc, 512);
	assert_null(vex_cmd_tools_find(&t, "nope"));
	assert_null(vex_cmd_tools_find(&t, NULL));
	vex_cmd_tools_release(&t);
	vex_cmd_tools_release(&t); /* twice is harmless */
	vex_cmd_tools_release(NULL);
	unsetenv("VEX_T2_COPIED");
}

static void test_user(void **state)
{
	struct vex_cmd_tools t = { 0 };
	char err[512];
	int rc;

	(void)state;
	rc = parse("{\"tools\":{\"n\":{\"argv\":[\"%P\"],\"user\":\"nobody\"}}}", &t, err, sizeof(err));
	if (geteuid() == 0) {
		assert_int_equal(rc, 0);
		assert_string_equal(t.items[0].user, "nobody");
		assert_true(t.items[0].uid != 0);
		assert_true(t.items[0].ngroups >= 1);
	} else {
		assert_int_equal(rc, VEX_EINVAL);
		assert_non_null(strstr(err, "needs the runner to run as root"));
	}
	vex_cmd_tools_release(&t);
}

static void test_empty_and_missing(void **state)
{
	struct vex_cmd_tools t = { 0 };
	char err[512], path[160];

	(void)state;
	assert_int_equal(parse("{\"tools\":{}}", &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 0);
	vex_cmd_tools_release(&t);
	snprintf(path, sizeof(path), "%s/absent.json", dir);
	assert_int_equal(vex_cmd_tools_load(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 0);
	assert_string_equal(err, "");

	/* a file on disk, through load */
	snprintf(path, sizeof(path), "%s/tools.json", dir);
	write_file(path, "{\"tools\":{\"cat\":{\"argv\":[\"/bin/cat\"]}}}", 0644);
	assert_int_equal(vex_cmd_tools_load(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.items[0].name, "cat");
	vex_cmd_tools_release(&t);

	/* a directory is not a tools file */
	assert_int_equal(vex_cmd_tools_load(dir, &t, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "regular file"));
}

/* A tool whose schema holds a pattern that does not compile is left out, the others kept. */
static void test_pattern_left_out(void **state)
{
	struct vex_cmd_tools t = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"tools\":{\"good\":{\"argv\":[\"%P\"],\"inputSchema\":{\"properties\":"
			       "{\"a\":{\"pattern\":\"^[a-z]+$\"}}}},"
			       "\"bad\":{\"argv\":[\"%P\"],\"inputSchema\":{\"properties\":{\"a\":{\"pattern\":\"(a\"}}}}}}",
			       &t, err, sizeof(err)),
			 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.items[0].name, "good");
	assert_int_equal(t.nleft_out, 1);
	assert_string_equal(t.left_out[0], "tools.json: tool \"bad\": inputSchema: properties.a.pattern \"(a\": "
					   "missing closing parenthesis at offset 2 (the tool is left out)");
	vex_cmd_tools_release(&t);
}

/* Every refusal: rc VEX_EINVAL, and the message contains each of the NULL-terminated "parts". */
static void refused(const char *text, ...)
{
	struct vex_cmd_tools t = { 0 };
	char err[512];
	const char *part;
	va_list ap;
	int rc;

	rc = parse(text, &t, err, sizeof(err));
	if (rc != VEX_EINVAL)
		fail_msg("accepted (rc %d): %s", rc, text);
	assert_int_equal(t.n, 0);
	assert_null(t.items);
	assert_non_null(strstr(err, "tools.json: "));
	va_start(ap, text);
	while ((part = va_arg(ap, const char *)) != NULL)
		if (!strstr(err, part))
			fail_msg("\"%s\" lacks \"%s\"", err, part);
	va_end(ap);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("{\"tools\":", "invalid JSON", NULL);
	refused("[]", "must be a JSON object", NULL);
	refused("{\"tools\":{},\"extra\":1}", "unknown key \"extra\"", NULL);
	refused("{}", "tools: must be an object", NULL);
	refused("{\"tools\":[]}", "tools: must be an object", NULL);
	refused("{\"tools\":{\"a.b\":{\"argv\":[\"%P\"]}}}", "tool \"a.b\"", "the name must be", NULL);
	refused("{\"tools\":{\"\":{\"argv\":[\"%P\"]}}}", "the name must be", NULL);
	refused("{\"tools\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"argv\":[\"%P\"]}}}",
		"the name must be", NULL);
	refused("{\"tools\":{\"sleep\":{\"argv\":[\"%P\"]}}}", "tool \"sleep\"", "builtin", NULL);
	refused("{\"tools\":{\"x\":3}}", "tool \"x\"", "must be an object", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"comand\":1}}}", "tool \"x\"", "unknown key \"comand\"", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"description\":5}}}", "description: must be a string", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"inputSchema\":[]}}}", "inputSchema: must be", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"inputSchema\":{\"type\":\"string\"}}}}", "inputSchema.type",
		NULL);
	refused("{\"tools\":{\"x\":{}}}", "tool \"x\": argv: is required", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[]}}}", "argv: must be a non-empty array", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":\"%P\"}}}", "argv: must be a non-empty array", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"cat\"]}}}", "argv[0]", "not an absolute path", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"/nonexistent/prog\"]}}}", "argv[0]", "No such file", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"/tmp\"]}}}", "argv[0]", "not a regular file", NULL);
	if (geteuid() != 0) /* root may execute anything with an x bit anywhere; 0644 has none */
		refused("{\"tools\":{\"x\":{\"argv\":[\"%N\"]}}}", "argv[0]", "not executable", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\",7]}}}", "argv[1]: must be a string", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"timeout_ms\":0}}}", "timeout_ms: must be an integer", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"timeout_ms\":\"5s\"}}}", "timeout_ms", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env\":\"PATH\"}}}", "env: must be an array", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env\":[\"A=B\"]}}}", "env[0]: must be a variable name", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env\":[\"HOME\"]}}}", "env[0]", "vex sets it", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env\":[\"PATH\",\"PATH\"]}}}", "env[1]", "twice", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env\":[\"LANG\"],\"env_set\":{\"LANG\":\"C\"}}}}", "env[0]",
		"also in env_set", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env_set\":[]}}}", "env_set: must be an object", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env_set\":{\"A\":1}}}}", "env_set.A: must be a string", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env_set\":{\"TMPDIR\":\"/tmp\"}}}}", "env_set.TMPDIR", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"env_set\":{\"9A\":\"v\"}}}}", "env_set", "not a variable name",
		NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"user\":\"no-such-user-vex\"}}}", "tool \"x\": user:",
		"no such user", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"user\":7}}}", "user: must be a user name", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"user\":\"root\"}}}", "user:", "is root; tools never run as root",
		NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"limits\":{\"cpu_s\":0}}}}", "limits.cpu_s", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"limits\":{\"nofile\":4}}}}", "limits.nofile", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"limits\":{\"as_mb\":1.5}}}}", "limits.as_mb", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"limits\":{\"mem\":1}}}}", "limits: unknown key \"mem\"", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"limits\":5}}}", "limits: must be an object", NULL);
	/* the second tool is wrong: nothing of the first is kept */
	refused("{\"tools\":{\"good\":{\"argv\":[\"%P\"]},\"bad\":{\"argv\":[\"%P\"],\"x\":1}}}", "tool \"bad\"", NULL);
	/* duplicate names are refused by the JSON parser */
	refused("{\"tools\":{\"a\":{\"argv\":[\"%P\"]},\"a\":{\"argv\":[\"%P\"]}}}", "duplicate", NULL);
}

/* "grant": kept as compact text; none leaves the tool admin-only; every malformed grant refused. */
static void test_grant(void **state)
{
	struct vex_cmd_tools t = { 0 };
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"tools\":{\"a\":{\"argv\":[\"%P\"]},\"b\":{\"argv\":[\"%P\"],"
			       "\"grant\":{\"plans\":[\"pro\",\"enterprise\"],\"owners\":[\"alice\"],"
			       "\"roles\":[\"user\"]}}}}",
			       &t, err, sizeof(err)),
			 0);
	assert_null(vex_cmd_tools_find(&t, "a")->grant);
	assert_string_equal(vex_cmd_tools_find(&t, "b")->grant,
			    "{\"owners\":[\"alice\"],\"plans\":[\"pro\",\"enterprise\"],\"roles\":[\"user\"]}");
	vex_cmd_tools_release(&t);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":[\"user\"]}}}", "tool \"x\"", "grant: must be an object",
		NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{}}}}", "grant: names no roles", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"role\":[\"user\"]}}}}", "grant: unknown key \"role\"",
		NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"roles\":[\"root\"]}}}}", "grant.roles",
		"unknown role \"root\"", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"roles\":\"user\"}}}}", "grant.roles",
		"array of strings", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"plans\":[\"gold\"]}}}}", "grant.plans",
		"unknown plan \"gold\"", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"owners\":[\"\"]}}}}", "grant.owners",
		"entry 0", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"owners\":[\"a\\nb\"]}}}}", "grant.owners", NULL);
	refused("{\"tools\":{\"x\":{\"argv\":[\"%P\"],\"grant\":{\"owners\":[1]}}}}", "grant.owners",
		"entry 0 is not a string", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_empty_and_missing),
		cmocka_unit_test(test_pattern_left_out),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_grant),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
