/* schema.c - the JSON Schema subset tool arguments are checked against, with bounded work. */
#include "core/tools/schema.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/tools/schema_pattern.h"

#define PATH_MAX_BYTES 256   /* a value's path as errors name it ("arguments.a.b[2]") */
#define ENUM_SHOWN_MAX 120   /* bytes of allowed values an enum message lists */
#define CONST_SHOWN_MAX 80   /* bytes of the value a const message shows */
#define PATTERN_SHOWN_MAX 80 /* bytes of a pattern a message shows */

/* One check: the root schema (for "$ref"), the work left, compiled patterns. */
struct checker {
	const json_t *root;
	long steps;
	long matches;                  /* pattern matches left */
	size_t root_len;               /* bytes of the root's path ("arguments") */
	struct vex_patterns *patterns;
	char limit_field[PATH_MAX_BYTES]; /* the value a pattern's match limits stopped, "" when none */
	char limit_text[PATTERN_SHOWN_MAX + 1];
};

static int check_value(struct checker *k, const json_t *schema, const json_t *v, const char *path, int depth,
		       struct vex_field_error *e);

/* 400 INVALID_ARGUMENTS for "path": "<path> <what>". */
static int fail(struct vex_field_error *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vex_field_error *e, const char *path, const char *fmt, ...)
{
	char what[224];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", path, "%s %s", path, what);
}

/* ---- patterns ---- */

/*
 * 1 when "s" (at "path") matches pattern "text", 0 when not. VEX_ETOOBIG when the check must stop:
 * past VEX_SCHEMA_MATCHES_MAX, or a match limit hit (recorded, and reported for "path" by
 * check_root, even from inside anyOf or not: no second slow match). A pattern that does not
 * compile fails closed (VEX_ERROR, logged): the catalog admits no such schema.
 */
static int pattern_match(struct checker *k, const char *text, const char *s, const char *path)
{
	int rc;

	if (--k->matches < 0)
		return VEX_ETOOBIG;
	rc = vex_patterns_match(&k->patterns, text, s);
	if (rc == VEX_ETOOBIG) {
		snprintf(k->limit_field, sizeof(k->limit_field), "%s", path);
		snprintf(k->limit_text, sizeof(k->limit_text), "%s", text);
	} else if (rc == VEX_EINVAL) {
		vex_log(VEX_LOG_ERROR, "a tool's input schema holds a pattern that does not compile", "pattern", text,
			NULL);
		rc = VEX_ERROR;
	}
	return rc;
}

/* ---- keywords ---- */

/* 1 when "v" is a number with no fractional part (JSON Schema's integer: 1.0 is one). */
static int integral(const json_t *v)
{
	double d = json_number_value(v);

	if (json_is_integer(v))
		return 1;
	if (!json_is_real(v))
		return 0;
	return d >= 9e18 || d <= -9e18 || d == (double)(long long)d;
}

/* A copy of "v" in which integral reals are integers (1.0 and 1 are one value), or NULL. */
static json_t *canon(const json_t *v)
{
	json_t *out, *item, *c;
	const char *key;
	size_t i;

	if (json_is_real(v) && integral(v) && json_real_value(v) < 9e18 && json_real_value(v) > -9e18)
		return json_integer((json_int_t)json_real_value(v));
	if (!json_is_array(v) && !json_is_object(v))
		return json_incref((json_t *)v);
	out = json_is_array(v) ? json_array() : json_object();
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (!out || !(c = canon(item)) || json_array_append_new(out, c) < 0)
				goto nomem;
	} else {
		json_object_foreach((json_t *)v, key, item)
			if (!out || !(c = canon(item)) || json_object_set_new(out, key, c) < 0)
				goto nomem;
	}
	return out;
nomem:
	json_decref(out);
	return NULL;
}

/* 1 when "a" and "b" are equal as JSON Schema compares (numbers by value), 0 when not, VEX_ENOMEM. */
static int same_value(const json_t *a, const json_t *b)
{
	json_t *ca = canon(a), *cb = canon(b);
	int rc = ca && cb ? json_equal(ca, cb) : VEX_ENOMEM;

	json_decref(ca);
	json_decref(cb);
	return rc;
}

