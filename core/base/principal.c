/* principal.c - roles by name. */
#include "core/base/principal.h"

#include <string.h>

#include "core/base/err.h"

int vex_role_parse(const char *name, enum vex_role *ret)
{
	if (!name)
		return VEX_EINVAL;
	if (strcmp(name, "user") == 0)
		*ret = VEX_ROLE_USER;
	else if (strcmp(name, "admin") == 0)
		*ret = VEX_ROLE_ADMIN;
	else
		return VEX_EINVAL;
	return 0;
}

const char *vex_role_name(enum vex_role role)
{
	return role == VEX_ROLE_ADMIN ? "admin" : "user";
}
