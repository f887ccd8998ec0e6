/* hooksign.c - webhook signatures: HMAC-SHA256 as corex shows it (hex) and as Standard Webhooks does (base64). */
#include "runner/hooksign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/base/base64.h"
#include "core/base/err.h"
#include "core/base/hex.h"

#define MAC_LEN 32
#define KEY_MAX 512 /* decoded bytes of a Standard Webhooks key (ours have 32) */

/* HMAC-SHA256 over the "n" parts of "parts"/"lens" with "key" into "out". 0 or VEX_ERROR. */
static int hmac_parts(const unsigned char *key, size_t keylen, const void *const *parts, const size_t *lens, int n,
		      unsigned char out[MAC_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	size_t outl = 0;
	int rc = VEX_ERROR, i;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, keylen, params))
		goto out;
	for (i = 0; i < n; i++)
		if (lens[i] && !EVP_MAC_update(ctx, parts[i], lens[i]))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outl, MAC_LEN) || outl != MAC_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int vex_hooksign_corex(const char *secret, const void *body, size_t len, char out[VEX_HOOKSIGN_COREX_LEN + 1])
{
	const void *parts[1] = { body };
	size_t lens[1] = { len };
	unsigned char md[MAC_LEN];

	if (!secret || !*secret || (!body && len))
		return VEX_EINVAL;
	if (hmac_parts((const unsigned char *)secret, strlen(secret), parts, lens, 1, md) < 0)
		return VEX_ERROR;
	memcpy(out, "sha256=", 7);
	vex_hex_encode(md, MAC_LEN, out + 7);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int vex_hooksign_standard(const char *secret, const char *msg_id, int64_t ts_s, const void *body, size_t len,
			  char *out, size_t cap)
{
	const size_t plen = sizeof(VEX_HOOKSIGN_SECRET_PREFIX) - 1;
	unsigned char key[KEY_MAX], md[MAC_LEN];
	char ts[32];
	const void *parts[5];
	size_t lens[5];
	size_t keylen;
	int rc;

	if (!secret || !msg_id || (!body && len) || strncmp(secret, VEX_HOOKSIGN_SECRET_PREFIX, plen) != 0)
		return VEX_EINVAL;
	if (cap < VEX_HOOKSIGN_STANDARD_LEN + 1)
		return VEX_ETOOBIG;
	/* Standard Webhooks keys are standard base64; the URL-safe alphabet and no padding are accepted too. */
	if (vex_b64_decode(secret + plen, strlen(secret + plen), key, sizeof(key), &keylen,
			   VEX_B64_EITHER | VEX_B64_PAD_OPT) ||
	    keylen == 0)
		return VEX_EINVAL;
	snprintf(ts, sizeof(ts), "%" PRId64, ts_s);
	parts[0] = msg_id;
	lens[0] = strlen(msg_id);
	parts[1] = ".";
	lens[1] = 1;
	parts[2] = ts;
	lens[2] = strlen(ts);
	parts[3] = ".";
	lens[3] = 1;
	parts[4] = body;
	lens[4] = len;
	rc = hmac_parts(key, keylen, parts, lens, 5, md);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return VEX_ERROR;
	memcpy(out, "v1,", 3);
	vex_b64_encode(md, MAC_LEN, out + 3, VEX_B64_PAD);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}