/* 1 with "*n" set when "schema" has "name" as a non-negative integer (2.0 counts), else 0. */
static int count_keyword(const json_t *schema, const char *name, json_int_t *n)
{
	const json_t *x = json_object_get(schema, name);

	if (!json_is_number(x) || !integral(x) || json_number_value(x) < 0)
		return 0;
	if (json_is_integer(x))
		*n = json_integer_value(x);
	else /* a count past the integers (1e30) is one no value reaches: the largest integer says as much */
		*n = json_real_value(x) < 9e18 ? (json_int_t)json_real_value(x) : LLONG_MAX;
	return 1;
}

static int type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return integral(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	return 1; /* an unknown type name constrains nothing */
}

static int check_type(const json_t *schema, const json_t *v, const char *path, struct vex_field_error *e)
{
	const json_t *type = json_object_get(schema, "type"), *t;
	char names[160];
	size_t i, len = 0;

	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), v))
			return 0;
		return fail(e, path, "must be of type %s", json_string_value(type));
	}
	if (!json_is_array(type) || json_array_size(type) == 0)
		return 0;
	names[0] = '\0';
	json_array_foreach(type, i, t) {
		if (!json_is_string(t) || type_matches(json_string_value(t), v))
			return 0;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						i == 0 ? "" : i + 1 == json_array_size(type) ? " or " : ", ",
						json_string_value(t));
	}
	return fail(e, path, "must be of type %s", names);
}

/* A short JSON text of "v" for a message ("..." past "cap" bytes). */
static void shown(const json_t *v, char *out, size_t cap)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text) {
		snprintf(out, cap, "the allowed value");
		return;
	}
	if (strlen(text) >= cap && cap > 4)
		snprintf(out, cap, "%.*s...", (int)(cap - 4), text);
	else
		snprintf(out, cap, "%s", text);
	free(text);
}

static int check_enum(const json_t *schema, const json_t *v, const char *path, struct vex_field_error *e)
{
	const json_t *x = json_object_get(schema, "enum"), *item;
	char list[ENUM_SHOWN_MAX + 4];
	size_t i = 0, len = 0;
	int same = 0;

	if (json_is_array(x)) {
		json_array_foreach(x, i, item)
			if ((same = same_value(item, v)) != 0)
				break;
	}
	if (same < 0)
		return same;
	if (json_is_array(x) && i == json_array_size(x)) {
		list[0] = '\0';
		json_array_foreach(x, i, item) {
			char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
			size_t n = text ? strlen(text) : 0;

			if (!text || len + n + 2 > ENUM_SHOWN_MAX) {
				free(text);
				len = 0; /* too long to list: say it plainly */
				break;
			}
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", text);
			free(text);
		}
		if (len)
			return fail(e, path, "is not one of the allowed values: %s", list);
		return fail(e, path, "is not one of the allowed values");
	}
	x = json_object_get(schema, "const");
	if (x && (same = same_value(x, v)) < 0)
		return same;
	if (x && !same) {
		shown(x, list, CONST_SHOWN_MAX);
		return fail(e, path, "must be equal to %s", list);
	}
	return 0;
}

/* 1 when "v" is an integral multiple of "m" (> 0), within rounding. */
static int multiple_of(const json_t *v, double m)
{
	double q, d;
	long long iq;

	if (json_is_integer(v) && m >= 1 && m < 9e18 && m == (double)(long long)m)
		return json_integer_value(v) % (long long)m == 0;
	q = json_number_value(v) / m;
	if (q > 9e15 || q < -9e15 || m >= 9e18)
		return fmod(json_number_value(v), m) == 0; /* beyond exact integers: only an exact remainder */
	iq = (long long)(q + (q >= 0 ? 0.5 : -0.5));
	d = q - (double)iq;
	if (d < 0)
		d = -d;
	return d <= 1e-9 * (q > 1 || q < -1 ? (q < 0 ? -q : q) : 1);
}

