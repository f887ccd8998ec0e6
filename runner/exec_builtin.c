/* exec_builtin.c - the builtin tools echo, sleep and fail. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/timeutil.h"
#include "runner/exec_builtin.h"

/* the limits and defaults of the catalog's input schema (core/tools/tools.c) */
#define SLEEP_MS_DEFAULT 1000
#define SLEEP_MS_MAX 3600000
#define SLEEP_STEPS_MAX 1000

/* The job's arguments as an object; NULL input means {}. 0, VEX_EINVAL, VEX_ENOMEM. */
static int load_args(const struct vex_job *job, json_t **ret)
{
	json_t *v;

	if (!job->input_json) {
		v = json_object();
		if (!v)
			return VEX_ENOMEM;
		*ret = v;
		return 0;
	}
	v = json_loads(job->input_json, JSON_DECODE_ANY, NULL);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		return VEX_EINVAL;
	}
	*ret = v;
	return 0;
}

static int run_echo(struct vex_exec_ctx *ctx, json_t *args, struct vex_job *out)
{
	char *dump;

	if (vex_exec_check(ctx) != VEX_STOP_NONE)
		return VEX_ESTATE;
	dump = vex_json_dump(args);
	if (!dump)
		return VEX_ENOMEM;
	out->result_json = dump;
	out->status = VEX_JOB_COMPLETED;
	return 0;
}

/* Reads an optional integer member in [lo, hi]; absent keeps *val. 0 or VEX_EINVAL. */
static int int_arg(json_t *args, const char *key, long long lo, long long hi, long long *val)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return VEX_EINVAL;
	*val = json_integer_value(v);
	return 0;
}

/* Sleeps "ms" in "steps" equal slices, reporting progress after each; the slice ends are
 * computed from the start so that rounding never accumulates. */
static int run_sleep(struct vex_exec_ctx *ctx, json_t *args, struct vex_job *out)
{
	long long ms = SLEEP_MS_DEFAULT, steps = 1, i;
	int64_t start = vex_mono_us();
	json_t *res = NULL;
	char step[24];
	char *dump = NULL;
	int rc;

	if (int_arg(args, "ms", 0, SLEEP_MS_MAX, &ms) < 0) {
		rc = vex_exec_fail(out, "INVALID_ARGUMENTS", "ms must be an integer from 0 to 3600000");
		goto out;
	}
	if (int_arg(args, "steps", 1, SLEEP_STEPS_MAX, &steps) < 0) {
		rc = vex_exec_fail(out, "INVALID_ARGUMENTS", "steps must be an integer from 1 to 1000");
		goto out;
	}
	for (i = 1; i <= steps; i++) {
		struct vex_progress p = { 0 };

		rc = vex_exec_sleep_until(ctx, start + ms * 1000 * i / steps);
		if (rc < 0)
			goto out;
		snprintf(step, sizeof(step), "%lld", i);
		p.current_step = step;
		p.total_steps = (int)steps;
		/* Two decimals: 33.33, not 33.333333333333336, in every dialect. */
		p.percentage = (double)((i * 10000 + steps / 2) / steps) / 100.0;
		ctx->progress(ctx, &p);
	}
	res = json_pack("{s:I,s:I}", "slept_ms", (json_int_t)ms, "steps", (json_int_t)steps);
	if (!res || !(dump = vex_json_dump(res))) {
		rc = VEX_ENOMEM;
		goto out;
	}
	out->result_json = dump;
	dump = NULL;
	out->status = VEX_JOB_COMPLETED;
	rc = 0;
out:
	json_decref(res);
	free(dump);
	return rc;
}

static int run_fail(struct vex_exec_ctx *ctx, json_t *args, struct vex_job *out)
{
	json_t *code = json_object_get(args, "code");
	json_t *msg = json_object_get(args, "message");

	if (vex_exec_check(ctx) != VEX_STOP_NONE)
		return VEX_ESTATE;
	/* only non-empty strings are taken; anything else falls back to the defaults */
	return vex_exec_fail(out,
			     json_is_string(code) && json_string_length(code) > 0 ? json_string_value(code)
										: "TOOL_FAILED",
			     json_is_string(msg) && json_string_length(msg) > 0 ? json_string_value(msg)
										: "the fail tool always fails");
}

int vex_exec_builtin(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	const char *tool = ctx->job->tool ? ctx->job->tool : "";
	json_t *args = NULL;
	char msg[160];
	int rc;

	rc = load_args(ctx->job, &args);
	if (rc == VEX_EINVAL) {
		rc = vex_exec_fail(out, "INVALID_ARGUMENTS", "arguments must be a JSON object");
		goto out;
	}
	if (rc < 0)
		goto out;
	if (strcmp(tool, "echo") == 0)
		rc = run_echo(ctx, args, out);
	else if (strcmp(tool, "sleep") == 0)
		rc = run_sleep(ctx, args, out);
	else if (strcmp(tool, "fail") == 0)
		rc = run_fail(ctx, args, out);
	else {
		snprintf(msg, sizeof(msg), "tool not found: %.100s", tool);
		rc = vex_exec_fail(out, "TOOL_NOT_FOUND", msg);
	}
out:
	json_decref(args);
	return rc;
}
