/* child.h - what every forked vex-api process (worker, committer, stream server) sets up first. */
#ifndef VEX_CHILD_H
#define VEX_CHILD_H

#include <signal.h>

/*
 * The signals of a forked vex-api child: SIGTERM and SIGINT run "on_term" without SA_RESTART (a
 * blocked accept(), poll() or epoll_pwait returns and the loop sees its flag); SIGPIPE and SIGHUP
 * are ignored; SIGCHLD is back to default. The signal mask becomes "mask" (NULL: nothing blocked).
 */
void vex_child_signals(void (*on_term)(int), const sigset_t *mask);

#endif
