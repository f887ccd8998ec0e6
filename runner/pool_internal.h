/* pool_internal.h - the state the worker threads (pool.c) and the pool's writer thread (pool_writer.c)
 * share; not a public API. */
#ifndef VEX_RUNNER_POOL_INTERNAL_H
#define VEX_RUNNER_POOL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/jobs/cache.h"
#include "core/store/store.h"
#include "runner/checkpointer.h"
#include "runner/pool.h"

/* A write of a running job handed by a worker to the writer: finish, requeue or progress. */
struct pool_op {
	struct pool_op *next;
	struct vex_job_write w;        /* w.id -> job_id, w.lease_owner -> the slot's worker's */
	char job_id[VEX_UUID_LEN + 1];
	int slot;
	int attempts;                  /* the job's attempts at our claim */
	struct vex_job *outcome;       /* FINISH: owned */
	struct vex_progress progress;  /* PROGRESS: owned copy */
	enum vex_stop stopped;         /* REQUEUE: why (logged) */
	int64_t ran_ms;                /* FINISH, REQUEUE: how long the job ran (logged) */
	int tries;                     /* transactions that failed with it */
};

struct slot {
	char job_id[VEX_UUID_LEN + 1]; /* "" when idle; guarded by pool->mu */
	int attempts;
	int64_t claimed_mono_us;
	atomic_int stop;               /* enum vex_stop asked by the supervisor */
	struct vex_job *next;          /* claimed by the writer for this slot, not yet taken; pool->mu */
	int ready;                     /* the worker is up and takes jobs; pool->mu */
	pthread_cond_t cv;             /* the worker waits here for "next" */
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
	pthread_cond_t writer_cv;  /* the writer waits here for ops and wakes */
	pthread_cond_t idle_cv;    /* signalled when nothing runs and no op is pending */
	int want_claim;            /* a wake or a freed slot since the last claim */
	int busy;                  /* slots holding a job (from its claim to its end) */
	int inflight;              /* ops handed to the writer and not yet done */
	struct pool_op *ops, **ops_tail;
	int draining;              /* stop claiming */
	int writer_stop;           /* the writer exits once no op is left */
	int joined;
	atomic_int shutdown;       /* stop running jobs (reason shutdown) */
	int n;
	struct slot *slots;
	struct worker *workers;
	pthread_t writer_tid;
	int writer_started;
	int kick_fd;               /* eventfd: wakes the writer while it polls the intake (-1: none) */
	int writer_polling;        /* the writer sleeps in poll(), not on writer_cv */
	struct vex_checkpointer ckpt; /* runs the writer's checkpoints (when ckpt_started) */
	int ckpt_started;
};

/* Under pool->mu: wake the writer, on its condition variable or, while it polls the intake
 * sockets, through kick_fd. */
void vex_pool_kick_writer_locked(struct vex_pool *p);

/* Hand "op" to the writer (takes it). Called with pool->mu held. */
void vex_pool_op_push(struct vex_pool *p, struct pool_op *op);

/* Free an op and what it owns (NULL accepted). */
void vex_pool_op_free(struct pool_op *op);

/* The writer thread (pool_writer.c): group-commits the ops, claims for the idle slots, publishes. */
void *vex_pool_writer_main(void *arg);

/* Under pool->mu: ask the job in "slot" to stop with "why" if that slot still runs "job_id". */
void vex_pool_request_stop_locked(struct vex_pool *p, int slot, const char *job_id, enum vex_stop why);

#endif
