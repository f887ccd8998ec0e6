/* jsonconf.h - what the operator's JSON files (tools.json, mcp.json) share: reading, names, error lines. */
#ifndef VEX_JSONCONF_H
#define VEX_JSONCONF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * The whole regular file "path" (at most "max" bytes) into *ret, NUL-terminated, its length in
 * *ret_len; the caller frees *ret. VEX_ENOTFOUND when the file does not exist (nothing written to
 * "err": an absent file means "none configured"); else VEX_EIO, VEX_EINVAL (not a regular file, too
 * large) or VEX_ENOMEM, with "<path>: <what>" in "err".
 */
int vex_conf_read_file(const char *path, size_t max, char **ret, size_t *ret_len, char *err, size_t errlen);

/* Writes "<path>: <kind> "<name>": <field>: <message>" into "err" (the kind/name part and the field
 * are left out when NULL) and returns VEX_EINVAL. */
int vex_conf_failv(char *err, size_t errlen, const char *path, const char *kind, const char *name, const char *field,
		   const char *fmt, va_list ap);

/* 1 when "s" is 1..max characters of [A-Za-z0-9_-] (tool and server names), else 0. */
int vex_conf_name_valid(const char *s, size_t max);

/* 1 when "s" is an environment variable name of 1..max characters: [A-Za-z_][A-Za-z0-9_]*, else 0. */
int vex_conf_env_name_valid(const char *s, size_t max);

/* Frees the "n" strings of "v" and "v" itself. Accepts NULL. */
void vex_strv_free(char **v, size_t n);

#endif
