/* pg_internal.h - the PostgreSQL store's private declarations, shared by the files of core/store/postgres/ (not a public API). */
#ifndef VEX_PG_INTERNAL_H
#define VEX_PG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "core/base/limits.h"
#include "core/store/postgres/pg_store.h"
#include "core/store/store_backend.h"

/*
 * A PostgreSQL store connection: one per process or thread, like SQLite's. "c" is NULL while the
 * server is away: each call first reconnects (vex_pg_ready), at most once per backoff period (100 ms
 * doubling to 5 s), and answers VEX_EIO meanwhile, which the API turns into a 503 with a JSON error.
 */
struct vex_pg {
	struct vex_store base;    /* first: kind VEX_STORE_POSTGRES */
	PGconn *c;
	char *url;                /* as given to vex_pg_open (may hold a password: never logged) */
	int statement_timeout_ms; /* set on every (re)connection; 0: none */
	int64_t retry_mono_us;    /* no reconnect before this (CLOCK_MONOTONIC µs) */
	int backoff_ms;           /* the next wait after a failed reconnect */
	int warned;               /* the server's absence was logged (once per outage) */
};

/* Make sure "p" has a working connection (reconnecting within the backoff rules above). 0, or VEX_EUNAVAIL
 * while the server cannot be reached. */
int vex_pg_ready(struct vex_pg *p);

/*
 * Run "sql" with its "n" parameters "vals" (text; NULL is SQL NULL) on "p", reconnecting first when the
 * connection was lost. 0 with the result in *ret (NULL: cleared here; else the caller PQclear's it);
 * VEX_EUNAVAIL when the server is away (the connection is dropped, the next call reconnects), VEX_EIO when the
 * statement failed (logged, without its parameters); for a constraint VEX_EEXIST (unique), VEX_ENOTFOUND (foreign key) or
 * VEX_EINVAL (another), as SQLite's; VEX_EBUSY for a timeout, a lock
 * wait or a serialization failure; VEX_EINVAL for a parameter that is not UTF-8 (not logged).
 */
int vex_pg_exec(struct vex_pg *p, const char *sql, int n, const char *const *vals, PGresult **ret);

/* "v" as a parameter's text, written to "buf" (returned). */
const char *vex_pg_i64(char buf[24], int64_t v);

/*
 * The jobs lock: a transaction-level advisory lock ("vex_jobs" as a big-endian int64) that every transaction
 * writing jobs holds from its start to its end, as SQLite's single writer. It keeps job events (written by
 * triggers, numbered by an identity) visible in seq order, so a reader following "seq > cursor" never skips
 * one that commits late, and it makes the read-then-write steps of a job write (idempotency, caps, claims)
 * behave as under SQLite. Taken before any row lock, so job writers never deadlock on it.
 */
#define VEX_PG_JOBS_LOCK "8531357420326183539"

/* The channel on which the jobs table's triggers notify that a job was queued (wake.c listens). */
#define VEX_PG_WAKE_CHANNEL "vex_jobs"

/* BEGIN a transaction that writes jobs, and take the jobs lock (waiting for it: statement_timeout bounds the
 * wait). 0, or as vex_pg_exec with no transaction left open. */
int vex_pg_begin_jobs(struct vex_pg *p);

/* COMMIT the transaction open on "p": 0, or as vex_pg_exec, rolled back. */
int vex_pg_commit(struct vex_pg *p);

/* The integer at "row", "col" of "r" (0 for SQL NULL: test PQgetisnull first where NULL means something). */
int64_t vex_pg_get_i64(const PGresult *r, int row, int col);

/* ---- pg_rows.c: listings and one-row writes, as core/store/sqlite/store_rows.c ---- */

/* Row "row", column "col" of "r" into "dst" (NULL: ""), cut to "cap" bytes as vex_col_copy does. */
void vex_pg_copy(const PGresult *r, int row, int col, char *dst, size_t cap);

/*
 * How vex_pg_collect turns rows into items of "size" bytes: "read" fills a zeroed item from row "row"
 * (0 or VEX_E...; a partial item is still handed to "release"), "release" frees what "read" put in one
 * (NULL: nothing to free).
 */
struct vex_pg_rows {
	size_t size;
	int (*read)(const PGresult *r, int row, void *item);
	void (*release)(void *item);
};

/* The first "max" (0: all) rows of "r" into a new array: *ret_items (NULL when there is none; the caller
 * frees it and what "release" would) of *ret_n items. 0 or VEX_E...; on failure every item read is
 * released and nothing is written. "r" stays the caller's. */
int vex_pg_collect(const PGresult *r, const struct vex_pg_rows *rows, size_t max, void **ret_items, size_t *ret_n);

