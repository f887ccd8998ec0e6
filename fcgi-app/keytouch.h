/* keytouch.h - API keys' last use, recorded off the stream server's loop by a thread of its own. */
#ifndef VEX_KEYTOUCH_H
#define VEX_KEYTOUCH_H

#include <stdint.h>

#include "core/base/config.h"

struct vex_keytouch;

/* Start the recording thread; it opens its own store connection (cfg's database). 0, VEX_ENOMEM,
 * VEX_ERROR (no thread). "cfg" must outlive the thread. */
int vex_keytouch_start(const struct vex_config *cfg, struct vex_keytouch **ret);

/*
 * Ask for the key "key_id" to be marked used at "now_us". Never waits on the database: the queue's
 * mutex is only ever held to copy ids, never across a write. A key already queued is not queued again;
 * a full queue (VEX_KEYTOUCH_QUEUE ids) drops the request, which costs a last_used_at, nothing else.
 * "t" NULL: nothing.
 */
void vex_keytouch_push(struct vex_keytouch *t, const char *key_id, int64_t now_us);

/* How many touches the thread has written (for tests and logs). */
unsigned long vex_keytouch_written(struct vex_keytouch *t);

/* Stop the thread (it finishes the write in hand, drops the rest), join it and free; NULL accepted. */
void vex_keytouch_free(struct vex_keytouch *t);

#define VEX_KEYTOUCH_QUEUE 256

#endif
