/* apikeys.c - API key generation, SHA-256 hex digests and syntax checks (OpenSSL EVP). */
#include "core/auth/apikeys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/base/base64.h"
#include "core/base/err.h"
#include "core/base/hex.h"
#include "core/base/ids.h"

int vex_apikey_generate(char out[VEX_APIKEY_LEN + 1])
{
	unsigned char raw[VEX_APIKEY_RAW];
	int rc;

	rc = vex_random_bytes(raw, sizeof(raw));
	if (rc < 0)
		goto out;
	memcpy(out, VEX_APIKEY_PREFIX, 4);
	vex_b64_encode(raw, sizeof(raw), out + 4, VEX_B64_URL);
out:
	return rc;
}

int vex_apikey_looks_like(const char *s)
{
	return s != NULL && strncmp(s, VEX_APIKEY_PREFIX, 4) == 0;
}

int vex_apikey_valid(const char *s)
{
	unsigned char raw[VEX_APIKEY_RAW];
	size_t n;

	/* Exactly the canonical unpadded base64url of 32 bytes: 43 chars, the last one's 4 spare bits zero. */
	if (!vex_apikey_looks_like(s) || strnlen(s, VEX_APIKEY_LEN + 1) != VEX_APIKEY_LEN)
		return 0;
	return vex_b64_decode(s + 4, VEX_APIKEY_LEN - 4, raw, sizeof(raw), &n, VEX_B64_URL) == 0 && n == sizeof(raw);
}

int vex_apikey_hash(const char *key, char out[VEX_APIKEY_HASH_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!key || !EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return VEX_ERROR;
	vex_hex_encode(md, mdlen, out);
	return 0;
}

int vex_apikey_display(const char *key, char out[VEX_APIKEY_DISPLAY_LEN + 1])
{
	if (!vex_apikey_valid(key))
		return VEX_EINVAL;
	memcpy(out, key + 4, VEX_APIKEY_DISPLAY_LEN);
	out[VEX_APIKEY_DISPLAY_LEN] = '\0';
	return 0;
}

int vex_apikey_issue(struct vex_store *s, const char *owner, enum vex_role role, enum vex_plan plan,
		     const char *name, int64_t now_us, struct vex_api_key *ret, char key[VEX_APIKEY_LEN + 1],
		     struct vex_field_error *e)
{
	struct vex_api_key k;
	char secret[VEX_APIKEY_LEN + 1], hash[VEX_APIKEY_HASH_LEN + 1];
	int rc;

	/* The same rule a JWT's sub follows, so a key's owner is also a valid token subject. */
	if (!owner || !*owner || strlen(owner) > VEX_SUB_MAX || vex_has_control_chars(owner)) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "owner",
					 "owner must be 1..%d bytes without control characters", VEX_SUB_MAX);
		goto out;
	}
	if (name && (!*name || vex_utf8_len(name) > VEX_APIKEY_NAME_MAX || strlen(name) >= sizeof(k.name) ||
		     vex_has_control_chars(name))) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "name",
					 "name must be 1..%d characters without control characters",
					 VEX_APIKEY_NAME_MAX);
		goto out;
	}
	memset(&k, 0, sizeof(k));
	vex_uuid7(k.id);
	memcpy(k.owner, owner, strlen(owner) + 1);
	k.role = role;
	k.plan = plan;
	if (name)
		memcpy(k.name, name, strlen(name) + 1);
	k.created_at = now_us;
	rc = vex_apikey_generate(secret);
	if (rc < 0)
		goto out;
	vex_apikey_display(secret, k.prefix);
	rc = vex_apikey_hash(secret, hash);
	if (rc < 0)
		goto out;
	rc = vex_store_key_insert(s, &k, hash);
	if (rc < 0)
		goto out;
	*ret = k;
	memcpy(key, secret, sizeof(secret));
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}
