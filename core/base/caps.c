/* caps.c - per-owner caps: the limit of an owner on a plan, the code naming each cap, the refusal's words. */
#include "core/base/caps.h"

#include "core/base/err.h"

static const struct {
	const char *code;
	const char *noun; /* "<noun> limit reached" */
	const char *what; /* "at most N <what> per owner" */
	const char *room; /* how to make room */
} caps[VEX_CAP_COUNT] = {
	[VEX_CAP_AGENTS] = { "AGENT_LIMIT_REACHED", "agent", "agents", "delete one first" },
	[VEX_CAP_SCHEDULES] = { "SCHEDULE_LIMIT_REACHED", "schedule", "scheduled agents",
				"remove a schedule or delete a scheduled agent first" },
	[VEX_CAP_QUEUED_JOBS] = { "QUEUED_JOB_LIMIT_REACHED", "queued-job", "queued jobs",
				  "retry when some have started, or cancel one" },
	[VEX_CAP_WEBHOOKS] = { "WEBHOOK_LIMIT_REACHED", "webhook", "webhooks", "delete one first" },
	[VEX_CAP_STREAMS] = { "STREAM_LIMIT_REACHED", "stream", "open streams", "close one first" },
};

int vex_cap_limit(const struct vex_config *cfg, enum vex_cap cap, enum vex_plan plan, int admin)
{
	if (admin || !cfg || (unsigned)cap >= VEX_CAP_COUNT)
		return 0;
	if ((unsigned)plan >= VEX_PLAN_COUNT)
		plan = VEX_PLAN_FREE;
	return cfg->caps[cap][plan];
}

void vex_caps_of(const struct vex_config *cfg, const struct vex_principal *who, struct vex_caps *ret)
{
	for (int i = 0; i < VEX_CAP_COUNT; i++)
		ret->max[i] = vex_cap_limit(cfg, (enum vex_cap)i, who->plan, who->role == VEX_ROLE_ADMIN);
}

const char *vex_cap_code(enum vex_cap cap)
{
	return (unsigned)cap < VEX_CAP_COUNT ? caps[cap].code : "LIMIT_REACHED";
}

int vex_cap_refuse(enum vex_cap cap, int limit, enum vex_plan plan, struct vex_field_error *e)
{
	if ((unsigned)cap >= VEX_CAP_COUNT) {
		vex_field_error_set(e, 409, "LIMIT_REACHED", "", "limit reached: at most %d per owner", limit);
	} else {
		vex_field_error_set(e, 409, caps[cap].code, "", "%s limit reached: at most %d %s per owner on the %s plan; %s",
				    caps[cap].noun, limit, caps[cap].what, vex_plan_name(plan), caps[cap].room);
	}
	e->limit = limit;
	return VEX_ELIMIT;
}
