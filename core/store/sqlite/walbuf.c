/* walbuf.c - a SQLite VFS shim over the default VFS: a transaction's WAL frames go out in one pwrite.
 *
 * SQLite writes each WAL frame as two writes (its 24-byte header, then the page): 22 pwrite calls
 * for a commit of eleven pages. Here writes to a file opened with SQLITE_OPEN_WAL are collected,
 * while contiguous, in a buffer of that file, written with one xWrite of the wrapped file when:
 * - a write does not continue the buffer or would not fit;
 * - the page of a commit frame (its header carries the database size, bytes 4-7: wal.c's format)
 *   was added, or a commit frame header was rewritten in place (walRewriteChecksums): the commit's
 *   frames reach the file, and an error reaches COMMIT, before SQLite publishes them;
 * - any other call on the WAL file comes: xRead (nothing stale is served), xSync, xTruncate,
 *   xFileSize, xFileControl, xClose;
 * - SQLite publishes frames to other connections (the wal-index header written around an
 *   xShmBarrier of the main database file) or releases a lock (xShmLock unlock): the main file
 *   keeps a pointer to its pager's WAL file. In SQLite's commit path the buffer is already empty
 *   there; this is the backstop for "no connection learns of a frame that is not in the file".
 * Buffering only delays writes, never past a point where anyone could observe them; a process
 * killed with a full buffer loses only frames never published (its COMMIT had not returned), as a
 * kill between two of SQLite's own writes would. A failed write returns SQLITE_IOERR_WRITE
 * (SQLITE_FULL on a full disk) and keeps the buffer whole for the next call that needs it.
 *
 * Threads: a buffer is touched only by calls on its own connection's files, and SQLite runs a
 * connection on one thread at a time (vex opens with SQLITE_OPEN_NOMUTEX and never shares one).
 * Shared between connections: the list of open main database files (searched at a WAL file's
 * xOpen), under "reg_lock", and the counters (atomic). docs/storage.md, "WAL writes".
 */
#include "core/store/sqlite/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

/* The largest write the unix VFS makes whole: its seekAndWriteFd masks the length with 0x1ffff
 * (a 256 KiB write would write nothing and answer SQLITE_FULL). 31 frames of 4 KiB pages. */
#define WB_CAP 0x1ffff
#define WB_FRAME_HDR 24 /* wal.c: page number, database size after a commit (else 0), salts, checksums */

struct wb_file {
	sqlite3_file base;     /* must be first: SQLite's view; pMethods = &wb_methods */
	sqlite3_file *real;    /* the wrapped VFS's file, stored right after this struct */
	int is_wal;
	/* main database file */
	const char *name;      /* the name its pager opened it with: the WAL's sqlite3_filename_database */
	struct wb_file *wal;   /* the WAL file of the same pager, or NULL */
	struct wb_file *next;  /* in "mains" */
	int listed;
	/* WAL file */
	struct wb_file *db;    /* its main database file, or NULL (then nothing is buffered) */
	unsigned char *buf;    /* WB_CAP bytes, allocated at the first buffered write */
	sqlite3_int64 off;     /* the buffer holds [off, off + len) */
	size_t len;
	sqlite3_int64 read_off; /* offset of the last xRead if no write came since, else -1 */
	int commit_next;       /* the last write was an appended commit frame header: flush after its page */
};

static sqlite3_vfs *root;
static sqlite3_vfs wb_vfs;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static int wb_reg_rc = VEX_EIO;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wb_file *mains;
static uint64_t n_writes, n_buffered, n_flushes, n_late;

#define WB_REAL(pf) (((struct wb_file *)(pf))->real)
#define WB_COUNT(v) __atomic_fetch_add(&(v), 1, __ATOMIC_RELAXED)

/* Write the buffer with one xWrite of the wrapped file; SQLITE_OK when there is nothing left in it. */
static int wb_flush(struct wb_file *f)
{
	int rc;

	if (!f || f->len == 0)
		return SQLITE_OK;
	rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
	if (rc != SQLITE_OK)
		return rc == SQLITE_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
	WB_COUNT(n_flushes);
	f->len = 0;
	return SQLITE_OK;
}

/* The backstop flush of a main file's WAL at xShmBarrier, unlocks and xShmUnmap. */
static int wb_flush_late(struct wb_file *wal)
{
	if (!wal || wal->len == 0)
		return SQLITE_OK;
	WB_COUNT(n_late);
	return wb_flush(wal);
}

