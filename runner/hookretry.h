/* hookretry.h - when a failed webhook delivery is tried again: the jittered schedule and Retry-After. */
#ifndef VEX_HOOKRETRY_H
#define VEX_HOOKRETRY_H

#include <stdint.h>

#include "core/base/config.h"

#define VEX_HOOKRETRY_AFTER_MAX_US (86400LL * 1000000) /* a receiver's Retry-After counts up to a day */
#define VEX_HOOKRETRY_JITTER_PCT 20                     /* each wait is drawn from +-20% of the schedule */

/*
 * A Retry-After header value relative to "now_us": delta-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" or
 * asctime "Sun Nov  6 08:49:37 1994"), surrounding blanks ignored. *ret_us gets the wait in
 * microseconds: 0 for a date in the past, at most VEX_HOOKRETRY_AFTER_MAX_US. 0 or VEX_EINVAL.
 */
int vex_hookretry_after_parse(const char *value, int64_t now_us, int64_t *ret_us);

/*
 * The wait before the next attempt of a delivery that has failed "attempts" times (>= 1):
 * cfg->hook_retry_ms[attempts - 1] scaled by a factor in [0.8, 1.2] drawn from "rnd" (any 32
 * random bits), raised to "retry_after_us" (capped at a day) when that is longer.
 * 0 with *ret_us, or VEX_ESTATE when the schedule is used up (the delivery has failed for good).
 */
int vex_hookretry_wait(const struct vex_config *cfg, int attempts, int64_t retry_after_us, uint32_t rnd,
		       int64_t *ret_us);

#endif
