/* mcpconf.c - MCP servers: mcp.json read, checked server by server, ${VAR} references expanded. */
#include "runner/mcpconf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/tools/grant.h"
#include "runner/jsonconf.h"

#define VAR_NAME_MAX 128
#define HEADER_NAME_MAX 128

static const char *const server_keys[] = { "command", "args", "env", "url", "headers", "type", "disabled", "vex", NULL };

/* The parse in progress: where messages go and what they name. */
struct parse {
	const char *path;
	const char *server; /* NULL outside a server */
	char *err;
	size_t errlen;
	struct vex_mcp_conf *conf;
};

/* Writes "<path>: server "<name>": <field>: <message>" into p->err; returns VEX_EINVAL. */
static int fail(struct parse *p, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vex_conf_failv(p->err, p->errlen, p->path, "server", p->server, field, fmt, ap);
	va_end(ap);
	return rc;
}

/* Keeps a warning (the first VEX_MCP_WARN_MAX; later ones are counted in the last). */
static void warn(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	char *w;

	if (p->conf->nwarnings >= VEX_MCP_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w = strdup(msg);
	if (w)
		p->conf->warnings[p->conf->nwarnings++] = w;
}

int vex_mcp_name_valid(const char *s)
{
	return vex_conf_name_valid(s, VEX_MCP_NAME_MAX);
}

static int var_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/*
 * "in" with every ${VAR} and ${VAR:-default} replaced from the environment into *ret (malloc'd).
 * An unset VAR without a default, a malformed reference or a result over VEX_MCP_VALUE_MAX is
 * VEX_EINVAL with the reason in "why".
 */
static int expand(const char *in, char **ret, char *why, size_t whylen)
{
	char *out = malloc(VEX_MCP_VALUE_MAX + 1);
	size_t o = 0;
	const char *s = in;
	int rc = VEX_EINVAL;

	if (!out)
		return VEX_ENOMEM;
	while (*s) {
		const char *val, *name, *end, *def = NULL;
		char var[VAR_NAME_MAX + 1];
		size_t n, deflen = 0;

		if (s[0] != '$' || s[1] != '{') {
			if (o >= VEX_MCP_VALUE_MAX)
				goto toobig;
			out[o++] = *s++;
			continue;
		}
		name = s + 2;
		for (end = name; var_char(*end, end == name); end++)
			;
		n = (size_t)(end - name);
		if (n == 0 || n > VAR_NAME_MAX) {
			snprintf(why, whylen, "a ${ must be followed by a variable name and }");
			goto out;
		}
		if (end[0] == ':' && end[1] == '-') {
			def = end + 2;
			end = strchr(def, '}');
			if (!end) {
				snprintf(why, whylen, "${%.*s:- has no closing }", (int)n, name);
				goto out;
			}
			deflen = (size_t)(end - def);
		} else if (*end != '}') {
			snprintf(why, whylen, "${%.*s must end with }", (int)n, name);
			goto out;
		}
		memcpy(var, name, n);
		var[n] = '\0';
		val = getenv(var);
		if (!val || (!val[0] && def)) {
			if (!def) {
				snprintf(why, whylen, "${%s} is not set in the runner's environment", var);
				goto out;
			}
			if (o + deflen > VEX_MCP_VALUE_MAX)
				goto toobig;
			memcpy(out + o, def, deflen);
			o += deflen;
		} else {
			size_t vl = strlen(val);

			if (o + vl > VEX_MCP_VALUE_MAX)
				goto toobig;
			memcpy(out + o, val, vl);
			o += vl;
		}
		s = end + 1;
	}
	out[o] = '\0';
	*ret = out;
	out = NULL;
	rc = 0;
	goto out;
toobig:
	snprintf(why, whylen, "longer than %d bytes", VEX_MCP_VALUE_MAX);
out:
	free(out);
	return rc;
}

/* A string member expanded; "field" names it in messages. 0, VEX_EINVAL or VEX_ENOMEM. */
static int get_string(struct parse *p, json_t *v, const char *field, char **ret)
{
	char why[200];
	int rc;

	if (!json_is_string(v))
		return fail(p, field, "must be a string");
	if (json_string_length(v) > VEX_MCP_VALUE_MAX || strlen(json_string_value(v)) != json_string_length(v))
		return fail(p, field, "must be a string of at most %d bytes without NUL", VEX_MCP_VALUE_MAX);
	rc = expand(json_string_value(v), ret, why, sizeof(why));
	if (rc == VEX_EINVAL)
		return fail(p, field, "%s", why);
	return rc;
}

static void server_release(struct vex_mcp_server_conf *s)
{
	free(s->name);
	free(s->command);
	vex_strv_free(s->args, s->nargs);
	vex_strv_free(s->env, s->nenv);
	free(s->url);
	vex_strv_free(s->headers, s->nheaders);
	free(s->grant);
	for (size_t i = 0; i < s->ntool_grants; i++) {
		free(s->tool_grants[i].tool);
		free(s->tool_grants[i].grant);
	}
	free(s->tool_grants);
	memset(s, 0, sizeof(*s));
}

void vex_mcp_conf_release(struct vex_mcp_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		server_release(&c->servers[i]);
	free(c->servers);
	for (i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	memset(c, 0, sizeof(*c));
}

static int parse_args(struct parse *p, json_t *a, struct vex_mcp_server_conf *s)
{
	char field[32];
	size_t i;
	int rc;

	if (!json_is_array(a))
		return fail(p, "args", "must be an array of strings");
	if (json_array_size(a) > VEX_MCP_ARGS_MAX)
		return fail(p, "args", "at most %d entries", VEX_MCP_ARGS_MAX);
	s->args = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!s->args)
		return VEX_ENOMEM;
	for (i = 0; i < json_array_size(a); i++) {
		snprintf(field, sizeof(field), "args[%zu]", i);
		rc = get_string(p, json_array_get(a, i), field, &s->args[i]);
		if (rc < 0)
			return rc;
		s->nargs++;
	}
	return 0;
}

/* "K" and "V" joined by "sep" into a new string, or NULL. */
static char *join2(const char *k, const char *sep, const char *v)
{
	size_t kl = strlen(k), sl = strlen(sep), vl = strlen(v);
	char *r = malloc(kl + sl + vl + 1);

	if (!r)
		return NULL;
	memcpy(r, k, kl);
	memcpy(r + kl, sep, sl);
	memcpy(r + kl + sl, v, vl + 1);
	return r;
}

static int parse_env(struct parse *p, json_t *o, struct vex_mcp_server_conf *s)
{
	const char *key;
	char field[VAR_NAME_MAX + 8];
	json_t *v;
	int rc;

	if (!json_is_object(o))
		return fail(p, "env", "must be an object of strings");
	if (json_object_size(o) > VEX_MCP_ENV_MAX)
		return fail(p, "env", "at most %d entries", VEX_MCP_ENV_MAX);
	s->env = calloc(json_object_size(o) + 1, sizeof(char *));
	if (!s->env)
		return VEX_ENOMEM;
	json_object_foreach(o, key, v) {
		char *val = NULL;

		if (!vex_conf_env_name_valid(key, VAR_NAME_MAX))
			return fail(p, "env", "\"%.64s\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", key);
		snprintf(field, sizeof(field), "env.%s", key);
		rc = get_string(p, v, field, &val);
		if (rc < 0)
			return rc;
		s->env[s->nenv] = join2(key, "=", val);
		free(val);
		if (!s->env[s->nenv])
			return VEX_ENOMEM;
		s->nenv++;
	}
	return 0;
}

/* An HTTP header name is a token (RFC 9110 tchar). */
static int valid_header_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > HEADER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return 0;
	}
	return 1;
}

