/* commands.c - operator command tools (stub: none are loaded yet). */
#include "runner/commands.h"

#include "core/err.h"

int vex_commands_load(const struct vex_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (errlen)
		err[0] = '\0';
	return 0;
}

void vex_commands_free(void)
{
}

int vex_commands_publish(struct vex_store *s)
{
	(void)s;
	return 0;
}

int vex_commands_has(const char *name)
{
	(void)name;
	return 0;
}

int vex_exec_command(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	(void)ctx;
	return vex_exec_fail(out, "TOOL_NOT_FOUND", "no such command tool");
}
