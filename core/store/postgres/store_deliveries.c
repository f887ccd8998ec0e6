/* store_deliveries.c - webhook deliveries on PostgreSQL: listings, the fan-out of job events and re-sends, as
 * core/store/sqlite/store_deliveries.c and the re-send of core/store/sqlite/store_operator.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

#define LIST_MAX 1000
#define FANOUT_MAX 10000

int vex_pg_delivery_read(const PGresult *r, int row, void *item)
{
	struct vex_delivery *d = item;
	int fail = 0;

	vex_pg_copy(r, row, 0, d->id, sizeof(d->id));
	vex_pg_copy(r, row, 1, d->hook_id, sizeof(d->hook_id));
	vex_pg_copy(r, row, 2, d->owner, sizeof(d->owner));
	vex_pg_copy(r, row, 3, d->job_id, sizeof(d->job_id));
	d->event_seq = vex_pg_get_i64(r, row, 4);
	vex_pg_copy(r, row, 5, d->event, sizeof(d->event));
	d->payload = vex_pg_strdup(r, row, 6, &fail);
	d->status = vex_delivery_status_parse(PQgetvalue(r, row, 7));
	d->attempts = (int)vex_pg_get_i64(r, row, 8);
	d->next_at = vex_pg_get_i64(r, row, 9);
	d->last_status_code = (int)vex_pg_get_i64(r, row, 10);
	d->last_error = vex_pg_strdup(r, row, 11, &fail);
	d->created_at = vex_pg_get_i64(r, row, 12);
	d->finished_at = vex_pg_get_i64(r, row, 13);
	vex_pg_copy(r, row, 14, d->resend_of, sizeof(d->resend_of));
	return fail ? VEX_ENOMEM : 0;
}

static int attempt_read(const PGresult *r, int row, void *item)
{
	struct vex_delivery_attempt *a = item;
	int fail = 0;

	a->n = (int)vex_pg_get_i64(r, row, 0);
	a->at = vex_pg_get_i64(r, row, 1);
	a->status_code = (int)vex_pg_get_i64(r, row, 2);
	a->error = vex_pg_strdup(r, row, 3, &fail);
	a->duration_us = vex_pg_get_i64(r, row, 4);
	a->response_body = vex_pg_strdup(r, row, 5, &fail);
	return fail ? VEX_ENOMEM : 0;
}

static void attempt_release(void *item)
{
	struct vex_delivery_attempt *a = item;

	free(a->error);
	free(a->response_body);
}

static const struct vex_pg_rows attempt_rows = { sizeof(struct vex_delivery_attempt), attempt_read, attempt_release };

static void delivery_release(void *item)
{
	vex_delivery_release(item);
}

static const struct vex_pg_rows delivery_rows = { sizeof(struct vex_delivery), vex_pg_delivery_read,
						  delivery_release };

/* The attempts of "d", oldest first, into d->log. */
static int load_attempts(struct vex_pg *p, struct vex_delivery *d)
{
	const char *v[1] = { d->id };
	PGresult *r = NULL;
	void *log;
	size_t n;
	int rc;

	rc = vex_pg_exec(p,
			 "SELECT n, at, status_code, error, duration_us, response_body FROM webhook_attempts"
			 " WHERE delivery_id = $1 ORDER BY n",
			 1, v, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &attempt_rows, 0, &log, &n);
	PQclear(r);
	if (rc == 0) {
		d->log = log;
		d->nlog = n;
	}
	return rc;
}

/* The rows of "sql" with "vals" (at most "limit"), each with its attempts, into *ret. */
static int collect_with_attempts(struct vex_pg *p, const char *sql, int n, const char *const *vals, int limit,
				 struct vex_delivery_list *ret)
{
	struct vex_delivery_list l = { NULL, 0 };
	PGresult *r = NULL;
	void *items;
	size_t i;
	int rc;

	rc = vex_pg_exec(p, sql, n, vals, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &delivery_rows, (size_t)limit, &items, &l.n);
	PQclear(r);
	if (rc)
		return rc;
	l.items = items;
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = load_attempts(p, &l.items[i]);
	if (rc) {
		vex_delivery_list_release(&l);
		return rc;
	}
	*ret = l;
	return 0;
}

int vex_pg_deliveries_list(struct vex_pg *p, const char *hook_id, const char *before_id, int limit,
			   struct vex_delivery_list *ret)
{
	const char *v[3];
	char lim[24];

	if (!hook_id || limit < 1 || limit > LIST_MAX)
		return VEX_EINVAL;
	v[0] = hook_id;
	if (before_id) {
		v[1] = before_id;
		v[2] = vex_pg_i64(lim, limit);
		return collect_with_attempts(p,
					     "SELECT " VEX_PG_DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = $1"
					     " AND d.id < $2 ORDER BY d.id DESC LIMIT $3",
					     3, v, limit, ret);
	}
	v[1] = vex_pg_i64(lim, limit);
	return collect_with_attempts(p,
				     "SELECT " VEX_PG_DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = $1"
				     " ORDER BY d.id DESC LIMIT $2",
				     2, v, limit, ret);
}

