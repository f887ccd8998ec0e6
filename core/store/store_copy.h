/* store_copy.h - moving a SQLite store to PostgreSQL (vexctl store migrate). */
#ifndef VEX_STORE_COPY_H
#define VEX_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Called after each table is copied: its name and the rows it holds now. */
typedef void (*vex_store_copy_fn)(void *arg, const char *table, int64_t rows);

/*
 * Copy every row of the SQLite store at "from" (a path, migrated to this version's schema first, as any vex
 * program opening it would) into the PostgreSQL store at "to" (a postgresql:// URL; migrated likewise), which
 * must hold no agents, jobs, keys, revocations, tools or webhooks. One transaction: the rows as they are (job
 * events keep their seqs, the event cursors their places, no trigger writes anything), the event numbering
 * continued after the last seq, then each table's count compared with the source's. Runner heartbeats are not
 * copied (they belong to live processes). Nothing is written on failure.
 * 0; VEX_EINVAL (a URL or path of the wrong kind, or text PostgreSQL cannot hold: not UTF-8, a NUL);
 * VEX_EEXIST ("to" is not empty); VEX_EIO (a store unreachable or a statement refused); "err" says which.
 */
int vex_store_copy(const char *from, const char *to, vex_store_copy_fn fn, void *arg, char *err, size_t errlen);

#endif
