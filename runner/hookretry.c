/* hookretry.c - the retry schedule of webhook deliveries (jitter, exhaustion) and Retry-After parsing. */
#include "runner/hookretry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"

#define US_PER_S 1000000LL

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int month_of(const char *name)
{
	for (int i = 0; i < 12; i++)
		if (strcasecmp(name, months[i]) == 0)
			return i + 1;
	return 0;
}

/* Non-negative decimal of at most 18 digits, the whole of "s". */
static int delta_seconds(const char *s, size_t n, int64_t *ret)
{
	int64_t v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return VEX_EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VEX_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* The three HTTP-date forms (RFC 9110 5.6.7) as Unix microseconds; the whole of "s" must match. */
static int http_date(const char *s, int64_t *ret)
{
	char wd[16], mon[4], iso[32];
	int d = 0, y = 0, h = 0, mi = 0, sec = 0, m, end = -1;
	size_t n = strlen(s);

	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%15[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &h, &mi, &sec, &end) == 7 &&
	    end == (int)n)
		goto found;
	/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (years 00-69 are 20xx, 70-99 19xx) */
	end = -1;
	if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wd, &d, mon, &y, &h, &mi, &sec, &end) == 7 &&
	    end == (int)n) {
		y += y < 70 ? 2000 : 1900;
		goto found;
	}
	/* asctime: Sun Nov  6 08:49:37 1994 */
	end = -1;
	if (sscanf(s, "%15[A-Za-z] %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &h, &mi, &sec, &y, &end) == 7 &&
	    end == (int)n)
		goto found;
	return VEX_EINVAL;
found:
	m = month_of(mon);
	if (!m || y < 1970 || y > 9999)
		return VEX_EINVAL;
	snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, h, mi, sec);
	return vex_parse_rfc3339(iso, ret);
}

int vex_hookretry_after_parse(const char *value, int64_t now_us, int64_t *ret_us)
{
	char buf[64];
	const char *p = value;
	size_t n;
	int64_t v, at;

	if (!value)
		return VEX_EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return VEX_EINVAL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (buf[0] >= '0' && buf[0] <= '9') {
		if (delta_seconds(buf, n, &v) < 0)
			return VEX_EINVAL;
		*ret_us = v >= VEX_HOOKRETRY_AFTER_MAX_US / US_PER_S ? VEX_HOOKRETRY_AFTER_MAX_US : v * US_PER_S;
		return 0;
	}
	if (http_date(buf, &at) < 0)
		return VEX_EINVAL;
	v = at - now_us;
	*ret_us = v < 0 ? 0 : v > VEX_HOOKRETRY_AFTER_MAX_US ? VEX_HOOKRETRY_AFTER_MAX_US : v;
	return 0;
}

int vex_hookretry_wait(const struct vex_config *cfg, int attempts, int64_t retry_after_us, uint32_t rnd,
		       int64_t *ret_us)
{
	int64_t base, wait;
	double f;

	if (attempts < 1 || attempts > cfg->hook_retries)
		return VEX_ESTATE;
	base = cfg->hook_retry_ms[attempts - 1] * 1000;
	/* rnd / 2^32 is in [0, 1): the factor in [1 - J, 1 + J) */
	f = 1.0 + (VEX_HOOKRETRY_JITTER_PCT / 100.0) * (2.0 * ((double)rnd / 4294967296.0) - 1.0);
	wait = (int64_t)((double)base * f);
	if (retry_after_us > VEX_HOOKRETRY_AFTER_MAX_US)
		retry_after_us = VEX_HOOKRETRY_AFTER_MAX_US;
	if (retry_after_us > wait)
		wait = retry_after_us;
	*ret_us = wait < 0 ? 0 : wait;
	return 0;
}
