/* pool_writer.c - the pool's writer thread: each round commits the workers' finishes, requeues and
 * progress together with the claims for the idle slots (one transaction, one fsync), hands the
 * claimed jobs to their workers, then publishes every changed job to memcached. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/jobs/commitq.h"
#include "core/jobs/jobcache.h"
#include "core/store/store.h"
#include "runner/handles.h"
#include "runner/pool_internal.h"
#include "core/metrics/metrics.h"

/* Writes taken into one transaction at most; the rest wait for the next round. */
#define ROUND_MAX 128
/* New jobs from the intake in one transaction at most (one request in flight per client). */
#define INTAKE_MAX 256
/* A round that hits a busy or failing database is retried this far apart; a write that failed
 * this many rounds is dropped (its lease expires and rescue recovers the job). */
#define WRITE_TRIES 5
#define RETRY_MS 100
/* An idle writer that owes memcached deletes (core/jobs/cache.h) tries them this often. */
#define OWED_RETRY_MS 250

struct writer {
	struct vex_pool *p;
	struct vex_store *store;
	struct vex_cache *cache;
	struct pool_op *ops[ROUND_MAX];
	struct vex_job_write w[ROUND_MAX];
	size_t nops;
	const char **owners;       /* the lease owners of the slots claimed for */
	int *owner_slot;
	struct vex_job **claimed;
	size_t nclaim;
	/* this round's changed jobs for memcached: first the claims carried from the round before,
	 * then the writes (a later item of the same job supersedes an earlier one) */
	struct vex_jobcache_item *items; /* ROUND_MAX + slots */
	size_t nitems, ncarry;
	struct vex_jobcache_item *claims; /* this round's claims; slots */
	size_t nclaims;
	/* the intake: vex-api's workers hand new jobs to this writer (core/jobs/commitq.h), which
	 * commits them with its round, so a new job can be claimed by the transaction that stores it */
	int intake_fd;                     /* the listening socket, -1: none */
	struct vex_commitq_server *intake;
	struct pollfd pfd[1 + VEX_COMMITQ_POLLFDS]; /* kick_fd, then the intake's */
	struct vex_commitq_req in[INTAKE_MAX];
	size_t nin;
	struct vex_job *in_jobs[INTAKE_MAX], *in_rets[INTAKE_MAX];
	int in_created[INTAKE_MAX], in_rcs[INTAKE_MAX];
};

static void nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Under pool->mu: the idle slots a claim may fill, into wr->owners (none while draining). */
static void pick_slots(struct writer *wr)
{
	struct vex_pool *p = wr->p;
	int i;

	wr->nclaim = 0;
	if (!p->want_claim || p->draining)
		return;
	for (i = 0; i < p->n; i++) {
		struct slot *s = &p->slots[i];

		if (!s->ready || s->job_id[0] || s->next)
			continue;
		wr->owners[wr->nclaim] = p->workers[i].lease_owner;
		wr->owner_slot[wr->nclaim++] = i;
	}
	/* a wake or a freed slot during the transaction sets it again */
	p->want_claim = 0;
}

/* Poll the intake (and kick_fd) up to "ms" (-1: no limit, 0: a look), taking the requests that are
 * complete into wr->in. Called without pool->mu. */
static void intake_poll(struct writer *wr, int ms)
{
	struct vex_pool *p = wr->p;
	uint64_t kicks;
	size_t n;

	wr->pfd[0] = (struct pollfd){ .fd = ms == 0 ? -1 : p->kick_fd, .events = POLLIN };
	n = 1 + vex_commitq_server_pollfds(wr->intake, wr->pfd + 1);
	if (poll(wr->pfd, n, ms) <= 0)
		return;
	if (wr->pfd[0].revents & POLLIN) {
		ssize_t got = read(p->kick_fd, &kicks, sizeof(kicks));

		(void)got; /* only its being readable matters */
	}
	wr->nin += vex_commitq_server_take(wr->intake, wr->pfd + 1, n - 1, wr->in + wr->nin, INTAKE_MAX - wr->nin);
}

