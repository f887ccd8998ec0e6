/* cache.h - memcached status cache (DESIGN 5). Fail-open: errors cost speed, never correctness;
 * every job value is authenticated, so whoever else reaches memcached can cause misses, never lies. */
#ifndef VEX_CACHE_H
#define VEX_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define VEX_CACHE_WARN_S 10 /* at most one "value rejected" warning per handle this often */

struct vex_cache;

/*
 * Open a libmemcached handle for "servers", a comma-separated list whose entries are
 * "host[:port]" (TCP, port 11211 by default) or a unix socket, "/abs/path" or "unix:/abs/path"
 * (consistent hashing, binary protocol, connect/poll timeouts of "timeout_ms").
 * Never share a handle across fork() or between threads. "servers" NULL or
 * "" yields a disabled cache whose gets always miss and puts do nothing.
 * After an error the handle skips the server for about one second instead
 * of paying a timeout on every call.
 *
 * Job values are authenticated with HMAC-SHA256 under a key derived from "secret" (the JWT
 * secret; HMAC(secret, "vex cache mac v1"), never the secret itself), over the key name, the
 * value's deadline and the JSON: a value another process wrote, copied from another key, made
 * with another secret or past its deadline is a miss. "secret" is copied into the derived key
 * and not kept; it is required (1 byte or more) unless the cache is disabled.
 * 0, VEX_EINVAL (bad server list, no secret), VEX_ENOMEM, VEX_ERROR.
 */
int vex_cache_open(const char *servers, int timeout_ms, const unsigned char *secret, size_t secret_len,
		   struct vex_cache **ret);
void vex_cache_free(struct vex_cache *c);

/*
 * Authenticate every TCP connection of "c" with SASL as "user" with "password" (memcached -S, which
 * speaks only the binary protocol this handle uses); call it right after vex_cache_open, before any
 * other call. libmemcached copies both and starts libsasl2 itself, once per process. Unix socket
 * entries are connected without SASL (libmemcached authenticates TCP only). "user" NULL or "", or a
 * disabled cache: nothing to do. A refused authentication is a failure like memcached being away
 * (callers fall back to the store) and is logged at warn once per process, without the password.
 * 0, VEX_EINVAL, VEX_ENOMEM, VEX_ERROR (a libmemcached without SASL).
 */
int vex_cache_sasl(struct vex_cache *c, const char *user, const char *password);

/*
 * Store the job's canonical JSON under "vex:job:<id>" unless the cached
 * copy is authentic and already carries a rev >= "rev" (gets + cas, add when
 * absent, a few retries on CAS races): a copy that fails authentication is
 * replaced whatever rev it claims. Returns 0 when stored or when a newer copy is
 * already there; VEX_EIO when memcached could not be reached (callers log
 * at debug and carry on).
 */
int vex_cache_job_put(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev);

/*
 * The same with an item lifetime of "ttl_s" seconds (vex_cache_job_put uses one day).
 * Callers give unfinished jobs a short lifetime, which bounds how long an older copy can be
 * served if a later write of the job missed memcached and was not made good (below).
 */
int vex_cache_job_put_ttl(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev,
			  int ttl_s);

/*
 * Store the final copy of a job in a terminal state (completed, failed, timeout, canceled) with one
 * set, no gets: a terminal job never changes again and the write that ended it carries its highest
 * rev, so no copy can be newer and the CAS rule holds without the compare. Only for terminal jobs.
 * Returns as vex_cache_job_put_ttl (VEX_ETOOBIG: the old copy was removed).
 */
int vex_cache_job_put_final(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s);

/*
 * The copy of a job just created (rev 1, absent from the cache), with an add nobody waits for: one
 * send, no round trip. If the key exists already (a newer copy, a poll's refill) nothing changes.
 * 0, or VEX_EIO when memcached could not be reached (callers log at debug and carry on).
 */
int vex_cache_job_add_quiet(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s);

/*
 * Get the cached JSON (the value without its MAC header); caller frees *ret. 0, VEX_ENOTFOUND
 * (miss, disabled, or a value that fails authentication: logged at warn, at most once per
 * VEX_CACHE_WARN_S per handle, and counted), VEX_EIO.
 */
int vex_cache_job_get(struct vex_cache *c, const char *job_id, char **ret, size_t *ret_len);

