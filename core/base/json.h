/* json.h - jansson helpers: compact dumps, bounded parsing, field validation with precise errors. */
#ifndef VEX_JSON_H
#define VEX_JSON_H

#include <jansson.h>
#include <stddef.h>

#define VEX_JSON_MAX_DEPTH 32

/*
 * A validation failure, precise enough for a 4xx body:
 * {"error":{"code":<code>,"message":<message>,"field":<field>}} with <status>.
 */
struct vex_field_error {
	int status;         /* 400 or 422 */
	char code[32];      /* "INVALID_JSON", "VALIDATION_ERROR", ... */
	char field[64];     /* "" when the error is not about one field */
	char message[256];
	long long limit;    /* the bound the value broke (core/base/limits.h); 0 when none */
};

/* Sets all members of "e" (printf-style message; "limit" 0). Returns VEX_EINVAL for convenience. */
int vex_field_error_set(struct vex_field_error *e, int status, const char *code, const char *field,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Parse "len" bytes as one JSON value (any type) with jansson, rejecting
 * nesting deeper than VEX_JSON_MAX_DEPTH, NUL bytes and invalid UTF-8.
 * On success the caller owns *ret. On failure fills "e" (400 INVALID_JSON,
 * message with jansson's line/column) and returns VEX_EINVAL.
 */
int vex_json_parse(const char *buf, size_t len, json_t **ret, struct vex_field_error *e);

/* Compact dump (JSON_COMPACT, keys in insertion order); caller frees with free(). NULL on ENOMEM. */
char *vex_json_dump(const json_t *v);

/* Number of Unicode code points in valid UTF-8 "s". */
size_t vex_utf8_len(const char *s);

/* 1 when "s" contains a C0 control character (U+0000-U+001F), DEL or a C1 control (U+0080-U+009F). */
int vex_has_control_chars(const char *s);

/*
 * Field readers for request bodies. "obj" must be an object. Each returns
 * 0 and writes *ret on success; VEX_ENOTFOUND when the key is absent and
 * "required" is 0 (ret untouched); otherwise fills "e" and returns VEX_EINVAL:
 *   absent and required          -> 400 VALIDATION_ERROR "<key> is required"
 *   wrong JSON type              -> 400 VALIDATION_ERROR "<key> must be a string" (etc.)
 * String limits count code points; "allow_control" 0 rejects control characters
 * (newline and tab are allowed only when allow_control is 1).
 * *ret for strings points into "obj" (borrowed: valid while obj lives).
 */
int vex_json_get_string(json_t *obj, const char *key, int required, size_t min_chars, size_t max_chars,
			int allow_control, const char **ret, struct vex_field_error *e);
int vex_json_get_int(json_t *obj, const char *key, int required, long long *ret, struct vex_field_error *e);
int vex_json_get_bool(json_t *obj, const char *key, int required, int *ret, struct vex_field_error *e);

#endif
