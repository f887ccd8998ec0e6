/* store_attempts.c - webhook delivery attempts: recording outcomes, retries, hook health. */
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
#define REASON_MAX 1024

/* Disable the active hook "hook_id" with "reason" and cancel its pending deliveries. *ret_done = 1
 * when it was active. */
static int hook_disable(struct vex_sqlite *s, const char *hook_id, const char *reason, int64_t now_us, int *ret_done)
{
	sqlite3_stmt *st;
	int rc;

	rc = vex_sqlite_stmt(s,
			     "UPDATE webhooks SET status = 'disabled', disabled_reason = ?2, updated_at = ?3"
			     " WHERE id = ?1 AND status = 'active'",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hook_id);
	vex_bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, now_us);
	rc = vex_sqlite_exec_stmt(st);
	if (rc)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	*ret_done = 1;
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhook_deliveries SET status = 'canceled', finished_at = ?2, claimed_by = NULL,"
			     " claimed_until = NULL, last_error = COALESCE(last_error, 'webhook disabled')"
			     " WHERE hook_id = ?1 AND status = 'pending'",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hook_id);
	sqlite3_bind_int64(st, 2, now_us);
	return vex_sqlite_exec_stmt(st);
}

/* The hook's health after an attempt (see vex_sqlite_delivery_attempt). */
static int hook_after(struct vex_sqlite *s, const char *hook_id, const struct vex_delivery_attempt *a,
		      const struct vex_delivery_outcome *o, int64_t now_us, int *ret_disabled)
{
	char words[64], reason[REASON_MAX], when[VEX_RFC3339_LEN];
	const char *err = a->error;
	int64_t since = 0;
	sqlite3_stmt *st;
	int rc;

	if (o->status == VEX_DLV_DELIVERED && !o->gone) {
		rc = vex_sqlite_stmt(s,
				     "UPDATE webhooks SET failing_since = NULL, last_error = NULL WHERE id = ?1"
				     " AND status = 'active' AND (failing_since IS NOT NULL OR last_error IS NOT NULL)",
				     &st);
		if (rc)
			return rc;
		vex_bind_text(st, 1, hook_id);
		return vex_sqlite_exec_stmt(st);
	}
	if (!err) {
		snprintf(words, sizeof(words), "the receiver answered %d", a->status_code);
		err = words;
	}
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhooks SET failing_since = COALESCE(failing_since, ?2), last_error = ?3"
			     " WHERE id = ?1 AND status = 'active' RETURNING failing_since",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, hook_id);
	sqlite3_bind_int64(st, 2, a->at ? a->at : now_us);
	vex_bind_text(st, 3, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		since = sqlite3_column_int64(st, 0);
		rc = vex_sqlite_exec_stmt(st); /* to completion before anything else */
	} else {
		vex_sqlite_done(st);
		return rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc); /* not active: nothing to judge */
	}
	if (rc)
		return rc;
	if (o->gone)
		return hook_disable(s, hook_id, VEX_HOOK_GONE_REASON, now_us, ret_disabled);
	if (o->disable_after_us > 0 && since > 0 && now_us - since >= o->disable_after_us) {
		vex_rfc3339(since, when);
		snprintf(reason, sizeof(reason), "failing since %s: %s", when, err);
		return hook_disable(s, hook_id, reason, now_us, ret_disabled);
	}
	return 0;
}

/* The row's status, claim and hook, read inside the transaction. */
static int attempt_target(struct vex_sqlite *s, const char *id, const char *runner_id, int *ret_ours,
			  char hook_id[VEX_HOOK_ID_LEN + 1])
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, "SELECT status, claimed_by, hook_id FROM webhook_deliveries WHERE id = ?1", &st);
	const unsigned char *status, *by;

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = sqlite3_column_text(st, 0);
		by = sqlite3_column_text(st, 1);
		*ret_ours = status && strcmp((const char *)status, "pending") == 0 && by &&
			    strcmp((const char *)by, runner_id) == 0;
		vex_col_copy(st, 2, hook_id, VEX_HOOK_ID_LEN + 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? VEX_ENOTFOUND : vex_sqlite_errcode(rc);
	}
	vex_sqlite_done(st);
	return rc;
}

