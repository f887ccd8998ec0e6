/* ticker.h - the clock of a runner background thread: naps that a stop request cuts short, start, stop and join. */
#ifndef VEX_TICKER_H
#define VEX_TICKER_H

#include <pthread.h>

struct vex_ticker {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC: naps ignore wall-clock steps */
	int stop;
	int started;
	int inited;
};

/* Initialise the zeroed "t" and run "fn(arg)" in a new thread. 0 or VEX_ERROR; either way "t" is
 * then handed to vex_ticker_release. */
int vex_ticker_start(struct vex_ticker *t, void *(*fn)(void *), void *arg);

/* Sleep "ms" unless a stop is (or becomes) requested; returns 1 when stopping, else 0. */
int vex_ticker_nap(struct vex_ticker *t, int ms);

/* 1 once a stop was requested. */
int vex_ticker_stopping(struct vex_ticker *t);

/* Request the stop, wake the nap, join the thread (when it was started), and free the
 * synchronisation objects. Accepts a zeroed, never initialised ticker. */
void vex_ticker_release(struct vex_ticker *t);

#endif
