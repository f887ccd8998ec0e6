/* store_webhooks.c - webhooks on PostgreSQL: insert, get, update, soft delete (canceling deliveries), list,
 * fan-out, re-sealing the secrets, as core/store/sqlite/store_webhooks.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

#define HOOK_COLS                                                                                        \
	"id, owner, url, events, description, secret, status, disabled_reason, failing_since, last_error," \
	" created_at, updated_at"

/* Fill "item" (a struct vex_webhook *) from row "row" (columns in HOOK_COLS order). */
static int hook_row(const PGresult *r, int row, void *item)
{
	struct vex_webhook *h = calloc(1, sizeof(*h));
	int fail = 0;

	if (!h)
		return VEX_ENOMEM;
	vex_pg_copy(r, row, 0, h->id, sizeof(h->id));
	vex_pg_copy(r, row, 1, h->owner, sizeof(h->owner));
	h->url = vex_pg_strdup(r, row, 2, &fail);
	h->events = (unsigned)vex_pg_get_i64(r, row, 3) & VEX_HOOK_EV_ALL;
	h->description = vex_pg_strdup(r, row, 4, &fail);
	h->secret = vex_pg_strdup(r, row, 5, &fail);
	h->status = vex_hook_status_parse(PQgetvalue(r, row, 6));
	h->disabled_reason = vex_pg_strdup(r, row, 7, &fail);
	h->failing_since = vex_pg_get_i64(r, row, 8);
	h->last_error = vex_pg_strdup(r, row, 9, &fail);
	h->created_at = vex_pg_get_i64(r, row, 10);
	h->updated_at = vex_pg_get_i64(r, row, 11);
	if (fail || !h->url || !h->secret) {
		vex_webhook_free(h);
		return VEX_ENOMEM;
	}
	*(struct vex_webhook **)item = h;
	return 0;
}

static void hook_row_free(void *item)
{
	vex_webhook_free(*(struct vex_webhook **)item);
}

static const struct vex_pg_rows hook_rows = { sizeof(struct vex_webhook *), hook_row, hook_row_free };

/* The texts of a hook's parameters: the key ($1 id, $2 owner) and the mutable fields at $3..$10, as SQLite's
 * bind_mutable (failing_since 0 is NULL); "num" holds the numbers' texts. */
struct hook_vals {
	const char *v[12];
	char num[4][24];
};

static void hook_vals(struct hook_vals *hv, const struct vex_webhook *h)
{
	hv->v[0] = h->id;
	hv->v[1] = h->owner;
	hv->v[2] = h->url;
	hv->v[3] = vex_pg_i64(hv->num[0], (int64_t)(h->events & VEX_HOOK_EV_ALL));
	hv->v[4] = h->description;
	hv->v[5] = vex_hook_status_name(h->status);
	hv->v[6] = h->disabled_reason;
	hv->v[7] = h->failing_since ? vex_pg_i64(hv->num[1], h->failing_since) : NULL;
	hv->v[8] = h->last_error;
	hv->v[9] = vex_pg_i64(hv->num[2], h->updated_at);
}

/* The fields every stored live hook has. */
static int hook_valid(const struct vex_webhook *h)
{
	return h && h->id[0] && h->owner[0] && h->url && *h->url && h->events != 0 &&
	       (h->events & ~VEX_HOOK_EV_ALL) == 0 && h->status != VEX_HOOK_DELETED;
}

int vex_pg_webhook_insert(struct vex_pg *p, const struct vex_webhook *h, const struct vex_caps *caps)
{
	struct hook_vals hv;

	if (!hook_valid(h) || !h->secret || !*h->secret)
		return VEX_EINVAL;
	hook_vals(&hv, h);
	hv.v[10] = h->secret;
	hv.v[11] = vex_pg_i64(hv.num[3], h->created_at);
	/* A fresh hook's updated_at defaults to its creation time. */
	if (h->updated_at == 0)
		hv.v[9] = hv.v[11];
	return vex_pg_write_capped(p,
				   "INSERT INTO webhooks(id, owner, url, events, description, status, disabled_reason,"
				   " failing_since, last_error, updated_at, secret, created_at)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
				   12, hv.v, h->owner, h->id, caps, 1u << VEX_CAP_WEBHOOKS, NULL, NULL);
}

int vex_pg_webhook_get(struct vex_pg *p, const char *id, const char *owner, struct vex_webhook **ret)
{
	const char *v[2] = { id, owner };
	PGresult *r = NULL;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_pg_exec(p,
			 "SELECT " HOOK_COLS " FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR owner = $2)"
			 " AND status <> 'deleted'",
			 2, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) > 0)
		rc = hook_row(r, 0, ret);
	else
		rc = VEX_ENOTFOUND;
	PQclear(r);
	return rc;
}

/* The status fields are written only when "set_status", as SQLite's: a change of url or description must not
 * undo what the runner wrote since the client's read. */
