/* pool.c - the worker threads: claim, publish, execute, finish; the running-job table they share. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/jobs/jobcache.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "runner/exec_agent.h"
#include "runner/exec_tool.h"
#include "runner/handles.h"
#include "runner/pool.h"

/* SQLite sees progress at most this often per job (memcached follows each write). */
#define PROGRESS_WRITE_US 1000000
/* A finish that hits a busy or failing database is retried this many times, this far apart. */
#define FINISH_TRIES 5
#define FINISH_RETRY_MS 100

struct slot {
	char job_id[VEX_UUID_LEN + 1]; /* "" when idle; guarded by pool->mu */
	int attempts;
	int64_t claimed_mono_us;
	atomic_int stop;               /* enum vex_stop asked by the supervisor */
};

struct worker {
	struct vex_pool *pool;
	int idx;
	pthread_t tid;
	int started;
	char lease_owner[VEX_LEASE_OWNER_MAX + 1];
	struct vex_store *store;
	struct vex_cache *cache;
};

struct vex_pool {
	const struct vex_config *cfg;
	const char *runner_id;
	pthread_mutex_t mu;
	pthread_cond_t wake_cv;  /* idle workers wait here for tokens */
	pthread_cond_t idle_cv;  /* signalled when busy drops to 0 */
	unsigned long seq;       /* bumped by every wake: a claim that raced a wake retries at once */
	int tokens;              /* wakes not yet taken by a waiting worker */
	int waiting;             /* workers blocked on wake_cv */
	int busy;                /* workers running a job */
	int draining;            /* stop claiming */
	int joined;
	atomic_int shutdown;     /* stop running jobs (reason shutdown) */
	int n;
	struct slot *slots;
	struct worker *workers;
};

/* The state of one job while a worker runs it. */
struct jobrun {
	struct worker *w;
	struct slot *slot;
	const struct vex_job *job;
	struct vex_progress last;  /* the latest progress reported */
	int has_progress;
	int pending;               /* "last" is newer than what SQLite holds */
	int written;               /* progress reached SQLite at least once */
	int64_t last_write_mono_us;
};

static void abs_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void fmt_ll(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
}