static int check_number(const json_t *schema, const json_t *v, const char *path, struct vex_field_error *e)
{
	const json_t *min = json_object_get(schema, "minimum"), *max = json_object_get(schema, "maximum");
	const json_t *xmin = json_object_get(schema, "exclusiveMinimum");
	const json_t *xmax = json_object_get(schema, "exclusiveMaximum"), *m;
	double n = json_number_value(v);

	/* draft 4 wrote exclusiveness as a boolean beside minimum / maximum */
	if (json_is_number(min)) {
		if (json_is_true(xmin) && n <= json_number_value(min))
			return fail(e, path, "must be greater than %g", json_number_value(min));
		if (n < json_number_value(min))
			return fail(e, path, "must be at least %g", json_number_value(min));
	}
	if (json_is_number(max)) {
		if (json_is_true(xmax) && n >= json_number_value(max))
			return fail(e, path, "must be less than %g", json_number_value(max));
		if (n > json_number_value(max))
			return fail(e, path, "must be at most %g", json_number_value(max));
	}
	if (json_is_number(xmin) && n <= json_number_value(xmin))
		return fail(e, path, "must be greater than %g", json_number_value(xmin));
	if (json_is_number(xmax) && n >= json_number_value(xmax))
		return fail(e, path, "must be less than %g", json_number_value(xmax));
	m = json_object_get(schema, "multipleOf");
	if (json_is_number(m) && json_number_value(m) > 0 && !multiple_of(v, json_number_value(m)))
		return fail(e, path, "must be a multiple of %g", json_number_value(m));
	return 0;
}

static int check_string(struct checker *k, const json_t *schema, const json_t *v, const char *path,
			struct vex_field_error *e)
{
	const json_t *x;
	json_int_t lim;
	int rc;
	size_t n = vex_utf8_len(json_string_value(v));

	if (count_keyword(schema, "minLength", &lim) && (json_int_t)n < lim)
		return fail(e, path, "must be at least %lld characters", (long long)lim);
	if (count_keyword(schema, "maxLength", &lim) && (json_int_t)n > lim)
		return fail(e, path, "must be at most %lld characters", (long long)lim);
	x = json_object_get(schema, "pattern");
	if (!json_is_string(x))
		return 0;
	rc = pattern_match(k, json_string_value(x), json_string_value(v), path);
	if (rc == 0)
		return fail(e, path, "must match the pattern %.*s", PATTERN_SHOWN_MAX, json_string_value(x));
	return rc < 0 ? rc : 0;
}

struct item_text {
	char *text;
	size_t index;
};

