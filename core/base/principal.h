/* principal.h - who is calling: an owner name, a role and a plan, whatever the credential was. */
#ifndef VEX_PRINCIPAL_H
#define VEX_PRINCIPAL_H

#include "core/base/config.h"

#define VEX_SUB_MAX 128       /* bytes of "sub", without NUL */

enum vex_role { VEX_ROLE_USER = 0, VEX_ROLE_ADMIN = 1 };

struct vex_principal {
	char sub[VEX_SUB_MAX + 1];
	enum vex_role role;
	enum vex_plan plan; /* VEX_PLAN_FREE when the token names none */
};

/* "user" / "admin" <-> enum. */
int vex_role_parse(const char *name, enum vex_role *ret);
const char *vex_role_name(enum vex_role role);

#endif
