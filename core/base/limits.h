/* limits.h - every request-field limit, defined once; the service checks them, presenters only render the error. */
#ifndef VEX_LIMITS_H
#define VEX_LIMITS_H

/*
 * docs/limits.md lists each of these with the fields and endpoints they govern; change both
 * together. Lengths are bytes unless the comment says code points.
 */

/* Agents (every dialect: vex name/role, events name/content). */
#define VEX_AGENT_NAME_MAX 100      /* code points */
#define VEX_AGENT_ROLE_MIN 3        /* code points of role (events: content) */
#define VEX_AGENT_ROLE_MAX 500      /* code points */
#define VEX_AGENT_DEPTH_MAX 10      /* above: 422 "max_depth exceeds safety limit of 10" */
#define VEX_AGENT_DEPTH_DEFAULT 3
#define VEX_MODEL_NAME_MAX 200      /* bytes of an agent's model name */
#define VEX_BASE_URL_MAX 2048       /* bytes of a base_url (events: baseUrl) */
#define VEX_AGENT_TOOLS_MAX 128     /* names in an agent's tool list */
#define VEX_TOOL_NAME_MAX 128       /* bytes of one name in an agent's tool list */
#define VEX_SCHEDULE_TASKS_MAX 1440 /* schedule.tasksPerDay and schedule.times: one per minute */

/* Jobs. */
#define VEX_PROMPT_MAX 50000        /* code points of an agent job's prompt */
#define VEX_CONTEXT_ID_MAX 256      /* bytes of context_id, no control characters */
#define VEX_IDEM_KEY_MAX 255        /* bytes of Idempotency-Key: printable ASCII (0x20-0x7e) */
#define VEX_JOB_TIMEOUT_MAX_MS 86400000LL /* a queued tool job's timeout_ms: 1 ms .. one day; also the
					   * ceiling of [runner] default_timeout_ms */

/*
 * POST /execute_tool waits for its job inside the HTTP request, so its timeout_ms is bounded by
 * nginx's fastcgi_read_timeout on that location (nginx/nginx.conf.in: 330 s, the wait plus the
 * grace and some slack). Longer work goes through a queued job (VEX_JOB_TIMEOUT_MAX_MS).
 */
#define VEX_EXECUTE_WAIT_DEFAULT_MS 30000LL /* without timeout_ms */
#define VEX_EXECUTE_WAIT_MAX_MS 300000LL    /* five minutes */
#define VEX_EXECUTE_GRACE_MS 2000LL         /* after the wait, for the runner to record the timeout */

/* Listings: "limit" query parameters (default, maximum). */
#define VEX_LIST_LIMIT_DEFAULT 20   /* vex /api/v1 lists, corex GET /jobs, webhooks, keys */
#define VEX_LIST_LIMIT_MAX 100
#define VEX_EVENTS_AGENTS_LIMIT_DEFAULT 100 /* events GET /v1/agents (seed 002); above the max: clamped */
#define VEX_EVENTS_AGENTS_LIMIT_MAX 200
#define VEX_EVENTS_LIMIT_DEFAULT 50 /* events GET /v1/events, /v1/agents/{id}/events; above the max: clamped */
#define VEX_EVENTS_LIMIT_MAX 200
#define VEX_LIST_OFFSET_MAX 1000000 /* corex GET /jobs "offset" */

/* corex tools. */
#define VEX_COREX_TOOL_NAME_MAX 256 /* bytes of "tool" in /execute_tool and /jobs/submit */
#define VEX_RETRIEVE_QUERY_MAX 500  /* code points of GET /retrieve_tools "query" */
#define VEX_RETRIEVE_TOP_K_DEFAULT 5
#define VEX_RETRIEVE_TOP_K_MAX 50

/* Webhooks. */
#define VEX_HOOK_DESCRIPTION_MAX 500 /* code points */
#define VEX_HOOK_URL_MAX 2048        /* bytes of a webhook url */
#define VEX_HOOK_TURNS_MAX 4096      /* hooks with pending deliveries one delivery claim looks at */

/* Credentials (admin): API keys and minted tokens. */
#define VEX_APIKEY_NAME_MAX 100 /* code points of a key's optional name */
#define VEX_TOKEN_TTL_DEFAULT 3600 /* seconds of a token from POST /api/v1/tokens */
#define VEX_TOKEN_TTL_MAX (366LL * 24 * 3600) /* the highest [auth] token_ttl_max_s allowed */
#define VEX_TOKEN_TTL_MAX_DEFAULT (30 * 24 * 3600) /* [auth] token_ttl_max_s: a longer-lived credential should be an API key */
#define VEX_JTI_MAX 128 /* bytes of a token's jti (and kid), without NUL */
#define VEX_REVOCATION_REASON_MAX 200 /* code points of a revocation's optional reason */
#define VEX_STREAM_REVOKE_POLL_MS 250 /* the stream server looks for revoked credentials this often */

/*
 * Per-owner caps: the most of each thing one owner may hold at once, per plan, in the order of
 * enum vex_plan (free, standard, pro, enterprise); [limits] max_<thing>_<plan> overrides each
 * (1..VEX_CAP_MAX). Admins have none. core/base/caps.h names them and words the refusal.
 */
enum vex_cap {
	VEX_CAP_AGENTS,      /* live (not deleted) agents */
	VEX_CAP_SCHEDULES,   /* live agents with a schedule, paused ones included */
	VEX_CAP_QUEUED_JOBS, /* jobs waiting to be claimed (status queued), every dialect and path */
	VEX_CAP_WEBHOOKS,    /* live (active or disabled) webhooks */
	VEX_CAP_STREAMS,     /* open event streams on one stream server */
	VEX_CAP_COUNT
};
#define VEX_CAP_AGENTS_DEFAULT { 100, 1000, 10000, 100000 }
#define VEX_CAP_SCHEDULES_DEFAULT { 10, 100, 1000, 10000 }
#define VEX_CAP_QUEUED_JOBS_DEFAULT { 100, 1000, 5000, 10000 } /* counted inside the insert: see docs/limits.md */
#define VEX_CAP_WEBHOOKS_DEFAULT { 10, 50, 100, 500 }
#define VEX_CAP_STREAMS_DEFAULT { 10, 25, 50, 100 }
#define VEX_CAP_MAX 10000000

/* The caps one owner's write is held to, by enum vex_cap; 0: no cap (an admin). */
struct vex_caps {
	int max[VEX_CAP_COUNT];
};

#endif
