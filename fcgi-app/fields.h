/* fields.h - request-field helpers every presenter shares: each returns a field error, the presenter renders it. */
#ifndef VEX_FIELDS_H
#define VEX_FIELDS_H

#include <stddef.h>

#include "core/base/json.h"
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

/* The Idempotency-Key header: absent -> *ret = NULL; else checked by vex_jobsvc_idem_key_check.
 * *ret points into the request (valid until the request ends). */
int vex_fields_idem_key(struct vex_ctx *c, const char **ret, struct vex_field_error *e);

#endif
