/* schedule.h - when a scheduled agent runs: the UTC minutes of its schedule and the slots in a time range. */
#ifndef VEX_SCHEDULE_H
#define VEX_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define VEX_SCHEDULE_MINUTES 1440          /* minutes in a UTC day */
#define VEX_SCHEDULE_MINUTE_US 60000000LL  /* a slot lasts one minute */
#define VEX_SCHEDULE_DAY_US 86400000000LL

/*
 * The minutes of the UTC day (0..1439, ascending, distinct) at which "schedule_json"
 * ({"tasksPerDay":N,"times":["HH:MM",...]}) runs: its "times"; without "times", N runs spread
 * evenly from 00:00 (minute i * 1440 / N). "minutes" has room for VEX_SCHEDULE_MINUTES.
 * 0 with *ret_n set (0 for an empty "times"), or VEX_EINVAL (not a valid schedule).
 */
int vex_schedule_minutes(const char *schedule_json, uint16_t *minutes, size_t *ret_n);

/*
 * The slots (Unix microseconds of the start of a UTC minute) of "minutes" (n of them, as above)
 * with "lo_us" <= slot <= "hi_us", ascending, at most "cap" into "out". The range may span at most
 * two days (VEX_EINVAL otherwise, or when hi < lo). 0 with *ret_n set, or VEX_ETOOBIG when more
 * than "cap" slots fall in the range.
 */
int vex_schedule_slots(const uint16_t *minutes, size_t n, int64_t lo_us, int64_t hi_us, int64_t *out, size_t cap,
		       size_t *ret_n);

/* Whether the agent created at "created_us" existed during the minute of "slot_us" (a slot that
 * ended before the agent was created is not its to fire). */
int vex_schedule_slot_eligible(int64_t slot_us, int64_t created_us);

#endif
