/* llm.h - the language-model client: one chat completion call to an OpenAI-compatible endpoint
 * ([model] in vex.conf). */
#ifndef VEX_RUNNER_LLM_H
#define VEX_RUNNER_LLM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "runner/exec.h"

#define VEX_LLM_REPLY_MAX (8 * 1024 * 1024) /* bytes of one response body */
#define VEX_LLM_ERR_MAX 512                 /* bytes of an error explanation */

/* One tool call the model asked for. Strings owned. */
struct vex_llm_call {
	char *id;        /* "" when the endpoint gave none */
	char *name;      /* the function name */
	char *arguments; /* the arguments as the model wrote them (a JSON text, maybe invalid) */
};

/* What choices[0] said. Owned by the struct; vex_llm_reply_release frees it. */
struct vex_llm_reply {
	char *content;                /* NULL when the message had none */
	struct vex_llm_call *calls; /* "ncalls" entries */
	size_t ncalls;
	json_t *message;              /* the assistant message to send back in the next request */
	int64_t tokens_in;            /* usage.prompt_tokens (0 when absent) */
	int64_t tokens_out;           /* usage.completion_tokens */
	char *model;                  /* the reply's "model"; NULL when absent */
};
void vex_llm_reply_release(struct vex_llm_reply *r);

/*
 * Parse a chat completion body: choices[0].message {content, tool_calls[{id, function{name,
 * arguments}}]}, usage {prompt_tokens, completion_tokens}, model. 0 with *ret filled (caller
 * releases); VEX_EINVAL with "err" saying what is missing; VEX_ENOMEM.
 */
int vex_llm_reply_parse(const char *body, size_t len, struct vex_llm_reply *ret, char *err, size_t errlen);

/*
 * POST <cfg->model_base_url>/chat/completions {model, messages, tools?, tool_choice "auto",
 * max_tokens?} with "Authorization: Bearer" from the environment variable cfg->model_api_key_env
 * when it is set. "messages" and "tools" (NULL or an empty array: none) are borrowed. Each attempt
 * is limited to cfg->model_timeout_ms; 429, 5xx and network errors (timeouts included) are retried
 * up to cfg->model_retries times with exponential backoff and jitter, or after Retry-After when the
 * endpoint sends one. The caller's stop check (ctx) is asked every 10 ms while waiting.
 *   0            *ret filled (caller releases);
 *   VEX_ESTATE   ctx said stop (ctx->stopped says why);
 *   VEX_EIO      the endpoint failed or answered something else than a chat completion; "err"
 *                explains, for the job's MODEL_ERROR;
 *   VEX_ENOMEM.
 */
int vex_llm_chat(struct vex_exec_ctx *ctx, const char *model, const json_t *messages, const json_t *tools,
		   struct vex_llm_reply *ret, char *err, size_t errlen);

#endif
