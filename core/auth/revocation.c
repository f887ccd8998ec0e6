/* revocation.c - checking and storing one token revocation, for POST /api/v1/tokens/revocations and vexctl. */
#include "core/auth/revocation.h"

#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/limits.h"

/* 1..max bytes without control characters. */
static int name_ok(const char *v, size_t max)
{
	size_t n = v ? strnlen(v, max + 1) : 0;

	return n > 0 && n <= max && !vex_has_control_chars(v);
}

int vex_revocation_issue(struct vex_store *s, const char *jti, const char *sub, int64_t issued_before_s,
			 const char *reason, const char *created_by, int64_t now_us, struct vex_token_revocation *ret,
			 struct vex_field_error *e)
{
	struct vex_token_revocation r;
	int64_t now_s = now_us / 1000000;
	int rc;

	if ((jti != NULL) == (sub != NULL)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", jti ? "sub" : "jti",
					 "give either jti (one token) or sub (every token of a subject issued before "
					 "issued_before), not both");
		goto out;
	}
	if (jti && !name_ok(jti, VEX_JTI_MAX)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "jti",
					 "jti must be 1..%d bytes without control characters", VEX_JTI_MAX);
		goto out;
	}
	if (jti && issued_before_s) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "issued_before",
					 "issued_before goes with sub, not with jti");
		goto out;
	}
	if (sub && !name_ok(sub, VEX_SUB_MAX)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "sub",
					 "sub must be 1..%d bytes without control characters", VEX_SUB_MAX);
		goto out;
	}
	/* A cut-off in the future would also revoke the tokens minted until then. */
	if (sub && (issued_before_s < 0 || issued_before_s > now_s)) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "issued_before",
					 "issued_before must not be in the future");
		goto out;
	}
	if (reason && (!*reason || vex_utf8_len(reason) > VEX_REVOCATION_REASON_MAX ||
		       strlen(reason) >= sizeof(r.reason) || vex_has_control_chars(reason))) {
		rc = vex_field_error_set(e, 400, "VALIDATION_ERROR", "reason",
					 "reason must be 1..%d characters without control characters",
					 VEX_REVOCATION_REASON_MAX);
		goto out;
	}
	if (!name_ok(created_by, VEX_SUB_MAX)) {
		rc = VEX_EINVAL;
		vex_field_error_set(e, 400, "VALIDATION_ERROR", "", "no revoking principal");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	vex_uuid7(r.id);
	if (jti)
		memcpy(r.jti, jti, strlen(jti) + 1);
	if (sub) {
		memcpy(r.sub, sub, strlen(sub) + 1);
		r.issued_before_s = issued_before_s ? issued_before_s : now_s;
	}
	if (reason)
		memcpy(r.reason, reason, strlen(reason) + 1);
	memcpy(r.created_by, created_by, strlen(created_by) + 1);
	r.created_at = now_us;
	rc = vex_store_revocation_insert(s, &r);
	if (rc)
		goto out;
	*ret = r;
out:
	return rc;
}
