/* metrics.c - the shared-memory counter file: mapping it, and the atomic adds of every process. */
#include "core/metrics/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"

#define PAGE_MAGIC 0x7665786du /* "vexm" */
#define PAGE_VERSION 1u
#define RUNNER_STALE_US (60 * 1000000LL) /* a runner cell silent this long may be taken over */

static struct vex_metrics_page *page;
static int my_runner = -1;

const int vex_metrics_codes[VEX_METRICS_CODES - 1] = {
	200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404,
	405, 409, 410, 411, 412, 413, 415, 422, 429, 500, 502, 503,
};

static const int64_t wait_us[] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 30000000, 60000000, 120000000, 300000000, 600000000, 1800000000, 3600000000,
};
static const int64_t dispatch_us[] = {
	500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};
const struct vex_metrics_bounds vex_metrics_wait_bounds = { wait_us, sizeof(wait_us) / sizeof(wait_us[0]) };
const struct vex_metrics_bounds vex_metrics_dispatch_bounds = { dispatch_us,
								sizeof(dispatch_us) / sizeof(dispatch_us[0]) };

#define ADD(p, n) __atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* A fresh page: zeroes, the two fixed tool cells, then the magic (a reader trusts nothing before it). */
static void page_init(struct vex_metrics_page *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->tools[VEX_METRICS_TOOL_OTHER].name, VEX_METRICS_NAME_MAX, "_other");
	snprintf(p->tools[VEX_METRICS_TOOL_AGENT].name, VEX_METRICS_NAME_MAX, "_agent");
	p->tools[VEX_METRICS_TOOL_OTHER].state = 2;
	p->tools[VEX_METRICS_TOOL_AGENT].state = 2;
	p->version = PAGE_VERSION;
	p->size = sizeof(*p);
	p->created_us = vex_now_us();
	STORE(&p->magic, PAGE_MAGIC);
}

int vex_metrics_open(const char *db_path)
{
	struct vex_metrics_page *p = MAP_FAILED;
	char path[4096];
	struct stat st;
	int fd = -1, rc = VEX_EIO, fresh;

	if (snprintf(path, sizeof(path), "%s-metrics", db_path) >= (int)sizeof(path))
		return VEX_EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	/* The lock only orders the processes that open at the same moment; counting never takes it. */
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		goto out;
	fresh = st.st_size != (off_t)sizeof(*p);
	if (fresh && (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)sizeof(*p)) != 0))
		goto out;
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out;
	if (fresh || LOAD(&p->magic) != PAGE_MAGIC || p->version != PAGE_VERSION || p->size != sizeof(*p))
		page_init(p);
	vex_metrics_close();
	page = p;
	p = MAP_FAILED;
	rc = 0;
out:
	if (p != MAP_FAILED)
		munmap(p, sizeof(*p));
	if (fd >= 0) {
		/* unlocked by hand: the mapping keeps the open file (and a flock on it) alive past close() */
		flock(fd, LOCK_UN);
		close(fd);
	}
	return rc;
}

void vex_metrics_close(void)
{
	if (page)
		munmap(page, sizeof(*page));
	page = NULL;
	my_runner = -1;
}

const struct vex_metrics_page *vex_metrics_page(void)
{
	return page;
}

void vex_metrics_inc(enum vex_metric m)
{
	if (page && (unsigned)m < VEX_M_COUNT)
		ADD(&page->counter[m], 1);
}

void vex_metrics_gauge_set(enum vex_gauge g, int64_t v)
{
	if (page && (unsigned)g < VEX_G_COUNT)
		__atomic_store_n(&page->gauge[g], v, __ATOMIC_RELAXED);
}

void vex_metrics_observe(struct vex_metrics_hist *h, const struct vex_metrics_bounds *b, int64_t us)
{
	size_t i = 0;

	if (us < 0)
		us = 0;
	while (i < b->n && us > b->us[i])
		i++;
	ADD(&h->bucket[i], 1);
	ADD(&h->sum_us, (uint64_t)us);
}

static int code_col(int status)
{
	for (int i = 0; i < VEX_METRICS_CODES - 1; i++)
		if (vex_metrics_codes[i] == status)
			return i;
	return VEX_METRICS_CODES - 1;
}

void vex_metrics_request(unsigned route, int status)
{
	if (page && route < VEX_METRICS_ROUTES)
		ADD(&page->requests[route][code_col(status)], 1);
}

/*
 * Find the ready cell named "name" among "n" cells of "stride" bytes from "base" (the state word first,
 * the name at "name_off"), or take a free one by compare-and-swap. Two processes taking a cell for the
 * same new name at once may both succeed: the renderer adds cells of one name together.
 */
