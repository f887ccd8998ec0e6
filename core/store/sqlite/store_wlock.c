/* store_wlock.c - one writer at a time across processes: a robust process-shared mutex in "<db>-wlock". */
#include "core/store/sqlite/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "core/base/log.h"

#define WLOCK_MAGIC 0x76657877u /* "vexw" */
#define WLOCK_VERSION 1u

/*
 * Why: SQLite has no queue for its write lock. Writers that find it taken sleep in its busy
 * handler (1, 2, 5, 10 ... ms) and retry, so under load a commit waits for a sleep to end rather
 * than for the holder, and an unlucky writer can starve for seconds. Taking this mutex before
 * BEGIN IMMEDIATE makes our own writers wait in the kernel and wake when the holder lets go.
 * ROBUST: a holder that dies (kill -9) hands the next locker EOWNERDEAD, not a deadlock; SQLite
 * itself has already dropped the dead process's locks. Other programs (sqlite3 ".backup") do
 * not take it and still meet busy_timeout as before.
 */
struct wlock_page {
	uint32_t magic;
	uint32_t version;
	uint32_t size;
	uint32_t pad;
	pthread_mutex_t mu;
};

struct vex_wlock {
	struct wlock_page *page;
	int held;
};

static int page_init(struct wlock_page *p)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a))
		return VEX_ERROR;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
	     pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) || pthread_mutex_init(&p->mu, &a);
	pthread_mutexattr_destroy(&a);
	if (rc)
		return VEX_ERROR;
	p->version = WLOCK_VERSION;
	p->size = (uint32_t)sizeof(*p);
	p->magic = WLOCK_MAGIC; /* last: a page is usable once this is set */
	return 0;
}

int vex_wlock_guard(const char *db_path)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s-wlock", db_path) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void vex_wlock_unguard(int fd)
{
	if (fd < 0)
		return;
	/* Unlock explicitly: a mapping made from this fd keeps the open file description (and a flock) alive. */
	flock(fd, LOCK_UN);
	close(fd);
}

int vex_wlock_map(int guard_fd, struct vex_wlock **ret)
{
	struct stat st;
	struct vex_wlock *w = NULL;
	struct wlock_page *p;
	void *map = MAP_FAILED;
	int rc = VEX_EIO;

	if (guard_fd < 0 || fstat(guard_fd, &st) != 0)
		return VEX_EIO;
	if (st.st_size != (off_t)sizeof(struct wlock_page) && ftruncate(guard_fd, sizeof(struct wlock_page)) != 0)
		goto out;
	map = mmap(NULL, sizeof(struct wlock_page), PROT_READ | PROT_WRITE, MAP_SHARED, guard_fd, 0);
	if (map == MAP_FAILED)
		goto out;
	p = map;
	if (p->magic != WLOCK_MAGIC || p->version != WLOCK_VERSION || p->size != sizeof(*p)) {
		memset(p, 0, sizeof(*p));
		if ((rc = page_init(p)) != 0)
			goto out;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = VEX_ENOMEM;
		goto out;
	}
	w->page = p;
	map = MAP_FAILED;
	*ret = w;
	rc = 0;
out:
	if (map != MAP_FAILED)
		munmap(map, sizeof(struct wlock_page));
	return rc;
}

int vex_wlock_acquire(struct vex_wlock *w, int timeout_ms)
{
	struct timespec ts;
	int rc;

	if (!w || w->held)
		return 0;
	vex_mono_deadline(timeout_ms, &ts);
	rc = pthread_mutex_clocklock(&w->page->mu, CLOCK_MONOTONIC, &ts);
	if (rc == EOWNERDEAD) {
		vex_log(VEX_LOG_WARN, "a writer died holding the write lock; recovered", NULL);
		pthread_mutex_consistent(&w->page->mu);
		rc = 0;
	}
	if (rc == ETIMEDOUT)
		return VEX_EBUSY;
	if (rc != 0)
		return VEX_ERROR;
	w->held = 1;
	return 0;
}

void vex_wlock_release(struct vex_wlock *w)
{
	if (!w || !w->held)
		return;
	w->held = 0;
	pthread_mutex_unlock(&w->page->mu);
}

void vex_wlock_free(struct vex_wlock *w)
{
	if (!w)
		return;
	vex_wlock_release(w);
	munmap(w->page, sizeof(struct wlock_page));
	free(w);
}
