/* retention.h - the runner's pruning rounds: events, finished jobs, schedule fires, freed pages (docs/retention.md). */
#ifndef VEX_RUNNER_RETENTION_H
#define VEX_RUNNER_RETENTION_H

#include <stdint.h>

#include "core/base/config.h"
#include "core/jobs/cache.h"
#include "core/store/store.h"

struct vex_retention {
	const struct vex_config *cfg;
	int64_t next_mono; /* when the next round is due (CLOCK_MONOTONIC µs) */
	int64_t next_rollup; /* when the stats rollup folds the new job events next */
	int told;          /* the auto_vacuum mode was looked at (logged once) */
	int failed;        /* a step of this round failed: the next round comes after the full pause */
	int64_t warned_mono; /* the last failure logged */
};

/* Ready "r" for the thread that runs the rounds (the webhook deliverer): the first round is due at
 * "mono_us". "cfg" must outlive it. */
void vex_retention_init(struct vex_retention *r, const struct vex_config *cfg, int64_t mono_us);

/*
 * When a round is due at "mono_us", run it on the thread's own "store" and "cache": job events
 * older than cfg->event_retention_s, finished jobs older than cfg->job_retention_s (0: none) with
 * their deliveries and attempts (and their cached copies deleted), schedule fires a day past their
 * slot and past the job retention, then a step of incremental vacuum. Each batch is its own short
 * write transaction; a round does at least one batch of each, then stops after about 25 ms of work
 * (events get half of it). The next round is due 5 s later, or 50 ms later when a round stopped
 * with work left. Failures are logged and retried next round. Besides, about once a second, the
 * new job events are folded into the stats rollup (vex_store_stats_rollup).
 */
void vex_retention_tick(struct vex_retention *r, struct vex_store *store, struct vex_cache *cache, int64_t mono_us);

#endif
