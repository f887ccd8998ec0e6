/* store_deliveries.c - webhook deliveries: fan-out of job events, listings (claims: store_delivery_claims.c; attempts: store_attempts.c). */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/store_backend.h"
#include "core/base/timeutil.h"

#define LIST_MAX 1000
#define FANOUT_MAX 10000

/* "item" is a struct vex_delivery_attempt (the row collector's release). */
static void attempt_release(void *item)
{
	struct vex_delivery_attempt *a = item;

	free(a->error);
	free(a->response_body);
	a->error = NULL;
	a->response_body = NULL;
}

void vex_delivery_release(struct vex_delivery *d)
{
	if (!d)
		return;
	free(d->payload);
	free(d->last_error);
	for (size_t i = 0; i < d->nlog; i++)
		attempt_release(&d->log[i]);
	free(d->log);
	memset(d, 0, sizeof(*d));
}

void vex_delivery_list_release(struct vex_delivery_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		vex_delivery_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void vex_delivery_claim_list_release(struct vex_delivery_claim_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		vex_delivery_release(&l->items[i].d);
		free(l->items[i].url);
		free(l->items[i].secret);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* ---- rows ---- */


int vex_delivery_row_read(sqlite3_stmt *st, void *item)
{
	struct vex_delivery *d = item;
	int fail = 0;

	vex_col_copy(st, 0, d->id, sizeof(d->id));
	vex_col_copy(st, 1, d->hook_id, sizeof(d->hook_id));
	vex_col_copy(st, 2, d->owner, sizeof(d->owner));
	vex_col_copy(st, 3, d->job_id, sizeof(d->job_id));
	d->event_seq = sqlite3_column_int64(st, 4);
	vex_col_copy(st, 5, d->event, sizeof(d->event));
	d->payload = vex_col_strdup(st, 6, &fail);
	d->status = vex_delivery_status_parse((const char *)sqlite3_column_text(st, 7));
	d->attempts = sqlite3_column_int(st, 8);
	d->next_at = sqlite3_column_int64(st, 9);
	d->last_status_code = sqlite3_column_int(st, 10);
	d->last_error = vex_col_strdup(st, 11, &fail);
	d->created_at = sqlite3_column_int64(st, 12);
	d->finished_at = sqlite3_column_int64(st, 13);
	vex_col_copy(st, 14, d->resend_of, sizeof(d->resend_of));
	return fail ? VEX_ENOMEM : 0;
}

static int attempt_row(sqlite3_stmt *st, void *item)
{
	struct vex_delivery_attempt *a = item;
	int fail = 0;

	a->n = sqlite3_column_int(st, 0);
	a->at = sqlite3_column_int64(st, 1);
	a->status_code = sqlite3_column_int(st, 2);
	a->error = vex_col_strdup(st, 3, &fail);
	a->duration_us = sqlite3_column_int64(st, 4);
	a->response_body = vex_col_strdup(st, 5, &fail);
	return fail ? VEX_ENOMEM : 0;
}

static const struct vex_rows attempt_rows = { sizeof(struct vex_delivery_attempt), attempt_row, attempt_release,
					       NULL };

/* The attempts of "d", oldest first, into d->log. */
static int load_attempts(struct vex_sqlite *s, struct vex_delivery *d)
{
	void *log;
	size_t n;
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s,
			     "SELECT n, at, status_code, error, duration_us, response_body FROM webhook_attempts"
			     " WHERE delivery_id = ?1 ORDER BY n",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, d->id);
	rc = vex_sqlite_collect(st, &attempt_rows, 0, NULL, &log, &n);
	if (rc == 0) {
		d->log = log;
		d->nlog = n;
	}
	return rc;
}

static void delivery_row_free(void *item)
{
	vex_delivery_release(item);
}

static const struct vex_rows delivery_rows = { sizeof(struct vex_delivery), vex_delivery_row_read, delivery_row_free, NULL };

/* The rows of the bound "st" (at most "limit"), each with its attempts, into *ret. */
static int collect_with_attempts(struct vex_sqlite *s, sqlite3_stmt *st, int limit, struct vex_delivery_list *ret)
{
	struct vex_delivery_list l = { NULL, 0 };
	void *items;
	size_t i;
	int rc;

	rc = vex_sqlite_collect(st, &delivery_rows, (size_t)limit, NULL, &items, &l.n);
	if (rc)
		return rc;
	l.items = items;
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = load_attempts(s, &l.items[i]);
	if (rc) {
		vex_delivery_list_release(&l);
		return rc;
	}
	*ret = l;
	return 0;
}

int vex_sqlite_deliveries_list(struct vex_sqlite *s, const char *hook_id, const char *before_id, int limit,
			       struct vex_delivery_list *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!hook_id || limit < 1 || limit > LIST_MAX)
		return VEX_EINVAL;
	if (before_id)
		rc = vex_sqlite_stmt(s,
				     "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = ?1 AND d.id < ?2"
				     " ORDER BY d.id DESC LIMIT ?3",
				     &st);
	else
		rc = vex_sqlite_stmt(s,
				     "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = ?1"
				     " ORDER BY d.id DESC LIMIT ?3",
				     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hook_id);
	if (before_id)
		vex_bind_text(st, 2, before_id);
	sqlite3_bind_int(st, 3, limit);
	return collect_with_attempts(s, st, limit, ret);
}

