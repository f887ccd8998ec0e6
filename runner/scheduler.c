/* scheduler.c - the scheduler thread: fires the due slots of scheduled agents, once each. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/jobs/jobcache.h"
#include "core/base/log.h"
#include "runner/schedule.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "runner/handles.h"
#include "runner/scheduler.h"
#include "runner/ticker.h"
#include "core/metrics/metrics.h"

#define TICK_MS 1000
#define PAGE 500 /* scheduled agents read per query */
/* Slots of one agent looked at per tick: the catch-up window is at most a day, the missed range
 * two, at one slot per minute. */
#define SLOTS_MAX (3 * VEX_SCHEDULE_MINUTES)

struct vex_scheduler {
	const struct vex_config *cfg;
	struct vex_pool *pool;
	struct vex_store *store;
	struct vex_cache *cache;
	struct vex_ticker tick;
	int64_t missed_lo;   /* slots before this were already checked for "missed" */
	uint16_t *minutes;   /* scratch: VEX_SCHEDULE_MINUTES */
	int64_t *slots;      /* scratch: SLOTS_MAX */
};


/* Fire one due slot; returns 1 when a job was queued. */
static int fire(struct vex_scheduler *s, const char *agent_id, int64_t slot, int64_t now)
{
	const struct vex_config *cfg = s->cfg;
	struct vex_sched_fire f = {
		.agent_id = agent_id,
		.slot_us = slot,
		.now_us = now,
		.max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 1,
		.timeout_ms = cfg->default_timeout_ms > 0 ? cfg->default_timeout_ms : 300000,
		.queued_caps = cfg->caps[VEX_CAP_QUEUED_JOBS],
	};
	char when[VEX_RFC3339_LEN];
	struct vex_job *j = NULL;
	int rc, queued;

	rc = vex_store_schedule_fire(s->store, &f, &j);
	if (rc == VEX_EEXIST || rc == VEX_ENOTFOUND) /* another runner, or paused/deleted meanwhile */
		return 0;
	vex_rfc3339(slot, when);
	if (rc < 0) {
		/* the next tick tries again while the slot is inside the window */
		vex_log(VEX_LOG_WARN, "schedule fire failed", "agent_id", agent_id, "slot", when, "error",
			vex_strerror(rc), NULL);
		return 0;
	}
	vex_jobcache_publish(s->cache, j);
	vex_metrics_job_submitted(j); /* a scheduled run is a submit of its agent's kind */
	queued = j->status == VEX_JOB_QUEUED;
	if (!queued)
		vex_metrics_job_finished(j); /* refused at the cap: stored failed, never run */
	/* not queued: its owner is at the queued-job cap, and the run is recorded as failed */
	if (queued)
		vex_log(VEX_LOG_INFO, "schedule fired", "agent_id", agent_id, "slot", when, "job_id", j->id, NULL);
	else
		vex_log(VEX_LOG_WARN, "scheduled run refused", "agent_id", agent_id, "slot", when, "job_id", j->id,
			"error", j->error_code ? j->error_code : "", NULL);
	vex_job_free(j);
	return queued;
}