static int cell_find(void *base, size_t stride, size_t n, size_t name_off, size_t from, const char *name,
		     int (*mine)(const void *cell))
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= VEX_METRICS_NAME_MAX)
		return -1;
	for (i = from; i < n; i++) {
		char *c = (char *)base + i * stride;

		if (LOAD((uint32_t *)c) == 2 && strcmp(c + name_off, name) == 0 && (!mine || mine(c)))
			return (int)i;
	}
	for (i = from; i < n; i++) {
		char *c = (char *)base + i * stride;
		uint32_t want = 0;

		if (!__atomic_compare_exchange_n((uint32_t *)c, &want, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		memcpy(c + name_off, name, len + 1);
		return (int)i; /* the caller fills the rest and sets state 2 */
	}
	return -1;
}

int vex_metrics_tool_cell(const struct vex_job *j)
{
	struct vex_metrics_tool *t;
	int i;

	if (!page)
		return -1;
	if (j->kind == VEX_JOB_AGENT)
		return VEX_METRICS_TOOL_AGENT;
	if (!j->tool)
		return VEX_METRICS_TOOL_OTHER;
	i = cell_find(page->tools, sizeof(page->tools[0]), VEX_METRICS_TOOLS, offsetof(struct vex_metrics_tool, name),
		      2, j->tool, NULL);
	if (i < 0)
		return VEX_METRICS_TOOL_OTHER;
	t = &page->tools[i];
	if (LOAD(&t->state) == 1)
		STORE(&t->state, 2);
	return i;
}

void vex_metrics_job_submitted(const struct vex_job *j)
{
	int i = vex_metrics_tool_cell(j);

	if (i >= 0)
		ADD(&page->tools[i].submits, 1);
}

void vex_metrics_job_started(const struct vex_job *j)
{
	int i;

	if (j->attempts != 1 || j->started_at <= 0 || (i = vex_metrics_tool_cell(j)) < 0)
		return; /* a retry's started_at is its first claim's */
	vex_metrics_observe(&page->tools[i].wait, &vex_metrics_wait_bounds, j->started_at - j->created_at);
}

void vex_metrics_job_finished(const struct vex_job *j)
{
	struct vex_metrics_tool *t;
	int i = vex_metrics_tool_cell(j);

	if (i < 0)
		return;
	t = &page->tools[i];
	switch (j->status) {
	case VEX_JOB_COMPLETED:
		ADD(&t->completions, 1);
		break;
	case VEX_JOB_FAILED:
		ADD(&t->failed, 1);
		break;
	case VEX_JOB_TIMEOUT:
		ADD(&t->timeout, 1);
		break;
	case VEX_JOB_CANCELED:
		ADD(&t->canceled, 1);
		break;
	default:
		return;
	}
	if (j->started_at > 0 && j->completed_at >= j->started_at)
		vex_metrics_observe(&t->run, &vex_metrics_wait_bounds, j->completed_at - j->started_at);
}

void vex_metrics_dispatch(int64_t us)
{
	if (page)
		vex_metrics_observe(&page->dispatch, &vex_metrics_dispatch_bounds, us);
}

int vex_metrics_runner_join(const char *id, int slots, int64_t now_us)
{
	struct vex_metrics_runner *r;
	int i, k;

	if (!page)
		return 0;
	i = cell_find(page->runners, sizeof(page->runners[0]), VEX_METRICS_RUNNERS,
		      offsetof(struct vex_metrics_runner, id), 0, id, NULL);
	if (i < 0) {
		/* every cell taken: the one silent longest, if long enough */
		for (k = 0; k < VEX_METRICS_RUNNERS; k++)
			if (now_us - LOAD(&page->runners[k].beat_us) > RUNNER_STALE_US &&
			    (i < 0 || page->runners[k].beat_us < page->runners[i].beat_us))
				i = k;
		if (i < 0 || strlen(id) >= VEX_METRICS_NAME_MAX)
			return VEX_ETOOBIG;
		memcpy(page->runners[i].id, id, strlen(id) + 1);
	}
	r = &page->runners[i];
	for (k = 0; k < VEX_METRICS_MCP; k++)
		if (page->mcp[k].runner == i && LOAD(&page->mcp[k].state) == 2)
			STORE(&page->mcp[k].state, 0);
	r->pid = (int32_t)getpid();
	STORE(&r->slots, (uint64_t)(slots > 0 ? slots : 0));
	STORE(&r->busy, 0);
	STORE(&r->beat_us, now_us);
	STORE(&r->state, 2);
	my_runner = i;
	return 0;
}

void vex_metrics_runner_busy(int busy)
{
	if (page && my_runner >= 0)
		STORE(&page->runners[my_runner].busy, (uint64_t)(busy > 0 ? busy : 0));
}

void vex_metrics_runner_beat(int64_t now_us)
{
	if (page && my_runner >= 0)
		STORE(&page->runners[my_runner].beat_us, now_us);
}

void vex_metrics_runner_leave(void)
{
	if (!page || my_runner < 0)
		return;
	STORE(&page->runners[my_runner].beat_us, 0);
	STORE(&page->runners[my_runner].busy, 0);
	my_runner = -1;
}

static int of_my_runner(const void *cell)
{
	return ((const struct vex_metrics_mcp *)cell)->runner == my_runner;
}

void vex_metrics_mcp_up(const char *name, int up)
{
	int i;

	if (!page || my_runner < 0)
		return;
	i = cell_find(page->mcp, sizeof(page->mcp[0]), VEX_METRICS_MCP, offsetof(struct vex_metrics_mcp, name), 0,
		      name, of_my_runner);
	if (i < 0)
		return;
	STORE(&page->mcp[i].up, (uint64_t)(up != 0));
	if (LOAD(&page->mcp[i].state) == 1) {
		page->mcp[i].runner = my_runner;
		STORE(&page->mcp[i].state, 2);
	}
}
