/* db.c - SQLite store: open, pragmas, migrations, statement cache, transactions (runner heartbeats: store_runners.c). */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/store/sqlite/store_internal.h"

/*
 * Numbered migrations: migrations[i] takes the schema from user_version i to i + 1.
 * Append only; never edit a shipped entry.
 */
static const char *const migrations[] = {
	/* 1: agents, jobs, runners. Times are Unix microseconds; NULL means "not set". */
	"CREATE TABLE agents ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" max_depth INTEGER NOT NULL,"
	" spawn_shadow INTEGER NOT NULL DEFAULT 0,"
	" model TEXT,"
	" tools_json TEXT,"
	" base_url TEXT,"
	" schedule_json TEXT,"
	" status TEXT NOT NULL CHECK (status IN ('ACTIVE','PAUSED','DELETED')),"
	" generation INTEGER NOT NULL DEFAULT 0,"
	" fitness REAL NOT NULL DEFAULT 0,"
	" plan TEXT NOT NULL DEFAULT 'free',"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX agents_owner_id ON agents(owner, id);"
	/* Agents the scheduler looks at. */
	"CREATE INDEX agents_scheduled ON agents(id) WHERE schedule_json IS NOT NULL AND status = 'ACTIVE';"
	"CREATE TABLE jobs ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" plan TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('agent','tool')),"
	" agent_id TEXT REFERENCES agents(id),"
	" tool TEXT,"
	" input_json TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','timeout','canceled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL DEFAULT 1,"
	" priority INTEGER NOT NULL DEFAULT 0,"
	" timeout_ms INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" completed_at INTEGER,"
	" updated_at INTEGER NOT NULL,"
	" progress_step TEXT,"
	" progress_total INTEGER NOT NULL DEFAULT 0,"
	" progress_pct REAL NOT NULL DEFAULT 0,"
	" progress_message TEXT,"
	" result_json TEXT,"
	" error_code TEXT,"
	" error_message TEXT,"
	" error_details_json TEXT,"
	" tokens_in INTEGER NOT NULL DEFAULT 0,"
	" tokens_out INTEGER NOT NULL DEFAULT 0,"
	" final_model TEXT,"
	" steps INTEGER NOT NULL DEFAULT 0,"
	" browser_steps INTEGER NOT NULL DEFAULT 0,"
	" browser_seconds REAL NOT NULL DEFAULT 0,"
	" idempotency_key TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" lease_owner TEXT,"
	" lease_expires_at INTEGER,"
	" rev INTEGER NOT NULL DEFAULT 1"
	");"
	/* Owner listings (newest first), and with a status filter. The (owner, status, id) index also
	 * serves the per-owner running count of claims, so no separate (owner, status) index. */
	"CREATE INDEX jobs_owner_id ON jobs(owner, id);"
	"CREATE INDEX jobs_owner_status_id ON jobs(owner, status, id);"
	/* Claims: best queued job first. Partial: only queued rows are in it, so it stays as small
	 * as the queue, and a job leaves it when claimed. */
	"CREATE INDEX jobs_claim ON jobs(priority DESC, id) WHERE status = 'queued';"
	/* One agent's jobs (events), newest first; started_at bounds filter along the way. */
	"CREATE INDEX jobs_agent_id ON jobs(agent_id, id) WHERE agent_id IS NOT NULL;"
	/* Rescue of expired leases. Partial: a submit (status queued) does not touch it. */
	"CREATE INDEX jobs_lease ON jobs(lease_expires_at) WHERE status = 'running';"
	"CREATE UNIQUE INDEX jobs_idem ON jobs(owner, idempotency_key) WHERE idempotency_key IS NOT NULL;"
	/* A tool's recent runs (estimated durations, per-tool listings). */
	"CREATE INDEX jobs_tool_id ON jobs(tool, id) WHERE tool IS NOT NULL;"
	/* API keys: only the SHA-256 of a key is stored (hex), with a short prefix for display. */
	"CREATE TABLE api_keys ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('user','admin')),"
	" plan TEXT NOT NULL,"
	" name TEXT,"
	" hash TEXT NOT NULL UNIQUE,"
	" prefix TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" last_used_at INTEGER,"
	" revoked_at INTEGER"
	");"
	"CREATE INDEX api_keys_owner_id ON api_keys(owner, id);"
	/* Scheduled runs: one row per (agent, UTC minute slot) fired, so a slot fires exactly once
	 * whatever the number of runners and restarts. */
	"CREATE TABLE schedule_fires ("
	" agent_id TEXT NOT NULL REFERENCES agents(id),"
	" slot INTEGER NOT NULL,"
	" job_id TEXT NOT NULL,"
	" fired_at INTEGER NOT NULL,"
	" PRIMARY KEY (agent_id, slot)"
	");"
	"CREATE TABLE runners ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" pid INTEGER NOT NULL,"
	" beat_at INTEGER NOT NULL"
	");"
	"CREATE INDEX runners_beat ON runners(beat_at);",

	/* 2: job events (streams, webhooks) and webhooks. */
	/* Every change of a job (insert, or an update that bumps rev) leaves one row, written by the
	 * triggers below inside the transaction that made the change, so no path can forget it.
	 * seq is the rowid without AUTOINCREMENT: pruning never removes the newest row, so seq keeps
	 * growing. Terminal fields (result, error) are read from the job itself, which never changes
	 * again once terminal. */
	"CREATE TABLE job_events ("
	" seq INTEGER PRIMARY KEY,"
	" job_id TEXT NOT NULL,"
	" owner TEXT NOT NULL,"
	" rev INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" started_at INTEGER,"
	" progress_step TEXT,"
	" progress_total INTEGER NOT NULL DEFAULT 0,"
	" progress_pct REAL NOT NULL DEFAULT 0,"
	" progress_message TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" at INTEGER NOT NULL"
	");"
	"CREATE INDEX job_events_job ON job_events(job_id, rev);"
	"CREATE INDEX job_events_at ON job_events(at);"
	"CREATE TRIGGER jobs_event_insert AFTER INSERT ON jobs BEGIN"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev, 'queued', NEW.status, NEW.attempts, NEW.started_at,"
	" NEW.progress_step, NEW.progress_total, NEW.progress_pct, NEW.progress_message, NEW.cancel_requested,"
	" NEW.updated_at);"
	" END;"
	"CREATE TRIGGER jobs_event_update AFTER UPDATE ON jobs WHEN NEW.rev != OLD.rev BEGIN"
	" INSERT INTO job_events(job_id, owner, rev, type, status, attempts, started_at, progress_step,"
	" progress_total, progress_pct, progress_message, cancel_requested, at)"
	" VALUES (NEW.id, NEW.owner, NEW.rev,"
	" CASE WHEN NEW.status != OLD.status THEN"
	" (CASE NEW.status WHEN 'running' THEN 'started' WHEN 'queued' THEN 'requeued' ELSE NEW.status END)"
	" WHEN NEW.cancel_requested != OLD.cancel_requested THEN 'cancel_requested' ELSE 'progress' END,"
	" NEW.status, NEW.attempts, NEW.started_at, NEW.progress_step, NEW.progress_total, NEW.progress_pct,"
	" NEW.progress_message, NEW.cancel_requested, NEW.updated_at);"
	" END;"
	/* How far a consumer of job_events got (the webhook fan-out: 'webhooks'). */
	"CREATE TABLE event_cursors ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" seq INTEGER NOT NULL"
	");"
	"INSERT INTO event_cursors(name, seq) VALUES ('webhooks', 0);"
	/* Webhooks: events is a bit mask (VEX_HOOK_EV_*); the secret is kept to sign deliveries. */
	"CREATE TABLE webhooks ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" owner TEXT NOT NULL,"
	" url TEXT NOT NULL,"
	" events INTEGER NOT NULL,"
	" description TEXT,"
	" secret TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('active','disabled','deleted')),"
	" disabled_reason TEXT,"
	" failing_since INTEGER,"
	" last_error TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX webhooks_owner_id ON webhooks(owner, id);"
	/* One row per (hook, job event): id is the webhook-id header (stable across retries), payload
	 * the exact body every attempt sends. */
	"CREATE TABLE webhook_deliveries ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" hook_id TEXT NOT NULL REFERENCES webhooks(id),"
	" owner TEXT NOT NULL,"
	" job_id TEXT NOT NULL,"
	" event_seq INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed','canceled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL,"
	" claimed_by TEXT,"
	" claimed_until INTEGER,"
	" last_status_code INTEGER,"
	" last_error TEXT,"
	" created_at INTEGER NOT NULL,"
	" finished_at INTEGER"
	");"
	"CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook_id, id);"
	"CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries(hook_id, event_seq);"
	/* In order per (hook, job): the oldest pending delivery of a pair goes first. */
	"CREATE INDEX webhook_deliveries_order ON webhook_deliveries(hook_id, job_id, event_seq)"
	" WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';"
	/* Every attempt, with a capped response body. */
	"CREATE TABLE webhook_attempts ("
	" delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),"
	" n INTEGER NOT NULL,"
	" at INTEGER NOT NULL,"
	" status_code INTEGER,"
	" error TEXT,"
	" duration_us INTEGER NOT NULL,"
	" response_body TEXT,"
	" PRIMARY KEY (delivery_id, n)"
	");",

	/* 3: the tool catalog the runner publishes (command tools, MCP servers' tools) and vex-api
	 * reads for validation and listing. Builtins are compiled into both programs, not stored. */
	"CREATE TABLE tools ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" short_name TEXT NOT NULL,"
	" server TEXT,"
	" source TEXT NOT NULL CHECK (source IN ('command','mcp')),"
	" description TEXT NOT NULL DEFAULT '',"
	" input_schema TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX tools_short ON tools(short_name);"
	"CREATE INDEX tools_server ON tools(server) WHERE server IS NOT NULL;",

	/* 4: tool grants. A catalog row carries who besides admins may run it (core/tools/grant.h; NULL:
	 * admins only); a job and an agent carry their owner's role as of the submit (or the create),
	 * so the runner offers an agent's model only what that owner may run. */
	"ALTER TABLE tools ADD COLUMN grant_json TEXT;"
	"ALTER TABLE jobs ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'user';"
	"ALTER TABLE agents ADD COLUMN owner_role TEXT NOT NULL DEFAULT 'user';",

	/* 5: fair claims (docs/runner.md). Each owner's queue in claim order: a skip scan finds the
	 * owners with queued work, one seek each's best job. Each hook's pending deliveries by due time
	 * and by claim expiry: its next deliveries and its in-flight count, whatever its backlog. */
	"CREATE INDEX jobs_owner_queue ON jobs(owner, priority DESC, id) WHERE status = 'queued';"
	"CREATE INDEX webhook_deliveries_hook_due ON webhook_deliveries(hook_id, next_at) WHERE status = 'pending';"
	"CREATE INDEX webhook_deliveries_hook_claim ON webhook_deliveries(hook_id, claimed_until)"
	" WHERE status = 'pending';",

	/* 6: token revocations (by jti, or by subject with an iat cut-off in Unix seconds), checked on
	 * every authentication by the two indexes; the stream server reads new revocations and newly
	 * revoked keys by their times. */
	"CREATE TABLE token_revocations ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" jti TEXT,"
	" sub TEXT,"
	" issued_before INTEGER,"
	" reason TEXT,"
	" created_by TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" CHECK ((jti IS NULL) <> (sub IS NULL)),"
	" CHECK ((sub IS NULL) = (issued_before IS NULL))"
	");"
	"CREATE UNIQUE INDEX token_revocations_jti ON token_revocations(jti) WHERE jti IS NOT NULL;"
	"CREATE INDEX token_revocations_sub ON token_revocations(sub, issued_before) WHERE sub IS NOT NULL;"
	"CREATE INDEX token_revocations_created ON token_revocations(created_at);"
	"CREATE INDEX api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;",

	/* 7: the request an Idempotency-Key came with (hex SHA-256 of method, path and canonical
	 * body), so the same key sent with another request is refused instead of answered with the
	 * first request's job. NULL for jobs without a key and for keyed jobs stored before. */
	"ALTER TABLE jobs ADD COLUMN request_hash TEXT;",
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

