/* checkpointer.c - the runner writer's WAL checkpoints, run on a connection of their own. */
#include "runner/checkpointer.h"

#include <pthread.h>
#include <sys/prctl.h>

#include "core/metrics/metrics.h"
#include "core/store/store.h"

/* Wait until a commit asks or a stop; 1 when stopping. Commits that keep the WAL long (a reader
 * held the last checkpoint back) keep asking. */
static int wait_due(struct vex_checkpointer *c)
{
	int stop;

	pthread_mutex_lock(&c->t.mu);
	while (!c->t.stop && !c->due)
		pthread_cond_wait(&c->t.cv, &c->t.mu);
	c->due = 0;
	stop = c->t.stop;
	pthread_mutex_unlock(&c->t.mu);
	return stop;
}

static void *checkpointer_main(void *arg)
{
	struct vex_checkpointer *c = arg;
	struct vex_store *s = NULL;
	int rc, pages = 0;

	prctl(PR_SET_NAME, "vex-checkpoint");
	/* The connection is opened at the first call: on a store whose server checkpoints by itself (PostgreSQL)
	 * no commit calls, and the thread holds none. */
	while (!wait_due(c)) {
		while (!s && vex_store_open(c->cfg->store, c->cfg->db_synchronous, c->cfg->db_busy_timeout_ms, &s) < 0)
			if (vex_ticker_nap(&c->t, 1000))
				return NULL;
		rc = vex_store_checkpoint(s, &pages, NULL);
		if (rc == 0 && pages > 0)
			vex_metrics_inc(VEX_M_CHECKPOINTS);
		/* A failure is logged by the store; the next commit's call tries again, a second later at the earliest. */
		if (rc < 0 && vex_ticker_nap(&c->t, 1000))
			break;
	}
	vex_store_free(s);
	return NULL;
}

int vex_checkpointer_start(struct vex_checkpointer *c, const struct vex_config *cfg)
{
	c->cfg = cfg;
	return vex_ticker_start(&c->t, checkpointer_main, c);
}

void vex_checkpointer_due(void *arg)
{
	struct vex_checkpointer *c = arg;

	pthread_mutex_lock(&c->t.mu);
	if (!c->due) {
		c->due = 1;
		pthread_cond_signal(&c->t.cv);
	}
	pthread_mutex_unlock(&c->t.mu);
}

void vex_checkpointer_release(struct vex_checkpointer *c)
{
	vex_ticker_release(&c->t);
}
