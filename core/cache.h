/* cache.h - memcached status cache (DESIGN 5). Fail-open: errors cost speed, never correctness. */
#ifndef VEX_CACHE_H
#define VEX_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct vex_cache;

/*
 * Open a libmemcached handle for "servers" ("host:port[,host:port...]",
 * consistent hashing, binary protocol, connect/poll timeouts of "timeout_ms").
 * Never share a handle across fork() or between threads. "servers" NULL or
 * "" yields a disabled cache whose gets always miss and puts do nothing.
 * After an error the handle skips the server for about one second instead
 * of paying a timeout on every call.
 */
int vex_cache_open(const char *servers, int timeout_ms, struct vex_cache **ret);
void vex_cache_free(struct vex_cache *c);

/*
 * Store the job's canonical JSON under "vex:job:<id>" unless the cached
 * copy already carries a rev >= "rev" (gets + cas, add when absent, a few
 * retries on CAS races). Returns 0 when stored or when a newer copy is
 * already there; VEX_EIO when memcached could not be reached (callers log
 * at debug and carry on).
 */
int vex_cache_job_put(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev);

/*
 * The same with an item lifetime of "ttl_s" seconds (vex_cache_job_put uses one day).
 * Callers give unfinished jobs a short lifetime: if memcached was unreachable when a later
 * transition was written, the stale copy it still holds is served for at most that long.
 */
int vex_cache_job_put_ttl(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev,
			  int ttl_s);

/* Get the cached JSON; caller frees *ret. 0, VEX_ENOTFOUND (miss or disabled), VEX_EIO. */
int vex_cache_job_get(struct vex_cache *c, const char *job_id, char **ret, size_t *ret_len);

/* Remove the key (tests and operators). 0, VEX_ENOTFOUND, VEX_EIO. */
int vex_cache_job_delete(struct vex_cache *c, const char *job_id);

/* Round trip to every server (a version request). 0 or VEX_EIO; VEX_ENOTFOUND when disabled. */
int vex_cache_ping(struct vex_cache *c);

/*
 * Add one to the counter "key" (printable ASCII, 1..250 bytes), creating it at 1 with a lifetime
 * of "ttl_s" seconds when absent; *ret gets the new value. 0, VEX_EINVAL (bad key),
 * VEX_ENOTFOUND (cache disabled), VEX_EIO (memcached unreachable), VEX_ERROR.
 */
int vex_cache_incr(struct vex_cache *c, const char *key, int ttl_s, uint64_t *ret);

#endif
