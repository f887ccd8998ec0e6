/* streamtoken.c - stream tokens: {job, owner, role, plan, exp} sealed with the JWT secret under their own label. */
#include "fcgi-app/streamtoken.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fcgi-app/cursor.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"

#define LABEL "vex stream_token v1"

static int owner_ok(const char *owner)
{
	size_t n = owner ? strnlen(owner, VEX_SUB_MAX + 1) : 0;

	return n >= 1 && n <= VEX_SUB_MAX && !vex_has_control_chars(owner);
}

int vex_streamtoken_mint(const unsigned char *secret, size_t secret_len, const char *job_id, const char *owner,
			 enum vex_role role, enum vex_plan plan, int64_t exp_s, char *out, size_t cap)
{
	char *payload = NULL;
	json_t *v = NULL;
	int rc;

	if (!secret || secret_len == 0 || !job_id || !vex_uuid_valid(job_id) || !owner_ok(owner))
		return VEX_EINVAL;
	if ((unsigned)plan >= VEX_PLAN_COUNT)
		return VEX_EINVAL;
	v = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I}", "v", 1, "job", job_id, "sub", owner, "role",
		      vex_role_name(role), "plan", vex_plan_name(plan), "exp", (json_int_t)exp_s);
	payload = v ? vex_json_dump(v) : NULL;
	if (!payload) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = vex_seal(secret, secret_len, LABEL, payload, strlen(payload), out,
		      cap < VEX_STREAMTOKEN_MAX ? cap : VEX_STREAMTOKEN_MAX);
out:
	free(payload);
	json_decref(v);
	return rc;
}

int vex_streamtoken_verify(const unsigned char *secret, size_t secret_len, const char *token, const char *job_id,
			   int64_t now_s, struct vex_principal *ret, const char **reason)
{
	const char *why = "stream_token is not valid", *job, *sub, *role_name, *plan_name;
	enum vex_plan plan = VEX_PLAN_FREE;
	struct vex_principal p;
	enum vex_role role;
	json_t *v = NULL, *exp;
	int rc = VEX_EAUTH;

	if (vex_unseal_json(secret, secret_len, LABEL, token, VEX_STREAMTOKEN_MAX, VEX_SEAL_PAYLOAD_MAX, &v))
		goto out;
	job = json_string_value(json_object_get(v, "job"));
	sub = json_string_value(json_object_get(v, "sub"));
	role_name = json_string_value(json_object_get(v, "role"));
	plan_name = json_string_value(json_object_get(v, "plan")); /* absent in tokens minted before plans: free */
	exp = json_object_get(v, "exp");
	/* Sealed by us, so malformed content means another version of vex: not valid either. */
	if (!job || !owner_ok(sub) || !role_name ||
	    vex_role_parse(role_name, &role) != 0 || !json_is_integer(exp) ||
	    (plan_name && vex_plan_parse(plan_name, &plan) != 0))
		goto out;
	if (json_integer_value(exp) <= now_s) {
		why = "stream_token expired";
		goto out;
	}
	if (!job_id || strcmp(job, job_id) != 0) {
		why = "stream_token is for another job";
		goto out;
	}
	memset(&p, 0, sizeof(p));
	memcpy(p.sub, sub, strlen(sub) + 1);
	p.role = role;
	p.plan = plan;
	*ret = p;
	rc = 0;
out:
	if (rc && reason)
		*reason = why;
	json_decref(v);
	return rc;
}
