/* exec_command.h - one run of an operator command tool: fork, sandbox, execve, pipes, kill, clean up. */
#ifndef VEX_RUNNER_EXEC_COMMAND_H
#define VEX_RUNNER_EXEC_COMMAND_H

#include "runner/cmdconf.h"
#include "runner/exec.h"

/* How much of the tool's stderr is kept for error messages (the last bytes). */
#define VEX_CMD_STDERR_TAIL 4096
/* A progress line on fd 3 longer than this is ignored. */
#define VEX_CMD_PROGRESS_LINE_MAX 4096

/*
 * Runs "tool" (borrowed) for ctx->job with the executor contract of exec.h. The process gets
 * its own process group, a private working directory under cfg->tools_work_dir (also HOME and
 * TMPDIR, removed afterwards), the tool's rlimits and environment, the job's arguments on stdin,
 * fd 3 for progress lines; stdout is capped at cfg->tools_output_max. Outcomes:
 *   exit 0 and JSON on stdout     -> completed, result = that JSON;
 *   exit 0 and anything else      -> failed INVALID_OUTPUT;
 *   stdout over the cap           -> failed OUTPUT_TOO_LARGE (the group is killed at once);
 *   exit != 0, a signal, no start -> failed EXECUTION_ERROR (details: exit_code, signal, stderr);
 *   a stop (ctx) or the tool's own timeout_ms -> SIGTERM to the group, SIGKILL after
 *     cfg->tools_kill_grace_ms, VEX_ESTATE (ctx->stopped; VEX_STOP_TIMEOUT for the tool's own).
 * Whatever the outcome, the whole process group gets SIGKILL once the tool's process has ended.
 * Needs SIGPIPE ignored in the process (vex-runner does).
 */
int vex_exec_command_run(struct vex_exec_ctx *ctx, const struct vex_cmd_tool *tool, struct vex_job *out);

#endif
