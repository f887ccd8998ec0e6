/* ratelimit.h - one limiter for every request that creates work: GCRA per principal and plan, in memcached (fail open). */
#ifndef VEX_RATELIMIT_H
#define VEX_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth/jwt.h"
#include "core/jobs/cache.h"
#include "core/base/config.h"

#define VEX_RATE_PERIOD_US 60000000LL /* [limits] rate_<plan> counts requests per minute */
#define VEX_RATE_KEY_MAX 250          /* memcached's key limit */

struct vex_ctx;

/* The outcome of one counted request, for the X-RateLimit-* headers and Retry-After. */
struct vex_rate {
	int64_t limit;         /* requests per minute, and the largest burst */
	int64_t remaining;     /* requests that would pass right after this one (never negative) */
	int64_t reset_s;       /* Unix seconds at which the whole allowance is back (Remaining = Limit) */
	int64_t retry_after_s; /* refused: seconds until one request passes again (>= 1); else 0 */
	int allowed;           /* 0: over the limit (429) */
	int counted;           /* 0: memcached was not reachable and the request passed uncounted */
};

/*
 * "vex:rl:<principal>" into "out" (cap bytes). Bytes of "principal" outside [A-Za-z0-9._@~-]
 * are %XX-escaped; a principal too long for the key is replaced by "h<hex SHA-256>". 0 or
 * VEX_EINVAL.
 */
int vex_ratelimit_key(const char *principal, char *out, size_t cap);

/*
 * The pool's limiter lanes: VEX_RATE_LANES robust process-shared mutexes in an anonymous shared
 * mapping the master makes before it forks (workers inherit it; a respawned worker too). The
 * workers of one pool take a principal's lane (by a hash of its key) around the read and the
 * compare-and-swap, so that they take turns instead of losing each other's CAS and reading again.
 * memcached's CAS stays the only judge: a lane taken late (VEX_RATE_LANE_WAIT_MS) or not at all,
 * or a worker that died holding one, costs retries, never a wrong count. 0, VEX_ENOMEM, VEX_ERROR.
 */
#define VEX_RATE_LANES 64
#define VEX_RATE_LANE_WAIT_MS 200
struct vex_ratelanes;
int vex_ratelimit_lanes_new(struct vex_ratelanes **ret);
void vex_ratelimit_lanes_free(struct vex_ratelanes *l);

/*
 * GCRA (docs/limits.md): count one request of "who" at "now_us" against
 * cfg->plan_rate_per_minute[who->plan] = L per minute, bursts of up to L. The principal's
 * theoretical arrival time (TAT) lives in memcached under vex_ratelimit_key, MAC'd and updated
 * with compare-and-swap; a refused request changes nothing. Always fills *ret and returns 0:
 * when memcached is down or disabled, or CAS keeps losing, the request passes (ret->counted 0,
 * remaining = L - 1). "lanes" (NULL: none) serializes the pool's workers per principal.
 */
int vex_ratelimit_hit(struct vex_cache *c, struct vex_ratelanes *lanes, const struct vex_config *cfg,
		      const struct vex_principal *who, int64_t now_us, struct vex_rate *ret);

/*
 * The router's check for a VEX_ROUTE_LIMITED route (fcgi-app/router.h), after authentication
 * and before the body is read: count the request, put X-RateLimit-Limit, -Remaining and -Reset
 * on c->resp (they stay on whatever the handler answers), and over the limit answer 429
 * RATE_LIMIT_EXCEEDED with Retry-After in the error shape of the path's dialect (corex for paths
 * outside /api/ and /v1/) and return VEX_ETOOBIG. 0 when the request may go on.
 */
int vex_ratelimit_request(struct vex_ctx *c);

#endif
