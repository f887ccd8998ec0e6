/* hex.c - hex encoding and decoding of byte strings. */
#include "core/base/hex.h"

#include "core/base/err.h"

void vex_hex_encode(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int vex_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vex_hex_decode(const char *in, size_t n, void *out)
{
	unsigned char *d = out;

	for (size_t i = 0; i < n; i++) {
		int hi = vex_hex_value(in[2 * i]), lo;

		if (hi < 0)
			return VEX_EINVAL;
		lo = vex_hex_value(in[2 * i + 1]);
		if (lo < 0)
			return VEX_EINVAL;
		d[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
