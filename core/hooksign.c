/* hooksign.c - webhook signatures: HMAC-SHA256 as corex shows it (hex) and as Standard Webhooks does (base64). */
#include "hooksign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "err.h"

#define MAC_LEN 32
#define KEY_MAX 512 /* decoded bytes of a Standard Webhooks key (ours have 32) */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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
	static const char hex[] = "0123456789abcdef";
	const void *parts[1] = { body };
	size_t lens[1] = { len };
	unsigned char md[MAC_LEN];
	int i;

	if (!secret || !*secret || (!body && len))
		return VEX_EINVAL;
	if (hmac_parts((const unsigned char *)secret, strlen(secret), parts, lens, 1, md) < 0)
		return VEX_ERROR;
	memcpy(out, "sha256=", 7);
	for (i = 0; i < MAC_LEN; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[VEX_HOOKSIGN_COREX_LEN] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* The value of a base64 character of either alphabet ("+/" or "-_"), or -1. */
static int b64_value(char c)
{
	const char *p;

	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	p = c ? strchr(b64_chars, c) : NULL;
	return p ? (int)(p - b64_chars) : -1;
}

/* Decode "in" (padding optional, nothing after it) into "out" (cap bytes). Decoded length or -1. */
static long b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t n = strlen(in), o = 0, i;
	uint32_t acc = 0;
	int bits = 0, v;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (strlen(in) - n > 2 || n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = b64_chars[(v >> 6) & 63];
		out[o++] = b64_chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_chars[v >> 18];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = b64_chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

int vex_hooksign_standard(const char *secret, const char *msg_id, int64_t ts_s, const void *body, size_t len,
			  char *out, size_t cap)
{
	const size_t plen = sizeof(VEX_HOOKSIGN_SECRET_PREFIX) - 1;
	unsigned char key[KEY_MAX], md[MAC_LEN];
	char ts[32];
	const void *parts[5];
	size_t lens[5];
	long keylen;
	int rc;

	if (!secret || !msg_id || (!body && len) || strncmp(secret, VEX_HOOKSIGN_SECRET_PREFIX, plen) != 0)
		return VEX_EINVAL;
	if (cap < VEX_HOOKSIGN_STANDARD_LEN + 1)
		return VEX_ETOOBIG;
	keylen = b64_decode(secret + plen, key, sizeof(key));
	if (keylen <= 0)
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
	rc = hmac_parts(key, (size_t)keylen, parts, lens, 5, md);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return VEX_ERROR;
	memcpy(out, "v1,", 3);
	b64_encode(md, MAC_LEN, out + 3);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}
