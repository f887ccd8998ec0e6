/* pool.c - the worker threads: claim, publish, execute, finish; the running-job table they share. */
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "runner/exec_agent.h"
#include "runner/exec_tool.h"
#include "runner/handles.h"
#include "runner/pool.h"
#include "runner/pool_internal.h"
#include "core/metrics/metrics.h"

/* SQLite sees progress at most this often per job (memcached follows each write). */
#define PROGRESS_WRITE_US 1000000

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

/* CLOCK_MONOTONIC "us" microseconds from now, for pthread_cond_timedwait. */
static void abs_deadline_us(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (us % 1000000) * 1000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void vex_pool_wake(struct vex_pool *p, int n)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->want_claim = 1;
	vex_pool_kick_writer_locked(p);
	pthread_mutex_unlock(&p->mu);
}

void vex_pool_kick_writer_locked(struct vex_pool *p)
{
	uint64_t one = 1;

	pthread_cond_signal(&p->writer_cv);
	if (p->writer_polling && p->kick_fd >= 0 && write(p->kick_fd, &one, sizeof(one)) < 0) {
		/* the counter is already set (EAGAIN): the writer wakes anyway */
	}
}

void vex_pool_op_push(struct vex_pool *p, struct pool_op *op)
{
	op->next = NULL;
	*p->ops_tail = op;
	p->ops_tail = &op->next;
	p->inflight++;
	vex_pool_kick_writer_locked(p);
}

void vex_pool_op_free(struct pool_op *op)
{
	if (!op)
		return;
	vex_job_free(op->outcome);
	vex_progress_release(&op->progress);
	free(op);
}

/* A new op for the job "r" runs, or NULL when out of memory. */
static struct pool_op *op_new(struct jobrun *r, enum vex_job_write_op what)
{
	struct pool_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	memcpy(op->job_id, r->job->id, sizeof(op->job_id));
	op->slot = r->w->idx;
	op->attempts = r->job->attempts;
	op->w.op = what;
	op->w.id = op->job_id;
	op->w.lease_owner = r->w->lease_owner;
	return op;
}

/* Hand the latest progress to the writer when due ("force" ignores the 1/s limit); the writer
 * writes it to SQLite in its next transaction and publishes the job that write returns. */