/* Remove the key (tests and operators). 0, VEX_ENOTFOUND, VEX_EIO. */
int vex_cache_job_delete(struct vex_cache *c, const char *job_id);

/*
 * A job write or delete that returns VEX_EIO (memcached unreachable, timed out, or skipped after
 * an error) leaves the copy memcached may still hold from before. The handle remembers the job's
 * key and deletes it before its next call that reaches memcached, so a poll finds no copy and
 * reads the store: a missed write is made good as soon as memcached answers again, not when the
 * old copy expires. Keys are kept 60 s (older copies have expired by then) and up to 16384 per
 * handle (beyond, a warning, and the old behaviour). A handle that may stay idle calls
 * vex_cache_settle now and then while vex_cache_owed says it owes: 0 when nothing is owed any
 * more or memcached was not called, VEX_EIO when it still could not be reached (then later).
 */
int vex_cache_settle(struct vex_cache *c);
size_t vex_cache_owed(const struct vex_cache *c);

/* Round trip to every server (a version request). 0 or VEX_EIO; VEX_ENOTFOUND when disabled. */
int vex_cache_ping(struct vex_cache *c);

/*
 * How many job values this handle refused since it was opened: malformed, too short, or with a
 * MAC that does not verify (forged, another key's value, another secret). A value past its
 * authenticated deadline is a plain miss and not counted.
 */
uint64_t vex_cache_rejected(const struct vex_cache *c);

/*
 * Small authenticated numbers updated by compare-and-swap, for state several processes share (the
 * rate limiter's GCRA times, fcgi-app/ratelimit.c). "key" is printable ASCII, 1..250 bytes.
 *
 * vex_cache_u64_gets: 0 with *ret_val and *ret_cas: *ret_cas 0 when the key is absent (*ret_val 0);
 * a value that is not authentic (MAC), past its deadline or not a number reads as 0 with its cas,
 * so the caller's next cas replaces it. VEX_EINVAL (bad key), VEX_ENOTFOUND (cache disabled),
 * VEX_EIO (memcached unreachable), VEX_ENOMEM.
 *
 * vex_cache_u64_cas: store "val" (MAC'd, lifetime "ttl_s") if the item still has "cas", or, with
 * "cas" 0, if the key is still absent. 0, VEX_ECONFLICT (another writer came first: read again),
 * VEX_EINVAL, VEX_ENOTFOUND (disabled), VEX_EIO, VEX_ERROR.
 */
int vex_cache_u64_gets(struct vex_cache *c, const char *key, uint64_t *ret_val, uint64_t *ret_cas);
int vex_cache_u64_cas(struct vex_cache *c, const char *key, uint64_t val, int ttl_s, uint64_t cas);

/*
 * A job value's whole body: its canonical JSON, then (after a newline) what the poll path keeps beside it
 * (the rendered views of core/jobs/jobcache.c). Every reader of the JSON above (vex_cache_job_get, the rev
 * checks of a put) sees only the JSON; a put replaces the whole body, so what was kept goes with every change.
 */
struct vex_cache_item {
	char *body;      /* malloc'd, NUL-terminated; the caller frees it */
	size_t len;      /* the whole body */
	size_t json_len; /* its JSON: body[0..json_len) */
	uint64_t cas;    /* memcached's CAS of the item, for vex_cache_job_replace */
	char exp_hex[17]; /* its authenticated deadline (16 hex digits) */
};

/* The authentic value of job "job_id", read with its CAS. 0, VEX_ENOTFOUND (as vex_cache_job_get), VEX_EIO,
 * VEX_EINVAL. */
int vex_cache_job_gets(struct vex_cache *c, const char *job_id, struct vex_cache_item *ret);

/*
 * Replace the value "was" (from vex_cache_job_gets) with "body" (its JSON unchanged, then more after a newline),
 * MAC'd with the same deadline, if the item is still the one read (CAS). 0; VEX_ECONFLICT (changed since: nothing
 * written); VEX_ENOTFOUND (past its deadline); VEX_ETOOBIG; VEX_EIO; VEX_EINVAL.
 */
int vex_cache_job_replace(struct vex_cache *c, const char *job_id, const struct vex_cache_item *was,
			  const char *body, size_t len);

#endif