int vex_store_errcode(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VEX_EBUSY;
	case SQLITE_NOMEM:
		return VEX_ENOMEM;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return VEX_ENOTFOUND;
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return VEX_EEXIST;
		return VEX_EINVAL;
	case SQLITE_TOOBIG:
		return VEX_ETOOBIG;
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
		return VEX_EIO;
	}
	return VEX_ERROR;
}

int vex_store_stmt(struct vex_store *s, const char *sql, sqlite3_stmt **ret)
{
	uint64_t h = vex_hash_str(sql); /* the statement cache key */
	size_t i = (size_t)(h % VEX_STMT_SLOTS), n;
	struct vex_stmt_slot *slot;
	sqlite3_stmt *st = NULL;
	char *copy = NULL;
	int rc;

	for (n = 0; n < VEX_STMT_SLOTS; n++, i = (i + 1) % VEX_STMT_SLOTS) {
		slot = &s->slots[i];
		if (!slot->sql)
			break;
		if (slot->hash == h && strcmp(slot->sql, sql) == 0) {
			*ret = slot->stmt;
			return 0;
		}
	}
	/* The set of SQL texts is bounded by the code; a full table is a bug. */
	if (n == VEX_STMT_SLOTS) {
		vex_log(VEX_LOG_ERROR, "statement cache full", NULL);
		return VEX_ERROR;
	}
	copy = strdup(sql);
	if (!copy)
		return VEX_ENOMEM;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		vex_log(VEX_LOG_ERROR, "sqlite prepare failed", "error", sqlite3_errmsg(s->db), NULL);
		free(copy);
		sqlite3_finalize(st);
		rc = vex_store_errcode(rc);
		return rc ? rc : VEX_ERROR;
	}
	slot->sql = copy;
	slot->hash = h;
	slot->stmt = st;
	s->nslots++;
	*ret = st;
	return 0;
}