int vex_pg_job_deliveries(struct vex_pg *p, const char *job_id, int limit, struct vex_delivery_list *ret)
{
	const char *v[2];
	char lim[24];

	if (!job_id || limit < 1 || limit > LIST_MAX)
		return VEX_EINVAL;
	v[0] = job_id;
	v[1] = vex_pg_i64(lim, limit);
	return collect_with_attempts(p,
				     "SELECT " VEX_PG_DLV_COLS " FROM webhook_deliveries d WHERE d.job_id = $1"
				     " ORDER BY d.id LIMIT $2",
				     2, v, limit, ret);
}

int vex_pg_delivery_get(struct vex_pg *p, const char *id, struct vex_delivery *ret)
{
	struct vex_delivery_list l = { NULL, 0 };
	const char *v[1] = { id };
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = collect_with_attempts(p, "SELECT " VEX_PG_DLV_COLS " FROM webhook_deliveries d WHERE d.id = $1", 1, v, 1,
				   &l);
	if (rc)
		return rc;
	if (l.n == 0) {
		vex_delivery_list_release(&l);
		return VEX_ENOTFOUND;
	}
	*ret = l.items[0];
	free(l.items);
	return 0;
}

/* ---- fan-out ---- */

/* A job event's columns, in the order event_read takes them. */
#define EVENT_COLS                                                                                           \
	"seq, job_id, owner, rev, type, status, attempts, started_at, progress_step, progress_total,"        \
	" progress_pct, progress_message, cancel_requested, at"

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
	e->progress.percentage = PQgetisnull(r, row, 10) ? 0 : strtod(PQgetvalue(r, row, 10), NULL);
	e->progress.message = vex_pg_strdup(r, row, 11, &fail);
	e->cancel_requested = (int)vex_pg_get_i64(r, row, 12);
	e->at = vex_pg_get_i64(r, row, 13);
	return fail ? VEX_ENOMEM : 0;
}

static void event_release(void *item)
{
	struct vex_job_event *e = item;

	free(e->progress.current_step);
	free(e->progress.message);
}

static const struct vex_pg_rows event_rows = { sizeof(struct vex_job_event), event_read, event_release };

/* The events after "cursor", seq ascending, at most "limit". */
static int events_after(struct vex_pg *p, int64_t cursor, int limit, struct vex_job_event_list *ret)
{
	char a[24], b[24];
	const char *v[2] = { vex_pg_i64(a, cursor), vex_pg_i64(b, limit) };
	PGresult *r = NULL;
	void *items;
	size_t n;
	int rc;

	rc = vex_pg_exec(p, "SELECT " EVENT_COLS " FROM job_events WHERE seq > $1 ORDER BY seq LIMIT $2", 2, v, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &event_rows, (size_t)limit, &items, &n);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_job_event_list){ items, n };
	return rc;
}

/* The integer in the first column of the one row "sql" yields, as vex_sqlite_step_int64: VEX_ERROR when
 * no row came. With "ret2", the second column too. */
static int one_i64(struct vex_pg *p, const char *sql, int64_t *ret, int64_t *ret2)
{
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, sql, 0, NULL, &r);

	if (rc)
		return rc;
	if (PQntuples(r) > 0) {
		*ret = vex_pg_get_i64(r, 0, 0);
		if (ret2)
			*ret2 = vex_pg_get_i64(r, 0, 1);
	} else {
		rc = VEX_ERROR;
	}
	PQclear(r);
	return rc;
}

/* One delivery row per hook of "hooks" for event "e". *created grows by the rows made. */
static int insert_deliveries(struct vex_pg *p, const struct vex_job_event *e, const char *event, const char *payload,
			     const struct vex_webhook_list *hooks, int64_t now_us, int *created)
{
	char id[VEX_DELIVERY_ID_LEN + 1], seq[24], now[24];
	const char *v[8];
	int64_t changes;
	int rc;

	for (size_t i = 0; i < hooks->n; i++) {
		vex_uuid7_prefixed("msg_", id, sizeof(id));
		v[0] = id;
		v[1] = hooks->items[i]->id;
		v[2] = e->owner;
		v[3] = e->job_id;
		v[4] = vex_pg_i64(seq, e->seq);
		v[5] = event;
		v[6] = payload;
		v[7] = vex_pg_i64(now, now_us);
		changes = 0;
		/* The unique (hook_id, event_seq) index, as SQLite's INSERT OR IGNORE. */
		rc = vex_pg_changes(p,
				    "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event,"
				    " payload, status, attempts, next_at, created_at)"
				    " VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8) ON CONFLICT DO NOTHING",
				    8, v, &changes);
		if (rc)
			return rc;
		*created += (int)changes;
	}
	return 0;
}