static int item_text_cmp(const void *a, const void *b)
{
	const struct item_text *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* uniqueItems: sort canonical texts (sorted keys, integral numbers as integers) and look at neighbours, O(n log n). */
static int check_unique(const json_t *v, const char *path, struct vex_field_error *e)
{
	struct item_text *items;
	size_t i, n = json_array_size(v), a = 0, b = 0;
	int rc = 0, dup = 0;

	if (n < 2)
		return 0;
	items = calloc(n, sizeof(*items));
	if (!items)
		return VEX_ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *c = canon(json_array_get(v, i));

		items[i].index = i;
		items[i].text = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
		json_decref(c);
		if (!items[i].text) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	qsort(items, n, sizeof(*items), item_text_cmp);
	/* equal texts sit together, by index: the second of each run is a duplicate of the first;
	 * report the duplicate that comes first in the array */
	for (i = 1; i < n; i++) {
		if (strcmp(items[i - 1].text, items[i].text) != 0)
			continue;
		if (i >= 2 && strcmp(items[i - 2].text, items[i].text) == 0)
			continue;
		if (!dup || items[i].index < b) {
			a = items[i - 1].index;
			b = items[i].index;
			dup = 1;
		}
	}
	if (dup)
		rc = fail(e, path, "must not contain duplicate items (items %zu and %zu are equal)", a, b);
out:
	for (i = 0; i < n; i++)
		free(items[i].text);
	free(items);
	return rc;
}

static int check_array(struct checker *k, const json_t *schema, const json_t *v, const char *path, int depth,
		       struct vex_field_error *e)
{
	const json_t *items = json_object_get(schema, "items"), *prefix = json_object_get(schema, "prefixItems");
	const json_t *rest, *item, *sub;
	json_int_t lim;
	char child[PATH_MAX_BYTES];
	size_t i, n = json_array_size(v);
	int rc;

	if (count_keyword(schema, "minItems", &lim) && (json_int_t)n < lim)
		return fail(e, path, "must have at least %lld items", (long long)lim);
	if (count_keyword(schema, "maxItems", &lim) && (json_int_t)n > lim)
		return fail(e, path, "must have at most %lld items", (long long)lim);
	/* a tuple: "prefixItems" (then "items" for the rest), or the older "items" list (then "additionalItems") */
	if (json_is_array(prefix)) {
		rest = items;
	} else if (json_is_array(items)) {
		prefix = items;
		rest = json_object_get(schema, "additionalItems");
	} else {
		prefix = NULL;
		rest = items;
	}
	json_array_foreach(v, i, item) {
		sub = prefix && i < json_array_size(prefix) ? json_array_get(prefix, i) : rest;
		if (!sub)
			continue;
		snprintf(child, sizeof(child), "%s[%zu]", path, i);
		rc = check_value(k, sub, item, child, depth + 1, e);
		if (rc)
			return rc;
	}
	if (json_is_true(json_object_get(schema, "uniqueItems")))
		return check_unique(v, path, e);
	return 0;
}

/* "item" (under "key", at "child") against every "patternProperties" schema whose pattern "key"
 * matches; "*matched" set when one does. */
static int check_pattern_properties(struct checker *k, const json_t *schema, const char *key, const json_t *item,
				    const char *child, int depth, int *matched, struct vex_field_error *e)
{
	const json_t *pp = json_object_get(schema, "patternProperties"), *sub;
	const char *pattern;
	int rc;

	json_object_foreach((json_t *)pp, pattern, sub) {
		rc = pattern_match(k, pattern, key, child);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		*matched = 1;
		if ((rc = check_value(k, sub, item, child, depth + 1, e)) != 0)
			return rc;
	}
	return 0;
}

static int check_object(struct checker *k, const json_t *schema, const json_t *v, const char *path, int depth,
			struct vex_field_error *e)
{
	const json_t *props = json_object_get(schema, "properties");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const json_t *required = json_object_get(schema, "required"), *item, *sub;
	json_int_t lim;
	char child[PATH_MAX_BYTES];
	const char *key;
	size_t i, n = json_object_size(v);
	int rc, matched;

	json_array_foreach(required, i, item) {
		if (json_is_string(item) && !json_object_get(v, json_string_value(item))) {
			/* Name the missing argument itself (path below "arguments"), as clients expect. */
			size_t below;

			snprintf(child, sizeof(child), "%s.%s", path, json_string_value(item));
			below = k->root_len + 1 < strlen(child) ? k->root_len + 1 : strlen(child);
			return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", child, "Missing required argument: %s",
						   child + below);
		}
	}
	if (count_keyword(schema, "minProperties", &lim) && (json_int_t)n < lim)
		return fail(e, path, "must have at least %lld properties", (long long)lim);
	if (count_keyword(schema, "maxProperties", &lim) && (json_int_t)n > lim)
		return fail(e, path, "must have at most %lld properties", (long long)lim);
	json_object_foreach((json_t *)v, key, item) {
		snprintf(child, sizeof(child), "%s.%s", path, key);
		sub = json_is_object(props) ? json_object_get(props, key) : NULL;
		matched = sub != NULL;
		if (sub && (rc = check_value(k, sub, item, child, depth + 1, e)) != 0)
			return rc;
		if ((rc = check_pattern_properties(k, schema, key, item, child, depth, &matched, e)) != 0)
			return rc;
		if (!matched && json_is_false(extra))
			return fail(e, child, "is not allowed (unknown property)");
		if (!matched && json_is_object(extra) && (rc = check_value(k, extra, item, child, depth + 1, e)) != 0)
			return rc;
	}
	return 0;
}

