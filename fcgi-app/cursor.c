/* cursor.c - HMAC-sealed tokens: the sealing itself, and page tokens (opaque to clients, bound to the owner and the filters). */
#include "fcgi-app/cursor.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base/base64.h"
#include "core/base/err.h"
#include "core/base/json.h"

#define MAC_LEN 32
#define PAYLOAD_MAX 160 /* bytes of the JSON payload */
#define KEY_LABEL "vex nextToken v1"

/* The MAC key is HMAC(secret, label): a leaked token never exposes the JWT secret's own MACs, and
 * tokens sealed under one label never verify under another. */
static int mac(const unsigned char *secret, size_t secret_len, const char *label, const void *data, size_t len,
	       unsigned char out[MAC_LEN])
{
	unsigned char key[MAC_LEN];
	unsigned klen = 0, mlen = 0;
	int rc = VEX_ERROR;

	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)label, strlen(label), key, &klen) ||
	    klen != MAC_LEN)
		goto out;
	if (!HMAC(EVP_sha256(), key, MAC_LEN, data, len, out, &mlen) || mlen != MAC_LEN)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int vex_seal(const unsigned char *secret, size_t secret_len, const char *label, const void *payload, size_t len,
	     char *out, size_t outlen)
{
	char tok[(VEX_SEAL_PAYLOAD_MAX + 2) / 3 * 4 + 1 + (MAC_LEN + 2) / 3 * 4 + 1];
	unsigned char m[MAC_LEN];
	size_t n;
	int rc;

	if (!secret || secret_len == 0 || !label || !payload || len > VEX_SEAL_PAYLOAD_MAX)
		return VEX_EINVAL;
	rc = mac(secret, secret_len, label, payload, len, m);
	if (rc)
		return rc;
	n = vex_b64_encode(payload, len, tok, VEX_B64_URL);
	tok[n++] = '.';
	n += vex_b64_encode(m, MAC_LEN, tok + n, VEX_B64_URL);
	if (n + 1 > outlen)
		return VEX_ETOOBIG;
	memcpy(out, tok, n + 1);
	return 0;
}

int vex_unseal(const unsigned char *secret, size_t secret_len, const char *label, const char *token,
	       size_t token_max, unsigned char *out, size_t cap, size_t *ret_len)
{
	unsigned char payload[VEX_SEAL_PAYLOAD_MAX], got[MAC_LEN + 2], want[MAC_LEN];
	const char *dot;
	size_t plen, mlen, tlen;

	if (!secret || secret_len == 0 || !label || !token)
		return VEX_EINVAL;
	tlen = strnlen(token, token_max);
	dot = memchr(token, '.', tlen);
	if (tlen >= token_max || !dot)
		return VEX_EINVAL;
	if (vex_b64_decode(token, (size_t)(dot - token), payload, sizeof(payload), &plen, VEX_B64_URL) ||
	    vex_b64_decode(dot + 1, tlen - (size_t)(dot - token) - 1, got, sizeof(got), &mlen, VEX_B64_URL) ||
	    mlen != MAC_LEN)
		return VEX_EINVAL;
	if (mac(secret, secret_len, label, payload, plen, want) || CRYPTO_memcmp(want, got, MAC_LEN) != 0)
		return VEX_EINVAL;
	if (plen > cap)
		return VEX_EINVAL;
	memcpy(out, payload, plen);
	*ret_len = plen;
	return 0;
}

int vex_unseal_json(const unsigned char *secret, size_t secret_len, const char *label, const char *token,
		    size_t token_max, size_t cap, json_t **ret)
{
	unsigned char payload[VEX_SEAL_PAYLOAD_MAX + 1];
	json_t *v, *ver;
	size_t plen;

	if (cap > VEX_SEAL_PAYLOAD_MAX || vex_unseal(secret, secret_len, label, token, token_max, payload, cap, &plen))
		return VEX_EINVAL;
	payload[plen] = '\0';
	v = json_loads((const char *)payload, 0, NULL);
	ver = json_object_get(v, "v");
	if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
		json_decref(v);
		return VEX_EINVAL;
	}
	*ret = v;
	return 0;
}

/* A short digest of the scope, so that the token does not spell out owner and filters. */
static int scope_hash(const char *scope, char out[23])
{
	unsigned char d[32];
	unsigned len = 0;

	if (!EVP_Digest(scope, strlen(scope), d, &len, EVP_sha256(), NULL))
		return VEX_ERROR;
	vex_b64_encode(d, 16, out, VEX_B64_URL); /* 16 bytes -> 22 chars */
	return 0;
}

int vex_cursor_seal(const unsigned char *secret, size_t secret_len, const char *scope, const char *last_id,
		    char *out, size_t outlen)
{
	char sh[23], *payload = NULL;
	json_t *v = NULL;
	size_t plen;
	int rc;

	if (!secret || secret_len == 0 || !scope || !last_id || strlen(last_id) > VEX_UUID_LEN)
		return VEX_EINVAL;
	rc = scope_hash(scope, sh);
	if (rc)
		goto out;
	v = json_pack("{s:i, s:s, s:s}", "v", 1, "id", last_id, "f", sh);
	payload = v ? vex_json_dump(v) : NULL;
	if (!payload) {
		rc = VEX_ENOMEM;
		goto out;
	}
	plen = strlen(payload);
	if (plen > PAYLOAD_MAX) {
		rc = VEX_ETOOBIG;
		goto out;
	}
	rc = vex_seal(secret, secret_len, KEY_LABEL, payload, plen, out, outlen);
out:
	free(payload);
	json_decref(v);
	return rc;
}

int vex_cursor_open(const unsigned char *secret, size_t secret_len, const char *scope, const char *token,
		    char ret_id[VEX_UUID_LEN + 1])
{
	const char *id, *f;
	char sh[23];
	json_t *v = NULL;
	int rc = VEX_EINVAL;

	if (!secret || secret_len == 0 || !scope || !token)
		return VEX_EINVAL;
	if (vex_unseal_json(secret, secret_len, KEY_LABEL, token, VEX_CURSOR_MAX, PAYLOAD_MAX, &v))
		goto out;
	id = json_string_value(json_object_get(v, "id"));
	f = json_string_value(json_object_get(v, "f"));
	if (!id || !f || strlen(id) > VEX_UUID_LEN)
		goto out;
	if (scope_hash(scope, sh) || strcmp(sh, f) != 0)
		goto out;
	memcpy(ret_id, id, strlen(id) + 1);
	rc = 0;
out:
	json_decref(v);
	return rc;
}
