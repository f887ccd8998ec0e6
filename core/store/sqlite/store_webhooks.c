/* store_webhooks.c - webhooks in SQLite: insert, get, update, soft delete (canceling deliveries), list, fan-out. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "core/base/err.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/store_backend.h"

#define HOOK_COLS                                                                                        \
	"id, owner, url, events, description, secret, status, disabled_reason, failing_since, last_error," \
	" created_at, updated_at"

void vex_webhook_free(struct vex_webhook *h)
{
	if (!h)
		return;
	free(h->url);
	free(h->description);
	free(h->secret);
	free(h->disabled_reason);
	free(h->last_error);
	free(h);
}

void vex_webhook_list_release(struct vex_webhook_list *l)
{
	VEX_STORE_LIST_RELEASE(l, vex_webhook_free);
}

/* Build a hook from the current row (columns in HOOK_COLS order). */
static int hook_from_row(sqlite3_stmt *st, struct vex_webhook **ret)
{
	struct vex_webhook *h;
	int fail = 0;

	h = calloc(1, sizeof(*h));
	if (!h)
		return VEX_ENOMEM;
	vex_col_copy(st, 0, h->id, sizeof(h->id));
	vex_col_copy(st, 1, h->owner, sizeof(h->owner));
	h->url = vex_col_strdup(st, 2, &fail);
	h->events = (unsigned)sqlite3_column_int64(st, 3) & VEX_HOOK_EV_ALL;
	h->description = vex_col_strdup(st, 4, &fail);
	h->secret = vex_col_strdup(st, 5, &fail);
	h->status = vex_hook_status_parse((const char *)sqlite3_column_text(st, 6));
	h->disabled_reason = vex_col_strdup(st, 7, &fail);
	h->failing_since = sqlite3_column_int64(st, 8);
	h->last_error = vex_col_strdup(st, 9, &fail);
	h->created_at = sqlite3_column_int64(st, 10);
	h->updated_at = sqlite3_column_int64(st, 11);
	if (fail || !h->url || !h->secret) {
		vex_webhook_free(h);
		return VEX_ENOMEM;
	}
	*ret = h;
	return 0;
}

/* How a row becomes an item (defined beside the listing); single-row reads use it too. */
static const struct vex_rows hook_rows;

/* Bind the mutable fields at ?3..?10 (shared by insert and update). SQLITE_OK, or not when a
 * copy could not be made (the value would silently be NULL: callers give up instead). */
static int bind_mutable(sqlite3_stmt *st, const struct vex_webhook *h)
{
	return vex_bind_text(st, 3, h->url) | sqlite3_bind_int64(st, 4, (int64_t)(h->events & VEX_HOOK_EV_ALL)) |
	       vex_bind_text(st, 5, h->description) | vex_bind_text(st, 6, vex_hook_status_name(h->status)) |
	       vex_bind_text(st, 7, h->disabled_reason) | vex_bind_time(st, 8, h->failing_since) |
	       vex_bind_text(st, 9, h->last_error) | sqlite3_bind_int64(st, 10, h->updated_at);
}

/* Hand back "st" when a bind failed ("bound" is not SQLITE_OK): VEX_ENOMEM; else 0. */
static int bind_check(sqlite3_stmt *st, int bound)
{
	if (bound == SQLITE_OK)
		return 0;
	vex_sqlite_done(st);
	return VEX_ENOMEM;
}

/* The fields every stored live hook has. */
static int hook_valid(const struct vex_webhook *h)
{
	return h && h->id[0] && h->owner[0] && h->url && *h->url && h->events != 0 &&
	       (h->events & ~VEX_HOOK_EV_ALL) == 0 && h->status != VEX_HOOK_DELETED;
}

int vex_sqlite_webhook_insert(struct vex_sqlite *s, const struct vex_webhook *h, const struct vex_caps *caps)
{
	sqlite3_stmt *st;
	int rc, bound;

	if (!hook_valid(h) || !h->secret || !*h->secret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "INSERT INTO webhooks(id, owner, url, events, description, status, disabled_reason,"
			     " failing_since, last_error, updated_at, secret, created_at)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
			     &st);
	if (rc)
		return rc;
	bound = vex_bind_text(st, 1, h->id) | vex_bind_text(st, 2, h->owner) | bind_mutable(st, h) |
		vex_bind_text(st, 11, h->secret) | sqlite3_bind_int64(st, 12, h->created_at);
	/* A fresh hook's updated_at defaults to its creation time. */
	if (h->updated_at == 0)
		bound |= sqlite3_bind_int64(st, 10, h->created_at);
	rc = bind_check(st, bound);
	if (rc)
		return rc;
	return vex_sqlite_write_capped(s, st, h->owner, h->id, caps, 1u << VEX_CAP_WEBHOOKS, NULL, NULL);
}

