/* json.c - jansson helpers: bounded parsing, compact dumps, UTF-8 checks and request field readers. */
#include "core/base/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/err.h"

int vex_field_error_set(struct vex_field_error *e, int status, const char *code, const char *field,
			const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return VEX_EINVAL;
	e->status = status;
	e->limit = 0;
	snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return VEX_EINVAL;
}

/* Container nesting of "v" (a scalar is 0, [] is 1); stops descending once past "limit". */
static int json_depth(const json_t *v, int limit)
{
	const char *k;
	size_t i;
	json_t *c;
	int max = 0, d;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit <= 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			d = json_depth(c, limit - 1);
			if (d > max)
				max = d;
		}
	} else {
		json_array_foreach(v, i, c) {
			d = json_depth(c, limit - 1);
			if (d > max)
				max = d;
		}
	}
	return max + 1;
}

/*
 * Containers nested deeper than "limit" are spotted by a scan of the bytes
 * before jansson allocates anything (brackets inside strings are skipped).
 */
static int scan_depth_ok(const char *buf, size_t len, int limit)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > limit)
				return 0;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 1;
}

int vex_json_parse(const char *buf, size_t len, json_t **ret, struct vex_field_error *e)
{
	json_error_t jerr;
	json_t *v = NULL;
	int rc = VEX_EINVAL;

	if (!buf) {
		vex_field_error_set(e, 400, "INVALID_JSON", "", "request body is empty");
		goto out;
	}
	if (memchr(buf, '\0', len)) {
		vex_field_error_set(e, 400, "INVALID_JSON", "", "invalid JSON: NUL byte at position %zu",
				    (size_t)((const char *)memchr(buf, '\0', len) - buf));
		goto out;
	}
	if (!scan_depth_ok(buf, len, VEX_JSON_MAX_DEPTH)) {
		vex_field_error_set(e, 400, "INVALID_JSON", "", "invalid JSON: nesting deeper than %d levels",
				    VEX_JSON_MAX_DEPTH);
		goto out;
	}
	/* Without JSON_ALLOW_NUL jansson refuses "\u0000" inside strings; it also checks UTF-8. */
	v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		vex_field_error_set(e, 400, "INVALID_JSON", "", "invalid JSON: %s at line %d, column %d (position %d)",
				    jerr.text, jerr.line, jerr.column, jerr.position);
		goto out;
	}
	if (json_depth(v, VEX_JSON_MAX_DEPTH) > VEX_JSON_MAX_DEPTH) {
		vex_field_error_set(e, 400, "INVALID_JSON", "", "invalid JSON: nesting deeper than %d levels",
				    VEX_JSON_MAX_DEPTH);
		goto out;
	}
	*ret = v;
	v = NULL;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

char *vex_json_dump(const json_t *v)
{
	if (!v)
		return NULL;
	/* 15 significant digits: 33.33 stays 33.33 (17 would print 33.329999999999998). */
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
}

size_t vex_utf8_len(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

int vex_has_control_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return 0;
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		/* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/*
 * Shared front of the readers: the value under "key", or VEX_ENOTFOUND when
 * absent or null and optional. A JSON null counts as absent.
 */
static int field_lookup(json_t *obj, const char *key, int required, json_t **ret, struct vex_field_error *e)
{
	json_t *v;

	if (!json_is_object(obj))
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "", "request body must be a JSON object");
	v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s is required", key);
		return VEX_ENOTFOUND;
	}
	*ret = v;
	return 0;
}

int vex_json_get_string(json_t *obj, const char *key, int required, size_t min_chars, size_t max_chars,
			int allow_control, const char **ret, struct vex_field_error *e)
{
	json_t *v = NULL;
	const char *s;
	size_t n;
	int rc;

	rc = field_lookup(obj, key, required, &v, e);
	if (rc)
		goto out;
	rc = VEX_EINVAL;
	if (!json_is_string(v)) {
		vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be a string", key);
		goto out;
	}
	s = json_string_value(v);
	/* A value built in code (not parsed) may still hold a NUL: it would silently cut the string. */
	if (strlen(s) != json_string_length(v)) {
		vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must not contain NUL characters", key);
		goto out;
	}
	n = vex_utf8_len(s);
	if (n < min_chars || (max_chars > 0 && n > max_chars)) {
		if (max_chars == 0)
			vex_field_error_set(e, 422, "VALIDATION_ERROR", key, "%s must be at least %zu characters",
					    key, min_chars);
		else if (min_chars == 0)
			vex_field_error_set(e, 422, "VALIDATION_ERROR", key, "%s must be at most %zu characters",
					    key, max_chars);
		else
			vex_field_error_set(e, 422, "VALIDATION_ERROR", key, "%s must be %zu to %zu characters",
					    key, min_chars, max_chars);
		goto out;
	}
	if (!allow_control && vex_has_control_chars(s)) {
		vex_field_error_set(e, 422, "VALIDATION_ERROR", key, "%s must not contain control characters", key);
		goto out;
	}
	*ret = s;
	rc = 0;
out:
	return rc;
}

int vex_json_get_int(json_t *obj, const char *key, int required, long long *ret, struct vex_field_error *e)
{
	json_t *v = NULL;
	int rc;

	rc = field_lookup(obj, key, required, &v, e);
	if (rc)
		goto out;
	if (!json_is_integer(v)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be an integer", key);
		goto out;
	}
	*ret = (long long)json_integer_value(v);
out:
	return rc;
}

int vex_json_get_bool(json_t *obj, const char *key, int required, int *ret, struct vex_field_error *e)
{
	json_t *v = NULL;
	int rc;

	rc = field_lookup(obj, key, required, &v, e);
	if (rc)
		goto out;
	if (!json_is_boolean(v)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be a boolean", key);
		goto out;
	}
	*ret = json_is_true(v);
out:
	return rc;
}
