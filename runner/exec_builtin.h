/* exec_builtin.h - the builtin tools echo, sleep and fail. */
#ifndef VEX_RUNNER_EXEC_BUILTIN_H
#define VEX_RUNNER_EXEC_BUILTIN_H

#include "runner/exec.h"

/*
 * Runs the tool job ctx->job (job->tool, arguments in job->input_json) with the executor
 * contract of exec.h:
 *   echo  -> completed, result = the arguments object;
 *   sleep {"ms":N 0..3600000 (default 1000),"steps":K 1..1000 (default 1)} -> K equal slices with progress
 *         after each (current_step "i", total_steps K, percentage 100*i/K),
 *         result {"slept_ms":N,"steps":K};
 *   fail  -> failed, error {code: arguments.code or "TOOL_FAILED",
 *         message: arguments.message or "the fail tool always fails"};
 *   an unknown tool -> failed TOOL_NOT_FOUND; bad arguments -> failed INVALID_ARGUMENTS.
 */
int vex_exec_builtin(struct vex_exec_ctx *ctx, struct vex_job *out);

#endif
