/* store_metrics.h - what /metrics reads from the store (store_metrics.c): counts kept by triggers, never a
 * walk of history. Part of the store interface; included by core/store/store.h. */
#ifndef VEX_STORE_METRICS_H
#define VEX_STORE_METRICS_H

#include <stdint.h>

#include "core/store/store.h"


struct vex_store_counts {
	int64_t jobs[2][VEX_JOB_STATUS_COUNT]; /* [enum vex_job_kind][enum vex_job_status] */
	int64_t deliveries_pending;            /* webhook deliveries waiting for an attempt */
};

/*
 * The jobs of each kind and status (the job_tally table summed over owners: twelve rows per owner) and the pending webhook
 * deliveries (the partial index of pending ones: the backlog itself, never the delivered history).
 * Reads only; no write lock. 0, or a store error (*ret untouched).
 */
int vex_store_metrics_counts(struct vex_store *s, struct vex_store_counts *ret);

#endif
