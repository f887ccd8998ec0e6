/* schedule.c - the UTC minutes of an agent's schedule and its slots in a time range. */
#include "runner/schedule.h"

#include <jansson.h>
#include <string.h>

#include "core/base/err.h"

/* "HH:MM" (00:00-23:59) as minutes of the day, or -1. */
static int hhmm(const char *s)
{
	int h, m;

	if (!s || strlen(s) != 5 || s[2] != ':')
		return -1;
	if (s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '5' || s[4] < '0' ||
	    s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	return h > 23 ? -1 : h * 60 + m;
}

int vex_schedule_minutes(const char *schedule_json, uint16_t *minutes, size_t *ret_n)
{
	unsigned char seen[VEX_SCHEDULE_MINUTES];
	json_t *v = NULL, *times, *tasks, *item;
	json_int_t per_day;
	size_t i, n = 0;
	int rc = VEX_EINVAL, m;

	if (!schedule_json || !minutes)
		goto out;
	v = json_loads(schedule_json, 0, NULL);
	if (!json_is_object(v))
		goto out;
	memset(seen, 0, sizeof(seen));
	times = json_object_get(v, "times");
	tasks = json_object_get(v, "tasksPerDay");
	if (times) {
		if (!json_is_array(times))
			goto out;
		json_array_foreach(times, i, item) {
			m = hhmm(json_string_value(item));
			if (m < 0)
				goto out;
			seen[m] = 1;
		}
	} else {
		if (!json_is_integer(tasks))
			goto out;
		per_day = json_integer_value(tasks);
		if (per_day < 1 || per_day > VEX_SCHEDULE_MINUTES)
			goto out;
		for (i = 0; i < (size_t)per_day; i++)
			seen[i * VEX_SCHEDULE_MINUTES / (size_t)per_day] = 1;
	}
	/* ascending and distinct whatever order the client wrote */
	for (m = 0; m < VEX_SCHEDULE_MINUTES; m++)
		if (seen[m])
			minutes[n++] = (uint16_t)m;
	*ret_n = n;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

/* Start of the UTC day holding "us" (floor, also before 1970). */
static int64_t day_start(int64_t us)
{
	int64_t d = us / VEX_SCHEDULE_DAY_US;

	if (us < 0 && d * VEX_SCHEDULE_DAY_US != us)
		d--;
	return d * VEX_SCHEDULE_DAY_US;
}

int vex_schedule_slots(const uint16_t *minutes, size_t n, int64_t lo_us, int64_t hi_us, int64_t *out, size_t cap,
		       size_t *ret_n)
{
	int64_t day, slot;
	size_t i, got = 0;

	if ((n && !minutes) || hi_us < lo_us || hi_us - lo_us > 2 * VEX_SCHEDULE_DAY_US)
		return VEX_EINVAL;
	for (day = day_start(lo_us); day <= hi_us; day += VEX_SCHEDULE_DAY_US) {
		for (i = 0; i < n; i++) {
			slot = day + (int64_t)minutes[i] * VEX_SCHEDULE_MINUTE_US;
			if (slot < lo_us || slot > hi_us)
				continue;
			if (got == cap)
				return VEX_ETOOBIG;
			out[got++] = slot;
		}
	}
	*ret_n = got;
	return 0;
}

int vex_schedule_slot_eligible(int64_t slot_us, int64_t created_us)
{
	return slot_us + VEX_SCHEDULE_MINUTE_US > created_us;
}