static void flush_progress(struct jobrun *r, int force)
{
	struct vex_pool *p = r->w->pool;
	int64_t now = vex_mono_us();
	struct pool_op *op;

	if (!r->pending)
		return;
	if (!force && r->written && now - r->last_write_mono_us < PROGRESS_WRITE_US)
		return;
	op = op_new(r, VEX_JW_PROGRESS);
	if (!op || vex_progress_copy(&op->progress, &r->last) < 0) {
		vex_pool_op_free(op); /* keep it pending: the next check retries */
		return;
	}
	op->w.progress = &op->progress;
	pthread_mutex_lock(&p->mu);
	vex_pool_op_push(p, op);
	pthread_mutex_unlock(&p->mu);
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

/* ctx->wait: the worker sleeps on its slot's condition variable, which vex_pool_request_stop and
 * vex_pool_stop_running signal, so a sleeping job costs no wake-ups and stops at once. */
static void on_wait(struct vex_exec_ctx *ctx, int64_t until_mono_us)
{
	struct jobrun *r = ctx->opaque;
	struct vex_pool *p = r->w->pool;
	int64_t left = until_mono_us - vex_mono_us();
	struct timespec ts;

	if (left <= 0)
		return;
	abs_deadline_us(&ts, left);
	pthread_mutex_lock(&p->mu);
	while (atomic_load(&r->slot->stop) == VEX_STOP_NONE && !atomic_load(&p->shutdown))
		if (pthread_cond_timedwait(&r->slot->cv, &p->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&p->mu);
}

/*
 * Turn the executor's return into the op that records it (finish or requeue), taking "*out"; NULL
 * when nothing is to be recorded (the lease was lost) or out of memory (then the lease expires and
 * rescue recovers the job).
 */
static struct pool_op *conclude(struct jobrun *r, struct vex_exec_ctx *ctx, int exec_rc, struct vex_job **out,
				int64_t timeout_ms, int64_t started_mono)
{
	struct vex_job *o = *out;
	enum vex_job_status status = VEX_JOB_FAILED;
	struct pool_op *op;
	int requeue = 0;
	char msg[96];

	if (exec_rc == 0) {
		status = o->status == VEX_JOB_COMPLETED ? VEX_JOB_COMPLETED : VEX_JOB_FAILED;
	} else if (exec_rc == VEX_ESTATE) {
		switch (ctx->stopped) {
		case VEX_STOP_LOST:
			vex_log(VEX_LOG_WARN, "lease lost, job dropped", "job_id", r->job->id, NULL);
			return NULL;
		case VEX_STOP_CANCEL:
			status = VEX_JOB_CANCELED;
			vex_exec_fail(o, "CANCELED", "job canceled");
			break;
		case VEX_STOP_TIMEOUT:
			status = VEX_JOB_TIMEOUT;
			/* an executor that enforced a tool's own, shorter limit has said so already */
			if (!o->error_code || strcmp(o->error_code, "EXECUTION_TIMEOUT") != 0 || !o->error_message) {
				snprintf(msg, sizeof(msg), "Tool execution exceeded %lldms timeout", (long long)timeout_ms);
				vex_exec_fail(o, "EXECUTION_TIMEOUT", msg);
			} else {
				o->status = VEX_JOB_FAILED;
			}
			break;
		case VEX_STOP_SHUTDOWN:
		case VEX_STOP_NONE:
			requeue = 1;
			break;
		}
	} else {
		vex_log(VEX_LOG_ERROR, "executor failed", "job_id", r->job->id, "error", vex_strerror(exec_rc), NULL);
		vex_exec_fail(o, "INTERNAL_ERROR", vex_strerror(exec_rc));
	}
	/* finish stores the outcome's progress: carry the latest report unless the executor set one */
	if (!requeue && r->has_progress && !o->progress.current_step)
		vex_progress_copy(&o->progress, &r->last);
	op = op_new(r, requeue ? VEX_JW_REQUEUE : VEX_JW_FINISH);
	if (!op) {
		vex_log(VEX_LOG_ERROR, "out of memory, job left to rescue", "job_id", r->job->id, NULL);
		return NULL;
	}
	op->stopped = ctx->stopped;
	op->ran_ms = (vex_mono_us() - started_mono) / 1000;
	if (requeue) {
		op->w.refund_attempt = 1; /* the interrupted attempt is not counted */
	} else {
		op->w.status = status;
		op->outcome = o;
		op->w.outcome = o;
		*out = NULL;
	}
	return op;
}

static void log_claim(const struct vex_job *job)
{
	char attempt[24];

	snprintf(attempt, sizeof(attempt), "%d", job->attempts);
	vex_log(VEX_LOG_INFO, "claim", "job_id", job->id, "kind", vex_job_kind_name(job->kind),
		job->kind == VEX_JOB_AGENT ? "agent_id" : "tool", job->kind == VEX_JOB_AGENT ? job->agent_id
		: (job->tool ? job->tool : ""), "attempt", attempt, "owner", job->owner,
		/* last: without one, the NULL key ends the pairs */
		job->traceparent ? "traceparent" : NULL, job->traceparent, NULL);
}

/* Run the job the writer claimed for this worker's slot (already in the slot's table entry), then
 * hand its outcome to the writer and free the slot, without waiting for the commit. */
static void run_job(struct worker *w, struct vex_job *job)
{
	struct vex_pool *p = w->pool;
	struct slot *slot = &p->slots[w->idx];
	struct jobrun r = { .w = w, .slot = slot, .job = job };
	struct vex_exec_ctx ctx = { 0 };
	struct vex_job *out = vex_job_new();
	struct pool_op *op = NULL;
	int64_t now = vex_mono_us();
	int64_t timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : p->cfg->default_timeout_ms;
	int rc;

	log_claim(job);
	if (job->attempts == 1)
		vex_metrics_dispatch(vex_now_us() - job->created_at);
	ctx.cfg = p->cfg;
	ctx.store = w->store;
	ctx.job = job;
	ctx.deadline_mono_us = now + timeout_ms * 1000;
	ctx.progress = on_progress;
	ctx.should_stop = on_should_stop;
	ctx.wait = on_wait;
	ctx.opaque = &r;
	if (!out)
		rc = VEX_ENOMEM;
	else if (job->kind == VEX_JOB_AGENT)
		rc = vex_exec_agent(&ctx, out);
	else
		rc = vex_exec_tool(&ctx, out);
	if (out)
		op = conclude(&r, &ctx, rc, &out, timeout_ms, now);
	else /* nothing to record with: leave the lease to expire and be rescued */
		vex_log(VEX_LOG_ERROR, "out of memory, job left to rescue", "job_id", job->id, NULL);
	vex_job_free(out);
	vex_progress_release(&r.last);

	pthread_mutex_lock(&p->mu);
	if (op)
		vex_pool_op_push(p, op);
	slot->job_id[0] = '\0';
	atomic_store(&slot->stop, VEX_STOP_NONE);
	p->busy--;
	vex_metrics_runner_busy(p->busy);
	p->want_claim = 1; /* this slot is free: claim for it in the writer's next round */
	vex_pool_kick_writer_locked(p);
	if (p->busy == 0 && p->inflight == 0)
		pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->mu);
}

/* Open this thread's store and cache; retried each second until it works or the pool drains. */
static int worker_open(struct worker *w)
{
	struct vex_pool *p = w->pool;
	struct timespec ts;
	int draining;

	for (;;) {
		if (vex_handles_try(p->cfg, &w->store, &w->cache) == 0)
			return 0;
		abs_deadline_us(&ts, 1000000);
		pthread_mutex_lock(&p->mu);
		if (!p->draining)
			pthread_cond_timedwait(&p->slots[w->idx].cv, &p->mu, &ts);
		draining = p->draining;
		pthread_mutex_unlock(&p->mu);
		if (draining)
			return VEX_ESTATE;
	}
}

/* Wait for the job the writer claims for this slot: NULL once the pool drains and none is left. */
static struct vex_job *take_job(struct worker *w)
{
	struct vex_pool *p = w->pool;
	struct slot *slot = &p->slots[w->idx];
	struct vex_job *job;

	pthread_mutex_lock(&p->mu);
	/* a job claimed for this slot is running in the store: run it even while draining */
	while (!slot->next && !p->draining)
		pthread_cond_wait(&slot->cv, &p->mu);
	job = slot->next;
	slot->next = NULL;
	if (!job)
		slot->ready = 0;
	pthread_mutex_unlock(&p->mu);
	return job;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vex_pool *p = w->pool;
	struct vex_job *job;

	if (worker_open(w) < 0)
		goto out;
	pthread_mutex_lock(&p->mu);
	p->slots[w->idx].ready = 1;
	p->want_claim = 1;
	vex_pool_kick_writer_locked(p);
	pthread_mutex_unlock(&p->mu);
	while ((job = take_job(w)) != NULL) {
		run_job(w, job);
		vex_job_free(job);
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
	p->ops_tail = &p->ops;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->writer_cv, &ca);
	p->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_cond_init(&p->idle_cv, &ca);
	atomic_init(&p->shutdown, 0);
	p->slots = calloc((size_t)n, sizeof(*p->slots));
	p->workers = calloc((size_t)n, sizeof(*p->workers));
	if (!p->slots || !p->workers) {
		pthread_condattr_destroy(&ca);
		goto out;
	}
	for (i = 0; i < n; i++) {
		atomic_init(&p->slots[i].stop, VEX_STOP_NONE);
		pthread_cond_init(&p->slots[i].cv, &ca);
		p->workers[i].pool = p;
		p->workers[i].idx = i;
		snprintf(p->workers[i].lease_owner, sizeof(p->workers[i].lease_owner), "%.*s/w%d",
			 VEX_RUNNER_ID_MAX, runner_id, i);
	}
	pthread_condattr_destroy(&ca);
	rc = VEX_ERROR;
	/* Without it the writer checkpoints itself, as any connection does. */
	p->ckpt_started = vex_checkpointer_start(&p->ckpt, cfg) == 0;
	if (!p->ckpt_started)
		vex_log(VEX_LOG_WARN, "no checkpoint thread: the runner's writer checkpoints itself", NULL);
	if (pthread_create(&p->writer_tid, NULL, vex_pool_writer_main, p) != 0)
		goto out;
	p->writer_started = 1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]) != 0)
			goto out;
		p->workers[i].started = 1;
	}
	*ret = p;
	p = NULL;
	rc = 0;
