/* cmdconf.c - operator command tools: tools.json read, checked field by field, resolved for execution. */
#include "runner/cmdconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/tools/grant.h"
#include "runner/jsonconf.h"
#include "core/tools/schema_pattern.h"
#include "core/tools/tools.h"

#define ENV_NAME_MAX 128
#define USER_NAME_MAX 64

static const char *const tool_keys[] = { "description", "inputSchema", "argv", "timeout_ms", "env",
					 "env_set", "user", "limits", "grant", NULL };

/* A limit's key, bounds and default. */
struct limit_def {
	const char *key;
	long lo, hi, def;
	size_t off;
};

static const struct limit_def limit_defs[] = {
	{ "cpu_s", 1, 86400, 60, offsetof(struct vex_cmd_limits, cpu_s) },
	{ "as_mb", 16, 1048576, 1024, offsetof(struct vex_cmd_limits, as_mb) },
	{ "nofile", 8, 65536, 64, offsetof(struct vex_cmd_limits, nofile) },
	{ "nproc", 1, 65536, 512, offsetof(struct vex_cmd_limits, nproc) },
};
#define N_LIMITS (sizeof(limit_defs) / sizeof(limit_defs[0]))

/* The parse in progress: where messages go and what they name. */
struct parse {
	const char *path;
	const char *tool; /* NULL before the tools */
	char *err;
	size_t errlen;
};

/* Writes "<path>: tool "<tool>": <field>: <message>" into p->err; returns VEX_EINVAL. */
static int fail(struct parse *p, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vex_conf_failv(p->err, p->errlen, p->path, "tool", p->tool, field, fmt, ap);
	va_end(ap);
	return rc;
}

/* 0 when every key of "obj" is among "allowed" (NULL-terminated), else the error naming it. */
static int known_keys(struct parse *p, json_t *obj, const char *const *allowed, const char *where)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (!allowed[i])
			return fail(p, where, "unknown key \"%.64s\"", key);
	}
	return 0;
}

static void tool_release(struct vex_cmd_tool *t)
{
	free(t->name);
	free(t->description);
	free(t->input_schema);
	vex_strv_free(t->argv, t->argc);
	vex_strv_free(t->env, t->envc);
	free(t->user);
	free(t->groups);
	free(t->grant);
	memset(t, 0, sizeof(*t));
}

void vex_cmd_tools_release(struct vex_cmd_tools *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		tool_release(&t->items[i]);
	free(t->items);
	t->items = NULL;
	t->n = 0;
	for (i = 0; i < t->nleft_out; i++)
		free(t->left_out[i]);
	free(t->left_out);
	t->left_out = NULL;
	t->nleft_out = 0;
}

const struct vex_cmd_tool *vex_cmd_tools_find(const struct vex_cmd_tools *t, const char *name)
{
	size_t i;

	if (!t || !name)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->items[i].name, name) == 0)
			return &t->items[i];
	return NULL;
}

static int parse_description(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *v = json_object_get(o, "description");

	if (v && !json_is_string(v))
		return fail(p, "description", "must be a string");
	if (v && vex_utf8_len(json_string_value(v)) > VEX_CMD_DESC_MAX)
		return fail(p, "description", "longer than %d characters", VEX_CMD_DESC_MAX);
	t->description = strdup(v ? json_string_value(v) : "");
	return t->description ? 0 : VEX_ENOMEM;
}

/* 0, or 1 with "left_out" filled when a pattern in the schema does not compile (the tool is left out). */
static int parse_schema(struct parse *p, json_t *o, struct vex_cmd_tool *t, char *left_out, size_t len)
{
	char why[VEX_SCHEMA_PATTERN_WHY_MAX + 384];
	json_t *v = json_object_get(o, "inputSchema");
	struct parse lp;
	json_t *type;
	int rc;

	if (!v) {
		t->input_schema = strdup("{\"type\":\"object\"}");
		return t->input_schema ? 0 : VEX_ENOMEM;
	}
	if (!json_is_object(v))
		return fail(p, "inputSchema", "must be a JSON Schema object");
	type = json_object_get(v, "type");
	if (type && !(json_is_string(type) && strcmp(json_string_value(type), "object") == 0))
		return fail(p, "inputSchema.type", "must be \"object\" (the arguments are a JSON object)");
	t->input_schema = vex_json_dump(v);
	if (!t->input_schema)
		return VEX_ENOMEM;
	rc = vex_schema_patterns_compile(v, why, sizeof(why));
	if (rc != VEX_EINVAL)
		return rc;
	lp = *p; /* the message goes to "left_out", not to the file's error */
	lp.err = left_out;
	lp.errlen = len;
	fail(&lp, "inputSchema", "%s (the tool is left out)", why);
	return 1;
}

