/* ratelimit.c - execution-endpoint rate limits: one memcached counter per principal and minute. */
#include "fcgi-app/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/base/err.h"
#include "core/base/hex.h"
#include "core/base/log.h"

/* Counters outlive their window a little: a clock slightly behind still finds its own. */
#define RATE_TTL_S (2 * VEX_RATE_WINDOW_S)

static int plain_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '@' || ch == '~' || ch == '-';
}

int vex_ratelimit_key(const char *principal, int64_t window, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	char enc[VEX_RATE_KEY_MAX + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0, i;
	int len;

	if (!principal || !*principal || !out || window < 0)
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
	len = snprintf(out, cap, "vex:rl:%s:%lld", enc, (long long)window);
	if (!principal[i] && len > 0 && (size_t)len < cap && len <= VEX_RATE_KEY_MAX)
		return 0;
	/* Too long once escaped: a digest keeps principals apart within the key limit. */
	if (!EVP_Digest(principal, strlen(principal), md, &mdlen, EVP_sha256(), NULL))
		return VEX_ERROR;
	vex_hex_encode(md, mdlen, enc);
	len = snprintf(out, cap, "vex:rl:h%s:%lld", enc, (long long)window);
	if (len < 0 || (size_t)len >= cap)
		return VEX_EINVAL;
	return 0;
}

int vex_ratelimit_hit(struct vex_cache *c, const struct vex_config *cfg, const struct vex_principal *who,
		      int64_t now_us, struct vex_rate *ret)
{
	char key[VEX_RATE_KEY_MAX + 1];
	int64_t now_s = now_us / 1000000, window = now_s / VEX_RATE_WINDOW_S;
	uint64_t count = 0;
	struct vex_rate r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.limit = cfg && who->plan < VEX_PLAN_COUNT ? cfg->plan_rate_per_minute[who->plan] : 0;
	if (r.limit < 1)
		r.limit = 1;
	r.reset_s = (window + 1) * VEX_RATE_WINDOW_S;
	r.allowed = 1;
	r.remaining = r.limit - 1;
	rc = vex_ratelimit_key(who->sub, window, key, sizeof(key));
	if (rc == 0)
		rc = vex_cache_incr(c, key, RATE_TTL_S, &count);
	if (rc == 0) {
		r.counted = 1;
		r.allowed = count <= (uint64_t)r.limit;
		r.remaining = count >= (uint64_t)r.limit ? 0 : r.limit - (int64_t)count;
	} else if (rc != VEX_ENOTFOUND) {
		vex_log(VEX_LOG_DEBUG, "rate limit not counted (fail open)", "sub", who->sub, "error", vex_strerror(rc),
			NULL);
	}
	*ret = r;
	return 0;
}
