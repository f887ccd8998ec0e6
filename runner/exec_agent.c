/* exec_agent.c - agent jobs: the model loop over an OpenAI-compatible endpoint, tool calls, shadow review; the builtin model "echo". */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/schema.h"
#include "core/tools.h"
#include "runner/browser.h"
#include "runner/exec_agent.h"
#include "runner/exec_tool.h"
#include "runner/llm.h"

int64_t vex_count_words(const char *s)
{
	int64_t n = 0;
	int in_word = 0;

	if (!s)
		return 0;
	for (; *s; s++) {
		if (isspace((unsigned char)*s))
			in_word = 0;
		else if (!in_word) {
			in_word = 1;
			n++;
		}
	}
	return n;
}

/* The agent result contract: {"response":string,"success":bool,"error":null|string}. */
static int set_result(struct vex_job *out, const char *response, const char *error)
{
	json_t *v = json_pack("{s:s,s:b,s:o}", "response", response, "success", error == NULL, "error",
			      error ? json_string(error) : json_null());
	char *dump = v ? vex_json_dump(v) : NULL;

	json_decref(v);
	if (!dump)
		return VEX_ENOMEM;
	free(out->result_json);
	out->result_json = dump;
	return 0;
}

/* Fails the job with "code"/"message" and mirrors the message in the result's "error". */
static int agent_fail(struct vex_job *out, const char *code, const char *message)
{
	int rc = set_result(out, "", message);

	if (rc < 0)
		return rc;
	return vex_exec_fail(out, code, message);
}

/* The job input {"prompt":...,"context_id":...}; the prompt is borrowed from *ret_input. */
static int load_prompt(const struct vex_job *job, json_t **ret_input, const char **ret_prompt)
{
	json_t *in = job->input_json ? json_loads(job->input_json, 0, NULL) : NULL;
	json_t *p = json_is_object(in) ? json_object_get(in, "prompt") : NULL;

	if (!json_is_string(p)) {
		json_decref(in);
		return VEX_EINVAL;
	}
	*ret_input = in;
	*ret_prompt = json_string_value(p);
	return 0;
}

/* The builtin deterministic model: "Echo: <prompt>", words as tokens, one step. */
static int run_echo(struct vex_exec_ctx *ctx, const struct vex_agent *agent, const char *prompt, struct vex_job *out)
{
	char *response = NULL;
	size_t len;
	int rc;

	if (vex_exec_check(ctx) != VEX_STOP_NONE) {
		rc = VEX_ESTATE;
		goto out;
	}
	len = strlen(prompt) + sizeof("Echo: ");
	response = malloc(len);
	if (!response) {
		rc = VEX_ENOMEM;
		goto out;
	}
	snprintf(response, len, "Echo: %s", prompt);
	rc = set_result(out, response, NULL);
	if (rc < 0)
		goto out;
	out->final_model = strdup(VEX_MODEL_ECHO);
	if (!out->final_model) {
		rc = VEX_ENOMEM;
		goto out;
	}
	out->tokens_in = vex_count_words(agent->role) + vex_count_words(prompt);
	out->tokens_out = vex_count_words(response);
	out->steps = 1;
	out->status = VEX_JOB_COMPLETED;
	rc = 0;
out:
	free(response);
	return rc;
}

/* ---- the tools offered to the model ---- */

/* One tool offered as a function; strings owned. */
struct agent_tool {
	char *fn;     /* the function name the model sees */
	char *name;   /* the tool's full name (what vex_exec_tool runs) */
	char *schema; /* its input schema text */
};

struct agent_tools {
	struct agent_tool *items;
	size_t n, cap;
	json_t *functions; /* the request's "tools": [{"type":"function","function":{...}}] */
	struct vex_browser *browser; /* the browser session of an agent with a base_url, or NULL */
	char browser_why[320];       /* why it could not be opened */
};

static void agent_tools_release(struct agent_tools *t)
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

static const struct agent_tool *agent_tool_find(const struct agent_tools *t, const char *fn)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->items[i].fn, fn) == 0)
			return &t->items[i];
	return NULL;
}