/* Flush a WAL file's buffer before an operation on it; SQLITE_OK for other files. */
static int wb_before(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->is_wal ? wb_flush(f) : SQLITE_OK;
}

static int wb_close(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf, **pp;
	int rc = wb_before(pf), rc2;

	if (f->is_wal && f->db)
		f->db->wal = NULL;
	if (!f->is_wal && f->wal) {
		rc = wb_flush(f->wal);
		f->wal->db = NULL;
	}
	if (f->listed) {
		pthread_mutex_lock(&reg_lock);
		for (pp = &mains; *pp; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		pthread_mutex_unlock(&reg_lock);
	}
	free(f->buf);
	f->buf = NULL;
	rc2 = f->real->pMethods->xClose(f->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc = wb_before(pf);

	f->read_off = off;
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int wb_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc, commit_hdr, flush_after;

	/* Without its main file (not found, or closed first) there is no barrier to flush at: no buffer. */
	if (!f->is_wal || !f->db) {
		rc = wb_flush(f);
		return rc != SQLITE_OK ? rc : f->real->pMethods->xWrite(f->real, p, n, off);
	}
	WB_COUNT(n_writes);
	commit_hdr = n == WB_FRAME_HDR && be32((const unsigned char *)p + 4) != 0;
	/* An appended commit header is followed by its page. walRewriteChecksums reads each frame,
	 * then rewrites its header at the offset it read: no page follows that one. */
	flush_after = f->commit_next || (commit_hdr && off == f->read_off);
	f->commit_next = commit_hdr && off != f->read_off;
	f->read_off = -1;
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > WB_CAP)) {
		rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!f->buf)
		f->buf = malloc(WB_CAP);
	if (n <= 0 || (size_t)n > WB_CAP || !f->buf)
		return f->real->pMethods->xWrite(f->real, p, n, off); /* the buffer is empty here */
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	WB_COUNT(n_buffered);
	return flush_after ? wb_flush(f) : SQLITE_OK;
}

static int wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	int rc = wb_before(pf);

	return rc != SQLITE_OK ? rc : WB_REAL(pf)->pMethods->xTruncate(WB_REAL(pf), size);
}

static int wb_sync(sqlite3_file *pf, int flags)
{
	int rc = wb_before(pf);

	return rc != SQLITE_OK ? rc : WB_REAL(pf)->pMethods->xSync(WB_REAL(pf), flags);
}

static int wb_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	int rc = wb_before(pf);

	return rc != SQLITE_OK ? rc : WB_REAL(pf)->pMethods->xFileSize(WB_REAL(pf), size);
}

static int wb_lock(sqlite3_file *pf, int level)
{
	return WB_REAL(pf)->pMethods->xLock(WB_REAL(pf), level);
}

static int wb_unlock(sqlite3_file *pf, int level)
{
	return WB_REAL(pf)->pMethods->xUnlock(WB_REAL(pf), level);
}

static int wb_check_reserved(sqlite3_file *pf, int *out)
{
	return WB_REAL(pf)->pMethods->xCheckReservedLock(WB_REAL(pf), out);
}

static int wb_file_control(sqlite3_file *pf, int op, void *arg)
{
	int rc = wb_before(pf);

	return rc != SQLITE_OK ? rc : WB_REAL(pf)->pMethods->xFileControl(WB_REAL(pf), op, arg);
}

static int wb_sector_size(sqlite3_file *pf)
{
	return WB_REAL(pf)->pMethods->xSectorSize(WB_REAL(pf));
}

static int wb_device_characteristics(sqlite3_file *pf)
{
	return WB_REAL(pf)->pMethods->xDeviceCharacteristics(WB_REAL(pf));
}

static int wb_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **pp)
{
	return WB_REAL(pf)->pMethods->xShmMap(WB_REAL(pf), region, size, extend, pp);
}

/* On the main database file: an unlock may end the write transaction whose frames are buffered. */
static int wb_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc = (flags & SQLITE_SHM_UNLOCK) ? wb_flush_late(f->wal) : SQLITE_OK;
	int rc2 = f->real->pMethods->xShmLock(f->real, offset, n, flags); /* always released */

	return rc2 != SQLITE_OK ? rc2 : rc;
}

