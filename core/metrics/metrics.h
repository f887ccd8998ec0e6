/* metrics.h - the service's counters in one shared-memory file beside the database ("<db>-metrics"). */
#ifndef VEX_METRICS_H
#define VEX_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/jobs/model.h"

/*
 * Why a file: every vex-api process (the pool's workers, the committer, the stream server) and every
 * runner of the host add to the same counters, and /metrics (any worker) reads them all. The file is
 * mapped MAP_SHARED by each process once (vex_metrics_open, before the vex-api master forks); after
 * that an event costs a few relaxed atomic adds on the mapping: no system call, no lock.
 *
 * Counters never go backwards while the file lives: a process that restarts maps the same file and
 * adds on. The file is made (zeroed) only when it is missing or has another layout (an upgrade, which
 * restarts the whole service): the only reset Prometheus sees. Removing the file by hand resets too.
 *
 * Label values are bounded by the layout: VEX_METRICS_TOOLS tool names (a name gets a cell the first
 * time a job of a configured tool is accepted or run; once the cells are used up, further names fold
 * into "_other"), the router's route patterns, a fixed list of status codes, VEX_METRICS_RUNNERS
 * runners and VEX_METRICS_MCP MCP servers.
 */

#define VEX_METRICS_NAME_MAX 96       /* bytes of a tool, runner or server name with its NUL */
#define VEX_METRICS_TOOLS 128         /* cells; cell 0 is "_other" (tools), cell 1 every agent job */
#define VEX_METRICS_TOOL_OTHER 0
#define VEX_METRICS_TOOL_AGENT 1
#define VEX_METRICS_ROUTE_ROWS 128    /* the router's routes (VEX_ROUTES_MAX) */
#define VEX_METRICS_ROUTE_NONE 128    /* no route matched */
#define VEX_METRICS_ROUTE_STREAM_VEX 129   /* the stream server: /api/v1/jobs/{id}/stream */
#define VEX_METRICS_ROUTE_STREAM_COREX 130 /* /jobs/{id}/stream */
#define VEX_METRICS_ROUTES 131
#define VEX_METRICS_CODES 25          /* vex_metrics_codes[] and one "other" */
#define VEX_METRICS_RUNNERS 16
#define VEX_METRICS_MCP 64
#define VEX_METRICS_BUCKETS 19        /* at most 18 bounds and +Inf */

/* Plain counters (each one series). */
enum vex_metric {
	VEX_M_CACHE_HITS,        /* a job read answered from memcached */
	VEX_M_CACHE_MISSES,      /* a job read that fell back to SQLite */
	VEX_M_CACHE_REJECTED,    /* a memcached value whose MAC failed */
	VEX_M_HOOK_DELIVERED,    /* webhook attempts, by outcome */
	VEX_M_HOOK_RETRY,
	VEX_M_HOOK_FAILED,
	VEX_M_STREAMS_OPENED,
	VEX_M_COMMIT_BATCHES,    /* the group committer's transactions */
	VEX_M_COMMIT_JOBS,       /* and the jobs they inserted */
	VEX_M_INTAKE_ROUNDS,     /* the runner writer's rounds that stored new jobs from its intake */
	VEX_M_INTAKE_JOBS,       /* and the jobs they inserted */
	VEX_M_CHECKPOINTS,       /* WAL checkpoints the runner's checkpoint thread ran */
	VEX_M_COUNT
};

/* Gauges a single process sets. */
enum vex_gauge { VEX_G_STREAMS_OPEN, VEX_G_COUNT };

/* A histogram: per-bucket (not cumulative) counts and the sum in microseconds. */
struct vex_metrics_hist {
	uint64_t bucket[VEX_METRICS_BUCKETS];
	uint64_t sum_us;
};

/* state: 0 free, 1 being written (skipped), 2 ready. */
struct vex_metrics_tool {
	uint32_t state;
	uint32_t pad;
	char name[VEX_METRICS_NAME_MAX];
	uint64_t submits, completions, failed, timeout, canceled;
	struct vex_metrics_hist wait, run;
};

