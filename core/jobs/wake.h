/* wake.h - the unix datagram by which vex-api tells the runner "a job was committed". */
#ifndef VEX_WAKE_H
#define VEX_WAKE_H

/* Sender: an unbound, non-blocking, close-on-exec AF_UNIX SOCK_DGRAM socket. fd or VEX_EIO. */
int vex_wake_open(void);

/* Send one byte to the runner's socket at "path". Never blocks; errors are ignored (the runner
 * also polls). */
void vex_wake_send(int fd, const char *path);

/* Runner: bind a non-blocking datagram socket at "path" (replacing a stale file), mode 0600. fd or VEX_EIO. */
int vex_wake_bind(const char *path);

/* Read and discard every pending datagram. Returns how many were read. */
int vex_wake_drain(int fd);

#endif
