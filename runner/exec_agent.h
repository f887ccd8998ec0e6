/* exec_agent.h - agent jobs on the builtin deterministic model "echo". */
#ifndef VEX_RUNNER_EXEC_AGENT_H
#define VEX_RUNNER_EXEC_AGENT_H

#include "runner/exec.h"

/* The model every agent uses until an OpenAI-compatible endpoint is configured. */
#define VEX_MODEL_ECHO "echo"

/*
 * Runs the agent job ctx->job with the executor contract of exec.h. Loads the agent
 * (ctx->store); a deleted or missing agent fails with AGENT_NOT_FOUND. The model "echo"
 * (also used when the agent names none) answers "Echo: <prompt>"; tokens_in = words of
 * role + prompt, tokens_out = words of the response, final_model "echo", steps 1.
 * result_json is {"response":string,"success":bool,"error":null|string}.
 * Any other model fails with MODEL_UNAVAILABLE.
 */
int vex_exec_agent(struct vex_exec_ctx *ctx, struct vex_job *out);

/* Whitespace-separated words in "s" (NULL counts 0). */
int64_t vex_count_words(const char *s);

#endif
