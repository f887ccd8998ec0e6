/* store_internal.h - private helpers shared by the store_*.c files (not a public API). */
#ifndef VEX_STORE_INTERNAL_H
#define VEX_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "core/store/sqlite/sqlite_store.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

/* Prepared statements cached per connection, keyed by their SQL text. */
#define VEX_STMT_SLOTS 512

struct vex_stmt_slot {
	char *sql;            /* owned copy of the key; NULL when the slot is free */
	uint64_t hash;
	sqlite3_stmt *stmt;
};

struct vex_wlock;

/* A SQLite store connection: the interface's part first (core/store/store_backend.h). */
struct vex_sqlite {
	struct vex_store base;   /* kind VEX_STORE_SQLITE */
	sqlite3 *db;
	struct vex_wlock *wlock; /* NULL when the lock file could not be made (writes then rely on busy_timeout) */
	int busy_timeout_ms;
	int synchronous;         /* as opened: 0 off, 1 normal, 2 full */
	void (*ckpt_due)(void *arg); /* vex_sqlite_checkpoint_elsewhere: who runs this connection's checkpoints */
	void *ckpt_arg;
	struct vex_stmt_slot slots[VEX_STMT_SLOTS];
	size_t nslots;
};

/* The cross-process writer mutex beside the database file (store_wlock.c). Acquire waits at most
 * "timeout_ms" (VEX_EBUSY after); acquire/release are no-ops on NULL; release only if held. */
/* vex_wlock_guard opens "<db>-wlock" and holds its flock (fd, or -1): opening, configuring and
 * migrating under it serializes first opens of one file (WAL switch and migrations). While the
 * guard is held, vex_wlock_map maps (initialising once) the mutex page. */
int vex_wlock_guard(const char *db_path);
void vex_wlock_unguard(int fd);
int vex_wlock_map(int guard_fd, struct vex_wlock **ret);
int vex_wlock_acquire(struct vex_wlock *w, int timeout_ms);
void vex_wlock_release(struct vex_wlock *w);
void vex_wlock_free(struct vex_wlock *w);

/* The schema (migrations.c): vex_store_migrations[i] takes user_version i to i + 1; append only. */
extern const char *const vex_store_migrations[];
extern const int vex_store_migration_count;

/* Map a SQLite result code to VEX_E... (BUSY/LOCKED -> EBUSY, constraint -> EEXIST, ...). */
int vex_sqlite_errcode(int sqlite_rc);

/*
 * The cached prepared statement for "sql" (prepared on first use). The caller
 * must hand it back with vex_sqlite_done() before preparing the same SQL again.
 * 0, VEX_ENOMEM, VEX_EIO / VEX_ERROR (bad SQL, logged).
 */
int vex_sqlite_stmt(struct vex_sqlite *s, const char *sql, sqlite3_stmt **ret);

/* Reset and clear the bindings of a statement from vex_sqlite_stmt (NULL accepted). */
void vex_sqlite_done(sqlite3_stmt *st);

/* sqlite3_step, or SQLITE_NOMEM without stepping when a vex_bind_text of this thread's statement
 * failed since its last vex_sqlite_done (the parameter would be NULL: db.c says why). */
int vex_sqlite_step(sqlite3_stmt *st);

/* BEGIN IMMEDIATE (VEX_EBUSY after busy_timeout), COMMIT, ROLLBACK (ignores "no transaction"). */
int vex_sqlite_begin(struct vex_sqlite *s);
int vex_sqlite_commit(struct vex_sqlite *s);
void vex_sqlite_rollback(struct vex_sqlite *s);

/* Run a statement that returns no rows to completion (then done). 0 or VEX_E... */
int vex_sqlite_exec_stmt(sqlite3_stmt *st);

/* Run fixed SQL through the statement cache (savepoints, transaction control). 0 or VEX_E... */
int vex_sqlite_exec_sql(struct vex_sqlite *s, const char *sql);

/* One bound writing statement in its own BEGIN IMMEDIATE transaction (the house rule for every
 * write); *ret_changes (when not NULL) gets the rows it changed. On failure it is rolled back. */
int vex_sqlite_write(struct vex_sqlite *s, sqlite3_stmt *st, int *ret_changes);

/* An UPDATE that stamps the row id ?1 of owner ?2 (NULL: any owner) with the time ?3 ("now_us"),
 * in its own transaction: VEX_EINVAL without "id", VEX_ENOTFOUND when no row changed. */
int vex_sqlite_stamp_row(struct vex_sqlite *s, const char *sql, const char *id, const char *owner, int64_t now_us);

/* Free a listing of pointers "l" (items, n): "free_item" on each, then the array; "l" is left empty
 * (NULL accepted). */