int vex_sqlite_webhook_get(struct vex_sqlite *s, const char *id, const char *owner, struct vex_webhook **ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)"
			     " AND status <> 'deleted'",
			     &st);
	if (rc)
		return rc;
	rc = bind_check(st, vex_bind_text(st, 1, id) | vex_bind_text(st, 2, owner));
	if (rc)
		return rc;
	return vex_sqlite_one(st, &hook_rows, ret);
}

/* The status fields are written only when "set_status": the runner may disable a hook or record a
 * failure between a client's read and this write, and a change of url or description must not undo it. */
int vex_sqlite_webhook_update(struct vex_sqlite *s, const struct vex_webhook *h, int set_status)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if (!hook_valid(h))
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhooks SET url = ?3, events = ?4, description = ?5,"
			     " status = CASE WHEN ?11 THEN ?6 ELSE status END,"
			     " disabled_reason = CASE WHEN ?11 THEN ?7 ELSE disabled_reason END,"
			     " failing_since = CASE WHEN ?11 THEN ?8 ELSE failing_since END,"
			     " last_error = CASE WHEN ?11 THEN ?9 ELSE last_error END, updated_at = ?10"
			     " WHERE id = ?1 AND owner = ?2 AND status <> 'deleted'",
			     &st);
	if (rc)
		return rc;
	rc = bind_check(st, vex_bind_text(st, 1, h->id) | vex_bind_text(st, 2, h->owner) | bind_mutable(st, h) |
				    sqlite3_bind_int(st, 11, set_status != 0));
	if (rc)
		return rc;
	rc = vex_sqlite_write(s, st, &changes);
	if (rc == 0 && changes == 0)
		rc = VEX_ENOTFOUND;
	return rc;
}

/*
 * The hook and its pending deliveries go together, in one transaction: a delivery the runner
 * already holds finishes its attempt, but its record then finds the row no longer pending.
 */
int vex_sqlite_webhook_delete(struct vex_sqlite *s, const char *id, const char *owner, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!id)
		return VEX_EINVAL;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhooks SET status = 'deleted', updated_at = ?3"
			     " WHERE id = ?1 AND (?2 IS NULL OR owner = ?2) AND status <> 'deleted'",
			     &st);
	if (rc)
		goto out;
	rc = bind_check(st, vex_bind_text(st, 1, id) | vex_bind_text(st, 2, owner) |
				    sqlite3_bind_int64(st, 3, now_us));
	if (rc)
		goto out;
	rc = vex_sqlite_exec_stmt(st);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		rc = VEX_ENOTFOUND;
	if (rc)
		goto out;
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhook_deliveries SET status = 'canceled', finished_at = ?2,"
			     " last_error = 'webhook deleted'"
			     " WHERE hook_id = ?1 AND status = 'pending'",
			     &st);
	if (rc)
		goto out;
	rc = bind_check(st, vex_bind_text(st, 1, id) | sqlite3_bind_int64(st, 2, now_us));
	if (rc)
		goto out;
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		goto out;
	return vex_sqlite_commit(s); /* rolls back itself when it fails */
out:
	vex_sqlite_rollback(s);
	return rc;
}

static int hook_row(sqlite3_stmt *st, void *item)
{
	return hook_from_row(st, item);
}

static void hook_row_free(void *item)
{
	vex_webhook_free(*(struct vex_webhook **)item);
}

static const struct vex_rows hook_rows = { sizeof(struct vex_webhook *), hook_row, hook_row_free, NULL };

/* Collect the rows of "st" (bound by the caller), at most "cap" (0: as many as come), then done. */
static int collect(sqlite3_stmt *st, size_t cap, struct vex_webhook_list *ret)
{
	void *items;
	size_t n;
	int rc = vex_sqlite_collect(st, &hook_rows, cap, NULL, &items, &n);

	if (rc == 0)
		*ret = (struct vex_webhook_list){ items, n };
	return rc;
}

