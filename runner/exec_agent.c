/* exec_agent.c - agent jobs on the builtin deterministic model "echo". */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "runner/exec_agent.h"

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

int vex_exec_agent(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	struct vex_agent *agent = NULL;
	json_t *input = NULL;
	const char *prompt;
	char *response = NULL;
	char msg[200];
	size_t len;
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
	if (agent->model && agent->model[0] && strcmp(agent->model, VEX_MODEL_ECHO) != 0) {
		snprintf(msg, sizeof(msg), "model \"%.100s\" is not available", agent->model);
		rc = agent_fail(out, "MODEL_UNAVAILABLE", msg);
		goto out;
	}
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
	vex_agent_free(agent);
	json_decref(input);
	return rc;
}