void vex_store_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int vex_store_exec_stmt(sqlite3_stmt *st)
{
	int rc;

	do {
		rc = sqlite3_step(st);
	} while (rc == SQLITE_ROW);
	vex_store_done(st);
	return rc == SQLITE_DONE ? 0 : vex_store_errcode(rc);
}

int vex_store_step_int64(sqlite3_stmt *st, int64_t *ret)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = vex_store_errcode(rc);
		if (rc == 0)
			rc = VEX_ERROR;
	}
	vex_store_done(st);
	return rc;
}

int vex_store_exec_sql(struct vex_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s, sql, &st);

	if (rc)
		return rc;
	return vex_store_exec_stmt(st);
}

/* Our writers queue on the writer mutex first, then take SQLite's lock (see store_wlock.c). */
int vex_store_begin(struct vex_store *s)
{
	int rc = vex_wlock_acquire(s->wlock, s->busy_timeout_ms);

	if (rc)
		return rc;
	rc = vex_store_exec_sql(s, "BEGIN IMMEDIATE");
	if (rc)
		vex_wlock_release(s->wlock);
	return rc;
}

int vex_store_commit(struct vex_store *s)
{
	int rc = vex_store_exec_sql(s, "COMMIT");

	if (rc)
		vex_store_rollback(s);
	vex_wlock_release(s->wlock);
	return rc;
}