static int insert_attempt(struct vex_sqlite *s, const char *id, const struct vex_delivery_attempt *a, int64_t now_us,
			  const char *body)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s,
				 "INSERT INTO webhook_attempts(delivery_id, n, at, status_code, error, duration_us,"
				 " response_body) VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts"
				 " WHERE delivery_id = ?1), ?2, ?3, ?4, ?5, ?6)",
				 &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, a->at ? a->at : now_us);
	if (a->status_code > 0)
		sqlite3_bind_int(st, 3, a->status_code);
	vex_bind_text(st, 4, a->error);
	sqlite3_bind_int64(st, 5, a->duration_us > 0 ? a->duration_us : 0);
	vex_bind_text(st, 6, body);
	return vex_sqlite_exec_stmt(st);
}

static int update_delivery(struct vex_sqlite *s, const char *id, const char *runner_id, int ours,
			   const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o, int64_t now_us)
{
	enum vex_delivery_status to = o->gone ? VEX_DLV_FAILED : o->status;
	sqlite3_stmt *st;
	int rc;

	if (ours)
		rc = vex_sqlite_stmt(s,
				     "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1,"
				     " next_at = COALESCE(?3, next_at), last_status_code = ?4, last_error = ?5,"
				     " finished_at = ?6, claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
				     &st);
	else /* someone else's now, or finished: count the attempt, touch nothing but our claim */
		rc = vex_sqlite_stmt(s,
				     "UPDATE webhook_deliveries SET attempts = attempts + 1,"
				     " claimed_until = CASE WHEN claimed_by = ?7 THEN NULL ELSE claimed_until END,"
				     " claimed_by = CASE WHEN claimed_by = ?7 THEN NULL ELSE claimed_by END WHERE id = ?1",
				     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	if (ours) {
		vex_bind_text(st, 2, vex_delivery_status_name(to));
		if (to == VEX_DLV_PENDING)
			sqlite3_bind_int64(st, 3, o->next_at);
		vex_bind_time(st, 6, to == VEX_DLV_PENDING ? 0 : now_us);
		if (a->status_code > 0)
			sqlite3_bind_int(st, 4, a->status_code);
		vex_bind_text(st, 5, a->error);
	} else {
		vex_bind_text(st, 7, runner_id);
	}
	return vex_sqlite_exec_stmt(st);
}

/* One record inside the caller's transaction. */
static int record_one(struct vex_sqlite *s, const char *runner_id, struct vex_delivery_record *r, int64_t now_us)
{
	char hook_id[VEX_HOOK_ID_LEN + 1];
	int rc, ours = 0, fail = 0;
	char *body;

	r->disabled = 0;
	body = vex_delivery_body_clean(r->attempt.response_body, &fail);
	if (fail)
		return VEX_ENOMEM;
	rc = attempt_target(s, r->id, runner_id, &ours, hook_id);
	if (rc == 0)
		rc = insert_attempt(s, r->id, &r->attempt, now_us, body);
	if (rc == 0)
		rc = update_delivery(s, r->id, runner_id, ours, &r->attempt, &r->outcome, now_us);
	if (rc == 0)
		rc = hook_after(s, hook_id, &r->attempt, &r->outcome, now_us, &r->disabled);
	free(body);
	return rc;
}

int vex_sqlite_deliveries_record(struct vex_sqlite *s, const char *runner_id, struct vex_delivery_record *recs,
				 size_t n, int64_t now_us)
{
	size_t i;
	int rc;

	if (!runner_id || (n && !recs) || n > LIST_MAX)
		return VEX_EINVAL;
	for (i = 0; i < n; i++)
		if (!recs[i].id || !vex_delivery_outcome_valid(&recs[i].outcome))
			return VEX_EINVAL;
	if (n == 0)
		return 0;
	rc = vex_sqlite_begin(s);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		rc = record_one(s, runner_id, &recs[i], now_us);
		recs[i].rc = rc == VEX_ENOTFOUND ? rc : 0;
		if (rc == VEX_ENOTFOUND)
			rc = 0;
		if (rc)
			break;
	}
	if (rc == 0)
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
	return rc;
}

int vex_sqlite_delivery_attempt(struct vex_sqlite *s, const char *id, const char *runner_id,
				const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o, int64_t now_us,
				int *ret_disabled)
{
	struct vex_delivery_record r;
	int rc;

	if (!id || !a || !o)
		return VEX_EINVAL;
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.attempt = *a;
	r.outcome = *o;
	rc = vex_sqlite_deliveries_record(s, runner_id, &r, 1, now_us);
	if (rc == 0)
		rc = r.rc;
	if (rc == 0 && ret_disabled)
		*ret_disabled = r.disabled;
	return rc;
}
