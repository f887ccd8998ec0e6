/* base64.c - RFC 4648 base64 in both alphabets; strict, canonical decoding. */
#include "core/base/base64.h"

#include <stdint.h>
#include <string.h>

#include "core/base/err.h"

/*
 * OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock know only the standard alphabet, and the decoder
 * skips whitespace, counts padding into the length and accepts non-canonical trailing bits:
 * it does not serve JWT segments, page tokens or key syntax checks, hence this codec.
 */

static const char std_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t vex_b64_encode(const void *in, size_t n, char *out, int flags)
{
	const char *a = (flags & VEX_B64_URL) ? url_chars : std_chars;
	const unsigned char *p = in;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i > 0) {
		v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (n - i == 2)
			out[o++] = a[(v >> 6) & 63];
		else if (flags & VEX_B64_PAD)
			out[o++] = '=';
		if (flags & VEX_B64_PAD)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The value of "c" in the alphabets "flags" allow, or -1. */
static int b64_value(char c, int flags)
{
	const char *p;

	if ((!(flags & VEX_B64_URL) || (flags & VEX_B64_EITHER)) && (p = memchr(std_chars, c, 64)))
		return (int)(p - std_chars);
	if ((flags & (VEX_B64_URL | VEX_B64_EITHER)) && (p = memchr(url_chars, c, 64)))
		return (int)(p - url_chars);
	return -1;
}

int vex_b64_decode(const char *in, size_t n, void *out, size_t cap, size_t *ret_len, int flags)
{
	unsigned char *d = out;
	size_t i, o = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
		pad++;
	if (pad > 0) {
		if (!(flags & (VEX_B64_PAD | VEX_B64_PAD_OPT)) || n % 4 != 0)
			return VEX_EINVAL;
	} else if ((flags & VEX_B64_PAD) && n % 4 != 0) {
		return VEX_EINVAL;
	}
	n -= pad;
	if (n % 4 == 1)
		return VEX_EINVAL;
	for (i = 0; i < n; i++) {
		v = b64_value(in[i], flags);
		if (v < 0)
			return VEX_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return VEX_ETOOBIG;
			d[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* non-canonical trailing bits */
		return VEX_EINVAL;
	*ret_len = o;
	return 0;
}
