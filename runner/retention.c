/* retention.c - the runner's pruning rounds, in small batches each its own transaction, and returning freed pages. */
#include "runner/retention.h"

#include <stdio.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/store/retention.h"
#include "core/store/store.h"

#define EVERY_US (5 * 1000000LL)    /* a round this often */
#define BACKLOG_EVERY_US 50000      /* sooner while a round left work behind */
#define ROUND_US 25000              /* work of one round, at most about this */
#define EVENT_BATCH 500             /* job events per transaction (a few ms of write lock) */
#define JOB_BATCH 25                /* jobs (with deliveries and attempts) per transaction (a few ms) */
#define FIRE_BATCH 1000
#define STAT_BATCH 2000             /* rows of the stats rollup per transaction */
#define VACUUM_PAGES 128            /* pages returned per transaction (512 KiB of 4 KiB pages; about 5 ms) */
#define KEEP_FREE_PAGES 1024        /* free pages left for the next inserts to reuse */
#define DAY_US (86400 * 1000000LL)
#define ROLLUP_EVERY_US 1000000     /* the stats rollup folds the new job events this often */
#define ROLLUP_BATCH 5000           /* job events per fold (read without the lock; one short write) */

void vex_retention_init(struct vex_retention *r, const struct vex_config *cfg, int64_t mono_us)
{
	r->cfg = cfg;
	r->next_mono = mono_us;
	r->next_rollup = mono_us;
	r->told = 0;
	r->failed = 0;
	r->warned_mono = 0;
}

/* A failure, logged at most every 10 s (rounds retry it); the next round comes after the full pause. */
static void warn(struct vex_retention *r, const char *what, int rc)
{
	int64_t m = vex_mono_us();

	r->failed = 1;
	if (r->warned_mono && m - r->warned_mono < 10 * 1000000LL)
		return;
	r->warned_mono = m;
	vex_log(VEX_LOG_WARN, what, "error", vex_strerror(rc), NULL);
}

/* Event batches until one comes short or the round's time is up; 1 when work is left. */
static int prune_events(struct vex_retention *r, struct vex_store *s, int64_t before_us, int64_t end_mono)
{
	int64_t n = 0;
	int rc;

	do {
		rc = vex_store_job_events_prune(s, before_us, EVENT_BATCH, &n);
		if (rc < 0) {
			warn(r, "job event prune failed", rc);
			return 0;
		}
	} while (n == EVENT_BATCH && vex_mono_us() < end_mono);
	return n == EVENT_BATCH;
}

/* Job batches as above; the cached copy of each pruned job is deleted after its commit (a poll
 * that read the row just before may put one back: it lives at most the cache's TTL). */
static int prune_jobs(struct vex_retention *r, struct vex_store *s, struct vex_cache *c, int64_t before_us,
		      int64_t end_mono)
{
	char ids[JOB_BATCH][VEX_UUID_LEN + 1];
	int rc, n = 0;

	do {
		rc = vex_store_jobs_prune(s, before_us, JOB_BATCH, ids, &n);
		if (rc < 0) {
			warn(r, "job prune failed", rc);
			return 0;
		}
		for (int i = 0; i < n; i++)
			vex_cache_job_delete(c, ids[i]);
	} while (n == JOB_BATCH && vex_mono_us() < end_mono);
	return n == JOB_BATCH;
}

/* Free pages above the reserve, one short transaction; 1 when more are left. */
static int vacuum(struct vex_retention *r, struct vex_store *s)
{
	int64_t freed = 0;
	int rc = vex_store_vacuum_step(s, VACUUM_PAGES, KEEP_FREE_PAGES, &freed);

	if (rc < 0)
		warn(r, "incremental vacuum failed", rc);
	return rc == 0 && freed == VACUUM_PAGES;
}

/* Once: say when the database cannot give pages back (created before vex set incremental vacuum). */
static void tell_mode(struct vex_retention *r, struct vex_store *s)
{
	int mode = vex_store_auto_vacuum(s);

	r->told = 1;
	if (mode >= 0 && mode != 2)
		vex_log(VEX_LOG_INFO,
			"database not in incremental auto-vacuum: pruned pages are reused, the file does not shrink"
			" (docs/retention.md: converting it)",
			NULL);
}

/* Schedule fires whose slot the scheduler will not look at again (a day at most) and that are
 * past the job retention too; 1 when more are left. */
static int prune_fires(struct vex_retention *r, struct vex_store *s, int64_t now_us, int64_t retention_us)
{
	int64_t keep_us = retention_us > DAY_US ? retention_us : DAY_US, n = 0;
	int rc = vex_store_schedule_fires_prune(s, now_us - keep_us, FIRE_BATCH, &n);

	if (rc < 0)
		warn(r, "schedule fire prune failed", rc);
	return rc == 0 && n == FIRE_BATCH;
}

/* Rows of the stats rollup older than VEX_STATS_KEEP_MINUTES (core/store/stats.h); 1 when more are left. */
static int prune_stats(struct vex_retention *r, struct vex_store *s, int64_t now_us)
{
	int64_t n = 0;
	int rc = vex_store_stat_minutes_prune(s, now_us / VEX_STATS_MINUTE_US - VEX_STATS_KEEP_MINUTES, STAT_BATCH, &n);

	if (rc < 0)
		warn(r, "stats rollup prune failed", rc);
	return rc == 0 && n == STAT_BATCH;
}

/* Fold the new job events into the stats rollup until a batch comes short (at most 20 batches). */
static void rollup(struct vex_retention *r, struct vex_store *s)
{
	int64_t n = 0;
	int rc, i = 0;

	do {
		rc = vex_store_stats_rollup(s, ROLLUP_BATCH, &n);
		if (rc < 0) {
			warn(r, "stats rollup failed", rc);
			return;
		}
	} while (n == ROLLUP_BATCH && ++i < 20);
}

void vex_retention_tick(struct vex_retention *r, struct vex_store *store, struct vex_cache *cache, int64_t mono_us)
{
	const struct vex_config *cfg = r->cfg;
	int64_t now = vex_now_us(), end = mono_us + ROUND_US, jobs_us = (int64_t)cfg->job_retention_s * 1000000;
	int more;

	vex_cache_settle(cache); /* deletes of pruned jobs that missed memcached (a no-op when none) */
	if (store && mono_us >= r->next_rollup) {
		rollup(r, store);
		r->next_rollup = mono_us + ROLLUP_EVERY_US;
	}
	if (mono_us < r->next_mono || !store)
		return;
	if (!r->told)
		tell_mode(r, store);
	r->failed = 0;
	/* each kind at least one batch a round: a backlog of one never starves the others */
	more = prune_events(r, store, now - (int64_t)cfg->event_retention_s * 1000000, mono_us + ROUND_US / 2);
	if (jobs_us > 0) {
		more |= prune_jobs(r, store, cache, now - jobs_us, end);
		more |= prune_fires(r, store, now, jobs_us);
	}
	more |= prune_stats(r, store, now);
	more |= vacuum(r, store);
	r->next_mono = vex_mono_us() + (more && !r->failed ? BACKLOG_EVERY_US : EVERY_US);
}
