/* store_explain.h - test-only: the query plans of the statements a store connection has prepared. */
#ifndef VEX_STORE_EXPLAIN_H
#define VEX_STORE_EXPLAIN_H

#include "core/store/store.h"

/*
 * EXPLAIN QUERY PLAN of every statement "s" holds prepared (its statement cache: whatever SQL the store
 * functions called so far have run, in no particular order): "fn" is called once per plan line with "arg",
 * the statement's SQL and the line's detail (e.g. "SEARCH q USING INDEX jobs_owner_queue (owner=?)"; tables
 * are named by their alias when the SQL gives one). A non-zero return of "fn" stops the walk and is returned.
 * 0, or VEX_E... when a plan could not be read. For tests (tests/unit/test_store_plans.c); no program calls it.
 */
int vex_store_explain(struct vex_store *s, int (*fn)(void *arg, const char *sql, const char *detail), void *arg);

#endif
