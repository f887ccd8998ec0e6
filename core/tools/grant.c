/* grant.c - tool grants: checked at load, matched against a caller per request. */
#include "core/tools/grant.h"

#include <stdio.h>
#include <string.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/json.h"

#define OWNER_MAX 128

static int check_list(const json_t *a, const char *key, char *err, size_t errlen)
{
	size_t i;
	const json_t *x;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "must be an array of strings");
		return VEX_EINVAL;
	}
	if (json_array_size(a) > VEX_GRANT_ENTRIES_MAX) {
		snprintf(err, errlen, "more than %d entries", VEX_GRANT_ENTRIES_MAX);
		return VEX_EINVAL;
	}
	json_array_foreach(a, i, x) {
		const char *s = json_string_value(x);
		enum vex_role r;
		enum vex_plan p;

		if (!s) {
			snprintf(err, errlen, "entry %zu is not a string", i);
			return VEX_EINVAL;
		}
		if (strcmp(key, "roles") == 0 && vex_role_parse(s, &r)) {
			snprintf(err, errlen, "unknown role \"%.64s\" (user, admin)", s);
			return VEX_EINVAL;
		}
		if (strcmp(key, "plans") == 0 && vex_plan_parse(s, &p)) {
			snprintf(err, errlen, "unknown plan \"%.64s\" (free, standard, pro, enterprise)", s);
			return VEX_EINVAL;
		}
		if (strcmp(key, "owners") == 0 &&
		    (!*s || strlen(s) > OWNER_MAX || json_string_length(x) != strlen(s) || vex_has_control_chars(s))) {
			snprintf(err, errlen, "entry %zu is not an owner (1..%d bytes, no control characters)", i,
				 OWNER_MAX);
			return VEX_EINVAL;
		}
	}
	return 0;
}

int vex_grant_check(const json_t *v, char **ret, const char **ret_field, char *err, size_t errlen)
{
	const char *key;
	json_t *x;
	char *text;
	int rc;

	*ret_field = "";
	if (!json_is_object(v)) {
		snprintf(err, errlen, "must be an object with roles, plans and/or owners");
		return VEX_EINVAL;
	}
	if (json_object_size(v) == 0) {
		snprintf(err, errlen, "names no roles, plans or owners (leave it out to keep the tool admin-only)");
		return VEX_EINVAL;
	}
	json_object_foreach((json_t *)v, key, x) {
		if (strcmp(key, "roles") != 0 && strcmp(key, "plans") != 0 && strcmp(key, "owners") != 0) {
			snprintf(err, errlen, "unknown key \"%.64s\" (roles, plans, owners)", key);
			return VEX_EINVAL;
		}
		rc = check_list(x, key, err, errlen);
		if (rc) {
			/* a static name: "key" lives only as long as "v" */
			*ret_field = strcmp(key, "roles") == 0 ? "roles" : strcmp(key, "plans") == 0 ? "plans" : "owners";
			return rc;
		}
	}
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return VEX_ENOMEM;
	*ret = text;
	return 0;
}

static int listed(const json_t *g, const char *key, const char *value)
{
	const json_t *a = json_object_get(g, key), *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), value) == 0)
			return 1;
	return 0;
}

int vex_grant_allows(const char *grant, const struct vex_principal *who)
{
	json_t *g;
	int ok;

	if (!who || who->role == VEX_ROLE_ADMIN)
		return 1;
	if (!grant)
		return 0;
	g = json_loads(grant, 0, NULL);
	if (!json_is_object(g)) {
		json_decref(g);
		return 0;
	}
	ok = listed(g, "roles", vex_role_name(who->role)) || listed(g, "plans", vex_plan_name(who->plan)) ||
	     listed(g, "owners", who->sub);
	json_decref(g);
	return ok;
}