out:
	if (p && p->slots && p->workers) {
		vex_pool_drain(p);
		vex_pool_free(p);
	} else if (p) {
		free(p->slots);
		free(p->workers);
		free(p);
	}
	return rc;
}

void vex_pool_drain(struct vex_pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->draining = 1;
	for (i = 0; i < p->n; i++)
		pthread_cond_signal(&p->slots[i].cv);
	vex_pool_kick_writer_locked(p);
	pthread_mutex_unlock(&p->mu);
}

int vex_pool_wait_idle(struct vex_pool *p, int timeout_ms)
{
	struct timespec ts;
	int rc;

	abs_deadline_us(&ts, (int64_t)timeout_ms * 1000);
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0 || p->inflight > 0)
		if (pthread_cond_timedwait(&p->idle_cv, &p->mu, &ts) != 0)
			break;
	rc = p->busy > 0 || p->inflight > 0 ? VEX_EBUSY : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void vex_pool_stop_running(struct vex_pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	atomic_store(&p->shutdown, 1);
	for (i = 0; i < p->n; i++)
		pthread_cond_broadcast(&p->slots[i].cv); /* jobs asleep in on_wait */
	pthread_mutex_unlock(&p->mu);
}

/* Workers first (their last finishes and requeues go to the writer), then the writer, which
 * commits what is left before it exits. */