/* argv: 1..VEX_CMD_ARGV_MAX strings; argv[0] an absolute path to an executable regular file. */
static int parse_argv(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *v = json_object_get(o, "argv");
	struct stat st;
	const char *prog;
	char field[32];
	size_t i, n;

	if (!v)
		return fail(p, "argv", "is required (the program and its arguments)");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(p, "argv", "must be a non-empty array of strings");
	n = json_array_size(v);
	if (n > VEX_CMD_ARGV_MAX)
		return fail(p, "argv", "more than %d entries", VEX_CMD_ARGV_MAX);
	for (i = 0; i < n; i++) {
		json_t *a = json_array_get(v, i);

		snprintf(field, sizeof(field), "argv[%zu]", i);
		if (!json_is_string(a))
			return fail(p, field, "must be a string");
		if (json_string_length(a) > VEX_CMD_ARG_MAX)
			return fail(p, field, "longer than %d bytes", VEX_CMD_ARG_MAX);
	}
	prog = json_string_value(json_array_get(v, 0));
	if (prog[0] != '/')
		return fail(p, "argv[0]", "\"%.200s\" is not an absolute path (no shell, no PATH search)", prog);
	if (stat(prog, &st) < 0)
		return fail(p, "argv[0]", "%.200s: %s", prog, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(p, "argv[0]", "%.200s is not a regular file", prog);
	if (access(prog, X_OK) < 0)
		return fail(p, "argv[0]", "%.200s is not executable: %s", prog, strerror(errno));
	t->argv = calloc(n + 1, sizeof(char *));
	if (!t->argv)
		return VEX_ENOMEM;
	for (i = 0; i < n; i++) {
		t->argv[i] = strdup(json_string_value(json_array_get(v, i)));
		if (!t->argv[i])
			return VEX_ENOMEM;
		t->argc = i + 1;
	}
	return 0;
}

static int parse_timeout(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *v = json_object_get(o, "timeout_ms");

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > VEX_CMD_TIMEOUT_MAX_MS)
		return fail(p, "timeout_ms", "must be an integer from 1 to %lld", VEX_CMD_TIMEOUT_MAX_MS);
	t->timeout_ms = json_integer_value(v);
	return 0;
}

/* Appends "name=value" to t->env (room was reserved). 0 or VEX_ENOMEM. */
static int env_add(struct vex_cmd_tool *t, const char *name, const char *value)
{
	size_t len = strlen(name) + 1 + strlen(value) + 1;
	char *kv = malloc(len);

	if (!kv)
		return VEX_ENOMEM;
	snprintf(kv, len, "%s=%s", name, value);
	t->env[t->envc++] = kv;
	return 0;
}

static int reserved_env(const char *name)
{
	return strcmp(name, "HOME") == 0 || strcmp(name, "TMPDIR") == 0;
}

/*
 * env: names copied from the runner's environment now (absent ones are skipped); env_set: fixed
 * values. HOME and TMPDIR are the private directory's and cannot be set here.
 */
static int parse_env(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *names = json_object_get(o, "env");
	json_t *set = json_object_get(o, "env_set");
	char field[ENV_NAME_MAX + 16];
	const char *key;
	json_t *v;
	size_t i, j, n = 0;
	int rc;

	if (names && !json_is_array(names))
		return fail(p, "env", "must be an array of variable names");
	if (set && !json_is_object(set))
		return fail(p, "env_set", "must be an object of names to string values");
	n = (names ? json_array_size(names) : 0) + (set ? json_object_size(set) : 0);
	if (n > VEX_CMD_ENV_MAX)
		return fail(p, "env", "more than %d variables in env and env_set", VEX_CMD_ENV_MAX);
	for (i = 0; names && i < json_array_size(names); i++) {
		json_t *a = json_array_get(names, i);
		const char *name;

		snprintf(field, sizeof(field), "env[%zu]", i);
		if (!json_is_string(a) || !vex_conf_env_name_valid(json_string_value(a), ENV_NAME_MAX))
			return fail(p, field, "must be a variable name ([A-Za-z_][A-Za-z0-9_]*)");
		name = json_string_value(a);
		if (reserved_env(name))
			return fail(p, field, "%s is the tool's private directory; vex sets it", name);
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(names, j)), name) == 0)
				return fail(p, field, "%s is listed twice", name);
		if (set && json_object_get(set, name))
			return fail(p, field, "%s is also in env_set", name);
	}
	json_object_foreach(set, key, v) {
		snprintf(field, sizeof(field), "env_set.%.*s", ENV_NAME_MAX, key);
		if (!vex_conf_env_name_valid(key, ENV_NAME_MAX))
			return fail(p, "env_set", "\"%.64s\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", key);
		if (reserved_env(key))
			return fail(p, field, "%s is the tool's private directory; vex sets it", key);
		if (!json_is_string(v))
			return fail(p, field, "must be a string");
		if (json_string_length(v) > VEX_CMD_ARG_MAX)
			return fail(p, field, "longer than %d bytes", VEX_CMD_ARG_MAX);
	}
	t->env = calloc(n + 1, sizeof(char *));
	if (!t->env)
		return VEX_ENOMEM;
	for (i = 0; names && i < json_array_size(names); i++) {
		const char *name = json_string_value(json_array_get(names, i));
		const char *val = getenv(name);

		if (val && strlen(val) <= VEX_CMD_ARG_MAX && (rc = env_add(t, name, val)) < 0)
			return rc;
	}
	json_object_foreach(set, key, v) {
		if ((rc = env_add(t, key, json_string_value(v))) < 0)
			return rc;
	}
	return 0;
}

