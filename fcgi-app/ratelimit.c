/* ratelimit.c - the work limiter: GCRA per principal over MAC'd memcached values, and its headers and 429. */
#include "fcgi-app/ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/hex.h"
#include "core/base/log.h"
#include "fcgi-app/router.h"

#define RATE_CAS_TRIES 8

static int plain_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '@' || ch == '~' || ch == '-';
}

int vex_ratelimit_key(const char *principal, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	char enc[VEX_RATE_KEY_MAX + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0, i;
	int len;

	if (!principal || !*principal || !out)
		return VEX_EINVAL;
	for (i = 0; principal[i] && n + 4 < sizeof(enc); i++) {
		unsigned char ch = (unsigned char)principal[i];

		if (plain_byte(ch)) {
			enc[n++] = (char)ch;
		} else {
			enc[n++] = '%';
			enc[n++] = hex[ch >> 4];
			enc[n++] = hex[ch & 15];
		}
	}
	enc[n] = '\0';
	len = snprintf(out, cap, "vex:rl:%s", enc);
	if (!principal[i] && len > 0 && (size_t)len < cap && len <= VEX_RATE_KEY_MAX)
		return 0;
	/* Too long once escaped: a digest keeps principals apart within the key limit. */
	if (!EVP_Digest(principal, strlen(principal), md, &mdlen, EVP_sha256(), NULL))
		return VEX_ERROR;
	vex_hex_encode(md, mdlen, enc);
	len = snprintf(out, cap, "vex:rl:h%s", enc);
	if (len < 0 || (size_t)len >= cap)
		return VEX_EINVAL;
	return 0;
}

struct vex_ratelanes {
	pthread_mutex_t mu[VEX_RATE_LANES];
};

int vex_ratelimit_lanes_new(struct vex_ratelanes **ret)
{
	struct vex_ratelanes *l;
	pthread_mutexattr_t a;
	int i, rc = VEX_ERROR;

	l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l == MAP_FAILED)
		return VEX_ENOMEM;
	if (pthread_mutexattr_init(&a))
		goto out;
	if (pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0) {
		for (i = 0; i < VEX_RATE_LANES && pthread_mutex_init(&l->mu[i], &a) == 0; i++)
			;
		if (i == VEX_RATE_LANES)
			rc = 0;
	}
	pthread_mutexattr_destroy(&a);
out:
	if (rc == 0)
		*ret = l;
	else
		munmap(l, sizeof(*l));
	return rc;
}

void vex_ratelimit_lanes_free(struct vex_ratelanes *l)
{
	if (l)
		munmap(l, sizeof(*l));
}

/* Take the lane of "key", waiting at most VEX_RATE_LANE_WAIT_MS; NULL: go on without one. */
static pthread_mutex_t *lane_take(struct vex_ratelanes *l, const char *key)
{
	pthread_mutex_t *mu;
	struct timespec until;
	int rc;

	if (!l)
		return NULL;
	mu = &l->mu[vex_hash_str(key) % VEX_RATE_LANES]; /* a shared lane only takes turns */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)VEX_RATE_LANE_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	rc = pthread_mutex_timedlock(mu, &until);
	if (rc == EOWNERDEAD) /* a worker died holding it: the lane guards no data, only turns */
		rc = pthread_mutex_consistent(mu);
	return rc == 0 ? mu : NULL;
}

/* Microseconds to whole seconds, rounded up. */
static int64_t ceil_s(int64_t us)
{
	return us <= 0 ? 0 : (us + 999999) / 1000000;
}