/* Under pool->mu, with nothing to do: sleep until a kick, an intake request or "ms" (-1: no limit).
 * 0 when woken, ETIMEDOUT otherwise. Returns with pool->mu held. */
static int wait_work(struct writer *wr, int ms)
{
	struct vex_pool *p = wr->p;
	struct timespec ts;
	size_t had = wr->nin;

	if (!wr->intake) {
		if (ms < 0)
			return pthread_cond_wait(&p->writer_cv, &p->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		return pthread_cond_timedwait(&p->writer_cv, &p->mu, &ts);
	}
	p->writer_polling = 1;
	pthread_mutex_unlock(&p->mu);
	intake_poll(wr, ms);
	pthread_mutex_lock(&p->mu);
	p->writer_polling = 0;
	if (wr->nin > had)
		p->want_claim = 1; /* new jobs: claim for the idle slots in the same transaction */
	return wr->nin > had || (wr->pfd[0].revents & POLLIN) ? 0 : ETIMEDOUT;
}

/* Wait for work, then take this round's ops and slots. 0 when the writer must exit. */
static int take_round(struct writer *wr)
{
	struct vex_pool *p = wr->p;

	if (wr->intake && wr->nin < INTAKE_MAX)
		intake_poll(wr, 0); /* what came during the last round joins this one */
	pthread_mutex_lock(&p->mu);
	if (wr->nin > 0)
		p->want_claim = 1;
	for (;;) {
		pick_slots(wr);
		if (p->ops || wr->nclaim > 0 || wr->nin > 0)
			break;
		if (wr->ncarry > 0) {
			/* nothing follows at once: the carried claims go out now */
			pthread_mutex_unlock(&p->mu);
			vex_jobcache_put_items(wr->cache, wr->items, wr->ncarry);
			wr->ncarry = 0;
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->writer_stop) {
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		if (vex_cache_owed(wr->cache) > 0) {
			/* writes that missed memcached: made good once it answers, even with no work */
			if (wait_work(wr, OWED_RETRY_MS) == 0)
				continue;
			pthread_mutex_unlock(&p->mu);
			vex_cache_settle(wr->cache);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (wr->intake)
			vex_commitq_server_sweep(wr->intake); /* nothing in flight: close who went away */
		wait_work(wr, -1);
	}
	wr->nops = 0;
	while (p->ops && wr->nops < ROUND_MAX) {
		struct pool_op *op = p->ops;

		p->ops = op->next;
		op->next = NULL;
		wr->ops[wr->nops++] = op;
	}
	if (!p->ops)
		p->ops_tail = &p->ops;
	pthread_mutex_unlock(&p->mu);
	return 1;
}

/* The round failed: its ops go back to the front of the queue, but for those out of tries. */
static void round_failed(struct writer *wr, int rc)
{
	struct vex_pool *p = wr->p;
	struct pool_op *keep = NULL, **tail = &keep;
	size_t i;

	vex_log(VEX_LOG_WARN, "runner write failed, retrying", "error", vex_strerror(rc), NULL);
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < wr->nops; i++) {
		struct pool_op *op = wr->ops[i];

		if (++op->tries < WRITE_TRIES) {
			*tail = op;
			tail = &op->next;
			continue;
		}
		if (op->w.op != VEX_JW_PROGRESS)
			vex_log(VEX_LOG_ERROR, op->w.op == VEX_JW_REQUEUE ? "requeue failed" : "finish failed", "job_id",
				op->job_id, "error", vex_strerror(rc), NULL);
		vex_pool_op_free(op);
		p->inflight--;
	}
	if (keep) {
		*tail = p->ops;
		if (!p->ops)
			p->ops_tail = tail;
		p->ops = keep;
	}
	if (wr->nclaim > 0)
		p->want_claim = 1;
	if (p->busy == 0 && p->inflight == 0)
		pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->mu);
	wr->nops = 0;
	nap_ms(RETRY_MS);
}

/* How long the running copies of just-claimed jobs wait for those jobs' finishes (short jobs
 * end within it) before they go to memcached on their own. Nothing waits for it but the cache. */
#define CLAIM_PUBLISH_WAIT_MS 1

/* After the writes went out: when more writes come within CLAIM_PUBLISH_WAIT_MS (short jobs
 * finishing) or a claim is due, keep the claims' copies for the next round, where a job's finish
 * supersedes its running copy and only one write of it reaches memcached; otherwise publish them. */
static void publish_claims(struct writer *wr)
{
	struct vex_pool *p = wr->p;
	int more;

	if (wr->nclaims == 0)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->ops && !p->want_claim && !p->writer_stop)
		wait_work(wr, CLAIM_PUBLISH_WAIT_MS);
	more = (p->ops != NULL || p->want_claim) && !p->writer_stop;
	pthread_mutex_unlock(&p->mu);
	if (more) {
		memcpy(wr->items, wr->claims, wr->nclaims * sizeof(*wr->claims));
		wr->ncarry = wr->nclaims;
	} else {
		vex_jobcache_put_items(wr->cache, wr->claims, wr->nclaims);
	}
	wr->nclaims = 0;
}

