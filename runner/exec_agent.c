/* exec_agent.c - agent jobs: the model loop over an OpenAI-compatible endpoint, tool calls, shadow review; the builtin model "echo". */
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
	struct vex_agent_tools tools = { 0 };
	struct loop_state st = { 0 };
	struct vex_llm_reply r = { 0 };
	json_t *messages = json_array();
	char err[VEX_LLM_ERR_MAX], msg[300];
	int depth = agent->max_depth > 0 ? agent->max_depth : VEX_AGENT_DEPTH_DEFAULT;
	int round, rc = VEX_ENOMEM;
	size_t i;

	if (!messages || add_message(messages, "system", agent->role) || add_message(messages, "user", prompt))
		goto out;
	rc = vex_agent_tools_load(ctx, agent, &tools);
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
			const struct vex_agent_tool *t = vex_agent_tools_find(&tools, r.calls[i].name);
			char *text = NULL;

			snprintf(msg, sizeof(msg), "calling tool %.200s", t ? t->name : r.calls[i].name);
			report(ctx, round, depth, msg);
			rc = vex_agent_tools_call(ctx, &tools, &r.calls[i], &text);
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
	vex_agent_tools_release(&tools);
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
