/* ratelimit.h - per-principal request counters in fixed one-minute windows, kept in memcached (fail open). */
#ifndef VEX_RATELIMIT_H
#define VEX_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth/jwt.h"
#include "core/jobs/cache.h"
#include "core/base/config.h"

#define VEX_RATE_WINDOW_S 60
#define VEX_RATE_KEY_MAX 250 /* memcached's key limit */

/* The outcome of one counted request, for the X-RateLimit-* headers. */
struct vex_rate {
	int64_t limit;     /* requests allowed in the window */
	int64_t remaining; /* left in the window after this one (never negative) */
	int64_t reset_s;   /* Unix seconds at which the window ends */
	int allowed;       /* 0: over the limit (429) */
	int counted;       /* 0: memcached was not reachable and the request passed uncounted */
};

/*
 * "vex:rl:<principal>:<window>" into "out" (cap bytes). Bytes of "principal" outside
 * [A-Za-z0-9._@~-] are %XX-escaped; a principal too long for the key is replaced by
 * "h<hex SHA-256>". 0 or VEX_EINVAL.
 */
int vex_ratelimit_key(const char *principal, int64_t window, char *out, size_t cap);

/*
 * Count one request of "who" at "now_us" against cfg->plan_rate_per_minute[who->plan] in the
 * window now_us / 60 s. Always fills *ret and returns 0: when memcached is down or disabled
 * the request is allowed (ret->counted 0, remaining = limit - 1).
 */
int vex_ratelimit_hit(struct vex_cache *c, const struct vex_config *cfg, const struct vex_principal *who,
		      int64_t now_us, struct vex_rate *ret);

#endif
