/* fields.h - request-field helpers every presenter shares: each returns a field error, the presenter renders it. */
#ifndef VEX_FIELDS_H
#define VEX_FIELDS_H

#include <stddef.h>

#include "core/base/json.h"
#include "core/base/traceparent.h"
#include "fcgi-app/router.h"

/*
 * Each helper answers nothing: on a bad value it returns VEX_EINVAL with "e" filled (status 400,
 * code "VALIDATION_ERROR", the field as the client spells it, a message, and "limit" when a bound
 * was broken), for the presenter to render in its dialect's shape. Output parameters are written
 * only on success. The limits themselves are core/base/limits.h.
 */

/* How a presenter shows a field error (vex: vex_ctx_field_error). */
typedef void (*vex_fields_render_fn)(struct vex_ctx *c, const struct vex_field_error *e);

/* Answer a failed helper (or vex_ctx_body_object): VEX_EINVAL through "render", anything else as
 * vex_ctx_fail. Returns "rc". */
int vex_fields_refuse(struct vex_ctx *c, int rc, const struct vex_field_error *e, vex_fields_render_fn render);

/*
 * Every top-level key of the object "body" must be one of "known" (NULL terminated; NULL: none):
 * else 400 VALIDATION_ERROR naming the first other key, "unknown field '<key>'; allowed: <known>"
 * (or "...; this endpoint takes no fields"). Every write body passes here through
 * vex_ctx_body_object, with the route's list (struct vex_route "fields").
 */
int vex_fields_known(json_t *body, const char *const *known, struct vex_field_error *e);

/*
 * For a write route whose handler reads no body (cancel, pause, stream_token, ...): the body must be
 * empty or an object holding only fields the route accepts (normally none); else the error is
 * answered through "render". 0 or the VEX_E... code.
 */
int vex_fields_no_body(struct vex_ctx *c, vex_fields_render_fn render);

/*
 * The query parameter "key" as an integer in ["lo", "hi"], "def" when absent; above "hi" clamped
 * to it when "clamp" (the events dialect's limit), else refused ("limit" = hi).
 */
int vex_fields_query_int(struct vex_ctx *c, const char *key, long def, long lo, long hi, int clamp, long *ret,
			 struct vex_field_error *e);

/* 1 when "s" is an id: a UUID when "prefix" is NULL, else "prefix" + 32 lowercase hex digits. */
int vex_fields_id_valid(const char *s, const char *prefix);

/*
 * A page cursor: the first present of the query parameters "names" (NULL terminated), the id of
 * the last item of the previous page, as vex_fields_id_valid. Absent or empty -> out = "". "out" holds "cap" bytes.
 */
int vex_fields_cursor(struct vex_ctx *c, const char *const *names, const char *prefix, char *out, size_t cap,
		      struct vex_field_error *e);

/*
 * Whose resources a listing shows: the caller's own; an admin may ask for "owner=<sub>" (into
 * "buf") or "owner=*" (*ret = NULL: every owner).
 */
int vex_fields_owner(struct vex_ctx *c, char *buf, size_t len, const char **ret, struct vex_field_error *e);

/*
 * The Idempotency-Key header and the request it comes with, the JSON object "body" read from it:
 * absent -> ret->key = NULL; else checked by vex_jobsvc_idem_key_check, and ret->request_hash =
 * hex SHA-256 of "<method>\n<path>\n<body with sorted keys, compact>" (so whitespace and key order
 * do not matter; any other difference in path or body does). ret->key points into the request
 * (valid until the request ends). 0, VEX_EINVAL ("e" filled), VEX_ENOMEM or VEX_ERROR.
 */
int vex_fields_idem_key(struct vex_ctx *c, json_t *body, struct vex_idem *ret, struct vex_field_error *e);

/*
 * The request's W3C traceparent header as a job keeps it (vex_traceparent_parse, into "buf"), or
 * NULL when it is absent or invalid: an invalid one is ignored, never an error (the W3C rule: the
 * receiver restarts the trace; docs/api-vex.md, "Trace context").
 */
const char *vex_fields_traceparent(struct vex_ctx *c, char buf[VEX_TRACEPARENT_LEN + 1]);

/* ---- agent fields both dialects read ---- */

/* Replace the owned string *dst by a copy of "src" (NULL clears it). 0 or VEX_ENOMEM (*dst kept). */
int vex_fields_set_str(char **dst, const char *src);

/*
 * The optional string "key" of "body", into *field (replaced; null clears it to NULL):
 * 0 (set or cleared), VEX_ENOTFOUND (absent), VEX_EINVAL (400: neither a string nor null), VEX_ENOMEM.
 */
int vex_fields_nullable_str(json_t *body, const char *key, char **field, struct vex_field_error *e);

/*
 * The optional "key" of "body" listing an agent's tools: an array (its elements are checked by
 * vex_agent_validate), stored as its compact JSON text in *field (replaced), or null (every tool
 * the owner may run: *field = NULL). Returns as vex_fields_nullable_str.
 */
int vex_fields_tool_names(json_t *body, const char *key, char **field, struct vex_field_error *e);

/*
 * An agent's base URL given as the string "key" of "body" (now "base_url", already through
 * vex_agent_validate) must lead to a public address, as a webhook target must
 * (core/hooks/netguard.c), unless [browser] allow_private: IP literals in every form, and the
 * addresses a host name resolves to now. A name that does not resolve now is kept: the runner
 * resolves it again, and checks and pins the answer, when a session starts. 0, or VEX_EINVAL
 * (422 VALIDATION_ERROR naming "key": "<key>: <why>").
 */
int vex_fields_base_url(const struct vex_ctx *c, json_t *body, const char *key, const char *base_url,
			struct vex_field_error *e);

#endif
