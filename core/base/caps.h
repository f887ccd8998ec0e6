/* caps.h - per-owner caps (agents, schedules, queued jobs, webhooks, streams): who has which, and the refusal. */
#ifndef VEX_CAPS_H
#define VEX_CAPS_H

#include "core/base/config.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/base/principal.h"

/* The cap "cap" of an owner on "plan" as configured ([limits] max_<thing>_<plan>); 0 (no cap) when
 * "admin": admins are the operator's own credentials, the caps keep owners from crowding each other. */
int vex_cap_limit(const struct vex_config *cfg, enum vex_cap cap, enum vex_plan plan, int admin);

/* Every cap of "who" into "ret" (vex_cap_limit of each). */
void vex_caps_of(const struct vex_config *cfg, const struct vex_principal *who, struct vex_caps *ret);

/* The error code that names "cap": "AGENT_LIMIT_REACHED", "SCHEDULE_LIMIT_REACHED",
 * "QUEUED_JOB_LIMIT_REACHED", "WEBHOOK_LIMIT_REACHED", "STREAM_LIMIT_REACHED". */
const char *vex_cap_code(enum vex_cap cap);

/* The answer to a create that would pass "cap" ("limit" on "plan"): "e" gets 409, the cap's code,
 * no field, "limit" and a message saying the most allowed and how to make room. Returns VEX_ELIMIT. */
int vex_cap_refuse(enum vex_cap cap, int limit, enum vex_plan plan, struct vex_field_error *e);

#endif
