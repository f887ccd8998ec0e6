/* fields.c - request-field helpers shared by the presenters: limit, cursor, owner, Idempotency-Key, agent fields. */
#include "fcgi-app/fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth/apikeys.h"
#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/hooks/netguard.h"
#include "fcgi-app/jobsvc.h"

int vex_fields_refuse(struct vex_ctx *c, int rc, const struct vex_field_error *e, vex_fields_render_fn render)
{
	if (rc == VEX_EINVAL)
		render(c, e);
	else if (rc)
		vex_ctx_fail(c, rc, NULL);
	return rc;
}

int vex_fields_known(json_t *body, const char *const *known, struct vex_field_error *e)
{
	char allowed[sizeof(e->message)];
	const char *key;
	json_t *v;
	size_t i, n = 0;

	json_object_foreach(body, key, v) {
		for (i = 0; known && known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known && known[i])
			continue;
		allowed[0] = '\0';
		for (i = 0; known && known[i] && n < sizeof(allowed); i++)
			n += (size_t)snprintf(allowed + n, sizeof(allowed) - n, "%s%s", i ? ", " : "", known[i]);
		if (!known || !known[0])
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", key,
						   "unknown field '%.64s'; this endpoint takes no fields", key);
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "unknown field '%.64s'; allowed: %s", key,
					   allowed);
	}
	return 0;
}

int vex_fields_no_body(struct vex_ctx *c, vex_fields_render_fn render)
{
	struct vex_field_error e;
	json_t *body = NULL;
	int rc = vex_ctx_body_object(c, 1, &body, &e);

	json_decref(body);
	return vex_fields_refuse(c, rc, &e, render);
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

int vex_fields_idem_key(struct vex_ctx *c, json_t *body, struct vex_idem *ret, struct vex_field_error *e)
{
	const char *k = vex_http_param(c->req, "HTTP_IDEMPOTENCY_KEY");
	struct vex_buf b;
	char *canon = NULL;
	int rc = vex_jobsvc_idem_key_check(k, e);

	vex_buf_init(&b, SIZE_MAX / 2);
	if (rc)
		goto out;
	if (!k) {
		ret->key = NULL;
		ret->request_hash[0] = '\0';
		goto out;
	}
	canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon) {
		rc = VEX_ENOMEM;
		goto out;
	}
	vex_buf_printf(&b, "%s\n%s\n", c->req->method, c->req->path);
	rc = vex_buf_puts(&b, canon);
	if (rc == 0)
		rc = vex_apikey_hash(b.p, ret->request_hash);
	if (rc == 0)
		ret->key = k;
out:
	free(canon);
	vex_buf_release(&b);
	return rc;
}

const char *vex_fields_traceparent(struct vex_ctx *c, char buf[VEX_TRACEPARENT_LEN + 1])
{
	return vex_traceparent_parse(vex_http_param(c->req, "HTTP_TRACEPARENT"), buf) == 0 ? buf : NULL;
}

int vex_fields_set_str(char **dst, const char *src)
{
	char *s = src ? strdup(src) : NULL;

	if (src && !s)
		return VEX_ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int vex_fields_nullable_str(json_t *body, const char *key, char **field, struct vex_field_error *e)
{
	json_t *v = json_object_get(body, key);
	const char *s = NULL;
	int rc = 0;

	if (!v || !json_is_null(v))
		rc = vex_json_get_string(body, key, 0, 0, SIZE_MAX, 1, &s, e);
	return rc ? rc : vex_fields_set_str(field, s);
}

int vex_fields_tool_names(json_t *body, const char *key, char **field, struct vex_field_error *e)
{
	json_t *v = json_object_get(body, key);
	char *text;

	if (!v)
		return VEX_ENOTFOUND;
	if (json_is_null(v))
		return vex_fields_set_str(field, NULL);
	if (!json_is_array(v))
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be an array of tool names or null",
					   key);
	text = vex_json_dump(v);
	if (!text)
		return VEX_ENOMEM;
	free(*field);
	*field = text;
	return 0;
}

int vex_fields_base_url(const struct vex_ctx *c, json_t *body, const char *key, const char *base_url,
			struct vex_field_error *e)
{
	char why[256];

	if (!json_is_string(json_object_get(body, key)) || !base_url)
		return 0;
	if (vex_netguard_resolve(base_url, c->env->cfg->browser_allow_private, "[browser] allow_private", NULL, why,
				 sizeof(why)) == VEX_EINVAL)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", key, "%s: %s", key, why);
	return 0;
}
