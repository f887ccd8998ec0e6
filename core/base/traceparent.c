/* traceparent.c - the W3C Trace Context "traceparent" header: checked, normalised to version 00. */
#include "core/base/traceparent.h"

#include <string.h>

#include "core/base/err.h"

/* "n" lower-case hex digits at "s"; *ret_nonzero set when one of them is not '0'. */
static int lower_hex(const char *s, size_t n, int *ret_nonzero)
{
	int nonzero = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
		if (c != '0')
			nonzero = 1;
	}
	if (ret_nonzero)
		*ret_nonzero = nonzero;
	return 1;
}

/* The 55 characters at "s" in version 00's layout, the version digits aside. */
static int fields_valid(const char *s)
{
	int trace_nz = 0, parent_nz = 0;

	return s[2] == '-' && s[35] == '-' && s[52] == '-' && lower_hex(s, 2, NULL) &&
	       lower_hex(s + 3, 32, &trace_nz) && lower_hex(s + 36, 16, &parent_nz) && lower_hex(s + 53, 2, NULL) &&
	       trace_nz && parent_nz;
}

int vex_traceparent_parse(const char *header, char out[VEX_TRACEPARENT_LEN + 1])
{
	size_t len;

	if (!header)
		return VEX_EINVAL;
	len = strnlen(header, VEX_TRACEPARENT_HEADER_MAX + 1);
	if (len < VEX_TRACEPARENT_LEN || len > VEX_TRACEPARENT_HEADER_MAX || !fields_valid(header))
		return VEX_EINVAL;
	if (header[0] == '0' && header[1] == '0') {
		if (len != VEX_TRACEPARENT_LEN)
			return VEX_EINVAL;
	} else if (header[0] == 'f' && header[1] == 'f') {
		return VEX_EINVAL;
	} else if (len > VEX_TRACEPARENT_LEN && header[VEX_TRACEPARENT_LEN] != '-') {
		return VEX_EINVAL;
	}
	memcpy(out, header, VEX_TRACEPARENT_LEN);
	out[0] = '0';
	out[1] = '0';
	out[VEX_TRACEPARENT_LEN] = '\0';
	return 0;
}

int vex_traceparent_valid(const char *s)
{
	return s && s[0] == '0' && s[1] == '0' && strnlen(s, VEX_TRACEPARENT_LEN + 1) == VEX_TRACEPARENT_LEN &&
	       fields_valid(s);
}
