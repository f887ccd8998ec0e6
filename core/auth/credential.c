/* credential.c - request authentication: API keys by SHA-256 point lookup, JWTs through jwt.c. */
#include "core/auth/credential.h"

#include <string.h>

#include "core/auth/apikeys.h"
#include "core/base/err.h"
#include "core/base/log.h"

static void set_reason(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
}

/* Authenticate the key "cred" ("len" bytes). */
static int by_key(struct vex_store *store, const char *cred, size_t len, int64_t now_us, unsigned flags,
		  struct vex_principal *ret, struct vex_credential *cr, const char **reason)
{
	char key[VEX_APIKEY_LEN + 1], hash[VEX_APIKEY_HASH_LEN + 1];
	struct vex_api_key k;
	int rc = VEX_EAUTH;

	if (len != VEX_APIKEY_LEN) {
		set_reason(reason, "invalid API key");
		goto out;
	}
	memcpy(key, cred, len);
	key[len] = '\0';
	if (!vex_apikey_valid(key)) {
		set_reason(reason, "invalid API key");
		goto out;
	}
	rc = vex_apikey_hash(key, hash);
	if (rc < 0)
		goto out;
	rc = vex_store_key_by_hash(store, hash, &k);
	if (rc == VEX_ENOTFOUND) {
		set_reason(reason, "invalid API key");
		rc = VEX_EAUTH;
		goto out;
	}
	if (rc < 0)
		goto out;
	/* A write at most once a minute per key; losing it (busy database) costs nothing. */
	cr->is_key = 1;
	memcpy(cr->key_id, k.id, sizeof(cr->key_id));
	cr->touch_due = k.last_used_at <= now_us - VEX_APIKEY_TOUCH_US;
	if (cr->touch_due && !(flags & VEX_AUTHN_NO_TOUCH) && vex_store_key_touch(store, k.id, now_us) < 0)
		vex_log(VEX_LOG_DEBUG, "api key last_used_at not recorded", "key_id", k.id, NULL);
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->sub, k.owner, sizeof(ret->sub));
	ret->role = k.role;
	ret->plan = k.plan;
out:
	return rc;
}

/* A verified JWT against the revocations: its jti, its sub's iat cut-off. */
static int by_jwt(const struct vex_config *cfg, struct vex_store *store, const char *authorization, int64_t now_us,
		  struct vex_principal *ret, struct vex_credential *cr, const char **reason)
{
	struct vex_jwt_claims claims;
	struct vex_principal p;
	int rc, revoked = 0;

	rc = vex_auth_bearer_claims(cfg, authorization, now_us / 1000000, &p, &claims, reason);
	if (rc)
		return rc;
	if (store) {
		rc = vex_store_token_revoked(store, claims.jti, p.sub, claims.iat, &revoked);
		if (rc)
			return rc;
	}
	if (revoked) {
		set_reason(reason, VEX_AUTHN_REVOKED);
		return VEX_EAUTH;
	}
	memcpy(cr->jti, claims.jti, sizeof(cr->jti));
	cr->iat = claims.iat;
	*ret = p;
	return 0;
}

int vex_authn_request(const struct vex_config *cfg, struct vex_store *store, const char *authorization,
		      const char *x_api_key, int64_t now_us, struct vex_principal *ret, const char **reason)
{
	return vex_authn_check(cfg, store, authorization, x_api_key, now_us, 0, ret, NULL, reason);
}

const char *vex_authn_error_code(const char *reason)
{
	return reason && strcmp(reason, VEX_AUTHN_REVOKED) == 0 ? "TOKEN_REVOKED" : "UNAUTHORIZED";
}

int vex_authn_check(const struct vex_config *cfg, struct vex_store *store, const char *authorization,
		    const char *x_api_key, int64_t now_us, unsigned flags, struct vex_principal *ret,
		    struct vex_credential *ret_cred, const char **reason)
{
	struct vex_credential scratch, *cr = ret_cred ? ret_cred : &scratch;
	const char *cred = NULL;
	size_t len = 0, xlen;
	int bearer;

	memset(cr, 0, sizeof(*cr));
	if (authorization && authorization[0] == '\0')
		authorization = NULL;
	if (x_api_key && x_api_key[0] == '\0')
		x_api_key = NULL;
	bearer = authorization && vex_auth_bearer_token(authorization, &cred, &len, NULL) == 0;

	if (x_api_key) {
		xlen = strnlen(x_api_key, VEX_TOKEN_MAX + 1);
		while (xlen > 0 && (x_api_key[xlen - 1] == ' ' || x_api_key[xlen - 1] == '\t'))
			xlen--;
		while (xlen > 0 && (*x_api_key == ' ' || *x_api_key == '\t')) {
			x_api_key++;
			xlen--;
		}
		/* Two credentials are accepted only when they are the same key. */
		if (authorization && (!bearer || len != xlen || memcmp(cred, x_api_key, len) != 0)) {
			set_reason(reason, "conflicting credentials: Authorization and X-API-Key name different keys");
			return VEX_EAUTH;
		}
		if (!store)
			return VEX_ERROR;
		return by_key(store, x_api_key, xlen, now_us, flags, ret, cr, reason);
	}
	if (bearer && len >= 4 && memcmp(cred, VEX_APIKEY_PREFIX, 4) == 0) {
		if (!store)
			return VEX_ERROR;
		return by_key(store, cred, len, now_us, flags, ret, cr, reason);
	}
	return by_jwt(cfg, store, authorization, now_us, ret, cr, reason);
}

long long vex_authn_ttl_max(const struct vex_config *cfg)
{
	return cfg && cfg->token_ttl_max_s > 0 ? cfg->token_ttl_max_s : VEX_TOKEN_TTL_MAX_DEFAULT;
}

int vex_authn_mint(const struct vex_config *cfg, const struct vex_principal *p, long long ttl_s, int64_t now_us,
		   char **ret_token, int64_t *ret_expires_us, char ret_jti[VEX_UUID_LEN + 1], struct vex_field_error *e)
{
	int64_t now_s = now_us / 1000000;
	long long max = vex_authn_ttl_max(cfg);
	char *token = NULL, jti[VEX_UUID_LEN + 1];
	int rc;

	if (!p->sub[0] || vex_has_control_chars(p->sub)) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "sub",
					 "sub must be 1..%d bytes without control characters", VEX_SUB_MAX);
		goto out;
	}
	if (ttl_s < 1 || ttl_s > max) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "ttl",
					 "ttl must be between 1 and %lld seconds ([auth] token_ttl_max_s)", max);
		goto out;
	}
	vex_uuid7(jti);
	rc = vex_jwt_mint(cfg->jwt_secret, cfg->jwt_secret_len, p, now_s, ttl_s, jti, &token);
	if (rc < 0)
		goto out;
	*ret_token = token;
	*ret_expires_us = (now_s + ttl_s) * 1000000;
	memcpy(ret_jti, jti, sizeof(jti));
out:
	return rc;
}