/* Offer "info" (a name that cannot be a function name, or a repeated one, is left out, logged). */
static int agent_tools_add(struct agent_tools *t, const struct vex_tool_info *info)
{
	char fn[VEX_AGENT_FN_MAX + 2];
	struct agent_tool *it;
	json_t *schema = NULL, *def = NULL;
	int rc;

	if (function_name(info->name, fn, sizeof(fn)) < 0) {
		vex_log(VEX_LOG_WARN, "tool not offered to the model: its name cannot be a function name", "tool",
			info->name, NULL);
		return 0;
	}
	if (agent_tool_find(t, fn))
		return 0;
	rc = VEX_ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct agent_tool *n = realloc(t->items, cap * sizeof(*n));

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
static int agent_browser_tools(struct vex_exec_ctx *ctx, const struct vex_agent *agent, struct agent_tools *t)
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
static int agent_tools_load(struct vex_exec_ctx *ctx, const struct vex_agent *agent, struct agent_tools *t)
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
static int run_browser_call(struct vex_exec_ctx *ctx, const struct agent_tools *t, const struct vex_llm_call *call,
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
static int run_call(struct vex_exec_ctx *ctx, const struct agent_tools *t, const struct vex_llm_call *call,
		    char **ret)
{
	const struct agent_tool *tool = agent_tool_find(t, call->name);
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

/* ---- the loop ---- */

static const char review_prompt[] =
	"You review the answer another agent gave to a task. Check whether the answer is correct and "
	"fulfils the task. Reply with exactly one JSON object and nothing else: "
	"{\"verified\": true or false, \"confidence\": a number from 0 to 1, \"notes\": \"one short sentence\"}.";

/* What the loop found out; strings owned. */
struct loop_state {
	char *response;
	int final;          /* a final answer arrived */
	int reviewed;       /* the shadow review answered */
	int verified;
	double confidence;
	char *review_notes;
};

static void report(struct vex_exec_ctx *ctx, int step, int total, const char *message)
{
	struct vex_progress p = { 0 };
	char s[32];

	snprintf(s, sizeof(s), "step %d", step);
	p.current_step = s;
	p.total_steps = total;
	p.percentage = total > 0 ? (double)((step * 10000 + total / 2) / total) / 100.0 : 0;
	p.message = (char *)message;
	ctx->progress(ctx, &p);
}

static int add_message(json_t *messages, const char *role, const char *content)
{
	return json_array_append_new(messages, json_pack("{s:s, s:s}", "role", role, "content", content)) ?
		VEX_ENOMEM : 0;
}

static void add_usage(struct vex_job *out, const struct vex_llm_reply *r)
{
	out->tokens_in += r->tokens_in;
	out->tokens_out += r->tokens_out;
}

static int set_final_model(struct vex_job *out, const char *model)
{
	char *m = strdup(model);

	if (!m)
		return VEX_ENOMEM;
	free(out->final_model);
	out->final_model = m;
	return 0;
}

/* The first JSON object in "s" (a reply may wrap it in prose or a code fence); NULL when none. */
static json_t *first_object(const char *s)
{
	const char *p;

	for (p = s ? strchr(s, '{') : NULL; p; p = strchr(p + 1, '{')) {
		json_t *v = json_loads(p, JSON_DISABLE_EOF_CHECK, NULL);

		if (json_is_object(v))
			return v;
		json_decref(v);
	}
	return NULL;
}

/* The shadow review: one more model call, no tools. A failed review is noted, not fatal. */
static int review(struct vex_exec_ctx *ctx, const char *model, const struct vex_agent *agent, const char *prompt,
		  struct vex_job *out, struct loop_state *st)
{
	struct vex_llm_reply r = { 0 };
	json_t *messages = json_array(), *v = NULL, *x;
	char err[VEX_LLM_ERR_MAX], *task = NULL;
	size_t n;
	int rc = VEX_ENOMEM;

	n = strlen(agent->role) + strlen(prompt) + strlen(st->response) + 100;
	task = malloc(n);
	if (!messages || !task)
		goto out;
	snprintf(task, n, "The agent's role:\n%s\n\nThe task:\n%s\n\nThe agent's answer:\n%s", agent->role, prompt,
		 st->response);
	if (add_message(messages, "system", review_prompt) || add_message(messages, "user", task))
		goto out;
	rc = vex_llm_chat(ctx, model, messages, NULL, &r, err, sizeof(err));
	if (rc == VEX_ESTATE || rc == VEX_ENOMEM)
		goto out;
	st->reviewed = 1;
	if (rc == VEX_EIO) {
		st->review_notes = strdup(err);
		rc = st->review_notes ? 0 : VEX_ENOMEM;
		goto out;
	}
	add_usage(out, &r);
	v = first_object(r.content);
	x = json_object_get(v, "verified");
	st->verified = json_is_true(x);
	x = json_object_get(v, "confidence");
	st->confidence = json_is_number(x) ? json_number_value(x) : 0.0;
	if (st->confidence < 0.0 || st->confidence != st->confidence)
		st->confidence = 0.0;
	if (st->confidence > 1.0)
		st->confidence = 1.0;
	x = json_object_get(v, "notes");
	st->review_notes = strdup(json_is_string(x) ? json_string_value(x) : v ? "" :
				  "the review did not answer with a JSON object");
	rc = st->review_notes ? 0 : VEX_ENOMEM;
out:
	vex_llm_reply_release(&r);
	json_decref(v);
	json_decref(messages);
	free(task);
	return rc;
}

/* {"response","success","error"} plus, after a shadow review, "verified", "confidence", "review_notes". */
static int set_loop_result(struct vex_job *out, const struct loop_state *st, const char *error)
{
	json_t *v = json_pack("{s:s, s:b, s:o}", "response", st->response ? st->response : "", "success",
			      error == NULL, "error", error ? json_string(error) : json_null());
	char *dump = NULL;
	int rc = VEX_ENOMEM;

	if (!v)
		goto out;
	if (st->reviewed &&
	    (json_object_set_new(v, "verified", json_boolean(st->verified)) ||
	     json_object_set_new(v, "confidence", json_real(st->confidence)) ||
	     json_object_set_new(v, "review_notes", json_string(st->review_notes ? st->review_notes : ""))))
		goto out;
	dump = vex_json_dump(v);
	if (!dump)
		goto out;
	free(out->result_json);
	out->result_json = dump;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

/*
 * The agent loop (docs/agents.md). A round is one model call; out->steps counts rounds (the review
 * call is not a round but its tokens count). Tool calls of the last allowed round are not run:
 * nothing would read their results.
 */
static int run_loop(struct vex_exec_ctx *ctx, const struct vex_agent *agent, const char *model, const char *prompt,
		    struct vex_job *out)
{
	struct agent_tools tools = { 0 };
	struct loop_state st = { 0 };
	struct vex_llm_reply r = { 0 };
	json_t *messages = json_array();
	char err[VEX_LLM_ERR_MAX], msg[300];
	int depth = agent->max_depth > 0 ? agent->max_depth : VEX_AGENT_DEPTH_DEFAULT;
	int round, rc = VEX_ENOMEM;
	size_t i;

	if (!messages || add_message(messages, "system", agent->role) || add_message(messages, "user", prompt))
		goto out;
	rc = agent_tools_load(ctx, agent, &tools);
	if ((rc == VEX_EIO || rc == VEX_EINVAL) && tools.browser_why[0]) {
		rc = set_loop_result(out, &st, tools.browser_why);
		if (rc == 0)
			rc = vex_exec_fail(out, "BROWSER_UNAVAILABLE", tools.browser_why);
		goto out;
	}
	if (rc < 0)
		goto out;
	for (round = 1; round <= depth; round++) {
		report(ctx, round, depth, "calling the model");
		vex_llm_reply_release(&r);
		rc = vex_llm_chat(ctx, model, messages, tools.functions, &r, err, sizeof(err));
		if (rc == VEX_EIO) {
			rc = set_loop_result(out, &st, err);
			if (rc == 0)
				rc = vex_exec_fail(out, "MODEL_ERROR", err);
			goto out;
		}
		if (rc < 0)
			goto out;
		out->steps = round;
		add_usage(out, &r);
		rc = set_final_model(out, r.model ? r.model : model);
		if (rc < 0)
			goto out;
		free(st.response);
		st.response = strdup(r.content ? r.content : "");
		if (!st.response) {
			rc = VEX_ENOMEM;
			goto out;
		}
		if (r.ncalls == 0) {
			st.final = 1;
			report(ctx, round, depth, "model answered");
			break;
		}
		if (round == depth)
			break;
		if (json_array_append(messages, r.message)) {
			rc = VEX_ENOMEM;
			goto out;
		}
		for (i = 0; i < r.ncalls; i++) {
			const struct agent_tool *t = agent_tool_find(&tools, r.calls[i].name);
			char *text = NULL;

			snprintf(msg, sizeof(msg), "calling tool %.200s", t ? t->name : r.calls[i].name);
			report(ctx, round, depth, msg);
			rc = run_call(ctx, &tools, &r.calls[i], &text);
			if (rc < 0)
				goto out;
			rc = json_array_append_new(messages, json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id",
								       r.calls[i].id, "content", text)) ? VEX_ENOMEM : 0;
			free(text);
			if (rc < 0)
				goto out;
		}
	}
	if (st.final && agent->spawn_shadow) {
		report(ctx, out->steps, depth, "shadow review");
		rc = review(ctx, model, agent, prompt, out, &st);
		if (rc < 0)
			goto out;
	}
	if (st.final) {
		rc = set_loop_result(out, &st, NULL);
	} else {
		snprintf(msg, sizeof(msg), "max_depth (%d) reached without a final answer", depth);
		rc = set_loop_result(out, &st, msg);
	}
	if (rc < 0)
		goto out;
	out->status = VEX_JOB_COMPLETED;
	rc = 0;
out:
	if (rc == VEX_ESTATE && ctx->stopped == VEX_STOP_TIMEOUT) {
		int64_t ms = ctx->job->timeout_ms > 0 ? ctx->job->timeout_ms : ctx->cfg->default_timeout_ms;

		snprintf(msg, sizeof(msg), "Agent execution exceeded %lldms timeout", (long long)ms);
		vex_exec_fail(out, "EXECUTION_TIMEOUT", msg);
	}
	if (tools.browser) {
		out->browser_steps = vex_browser_steps(tools.browser);
		out->browser_seconds = vex_browser_close(tools.browser);
		tools.browser = NULL;
	}
	vex_llm_reply_release(&r);
	agent_tools_release(&tools);
	json_decref(messages);
	free(st.response);
	free(st.review_notes);
	return rc;
}

int vex_exec_agent(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	const struct vex_config *cfg = ctx->cfg;
	struct vex_agent *agent = NULL;
	json_t *input = NULL;
	const char *prompt, *model;
	char msg[300];
	int rc;

	rc = load_prompt(ctx->job, &input, &prompt);
	if (rc < 0) {
		rc = agent_fail(out, "INVALID_INPUT", "the job input has no prompt");
		goto out;
	}
	rc = vex_store_agent_get(ctx->store, ctx->job->agent_id, NULL, 0, &agent);
	if (rc == VEX_ENOTFOUND) {
		rc = agent_fail(out, "AGENT_NOT_FOUND", "agent not found (deleted before the job ran)");
		goto out;
	}
	if (rc < 0)
		goto out;
	model = agent->model && agent->model[0] ? agent->model : NULL;
	if (model && strcmp(model, VEX_MODEL_ECHO) == 0) {
		rc = run_echo(ctx, agent, prompt, out);
		goto out;
	}
	if (!cfg->model_base_url || !cfg->model_base_url[0]) {
		if (!model) {
			rc = run_echo(ctx, agent, prompt, out);
			goto out;
		}
		snprintf(msg, sizeof(msg), "model \"%.100s\" is not available (no [model] base_url is configured)",
			 model);
		rc = agent_fail(out, "MODEL_UNAVAILABLE", msg);
		goto out;
	}
	if (!model)
		model = cfg->model_name;
	if (!model || !model[0]) {
		rc = agent_fail(out, "MODEL_UNAVAILABLE",
				"no model named: set [model] model in vex.conf or give the agent one");
		goto out;
	}
	rc = run_loop(ctx, agent, model, prompt, out);
out:
	vex_agent_free(agent);
	json_decref(input);
	return rc;
}
