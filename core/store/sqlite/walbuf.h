/* walbuf.h - a SQLite VFS shim that writes a transaction's WAL frames with one pwrite (docs/storage.md, "WAL writes"). */
#ifndef VEX_WALBUF_H
#define VEX_WALBUF_H

#include <stdint.h>

/* The name the shim is registered under; pass it as sqlite3_open_v2's zVfs. */
#define VEX_WALBUF_VFS "vex-walbuf"

/* Register the shim once per process (thread-safe, idempotent), wrapping the default VFS as it is
 * at the first call; never made the default. 0, or VEX_EIO when SQLite refused it. */
int vex_walbuf_register(void);

/* Process-wide counters since start (for tests and measurements): WAL writes SQLite asked for,
 * how many of them went into a buffer, the buffer writes (one pwrite each) that followed, and how
 * many of those came only at xShmBarrier, an xShmLock unlock or xShmUnmap (the backstop: after a
 * commit it never should, since a commit's frames are written, errors reported, at its last frame). */
struct vex_walbuf_counts {
	uint64_t writes;
	uint64_t buffered;
	uint64_t flushes;
	uint64_t late;
};
void vex_walbuf_counts(struct vex_walbuf_counts *ret);

#endif