void vex_pool_wake(struct vex_pool *p, int n)
{
	int add;

	pthread_mutex_lock(&p->mu);
	p->seq++;
	add = p->waiting - p->tokens;
	if (add > n)
		add = n;
	if (add > 0) {
		p->tokens += add;
		if (add >= p->waiting)
			pthread_cond_broadcast(&p->wake_cv);
		else
			while (add-- > 0)
				pthread_cond_signal(&p->wake_cv);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Block until a wake token arrives, the pool drains or "timeout_ms" passes; returns at once
 * when a wake happened since "seen_seq" (our claim may have missed that job). */
static void wait_token(struct vex_pool *p, unsigned long seen_seq, int timeout_ms)
{
	struct timespec ts;

	abs_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&p->mu);
	if (p->seq == seen_seq && !p->draining) {
		p->waiting++;
		while (p->tokens == 0 && !p->draining)
			if (pthread_cond_timedwait(&p->wake_cv, &p->mu, &ts) != 0)
				break;
		if (p->tokens > 0)
			p->tokens--;
		p->waiting--;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Write the latest progress to SQLite when due ("force" ignores the 1/s limit), then publish. */
static void flush_progress(struct jobrun *r, int force)
{
	struct vex_job *stored = NULL;
	int64_t now = vex_mono_us();
	int rc;

	if (!r->pending)
		return;
	if (!force && r->written && now - r->last_write_mono_us < PROGRESS_WRITE_US)
		return;
	rc = vex_store_job_progress(r->w->store, r->job->id, r->w->lease_owner, &r->last, vex_now_us(), &stored);
	if (rc == VEX_ECONFLICT) {
		atomic_store(&r->slot->stop, VEX_STOP_LOST);
		return;
	}
	if (rc < 0) {
		/* keep it pending: the next check retries */
		vex_log(VEX_LOG_DEBUG, "progress write failed", "job_id", r->job->id, "error", vex_strerror(rc),
			NULL);
		return;
	}
	vex_jobcache_publish(r->w->cache, stored);
	vex_job_free(stored);
	r->pending = 0;
	r->written = 1;
	r->last_write_mono_us = now;
}

static void on_progress(struct vex_exec_ctx *ctx, const struct vex_progress *pr)
{
	struct jobrun *r = ctx->opaque;

	if (vex_progress_copy(&r->last, pr) < 0)
		return;
	r->has_progress = 1;
	r->pending = 1;
	flush_progress(r, 0);
}

static enum vex_stop on_should_stop(struct vex_exec_ctx *ctx)
{
	struct jobrun *r = ctx->opaque;
	int why = atomic_load(&r->slot->stop);

	if (why != VEX_STOP_NONE)
		return (enum vex_stop)why;
	if (vex_mono_us() >= ctx->deadline_mono_us)
		return VEX_STOP_TIMEOUT;
	if (atomic_load(&r->w->pool->shutdown))
		return VEX_STOP_SHUTDOWN;
	/* a progress report held back by the 1/s limit goes out once its second is over */
	flush_progress(r, 0);
	return (enum vex_stop)atomic_load(&r->slot->stop);
}

/* Record the end of the job: finish with "status" (retrying a busy database), or requeue when
 * "requeue". Returns 0, VEX_ECONFLICT (lease lost) or the last error. */
static int record(struct jobrun *r, int requeue, enum vex_job_status status, const struct vex_job *out)
{
	struct worker *w = r->w;
	struct vex_job *stored = NULL;
	int rc = VEX_ERROR, i;

	for (i = 0; i < FINISH_TRIES; i++) {
		if (requeue)
			rc = vex_store_job_requeue(w->store, r->job->id, w->lease_owner, 1, vex_now_us(), &stored);
		else
			rc = vex_store_job_finish(w->store, r->job->id, w->lease_owner, status, out, vex_now_us(),
						  &stored);
		if (rc != VEX_EBUSY && rc != VEX_EIO && rc != VEX_ERROR)
			break;
		vex_log(VEX_LOG_WARN, requeue ? "requeue failed, retrying" : "finish failed, retrying", "job_id",
			r->job->id, "error", vex_strerror(rc), NULL);
		sleep_ms(FINISH_RETRY_MS);
	}
	if (rc == 0) {
		vex_jobcache_publish(w->cache, stored);
		vex_job_free(stored);
	}
	return rc;
}

/* Turn the executor's return into the recorded outcome; logs what happened. */
static void conclude(struct jobrun *r, struct vex_exec_ctx *ctx, int exec_rc, struct vex_job *out,
		     int64_t timeout_ms, int64_t started_mono)
{
	enum vex_job_status status = VEX_JOB_FAILED;
	int requeue = 0, rc;
	char msg[96], ms[24];
	const char *what;

	if (exec_rc == 0) {
		status = out->status == VEX_JOB_COMPLETED ? VEX_JOB_COMPLETED : VEX_JOB_FAILED;
	} else if (exec_rc == VEX_ESTATE) {
		switch (ctx->stopped) {
		case VEX_STOP_LOST:
			vex_log(VEX_LOG_WARN, "lease lost, job dropped", "job_id", r->job->id, NULL);
			return;
		case VEX_STOP_CANCEL:
			status = VEX_JOB_CANCELED;
			vex_exec_fail(out, "CANCELED", "job canceled");
			break;
		case VEX_STOP_TIMEOUT:
			status = VEX_JOB_TIMEOUT;
			/* an executor that enforced a tool's own, shorter limit has said so already */
			if (!out->error_code || strcmp(out->error_code, "EXECUTION_TIMEOUT") != 0 || !out->error_message) {
				snprintf(msg, sizeof(msg), "Tool execution exceeded %lldms timeout", (long long)timeout_ms);
				vex_exec_fail(out, "EXECUTION_TIMEOUT", msg);
			} else {
				out->status = VEX_JOB_FAILED;
			}
			break;
		case VEX_STOP_SHUTDOWN:
		case VEX_STOP_NONE:
			requeue = 1;
			break;
		}
	} else {
		vex_log(VEX_LOG_ERROR, "executor failed", "job_id", r->job->id, "error", vex_strerror(exec_rc), NULL);
		vex_exec_fail(out, "INTERNAL_ERROR", vex_strerror(exec_rc));
	}
	/* finish stores the outcome's progress: carry the latest report unless the executor set one */
	if (!requeue && r->has_progress && !out->progress.current_step)
		vex_progress_copy(&out->progress, &r->last);
	rc = record(r, requeue, status, out);
	fmt_ll(ms, sizeof(ms), (vex_mono_us() - started_mono) / 1000);
	what = requeue ? "requeued" : vex_job_status_name(status);
	if (rc == VEX_ECONFLICT)
		vex_log(VEX_LOG_WARN, "lease lost, job dropped", "job_id", r->job->id, "outcome", what, NULL);
	else if (rc < 0)
		vex_log(VEX_LOG_ERROR, requeue ? "requeue failed" : "finish failed", "job_id", r->job->id, "outcome",
			what, "error", vex_strerror(rc), NULL);
	else if (requeue)
		vex_log(VEX_LOG_INFO, "requeue", "job_id", r->job->id, "reason", vex_stop_name(ctx->stopped),
			"ran_ms", ms, NULL);
	else
		vex_log(VEX_LOG_INFO, "finish", "job_id", r->job->id, "status", what, "error_code",
			out->error_code ? out->error_code : "", "ran_ms", ms, NULL);
}

static void run_job(struct worker *w, const struct vex_job *job)
{
	struct vex_pool *p = w->pool;
	struct slot *slot = &p->slots[w->idx];
	struct jobrun r = { .w = w, .slot = slot, .job = job };
	struct vex_exec_ctx ctx = { 0 };
	struct vex_job *out = vex_job_new();
	int64_t now = vex_mono_us();
	int64_t timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : p->cfg->default_timeout_ms;
	char attempt[24];
	int rc;

	pthread_mutex_lock(&p->mu);
	memcpy(slot->job_id, job->id, sizeof(slot->job_id));
	slot->claimed_mono_us = now;
	slot->attempts = job->attempts;
	atomic_store(&slot->stop, VEX_STOP_NONE);
	p->busy++;
	pthread_mutex_unlock(&p->mu);

	fmt_ll(attempt, sizeof(attempt), job->attempts);
	vex_log(VEX_LOG_INFO, "claim", "job_id", job->id, "kind", vex_job_kind_name(job->kind),
		job->kind == VEX_JOB_AGENT ? "agent_id" : "tool", job->kind == VEX_JOB_AGENT ? job->agent_id
		: (job->tool ? job->tool : ""), "attempt", attempt, "owner", job->owner, NULL);
	vex_jobcache_publish(w->cache, job);

	ctx.cfg = p->cfg;
	ctx.store = w->store;
	ctx.job = job;
	ctx.deadline_mono_us = now + timeout_ms * 1000;
	ctx.progress = on_progress;
	ctx.should_stop = on_should_stop;
	ctx.opaque = &r;
	if (!out)
		rc = VEX_ENOMEM;
	else if (job->kind == VEX_JOB_AGENT)
		rc = vex_exec_agent(&ctx, out);
	else
		rc = vex_exec_tool(&ctx, out);
	if (out) {
		conclude(&r, &ctx, rc, out, timeout_ms, now);
	} else {
		/* nothing to record with: leave the lease to expire and be rescued */
		vex_log(VEX_LOG_ERROR, "out of memory, job left to rescue", "job_id", job->id, NULL);
	}
	vex_job_free(out);
	vex_progress_release(&r.last);

	pthread_mutex_lock(&p->mu);
	slot->job_id[0] = '\0';
	atomic_store(&slot->stop, VEX_STOP_NONE);
	if (--p->busy == 0)
		pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->mu);
}

static int is_draining(struct vex_pool *p, unsigned long *ret_seq)
{
	int d;

	pthread_mutex_lock(&p->mu);
	d = p->draining;
	*ret_seq = p->seq;
	pthread_mutex_unlock(&p->mu);
	return d;
}

/* Open this thread's store and cache; retried each second until it works or the pool drains. */
static int worker_open(struct worker *w)
{
	unsigned long seq;

	for (;;) {
		if (is_draining(w->pool, &seq))
			return VEX_ESTATE;
		if (vex_handles_try(w->pool->cfg, &w->store, &w->cache) == 0)
			return 0;
		wait_token(w->pool, seq, 1000);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vex_pool *p = w->pool;
	const struct vex_config *cfg = p->cfg;
	struct vex_job *job;
	unsigned long seq;
	int rc;

	if (worker_open(w) < 0)
		goto out;
	while (!is_draining(p, &seq)) {
		job = NULL;
		rc = vex_store_job_claim(w->store, w->lease_owner, vex_now_us(), (int64_t)cfg->lease_ms * 1000,
					 cfg->plan_concurrency, &job);
		if (rc == 0) {
			run_job(w, job);
			vex_job_free(job);
			continue;
		}
		if (rc != VEX_ENOTFOUND) {
			vex_log(VEX_LOG_WARN, "claim failed", "error", vex_strerror(rc), NULL);
			sleep_ms(100); /* back off a little */
			continue;
		}
		/* the main thread turns every quiet poll tick into a wake; this timeout is only a safety net */
		wait_token(p, seq, 10 * cfg->poll_interval_ms + 1000);
	}
out:
	vex_cache_free(w->cache);
	vex_store_free(w->store);
	w->cache = NULL;
	w->store = NULL;
	return NULL;
}

int vex_pool_start(const struct vex_config *cfg, const char *runner_id, struct vex_pool **ret)
{
	struct vex_pool *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	int rc = VEX_ENOMEM, i, n = cfg->runner_concurrency > 0 ? cfg->runner_concurrency : 1;

	if (!p)
		goto out;
	p->cfg = cfg;
	p->runner_id = runner_id;
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake_cv, &ca);
	pthread_cond_init(&p->idle_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&p->shutdown, 0);
	p->slots = calloc((size_t)n, sizeof(*p->slots));
	p->workers = calloc((size_t)n, sizeof(*p->workers));
	if (!p->slots || !p->workers)
		goto out;
	for (i = 0; i < n; i++) {
		atomic_init(&p->slots[i].stop, VEX_STOP_NONE);
		p->workers[i].pool = p;
		p->workers[i].idx = i;
		snprintf(p->workers[i].lease_owner, sizeof(p->workers[i].lease_owner), "%.*s/w%d",
			 VEX_RUNNER_ID_MAX, runner_id, i);
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]) != 0) {
			rc = VEX_ERROR;
			goto out;
		}
		p->workers[i].started = 1;
	}
	*ret = p;
	p = NULL;
	rc = 0;