/* Headers vex sets itself are refused: a second copy would confuse the server. */
static int reserved_header(const char *s)
{
	static const char *const r[] = { "content-type", "accept", "content-length", "mcp-session-id",
					 "mcp-protocol-version", "host", "transfer-encoding", "connection", NULL };
	size_t i;

	for (i = 0; r[i]; i++)
		if (strcasecmp(s, r[i]) == 0)
			return 1;
	return 0;
}

static int parse_headers(struct parse *p, json_t *o, struct vex_mcp_server_conf *s)
{
	const char *key;
	char field[HEADER_NAME_MAX + 16];
	json_t *v;
	int rc;

	if (!json_is_object(o))
		return fail(p, "headers", "must be an object of strings");
	if (json_object_size(o) > VEX_MCP_HEADERS_MAX)
		return fail(p, "headers", "at most %d entries", VEX_MCP_HEADERS_MAX);
	s->headers = calloc(json_object_size(o) + 1, sizeof(char *));
	if (!s->headers)
		return VEX_ENOMEM;
	json_object_foreach(o, key, v) {
		char *val = NULL;
		const char *c;

		if (!valid_header_name(key))
			return fail(p, "headers", "\"%.64s\" is not a header name", key);
		if (reserved_header(key))
			return fail(p, "headers", "%.64s is set by vex itself", key);
		snprintf(field, sizeof(field), "headers.%s", key);
		rc = get_string(p, v, field, &val);
		if (rc < 0)
			return rc;
		for (c = val; *c; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
				break;
		if (*c) {
			free(val);
			return fail(p, field, "must not contain control characters");
		}
		s->headers[s->nheaders] = join2(key, ": ", val);
		free(val);
		if (!s->headers[s->nheaders])
			return VEX_ENOMEM;
		s->nheaders++;
	}
	return 0;
}

static int is_http_url(const char *u)
{
	return (strncasecmp(u, "http://", 7) == 0 && u[7]) || (strncasecmp(u, "https://", 8) == 0 && u[8]);
}

/* Parses server "name" from "o" into "s" (zeroed by the caller); 1 when it is disabled (skipped). */
/* A grant object at "field" into *ret (core/tools/grant.h). */
static int parse_grant(struct parse *p, json_t *v, const char *field, char **ret)
{
	const char *sub;
	char why[256], where[200];
	int rc;

	rc = vex_grant_check(v, ret, &sub, why, sizeof(why));
	if (rc != VEX_EINVAL)
		return rc;
	snprintf(where, sizeof(where), "%s%s%s", field, *sub ? "." : "", sub);
	return fail(p, where, "%s", why);
}

/*
 * "vex": what only vex reads (other MCP clients ignore the key): {"grant":{...}, "tools":{TOOL:
 * {"grant":{...}}}}. Strict: a typo here would leave a tool admin-only or grant the wrong one.
 */
static int parse_vex(struct parse *p, json_t *o, struct vex_mcp_server_conf *s)
{
	json_t *vx = json_object_get(o, "vex"), *v, *tools, *t;
	const char *key, *tool;
	char where[200];
	int rc;

	if (!vx)
		return 0;
	if (!json_is_object(vx))
		return fail(p, "vex", "must be an object with grant and/or tools");
	json_object_foreach(vx, key, v)
		if (strcmp(key, "grant") != 0 && strcmp(key, "tools") != 0)
			return fail(p, "vex", "unknown key \"%.64s\" (grant, tools)", key);
	v = json_object_get(vx, "grant");
	if (v && (rc = parse_grant(p, v, "vex.grant", &s->grant)) < 0)
		return rc;
	tools = json_object_get(vx, "tools");
	if (!tools)
		return 0;
	if (!json_is_object(tools))
		return fail(p, "vex.tools", "must be an object of tool names");
	if (json_object_size(tools) > VEX_MCP_TOOL_GRANTS_MAX)
		return fail(p, "vex.tools", "more than %d tools", VEX_MCP_TOOL_GRANTS_MAX);
	s->tool_grants = calloc(json_object_size(tools) + 1, sizeof(*s->tool_grants));
	if (!s->tool_grants)
		return VEX_ENOMEM;
	json_object_foreach(tools, tool, t) {
		struct vex_mcp_tool_grant *g = &s->tool_grants[s->ntool_grants];

		snprintf(where, sizeof(where), "vex.tools.%.128s", tool);
		if (!*tool || strlen(tool) > VEX_MCP_TOOL_NAME_MAX || vex_has_control_chars(tool))
			return fail(p, "vex.tools", "a tool name must be 1 to %d bytes without control characters",
				    VEX_MCP_TOOL_NAME_MAX);
		if (!json_is_object(t))
			return fail(p, where, "must be an object with a grant");
		json_object_foreach(t, key, v)
			if (strcmp(key, "grant") != 0)
				return fail(p, where, "unknown key \"%.64s\" (grant)", key);
		v = json_object_get(t, "grant");
		if (!v)
			return fail(p, where, "needs a grant");
		if (!(g->tool = strdup(tool)))
			return VEX_ENOMEM;
		s->ntool_grants++;
		snprintf(where, sizeof(where), "vex.tools.%.128s.grant", tool);
		if ((rc = parse_grant(p, v, where, &g->grant)) < 0)
			return rc;
	}
	return 0;
}

const char *vex_mcp_server_grant(const struct vex_mcp_server_conf *s, const char *tool)
{
	size_t i;

	for (i = 0; tool && i < s->ntool_grants; i++)
		if (strcmp(s->tool_grants[i].tool, tool) == 0)
			return s->tool_grants[i].grant;
	return s->grant;
}

static int parse_server(struct parse *p, const char *name, json_t *o, struct vex_mcp_server_conf *s)
{
	json_t *command = json_object_get(o, "command"), *url = json_object_get(o, "url");
	json_t *type = json_object_get(o, "type"), *disabled = json_object_get(o, "disabled"), *v;
	const char *key, *t = NULL;
	size_t i;
	int rc;

	if (!json_is_object(o))
		return fail(p, NULL, "must be an object");
	if (disabled && !json_is_boolean(disabled))
		return fail(p, "disabled", "must be true or false");
	if (json_is_true(disabled)) {
		warn(p, "%s: server \"%s\" is disabled: skipped", p->path, name);
		return 1;
	}
	json_object_foreach(o, key, v) {
		for (i = 0; server_keys[i]; i++)
			if (strcmp(server_keys[i], key) == 0)
				break;
		if (!server_keys[i])
			warn(p, "%s: server \"%s\": unknown key \"%.64s\" ignored", p->path, name, key);
	}
	if (type) {
		if (!json_is_string(type))
			return fail(p, "type", "must be a string");
		t = json_string_value(type);
		if (strcmp(t, "sse") == 0)
			return fail(p, "type", "the legacy HTTP+SSE transport is not supported; use a Streamable HTTP url");
		if (strcmp(t, "stdio") != 0 && strcmp(t, "http") != 0 && strcmp(t, "streamable-http") != 0 &&
		    strcmp(t, "streamableHttp") != 0)
			return fail(p, "type", "\"%.32s\" is not stdio, http or streamable-http", t);
	}
	if (command && url)
		return fail(p, NULL, "has both command and url; a server is one or the other");
	if (!command && !url)
		return fail(p, NULL, "needs a command (stdio) or a url (Streamable HTTP)");
	if (t && ((command && strcmp(t, "stdio") != 0) || (url && strcmp(t, "stdio") == 0)))
		return fail(p, "type", "\"%s\" does not match a server with %s", t, command ? "a command" : "a url");
	s->name = strdup(name);
	if (!s->name)
		return VEX_ENOMEM;
	rc = parse_vex(p, o, s);
	if (rc < 0)
		return rc;
	if (command) {
		if (json_object_get(o, "headers"))
			return fail(p, "headers", "only a url server has headers");
		rc = get_string(p, command, "command", &s->command);
		if (rc < 0)
			return rc;
		if (!s->command[0])
			return fail(p, "command", "must not be empty");
		v = json_object_get(o, "args");
		if (v) {
			rc = parse_args(p, v, s);
			if (rc < 0)
				return rc;
		} else if (!(s->args = calloc(1, sizeof(char *))))
			return VEX_ENOMEM;
		v = json_object_get(o, "env");
		if (v) {
			rc = parse_env(p, v, s);
			if (rc < 0)
				return rc;
		} else if (!(s->env = calloc(1, sizeof(char *))))
			return VEX_ENOMEM;
		return 0;
	}
	if (json_object_get(o, "args") || json_object_get(o, "env"))
		return fail(p, json_object_get(o, "args") ? "args" : "env", "only a command server has %s",
			    json_object_get(o, "args") ? "args" : "env");
	rc = get_string(p, url, "url", &s->url);
	if (rc < 0)
		return rc;
	if (!is_http_url(s->url) || strpbrk(s->url, " \t\r\n"))
		return fail(p, "url", "must be an http:// or https:// URL");
	v = json_object_get(o, "headers");
	if (v)
		return parse_headers(p, v, s);
	if (!(s->headers = calloc(1, sizeof(char *))))
		return VEX_ENOMEM;
	return 0;
}

int vex_mcp_conf_parse(const char *path, const char *text, size_t len, struct vex_mcp_conf *ret, char *err,
		       size_t errlen)
{
	struct vex_mcp_conf c = { 0 };
	struct parse p = { .path = path, .err = err, .errlen = errlen, .conf = &c };
	struct vex_field_error fe;
	json_t *root = NULL, *servers, *v;
	const char *key;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (len > VEX_MCP_FILE_MAX) {
		rc = fail(&p, NULL, "larger than %d bytes", VEX_MCP_FILE_MAX);
		goto out;
	}
	if (vex_json_parse(text, len, &root, &fe) < 0) {
		rc = fail(&p, NULL, "%s", fe.message);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = fail(&p, NULL, "must be a JSON object {\"mcpServers\":{...}}");
		goto out;
	}
	json_object_foreach(root, key, v)
		if (strcmp(key, "mcpServers") != 0)
			warn(&p, "%s: unknown key \"%.64s\" ignored", path, key);
	servers = json_object_get(root, "mcpServers");
	if (!servers) {
		rc = fail(&p, NULL, "has no \"mcpServers\" object");
		goto out;
	}
	if (!json_is_object(servers)) {
		rc = fail(&p, NULL, "mcpServers must be an object of servers by name");
		goto out;
	}
	if (json_object_size(servers) > VEX_MCP_SERVERS_MAX) {
		rc = fail(&p, NULL, "at most %d servers", VEX_MCP_SERVERS_MAX);
		goto out;
	}
	c.servers = calloc(json_object_size(servers) + 1, sizeof(*c.servers));
	if (!c.servers) {
		rc = VEX_ENOMEM;
		goto out;
	}
	json_object_foreach(servers, key, v) {
		if (!vex_mcp_name_valid(key)) {
			rc = fail(&p, NULL, "server name \"%.64s\" must match [A-Za-z0-9_-]{1,64}", key);
			goto out;
		}
		p.server = key;
		rc = parse_server(&p, key, v, &c.servers[c.n]);
		p.server = NULL;
		if (rc < 0) {
			server_release(&c.servers[c.n]);
			goto out;
		}
		if (rc == 0)
			c.n++;
	}
	*ret = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
out:
	json_decref(root);
	vex_mcp_conf_release(&c);
	return rc;
}

int vex_mcp_conf_load(const char *path, struct vex_mcp_conf *ret, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = vex_conf_read_file(path, VEX_MCP_FILE_MAX, &buf, &len, err, errlen);
	if (rc == VEX_ENOTFOUND) {
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	if (rc == 0)
		rc = vex_mcp_conf_parse(path, buf, len, ret, err, errlen);
	free(buf);
	return rc;
}
