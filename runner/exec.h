/* exec.h - the executor interface: what a job's executor is given and what it hands back. */
#ifndef VEX_RUNNER_EXEC_H
#define VEX_RUNNER_EXEC_H

#include <stdint.h>

#include "core/base/config.h"
#include "core/jobs/model.h"
#include "core/store/store.h"

/* Why an executor must stop before its work is done. */
enum vex_stop {
	VEX_STOP_NONE = 0,
	VEX_STOP_LOST,     /* the lease is no longer ours: drop the job, record nothing */
	VEX_STOP_CANCEL,   /* a client canceled the running job -> canceled */
	VEX_STOP_TIMEOUT,  /* past the job's deadline -> timeout */
	VEX_STOP_SHUTDOWN  /* the runner is stopping -> requeued */
};

/* An executor checks for a stop at least this often while it waits. */
#define VEX_EXEC_STOP_CHECK_MS 10

struct vex_exec_ctx {
	const struct vex_config *cfg;
	struct vex_store *store;       /* the worker's own connection (agent lookups); borrowed */
	const struct vex_job *job;     /* the claimed job; borrowed */
	int64_t deadline_mono_us;      /* claim time + timeout (CLOCK_MONOTONIC) */
	/* Report progress; "p" is copied. The worker decides when it reaches SQLite and memcached. */
	void (*progress)(struct vex_exec_ctx *ctx, const struct vex_progress *p);
	/* VEX_STOP_NONE to carry on, else why to stop. Cheap: call it every <= 10 ms while waiting. */
	enum vex_stop (*should_stop)(struct vex_exec_ctx *ctx);
	/* Optional: block until CLOCK_MONOTONIC reaches "until_mono_us" or a stop is asked, whichever
	 * comes first (the worker's pool signals it); NULL: executors poll should_stop instead. */
	void (*wait)(struct vex_exec_ctx *ctx, int64_t until_mono_us);
	void *opaque;                  /* the worker's state */
	enum vex_stop stopped;         /* set by vex_exec_check() when it returns non-zero */
};

/*
 * Every executor has the signature below. "out" is a zeroed job owned by the caller; the executor
 * fills the outcome fields vex_store_job_finish() reads (result_json, error_*, tokens_*,
 * final_model, steps, progress) and out->status (VEX_JOB_COMPLETED or VEX_JOB_FAILED). Returns:
 *   0            ran to its end; out->status says how it went;
 *   VEX_ESTATE   stopped early because should_stop said so; ctx->stopped says why;
 *   other < 0    an internal failure (the worker records failed / INTERNAL_ERROR).
 */
typedef int (*vex_exec_fn)(struct vex_exec_ctx *ctx, struct vex_job *out);

/* Asks ctx->should_stop; records a non-NONE answer in ctx->stopped. Returns that answer. */
enum vex_stop vex_exec_check(struct vex_exec_ctx *ctx);

/* Sleeps until CLOCK_MONOTONIC reaches "until_mono_us": woken by a stop through ctx->wait (at
 * least once a second, for held-back progress and the deadline), else checking every 10 ms.
 * 0, or VEX_ESTATE when stopped (ctx->stopped says why). */
int vex_exec_sleep_until(struct vex_exec_ctx *ctx, int64_t until_mono_us);

/* Sets out->status failed with error "code" / "message" (copied). 0 or VEX_ENOMEM. */
int vex_exec_fail(struct vex_job *out, const char *code, const char *message);

/* A stop reason's name for logs: "none" "lost" "cancel" "timeout" "shutdown". */
const char *vex_stop_name(enum vex_stop s);

#endif
