/* db.c - SQLite store: open, pragmas, applying migrations.c, statement cache, transactions (runner heartbeats: store_runners.c). */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/sqlite/walbuf.h"


int vex_sqlite_errcode(int rc)
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

int vex_sqlite_stmt(struct vex_sqlite *s, const char *sql, sqlite3_stmt **ret)
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
		rc = vex_sqlite_errcode(rc);
		return rc ? rc : VEX_ERROR;
	}
	slot->sql = copy;
	slot->hash = h;
	slot->stmt = st;
	s->nslots++;
	*ret = st;
	return 0;
}

/*
 * A bind that could not copy its value (SQLITE_NOMEM) leaves the parameter NULL, and a statement
 * stepped that way does something else than asked: an UPDATE of "id = NULL" changes no row and
 * reports success, an INSERT stores the job without its Idempotency-Key. vex_bind_text marks this
 * thread's statement in use as unfit; vex_sqlite_step refuses it; vex_sqlite_done forgets the mark.
 */
static _Thread_local int bind_failed;

int vex_sqlite_step(sqlite3_stmt *st)
{
	return bind_failed ? SQLITE_NOMEM : sqlite3_step(st);
}

void vex_sqlite_done(sqlite3_stmt *st)
{
	bind_failed = 0;
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int vex_sqlite_exec_stmt(sqlite3_stmt *st)
{
	int rc;

	do {
		rc = vex_sqlite_step(st);
	} while (rc == SQLITE_ROW);
	vex_sqlite_done(st);
	return rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc);
}

int vex_sqlite_step_int64(sqlite3_stmt *st, int64_t *ret)
{
	int rc = vex_sqlite_step(st);

	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = vex_sqlite_errcode(rc);
		if (rc == 0)
			rc = VEX_ERROR;
	}
	vex_sqlite_done(st);
	return rc;
}

int vex_sqlite_exec_sql(struct vex_sqlite *s, const char *sql)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, sql, &st);

	if (rc)
		return rc;
	return vex_sqlite_exec_stmt(st);
}

/* Our writers queue on the writer mutex first, then take SQLite's lock (see store_wlock.c). */
int vex_sqlite_begin(struct vex_sqlite *s)
{
	int rc = vex_wlock_acquire(s->wlock, s->busy_timeout_ms);

	if (rc)
		return rc;
	rc = vex_sqlite_exec_sql(s, "BEGIN IMMEDIATE");
	if (rc)
		vex_wlock_release(s->wlock);
	return rc;
}

int vex_sqlite_commit(struct vex_sqlite *s)
{
	int rc = vex_sqlite_exec_sql(s, "COMMIT");

	if (rc)
		vex_sqlite_rollback(s);
	vex_wlock_release(s->wlock);
	return rc;
}

void vex_sqlite_rollback(struct vex_sqlite *s)
{
	if (!sqlite3_get_autocommit(s->db))
		vex_sqlite_exec_sql(s, "ROLLBACK");
	vex_wlock_release(s->wlock);
}

int vex_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, idx);
	int rc = sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);

	if (rc != SQLITE_OK)
		bind_failed = 1;
	return rc;
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
static int pragma_query(struct vex_sqlite *s, const char *sql, int *ret_int, char *text, size_t cap)
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
 * Bring the schema to vex_store_migration_count. The version is read first without a lock (the common case
 * is "nothing to do"), then again inside BEGIN IMMEDIATE so two processes starting at once apply
 * each migration exactly once.
 */
