/* agent_tools.c - the tools an agent offers the model as functions, and running one call as a synthetic tool job. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/tools/schema.h"
#include "core/tools/tools.h"
#include "runner/agent_tools.h"
#include "runner/browser.h"
#include "runner/exec_agent.h"
#include "runner/exec_tool.h"
#include "runner/llm.h"

void vex_agent_tools_release(struct vex_agent_tools *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->items[i].fn);
		free(t->items[i].name);
		free(t->items[i].schema);
	}
	free(t->items);
	json_decref(t->functions);
	vex_browser_close(t->browser);
	memset(t, 0, sizeof(*t));
}

/*
 * Function names must match ^[a-zA-Z0-9_-]{1,64}$: "server.tool" is offered as "server__tool".
 * 0 with "fn" filled, VEX_EINVAL for a name that cannot be offered.
 */
static int function_name(const char *name, char *fn, size_t fnlen)
{
	size_t j = 0;

	for (; *name; name++) {
		if (*name == '.') {
			if (j + 2 >= fnlen)
				return VEX_EINVAL;
			fn[j++] = '_';
			fn[j++] = '_';
		} else if (isalnum((unsigned char)*name) || *name == '_' || *name == '-') {
			if (j + 1 >= fnlen)
				return VEX_EINVAL;
			fn[j++] = *name;
		} else {
			return VEX_EINVAL;
		}
	}
	fn[j] = '\0';
	return j > 0 && j <= VEX_AGENT_FN_MAX ? 0 : VEX_EINVAL;
}

const struct vex_agent_tool *vex_agent_tools_find(const struct vex_agent_tools *t, const char *fn)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->items[i].fn, fn) == 0)
			return &t->items[i];
	return NULL;
}

/* Offer "info" (a name that cannot be a function name, or a repeated one, is left out, logged). */
static int agent_tools_add(struct vex_agent_tools *t, const struct vex_tool_info *info)
{
	char fn[VEX_AGENT_FN_MAX + 2];
	struct vex_agent_tool *it;
	json_t *schema = NULL, *def = NULL;
	int rc;

	if (function_name(info->name, fn, sizeof(fn)) < 0) {
		vex_log(VEX_LOG_WARN, "tool not offered to the model: its name cannot be a function name", "tool",
			info->name, NULL);
		return 0;
	}
	if (vex_agent_tools_find(t, fn))
		return 0;
	rc = VEX_ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct vex_agent_tool *n = realloc(t->items, cap * sizeof(*n));

		if (!n)
			goto out;
		t->items = n;
		t->cap = cap;
	}
	if (!t->functions && !(t->functions = json_array()))
		goto out;
	schema = vex_tool_schema(info);
	if (!schema)
		goto out;
	def = json_pack("{s:s, s:{s:s, s:s, s:O}}", "type", "function", "function", "name", fn, "description",
			info->description ? info->description : "", "parameters", schema);
	if (!def)
		goto out;
	it = &t->items[t->n];
	memset(it, 0, sizeof(*it));
	it->fn = strdup(fn);
	it->name = strdup(info->name);
	it->schema = strdup(info->input_schema_json ? info->input_schema_json : "{}");
	if (!it->fn || !it->name || !it->schema || json_array_append(t->functions, def)) {
		free(it->fn);
		free(it->name);
		free(it->schema);
		goto out;
	}
	t->n++;
	rc = 0;
out:
	json_decref(def);
	json_decref(schema);
	return rc;
}

/*
 * Browser agents: an agent with a base_url gets a browser session (runner/browser.c) limited to
 * that origin, and its tools as "browser__<tool>" functions. VEX_EIO or VEX_EINVAL with
 * t->browser_why set when no session could be opened.
 */
static int agent_browser_tools(struct vex_exec_ctx *ctx, const struct vex_agent *agent, struct vex_agent_tools *t)
{
	int rc;

	if (!agent->base_url || !agent->base_url[0])
		return 0;
	rc = vex_browser_open(ctx->cfg, agent->base_url, ctx, &t->browser, t->browser_why, sizeof(t->browser_why));
	if (rc < 0)
		return rc;
	if (!t->functions && !(t->functions = json_array()))
		return VEX_ENOMEM;
	return vex_browser_functions(t->browser, t->functions);
}