#define VEX_STORE_LIST_RELEASE(l, free_item)                      \
	do {                                                      \
		size_t i_;                                        \
		if (!(l))                                         \
			break;                                    \
		for (i_ = 0; i_ < (l)->n; i_++)                   \
			free_item((l)->items[i_]);                \
		free((l)->items);                                 \
		(l)->items = NULL;                                \
		(l)->n = 0;                                       \
	} while (0)

/* The same, leaving the transaction open on success (the caller commits or rolls back); on failure
 * it is rolled back. */
int vex_sqlite_write_open(struct vex_sqlite *s, sqlite3_stmt *st, int *ret_changes);

/* Per-owner caps (store_caps.c). Inside a transaction the caller holds: 0 when "owner" holds fewer
 * than "max" of "cap" (max <= 0: no cap), VEX_ELIMIT when not, or a store error; "id" is the agent
 * being written (VEX_CAP_SCHEDULES: one that already has a schedule adds none). */
int vex_sqlite_cap_check_locked(struct vex_sqlite *s, enum vex_cap cap, const char *owner, const char *id, int max);

/* vex_sqlite_write for a statement that adds to what "owner" holds: in its BEGIN IMMEDIATE
 * transaction, first every cap of "which" (bits 1u << enum vex_cap) with its caps->max (NULL
 * "caps": none) as vex_sqlite_cap_check_locked ("id" as there), then "st". VEX_ELIMIT with *ret_hit
 * (when not NULL) the cap reached, and nothing written; else as vex_sqlite_write. */
int vex_sqlite_write_capped(struct vex_sqlite *s, sqlite3_stmt *st, const char *owner, const char *id,
			    const struct vex_caps *caps, unsigned which, enum vex_cap *ret_hit, int *ret_changes);

/* The insert of vex_sqlite_job_insert (idempotency included) inside a transaction the caller holds
 * (store_jobs.c); the scheduler's fire and the batch insert share it. */
/* Inside a write transaction: insert each of jobs[0..n) under a savepoint of its own (rets,
 * created, rcs as vex_sqlite_jobs_insert_batch); 0, or the SQL error that ends the transaction. */
int vex_sqlite_jobs_insert_each_locked(struct vex_sqlite *s, struct vex_job *const *jobs, size_t n,
				       struct vex_job **rets, int *created, int *rcs);
int vex_sqlite_job_insert_locked(struct vex_sqlite *s, const struct vex_job *j, struct vex_job **ret,
				 int *ret_created);

/*
 * How vex_sqlite_collect turns rows into items of "size" bytes: "read" fills a zeroed item from the
 * current row (0 or VEX_E...; a partial item is still handed to "release"), "release" frees what
 * "read" put in one (NULL: nothing to free), "keep" (NULL: every row) drops the rows it answers 0
 * for, given the "arg" of the call.
 */
struct vex_rows {
	size_t size;
	int (*read)(sqlite3_stmt *st, void *item);
	void (*release)(void *item);
	int (*keep)(const void *item, const void *arg);
};

/* Steps the bound "st" through its rows, keeping at most "max" (0: no cap), into a new array:
 * *ret_items (NULL when none is kept; the caller frees it and what "release" would) of *ret_n
 * items. Hands "st" back (vex_sqlite_done) in every case. 0 or VEX_E...; on failure every item read
 * is released and nothing is written. */
int vex_sqlite_collect(sqlite3_stmt *st, const struct vex_rows *rows, size_t max, const void *arg, void **ret_items,
		       size_t *ret_n);

/* Step the bound single-row SELECT "st" and read its row through "rows" into "ret" (rows->size
 * bytes): 0, VEX_ENOTFOUND when no row came, or VEX_E... Hands "st" back (vex_sqlite_done). */
int vex_sqlite_one(sqlite3_stmt *st, const struct vex_rows *rows, void *ret);

/* A page of an owner's listing, newest first: "sql" holds the four shapes of one SELECT (by
 * owner ?1 or not, before id ?2 or not; LIMIT ?3), indexed by (owner ? 1 : 0) | (before_id ? 2 : 0),
 * so that each uses its index. "limit" 1..1000, else VEX_EINVAL. Otherwise as vex_sqlite_collect. */
int vex_sqlite_page(struct vex_sqlite *s, const char *const sql[4], const char *owner, const char *before_id, int limit,
		    const struct vex_rows *rows, void **ret_items, size_t *ret_n);

/* Rows of "sql" (binding ?1 "since_us" and ?2 "max", 1..1000, else VEX_EINVAL): the rows stamped since a
 * time. Otherwise as vex_sqlite_collect. */