static int migrate(struct vex_sqlite *s)
{
	char sql[64];
	int version = 0, rc, i;

	rc = pragma_query(s, "PRAGMA user_version", &version, NULL, 0);
	if (rc != SQLITE_OK)
		return vex_sqlite_errcode(rc);
	if (version == vex_store_migration_count)
		return 0;
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return vex_sqlite_errcode(rc);
	rc = pragma_query(s, "PRAGMA user_version", &version, NULL, 0);
	if (rc != SQLITE_OK)
		goto out;
	if (version > vex_store_migration_count) {
		snprintf(sql, sizeof(sql), "%d", version);
		vex_log(VEX_LOG_ERROR, "database schema is newer than this program", "user_version", sql, NULL);
		rc = SQLITE_MISMATCH;
		goto out;
	}
	for (i = version; i < vex_store_migration_count; i++) {
		rc = sqlite3_exec(s->db, vex_store_migrations[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			vex_log(VEX_LOG_ERROR, "migration failed", "error", sqlite3_errmsg(s->db), NULL);
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", vex_store_migration_count);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == SQLITE_MISMATCH)
		return VEX_EINVAL;
	return vex_sqlite_errcode(rc);
}

/* Pragmas and migrations on a freshly opened connection; a SQLite code, or -1 after a failed migration
 * with the VEX code in *vex_rc. */
static int configure(struct vex_sqlite *s, int synchronous, int busy_timeout_ms, int *vex_rc)
{
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"
	};
	char mode[16] = "";
	int rc, pages = -1;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	/* A file we may not write is useless to a job service: refuse it now, not at the first write. */
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return SQLITE_READONLY;
	/* A new (empty) database returns the pages prunes free (vex_sqlite_vacuum_step): the mode is set
	 * before WAL and the first table. Only then: on an existing file this pragma would wait for the
	 * write lock and change nothing (docs/retention.md: converting one). The open guard serializes
	 * first opens. */
	rc = pragma_query(s, "PRAGMA page_count", &pages, NULL, 0);
	if (rc == SQLITE_OK && pages == 0)
		rc = sqlite3_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = pragma_query(s, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode));
	if (rc != SQLITE_OK)
		return rc;
	if (strcmp(mode, "wal") != 0) {
		vex_log(VEX_LOG_ERROR, "sqlite refused WAL mode", "journal_mode", mode, NULL);
		return SQLITE_CANTOPEN;
	}
	rc = sqlite3_exec(s->db, sync_sql[synchronous], NULL, NULL, NULL);
	/* A checkpoint that resets the WAL also cuts the file back to this: the -wal file does not keep
	 * the size of its longest burst (a reader that held the checkpoint back) forever. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "PRAGMA journal_size_limit = 16777216", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	s->synchronous = synchronous;
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	/* Statement journals (the group committer's savepoint per job) in memory: on disk, each opened
	 * a temporary file, probed the temporary directories and unlinked it again, five system calls
	 * a batch for a journal that lives a few microseconds. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	*vex_rc = migrate(s);
	return *vex_rc ? -1 : SQLITE_OK;
}

int vex_sqlite_open(const char *path, int synchronous, int busy_timeout_ms, struct vex_sqlite **ret)
{
	struct vex_sqlite *s = NULL;
	const char *vfs;
	int rc, vrc = 0, guard = -1;

	if (!path || !*path || synchronous < 0 || synchronous > 2 || busy_timeout_ms < 0)
		return VEX_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VEX_ENOMEM;
	s->base.kind = VEX_STORE_SQLITE;
	guard = vex_wlock_guard(path);
	/* The WAL's frames of a commit in one pwrite (walbuf.c); the plain VFS if it could not register. */
	vfs = vex_walbuf_register() == 0 ? VEX_WALBUF_VFS : NULL;
	if (!vfs)
		vex_log(VEX_LOG_WARN, "sqlite refused the WAL buffering VFS; using its default", "path", path, NULL);
	/* NOMUTEX: a connection belongs to one process and one thread (opened after fork). */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     vfs);
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
		rc = vex_sqlite_errcode(rc);
		if (rc == 0 || rc == VEX_ERROR)
			rc = VEX_EIO;
		goto out;
	}
	*ret = s;
	s = NULL;
out:
	vex_wlock_unguard(guard);
	vex_sqlite_free(s);
	return rc;
}

void vex_sqlite_free(struct vex_sqlite *s)
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

int vex_sqlite_ping(struct vex_sqlite *s)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, "SELECT 1", &st);

	if (rc)
		return VEX_EIO;
	rc = sqlite3_step(st);
	vex_sqlite_done(st);
	return rc == SQLITE_ROW ? 0 : VEX_EIO;
}

int vex_sqlite_schema_version(struct vex_sqlite *s)
{
	int version = 0;

	if (pragma_query(s, "PRAGMA user_version", &version, NULL, 0) != SQLITE_OK)
		return VEX_EIO;
	return version;
}

/* The WAL hook that replaces SQLite's automatic checkpoint (sqlite3_wal_autocheckpoint installs one
 * of its own; setting this one removes it). */
static int checkpoint_due(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct vex_sqlite *s = arg;

	(void)db;
	(void)name;
	if (pages >= VEX_STORE_CHECKPOINT_PAGES)
		s->ckpt_due(s->ckpt_arg);
	return SQLITE_OK;
}

void vex_sqlite_checkpoint_elsewhere(struct vex_sqlite *s, void (*due)(void *arg), void *arg)
{
	s->ckpt_due = due;
	s->ckpt_arg = arg;
	sqlite3_wal_hook(s->db, checkpoint_due, s);
}

int vex_sqlite_checkpoint(struct vex_sqlite *s, int *ret_pages, int *ret_done)
{
	int pages = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE, &pages, &done);

	/* BUSY: another connection's checkpoint runs now; it does the same work. */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		vex_log(VEX_LOG_WARN, "checkpoint failed", "error", sqlite3_errmsg(s->db), NULL);
		return VEX_EIO;
	}
	if (ret_pages)
		*ret_pages = pages > 0 ? pages : 0;
	if (ret_done)
		*ret_done = done > 0 ? done : 0;
	return 0;
}

int vex_sqlite_write_open(struct vex_sqlite *s, sqlite3_stmt *st, int *ret_changes)
{
	int rc = vex_sqlite_begin(s);

	if (rc) {
		vex_sqlite_done(st);
		return rc;
	}
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		vex_sqlite_rollback(s);
	else if (ret_changes)
		*ret_changes = sqlite3_changes(s->db);
	return rc;
}

int vex_sqlite_write(struct vex_sqlite *s, sqlite3_stmt *st, int *ret_changes)
{
	int rc = vex_sqlite_write_open(s, st, ret_changes);

	return rc ? rc : vex_sqlite_commit(s);
}
