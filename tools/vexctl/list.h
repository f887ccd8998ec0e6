/* list.h - vexctl's listings: options that become a query, one request, rows of a table (or --json). */
#ifndef VEXCTL_LIST_H
#define VEXCTL_LIST_H

#include "tools/vexctl/output.h"

/* Puts one JSON item as a row of a table. */
typedef void (*vc_row_fn)(struct vc_table *t, json_t *item);

/*
 * Parses the options of a listing: option i of "opts" (its val being i + 1, at most 16 of them) adds
 * "?names[i]=<value>" to "path" (size "n"); no operands. 0, VC_OPT_HELP after the help, or
 * VC_EXIT_USAGE (said).
 */
int vc_list_query(int argc, char **argv, struct vc_ctx *ctx, const struct option *opts, const char *const *names,
		  char *path, size_t n);

/* What a listing shows: "member" is the answer's array of rows, NULL when the answer is one row. */
struct vc_listing {
	const char *member;
	size_t ncols;
	const char *const *head;
	vc_row_fn row;
};

/*
 * "method" "path" with no body, then the answer raw (--json) or as the table "l" (the next page's
 * "--cursor" on stderr when the answer has a next_cursor). Returns the exit status.
 */
int vc_list_show(struct vc_ctx *ctx, const char *method, const char *path, const struct vc_listing *l);

/* The same for an answer already in hand. */
int vc_list_print(const struct vc_client *c, const struct vc_answer *a, const struct vc_listing *l);

#endif