int vex_ratelimit_hit(struct vex_cache *c, struct vex_ratelanes *lanes, const struct vex_config *cfg,
		      const struct vex_principal *who, int64_t now_us, struct vex_rate *ret)
{
	pthread_mutex_t *lane = NULL;
	char key[VEX_RATE_KEY_MAX + 1];
	int64_t emission, window, tat, next;
	uint64_t stored = 0, cas = 0;
	struct vex_rate r;
	int rc, i;

	memset(&r, 0, sizeof(r));
	r.limit = cfg && who->plan < VEX_PLAN_COUNT ? cfg->plan_rate_per_minute[who->plan] : 0;
	if (r.limit < 1)
		r.limit = 1;
	if (r.limit > VEX_RATE_PERIOD_US)
		r.limit = VEX_RATE_PERIOD_US;
	/* One request every "emission" µs; a burst of "limit" fits in "window" (a minute, rounded down). */
	emission = VEX_RATE_PERIOD_US / r.limit;
	window = emission * r.limit;
	r.allowed = 1;
	r.remaining = r.limit - 1;
	r.reset_s = ceil_s(now_us + emission);
	rc = vex_ratelimit_key(who->sub, key, sizeof(key));
	if (rc == 0)
		lane = lane_take(lanes, key);
	for (i = 0; rc == 0 && i < RATE_CAS_TRIES; i++) {
		rc = vex_cache_u64_gets(c, key, &stored, &cas);
		if (rc)
			break;
		tat = stored > (uint64_t)now_us && stored < (uint64_t)INT64_MAX / 2 ? (int64_t)stored : now_us;
		next = tat + emission;
		if (next - now_us > window) {
			/* Refused: nothing is written, so a client hammering at 429 delays no one but itself. */
			r.allowed = 0;
			r.counted = 1;
			r.remaining = 0;
			r.reset_s = ceil_s(tat);
			r.retry_after_s = ceil_s(next - window - now_us);
			if (r.retry_after_s < 1)
				r.retry_after_s = 1;
			goto out;
		}
		/* The value is only needed until its TAT has passed: by then the allowance is whole. */
		rc = vex_cache_u64_cas(c, key, (uint64_t)next, (int)ceil_s(next - now_us) + 2, cas);
		if (rc == VEX_ECONFLICT) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		r.counted = 1;
		r.remaining = (window - (next - now_us)) / emission;
		if (r.remaining > r.limit - 1)
			r.remaining = r.limit - 1;
		r.reset_s = ceil_s(next);
		goto out;
	}
	/* Only allowed requests write, so losing every CAS means others of this principal were let
	 * through meanwhile: passing this one uncounted costs at most the concurrency of the pool. */
	if (rc != VEX_ENOTFOUND)
		vex_log(VEX_LOG_DEBUG, "rate limit not counted (fail open)", "sub", who->sub, "error",
			rc ? vex_strerror(rc) : "cas kept losing", NULL);
out:
	if (lane)
		pthread_mutex_unlock(lane);
	*ret = r;
	return 0;
}

/* Paths outside /api/ (vex) and /v1/ (events) are corex's: {"error":{"code","message"}}. */
static int corex_path(const char *path)
{
	return strncmp(path, "/api/", 5) != 0 && strncmp(path, "/v1/", 4) != 0;
}

static void header_int(struct vex_ctx *c, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	vex_http_header(c->resp, name, buf);
}

int vex_ratelimit_request(struct vex_ctx *c)
{
	struct vex_rate r;
	char msg[160];

	vex_ratelimit_hit(c->env->cache, c->env->rate_lanes, c->env->cfg, &c->who, c->req->now_us, &r);
	header_int(c, "X-RateLimit-Limit", r.limit);
	header_int(c, "X-RateLimit-Remaining", r.remaining);
	header_int(c, "X-RateLimit-Reset", r.reset_s);
	if (r.allowed)
		return 0;
	header_int(c, "Retry-After", r.retry_after_s);
	snprintf(msg, sizeof(msg), "Rate limit of %lld requests per minute exceeded; retry after %lld s",
		 (long long)r.limit, (long long)r.retry_after_s);
	if (corex_path(c->req->path))
		vex_http_json(c->resp, 429,
			      json_pack("{s:{s:s, s:s}}", "error", "code", "RATE_LIMIT_EXCEEDED", "message", msg));
	else
		vex_http_error(c->resp, c->req, 429, "RATE_LIMIT_EXCEEDED", msg, NULL);
	return VEX_ETOOBIG;
}
