/* timeutil.h - clocks and RFC 3339 formatting. Times in vex are Unix microseconds (int64). */
#ifndef VEX_TIMEUTIL_H
#define VEX_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define VEX_RFC3339_LEN 32

int64_t vex_now_us(void);  /* CLOCK_REALTIME */
int64_t vex_mono_us(void); /* CLOCK_MONOTONIC */

/* CLOCK_MONOTONIC "ms" milliseconds from now into "ts": the deadline of a timed wait on that clock. */
void vex_mono_deadline(int ms, struct timespec *ts);

/* "2025-01-01T09:00:00.000Z" (UTC, milliseconds). */
void vex_rfc3339(int64_t us, char out[VEX_RFC3339_LEN]);

/* Parses RFC 3339 / ISO 8601 date-times: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 * and a bare date "YYYY-MM-DD" (midnight UTC). 0 or VEX_EINVAL. */
int vex_parse_rfc3339(const char *s, int64_t *ret_us);

/* Sleeps for "ms" milliseconds, restarting on EINTR unless "*stop" becomes non-zero. */
void vex_sleep_ms(int ms, volatile int *stop);

#endif