/* user: resolved now (uid, gid, supplementary groups) so that the child needs no lookup. */
static int parse_user(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *v = json_object_get(o, "user");
	struct passwd pw, *found = NULL;
	gid_t groups[VEX_CMD_GROUPS_MAX];
	int ngroups = VEX_CMD_GROUPS_MAX;
	char buf[16384];
	const char *name;
	int e;

	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > USER_NAME_MAX)
		return fail(p, "user", "must be a user name");
	name = json_string_value(v);
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (e != 0)
		return fail(p, "user", "cannot look up \"%.64s\": %s", name, strerror(e));
	if (!found)
		return fail(p, "user", "no such user \"%.64s\"", name);
	if (pw.pw_uid == 0)
		return fail(p, "user", "\"%.64s\" is root; tools never run as root", name);
	if (geteuid() != 0 && pw.pw_uid != geteuid())
		return fail(p, "user", "running tools as \"%.64s\" needs the runner to run as root", name);
	if (getgrouplist(name, pw.pw_gid, groups, &ngroups) < 0)
		return fail(p, "user", "\"%.64s\" is in more than %d groups", name, VEX_CMD_GROUPS_MAX);
	t->user = strdup(name);
	t->groups = malloc((size_t)(ngroups > 0 ? ngroups : 1) * sizeof(gid_t));
	if (!t->user || !t->groups)
		return VEX_ENOMEM;
	memcpy(t->groups, groups, (size_t)ngroups * sizeof(gid_t));
	t->ngroups = (size_t)ngroups;
	t->uid = pw.pw_uid;
	t->gid = pw.pw_gid;
	return 0;
}

static int parse_limits(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	static const char *const keys[] = { "cpu_s", "as_mb", "nofile", "nproc", NULL };
	json_t *v = json_object_get(o, "limits");
	char field[32];
	size_t i;
	int rc;

	for (i = 0; i < N_LIMITS; i++)
		*(long *)((char *)&t->limits + limit_defs[i].off) = limit_defs[i].def;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return fail(p, "limits", "must be an object");
	if ((rc = known_keys(p, v, keys, "limits")) < 0)
		return rc;
	for (i = 0; i < N_LIMITS; i++) {
		json_t *x = json_object_get(v, limit_defs[i].key);

		if (!x)
			continue;
		snprintf(field, sizeof(field), "limits.%s", limit_defs[i].key);
		if (!json_is_integer(x) || json_integer_value(x) < limit_defs[i].lo ||
		    json_integer_value(x) > limit_defs[i].hi)
			return fail(p, field, "must be an integer from %ld to %ld", limit_defs[i].lo, limit_defs[i].hi);
		*(long *)((char *)&t->limits + limit_defs[i].off) = (long)json_integer_value(x);
	}
	return 0;
}

/* "grant": who besides an admin may run the tool (core/tools/grant.h); none keeps it admin-only. */
static int parse_grant(struct parse *p, json_t *o, struct vex_cmd_tool *t)
{
	json_t *v = json_object_get(o, "grant");
	const char *sub;
	char why[256], where[32];
	int rc;

	if (!v)
		return 0;
	rc = vex_grant_check(v, &t->grant, &sub, why, sizeof(why));
	if (rc != VEX_EINVAL)
		return rc;
	snprintf(where, sizeof(where), "grant%s%s", *sub ? "." : "", sub);
	return fail(p, where, "%s", why);
}

