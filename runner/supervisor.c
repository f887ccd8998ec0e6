/* supervisor.c - the supervisor thread: heartbeat, lease renewal, cancel requests, rescue of expired leases. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/jobs/jobcache.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "runner/handles.h"
#include "runner/supervisor.h"
#include "runner/ticker.h"
#include "core/metrics/metrics.h"

#define TICK_MS 100
#define BEAT_US 2000000LL

/* When the supervisor last renewed the lease of the job in each slot. */
struct renewal {
	char job_id[VEX_UUID_LEN + 1];
	int64_t renewed_mono_us;
};

struct vex_supervisor {
	const struct vex_config *cfg;
	const char *runner_id;
	struct vex_pool *pool;
	struct vex_store *store;
	struct vex_cache *cache;
	struct vex_ticker tick;
	struct vex_runner_info info; /* what the heartbeat says (GET /api/v1/runners) */
	struct renewal *renew;     /* one per pool slot */
	struct vex_running *run;   /* scratch for the pool snapshot */
};


static void rescue(struct vex_supervisor *s)
{
	struct vex_job_list l = { 0 };
	char attempts[24];
	int rc, queued = 0;
	size_t i;

	rc = vex_store_jobs_rescue(s->store, vex_now_us(), &l);
	if (rc < 0) {
		vex_log(VEX_LOG_WARN, "rescue failed", "error", vex_strerror(rc), NULL);
		return;
	}
	for (i = 0; i < l.n; i++) {
		const struct vex_job *j = l.items[i];

		vex_jobcache_publish(s->cache, j);
		snprintf(attempts, sizeof(attempts), "%d", j->attempts);
		vex_log(VEX_LOG_INFO, "rescue", "job_id", j->id, "status", vex_job_status_name(j->status),
			"attempts", attempts, NULL);
		if (j->status == VEX_JOB_QUEUED)
			queued++;
		else
			vex_metrics_job_finished(j); /* failed: its lease ran out with no attempt left */
	}
	vex_job_list_release(&l);
	if (queued > 0)
		vex_pool_wake(s->pool, queued);
}

/* Renew the lease when a third of it has passed; otherwise a cheap read notices cancel requests
 * (and a lease taken away) within a tick instead of within lease_ms/3. */
static void watch(struct vex_supervisor *s, const struct vex_running *r, int64_t now)
{
	struct renewal *rn = &s->renew[r->slot];
	int64_t every = (int64_t)s->cfg->lease_ms * 1000 / 3;
	struct vex_job *j = NULL;
	int cancel = 0, rc;

	if (strcmp(rn->job_id, r->job_id) != 0) {
		memcpy(rn->job_id, r->job_id, sizeof(rn->job_id));
		rn->renewed_mono_us = r->claimed_mono_us;
	}
	if (now - rn->renewed_mono_us >= every) {
		rc = vex_store_job_renew(s->store, r->job_id, r->lease_owner, vex_now_us(),
					 (int64_t)s->cfg->lease_ms * 1000, &cancel);
		if (rc == VEX_ECONFLICT) {
			vex_pool_request_stop(s->pool, r->slot, r->job_id, VEX_STOP_LOST);
			return;
		}
		if (rc < 0) {
			/* try again next tick; the lease still has two thirds left */
			vex_log(VEX_LOG_WARN, "lease renewal failed", "job_id", r->job_id, "error", vex_strerror(rc),
				NULL);
			return;
		}
		rn->renewed_mono_us = now;
		if (cancel)
			vex_pool_request_stop(s->pool, r->slot, r->job_id, VEX_STOP_CANCEL);
		return;
	}
	rc = vex_store_job_get(s->store, r->job_id, NULL, &j);
	if (rc < 0)
		return;
	if (j->status != VEX_JOB_RUNNING || j->attempts != r->attempts ||
	    (j->lease_owner && strcmp(j->lease_owner, r->lease_owner) != 0))
		vex_pool_request_stop(s->pool, r->slot, r->job_id, VEX_STOP_LOST);
	else if (j->cancel_requested)
		vex_pool_request_stop(s->pool, r->slot, r->job_id, VEX_STOP_CANCEL);
	vex_job_free(j);
}

/* Open the thread's store and cache, retrying each second until it works or we are stopped. */
static void *sup_main(void *arg)
{
	struct vex_supervisor *s = arg;
	const struct vex_config *cfg = s->cfg;
	int64_t next_beat = 0, next_rescue = 0, now;
	int tick = TICK_MS, rc;
	size_t n, i;

	if (cfg->lease_ms / 3 < tick)
		tick = cfg->lease_ms / 3 > 1 ? cfg->lease_ms / 3 : 1;
	if (vex_handles_open(&s->tick, s->cfg, &s->store, &s->cache) < 0)
		goto out;
	do {
		now = vex_mono_us();
		if (now >= next_beat) {
			s->info.beat_at = vex_now_us();
			s->info.busy = (int)vex_pool_running(s->pool, s->run, (size_t)vex_pool_size(s->pool));
			rc = vex_store_runner_report(s->store, &s->info);
			vex_metrics_runner_beat(vex_now_us());
			if (rc < 0)
				vex_log(VEX_LOG_WARN, "heartbeat failed", "error", vex_strerror(rc), NULL);
			next_beat = now + BEAT_US;
		}
		if (now >= next_rescue) {
			rescue(s);
			next_rescue = now + (int64_t)cfg->rescue_interval_ms * 1000;
		}
		n = vex_pool_running(s->pool, s->run, (size_t)vex_pool_size(s->pool));
		for (i = 0; i < n; i++)
			watch(s, &s->run[i], vex_mono_us());
	} while (!vex_ticker_nap(&s->tick, tick));
	rc = vex_store_runner_gone(s->store, s->runner_id);
	if (rc < 0 && rc != VEX_ENOTFOUND)
		vex_log(VEX_LOG_WARN, "heartbeat row removal failed", "error", vex_strerror(rc), NULL);
out:
	vex_handles_close(&s->store, &s->cache);
	return NULL;
}

int vex_supervisor_start(const struct vex_config *cfg, const char *runner_id, struct vex_pool *pool,
			 struct vex_supervisor **ret)
{
	struct vex_supervisor *s = calloc(1, sizeof(*s));
	int rc = VEX_ENOMEM;

	if (!s)
		goto out;
	s->cfg = cfg;
	s->runner_id = runner_id;
	s->pool = pool;
	snprintf(s->info.id, sizeof(s->info.id), "%s", runner_id);
	s->info.pid = (int)getpid();
	if (gethostname(s->info.host, sizeof(s->info.host)) < 0)
		snprintf(s->info.host, sizeof(s->info.host), "localhost");
	s->info.host[sizeof(s->info.host) - 1] = '\0';
	s->info.started_at = vex_now_us();
	s->info.slots = vex_pool_size(pool);
	s->renew = calloc((size_t)vex_pool_size(pool), sizeof(*s->renew));
	s->run = calloc((size_t)vex_pool_size(pool), sizeof(*s->run));
	if (!s->renew || !s->run)
		goto out;
	rc = vex_ticker_start(&s->tick, sup_main, s);
	if (rc)
		goto out;
	*ret = s;
	s = NULL;
out:
	vex_supervisor_free(s);
	return rc;
}

void vex_supervisor_free(struct vex_supervisor *s)
{
	if (!s)
		return;
	vex_ticker_release(&s->tick);
	free(s->renew);
	free(s->run);
	free(s);
}
