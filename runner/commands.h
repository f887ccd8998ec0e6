/* commands.h - operator command tools: loaded from [tools] commands_file, published to the catalog, executed. */
#ifndef VEX_RUNNER_COMMANDS_H
#define VEX_RUNNER_COMMANDS_H

#include <stddef.h>

#include "core/base/config.h"
#include "core/store/store.h"
#include "runner/exec.h"

/* Load the command tools of cfg->tools_commands_file (an absent file: none). Process-wide; call once
 * before the pool starts. 0, or VEX_EINVAL with an explanation (file, tool, field) in "err". A tool
 * whose input schema holds a pattern that does not compile is left out, logged (WARN) with why. */
int vex_commands_load(const struct vex_config *cfg, char *err, size_t errlen);

/* How many tools the last load left out (--check-config fails when any was). */
size_t vex_commands_left_out(void);

/* Free what vex_commands_load loaded. */
void vex_commands_free(void);

/* Publish the loaded tools to the catalog (source "command"), replacing the previous set. */
int vex_commands_publish(struct vex_store *s);

/* 1 when "name" is a loaded command tool, else 0. */
int vex_commands_has(const char *name);

/* Run the command tool ctx->job->tool with the executor contract of exec.h. */
int vex_exec_command(struct vex_exec_ctx *ctx, struct vex_job *out);

#endif
