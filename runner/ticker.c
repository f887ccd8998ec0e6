/* ticker.c - the clock of a runner background thread (supervisor, scheduler). */
#include "runner/ticker.h"

#include <time.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"

static int ticker_init(struct vex_ticker *t)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_mutex_init(&t->mu, NULL) != 0)
		return VEX_ERROR;
	rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&t->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&t->mu);
		return VEX_ERROR;
	}
	t->inited = 1;
	return 0;
}

int vex_ticker_start(struct vex_ticker *t, void *(*fn)(void *), void *arg)
{
	if (ticker_init(t) != 0)
		return VEX_ERROR;
	if (pthread_create(&t->tid, NULL, fn, arg) != 0)
		return VEX_ERROR;
	t->started = 1;
	return 0;
}

int vex_ticker_nap(struct vex_ticker *t, int ms)
{
	struct timespec ts;
	int stop;

	vex_mono_deadline(ms, &ts);
	pthread_mutex_lock(&t->mu);
	while (!t->stop)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
			break;
	stop = t->stop;
	pthread_mutex_unlock(&t->mu);
	return stop;
}

int vex_ticker_stopping(struct vex_ticker *t)
{
	int stop;

	pthread_mutex_lock(&t->mu);
	stop = t->stop;
	pthread_mutex_unlock(&t->mu);
	return stop;
}

void vex_ticker_release(struct vex_ticker *t)
{
	if (!t->inited)
		return;
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		t->stop = 1;
		pthread_cond_signal(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->tid, NULL);
		t->started = 0;
	}
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	t->inited = 0;
}