struct vex_metrics_runner {
	uint32_t state;
	int32_t pid;
	char id[VEX_METRICS_NAME_MAX];
	uint64_t slots, busy;
	int64_t beat_us; /* wall clock of the last beat; a runner silent 10 s is not shown */
};

struct vex_metrics_mcp {
	uint32_t state;
	int32_t runner; /* index into runners[] */
	char name[VEX_METRICS_NAME_MAX];
	uint64_t up;
};

/* The file's whole layout. Readers (the /metrics renderer, tests) read it with relaxed loads. */
struct vex_metrics_page {
	uint32_t magic;
	uint32_t version;
	uint64_t size;
	int64_t created_us;
	uint64_t counter[VEX_M_COUNT];
	int64_t gauge[VEX_G_COUNT];
	uint64_t requests[VEX_METRICS_ROUTES][VEX_METRICS_CODES];
	struct vex_metrics_hist dispatch;
	struct vex_metrics_tool tools[VEX_METRICS_TOOLS];
	struct vex_metrics_runner runners[VEX_METRICS_RUNNERS];
	struct vex_metrics_mcp mcp[VEX_METRICS_MCP];
};

/* The status codes with a column of their own; any other counts as code "other". */
extern const int vex_metrics_codes[VEX_METRICS_CODES - 1];

/* Histogram bounds in microseconds, ascending, "n" of them (+Inf follows). */
struct vex_metrics_bounds {
	const int64_t *us;
	size_t n;
};
extern const struct vex_metrics_bounds vex_metrics_wait_bounds;     /* queue wait and run time */
extern const struct vex_metrics_bounds vex_metrics_dispatch_bounds; /* dispatch latency */

/*
 * Map "<db_path>-metrics" (mode 0600, created or re-made under flock when missing or of another layout)
 * and make it this process's page: every vex_metrics_* call below adds to it, and children forked
 * afterwards share it. 0, or VEX_EIO / VEX_ENOMEM (then counting stays off: every call is a no-op).
 */
int vex_metrics_open(const char *db_path);

/* Unmap the page; counting is off afterwards. */
void vex_metrics_close(void);

/* This process's page, or NULL when none is open. */
const struct vex_metrics_page *vex_metrics_page(void);

/* The hot path: relaxed atomic adds, nothing when no page is open. */
void vex_metrics_inc(enum vex_metric m);
void vex_metrics_gauge_set(enum vex_gauge g, int64_t v);
void vex_metrics_observe(struct vex_metrics_hist *h, const struct vex_metrics_bounds *b, int64_t us);

/* One answered request: "route" a VEX_METRICS_ROUTE_* row (the router's index or a reserved one). */
void vex_metrics_request(unsigned route, int status);

/*
 * The tool cell of job "j" (agent jobs: VEX_METRICS_TOOL_AGENT), taking a free cell for a tool name not
 * seen before; -1 when no page is open. Call it only for jobs of a configured tool (accepted or claimed):
 * a name nobody configured never gets a cell.
 */
int vex_metrics_tool_cell(const struct vex_job *j);

/* A job accepted (vex-api), its first claim (queue wait: started_at - created_at) and its end (run time:
 * completed_at - started_at; completed, failed and timeout are counted apart, canceled too). */
void vex_metrics_job_submitted(const struct vex_job *j);
void vex_metrics_job_started(const struct vex_job *j);
void vex_metrics_job_finished(const struct vex_job *j);
/* Dispatch latency: "us" from the job's creation to its executor starting (first attempt). */
void vex_metrics_dispatch(int64_t us);

/*
 * The runner's cell: join with its id and slot count (a cell of the same id is taken over, else a
 * free or long-silent one; its MCP cells are cleared), then busy and beat as they change, leave on
 * exit. One runner per process. Join returns 0 or VEX_ETOOBIG (no cell: not shown).
 */
int vex_metrics_runner_join(const char *id, int slots, int64_t now_us);
void vex_metrics_runner_busy(int busy);
void vex_metrics_runner_beat(int64_t now_us);
void vex_metrics_runner_leave(void);
/* MCP server "name" of this runner is up (1) or down (0). */
void vex_metrics_mcp_up(const char *name, int up);

#endif
