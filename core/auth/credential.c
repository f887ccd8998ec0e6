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
static int by_key(struct vex_store *store, const char *cred, size_t len, int64_t now_us, struct vex_principal *ret,
		  const char **reason)
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
	if (k.last_used_at <= now_us - VEX_APIKEY_TOUCH_US &&
	    vex_store_key_touch(store, k.id, now_us) < 0)
		vex_log(VEX_LOG_DEBUG, "api key last_used_at not recorded", "key_id", k.id, NULL);
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->sub, k.owner, sizeof(ret->sub));
	ret->role = k.role;
	ret->plan = k.plan;
out:
	return rc;
}

int vex_authn_request(const struct vex_config *cfg, struct vex_store *store, const char *authorization,
		      const char *x_api_key, int64_t now_us, struct vex_principal *ret, const char **reason)
{
	const char *cred = NULL;
	size_t len = 0, xlen;
	int bearer;

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
		return by_key(store, x_api_key, xlen, now_us, ret, reason);
	}
	if (bearer && len >= 4 && memcmp(cred, VEX_APIKEY_PREFIX, 4) == 0) {
		if (!store)
			return VEX_ERROR;
		return by_key(store, cred, len, now_us, ret, reason);
	}
	return vex_auth_bearer(cfg, authorization, now_us / 1000000, ret, reason);
}

int vex_authn_mint(const struct vex_config *cfg, const struct vex_principal *p, long long ttl_s, int64_t now_us,
		   char **ret_token, int64_t *ret_expires_us, struct vex_field_error *e)
{
	int64_t now_s = now_us / 1000000;
	char *token = NULL;
	int rc;

	if (!p->sub[0] || vex_has_control_chars(p->sub)) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "sub",
					 "sub must be 1..%d bytes without control characters", VEX_SUB_MAX);
		goto out;
	}
	if (ttl_s < 1 || ttl_s > VEX_TOKEN_TTL_MAX) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "ttl", "ttl must be between 1 and %lld seconds",
					 VEX_TOKEN_TTL_MAX);
		goto out;
	}
	rc = vex_jwt_sign(cfg->jwt_secret, cfg->jwt_secret_len, p, now_s, ttl_s, &token);
	if (rc < 0)
		goto out;
	*ret_token = token;
	*ret_expires_us = (now_s + ttl_s) * 1000000;
out:
	return rc;
}
