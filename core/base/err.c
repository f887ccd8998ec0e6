/* err.c - descriptions of the VEX_E... codes. */
#include "core/base/err.h"

const char *vex_strerror(int code)
{
	switch (code) {
	case VEX_OK: return "ok";
	case VEX_ERROR: return "internal error";
	case VEX_ENOMEM: return "out of memory";
	case VEX_EINVAL: return "invalid argument";
	case VEX_ENOTFOUND: return "not found";
	case VEX_EBUSY: return "database busy";
	case VEX_EEXIST: return "already exists";
	case VEX_ECONFLICT: return "conflict";
	case VEX_EAUTH: return "authentication failed";
	case VEX_EIO: return "i/o error";
	case VEX_ETOOBIG: return "too large";
	case VEX_ESTATE: return "not allowed in the current state";
	case VEX_EFORBIDDEN: return "forbidden";
	case VEX_ELIMIT: return "limit reached";
	case VEX_EUNAVAIL: return "store unreachable";
	}
	return "unknown error";
}
