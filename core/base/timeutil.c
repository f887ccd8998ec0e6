/* timeutil.c - clocks, RFC 3339 formatting and parsing, interruptible sleep. */
#include "core/base/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base/err.h"

#define US_PER_S 1000000LL
#define S_PER_DAY 86400LL

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

int64_t vex_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t vex_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

void vex_mono_deadline(int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm): no timegm, no TZ. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void vex_rfc3339(int64_t us, char out[VEX_RFC3339_LEN])
{
	int64_t secs, days, rem, y;
	int m, d;
	char tmp[96];
	size_t n;

	/* Floor division so that times before 1970 still format correctly. */
	secs = us / US_PER_S;
	if (us % US_PER_S < 0)
		secs--;
	days = secs / S_PER_DAY;
	rem = secs % S_PER_DAY;
	if (rem < 0) {
		rem += S_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* Via a larger buffer: every int64 fits, and the compiler can see that nothing truncates. */
	snprintf(tmp, sizeof(tmp), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
		 (int)((us - secs * US_PER_S) / 1000));
	n = strnlen(tmp, VEX_RFC3339_LEN - 1);
	memcpy(out, tmp, n);
	out[n] = '\0';
}

/* Reads exactly "n" digits at *p into *ret and advances *p. */
static int digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return VEX_EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

int vex_parse_rfc3339(const char *s, int64_t *ret_us)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac_us = 0, us;
	int rc = VEX_EINVAL;

	if (!s || !ret_us)
		goto out;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
		goto out;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		goto out;
	/* A bare date is midnight UTC; otherwise a time and a zone must follow. */
	if (*p != '\0') {
		if (*p != 'T' && *p != 't' && *p != ' ')
			goto out;
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
			goto out;
		if (h > 23 || mi > 59 || sec > 59)
			goto out;
		if (*p == '.') {
			int n = 0;
			int64_t scale = 100000;

			p++;
			/* Keep microseconds; further digits are accepted and dropped. */
			while (*p >= '0' && *p <= '9') {
				if (scale > 0) {
					frac_us += (*p - '0') * scale;
					scale /= 10;
				}
				p++;
				n++;
			}
			if (n == 0 || n > 18)
				goto out;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '+' ? 1 : -1;
			p++;
			if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
				goto out;
		} else {
			goto out;
		}
		if (*p != '\0')
			goto out;
	}
	us = (days_from_civil(y, mo, d) * S_PER_DAY + h * 3600LL + mi * 60LL + sec) * US_PER_S + frac_us;
	us -= sign * (oh * 3600LL + om * 60LL) * US_PER_S;
	*ret_us = us;
	rc = 0;
out:
	return rc;
}

void vex_sleep_ms(int ms, volatile int *stop)
{
	struct timespec req, rem;

	if (ms <= 0)
		return;
	req.tv_sec = ms / 1000;
	req.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&req, &rem) != 0 && errno == EINTR) {
		if (stop && *stop)
			return;
		req = rem;
	}
}
