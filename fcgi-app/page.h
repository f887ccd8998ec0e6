/* page.h - one page of a store listing. Every list endpoint asks the store for limit + 1 rows: the
 * extra row is not shown, it only says that a next page exists. */
#ifndef VEX_PAGE_H
#define VEX_PAGE_H

#include <stddef.h>

#include <jansson.h>

#include "core/store/store.h"

/* Renders row i of list in the dialect's shape, and sets *id to that row's id (the cursor a next
 * page starts after). arg is the caller's, passed through. NULL is an allocation failure. */
typedef json_t *(*vex_page_row_fn)(const void *list, size_t i, const void *arg, const char **id);

/* A new array of rows 0 .. min(n, limit) - 1 of list. *next is the id of the last row shown when the
 * store returned more than limit rows, else NULL; it points into list. NULL when out of memory. */
json_t *vex_page_rows(const void *list, size_t n, int limit, vex_page_row_fn row, const void *arg, const char **next);

/* vex_page_rows over a store's agent or job listing, each row rendered by the dialect's view. */
json_t *vex_page_agents(const struct vex_agent_list *l, int limit, json_t *(*view)(const struct vex_agent *),
			const char **next);
json_t *vex_page_jobs(const struct vex_job_list *l, int limit, json_t *(*view)(const struct vex_job *),
		      const char **next);

#endif