void vex_store_rollback(struct vex_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		vex_store_exec_sql(s, "ROLLBACK");
	vex_wlock_release(s->wlock);
}

int vex_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
}

int vex_bind_time(sqlite3_stmt *st, int idx, int64_t us)
{
	if (us == 0)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, us);
}

int vex_bind_text_named(sqlite3_stmt *st, const char *name, const char *v)
{
	int idx = sqlite3_bind_parameter_index(st, name);

	return idx > 0 ? vex_bind_text(st, idx, v) : SQLITE_OK;
}

int vex_bind_int64_named(sqlite3_stmt *st, const char *name, int64_t v)
{
	int idx = sqlite3_bind_parameter_index(st, name);

	return idx > 0 ? sqlite3_bind_int64(st, idx, v) : SQLITE_OK;
}

char *vex_col_strdup(sqlite3_stmt *st, int col, int *fail)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	char *d;

	if (!t)
		return NULL;
	d = strdup((const char *)t);
	if (!d)
		*fail = 1;
	return d;
}

void vex_col_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* A PRAGMA that returns one value, as an integer (user_version) or into "text". */
static int pragma_query(struct vex_store *s, const char *sql, int *ret_int, char *text, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (ret_int)
			*ret_int = sqlite3_column_int(st, 0);
		if (text)
			vex_col_copy(st, 0, text, cap);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Bring the schema to MIGRATION_COUNT. The version is read first without a lock (the common case
 * is "nothing to do"), then again inside BEGIN IMMEDIATE so two processes starting at once apply
 * each migration exactly once.
 */
static int migrate(struct vex_store *s)
{
	char sql[64];
	int version = 0, rc, i;

	rc = pragma_query(s, "PRAGMA user_version", &version, NULL, 0);
	if (rc != SQLITE_OK)
		return vex_store_errcode(rc);
	if (version == MIGRATION_COUNT)
		return 0;
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return vex_store_errcode(rc);
	rc = pragma_query(s, "PRAGMA user_version", &version, NULL, 0);
	if (rc != SQLITE_OK)
		goto out;
	if (version > MIGRATION_COUNT) {
		snprintf(sql, sizeof(sql), "%d", version);
		vex_log(VEX_LOG_ERROR, "database schema is newer than this program", "user_version", sql, NULL);
		rc = SQLITE_MISMATCH;
		goto out;
	}
	for (i = version; i < MIGRATION_COUNT; i++) {
		rc = sqlite3_exec(s->db, migrations[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			vex_log(VEX_LOG_ERROR, "migration failed", "error", sqlite3_errmsg(s->db), NULL);
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MIGRATION_COUNT);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == SQLITE_MISMATCH)
		return VEX_EINVAL;
	return vex_store_errcode(rc);
}

/* Pragmas and migrations on a freshly opened connection; a SQLite code, or -1 after a failed migration
 * with the VEX code in *vex_rc. */
static int configure(struct vex_store *s, int synchronous, int busy_timeout_ms, int *vex_rc)
{
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"
	};
	char mode[16] = "";
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	/* A file we may not write is useless to a job service: refuse it now, not at the first write. */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return SQLITE_READONLY;
	rc = pragma_query(s, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode));
	if (rc != SQLITE_OK)
		return rc;
	if (strcmp(mode, "wal") != 0) {
		vex_log(VEX_LOG_ERROR, "sqlite refused WAL mode", "journal_mode", mode, NULL);
		return SQLITE_CANTOPEN;
	}
	rc = sqlite3_exec(s->db, sync_sql[synchronous], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	s->synchronous = synchronous;
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	*vex_rc = migrate(s);
	return *vex_rc ? -1 : SQLITE_OK;
}

int vex_store_open(const char *path, int synchronous, int busy_timeout_ms, struct vex_store **ret)
{
	struct vex_store *s = NULL;
	int rc, vrc = 0, guard = -1;

	if (!path || !*path || synchronous < 0 || synchronous > 2 || busy_timeout_ms < 0)
		return VEX_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VEX_ENOMEM;
	guard = vex_wlock_guard(path);
	/* NOMUTEX: a connection belongs to one process and one thread (opened after fork). */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	s->busy_timeout_ms = busy_timeout_ms;
	if (rc == SQLITE_OK)
		rc = configure(s, synchronous, busy_timeout_ms, &vrc);
	if (rc == SQLITE_OK && vex_wlock_map(guard, &s->wlock) != 0)
		vex_log(VEX_LOG_WARN, "no writer lock file beside the database; relying on busy_timeout", "path", path,
			NULL);
	if (rc == -1) {
		vex_log(VEX_LOG_ERROR, "database migration failed", "path", path, "error", vex_strerror(vrc), NULL);
		rc = vrc;
		goto out;
	}
	if (rc != SQLITE_OK) {
		vex_log(VEX_LOG_ERROR, "cannot open database", "path", path, "error", sqlite3_errstr(rc), NULL);
		rc = vex_store_errcode(rc);
		if (rc == 0 || rc == VEX_ERROR)
			rc = VEX_EIO;
		goto out;
	}
	*ret = s;
	s = NULL;
out:
	vex_wlock_unguard(guard);
	vex_store_free(s);
	return rc;
}

void vex_store_free(struct vex_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < VEX_STMT_SLOTS; i++) {
		free(s->slots[i].sql);
		sqlite3_finalize(s->slots[i].stmt);
	}
	sqlite3_close_v2(s->db);
	vex_wlock_free(s->wlock);
	free(s);
}

int vex_store_ping(struct vex_store *s)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s, "SELECT 1", &st);

	if (rc)
		return VEX_EIO;
	rc = sqlite3_step(st);
	vex_store_done(st);
	return rc == SQLITE_ROW ? 0 : VEX_EIO;
}

int vex_store_schema_version(struct vex_store *s)
{
	int version = 0;

	if (pragma_query(s, "PRAGMA user_version", &version, NULL, 0) != SQLITE_OK)
		return VEX_EIO;
	return version;
}

int vex_store_write_open(struct vex_store *s, sqlite3_stmt *st, int *ret_changes)
{
	int rc = vex_store_begin(s);

	if (rc) {
		vex_store_done(st);
		return rc;
	}
	rc = vex_store_exec_stmt(st);
	if (rc)
		vex_store_rollback(s);
	else if (ret_changes)
		*ret_changes = sqlite3_changes(s->db);
	return rc;
}

int vex_store_write(struct vex_store *s, sqlite3_stmt *st, int *ret_changes)
{
	int rc = vex_store_write_open(s, st, ret_changes);

	return rc ? rc : vex_store_commit(s);
}
