/* exec_agent.h - agent jobs: the model loop (docs/agents.md) and the builtin model "echo". */
#ifndef VEX_RUNNER_EXEC_AGENT_H
#define VEX_RUNNER_EXEC_AGENT_H

#include "runner/exec.h"

/* The builtin model: agents naming it, and agents naming none while no [model] base_url is set. */
#define VEX_MODEL_ECHO "echo"

#define VEX_AGENT_FN_MAX 64                     /* bytes of a function name offered to the model */
#define VEX_AGENT_TOOL_RESULT_MAX (64 * 1024)   /* bytes of a tool result handed back to the model */

/*
 * Runs the agent job ctx->job with the executor contract of exec.h. Loads the agent
 * (ctx->store); a deleted or missing agent fails with AGENT_NOT_FOUND.
 * The model "echo" (also used when the agent names none and no [model] base_url is set) answers
 * "Echo: <prompt>"; tokens_in = words of role + prompt, tokens_out = words of the response,
 * final_model "echo", steps 1. Without a base_url any other model fails MODEL_UNAVAILABLE.
 * With one, the agent's model (else [model] model) runs the loop of docs/agents.md: system = the
 * role, user = the prompt, the agent's tools as functions ("server.tool" offered as
 * "server__tool"), tool calls through vex_exec_tool, at most max_depth rounds (model calls; steps
 * counts them), an optional shadow review. An endpoint failure fails MODEL_ERROR; a job timeout
 * records EXECUTION_TIMEOUT "Agent execution exceeded <N>ms timeout".
 * result_json is {"response":string,"success":bool,"error":null|string} plus, after a shadow
 * review, "verified":bool, "confidence":0..1, "review_notes":string.
 */
int vex_exec_agent(struct vex_exec_ctx *ctx, struct vex_job *out);

/* Whitespace-separated words in "s" (NULL counts 0). */
int64_t vex_count_words(const char *s);

#endif