/* One SQL text per shape, so that each uses its index: webhooks(owner, id) or the primary key. */
static const char *const list_sql[4] = {
	"SELECT " HOOK_COLS " FROM webhooks WHERE status <> 'deleted' ORDER BY id DESC LIMIT ?3",
	"SELECT " HOOK_COLS " FROM webhooks WHERE owner = ?1 AND status <> 'deleted' ORDER BY id DESC LIMIT ?3",
	"SELECT " HOOK_COLS " FROM webhooks WHERE id < ?2 AND status <> 'deleted' ORDER BY id DESC LIMIT ?3",
	"SELECT " HOOK_COLS " FROM webhooks WHERE owner = ?1 AND id < ?2 AND status <> 'deleted'"
	" ORDER BY id DESC LIMIT ?3",
};

int vex_sqlite_webhooks_list(struct vex_sqlite *s, const char *owner, const char *before_id, int limit,
			     struct vex_webhook_list *ret)
{
	void *items;
	size_t n;
	int rc;

	if (!ret)
		return VEX_EINVAL;
	rc = vex_sqlite_page(s, list_sql, owner, before_id, limit, &hook_rows, &items, &n);
	if (rc == 0)
		*ret = (struct vex_webhook_list){ items, n };
	return rc;
}

int vex_sqlite_webhooks_matching(struct vex_sqlite *s, const char *owner, unsigned event_bits,
				 struct vex_webhook_list *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (!owner || !ret)
		return VEX_EINVAL;
	rc = vex_sqlite_stmt(s,
			     "SELECT " HOOK_COLS " FROM webhooks WHERE owner = ?1 AND status = 'active'"
			     " AND (events & ?2) <> 0 ORDER BY id",
			     &st);
	if (rc)
		return rc;
	rc = bind_check(st, vex_bind_text(st, 1, owner) |
				    sqlite3_bind_int64(st, 2, (int64_t)(event_bits & VEX_HOOK_EV_ALL)));
	if (rc)
		return rc;
	return collect(st, 0, ret);
}

void vex_hook_secret_ad(const char *id, char out[VEX_HOOK_SECRET_AD_MAX + 1])
{
	snprintf(out, VEX_HOOK_SECRET_AD_MAX + 1, "webhooks.secret:%s", id);
}

int vex_sqlite_webhook_secrets_seal(struct vex_sqlite *s, const struct vex_sealring *r, int *ret_sealed,
				    int *ret_failed)
{
	sqlite3_stmt *sel = NULL, *upd;
	char id[VEX_HOOK_ID_LEN + 1];
	char *next = NULL;
	int rc, step, sealed = 0, failed = 0;

	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	rc = vex_sqlite_stmt(s, "SELECT id, secret FROM webhooks WHERE secret IS NOT NULL AND secret != ''", &sel);
	if (rc)
		goto out;
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		vex_col_copy(sel, 0, id, sizeof(id));
		if (vex_hook_secret_reseal(r, id, (const char *)sqlite3_column_text(sel, 1), &next) != 0) {
			failed++;
			continue;
		}
		if (!next)
			continue;
		rc = vex_sqlite_stmt(s, "UPDATE webhooks SET secret = ?2 WHERE id = ?1", &upd);
		if (rc)
			goto out;
		if (vex_bind_text(upd, 1, id) != SQLITE_OK || vex_bind_text(upd, 2, next) != SQLITE_OK) {
			vex_sqlite_done(upd);
			rc = VEX_ENOMEM;
			goto out;
		}
		rc = vex_sqlite_exec_stmt(upd);
		free(next);
		next = NULL;
		if (rc)
			goto out;
		sealed++;
	}
	if (step != SQLITE_DONE) {
		rc = vex_sqlite_errcode(step);
		goto out;
	}
	vex_sqlite_done(sel);
	sel = NULL;
	rc = vex_sqlite_commit(s);
	if (rc == 0) {
		if (ret_sealed)
			*ret_sealed = sealed;
		if (ret_failed)
			*ret_failed = failed;
	}
	return rc;
out:
	free(next);
	vex_sqlite_done(sel);
	vex_sqlite_rollback(s);
	return rc;
}