/* 0, 1 when the tool is left out ("left_out" says why), or an error. */
static int parse_tool(struct parse *p, const char *name, json_t *o, struct vex_cmd_tool *t, char *left_out,
		      size_t len)
{
	int rc, out;

	p->tool = name;
	if (!vex_conf_name_valid(name, VEX_CMD_NAME_MAX))
		return fail(p, NULL, "the name must be 1 to 64 of A-Z a-z 0-9 _ -");
	if (vex_tool_find(name))
		return fail(p, NULL, "the name is a builtin tool's");
	if (!json_is_object(o))
		return fail(p, NULL, "must be an object");
	if ((rc = known_keys(p, o, tool_keys, NULL)) < 0)
		return rc;
	t->name = strdup(name);
	if (!t->name)
		return VEX_ENOMEM;
	if ((rc = parse_description(p, o, t)) < 0 || (out = rc = parse_schema(p, o, t, left_out, len)) < 0 ||
	    (rc = parse_argv(p, o, t)) < 0 || (rc = parse_timeout(p, o, t)) < 0 || (rc = parse_env(p, o, t)) < 0 ||
	    (rc = parse_user(p, o, t)) < 0 || (rc = parse_limits(p, o, t)) < 0 ||
	    (rc = parse_grant(p, o, t)) < 0)
		return rc;
	return out;
}

/* The last tool of "t" moves out of the catalog into t->left_out with message "why". */
static int leave_out(struct vex_cmd_tools *t, const char *why)
{
	char **list = realloc(t->left_out, (t->nleft_out + 1) * sizeof(*list));

	if (!list)
		return VEX_ENOMEM;
	t->left_out = list;
	list[t->nleft_out] = strdup(why);
	if (!list[t->nleft_out])
		return VEX_ENOMEM;
	t->nleft_out++;
	tool_release(&t->items[--t->n]);
	memset(&t->items[t->n], 0, sizeof(t->items[t->n]));
	return 0;
}

int vex_cmd_tools_parse(const char *path, const char *text, size_t len, struct vex_cmd_tools *ret, char *err,
			size_t errlen)
{
	static const char *const top_keys[] = { "tools", NULL };
	struct parse p = { .path = path, .err = err, .errlen = errlen };
	struct vex_cmd_tools out = { 0 };
	char left_out[VEX_SCHEMA_PATTERN_WHY_MAX + 768];
	struct vex_field_error fe;
	json_t *root = NULL, *tools, *v;
	const char *name;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (vex_json_parse(text, len, &root, &fe) < 0) {
		rc = fail(&p, NULL, "%s", fe.message);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = fail(&p, NULL, "must be a JSON object {\"tools\":{...}}");
		goto out;
	}
	if ((rc = known_keys(&p, root, top_keys, NULL)) < 0)
		goto out;
	tools = json_object_get(root, "tools");
	if (!json_is_object(tools)) {
		rc = fail(&p, "tools", "must be an object of tool names to tools");
		goto out;
	}
	if (json_object_size(tools) > VEX_CMD_TOOLS_MAX) {
		rc = fail(&p, "tools", "more than %d tools", VEX_CMD_TOOLS_MAX);
		goto out;
	}
	out.items = calloc(json_object_size(tools) ? json_object_size(tools) : 1, sizeof(*out.items));
	if (!out.items) {
		rc = VEX_ENOMEM;
		goto out;
	}
	json_object_foreach(tools, name, v) {
		rc = parse_tool(&p, name, v, &out.items[out.n], left_out, sizeof(left_out));
		out.n++; /* counted even when half-built: release frees what it holds */
		if (rc < 0)
			goto out;
		if (rc == 1 && (rc = leave_out(&out, left_out)) < 0)
			goto out;
	}
	*ret = out;
	memset(&out, 0, sizeof(out));
	rc = 0;
out:
	if (rc == VEX_ENOMEM)
		fail(&p, NULL, "out of memory");
	vex_cmd_tools_release(&out);
	json_decref(root);
	return rc;
}

int vex_cmd_tools_load(const char *path, struct vex_cmd_tools *ret, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = vex_conf_read_file(path, VEX_CMD_FILE_MAX, &buf, &len, err, errlen);
	if (rc == VEX_ENOTFOUND) {
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	if (rc == 0)
		rc = vex_cmd_tools_parse(path, buf, len, ret, err, errlen);
	free(buf);
	return rc;
}
