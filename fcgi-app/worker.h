/* worker.h - one vex-api worker process: per-process store, cache and wake socket; the accept loop. */
#ifndef VEX_WORKER_H
#define VEX_WORKER_H

#include "core/base/config.h"

/*
 * Run a worker in a freshly forked child: install SIGTERM/SIGINT handlers without SA_RESTART (a blocked
 * FCGX_Accept_r returns), open the store, the cache and the wake socket (never inherited across fork),
 * then answer requests on "listen_fd" until told to stop; the in-flight request is always finished.
 * FCGX_Init() must have been called. "rate_lanes" (NULL: none) are the master's limiter lanes,
 * shared by the pool (fcgi-app/ratelimit.h). Returns the process exit status (0, or 1 when setup failed).
 */
struct vex_ratelanes;
int vex_worker_run(const struct vex_config *cfg, int listen_fd, struct vex_ratelanes *rate_lanes);

#endif
