/* store_attempts.c - webhook delivery attempts on PostgreSQL: recording outcomes, retries, hook health, as
 * core/store/sqlite/store_attempts.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/timeutil.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

#define LIST_MAX 1000
#define REASON_MAX 1024

/* Disable the active hook "hook_id" with "reason" and cancel its pending deliveries. *ret_done = 1 when it was
 * active. */
static int hook_disable(struct vex_pg *p, const char *hook_id, const char *reason, const char *now, int *ret_done)
{
	const char *v[3] = { hook_id, reason, now };
	int64_t changes = 0;
	int rc;

	rc = vex_pg_changes(p,
			    "UPDATE webhooks SET status = 'disabled', disabled_reason = $2, updated_at = $3"
			    " WHERE id = $1 AND status = 'active'",
			    3, v, &changes);
	if (rc || changes == 0)
		return rc;
	*ret_done = 1;
	v[1] = now;
	return vex_pg_exec(p,
			   "UPDATE webhook_deliveries SET status = 'canceled', finished_at = $2, claimed_by = NULL,"
			   " claimed_until = NULL, last_error = COALESCE(last_error, 'webhook disabled')"
			   " WHERE hook_id = $1 AND status = 'pending'",
			   2, v, NULL);
}

/* The hook's health after an attempt (see vex_store_delivery_attempt). */
static int hook_after(struct vex_pg *p, const char *hook_id, const struct vex_delivery_attempt *a,
		      const struct vex_delivery_outcome *o, int64_t now_us, int *ret_disabled)
{
	char words[64], reason[REASON_MAX], when[VEX_RFC3339_LEN], at[24], now[24];
	const char *err = a->error;
	const char *v[3];
	PGresult *r = NULL;
	int64_t since = 0;
	int rc;

	v[0] = hook_id;
	if (o->status == VEX_DLV_DELIVERED && !o->gone)
		return vex_pg_exec(p,
				   "UPDATE webhooks SET failing_since = NULL, last_error = NULL WHERE id = $1"
				   " AND status = 'active' AND (failing_since IS NOT NULL OR last_error IS NOT NULL)",
				   1, v, NULL);
	if (!err) {
		snprintf(words, sizeof(words), "the receiver answered %d", a->status_code);
		err = words;
	}
	v[1] = vex_pg_i64(at, a->at ? a->at : now_us);
	v[2] = err;
	rc = vex_pg_exec(p,
			 "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2), last_error = $3"
			 " WHERE id = $1 AND status = 'active' RETURNING failing_since",
			 3, v, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0; /* not active: nothing to judge */
	}
	since = vex_pg_get_i64(r, 0, 0);
	PQclear(r);
	vex_pg_i64(now, now_us);
	if (o->gone)
		return hook_disable(p, hook_id, VEX_HOOK_GONE_REASON, now, ret_disabled);
	if (o->disable_after_us > 0 && since > 0 && now_us - since >= o->disable_after_us) {
		vex_rfc3339(since, when);
		snprintf(reason, sizeof(reason), "failing since %s: %s", when, err);
		return hook_disable(p, hook_id, reason, now, ret_disabled);
	}
	return 0;
}

/* The row's status, claim and hook, read inside the transaction. */
static int attempt_target(struct vex_pg *p, const char *id, const char *runner_id, int *ret_ours,
			  char hook_id[VEX_HOOK_ID_LEN + 1])
{
	const char *v[1] = { id };
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, "SELECT status, claimed_by, hook_id FROM webhook_deliveries WHERE id = $1", 1, v, &r);

	if (rc)
		return rc;
	if (PQntuples(r) > 0) {
		*ret_ours = strcmp(PQgetvalue(r, 0, 0), "pending") == 0 && !PQgetisnull(r, 0, 1) &&
			    strcmp(PQgetvalue(r, 0, 1), runner_id) == 0;
		vex_pg_copy(r, 0, 2, hook_id, VEX_HOOK_ID_LEN + 1);
	} else {
		rc = VEX_ENOTFOUND;
	}
	PQclear(r);
	return rc;
}