int vex_sqlite_since(struct vex_sqlite *s, const char *sql, int64_t since_us, int max, const struct vex_rows *rows,
		     void **ret_items, size_t *ret_n);

/* Step a statement that yields one integer (a COUNT), then done. 0, or VEX_ERROR when no row came. */
int vex_sqlite_step_int64(sqlite3_stmt *st, int64_t *ret);

/* How far the consumer "name" of the job events got (event_cursors: 'webhooks', 'stats'). */
int vex_sqlite_event_cursor(struct vex_sqlite *s, const char *name, int64_t *ret);

/* Bind helpers: NULL text -> SQL NULL; a time of 0 -> SQL NULL. Return SQLite codes. */
int vex_bind_text(sqlite3_stmt *st, int idx, const char *v);
int vex_bind_time(sqlite3_stmt *st, int idx, int64_t us);
/* Bind by name (":owner"); a name absent from the statement is skipped. */
int vex_bind_text_named(sqlite3_stmt *st, const char *name, const char *v);
int vex_bind_int64_named(sqlite3_stmt *st, const char *name, int64_t v);

/* The columns of a job row, in the order the job reader (vex_sqlite_job_rows) takes them, and that
 * reader: one struct vex_job * per row (store_jobs.c). */
#define JOB_COLS                                                                                         \
	"id, owner, plan, kind, agent_id, tool, input_json, status, attempts, max_attempts, priority,"      \
	" timeout_ms, created_at, started_at, completed_at, updated_at, progress_step, progress_total,"     \
	" progress_pct, progress_message, result_json, error_code, error_message, error_details_json,"      \
	" tokens_in, tokens_out, final_model, steps, browser_steps, browser_seconds, idempotency_key,"      \
	" cancel_requested, lease_owner, lease_expires_at, rev, owner_role, request_hash, retry_of, retried_by, traceparent"
extern const struct vex_rows vex_sqlite_job_rows;

/*
 * Give a running job back: queued when "left" (an SQL expression) holds, else failed with
 * LEASE_EXPIRED. A job whose cancel was requested is not given back: it ends canceled.
 * Shared by requeue (left = 1) and rescue (left = attempts < max_attempts); binds ?2 = now.
 */
#define GIVE_BACK_SET(left)                                                                                  \
	" status = CASE WHEN cancel_requested THEN 'canceled' WHEN " left " THEN 'queued' ELSE 'failed' END,"  \
	" completed_at = CASE WHEN cancel_requested OR NOT " left " THEN ?2 ELSE NULL END,"                    \
	" error_code = CASE WHEN cancel_requested THEN 'CANCELED' WHEN " left " THEN error_code"               \
	" ELSE 'LEASE_EXPIRED' END,"                                                                           \
	" error_message = CASE WHEN cancel_requested THEN 'canceled while running' WHEN " left                 \
	" THEN error_message ELSE 'the runner stopped renewing its lease and no attempts are left' END,"       \
	" lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2, rev = rev + 1"

/* What the claims must skip (store_pauses.c): *ret 0 (nothing paused), VEX_PAUSED_TOOLS (some tools'
 * jobs) or VEX_PAUSED_ALL (every job; both in store_backend.h). 0 or VEX_E... */
int vex_sqlite_pause_state(struct vex_sqlite *s, int *ret);

/* The retry link of the new job "j" (j->retry_of set), inside the insert's write transaction
 * (store_operator.c; the rule: core/store/operator.h). 0, VEX_ENOTFOUND, VEX_ESTATE, VEX_ECONFLICT. */
int vex_sqlite_retry_link_locked(struct vex_sqlite *s, const struct vex_job *j, int64_t now_us);

/* Webhook delivery rows (store_deliveries.c, store_delivery_claims.c): the columns of a delivery
 * "d", and their reader into the zeroed struct vex_delivery "item" (a vex_rows reader). 0 or VEX_ENOMEM. */
#define DLV_COLS                                                                                             \
	"d.id, d.hook_id, d.owner, d.job_id, d.event_seq, d.event, d.payload, d.status, d.attempts, d.next_at," \
	" d.last_status_code, d.last_error, d.created_at, d.finished_at, d.resend_of"
#define DLV_NCOLS 15
int vex_delivery_row_read(sqlite3_stmt *st, void *item);

/* A column as a malloc'd string (NULL for SQL NULL). *fail is set when out of memory. */
char *vex_col_strdup(sqlite3_stmt *st, int col, int *fail);
/* Copy a text column into a fixed buffer of "cap" bytes (truncating; "" for NULL). */
void vex_col_copy(sqlite3_stmt *st, int col, char *dst, size_t cap);

#endif