/* allOf reports the first failing branch; anyOf, oneOf and not try branches on a scratch error. */
static int check_combinators(struct checker *k, const json_t *schema, const json_t *v, const char *path, int depth,
			     struct vex_field_error *e)
{
	struct vex_field_error scratch;
	const json_t *x, *sub;
	size_t i, matched;
	int rc;

	x = json_object_get(schema, "allOf");
	json_array_foreach(x, i, sub) {
		rc = check_value(k, sub, v, path, depth + 1, e);
		if (rc)
			return rc;
	}
	x = json_object_get(schema, "anyOf");
	if (json_is_array(x) && json_array_size(x) > 0) {
		json_array_foreach(x, i, sub) {
			rc = check_value(k, sub, v, path, depth + 1, &scratch);
			if (rc == 0)
				break;
			if (rc != VEX_EINVAL)
				return rc;
		}
		if (i == json_array_size(x)) {
			if (i == 1) /* one choice: its own reason says more */
				return check_value(k, json_array_get(x, 0), v, path, depth + 1, e);
			return fail(e, path, "does not match any of the allowed schemas (anyOf)");
		}
	}
	x = json_object_get(schema, "oneOf");
	if (json_is_array(x) && json_array_size(x) > 0) {
		matched = 0;
		json_array_foreach(x, i, sub) {
			rc = check_value(k, sub, v, path, depth + 1, &scratch);
			if (rc == 0 && ++matched > 1)
				return fail(e, path, "matches more than one of the allowed schemas (oneOf)");
			if (rc && rc != VEX_EINVAL)
				return rc;
		}
		if (matched == 0) {
			if (json_array_size(x) == 1)
				return check_value(k, json_array_get(x, 0), v, path, depth + 1, e);
			return fail(e, path, "does not match any of the allowed schemas (oneOf)");
		}
	}
	x = json_object_get(schema, "not");
	if (x) {
		rc = check_value(k, x, v, path, depth + 1, &scratch);
		if (rc == 0)
			return fail(e, path, "must not match the schema given by \"not\"");
		if (rc != VEX_EINVAL)
			return rc;
	}
	return 0;
}

/* "#" or "#/a/b~1c" inside the root schema, or NULL. */
static const json_t *resolve_ref(const json_t *root, const char *uri)
{
	const json_t *cur = root;
	char seg[256], decoded[1024], *ref = decoded;
	size_t n = 0;

	if (uri[0] != '#')
		return NULL;
	/* a URI fragment: %XX escapes first ("#/$defs/a%25b"), then the pointer's ~0 and ~1 */
	for (uri++; *uri; uri++) {
		unsigned int byte;

		if (n + 1 >= sizeof(decoded))
			return NULL;
		if (uri[0] == '%' && isxdigit((unsigned char)uri[1]) && isxdigit((unsigned char)uri[2]) &&
		    sscanf(uri + 1, "%2x", &byte) == 1 && byte != 0) {
			decoded[n++] = (char)byte;
			uri += 2;
		} else {
			decoded[n++] = *uri;
		}
	}
	decoded[n] = '\0';
	while (*ref == '/') {
		ref++;
		n = 0;
		while (*ref && *ref != '/') {
			char c = *ref++;

			if (c == '~' && (*ref == '0' || *ref == '1'))
				c = *ref++ == '0' ? '~' : '/';
			if (n + 1 >= sizeof(seg))
				return NULL;
			seg[n++] = c;
		}
		seg[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, seg);
		} else if (json_is_array(cur)) {
			char *end;
			unsigned long idx = strtoul(seg, &end, 10);

			cur = n > 0 && *end == '\0' ? json_array_get(cur, idx) : NULL;
		} else {
			cur = NULL;
		}
		if (!cur)
			return NULL;
	}
	return *ref == '\0' ? cur : NULL;
}