/* Under pool->mu: a job claimed for slot "idx" whose worker is gone goes back to the queue with
 * the next round (the attempt refunded), as a job stopped by a shutdown does; "j" is freed. */
static void give_back(struct writer *wr, int idx, struct vex_job *j)
{
	struct vex_pool *p = wr->p;
	struct pool_op *op = calloc(1, sizeof(*op));

	if (!op) {
		vex_log(VEX_LOG_ERROR, "out of memory, job left to rescue", "job_id", j->id, NULL);
	} else {
		memcpy(op->job_id, j->id, sizeof(op->job_id));
		op->slot = idx;
		op->attempts = j->attempts;
		op->stopped = VEX_STOP_SHUTDOWN;
		op->w.op = VEX_JW_REQUEUE;
		op->w.id = op->job_id;
		op->w.lease_owner = p->workers[idx].lease_owner;
		op->w.refund_attempt = 1;
		vex_pool_op_push(p, op);
	}
	vex_job_free(j);
}

/* After the commit: hand the claimed jobs to their slots, settle the ops. */
static void hand_out(struct writer *wr, size_t nclaimed)
{
	struct vex_pool *p = wr->p;
	int64_t now = vex_mono_us();
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < nclaimed; i++) {
		struct slot *s = &p->slots[wr->owner_slot[i]];
		struct vex_job *j = wr->claimed[i];

		if (!s->ready) {
			/* its worker left meanwhile (the pool drains): give the job back */
			give_back(wr, wr->owner_slot[i], j);
			continue;
		}
		memcpy(s->job_id, j->id, sizeof(s->job_id));
		s->attempts = j->attempts;
		s->claimed_mono_us = now;
		atomic_store(&s->stop, VEX_STOP_NONE);
		s->next = j;
		p->busy++;
		pthread_cond_signal(&s->cv);
	}
	vex_metrics_runner_busy(p->busy);
	/* all idle slots filled: more may be claimable once one frees (its worker asks again) */
	for (i = 0; i < wr->nops; i++)
		if (wr->ops[i]->w.op == VEX_JW_PROGRESS && wr->w[i].rc == VEX_ECONFLICT)
			vex_pool_request_stop_locked(p, wr->ops[i]->slot, wr->ops[i]->job_id, VEX_STOP_LOST);
	p->inflight -= (int)wr->nops;
	if (p->busy == 0 && p->inflight == 0)
		pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->mu);
}