/* Fan one event out; VEX_ENOTFOUND from the payload callback skips it. */
static int fanout_event(struct vex_pg *p, const struct vex_job_event *e, vex_hook_payload_fn fn, void *arg,
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
	rc = vex_pg_webhooks_matching(p, e->owner, bit, &hooks);
	if (rc || hooks.n == 0)
		goto out;
	rc = fn(arg, vex_pg_base(p), e, event, &payload);
	if (rc == VEX_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc == 0 && !payload)
		rc = VEX_ERROR;
	if (rc)
		goto out;
	rc = insert_deliveries(p, e, event, payload, &hooks, now_us, created);
out:
	free(payload);
	vex_webhook_list_release(&hooks);
	return rc;
}

/*
 * As SQLite's, where BEGIN IMMEDIATE makes fan-outs take turns: here the cursor row, locked FOR UPDATE in the
 * transaction that writes the deliveries and moves it, does. A second runner waits for the first to commit,
 * then reads the moved cursor (READ COMMITTED re-reads a locked row's latest version) and passes only newer
 * events. The jobs lock keeps events visible in seq order, so none is skipped behind the cursor.
 */
int vex_pg_hooks_fanout(struct vex_pg *p, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
			int *ret_events, int *ret_created)
{
	struct vex_job_event_list ev = { NULL, 0 };
	int64_t cursor = 0, last = 0;
	char seq[24];
	const char *v[1];
	int created = 0, rc;
	size_t i;

	if (!fn || limit < 1 || limit > FANOUT_MAX)
		return VEX_EINVAL;
	/* Without a lock first: most ticks find nothing new. */
	rc = one_i64(p,
		     "SELECT c.seq, (SELECT COALESCE(MAX(seq), 0) FROM job_events) FROM event_cursors c"
		     " WHERE c.name = 'webhooks'",
		     &cursor, &last);
	if (rc)
		return rc;
	if (last <= cursor) {
		if (ret_events)
			*ret_events = 0;
		if (ret_created)
			*ret_created = 0;
		return 0;
	}
	rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);
	if (rc)
		return rc;
	rc = one_i64(p, "SELECT seq FROM event_cursors WHERE name = 'webhooks' FOR UPDATE", &cursor, NULL);
	if (rc == 0)
		rc = events_after(p, cursor, limit, &ev);
	for (i = 0; rc == 0 && i < ev.n; i++)
		rc = fanout_event(p, &ev.items[i], fn, arg, now_us, &created);
	if (rc == 0 && ev.n > 0) {
		v[0] = vex_pg_i64(seq, ev.items[ev.n - 1].seq);
		rc = vex_pg_exec(p, "UPDATE event_cursors SET seq = $1 WHERE name = 'webhooks' AND seq < $1", 1, v,
				 NULL);
	}
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0 && ret_events)
		*ret_events = (int)ev.n;
	if (rc == 0 && ret_created)
		*ret_created = created;
	vex_job_event_list_release(&ev);
	return rc;
}

/* ---- re-sent deliveries ---- */

/* Under the deliveries lock, as SQLite's BEGIN IMMEDIATE: the hook's state read is the one the insert acts on. */
int vex_pg_delivery_resend(struct vex_pg *p, const char *hook_id, const char *id, int64_t now_us,
			   struct vex_delivery *ret)
{
	char new_id[VEX_DELIVERY_ID_LEN + 1], now[24];
	const char *v[3];
	PGresult *r = NULL;
	int rc;

	if (!hook_id || !id)
		return VEX_EINVAL;
	rc = vex_pg_begin_deliveries(p);
	if (rc)
		return rc;
	v[0] = id;
	v[1] = hook_id;
	rc = vex_pg_exec(p,
			 "SELECT h.status = 'active' FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id"
			 " WHERE d.id = $1 AND d.hook_id = $2 AND h.status <> 'deleted'",
			 2, v, &r);
	if (rc)
		goto out;
	if (PQntuples(r) == 0)
		rc = VEX_ENOTFOUND;
	else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		rc = VEX_ESTATE;
	if (rc)
		goto out;
	vex_uuid7_prefixed("msg_", new_id, sizeof(new_id));
	v[0] = new_id;
	v[1] = vex_pg_i64(now, now_us);
	v[2] = id;
	rc = vex_pg_exec(p,
			 "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status,"
			 " attempts, next_at, created_at, resend_of)"
			 " SELECT $1, hook_id, owner, job_id, event_seq, event, payload, 'pending', 0, $2, $2, id"
			 " FROM webhook_deliveries WHERE id = $3",
			 3, v, NULL);
out:
	PQclear(r);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	return rc ? rc : vex_pg_delivery_get(p, new_id, ret);
}
