/* committer.h - the vex-api group committer process (core/jobs/commitq.h) that the master keeps alive. */
#ifndef VEX_COMMITTER_H
#define VEX_COMMITTER_H

#include "core/base/config.h"

/*
 * Run the committer in a freshly forked child: SIGTERM/SIGINT stop it after the batch in hand;
 * open the store (never inherited across fork) and serve "commit_fd" (from vex_commitq_listen).
 * Returns the process exit status.
 */
int vex_committer_run(const struct vex_config *cfg, int commit_fd);

#endif