static int insert_attempt(struct vex_pg *p, const char *id, const struct vex_delivery_attempt *a, int64_t now_us,
			  const char *body)
{
	char at[24], code[24], dur[24];
	const char *v[6];

	v[0] = id;
	v[1] = vex_pg_i64(at, a->at ? a->at : now_us);
	v[2] = a->status_code > 0 ? vex_pg_i64(code, a->status_code) : NULL;
	v[3] = a->error;
	v[4] = vex_pg_i64(dur, a->duration_us > 0 ? a->duration_us : 0);
	v[5] = body;
	return vex_pg_exec(p,
			   "INSERT INTO webhook_attempts(delivery_id, n, at, status_code, error, duration_us,"
			   " response_body) VALUES ($1, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts"
			   " WHERE delivery_id = $1), $2, $3, $4, $5, $6)",
			   6, v, NULL);
}

static int update_delivery(struct vex_pg *p, const char *id, const char *runner_id, int ours,
			   const struct vex_delivery_attempt *a, const struct vex_delivery_outcome *o, int64_t now_us)
{
	enum vex_delivery_status to = o->gone ? VEX_DLV_FAILED : o->status;
	char next[24], code[24], fin[24];
	const char *v[6];

	v[0] = id;
	if (!ours) { /* someone else's now, or finished: count the attempt, touch nothing but our claim */
		v[1] = runner_id;
		return vex_pg_exec(p,
				   "UPDATE webhook_deliveries SET attempts = attempts + 1,"
				   " claimed_until = CASE WHEN claimed_by = $2 THEN NULL ELSE claimed_until END,"
				   " claimed_by = CASE WHEN claimed_by = $2 THEN NULL ELSE claimed_by END WHERE id = $1",
				   2, v, NULL);
	}
	v[1] = vex_delivery_status_name(to);
	v[2] = to == VEX_DLV_PENDING ? vex_pg_i64(next, o->next_at) : NULL;
	v[3] = a->status_code > 0 ? vex_pg_i64(code, a->status_code) : NULL;
	v[4] = a->error;
	v[5] = to == VEX_DLV_PENDING || now_us == 0 ? NULL : vex_pg_i64(fin, now_us); /* a time of 0 is NULL */
	return vex_pg_exec(p,
			   "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1,"
			   " next_at = COALESCE($3, next_at), last_status_code = $4, last_error = $5,"
			   " finished_at = $6, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
			   6, v, NULL);
}

/* One record inside the caller's transaction. */
static int record_one(struct vex_pg *p, const char *runner_id, struct vex_delivery_record *r, int64_t now_us)
{
	char hook_id[VEX_HOOK_ID_LEN + 1];
	int rc, ours = 0, fail = 0;
	char *body;

	r->disabled = 0;
	body = vex_delivery_body_clean(r->attempt.response_body, &fail);
	if (fail)
		return VEX_ENOMEM;
	rc = attempt_target(p, r->id, runner_id, &ours, hook_id);
	if (rc == 0)
		rc = insert_attempt(p, r->id, &r->attempt, now_us, body);
	if (rc == 0)
		rc = update_delivery(p, r->id, runner_id, ours, &r->attempt, &r->outcome, now_us);
	if (rc == 0)
		rc = hook_after(p, hook_id, &r->attempt, &r->outcome, now_us, &r->disabled);
	free(body);
	return rc;
}

/* In one transaction under the deliveries lock, as SQLite's BEGIN IMMEDIATE: claims, records, deletes and
 * re-sends take turns, so a record's read of its row and hook holds until it commits. */
int vex_pg_deliveries_record(struct vex_pg *p, const char *runner_id, struct vex_delivery_record *recs, size_t n,
			     int64_t now_us)
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
	rc = vex_pg_begin_deliveries(p);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		rc = record_one(p, runner_id, &recs[i], now_us);
		recs[i].rc = rc == VEX_ENOTFOUND ? rc : 0;
		if (rc == VEX_ENOTFOUND)
			rc = 0;
		if (rc)
			break;
	}
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	return rc;
}

int vex_pg_delivery_attempt(struct vex_pg *p, const char *id, const char *runner_id,
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
	rc = vex_pg_deliveries_record(p, runner_id, &r, 1, now_us);
	if (rc == 0)
		rc = r.rc;
	if (rc == 0 && ret_disabled)
		*ret_disabled = r.disabled;
	return rc;
}
