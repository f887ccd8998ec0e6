/* store_deliveries.c - webhook deliveries: fan-out of job events, fair claims, listings (attempts: store_attempts.c). */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/store/sqlite/store_internal.h"
#include "core/base/timeutil.h"

#define LIST_MAX 1000
#define FANOUT_MAX 10000

static const char *const status_names[] = { "pending", "delivered", "failed", "canceled" };

const char *vex_delivery_status_name(enum vex_delivery_status st)
{
	return (unsigned)st < sizeof(status_names) / sizeof(status_names[0]) ? status_names[st] : "unknown";
}

static enum vex_delivery_status status_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(name, status_names[i]) == 0)
			return (enum vex_delivery_status)i;
	return VEX_DLV_PENDING;
}

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

const char *vex_hook_event_of(enum vex_job_event_type t, unsigned *ret_bit)
{
	unsigned bit = 0;
	const char *name = NULL;

	switch (t) {
	case VEX_EV_QUEUED:
	case VEX_EV_REQUEUED:
		bit = VEX_HOOK_EV_QUEUED, name = "job.queued";
		break;
	case VEX_EV_STARTED:
		bit = VEX_HOOK_EV_STARTED, name = "job.started";
		break;
	case VEX_EV_COMPLETED:
		bit = VEX_HOOK_EV_COMPLETED, name = "job.completed";
		break;
	case VEX_EV_FAILED:
		bit = VEX_HOOK_EV_FAILED, name = "job.failed";
		break;
	case VEX_EV_TIMEOUT:
		bit = VEX_HOOK_EV_TIMEOUT, name = "job.timeout";
		break;
	case VEX_EV_CANCELED:
		bit = VEX_HOOK_EV_CANCELED, name = "job.canceled";
		break;
	default: /* progress, cancel_requested */
		break;
	}
	if (ret_bit)
		*ret_bit = bit;
	return name;
}

/* ---- rows ---- */

#define DLV_COLS                                                                                             \
	"d.id, d.hook_id, d.owner, d.job_id, d.event_seq, d.event, d.payload, d.status, d.attempts, d.next_at," \
	" d.last_status_code, d.last_error, d.created_at, d.finished_at"
#define DLV_NCOLS 14

/* Columns 0..13 of a DLV_COLS row into the struct vex_delivery "item" (zeroed by the caller; the
 * row collector's reader). 0 or VEX_ENOMEM. */