out:
	if (p) {
		vex_pool_drain(p);
		vex_pool_free(p);
	}
	return rc;
}

void vex_pool_drain(struct vex_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->draining = 1;
	pthread_cond_broadcast(&p->wake_cv);
	pthread_mutex_unlock(&p->mu);
}

int vex_pool_wait_idle(struct vex_pool *p, int timeout_ms)
{
	struct timespec ts;
	int rc;

	abs_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		if (pthread_cond_timedwait(&p->idle_cv, &p->mu, &ts) != 0)
			break;
	rc = p->busy > 0 ? VEX_EBUSY : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void vex_pool_stop_running(struct vex_pool *p)
{
	atomic_store(&p->shutdown, 1);
}

void vex_pool_join(struct vex_pool *p)
{
	int i;

	if (p->joined)
		return;
	for (i = 0; i < p->n; i++)
		if (p->workers && p->workers[i].started)
			pthread_join(p->workers[i].tid, NULL);
	p->joined = 1;
}

void vex_pool_free(struct vex_pool *p)
{
	if (!p)
		return;
	vex_pool_drain(p);
	vex_pool_join(p);
	pthread_cond_destroy(&p->wake_cv);
	pthread_cond_destroy(&p->idle_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->slots);
	free(p->workers);
	free(p);
}

size_t vex_pool_running(struct vex_pool *p, struct vex_running *out, size_t max)
{
	size_t k = 0;
	int i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n && k < max; i++) {
		if (!p->slots[i].job_id[0])
			continue;
		out[k].slot = i;
		memcpy(out[k].job_id, p->slots[i].job_id, sizeof(out[k].job_id));
		memcpy(out[k].lease_owner, p->workers[i].lease_owner, sizeof(out[k].lease_owner));
		out[k].attempts = p->slots[i].attempts;
		out[k].claimed_mono_us = p->slots[i].claimed_mono_us;
		k++;
	}
	pthread_mutex_unlock(&p->mu);
	return k;
}

void vex_pool_request_stop(struct vex_pool *p, int slot, const char *job_id, enum vex_stop why)
{
	if (slot < 0 || slot >= p->n)
		return;
	pthread_mutex_lock(&p->mu);
	/* LOST outranks CANCEL: once the lease is gone nothing may be recorded */
	if (strcmp(p->slots[slot].job_id, job_id) == 0 &&
	    (atomic_load(&p->slots[slot].stop) == VEX_STOP_NONE || why == VEX_STOP_LOST))
		atomic_store(&p->slots[slot].stop, (int)why);
	pthread_mutex_unlock(&p->mu);
}

int vex_pool_size(const struct vex_pool *p)
{
	return p->n;
}
