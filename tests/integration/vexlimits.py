# vexlimits.py - the [limits] settings every test Service (and make bench) raises so they do not shape what it
# measures, as environment overrides; re-exported by vexit.
#
# [limits] rate_<plan> (requests that create work, per principal per minute): the service's defaults, and the
# raised values every Service uses unless built with rates="default" (test_rate_limits.py).
PLAN_RATES = {"free": 10, "standard": 30, "pro": 100, "enterprise": 1000}
RAISED_RATE = 1000000
RAISED_RATES = {"VEX_LIMITS_RATE_%s" % plan.upper(): str(RAISED_RATE) for plan in PLAN_RATES}

# [limits] max_<thing>_<plan> (per-owner caps, docs/limits.md): raised for every thing and plan; a test of a
# cap sets its own small value (test_owner_caps.py).
RAISED_CAP = 10000000
RAISED_CAPS = {"VEX_LIMITS_MAX_%s_%s" % (thing, plan.upper()): str(RAISED_CAP)
               for thing in ("AGENTS", "SCHEDULES", "QUEUED_JOBS", "WEBHOOKS", "STREAMS") for plan in PLAN_RATES}

# Every [limits] setting a Service raises: the rates and the caps.
RAISED_LIMITS = dict(RAISED_RATES, **RAISED_CAPS)