static void log_op(const struct pool_op *op, const struct vex_job_write *w)
{
	const char *what = op->w.op == VEX_JW_REQUEUE ? "requeued" : vex_job_status_name(op->w.status);
	/* the submit's trace context, last: without one, the NULL key ends the pairs */
	const char *tp = w->job ? w->job->traceparent : NULL, *tp_key = tp ? "traceparent" : NULL;
	char ms[24];

	if (op->w.op == VEX_JW_PROGRESS) {
		if (w->rc < 0)
			vex_log(VEX_LOG_DEBUG, "progress write failed", "job_id", op->job_id, "error",
				vex_strerror(w->rc), NULL);
		return;
	}
	snprintf(ms, sizeof(ms), "%lld", (long long)op->ran_ms);
	if (w->rc == VEX_ECONFLICT)
		vex_log(VEX_LOG_WARN, "lease lost, job dropped", "job_id", op->job_id, "outcome", what, NULL);
	else if (w->rc < 0)
		vex_log(VEX_LOG_ERROR, op->w.op == VEX_JW_REQUEUE ? "requeue failed" : "finish failed", "job_id",
			op->job_id, "outcome", what, "error", vex_strerror(w->rc), NULL);
	else if (op->w.op == VEX_JW_REQUEUE)
		vex_log(VEX_LOG_INFO, "requeue", "job_id", op->job_id, "reason", vex_stop_name(op->stopped), "ran_ms",
			ms, tp_key, tp, NULL);
	else
		vex_log(VEX_LOG_INFO, "finish", "job_id", op->job_id, "status", what, "error_code",
			w->job && w->job->error_code ? w->job->error_code : "", "ran_ms", ms, tp_key, tp, NULL);
}

/* After the round's transaction (or its failure): each new job's answer to its worker. */
static void answer_intake(struct writer *wr)
{
	for (size_t i = 0; i < wr->nin; i++) {
		vex_commitq_server_answer(&wr->in[i], wr->in_rcs[i], wr->in_created[i], wr->in_rets[i]);
		vex_job_free(wr->in_rets[i]);
		wr->in_rets[i] = NULL;
	}
	if (wr->nin > 0)
		vex_metrics_inc(VEX_M_INTAKE_ROUNDS);
	wr->nin = 0;
}

/* One round: the transaction, the hand-out, then the cache and the log. */
static void run_round(struct writer *wr)
{
	struct vex_pool *p = wr->p;
	const struct vex_config *cfg = p->cfg;
	struct vex_claim_batch claim = { wr->owners, wr->nclaim, (int64_t)cfg->lease_ms * 1000, cfg->plan_concurrency,
					 wr->claimed, 0 };
	size_t i;
	int rc;

	struct vex_insert_batch ins = { wr->in_jobs, wr->nin, wr->in_rets, wr->in_created, wr->in_rcs };

	for (i = 0; i < wr->nops; i++)
		wr->w[i] = wr->ops[i]->w;
	for (i = 0; i < wr->nin; i++)
		wr->in_jobs[i] = wr->in[i].job;
	rc = vex_store_jobs_round(wr->store, wr->nin ? &ins : NULL, wr->w, wr->nops, wr->nclaim ? &claim : NULL,
				  vex_now_us());
	if (rc < 0) {
		answer_intake(wr); /* the submits get the error; their workers answer it */
		round_failed(wr, rc);
		return;
	}
	/* rendered before the hand-out: a worker frees its job when it is done with it */
	wr->nitems = wr->ncarry;
	for (i = 0; i < wr->nops; i++) {
		if (wr->w[i].rc == 0 && wr->ops[i]->w.op == VEX_JW_FINISH)
			vex_metrics_job_finished(wr->w[i].job);
		if (wr->w[i].rc == 0 && vex_jobcache_render(wr->w[i].job, &wr->items[wr->nitems]) == 0)
			wr->nitems++;
	}
	wr->nclaims = 0;
	for (i = 0; i < claim.n; i++) {
		vex_metrics_job_started(wr->claimed[i]);
		if (vex_jobcache_render(wr->claimed[i], &wr->claims[wr->nclaims]) == 0)
			wr->nclaims++;
	}
	hand_out(wr, claim.n);
	answer_intake(wr);
	vex_jobcache_put_items(wr->cache, wr->items, wr->nitems);
	wr->ncarry = 0;
	publish_claims(wr);
	for (i = 0; i < wr->nops; i++) {
		log_op(wr->ops[i], &wr->w[i]);
		vex_job_free(wr->w[i].job);
		vex_pool_op_free(wr->ops[i]);
	}
	wr->nops = 0;
}

