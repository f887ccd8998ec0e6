/* store_events.c - job events: the change log the triggers of migration 2 write, read by streams and webhooks. */
#include "core/store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/sqlite/store_internal.h"

#define EVENTS_LIMIT_MAX 10000

static const char *const type_names[VEX_EV_TYPE_COUNT] = {
	"queued", "started", "progress", "cancel_requested", "requeued", "completed", "failed", "timeout", "canceled",
};

const char *vex_job_event_type_name(enum vex_job_event_type t)
{
	return (unsigned)t < VEX_EV_TYPE_COUNT ? type_names[t] : "unknown";
}

static void event_release(struct vex_job_event *e)
{
	free(e->progress.current_step);
	free(e->progress.message);
	memset(&e->progress, 0, sizeof(e->progress));
}

void vex_job_event_list_release(struct vex_job_event_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		event_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

#define EVENT_COLS                                                                                           \
	"seq, job_id, owner, rev, type, status, attempts, started_at, progress_step, progress_total,"        \
	" progress_pct, progress_message, cancel_requested, at"

/* The current row of a SELECT of EVENT_COLS into the vex_job_event "item". */
static int event_row(sqlite3_stmt *st, void *item)
{
	struct vex_job_event *e = item;
	enum vex_job_status status = VEX_JOB_QUEUED;
	int fail = 0;

	e->seq = sqlite3_column_int64(st, 0);
	vex_col_copy(st, 1, e->job_id, sizeof(e->job_id));
	vex_col_copy(st, 2, e->owner, sizeof(e->owner));
	e->rev = sqlite3_column_int64(st, 3);
	e->type = vex_job_event_type_parse((const char *)sqlite3_column_text(st, 4));
	vex_job_status_parse((const char *)sqlite3_column_text(st, 5), &status);
	e->status = status;
	e->attempts = sqlite3_column_int(st, 6);
	e->started_at = sqlite3_column_int64(st, 7);
	e->progress.current_step = vex_col_strdup(st, 8, &fail);
	e->progress.total_steps = sqlite3_column_int(st, 9);
	e->progress.percentage = sqlite3_column_double(st, 10);
	e->progress.message = vex_col_strdup(st, 11, &fail);
	e->cancel_requested = sqlite3_column_int(st, 12);
	e->at = sqlite3_column_int64(st, 13);
	return fail ? VEX_ENOMEM : 0;
}

static void event_row_free(void *item)
{
	event_release(item);
}

static const struct vex_rows event_rows = { sizeof(struct vex_job_event), event_row, event_row_free, NULL };

/* Step "st" (a SELECT of EVENT_COLS) to the end, collecting at most "limit" rows; resets "st". */
static int collect(sqlite3_stmt *st, int limit, struct vex_job_event_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_collect(st, &event_rows, (size_t)limit, NULL, &items, &n);

	if (rc == 0)
		*ret = (struct vex_job_event_list){ items, n };
	return rc;
}

int vex_sqlite_job_events_since(struct vex_sqlite *s, int64_t after_seq, int limit, struct vex_job_event_list *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (limit < 1 || limit > EVENTS_LIMIT_MAX)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s, "SELECT " EVENT_COLS " FROM job_events WHERE seq > ?1 ORDER BY seq LIMIT ?2", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int(st, 2, limit);
	return collect(st, limit, ret);
}

int vex_sqlite_job_events_of(struct vex_sqlite *s, const char *id, int64_t after_rev, int limit,
			     struct vex_job_event_list *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id || limit < 1 || limit > EVENTS_LIMIT_MAX)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "SELECT " EVENT_COLS " FROM job_events WHERE job_id = ?1 AND rev > ?2 ORDER BY rev LIMIT ?3",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, after_rev);
	sqlite3_bind_int(st, 3, limit);
	return collect(st, limit, ret);
}

int vex_sqlite_job_events_last_seq(struct vex_sqlite *s, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s, "SELECT COALESCE(MAX(seq), 0) FROM job_events", &st);
	if (rc)
		return rc;
	return vex_sqlite_step_int64(st, ret);
}

/* Free *p and make it NULL. */
static void clear_str(char **p)
{
	free(*p);
	*p = NULL;
}

int vex_job_apply_event(struct vex_job *j, const struct vex_job_event *e)
{
	int rc = vex_progress_copy(&j->progress, &e->progress);

	if (rc)
		return rc;
	j->status = e->status;
	j->attempts = e->attempts;
	j->started_at = e->started_at;
	j->cancel_requested = e->cancel_requested;
	j->rev = e->rev;
	j->updated_at = e->at;
	if (!vex_job_status_terminal(e->status)) {
		j->completed_at = 0;
		clear_str(&j->result_json);
		clear_str(&j->error_code);
		clear_str(&j->error_message);
		clear_str(&j->error_details_json);
		clear_str(&j->final_model);
		j->tokens_in = j->tokens_out = 0;
		j->steps = j->browser_steps = 0;
		j->browser_seconds = 0;
	}
	return 0;
}