/*
 * A page of an owner's listing, newest first: "sql" holds the four shapes of one SELECT, indexed by
 * (owner ? 1 : 0) | (before_id ? 2 : 0), each numbering only the parameters it has, in the order owner,
 * before_id, limit: [0] LIMIT $1; [1] owner $1, LIMIT $2; [2] before $1, LIMIT $2; [3] owner $1, before $2,
 * LIMIT $3. "limit" 1..1000, else VEX_EINVAL. Otherwise as vex_pg_collect.
 */
int vex_pg_page(struct vex_pg *p, const char *const sql[4], const char *owner, const char *before_id, int limit,
		const struct vex_pg_rows *rows, void **ret_items, size_t *ret_n);

/* Rows of "sql" ($1 "since_us", $2 "max", 1..1000, else VEX_EINVAL): the rows stamped since a time.
 * Otherwise as vex_pg_collect. */
int vex_pg_since(struct vex_pg *p, const char *sql, int64_t since_us, int max, const struct vex_pg_rows *rows,
		 void **ret_items, size_t *ret_n);

/* Run the writing "sql" (as vex_pg_exec) and give the rows it changed in *ret_changes (PQcmdTuples). */
int vex_pg_changes(struct vex_pg *p, const char *sql, int n, const char *const *vals, int64_t *ret_changes);

/* Run the UPDATE "sql" with $1 "id", $2 "owner" (text, may be NULL) and $3 "now_us": VEX_EINVAL for a NULL
 * "id", VEX_ENOTFOUND when it changed no row. */
int vex_pg_stamp_row(struct vex_pg *p, const char *sql, const char *id, const char *owner, int64_t now_us);

/* Row "row", column "col" of "r" as a new string (the caller frees it); NULL for SQL NULL, and NULL with
 * *fail set when the copy could not be made (as vex_col_strdup). */
char *vex_pg_strdup(const PGresult *r, int row, int col, int *fail);

/* End the transaction open on "p", if any, with ROLLBACK (after a failed step of a BEGIN ... COMMIT). */
void vex_pg_rollback(struct vex_pg *p);

/* ---- store_caps.c: per-owner caps inside a write, as core/store/sqlite/store_caps.c ---- */

/*
 * Inside a transaction the caller holds (BEGIN ... COMMIT): take the advisory lock of ("cap", "owner") until
 * the transaction ends, then 0 when "owner" holds fewer than "max" of "cap" (max <= 0: no cap, no lock),
 * VEX_ELIMIT when not, or a store error; "id" is the agent being written (VEX_CAP_SCHEDULES: one that already
 * has a schedule adds none). Writes that take several of these take them in enum vex_cap order.
 */
int vex_pg_cap_check_locked(struct vex_pg *p, enum vex_cap cap, const char *owner, const char *id, int max);

/* The write "sql" (as vex_pg_exec) that adds to what "owner" holds, in one BEGIN ... COMMIT: first every cap
 * of "which" (bits 1u << enum vex_cap) with its caps->max (NULL "caps": none) as vex_pg_cap_check_locked,
 * then "sql". VEX_ELIMIT with *ret_hit (when not NULL) the cap reached, and nothing written; otherwise the
 * rows it changed in *ret_changes (when not NULL). Rolled back on any failure. */
int vex_pg_write_capped(struct vex_pg *p, const char *sql, int n, const char *const *vals, const char *owner,
			const char *id, const struct vex_caps *caps, unsigned which, enum vex_cap *ret_hit,
			int64_t *ret_changes);

/* ---- store_jobs.c: job rows and inserts inside a job write, as core/store/sqlite/store_jobs.c ---- */

/* A job's columns, in the order vex_pg_job_rows reads them (as SQLite's JOB_COLS). */
#define VEX_PG_JOB_COLS                                                                                    \
	"id, owner, plan, kind, agent_id, tool, input_json, status, attempts, max_attempts, priority,"      \
	" timeout_ms, created_at, started_at, completed_at, updated_at, progress_step, progress_total,"     \
	" progress_pct, progress_message, result_json, error_code, error_message, error_details_json,"      \
	" tokens_in, tokens_out, final_model, steps, browser_steps, browser_seconds, idempotency_key,"      \
	" cancel_requested, lease_owner, lease_expires_at, rev, owner_role, request_hash, retry_of, retried_by, traceparent"

/* Rows of VEX_PG_JOB_COLS as struct vex_job * items (for vex_pg_collect). */
extern const struct vex_pg_rows vex_pg_job_rows;

/* The one job "sql" (VEX_PG_JOB_COLS) selects: 0 with *ret (the caller frees it), VEX_ENOTFOUND, or as vex_pg_exec. */
int vex_pg_job_one(struct vex_pg *p, const char *sql, int n, const char *const *vals, struct vex_job **ret);

/* Inside a transaction begun by vex_pg_begin_jobs, as SQLite's vex_sqlite_job_insert_locked: the job under its
 * idempotency key if one holds it (*ret_created 0), else the cap check, a retry's link and the insert. */
