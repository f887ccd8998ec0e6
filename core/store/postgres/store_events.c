/* store_events.c - job events on PostgreSQL: the change log the job triggers write (migration 2), read by seq
 * (streams, webhooks) or by one job's rev, as core/store/sqlite/store_events.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

#define EVENTS_LIMIT_MAX 10000

#define EVENT_COLS                                                                                           \
	"seq, job_id, owner, rev, type, status, attempts, started_at, progress_step, progress_total,"        \
	" progress_pct, progress_message, cancel_requested, at"

/* Fill the vex_job_event "item" from row "row" (EVENT_COLS). */
static int event_read(const PGresult *r, int row, void *item)
{
	struct vex_job_event *e = item;
	enum vex_job_status status = VEX_JOB_QUEUED;
	int fail = 0;

	e->seq = vex_pg_get_i64(r, row, 0);
	vex_pg_copy(r, row, 1, e->job_id, sizeof(e->job_id));
	vex_pg_copy(r, row, 2, e->owner, sizeof(e->owner));
	e->rev = vex_pg_get_i64(r, row, 3);
	e->type = vex_job_event_type_parse(PQgetvalue(r, row, 4));
	vex_job_status_parse(PQgetvalue(r, row, 5), &status);
	e->status = status;
	e->attempts = (int)vex_pg_get_i64(r, row, 6);
	e->started_at = vex_pg_get_i64(r, row, 7);
	e->progress.current_step = vex_pg_strdup(r, row, 8, &fail);
	e->progress.total_steps = (int)vex_pg_get_i64(r, row, 9);
	/* float8's text reads back to the same double (as the job row reader). */
	e->progress.percentage = strtod(PQgetvalue(r, row, 10), NULL);
	e->progress.message = vex_pg_strdup(r, row, 11, &fail);
	e->cancel_requested = (int)vex_pg_get_i64(r, row, 12);
	e->at = vex_pg_get_i64(r, row, 13);
	return fail ? VEX_ENOMEM : 0;
}

static void event_free(void *item)
{
	struct vex_job_event *e = item;

	free(e->progress.current_step);
	free(e->progress.message);
}

static const struct vex_pg_rows event_rows = { sizeof(struct vex_job_event), event_read, event_free };

/* The events "sql" selects with "vals", at most "limit" of them. */
static int events(struct vex_pg *p, const char *sql, int n, const char *const *vals, int limit,
		  struct vex_job_event_list *ret)
{
	PGresult *r = NULL;
	void *items = NULL;
	size_t got = 0;
	int rc = vex_pg_exec(p, sql, n, vals, &r);

	if (rc)
		return rc;
	rc = vex_pg_collect(r, &event_rows, (size_t)limit, &items, &got);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_job_event_list){ items, got };
	return rc;
}

int vex_pg_job_events_since(struct vex_pg *p, int64_t after_seq, int limit, struct vex_job_event_list *ret)
{
	char a[24], b[24];
	const char *v[2];

	if (limit < 1 || limit > EVENTS_LIMIT_MAX)
		return VEX_EINVAL;
	v[0] = vex_pg_i64(a, after_seq);
	v[1] = vex_pg_i64(b, limit);
	/* Every writer of events holds the jobs lock to its commit (VEX_PG_JOBS_LOCK), so seqs become visible in
	 * order: none can appear later below one this read returns. */
	return events(p, "SELECT " EVENT_COLS " FROM job_events WHERE seq > $1 ORDER BY seq LIMIT $2", 2, v, limit,
		      ret);
}

int vex_pg_job_events_of(struct vex_pg *p, const char *id, int64_t after_rev, int limit,
			 struct vex_job_event_list *ret)
{
	char a[24], b[24];
	const char *v[3];

	if (!id || limit < 1 || limit > EVENTS_LIMIT_MAX)
		return VEX_EINVAL;
	v[0] = id;
	v[1] = vex_pg_i64(a, after_rev);
	v[2] = vex_pg_i64(b, limit);
	return events(p, "SELECT " EVENT_COLS " FROM job_events WHERE job_id = $1 AND rev > $2 ORDER BY rev LIMIT $3",
		      3, v, limit, ret);
}

int vex_pg_job_events_last_seq(struct vex_pg *p, int64_t *ret)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, "SELECT COALESCE(MAX(seq), 0) FROM job_events", 0, NULL, &r);

	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*ret = vex_pg_get_i64(r, 0, 0);
	else
		rc = VEX_ERROR;
	PQclear(r);
	return rc;
}