static int read_delivery(sqlite3_stmt *st, void *item)
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
	d->status = status_parse((const char *)sqlite3_column_text(st, 7));
	d->attempts = sqlite3_column_int(st, 8);
	d->next_at = sqlite3_column_int64(st, 9);
	d->last_status_code = sqlite3_column_int(st, 10);
	d->last_error = vex_col_strdup(st, 11, &fail);
	d->created_at = sqlite3_column_int64(st, 12);
	d->finished_at = sqlite3_column_int64(st, 13);
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
static int load_attempts(struct vex_store *s, struct vex_delivery *d)
{
	void *log;
	size_t n;
	sqlite3_stmt *st;
	int rc;

	rc = vex_store_stmt(s,
			    "SELECT n, at, status_code, error, duration_us, response_body FROM webhook_attempts"
			    " WHERE delivery_id = ?1 ORDER BY n",
			    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, d->id);
	rc = vex_store_collect(st, &attempt_rows, 0, NULL, &log, &n);
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

static const struct vex_rows delivery_rows = { sizeof(struct vex_delivery), read_delivery, delivery_row_free, NULL };

int vex_store_deliveries_list(struct vex_store *s, const char *hook_id, const char *before_id, int limit,
			      struct vex_delivery_list *ret)
{
	struct vex_delivery_list l = { NULL, 0 };
	void *items;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (!hook_id || limit < 1 || limit > LIST_MAX)
		return VEX_EINVAL;
	if (before_id)
		rc = vex_store_stmt(s,
				    "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = ?1 AND d.id < ?2"
				    " ORDER BY d.id DESC LIMIT ?3",
				    &st);
	else
		rc = vex_store_stmt(s,
				    "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.hook_id = ?1"
				    " ORDER BY d.id DESC LIMIT ?3",
				    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hook_id);
	if (before_id)
		vex_bind_text(st, 2, before_id);
	sqlite3_bind_int(st, 3, limit);
	rc = vex_store_collect(st, &delivery_rows, (size_t)limit, NULL, &items, &l.n);
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

int vex_store_delivery_get(struct vex_store *s, const char *id, struct vex_delivery *ret)
{
	struct vex_delivery d;
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	memset(&d, 0, sizeof(d));
	rc = vex_store_stmt(s, "SELECT " DLV_COLS " FROM webhook_deliveries d WHERE d.id = ?1", &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_delivery(st, &d);
	else
		rc = rc == SQLITE_DONE ? VEX_ENOTFOUND : vex_store_errcode(rc);
	vex_store_done(st);
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

static int cursor_get(struct vex_store *s, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s, "SELECT seq FROM event_cursors WHERE name = 'webhooks'", &st);

	if (rc)
		return rc;
	return vex_store_step_int64(st, ret);
}

/* One delivery row per hook of "hooks" for event "e". *created grows by the rows made. */
static int insert_deliveries(struct vex_store *s, const struct vex_job_event *e, const char *event,
			     const char *payload, const struct vex_webhook_list *hooks, int64_t now_us, int *created)
{
	char id[VEX_DELIVERY_ID_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < hooks->n; i++) {
		rc = vex_store_stmt(s,
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
		rc = vex_store_exec_stmt(st);
		if (rc)
			return rc;
		*created += sqlite3_changes(s->db);
	}
	return 0;
}

/* Fan one event out; VEX_ENOTFOUND from the payload callback skips it. */
static int fanout_event(struct vex_store *s, const struct vex_job_event *e, vex_hook_payload_fn fn, void *arg,
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
	rc = vex_store_webhooks_matching(s, e->owner, bit, &hooks);
	if (rc || hooks.n == 0)
		goto out;
	rc = fn(arg, s, e, event, &payload);
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

int vex_store_hooks_fanout(struct vex_store *s, int limit, vex_hook_payload_fn fn, void *arg, int64_t now_us,
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
	rc = cursor_get(s, &cursor);
	if (rc == 0)
		rc = vex_store_job_events_last_seq(s, &last);
	if (rc)
		return rc;
	if (last <= cursor) {
		if (ret_events)
			*ret_events = 0;
		if (ret_created)
			*ret_created = 0;
		return 0;
	}
	rc = vex_store_begin(s);
	if (rc)
		return rc;
	rc = cursor_get(s, &cursor); /* another runner may have moved it meanwhile */
	if (rc == 0)
		rc = vex_store_job_events_since(s, cursor, limit, &ev);
	for (i = 0; rc == 0 && i < ev.n; i++)
		rc = fanout_event(s, &ev.items[i], fn, arg, now_us, &created);
	if (rc == 0 && ev.n > 0) {
		rc = vex_store_stmt(s, "UPDATE event_cursors SET seq = ?1 WHERE name = 'webhooks' AND seq < ?1", &st);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, ev.items[ev.n - 1].seq);
			rc = vex_store_exec_stmt(st);
		}
	}
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
	if (rc == 0 && ret_events)
		*ret_events = (int)ev.n;
	if (rc == 0 && ret_created)
		*ret_created = created;
	vex_job_event_list_release(&ev);
	return rc;
}

/* ---- claims ---- */

/* Due, unclaimed, and first in line for its (hook, job) pair. ?1 is now. */
#define CLAIMABLE                                                                                            \
	" d.status = 'pending' AND d.next_at <= ?1 AND (d.claimed_until IS NULL OR d.claimed_until < ?1)"     \
	" AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.hook_id = d.hook_id"                     \
	" AND o.job_id = d.job_id AND o.status = 'pending' AND o.event_seq < d.event_seq)"

static int anything_due(struct vex_store *s, int64_t now_us, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s, "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE" CLAIMABLE ")", &st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	return vex_store_step_int64(st, ret);
}

/* One hook with pending deliveries, as a claim sees it. */
struct hook_turn {
	char id[VEX_HOOK_ID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	int active;
	int inflight;       /* its deliveries claimed and not run out, by any runner */
	int owner_inflight; /* the same summed over its owner's hooks */
};

/* One claimable delivery and where it stands in the fair order. */
struct candidate {
	struct vex_delivery_claim c;
	const struct hook_turn *hook;
	int pos;   /* its place in its hook's due order (0 first) */
	int turn;  /* its place in its owner's share (0 first) */
	int active;
};

/*
 * The hooks with pending deliveries, by a skip scan of webhook_deliveries_hook_due (one seek per
 * hook, whatever its backlog), each with its owner, whether it is active and its in-flight count
 * (webhook_deliveries_hook_claim). At most VEX_HOOK_TURNS_MAX hooks per claim.
 */
#define HOOK_TURNS                                                                                   \
	"WITH RECURSIVE h(id) AS ("                                                                  \
	" SELECT (SELECT hook_id FROM webhook_deliveries INDEXED BY webhook_deliveries_hook_due"      \
	" WHERE status = 'pending' ORDER BY hook_id LIMIT 1)"                                        \
	" UNION ALL SELECT (SELECT d.hook_id FROM webhook_deliveries d"                              \
	" INDEXED BY webhook_deliveries_hook_due WHERE d.status = 'pending' AND d.hook_id > h.id"     \
	" ORDER BY d.hook_id LIMIT 1) FROM h WHERE h.id IS NOT NULL LIMIT ?2)"                        \
	" SELECT h.id, w.owner, w.status = 'active', (SELECT COUNT(*) FROM webhook_deliveries c"      \
	" INDEXED BY webhook_deliveries_hook_claim WHERE c.hook_id = h.id AND c.status = 'pending'"   \
	" AND c.claimed_until >= ?1) FROM h JOIN webhooks w ON w.id = h.id WHERE h.id IS NOT NULL"    \
	" ORDER BY w.owner"

static int hook_turns(struct vex_store *s, int64_t now_us, struct hook_turn *hooks, size_t *ret_n)
{
	sqlite3_stmt *st;
	size_t n = 0, i, j;
	int rc, sum;

	rc = vex_store_stmt(s, HOOK_TURNS, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int(st, 2, VEX_HOOK_TURNS_MAX);
	while (n < VEX_HOOK_TURNS_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		vex_col_copy(st, 0, hooks[n].id, sizeof(hooks[n].id));
		vex_col_copy(st, 1, hooks[n].owner, sizeof(hooks[n].owner));
		hooks[n].active = sqlite3_column_int(st, 2);
		hooks[n].inflight = sqlite3_column_int(st, 3);
		n++;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : vex_store_errcode(rc);
	vex_store_done(st);
	/* rows come grouped by owner: sum each group */
	for (i = 0; rc == 0 && i < n; i = j) {
		for (sum = 0, j = i; j < n && strcmp(hooks[j].owner, hooks[i].owner) == 0; j++)
			sum += hooks[j].inflight;
		while (i < j)
			hooks[i++].owner_inflight = sum;
	}
	if (rc == 0)
		*ret_n = n;
	return rc;
}

/* Up to "max" claimable deliveries of "hook", oldest due first, appended to cands[*n]. */
static int hook_candidates(struct vex_store *s, int64_t now_us, const struct hook_turn *hook, int max,
			   struct candidate *cands, size_t *n)
{
	sqlite3_stmt *st;
	int rc, fail = 0, pos = 0;

	rc = vex_store_stmt(s,
			    "SELECT " DLV_COLS ", h.url, h.secret FROM webhook_deliveries d"
			    " INDEXED BY webhook_deliveries_hook_due JOIN webhooks h ON h.id = d.hook_id"
			    " WHERE d.hook_id = ?3 AND" CLAIMABLE " ORDER BY d.next_at, d.id LIMIT ?2",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int(st, 2, max);
	vex_bind_text(st, 3, hook->id);
	while (pos < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct candidate *k = &cands[(*n)++];

		memset(k, 0, sizeof(*k));
		k->hook = hook;
		k->pos = pos++;
		k->active = hook->active;
		if (read_delivery(st, &k->c.d) < 0)
			fail = 1;
		k->c.url = vex_col_strdup(st, DLV_NCOLS, &fail);
		k->c.secret = vex_col_strdup(st, DLV_NCOLS + 1, &fail);
		if (fail)
			break;
	}
	rc = fail ? VEX_ENOMEM : rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : vex_store_errcode(rc);
	vex_store_done(st);
	return rc;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Within an owner: the hooks take turns (place in each hook's order), then the oldest due. */
static int by_owner_share(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;
	int c = strcmp(a->hook->owner, b->hook->owner);

	if (c == 0)
		c = a->pos - b->pos;
	if (c == 0)
		c = cmp_i64(a->c.d.next_at, b->c.d.next_at);
	return c ? c : strcmp(a->c.d.id, b->c.d.id);
}

/* Across owners: each owner's first share before anyone's second, the owner with least in flight
 * first, then the oldest due. */
static int by_fair_turn(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;
	int c = a->turn - b->turn;

	if (c == 0)
		c = a->hook->owner_inflight - b->hook->owner_inflight;
	if (c == 0)
		c = cmp_i64(a->c.d.next_at, b->c.d.next_at);
	return c ? c : strcmp(a->c.d.id, b->c.d.id);
}

/*
 * The claimable deliveries in fair order: at most "max" in all and, per active hook, no more
 * than "per_hook" in flight. A disabled hook's due deliveries come too (marked inactive) to be
 * canceled. Caller frees cands[0..*ret_n) with candidate_release.
 */
static int fair_select(struct vex_store *s, int64_t now_us, int max, int per_hook, struct hook_turn *hooks,
		       struct candidate **ret, size_t *ret_n)
{
	struct candidate *cands = NULL;
	size_t nhooks = 0, n = 0, cap = 0, i;
	int rc, room, turn;

	rc = hook_turns(s, now_us, hooks, &nhooks);
	if (rc)
		return rc;
	for (i = 0; i < nhooks; i++) {
		room = hooks[i].active ? per_hook - hooks[i].inflight : max;
		cap += room > max ? (size_t)max : room > 0 ? (size_t)room : 0;
	}
	cands = calloc(cap ? cap : 1, sizeof(*cands));
	if (!cands)
		return VEX_ENOMEM;
	for (i = 0; rc == 0 && i < nhooks; i++) {
		room = hooks[i].active ? per_hook - hooks[i].inflight : max;
		if (room > max)
			room = max;
		if (room > 0)
			rc = hook_candidates(s, now_us, &hooks[i], room, cands, &n);
	}
	if (rc == 0 && n > 1) {
		qsort(cands, n, sizeof(*cands), by_owner_share);
		for (i = 0, turn = 0; i < n; i++) {
			turn = i > 0 && strcmp(cands[i].hook->owner, cands[i - 1].hook->owner) == 0 ? turn + 1 : 0;
			cands[i].turn = turn;
		}
		qsort(cands, n, sizeof(*cands), by_fair_turn);
	}
	*ret = cands;
	*ret_n = n;
	return rc;
}

static void candidates_free(struct candidate *cands, size_t n)
{
	for (size_t i = 0; cands && i < n; i++) {
		vex_delivery_release(&cands[i].c.d);
		free(cands[i].c.url);
		free(cands[i].c.secret);
	}
	free(cands);
}

static int claim_one(struct vex_store *s, const char *id, const char *runner_id, int64_t until)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s, "UPDATE webhook_deliveries SET claimed_by = ?2, claimed_until = ?3 WHERE id = ?1",
				&st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, runner_id);
	sqlite3_bind_int64(st, 3, until);
	return vex_store_exec_stmt(st);
}

static int cancel_one(struct vex_store *s, const char *id, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc = vex_store_stmt(s,
				"UPDATE webhook_deliveries SET status = 'canceled', finished_at = ?2, claimed_by = NULL,"
				" claimed_until = NULL, last_error = COALESCE(last_error, 'webhook disabled')"
				" WHERE id = ?1 AND status = 'pending'",
				&st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	return vex_store_exec_stmt(st);
}

int vex_store_deliveries_claim(struct vex_store *s, const char *runner_id, int64_t now_us, int64_t lease_us,
			       int max, int per_hook, struct vex_delivery_claim_list *ret)
{
	struct vex_delivery_claim_list out = { NULL, 0 };
	struct hook_turn *hooks = NULL;
	struct candidate *cands = NULL;
	size_t n = 0, i;
	int64_t due = 0;
	int rc;

	if (!runner_id || !*runner_id || lease_us <= 0 || max < 1 || max > LIST_MAX || per_hook < 1)
		return VEX_EINVAL;
	rc = anything_due(s, now_us, &due);
	if (rc)
		return rc;
	if (!due) {
		*ret = out;
		return 0;
	}
	out.items = calloc((size_t)max, sizeof(*out.items));
	hooks = calloc(VEX_HOOK_TURNS_MAX, sizeof(*hooks));
	if (!out.items || !hooks) {
		rc = VEX_ENOMEM;
		goto out;
	}
	/* Due is not claimable when every hook with due deliveries is at its cap: look without the
	 * write lock first, so that a backed-up hook costs no write transaction per tick. */
	rc = fair_select(s, now_us, max, per_hook, hooks, &cands, &n);
	candidates_free(cands, n);
	cands = NULL;
	if (rc || n == 0) {
		n = 0;
		goto out;
	}
	n = 0;
	rc = vex_store_begin(s);
	if (rc)
		goto out;
	rc = fair_select(s, now_us, max, per_hook, hooks, &cands, &n);
	/* the first "max" of the fair order are claimed; every disabled hook's are canceled */
	for (i = 0; rc == 0 && i < n; i++) {
		if (!cands[i].active)
			rc = cancel_one(s, cands[i].c.d.id, now_us);
		else if (out.n < (size_t)max)
			rc = claim_one(s, cands[i].c.d.id, runner_id, now_us + lease_us);
		else
			continue;
		if (rc == 0 && cands[i].active) {
			out.items[out.n++] = cands[i].c;
			memset(&cands[i].c, 0, sizeof(cands[i].c));
		}
	}
	if (rc == 0)
		rc = vex_store_commit(s);
	else
		vex_store_rollback(s);
out:
	if (rc == 0) {
		*ret = out;
		out.items = NULL;
		out.n = 0;
	}
	candidates_free(cands, n);
	vex_delivery_claim_list_release(&out);
	free(hooks);
	return rc;
}

int vex_store_deliveries_unclaim(struct vex_store *s, const char *runner_id, int *ret_n)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	if (!runner_id)
		return VEX_EINVAL;
	/* A claimed delivery was due when claimed, so the partial index on next_at finds it. */
	rc = vex_store_stmt(s,
			    "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL"
			    " WHERE status = 'pending' AND next_at <= ?2 AND claimed_by = ?1",
			    &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, runner_id);
	sqlite3_bind_int64(st, 2, INT64_MAX);
	rc = vex_store_write(s, st, &n);
	if (rc == 0 && ret_n)
		*ret_n = n;
	return rc;
}
