/* commands.c - operator command tools: the loaded set, its catalog rows, dispatch to exec_command. */
#include "runner/commands.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/cmdconf.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "runner/runas.h"
#include "core/base/timeutil.h"
#include "runner/exec_command.h"

/* Loaded once before the workers start, read-only while they run, freed after they stop. */
static struct vex_cmd_tools loaded;

int vex_commands_load(const struct vex_config *cfg, char *err, size_t errlen)
{
	struct vex_cmd_tools t = { 0 };
	int rc;

	rc = vex_cmd_tools_load(cfg->tools_commands_file, &t, err, errlen);
	if (rc < 0) {
		if (rc == VEX_ENOMEM && errlen)
			snprintf(err, errlen, "%s: out of memory", cfg->tools_commands_file);
		return VEX_EINVAL;
	}
	vex_cmd_tools_release(&loaded);
	loaded = t;
	for (size_t i = 0; i < loaded.nleft_out; i++)
		vex_log(VEX_LOG_WARN, "command tool left out of the catalog: a pattern in its inputSchema does not compile",
			"reason", loaded.left_out[i], NULL);
	return 0;
}

size_t vex_commands_left_out(void)
{
	return loaded.nleft_out;
}

void vex_commands_free(void)
{
	vex_cmd_tools_release(&loaded);
}

int vex_commands_publish(struct vex_store *s)
{
	const struct vex_runas *ra = vex_runas_default();
	struct vex_tool_rows rows = { 0 };
	char source[] = "command", count[24];
	int64_t now = vex_now_us();
	size_t i;
	int rc;

	if (loaded.n) {
		rows.items = calloc(loaded.n, sizeof(*rows.items));
		if (!rows.items)
			return VEX_ENOMEM;
	}
	/* the rows borrow the loaded strings; only the array is ours */
	for (i = 0; i < loaded.n; i++) {
		struct vex_cmd_tool *t = &loaded.items[i];

		rows.items[i].name = t->name;
		rows.items[i].short_name = t->name;
		rows.items[i].server = NULL;
		rows.items[i].source = source;
		rows.items[i].description = t->description;
		rows.items[i].input_schema = t->input_schema;
		rows.items[i].grant = t->grant;
		rows.items[i].updated_at = now;
		if (!t->user && geteuid() == 0 && !(ra && ra->user))
			vex_log(VEX_LOG_WARN, "command tool runs as root ([tools] run_as is empty; set it or \"user\")",
				"tool", t->name, NULL);
	}
	rows.n = loaded.n;
	rc = vex_store_tools_replace(s, "command", NULL, &rows, now);
	free(rows.items);
	if (rc == 0) {
		snprintf(count, sizeof(count), "%zu", loaded.n);
		vex_log(VEX_LOG_INFO, "command tools published", "count", count, NULL);
	}
	return rc;
}

int vex_commands_has(const char *name)
{
	return vex_cmd_tools_find(&loaded, name) != NULL;
}

int vex_exec_command(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	const struct vex_cmd_tool *t = vex_cmd_tools_find(&loaded, ctx->job->tool);

	if (!t)
		return vex_exec_fail(out, "TOOL_NOT_FOUND", "no such command tool");
	return vex_exec_command_run(ctx, t, out);
}
