/* grant.h - tool grants: who besides an admin may run an operator tool (tools.json, mcp.json). */
#ifndef VEX_GRANT_H
#define VEX_GRANT_H

#include <stddef.h>

#include <jansson.h>

#include "core/auth/jwt.h"

#define VEX_GRANT_ENTRIES_MAX 1000 /* entries of one list (roles, plans, owners) */

/*
 * Check the grant object "v" ({"roles":[...],"plans":[...],"owners":[...]}, each optional, at least
 * one present): roles among "user"/"admin", plans among free/standard/pro/enterprise, owners 1..128
 * bytes without control characters, no other key. On 0, *ret is its compact text (caller frees).
 * Else VEX_EINVAL with what is wrong in "err" (the key in *ret_field: "roles", "plans" or "owners";
 * "" for the object itself), or VEX_ENOMEM.
 */
int vex_grant_check(const json_t *v, char **ret, const char **ret_field, char *err, size_t errlen);

/*
 * 1 when "who" may run a tool whose grant is "grant" (its text as vex_grant_check wrote it; NULL
 * for none): every admin, and a user when any of its role, plan or owner (sub) is listed. NULL "who"
 * is the system itself (may run everything). A grant that does not parse allows no one but admins.
 */
int vex_grant_allows(const char *grant, const struct vex_principal *who);

#endif