/*
 * The agent's allowed tools (agent->tools_json, names resolved like tool jobs), or every tool, in
 * both cases only those the job's owner may run (grants, as the owner was recorded at submit).
 */
int vex_agent_tools_load(struct vex_exec_ctx *ctx, const struct vex_agent *agent, struct vex_agent_tools *t)
{
	struct vex_tool_list all = { 0 };
	struct vex_principal who = { .role = ctx->job->owner_admin ? VEX_ROLE_ADMIN : VEX_ROLE_USER,
				     .plan = ctx->job->plan };
	json_t *names = NULL, *v;
	size_t i;
	int rc = 0;

	snprintf(who.sub, sizeof(who.sub), "%s", ctx->job->owner);
	if (agent->tools_json) {
		names = json_loads(agent->tools_json, 0, NULL);
		json_array_foreach(names, i, v) {
			struct vex_tool_match m = { 0 };
			struct vex_field_error e;

			if (!json_is_string(v))
				continue;
			rc = vex_tool_resolve(ctx->store, &who, json_string_value(v), &m, &e);
			if (rc == VEX_ENOTFOUND || rc == VEX_EINVAL) {
				vex_log(VEX_LOG_WARN, "agent tool not offered: not found, not granted or ambiguous", "tool",
					json_string_value(v), NULL);
				rc = 0;
				continue;
			}
			if (rc == 0)
				rc = agent_tools_add(t, &m.info);
			vex_tool_match_release(&m);
			if (rc < 0)
				goto out;
		}
	} else {
		rc = vex_tools_list(ctx->store, &who, &all);
		if (rc < 0)
			goto out;
		for (i = 0; i < all.n && rc == 0; i++)
			rc = agent_tools_add(t, &all.items[i]);
		if (rc < 0)
			goto out;
	}
	rc = agent_browser_tools(ctx, agent, t);
out:
	vex_tool_list_release(&all);
	json_decref(names);
	return rc;
}

/* ---- one tool call ---- */

static void sub_progress(struct vex_exec_ctx *sub, const struct vex_progress *p)
{
	(void)sub;
	(void)p; /* the agent's own steps are its progress */
}

static enum vex_stop sub_should_stop(struct vex_exec_ctx *sub)
{
	struct vex_exec_ctx *parent = sub->opaque;

	return vex_exec_check(parent);
}

/* {"error":{"code","message"}} as text into *ret. */
static int tool_error(const char *code, const char *message, char **ret)
{
	json_t *v = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
	char *d = v ? vex_json_dump(v) : NULL;

	json_decref(v);
	if (!d)
		return VEX_ENOMEM;
	*ret = d;
	return 0;
}

/* Cut "s" at VEX_AGENT_TOOL_RESULT_MAX bytes (on a UTF-8 boundary) and say so. */
static int cap_text(char **s)
{
	size_t len = strlen(*s), keep = VEX_AGENT_TOOL_RESULT_MAX;
	char note[80], *n;

	if (len <= keep)
		return 0;
	while (keep > 0 && ((unsigned char)(*s)[keep] & 0xC0) == 0x80)
		keep--;
	snprintf(note, sizeof(note), "... [truncated: %zu more bytes]", len - keep);
	n = malloc(keep + strlen(note) + 1);
	if (!n)
		return VEX_ENOMEM;
	memcpy(n, *s, keep);
	memcpy(n + keep, note, strlen(note) + 1);
	free(*s);
	*s = n;
	return 0;
}

/* A browser function call: what the browser said, or {"error":...} when the tool failed. */
static int run_browser_call(struct vex_exec_ctx *ctx, const struct vex_agent_tools *t, const struct vex_llm_call *call,
			    char **ret)
{
	char why[400], *text = NULL;
	int is_error = 0, rc;

	rc = vex_browser_call(t->browser, ctx, call->name, call->arguments[0] ? call->arguments : NULL, &text,
			      &is_error, why, sizeof(why));
	if (rc == VEX_ESTATE || rc == VEX_ENOMEM)
		return rc;
	if (rc == VEX_EINVAL)
		rc = tool_error("INVALID_ARGUMENTS", why, ret);
	else if (rc < 0)
		rc = tool_error("EXECUTION_ERROR", why[0] ? why : vex_strerror(rc), ret);
	else if (is_error)
		rc = tool_error("EXECUTION_ERROR", text, ret);
	else {
		*ret = text;
		text = NULL;
	}
	free(text);
	if (rc == 0)
		rc = cap_text(ret);
	return rc;
}