void vex_pool_join(struct vex_pool *p)
{
	int i;

	if (p->joined)
		return;
	for (i = 0; i < p->n; i++)
		if (p->workers && p->workers[i].started)
			pthread_join(p->workers[i].tid, NULL);
	pthread_mutex_lock(&p->mu);
	p->writer_stop = 1;
	vex_pool_kick_writer_locked(p);
	pthread_mutex_unlock(&p->mu);
	if (p->writer_started)
		pthread_join(p->writer_tid, NULL);
	vex_checkpointer_release(&p->ckpt); /* after the writer: its commits call vex_checkpointer_due */
	p->joined = 1;
}

void vex_pool_free(struct vex_pool *p)
{
	int i;

	if (!p)
		return;
	vex_pool_drain(p);
	vex_pool_join(p);
	for (i = 0; i < p->n; i++) {
		vex_job_free(p->slots[i].next);
		pthread_cond_destroy(&p->slots[i].cv);
	}
	while (p->ops) {
		struct pool_op *op = p->ops;

		p->ops = op->next;
		vex_pool_op_free(op);
	}
	pthread_cond_destroy(&p->writer_cv);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
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

void vex_pool_request_stop_locked(struct vex_pool *p, int slot, const char *job_id, enum vex_stop why)
{
	if (slot < 0 || slot >= p->n)
		return;
	/* LOST outranks CANCEL: once the lease is gone nothing may be recorded */
	if (strcmp(p->slots[slot].job_id, job_id) == 0 &&
	    (atomic_load(&p->slots[slot].stop) == VEX_STOP_NONE || why == VEX_STOP_LOST)) {
		atomic_store(&p->slots[slot].stop, (int)why);
		pthread_cond_broadcast(&p->slots[slot].cv); /* a job asleep in on_wait */
	}
}

void vex_pool_request_stop(struct vex_pool *p, int slot, const char *job_id, enum vex_stop why)
{
	pthread_mutex_lock(&p->mu);
	vex_pool_request_stop_locked(p, slot, job_id, why);
	pthread_mutex_unlock(&p->mu);
}

int vex_pool_size(const struct vex_pool *p)
{
	return p->n;
}
