/* checkpointer.h - the thread that checkpoints the WAL for the runner's writer, so that no round of it waits on one. */
#ifndef VEX_RUNNER_CHECKPOINTER_H
#define VEX_RUNNER_CHECKPOINTER_H

#include "core/base/config.h"
#include "runner/ticker.h"

struct vex_checkpointer {
	struct vex_ticker t;          /* its mu guards "due"; its cv wakes the thread */
	const struct vex_config *cfg;
	int due;                      /* a commit left the WAL long: checkpoint now */
};

/* Start the thread on the zeroed "c" (its own store connection, opened and retried like the other
 * background threads'). "cfg" must outlive it. 0 or VEX_ERROR; either way "c" goes to
 * vex_checkpointer_release. */
int vex_checkpointer_start(struct vex_checkpointer *c, const struct vex_config *cfg);

/* For vex_store_checkpoint_elsewhere (arg: the checkpointer): wake the thread. */
void vex_checkpointer_due(void *arg);

/* Stop and join the thread (a zeroed, never started "c" is fine). */
void vex_checkpointer_release(struct vex_checkpointer *c);

#endif
