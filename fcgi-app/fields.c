/* fields.c - request-field helpers shared by the presenters: body, limit, cursor, owner, Idempotency-Key. */
#include "fcgi-app/fields.h"

#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "fcgi-app/jobsvc.h"

int vex_fields_refuse(struct vex_ctx *c, int rc, const struct vex_field_error *e, vex_fields_render_fn render)
{
	if (rc == VEX_EINVAL)
		render(c, e);
	else if (rc)
		vex_ctx_fail(c, rc, NULL);
	return rc;
}

int vex_fields_query_int(struct vex_ctx *c, const char *key, long def, long lo, long hi, int clamp, long *ret,
			 struct vex_field_error *e)
{
	if (vex_http_query_long(c->req, key, def, lo, hi, clamp, ret) == 0)
		return 0;
	vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be an integer between %ld and %ld", key, lo, hi);
	e->limit = hi;
	return VEX_EINVAL;
}

int vex_fields_id_valid(const char *s, const char *prefix)
{
	size_t n, i;

	if (!prefix)
		return vex_uuid_valid(s);
	n = strlen(prefix);
	if (strncmp(s, prefix, n) != 0)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[n + i] >= '0' && s[n + i] <= '9') || (s[n + i] >= 'a' && s[n + i] <= 'f')))
			return 0;
	return s[n + 32] == '\0';
}

int vex_fields_cursor(struct vex_ctx *c, const char *const *names, const char *prefix, char *out, size_t cap,
		      struct vex_field_error *e)
{
	char buf[64];
	size_t i;
	int rc, ok;

	for (i = 0; names[i]; i++) {
		rc = vex_http_query(c->req, names[i], buf, sizeof(buf));
		if (rc == VEX_ENOTFOUND || (rc == 0 && buf[0] == '\0'))
			continue;
		ok = rc == 0 && vex_fields_id_valid(buf, prefix) && strlen(buf) < cap;
		if (!ok)
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", names[i],
						   "%s must be an id from a previous page (%s%s)", names[i],
						   prefix ? prefix : "a UUID", prefix ? "..." : "");
		memcpy(out, buf, strlen(buf) + 1);
		return 0;
	}
	if (cap > 0)
		out[0] = '\0';
	return 0;
}

int vex_fields_owner(struct vex_ctx *c, char *buf, size_t len, const char **ret, struct vex_field_error *e)
{
	int rc;

	if (c->who.role != VEX_ROLE_ADMIN) {
		*ret = c->who.sub;
		return 0;
	}
	rc = vex_http_query(c->req, "owner", buf, len);
	if (rc != 0 && rc != VEX_ENOTFOUND)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "owner", "invalid owner");
	if (rc == VEX_ENOTFOUND || buf[0] == '\0')
		*ret = c->who.sub;
	else
		*ret = strcmp(buf, "*") == 0 ? NULL : buf;
	return 0;
}

int vex_fields_idem_key(struct vex_ctx *c, const char **ret, struct vex_field_error *e)
{
	const char *k = vex_http_param(c->req, "HTTP_IDEMPOTENCY_KEY");
	int rc = vex_jobsvc_idem_key_check(k, e);

	if (rc == 0)
		*ret = k;
	return rc;
}