/* On the main database file: walIndexWriteHdr publishes new frames around this barrier. It cannot
 * report an error; in SQLite's commit path the buffer is empty here (see the top of the file). */
static void wb_shm_barrier(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	(void)wb_flush_late(f->wal);
	f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *pf, int delete_flag)
{
	struct wb_file *f = (struct wb_file *)pf;

	(void)wb_flush_late(f->wal);
	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int wb_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
	sqlite3_file *r = WB_REAL(pf);

	if (r->pMethods->iVersion < 3) {
		*pp = NULL;
		return SQLITE_OK;
	}
	return r->pMethods->xFetch(r, off, n, pp);
}

static int wb_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = WB_REAL(pf);

	return r->pMethods->iVersion < 3 ? SQLITE_OK : r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods wb_methods = {
	3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
	wb_check_reserved, wb_file_control, wb_sector_size, wb_device_characteristics,
	wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags, int *out)
{
	struct wb_file *f = (struct wb_file *)pf, *m;
	const char *dbname;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->read_off = -1;
	rc = root->xOpen(root, name, f->real, flags, out);
	if (!f->real->pMethods)
		return rc; /* our pMethods stays NULL: SQLite will not call xClose */
	f->base.pMethods = &wb_methods;
	if (rc != SQLITE_OK || !name)
		return rc;
	if (flags & SQLITE_OPEN_WAL) {
		f->is_wal = 1;
		/* The WAL's name is in the same block as its pager's database name (sqlite3.h). */
		dbname = sqlite3_filename_database(name);
		pthread_mutex_lock(&reg_lock);
		for (m = mains; m; m = m->next)
			if (m->name == dbname && !m->wal) {
				m->wal = f;
				f->db = m;
				break;
			}
		pthread_mutex_unlock(&reg_lock);
	} else if (flags & SQLITE_OPEN_MAIN_DB) {
		f->name = name;
		f->listed = 1;
		pthread_mutex_lock(&reg_lock);
		f->next = mains;
		mains = f;
		pthread_mutex_unlock(&reg_lock);
	}
	return SQLITE_OK;
}

/* The rest of the VFS is the wrapped one's. */
static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return root->xDelete(root, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return root->xAccess(root, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return root->xFullPathname(root, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return root->xDlOpen(root, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	root->xDlError(root, n, msg);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return root->xDlSym(root, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	root->xDlClose(root, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xRandomness(root, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return root->xSleep(root, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return root->xCurrentTime(root, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return root->xGetLastError ? root->xGetLastError(root, n, out) : 0;
}

static int wb_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return root->xCurrentTimeInt64(root, out);
}

static int wb_set_syscall(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr fn)
{
	(void)v;
	return root->xSetSystemCall(root, name, fn);
}

static sqlite3_syscall_ptr wb_get_syscall(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return root->xGetSystemCall(root, name);
}

static const char *wb_next_syscall(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return root->xNextSystemCall(root, name);
}

static void wb_init(void)
{
	root = sqlite3_vfs_find(NULL);
	if (!root || root->iVersion < 3) /* the unix VFS is version 3 */
		return;
	wb_vfs = (sqlite3_vfs){
		3, (int)sizeof(struct wb_file) + root->szOsFile, root->mxPathname, NULL, VEX_WALBUF_VFS, NULL,
		wb_open, wb_delete, wb_access, wb_full_pathname, wb_dlopen, wb_dlerror, wb_dlsym, wb_dlclose,
		wb_randomness, wb_sleep, wb_current_time, wb_last_error, wb_current_time64,
		wb_set_syscall, wb_get_syscall, wb_next_syscall,
	};
	if (sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK)
		wb_reg_rc = 0;
}

int vex_walbuf_register(void)
{
	pthread_once(&wb_once, wb_init);
	return wb_reg_rc;
}

void vex_walbuf_counts(struct vex_walbuf_counts *ret)
{
	ret->writes = __atomic_load_n(&n_writes, __ATOMIC_RELAXED);
	ret->buffered = __atomic_load_n(&n_buffered, __ATOMIC_RELAXED);
	ret->flushes = __atomic_load_n(&n_flushes, __ATOMIC_RELAXED);
	ret->late = __atomic_load_n(&n_late, __ATOMIC_RELAXED);
}