int vex_sqlite_job_deliveries(struct vex_sqlite *s, const char *job_id, int limit, struct vex_delivery_list *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!job_id || limit < 1 || limit > LIST_MAX)
		return VEX_EINVAL;
	/* The webhook_deliveries_job index (migration 9): a job's few rows, sorted after the seek. */
	rc = vex_sqlite_stmt(s, "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.job_id = ?1 ORDER BY d.id LIMIT ?2",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, job_id);
	sqlite3_bind_int(st, 2, limit);
	return collect_with_attempts(s, st, limit, ret);
}

int vex_sqlite_delivery_get(struct vex_sqlite *s, const char *id, struct vex_delivery *ret)
{
	struct vex_delivery d;
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	memset(&d, 0, sizeof(d));
	rc = vex_sqlite_stmt(s, "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.id = ?1", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = vex_delivery_row_read(st, &d);
	else
		rc = rc == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	if (rc == 0)
		rc = load_attempts(s, &d);
	if (rc) {
		vex_delivery_release(&d);
		return rc;
	}
	*ret = d;
	return 0;
}

/* ---- fan-out ---- */

int vex_sqlite_event_cursor(struct vex_sqlite *s, const char *name, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, "SELECT seq FROM event_cursors WHERE name = ?1", &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, name);
	return vex_sqlite_step_int64(st, ret);
}

/* One delivery row per hook of "hooks" for event "e". *created grows by the rows made. */
static int insert_deliveries(struct vex_sqlite *s, const struct vex_job_event *e, const char *event,
			     const char *payload, const struct vex_webhook_list *hooks, int64_t now_us, int *created)
{
	char id[VEX_DELIVERY_ID_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < hooks->n; i++) {
		rc = vex_sqlite_stmt(s,
				     "INSERT OR IGNORE INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event,"
				     " payload, status, attempts, next_at, created_at)"
				     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?8)",
				     &st);
		if (rc)
			return rc;
		vex_uuid7_prefixed("msg_", id, sizeof(id));
		vex_bind_text(st, 1, id);
		vex_bind_text(st, 2, hooks->items[i]->id);
		vex_bind_text(st, 3, e->owner);
		vex_bind_text(st, 4, e->job_id);
		sqlite3_bind_int64(st, 5, e->seq);
		vex_bind_text(st, 6, event);
		vex_bind_text(st, 7, payload);
		sqlite3_bind_int64(st, 8, now_us);
		rc = vex_sqlite_exec_stmt(st);
		if (rc)
			return rc;
		*created += sqlite3_changes(s->db);
	}
	return 0;
}

/* Fan one event out; VEX_ENOTFOUND from the payload callback skips it. */
static int fanout_event(struct vex_sqlite *s, const struct vex_job_event *e, vex_hook_payload_fn fn, void *arg,
			int64_t now_us, int *created)
{
	struct vex_webhook_list hooks = { NULL, 0 };
	char *payload = NULL;
	const char *event;
	unsigned bit;
	int rc;

	event = vex_hook_event_of(e->type, &bit);
	if (!event)
		return 0;
	rc = vex_sqlite_webhooks_matching(s, e->owner, bit, &hooks);
	if (rc || hooks.n == 0)
		goto out;
	rc = fn(arg, &s->base, e, event, &payload);
	if (rc == VEX_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc == 0 && !payload)
		rc = VEX_ERROR;
	if (rc)
		goto out;
	rc = insert_deliveries(s, e, event, payload, &hooks, now_us, created);
out:
	free(payload);
	vex_webhook_list_release(&hooks);
	return rc;
}

int vex_sqlite_hooks_fanout(struct vex_sqlite *s, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			    int *ret_events, int *ret_created)
{
	struct vex_job_event_list ev = { NULL, 0 };
	int64_t cursor = 0, last = 0;
	int created = 0, rc;
	sqlite3_stmt *st;
	size_t i;

	if (!fn || limit < 1 || limit > FANOUT_MAX)
		return VEX_EINVAL;
	/* Without a lock first: most ticks find nothing new. */
	rc = vex_sqlite_event_cursor(s, "webhooks", &cursor);
	if (rc == 0)
		rc = vex_sqlite_job_events_last_seq(s, &last);
	if (rc)
		return rc;
	if (last <= cursor) {
		if (ret_events)
			*ret_events = 0;
		if (ret_created)
			*ret_created = 0;
		return 0;
	}
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_event_cursor(s, "webhooks", &cursor); /* another runner may have moved it meanwhile */
	if (rc == 0)
		rc = vex_sqlite_job_events_since(s, cursor, limit, &ev);
	for (i = 0; rc == 0 && i < ev.n; i++)
		rc = fanout_event(s, &ev.items[i], fn, arg, now_us, &created);
	if (rc == 0 && ev.n > 0) {
		rc = vex_sqlite_stmt(s, "UPDATE event_cursors SET seq = ?1 WHERE name = 'webhooks' AND seq < ?1", &st);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, ev.items[ev.n - 1].seq);
			rc = vex_sqlite_exec_stmt(st);
		}
	}
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	if (rc == 0 && ret_events)
		*ret_events = (int)ev.n;
	if (rc == 0 && ret_created)
		*ret_created = created;
	vex_job_event_list_release(&ev);
	return rc;
}
