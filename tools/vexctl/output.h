/* output.h - what vexctl prints: aligned tables for people, the server's JSON as it came for scripts. */
#ifndef VEXCTL_OUTPUT_H
#define VEXCTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "tools/vexctl/http.h"

/* The widest a cell is shown (longer ones end in "..."). */
#define VC_CELL_MAX 72

/*
 * A table: a header (or none: "head" NULL, for "NAME value" listings) and rows of cells it owns.
 * Columns are as wide as their widest cell, two spaces apart; the last one is not padded.
 */
struct vc_table {
	size_t ncols;
	const char *const *head;
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
	int err;      /* the first VEX_ENOMEM: later adds do nothing */
};
void vc_table_init(struct vc_table *t, size_t ncols, const char *const *head);
/* Copies "ncols" cells (NULL shows "-"), each cleaned (vc_clean) and cut to VC_CELL_MAX. */
void vc_table_add(struct vc_table *t, const char *const *cells);
/* Prints the table to stdout; 0, or VC_EXIT_API when memory or stdout failed (said). */
int vc_table_print(struct vc_table *t);
void vc_table_release(struct vc_table *t);

/*
 * "s" for a terminal: control characters (escape sequences a hostile server could send) become
 * "?", into "buf" of size "n" (cut there). Returns "buf".
 */
const char *vc_clean(const char *s, char *buf, size_t n);

/*
 * The member "key" of "obj" as text into "buf" (size "n"): strings as they are, numbers, booleans,
 * objects and arrays as compact JSON; NULL when absent or null (a table shows "-").
 */
const char *vc_cell(json_t *obj, const char *key, char *buf, size_t n);

/* One object as "key  value" lines, every member in the server's order. 0 or VC_EXIT_API. */
int vc_print_object(json_t *obj);

/* --json: the answer's body exactly as the server sent it, with a newline at the end. 0 or VC_EXIT_API. */
int vc_print_raw(const struct vc_answer *a);

/* The end of a command that printed: flushes stdout; "status", or VC_EXIT_API when the flush failed. */
int vc_done(int status);

#endif
