/* stats.h - what a console reads (store_stats.c, store_runners.c): jobs by status, the per-minute
 * rollup of submits, finishes and latency, the oldest queued job, the runners and their running jobs,
 * a job's webhook deliveries. Each is a read of a few small rows or an index seek, never a walk of
 * history. Part of the store interface; included by core/store/store.h. */
#ifndef VEX_STORE_STATS_H
#define VEX_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/store/store.h"

/* ---- jobs by status (the job_tally table, kept by triggers: migration 14) ---- */

/* How many stored jobs of "owner" (NULL: every owner, the SUM of their rows) are in each status,
 * indexed by enum vex_job_status. Jobs pruned by retention are no longer counted. */
int vex_store_status_counts(struct vex_store *s, const char *owner, int64_t ret[VEX_JOB_STATUS_COUNT]);

/* The oldest queued job of "owner" (NULL: every owner): its id and created_at. VEX_ENOTFOUND when
 * nothing is queued. */
int vex_store_oldest_queued(struct vex_store *s, const char *owner, char ret_id[VEX_UUID_LEN + 1],
			    int64_t *ret_created_at);

/* ---- the per-minute rollup (the job_minute_stats table, folded from the job events by the runner) ---- */

/* Latency (completed_at - created_at of completed jobs) buckets: bucket i holds latencies in
 * (vex_lat_bounds_us[i-1], vex_lat_bounds_us[i]] microseconds (bucket 0 from 0); the last one,
 * VEX_LAT_BUCKETS - 1, everything above the last bound. */
#define VEX_LAT_BOUNDS 21
#define VEX_LAT_BUCKETS (VEX_LAT_BOUNDS + 1)
extern const int64_t vex_lat_bounds_us[VEX_LAT_BOUNDS];

/* The rollup's metrics. */
enum vex_stat_metric {
	VEX_STAT_SUBMITTED = 0, /* by the minute of created_at */
	VEX_STAT_COMPLETED = 1, /* not stored: the sum of the latency rows (a reader's tally) */
	VEX_STAT_FAILED = 2,    /* this and the two below by the minute of completed_at */
	VEX_STAT_TIMEOUT = 3,
	VEX_STAT_CANCELED = 4,
	VEX_STAT_LATENCY = 100  /* + bucket: completed jobs by latency bucket, by the minute of completed_at */
};

/* Rows are kept this many minutes (runner/retention.c prunes older ones). */
#define VEX_STATS_KEEP_MINUTES 120
#define VEX_STATS_MINUTE_US 60000000LL
/* At most this many rows in one answer of vex_store_stat_minutes; more are left out. */
#define VEX_STATS_ROWS_MAX 100000

/* One sum of the rollup: by (minute, metric), or by (kind, name, metric). */
struct vex_stat_row {
	int64_t minute;          /* Unix minutes (µs / 60e6); 0 in sums by name */
	enum vex_job_kind kind;  /* sums by name */
	char *name;              /* sums by name: the tool, or the agent id (owned); else NULL */
	int metric;              /* enum vex_stat_metric, latency as VEX_STAT_LATENCY + bucket */
	int64_t n;
};

struct vex_stat_rows {
	struct vex_stat_row *items;
	size_t n;
};
void vex_stat_rows_release(struct vex_stat_rows *l);

/* The rollup of "owner" (NULL: summed over every owner) over the minutes >= "from_minute": summed by
 * (minute, metric) ordered so, or when "by_name" by (kind, name, metric) ordered so; at most
 * VEX_STATS_ROWS_MAX rows. */
int vex_store_stat_minutes(struct vex_store *s, const char *owner, int64_t from_minute, int by_name,
			   struct vex_stat_rows *ret);

/*
 * Fold the job events after the cursor 'stats' into the rollup: at most "limit" (1..VEX_PRUNE_BATCH_MAX)
 * events, read and summed without the write lock, added in one short write transaction that moves
 * the cursor. A runner that finds the cursor moved meanwhile adds nothing. *ret_events (when not NULL)
 * gets how many events were folded: "limit" means more are waiting. A job's submit is counted when
 * its insert is folded, its end when its finish is; the runner folds about once a second.
 */
int vex_store_stats_rollup(struct vex_store *s, int limit, int64_t *ret_events);

/* Delete rollup rows of minutes before "before_minute", at most "limit" (1..VEX_PRUNE_BATCH_MAX), in
 * one write transaction; *ret_deleted (when not NULL) gets how many. */
int vex_store_stat_minutes_prune(struct vex_store *s, int64_t before_minute, int limit, int64_t *ret_deleted);

/*
 * The "q" quantile (0 < q <= 1) of the latencies counted in "buckets" (VEX_LAT_BUCKETS counts), in
 * microseconds, interpolated linearly inside the bucket that holds it (the overflow bucket answers
 * its lower bound): exact to the width of one bucket (a factor of 2 to 2.5). -1 when every count is 0.
 */
double vex_lat_quantile_us(const int64_t buckets[VEX_LAT_BUCKETS], double q);

/* ---- runners (store_runners.c) ---- */

#define VEX_RUNNER_HOST_MAX 255

/* What a runner says of itself at each heartbeat. */
struct vex_runner_info {
	char id[201];                 /* the runner id (VEX_RUNNER_ID_MAX of runner/pool.h) */
	int pid;
	char host[VEX_RUNNER_HOST_MAX + 1];
	int64_t started_at;
	int64_t beat_at;              /* the last heartbeat */
	int slots;                    /* [runner] concurrency */
	int busy;                     /* slots running a job at the heartbeat */
};

/* Upsert the heartbeat row of r->id with every field of "r". */
int vex_store_runner_report(struct vex_store *s, const struct vex_runner_info *r);

struct vex_runner_infos {
	struct vex_runner_info *items;
	size_t n;
};
void vex_runner_infos_release(struct vex_runner_infos *l);

/* Every runner row (at most 1000), by id. A runner that stopped cleanly has none; one that died
 * keeps its last beat. */
int vex_store_runners_list(struct vex_store *s, struct vex_runner_infos *ret);

/* A running job as a runner list shows it. */
struct vex_running_job {
	char id[VEX_UUID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	enum vex_job_kind kind;
	char name[VEX_COREX_TOOL_NAME_MAX + 1]; /* the tool, or the agent id */
	int64_t started_at;
	char lease_owner[256];                  /* "<runner id>/w<N>" */
};

struct vex_running_jobs {
	struct vex_running_job *items;
	size_t n;
};
void vex_running_jobs_release(struct vex_running_jobs *l);

/* Running jobs of "owner" (NULL: every owner), oldest first, at most "limit" (1..10000). */
int vex_store_running_jobs(struct vex_store *s, const char *owner, int limit, struct vex_running_jobs *ret);

/* ---- a job's webhook deliveries (store_deliveries.c) ---- */

/* The deliveries job "job_id" caused, oldest first (id ASC), at most "limit" (1..1000), each with its
 * attempts. The caller has checked the job's owner. */
int vex_store_job_deliveries(struct vex_store *s, const char *job_id, int limit, struct vex_delivery_list *ret);

#endif
