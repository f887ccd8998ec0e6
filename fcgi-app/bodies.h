/* bodies.h - the checks of write bodies, one per presenter: a parsed body in, its fields or a field error out. */
#ifndef VEX_BODIES_H
#define VEX_BODIES_H

#include <jansson.h>

#include "core/base/json.h"
#include "core/base/principal.h"
#include "core/jobs/model.h"
#include "core/store/store.h"

/*
 * Each takes "body" (borrowed; a JSON object), touches no server state (no store, no network, no
 * request), and returns 0 with its outputs written, VEX_EINVAL with "e" filled for the presenter to
 * render in its dialect, or VEX_ENOMEM. The unit tests drive them through the presenters; the fuzz
 * harness tests/fuzz/bodies.c calls them directly.
 */

/* POST (create) and PATCH /api/v1/agents: the fields present into "a" (owned strings replaced),
 * then vex_agent_validate. "create" makes name and role required. (dialect_vex.c) */
int vex_dialect_vex_agent_body(json_t *body, int create, struct vex_agent *a, struct vex_field_error *e);

/* POST and PATCH /v1/agents: mode, name, content, baseUrl, model, schedule, status into "a", then
 * vex_agent_validate. "create" makes mode, name and content required. (dialect_events.c) */
int vex_dialect_events_agent_body(json_t *body, int create, struct vex_agent *a, struct vex_field_error *e);

/* /execute_tool and /jobs/submit: "tool" (a name) and "arguments" (an object, borrowed from "body").
 * (dialect_corex.c) */
int vex_dialect_corex_tool_body(json_t *body, const char **ret_tool, json_t **ret_args, struct vex_field_error *e);

/* /jobs/submit's optional "timeout_ms" into *ret (0 when absent or null). (dialect_corex.c) */
int vex_dialect_corex_timeout_body(json_t *body, long long *ret, struct vex_field_error *e);

/* POST and PATCH of a webhook: url (checked by vex_netguard_url_check with "allow_private"), events,
 * description, status into "h" (owned strings replaced). "create" makes url required. (webhooks.c) */
int vex_webhooks_body(json_t *body, int create, int allow_private, struct vex_webhook *h, struct vex_field_error *e);

/* POST /api/v1/keys: owner (required), role, plan (defaults user, free), name (NULL when absent or
 * null); the strings borrowed from "body". (credentials.c) */
int vex_keys_body(json_t *body, const char **ret_owner, enum vex_role *ret_role, enum vex_plan *ret_plan,
		  const char **ret_name, struct vex_field_error *e);

/* POST /api/v1/jobs/cancel: the filter ("status" pending | running | a list of them, "tool", "owner",
 * "agent_id", "created_after", "created_before"; at least one) into "f" (strings borrowed from "body";
 * f->cutoff_us left 0) and which statuses into *queued, *running (both when "status" is absent).
 * (operator.c) */
struct vex_cancel_filter;
int vex_operator_cancel_body(json_t *body, struct vex_cancel_filter *f, int *queued, int *running,
			     struct vex_field_error *e);

#endif
