/* retention.h - the store's pruning: old job events, finished jobs with what hangs on them, schedule fires,
 * and returning freed pages (docs/retention.md). Part of the store interface (SQL only in core/store/sqlite/). */
#ifndef VEX_STORE_RETENTION_H
#define VEX_STORE_RETENTION_H

#include <stdint.h>

#include "core/base/ids.h"

struct vex_store;

#define VEX_PRUNE_BATCH_MAX 10000

/*
 * One batch of the job-event prune, in its own write transaction: events older than "before_us"
 * that every cursor (event_cursors) has passed, never the newest row (which keeps seq growing), the
 * oldest first, at most "limit" (1..VEX_PRUNE_BATCH_MAX). The bound is found with three seeks (the
 * first event at or after "before_us" by the job_events_at index, the slowest cursor, the newest
 * seq), then the rows below it go by seq: the work is that of the rows deleted, whatever is kept.
 * An event a few milliseconds younger than "before_us" but older in seq than one past it may go
 * with it (times and seqs of concurrent writers interleave). *ret_deleted (when not NULL) gets how
 * many went. 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO.
 */
int vex_store_job_events_prune(struct vex_store *s, int64_t before_us, int limit, int64_t *ret_deleted);

/*
 * One batch of the job prune, in its own write transaction: at most "limit" (1..VEX_PRUNE_BATCH_MAX)
 * finished jobs (completed, failed, timeout, canceled) with completed_at before "before_us", oldest
 * first, found through the jobs_finished index, deleted with their webhook deliveries and those
 * deliveries' attempts. A job whose terminal event the webhook fan-out has not reached yet is kept
 * (the cut-off moves back to a minute before the first event not fanned out). Their ids go to
 * "ret_ids" (room for "limit"), their number to *ret_n. Job events are not
 * touched (they follow their own retention). 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO.
 */
int vex_store_jobs_prune(struct vex_store *s, int64_t before_us, int limit, char (*ret_ids)[VEX_UUID_LEN + 1],
			 int *ret_n);

/* One batch of schedule fires whose slot is before "before_slot_us" (the schedule_fires_slot index),
 * at most "limit" (1..VEX_PRUNE_BATCH_MAX), in its own write transaction. The caller keeps every slot
 * the scheduler may still look at (a day). *ret_deleted as above. 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO. */
int vex_store_schedule_fires_prune(struct vex_store *s, int64_t before_slot_us, int limit, int64_t *ret_deleted);

/*
 * Return free pages to the file system: when the database is in incremental auto-vacuum mode
 * (new databases are) and holds more than "keep_pages" free pages, one write transaction of
 * PRAGMA incremental_vacuum of at most "max_pages" (1..100000) of them. *ret_freed (when not NULL)
 * gets the pages returned (0 when the mode is another or nothing is above "keep_pages").
 * 0, VEX_EINVAL, VEX_EBUSY, VEX_EIO.
 */
int vex_store_vacuum_step(struct vex_store *s, int max_pages, int keep_pages, int64_t *ret_freed);

/* The database's auto_vacuum mode: 0 none, 1 full, 2 incremental; or VEX_EIO. */
int vex_store_auto_vacuum(struct vex_store *s);

#endif