static int check_value(struct checker *k, const json_t *schema, const json_t *v, const char *path, int depth,
		       struct vex_field_error *e)
{
	const json_t *ref;
	int rc;

	if (depth > VEX_SCHEMA_DEPTH_MAX)
		return 0;
	if (--k->steps < 0)
		return VEX_ETOOBIG;
	if (json_is_false(schema))
		return fail(e, path, "is not allowed");
	if (!json_is_object(schema))
		return 0;
	ref = json_object_get(schema, "$ref");
	if (json_is_string(ref)) {
		const json_t *target = resolve_ref(k->root, json_string_value(ref));

		if (target) {
			rc = check_value(k, target, v, path, depth + 1, e);
			if (rc)
				return rc;
		}
	}
	rc = check_type(schema, v, path, e);
	if (rc == 0)
		rc = check_enum(schema, v, path, e);
	if (rc == 0 && json_is_number(v))
		rc = check_number(schema, v, path, e);
	if (rc == 0 && json_is_string(v))
		rc = check_string(k, schema, v, path, e);
	if (rc == 0 && json_is_array(v))
		rc = check_array(k, schema, v, path, depth, e);
	if (rc == 0 && json_is_object(v))
		rc = check_object(k, schema, v, path, depth, e);
	if (rc == 0)
		rc = check_combinators(k, schema, v, path, depth, e);
	return rc;
}

/* "v" against "schema", named "path" in messages. */
static int check_root(const json_t *schema, const json_t *v, const char *path, struct vex_field_error *e)
{
	struct checker k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.root = schema;
	k.steps = VEX_SCHEMA_STEPS_MAX;
	k.matches = VEX_SCHEMA_MATCHES_MAX;
	k.root_len = strlen(path);
	rc = check_value(&k, schema, v, path, 0, e);
	if (rc == VEX_ETOOBIG && k.limit_field[0])
		rc = vex_field_error_set(e, 400, "INVALID_ARGUMENTS", k.limit_field,
					 "%s cannot be matched against the pattern %s within the match limits",
					 k.limit_field, k.limit_text);
	else if (rc == VEX_ETOOBIG)
		rc = vex_field_error_set(e, 400, "INVALID_ARGUMENTS", path,
					 "%s too complex to check against the tool's input schema",
					 strcmp(path, "arguments") == 0 ? "arguments are" : "the value is");
	vex_patterns_free(k.patterns);
	return rc;
}

int vex_schema_check(const json_t *schema, const json_t *arguments, struct vex_field_error *e)
{
	struct vex_field_error scratch;

	if (!e)
		e = &scratch;
	if (!json_is_object(arguments))
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "arguments", "arguments must be an object");
	return check_root(schema, arguments, "arguments", e);
}

int vex_schema_check_value(const json_t *schema, const json_t *instance, struct vex_field_error *e)
{
	struct vex_field_error scratch;

	return check_root(schema, instance, "instance", e ? e : &scratch);
}

int vex_schema_check_text(const char *schema_json, const json_t *arguments, struct vex_field_error *e)
{
	json_error_t jerr;
	json_t *schema;
	int rc;

	if (!schema_json)
		return vex_schema_check(NULL, arguments, e);
	/* Fail closed: a schema that cannot be read might be the one that refuses these arguments. */
	if (strnlen(schema_json, VEX_SCHEMA_TEXT_MAX + 1) > VEX_SCHEMA_TEXT_MAX) {
		vex_log(VEX_LOG_ERROR, "a tool's input schema is too large to check arguments against", NULL);
		return VEX_ETOOBIG;
	}
	schema = json_loads(schema_json, JSON_DECODE_ANY, &jerr);
	if (!schema) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return VEX_ENOMEM;
		/* jansson may report a failed allocation as a syntax error: the log says which */
		vex_log(VEX_LOG_ERROR, "a tool's input schema does not parse", "error", jerr.text, NULL);
		return VEX_ERROR;
	}
	rc = vex_schema_check(schema, arguments, e);
	json_decref(schema);
	return rc;
}