/*
 * Run the tool call "call" through the tool executors as a synthetic tool job (same stop checks and
 * deadline) and write what goes back to the model into *ret: the result JSON, or
 * {"error":{"code","message"}} for an unknown function, invalid arguments or a failed tool.
 * 0, VEX_ESTATE (the job must stop; ctx->stopped says why), VEX_ENOMEM.
 */
int vex_agent_tools_call(struct vex_exec_ctx *ctx, const struct vex_agent_tools *t, const struct vex_llm_call *call,
			 char **ret)
{
	const struct vex_agent_tool *tool = vex_agent_tools_find(t, call->name);
	struct vex_exec_ctx sub = { 0 };
	struct vex_job job, *out = NULL;
	struct vex_field_error e;
	json_t *args = NULL;
	char msg[400], *input = NULL, *text = NULL;
	int rc;

	if (!tool && vex_browser_has(t->browser, call->name))
		return run_browser_call(ctx, t, call, ret);
	if (!tool) {
		snprintf(msg, sizeof(msg), "no tool called %.200s is offered", call->name);
		rc = tool_error("TOOL_NOT_FOUND", msg, &text);
		goto done;
	}
	args = call->arguments[0] ? json_loads(call->arguments, 0, NULL) : json_object();
	if (!json_is_object(args)) {
		rc = tool_error("INVALID_ARGUMENTS", "the arguments are not a JSON object", &text);
		goto done;
	}
	rc = vex_schema_check_text(tool->schema, args, &e);
	if (rc == VEX_ENOMEM)
		goto out;
	if (rc < 0) {
		rc = tool_error("INVALID_ARGUMENTS",
				rc == VEX_EINVAL ? e.message : "the tool's input schema cannot be checked", &text);
		goto done;
	}
	input = vex_json_dump(args);
	out = vex_job_new();
	if (!input || !out) {
		rc = VEX_ENOMEM;
		goto out;
	}
	job = *ctx->job; /* borrowed pointers: never freed here */
	job.kind = VEX_JOB_TOOL;
	job.agent_id[0] = '\0';
	job.tool = tool->name;
	job.input_json = input;
	sub.cfg = ctx->cfg;
	sub.store = ctx->store;
	sub.job = &job;
	sub.deadline_mono_us = ctx->deadline_mono_us;
	sub.progress = sub_progress;
	sub.should_stop = sub_should_stop;
	sub.opaque = ctx;
	rc = vex_exec_tool(&sub, out);
	if (rc == VEX_ESTATE && vex_exec_check(ctx) != VEX_STOP_NONE)
		goto out;
	if (rc == VEX_ENOMEM)
		goto out;
	if (rc == VEX_ESTATE) {
		/* the tool's own, shorter limit: the model hears of it, the job goes on */
		rc = tool_error("EXECUTION_TIMEOUT", out->error_message ? out->error_message : "the tool timed out",
				&text);
	} else if (rc < 0) {
		snprintf(msg, sizeof(msg), "internal error: %s", vex_strerror(rc));
		rc = tool_error("EXECUTION_ERROR", msg, &text);
	} else if (out->status == VEX_JOB_COMPLETED) {
		text = strdup(out->result_json ? out->result_json : "null");
		rc = text ? 0 : VEX_ENOMEM;
	} else {
		rc = tool_error(out->error_code ? out->error_code : "EXECUTION_ERROR",
				out->error_message ? out->error_message : "the tool failed", &text);
	}
done:
	if (rc == 0)
		rc = cap_text(&text);
	if (rc == 0) {
		*ret = text;
		text = NULL;
	}
out:
	free(text);
	free(input);
	vex_job_free(out);
	json_decref(args);
	return rc;
}
