/* exec.c - helpers shared by the executors: stop checks, interruptible sleep, outcomes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "runner/exec.h"

enum vex_stop vex_exec_check(struct vex_exec_ctx *ctx)
{
	enum vex_stop why = ctx->should_stop ? ctx->should_stop(ctx) : VEX_STOP_NONE;

	if (why != VEX_STOP_NONE)
		ctx->stopped = why;
	return why;
}

int vex_exec_sleep_until(struct vex_exec_ctx *ctx, int64_t until_mono_us)
{
	for (;;) {
		int64_t now, left;
		struct timespec ts;

		if (vex_exec_check(ctx) != VEX_STOP_NONE)
			return VEX_ESTATE;
		now = vex_mono_us();
		if (now >= until_mono_us)
			return 0;
		left = until_mono_us - now;
		if (ctx->wait) {
			/* a second at most: a held-back progress report and the deadline are seen by should_stop */
			int64_t until = left > 1000000 ? now + 1000000 : until_mono_us;

			ctx->wait(ctx, until < ctx->deadline_mono_us ? until : ctx->deadline_mono_us);
			continue;
		}
		if (left > VEX_EXEC_STOP_CHECK_MS * 1000)
			left = VEX_EXEC_STOP_CHECK_MS * 1000;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000;
		/* EINTR only shortens one slice; the loop re-checks the clock */
		nanosleep(&ts, NULL);
	}
}

int vex_exec_fail(struct vex_job *out, const char *code, const char *message)
{
	char *c = strdup(code);
	char *m = strdup(message);
	int rc = VEX_ENOMEM;

	if (!c || !m)
		goto out;
	free(out->error_code);
	free(out->error_message);
	out->error_code = c;
	out->error_message = m;
	c = m = NULL;
	out->status = VEX_JOB_FAILED;
	rc = 0;
out:
	free(c);
	free(m);
	return rc;
}

const char *vex_stop_name(enum vex_stop s)
{
	switch (s) {
	case VEX_STOP_NONE: return "none";
	case VEX_STOP_LOST: return "lost";
	case VEX_STOP_CANCEL: return "cancel";
	case VEX_STOP_TIMEOUT: return "timeout";
	case VEX_STOP_SHUTDOWN: return "shutdown";
	}
	return "unknown";
}
