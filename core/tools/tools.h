/* tools.h - the tools as vex-api and the runner see them: builtins, name resolution over the catalog, ranking. */
#ifndef VEX_TOOLS_H
#define VEX_TOOLS_H

#include <stddef.h>

#include <jansson.h>

#include "core/auth/jwt.h"
#include "core/base/json.h"
#include "core/store/store.h"

struct vex_tool_info {
	const char *name;              /* the full name: "echo", "<command>", "<server>.<tool>" */
	const char *source;            /* "builtin" | "command" | "mcp" */
	const char *description;       /* "" when none */
	const char *input_schema_json; /* a JSON Schema object, as text */
	const char *server;            /* the MCP server; NULL for builtins and command tools */
};

/* The builtin tools echo, sleep and fail; *ret points at static storage. Returns the count. */
size_t vex_tools_builtin(const struct vex_tool_info **ret);

/* The builtin tool called "name", or NULL. */
const struct vex_tool_info *vex_tool_find(const char *name);

/* ---- resolution and listing over builtins + the catalog (core/store/store.h) ---- */

/* A tool found by name. */
struct vex_tool_match {
	struct vex_tool_info info; /* strings borrowed from the builtin table or from "rows" */
	struct vex_tool_rows rows; /* the catalog row behind "info" (none for a builtin) */
};
void vex_tool_match_release(struct vex_tool_match *m);

/*
 * What "name" means to "who" (NULL: the system, which sees every tool; catalog rows "who" may not
 * run do not exist for it, not even as candidates): a builtin by its exact name (builtins always win); else the catalog row named
 * exactly "name"; else the one row whose short name (the tool without its server) is "name".
 * 0 with *ret filled (caller releases). VEX_ENOTFOUND. VEX_EINVAL when the short name is ambiguous,
 * with "e" 400 AMBIGUOUS_TOOL, field "tool", message "add is ambiguous: everything.add, fixture.add"
 * (candidates by name). Store errors as they come.
 */
int vex_tool_resolve(struct vex_store *s, const struct vex_principal *who, const char *name,
		     struct vex_tool_match *ret, struct vex_field_error *e);

/* 1 when the principal "who" (NULL: the system) may run the catalog row "r" (its grant). */
int vex_tool_row_allowed(const struct vex_tool_row *r, const void *who);

/* Every tool "who" may run (NULL: every tool): the builtins in their order, then the catalog rows
 * by name. */
struct vex_tool_list {
	struct vex_tool_info *items;
	size_t n;
	struct vex_tool_rows rows; /* backing the catalog entries of "items" */
};
int vex_tools_list(struct vex_store *s, const struct vex_principal *who, struct vex_tool_list *ret);
void vex_tool_list_release(struct vex_tool_list *l);

/* The tool's input schema as JSON (new reference; {} when the text does not parse), NULL on ENOMEM. */
json_t *vex_tool_schema(const struct vex_tool_info *t);

/* ---- retrieve_tools: a text score over names and descriptions (docs/tools.md) ---- */

#define VEX_TOOLS_QUERY_TOKENS_MAX 32 /* distinct query tokens scored; more are ignored */
#define VEX_TOOLS_DESC_SCAN_MAX 4096  /* bytes of a description searched */

struct vex_tool_hit {
	const struct vex_tool_info *tool; /* borrowed from the array given */
	double score;                     /* 0 < score <= 1 */
};

/*
 * Score each of the "n" "tools" against "query" and write the tools scoring above 0 to "hits"
 * (room for "n"), best first, ties by name. Tokens are runs of ASCII letters and digits (and bytes
 * >= 0x80), lower-cased, also split where a lower-case letter or digit meets an upper-case one.
 * Each distinct query token earns 3 when it equals a token of the name, else 2 when a name token
 * starts with it, else 1 when a description token starts with it; the score is the sum divided by
 * 3 x the number of distinct query tokens. Returns the number of hits.
 */
size_t vex_tools_rank(const char *query, const struct vex_tool_info *tools, size_t n, struct vex_tool_hit *hits);

#endif