/* Log the slots in [lo, hi] that passed the window unfired (once per runner: lo moves on). */
static void report_missed(struct vex_scheduler *s, const struct vex_sched_agent *a, size_t nmin, int64_t lo,
			  int64_t hi)
{
	char when[VEX_RFC3339_LEN];
	size_t n = 0, i;
	int fired;

	if (hi - lo > VEX_SCHEDULE_DAY_US) /* a long store outage: report the last day only */
		lo = hi - VEX_SCHEDULE_DAY_US;
	if (hi < lo || vex_schedule_slots(s->minutes, nmin, lo, hi, s->slots, SLOTS_MAX, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (!vex_schedule_slot_eligible(s->slots[i], a->created_at))
			continue;
		if (vex_store_schedule_fired(s->store, a->id, s->slots[i], &fired) < 0 || fired)
			continue;
		vex_rfc3339(s->slots[i], when);
		vex_log(VEX_LOG_WARN, "schedule slot missed", "agent_id", a->id, "slot", when, "reason",
			"older than schedule_catchup_s", NULL);
	}
}

/* One agent: fire its due slots in [now - window, now], report those that fell out of it. */
static int agent_tick(struct vex_scheduler *s, const struct vex_sched_agent *a, int64_t now, int64_t window)
{
	size_t nmin = 0, n = 0, i;
	int queued = 0;

	if (vex_schedule_minutes(a->schedule_json, s->minutes, &nmin) < 0) {
		vex_log(VEX_LOG_WARN, "schedule unreadable", "agent_id", a->id, NULL);
		return 0;
	}
	if (vex_schedule_slots(s->minutes, nmin, now - window, now, s->slots, SLOTS_MAX, &n) == 0) {
		for (i = 0; i < n; i++)
			if (vex_schedule_slot_eligible(s->slots[i], a->created_at))
				queued += fire(s, a->id, s->slots[i], now);
	}
	report_missed(s, a, nmin, s->missed_lo, now - window - 1);
	return queued;
}

static void tick(struct vex_scheduler *s)
{
	struct vex_sched_agent_list l = { 0 };
	int64_t now = vex_now_us(), window = (int64_t)s->cfg->schedule_catchup_s * 1000000;
	char after[VEX_UUID_LEN + 1] = "";
	int queued = 0, rc;
	size_t i;

	do {
		rc = vex_store_scheduled_agents(s->store, after[0] ? after : NULL, PAGE, &l);
		if (rc < 0) {
			vex_log(VEX_LOG_WARN, "scheduled agents unreadable", "error", vex_strerror(rc), NULL);
			return; /* missed_lo stays: next tick reports what this one could not */
		}
		for (i = 0; i < l.n && !vex_ticker_stopping(&s->tick); i++)
			queued += agent_tick(s, &l.items[i], now, window);
		if (l.n > 0)
			memcpy(after, l.items[l.n - 1].id, sizeof(after));
		rc = l.n == PAGE && !vex_ticker_stopping(&s->tick);
		vex_sched_agent_list_release(&l);
	} while (rc);
	s->missed_lo = now - window;
	if (queued > 0)
		vex_pool_wake(s->pool, queued);
}

/* Open the thread's store and cache, retrying each second until it works or we are stopped. */
static void *sched_main(void *arg)
{
	struct vex_scheduler *s = arg;

	if (vex_handles_open(&s->tick, s->cfg, &s->store, &s->cache) < 0)
		goto out;
	/* At start, look back a day for slots missed while no runner was up (to log them). */
	s->missed_lo = vex_now_us() - VEX_SCHEDULE_DAY_US;
	do
		tick(s);
	while (!vex_ticker_nap(&s->tick, TICK_MS));
out:
	vex_handles_close(&s->store, &s->cache);
	return NULL;
}

int vex_scheduler_start(const struct vex_config *cfg, struct vex_pool *pool, struct vex_scheduler **ret)
{
	struct vex_scheduler *s = calloc(1, sizeof(*s));
	int rc = VEX_ENOMEM;

	if (!s)
		goto out;
	s->cfg = cfg;
	s->pool = pool;
	s->minutes = calloc(VEX_SCHEDULE_MINUTES, sizeof(*s->minutes));
	s->slots = calloc(SLOTS_MAX, sizeof(*s->slots));
	if (!s->minutes || !s->slots)
		goto out;
	rc = vex_ticker_start(&s->tick, sched_main, s);
	if (rc)
		goto out;
	*ret = s;
	s = NULL;
out:
	vex_scheduler_free(s);
	return rc;
}

void vex_scheduler_free(struct vex_scheduler *s)
{
	if (!s)
		return;
	vex_ticker_release(&s->tick);
	free(s->minutes);
	free(s->slots);
	free(s);
}