/* Listen on [server] intake_socket. Without it (another runner serves it, or it failed) new jobs
 * reach the store through vex-api's committer, as before. */
static void intake_open(struct writer *wr)
{
	const char *path = wr->p->cfg->intake_socket;

	if (!path || !*path || wr->p->kick_fd < 0)
		return;
	wr->intake_fd = vex_commitq_listen(path);
	if (wr->intake_fd == VEX_EEXIST) {
		vex_log(VEX_LOG_INFO, "another runner serves the intake socket", "socket", path, NULL);
	} else if (wr->intake_fd < 0) {
		vex_log(VEX_LOG_WARN, "no intake: new jobs come through vex-api's committer", "socket", path, NULL);
	} else if (vex_commitq_server_new(wr->intake_fd, &wr->intake) != 0) {
		close(wr->intake_fd);
		unlink(path);
	} else {
		vex_commitq_server_count_as_intake(wr->intake);
		return;
	}
	wr->intake_fd = -1;
}

static void intake_close(struct writer *wr)
{
	if (!wr->intake)
		return;
	/* requests read but not committed: their workers see the connection close and insert
	 * themselves (the same id, so a job stored after all is found, never doubled) */
	for (size_t i = 0; i < wr->nin; i++)
		vex_job_free(wr->in[i].job);
	wr->nin = 0;
	vex_commitq_server_free(wr->intake);
	wr->intake = NULL;
	close(wr->intake_fd);
	unlink(wr->p->cfg->intake_socket);
	wr->intake_fd = -1;
}

/* Open the writer's store and cache, retried each second until it works or the pool stops. */
static int writer_open(struct writer *wr)
{
	struct vex_pool *p = wr->p;
	int stop;

	for (;;) {
		if (vex_handles_try(p->cfg, &wr->store, &wr->cache) == 0) {
			if (p->ckpt_started)
				vex_store_checkpoint_elsewhere(wr->store, vex_checkpointer_due, &p->ckpt);
			intake_open(wr);
			return 0;
		}
		nap_ms(1000);
		pthread_mutex_lock(&p->mu);
		stop = p->writer_stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return VEX_ESTATE;
	}
}

/* Drop what is queued when the writer cannot run at all (its lease expiry recovers each job). */
static void drop_all(struct vex_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->ops) {
		struct pool_op *op = p->ops;

		p->ops = op->next;
		vex_pool_op_free(op);
		p->inflight--;
	}
	p->ops_tail = &p->ops;
	pthread_cond_broadcast(&p->idle_cv);
	pthread_mutex_unlock(&p->mu);
}

void *vex_pool_writer_main(void *arg)
{
	static struct writer wr; /* one writer per process; its arrays are large for a stack */
	struct vex_pool *p = arg;
	size_t n = (size_t)p->n;

	memset(&wr, 0, sizeof(wr));
	wr.p = p;
	wr.intake_fd = -1;

	wr.owners = calloc(n, sizeof(*wr.owners));
	wr.owner_slot = calloc(n, sizeof(*wr.owner_slot));
	wr.claimed = calloc(n, sizeof(*wr.claimed));
	wr.items = calloc(ROUND_MAX + n, sizeof(*wr.items));
	wr.claims = calloc(n, sizeof(*wr.claims));
	if (!wr.owners || !wr.owner_slot || !wr.claimed || !wr.items || !wr.claims) {
		vex_log(VEX_LOG_ERROR, "runner writer: out of memory", NULL);
		goto out;
	}
	if (writer_open(&wr) < 0)
		goto out;
	while (take_round(&wr))
		run_round(&wr);
	vex_jobcache_put_items(wr.cache, wr.items, wr.ncarry);
out:
	intake_close(&wr);
	drop_all(p);
	vex_handles_close(&wr.store, &wr.cache);
	free(wr.owners);
	free(wr.owner_slot);
	free(wr.claimed);
	free(wr.items);
	free(wr.claims);
	return NULL;
}