int vex_pg_job_insert_locked(struct vex_pg *p, const struct vex_job *j, struct vex_job **ret, int *ret_created);

/* Inside a job write: each of "n" jobs inserted under a savepoint of its own, as vex_sqlite_jobs_insert_each_locked
 * (rcs[i] each job's answer); 0, or the error that ended the transaction. */
int vex_pg_jobs_insert_each_locked(struct vex_pg *p, struct vex_job *const *jobs, size_t n, struct vex_job **rets,
				   int *created, int *rcs);

/* Inside a job write: mark the job "j" retries as retried by it, as vex_sqlite_retry_link_locked. */
int vex_pg_retry_link_locked(struct vex_pg *p, const struct vex_job *j, int64_t now_us);

/* ---- store_job_writes.c and store_job_states.c: the runner's job writes ---- */

/* The SET list that gives a running job back (requeue, rescue), as SQLite's GIVE_BACK_SET: canceled when a
 * cancel was asked, queued again when "left" (a boolean SQL expression) holds, else failed; $2 is the time. */
#define VEX_PG_GIVE_BACK_SET(left)                                                                          \
	" status = CASE WHEN cancel_requested <> 0 THEN 'canceled' WHEN " left " THEN 'queued' ELSE 'failed' END," \
	" completed_at = CASE WHEN cancel_requested <> 0 OR NOT " left " THEN $2::bigint ELSE NULL END,"        \
	" error_code = CASE WHEN cancel_requested <> 0 THEN 'CANCELED' WHEN " left " THEN error_code"          \
	" ELSE 'LEASE_EXPIRED' END,"                                                                           \
	" error_message = CASE WHEN cancel_requested <> 0 THEN 'canceled while running' WHEN " left            \
	" THEN error_message ELSE 'the runner stopped renewing its lease and no attempts are left' END,"       \
	" lease_owner = NULL, lease_expires_at = NULL, updated_at = $2::bigint, rev = rev + 1"

/*
 * The schema (migrations.c): vex_pg_migrations[i] takes the schema from version i to i + 1, the same step as
 * SQLite's vex_store_migrations[i] (core/store/sqlite/migrations.c): one numbered list for both backends, the
 * same tables, columns, indexes and trigger effects. Append only, in step with SQLite's list.
 */
extern const char *const vex_pg_migrations[];
extern const int vex_pg_migration_count;

/*
 * Apply the migrations "c" lacks, in one transaction under an advisory lock (processes starting together apply
 * them once): the version lives in the one-row table vex_schema. 0; VEX_EINVAL when the database's schema is
 * newer than this program's; VEX_EIO (message in "err") otherwise, nothing changed.
 */
int vex_pg_migrate(PGconn *c, char *err, size_t errlen);

/* The schema version (0 for an empty database), or VEX_EIO. */
int vex_pg_schema_version(PGconn *c);

/* store_pauses.c: what the claims must skip, as vex_sqlite_pause_state: *ret 0 (nothing paused), VEX_PAUSED_TOOLS
 * (some tools' jobs) or VEX_PAUSED_ALL (every job; store_backend.h). 0 or VEX_E... */
int vex_pg_pause_state(struct vex_pg *p, int *ret);

/* ---- store_deliveries.c and store_delivery_claims.c: webhook delivery rows and the deliveries lock ---- */

/* A delivery "d"'s columns, in the order vex_pg_delivery_read takes them (as SQLite's DLV_COLS). */
#define VEX_PG_DLV_COLS                                                                                      \
	"d.id, d.hook_id, d.owner, d.job_id, d.event_seq, d.event, d.payload, d.status, d.attempts, d.next_at," \
	" d.last_status_code, d.last_error, d.created_at, d.finished_at, d.resend_of"
#define VEX_PG_DLV_NCOLS 15

/* Row "row" of VEX_PG_DLV_COLS into the zeroed struct vex_delivery "item" (a vex_pg_rows reader). 0 or VEX_ENOMEM. */
int vex_pg_delivery_read(const PGresult *r, int row, void *item);

/*
 * The deliveries lock ("vex_dlvs" as a big-endian int64): held from BEGIN to the end by every transaction that
 * reads delivery rows and then writes them (claims, unclaims, records, a hook's delete, re-sends), so that these
 * take turns as under SQLite's single writer: a claim's in-flight counts, a record's read of its row and hook
 * stay true until it commits, and no two of them wait on each other's rows. The fan-out only inserts: the
 * cursor row's lock orders it.
 */
#define VEX_PG_DELIVERIES_LOCK "8531357420225328755"

/* BEGIN a transaction and take the deliveries lock. 0, or as vex_pg_exec with no transaction left open. */
int vex_pg_begin_deliveries(struct vex_pg *p);

#endif