int vex_pg_webhook_update(struct vex_pg *p, const struct vex_webhook *h, int set_status)
{
	struct hook_vals hv;
	int64_t changes = 0;
	int rc;

	if (!hook_valid(h))
		return VEX_EINVAL;
	hook_vals(&hv, h);
	hv.v[10] = set_status ? "t" : "f";
	rc = vex_pg_changes(p,
			    "UPDATE webhooks SET url = $3, events = $4, description = $5,"
			    " status = CASE WHEN $11::boolean THEN $6::text ELSE status END,"
			    " disabled_reason = CASE WHEN $11 THEN $7::text ELSE disabled_reason END,"
			    " failing_since = CASE WHEN $11 THEN $8::bigint ELSE failing_since END,"
			    " last_error = CASE WHEN $11 THEN $9::text ELSE last_error END, updated_at = $10"
			    " WHERE id = $1 AND owner = $2 AND status <> 'deleted'",
			    11, hv.v, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

/*
 * The hook and its pending deliveries go together, in one transaction under the deliveries lock (as SQLite's
 * BEGIN IMMEDIATE): a delivery the runner already holds finishes its attempt, but its record then finds the row
 * no longer pending.
 */
int vex_pg_webhook_delete(struct vex_pg *p, const char *id, const char *owner, int64_t now_us)
{
	char now[24];
	const char *v[3] = { id, owner, vex_pg_i64(now, now_us) };
	int64_t changes = 0;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_pg_begin_deliveries(p);
	if (rc)
		return rc;
	rc = vex_pg_changes(p,
			    "UPDATE webhooks SET status = 'deleted', updated_at = $3"
			    " WHERE id = $1 AND ($2::text IS NULL OR owner = $2) AND status <> 'deleted'",
			    3, v, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	if (rc == 0) {
		v[1] = v[2];
		rc = vex_pg_exec(p,
				 "UPDATE webhook_deliveries SET status = 'canceled', finished_at = $2,"
				 " last_error = 'webhook deleted' WHERE hook_id = $1 AND status = 'pending'",
				 2, v, NULL);
	}
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	return rc;
}

/* One SQL text per shape (vex_pg_page), so that each uses its index: webhooks(owner, id) or the primary key. */
static const char *const list_sql[4] = {
	"SELECT " HOOK_COLS " FROM webhooks WHERE status <> 'deleted' ORDER BY id DESC LIMIT $1",
	"SELECT " HOOK_COLS " FROM webhooks WHERE owner = $1 AND status <> 'deleted' ORDER BY id DESC LIMIT $2",
	"SELECT " HOOK_COLS " FROM webhooks WHERE id < $1 AND status <> 'deleted' ORDER BY id DESC LIMIT $2",
	"SELECT " HOOK_COLS " FROM webhooks WHERE owner = $1 AND id < $2 AND status <> 'deleted'"
	" ORDER BY id DESC LIMIT $3",
};

int vex_pg_webhooks_list(struct vex_pg *p, const char *owner, const char *before_id, int limit,
			 struct vex_webhook_list *ret)
{
	void *items;
	size_t n;
	int rc;

	if (!ret)
		return VEX_EINVAL;
	rc = vex_pg_page(p, list_sql, owner, before_id, limit, &hook_rows, &items, &n);
	if (rc == 0)
		*ret = (struct vex_webhook_list){ items, n };
	return rc;
}

int vex_pg_webhooks_matching(struct vex_pg *p, const char *owner, unsigned event_bits, struct vex_webhook_list *ret)
{
	char bits[24];
	const char *v[2];
	PGresult *r = NULL;
	void *items;
	size_t n;
	int rc;

	if (!owner || !ret)
		return VEX_EINVAL;
	v[0] = owner;
	v[1] = vex_pg_i64(bits, (int64_t)(event_bits & VEX_HOOK_EV_ALL));
	rc = vex_pg_exec(p,
			 "SELECT " HOOK_COLS " FROM webhooks WHERE owner = $1 AND status = 'active'"
			 " AND (events & $2::bigint) <> 0 ORDER BY id",
			 2, v, &r);
	if (rc)
		return rc;
	rc = vex_pg_collect(r, &hook_rows, 0, &items, &n);
	PQclear(r);
	if (rc == 0)
		*ret = (struct vex_webhook_list){ items, n };
	return rc;
}

/*
 * In one transaction, as SQLite's under BEGIN IMMEDIATE: the rows are locked (FOR UPDATE, in id order) so that
 * two processes re-sealing at once take turns, the second finding each secret already current.
 */
int vex_pg_webhook_secrets_seal(struct vex_pg *p, const struct vex_sealring *r, int *ret_sealed, int *ret_failed)
{
	PGresult *sel = NULL;
	const char *v[2];
	char *next = NULL;
	int rc, i, sealed = 0, failed = 0;

	rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);
	if (rc)
		return rc;
	rc = vex_pg_exec(p, "SELECT id, secret FROM webhooks WHERE secret IS NOT NULL AND secret <> ''"
			    " ORDER BY id FOR UPDATE",
			 0, NULL, &sel);
	if (rc)
		goto out;
	for (i = 0; i < PQntuples(sel); i++) {
		if (vex_hook_secret_reseal(r, PQgetvalue(sel, i, 0), PQgetvalue(sel, i, 1), &next) != 0) {
			failed++;
			continue;
		}
		if (!next)
			continue;
		v[0] = PQgetvalue(sel, i, 0);
		v[1] = next;
		rc = vex_pg_exec(p, "UPDATE webhooks SET secret = $2 WHERE id = $1", 2, v, NULL);
		free(next);
		next = NULL;
		if (rc)
			goto out;
		sealed++;
	}
	rc = vex_pg_exec(p, "COMMIT", 0, NULL, NULL);
	if (rc == 0) {
		if (ret_sealed)
			*ret_sealed = sealed;
		if (ret_failed)
			*ret_failed = failed;
	}
out:
	PQclear(sel);
	if (rc)
		vex_pg_rollback(p);
	return rc;
}
