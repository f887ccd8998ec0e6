/* store_delivery_claims.c - webhook delivery claims: fair across owners, capped per hook; unclaims. */
#include "core/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/store/sqlite/store_internal.h"
#include "core/store/store_backend.h"

#define CLAIM_MAX 1000 /* deliveries one claim may take */

/* Due, unclaimed, and first in line for its (hook, job) pair. ?1 is now. */
#define CLAIMABLE                                                                                            \
	" d.status = 'pending' AND d.next_at <= ?1 AND (d.claimed_until IS NULL OR d.claimed_until < ?1)"     \
	" AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.hook_id = d.hook_id"                     \
	" AND o.job_id = d.job_id AND o.status = 'pending' AND o.event_seq < d.event_seq)"

static int anything_due(struct vex_sqlite *s, int64_t now_us, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE" CLAIMABLE ")", &st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	return vex_sqlite_step_int64(st, ret);
}

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

static int hook_turns(struct vex_sqlite *s, int64_t now_us, struct vex_hook_turn *hooks, size_t *ret_n)
{
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	rc = vex_sqlite_stmt(s, HOOK_TURNS, &st);
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
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	if (rc == 0) {
		vex_hook_turns_sum(hooks, n);
		*ret_n = n;
	}
	return rc;
}

/* Up to "max" claimable deliveries of "hook", oldest due first, appended to cands[*n]. */
static int hook_candidates(struct vex_sqlite *s, int64_t now_us, const struct vex_hook_turn *hook, int max,
			   struct vex_delivery_candidate *cands, size_t *n)
{
	sqlite3_stmt *st;
	int rc, fail = 0, pos = 0;

	rc = vex_sqlite_stmt(s,
			     "SELECT " DLV_COLS ", h.url, h.secret, (SELECT traceparent FROM jobs WHERE id = d.job_id)"
			     " FROM webhook_deliveries d"
			     " INDEXED BY webhook_deliveries_hook_due JOIN webhooks h ON h.id = d.hook_id"
			     " WHERE d.hook_id = ?3 AND" CLAIMABLE " ORDER BY d.next_at, d.id LIMIT ?2",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int(st, 2, max);
	vex_bind_text(st, 3, hook->id);
	while (pos < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vex_delivery_candidate *k = &cands[(*n)++];

		memset(k, 0, sizeof(*k));
		k->hook = hook;
		k->pos = pos++;
		k->active = hook->active;
		if (vex_delivery_row_read(st, &k->c.d) < 0)
			fail = 1;
		k->c.url = vex_col_strdup(st, DLV_NCOLS, &fail);
		k->c.secret = vex_col_strdup(st, DLV_NCOLS + 1, &fail);
		vex_col_copy(st, DLV_NCOLS + 2, k->c.traceparent, sizeof(k->c.traceparent));
		if (fail)
			break;
	}
	rc = fail ? VEX_ENOMEM : rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : vex_sqlite_errcode(rc);
	vex_sqlite_done(st);
	return rc;
}

/*
 * The claimable deliveries in fair order: at most "max" in all and, per active hook, no more
 * than "per_hook" in flight. A disabled hook's due deliveries come too (marked inactive) to be
 * canceled. Caller frees cands[0..*ret_n) with candidate_release.
 */
static int fair_select(struct vex_sqlite *s, int64_t now_us, int max, int per_hook, struct vex_hook_turn *hooks,
		       struct vex_delivery_candidate **ret, size_t *ret_n)
{
	struct vex_delivery_candidate *cands = NULL;
	size_t nhooks = 0, n = 0, cap = 0, i;
	int rc, room;

	rc = hook_turns(s, now_us, hooks, &nhooks);
	if (rc)
		return rc;
	for (i = 0; i < nhooks; i++)
		cap += (size_t)vex_hook_turn_room(&hooks[i], max, per_hook);
	cands = calloc(cap ? cap : 1, sizeof(*cands));
	if (!cands)
		return VEX_ENOMEM;
	for (i = 0; rc == 0 && i < nhooks; i++) {
		room = vex_hook_turn_room(&hooks[i], max, per_hook);
		if (room > 0)
			rc = hook_candidates(s, now_us, &hooks[i], room, cands, &n);
	}
	if (rc == 0)
		vex_delivery_fair_order(cands, n);
	*ret = cands;
	*ret_n = n;
	return rc;
}

static int claim_one(struct vex_sqlite *s, const char *id, const char *runner_id, int64_t until)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s, "UPDATE webhook_deliveries SET claimed_by = ?2, claimed_until = ?3 WHERE id = ?1",
				 &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	vex_bind_text(st, 2, runner_id);
	sqlite3_bind_int64(st, 3, until);
	return vex_sqlite_exec_stmt(st);
}

static int cancel_one(struct vex_sqlite *s, const char *id, int64_t now_us)
{
	sqlite3_stmt *st;
	int rc = vex_sqlite_stmt(s,
				 "UPDATE webhook_deliveries SET status = 'canceled', finished_at = ?2, claimed_by = NULL,"
				 " claimed_until = NULL, last_error = COALESCE(last_error, 'webhook disabled')"
				 " WHERE id = ?1 AND status = 'pending'",
				 &st);

	if (rc)
		return rc;
	vex_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_us);
	return vex_sqlite_exec_stmt(st);
}

int vex_sqlite_deliveries_claim(struct vex_sqlite *s, const char *runner_id, int64_t now_us, int64_t lease_us,
				int max, int per_hook, struct vex_delivery_claim_list *ret)
{
	struct vex_delivery_claim_list out = { NULL, 0 };
	struct vex_hook_turn *hooks = NULL;
	struct vex_delivery_candidate *cands = NULL;
	size_t n = 0, i;
	int64_t due = 0;
	int rc;

	if (!runner_id || !*runner_id || lease_us <= 0 || max < 1 || max > CLAIM_MAX || per_hook < 1)
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
	vex_delivery_candidates_free(cands, n);
	cands = NULL;
	if (rc || n == 0) {
		n = 0;
		goto out;
	}
	n = 0;
	rc = vex_sqlite_begin(s);
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
		rc = vex_sqlite_commit(s);
	else
		vex_sqlite_rollback(s);
out:
	if (rc == 0) {
		*ret = out;
		out.items = NULL;
		out.n = 0;
	}
	vex_delivery_candidates_free(cands, n);
	vex_delivery_claim_list_release(&out);
	free(hooks);
	return rc;
}

int vex_sqlite_deliveries_unclaim(struct vex_sqlite *s, const char *runner_id, int *ret_n)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	if (!runner_id)
		return VEX_EINVAL;
	/* A claimed delivery was due when claimed, so the partial index on next_at finds it. */
	rc = vex_sqlite_stmt(s,
			     "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL"
			     " WHERE status = 'pending' AND next_at <= ?2 AND claimed_by = ?1",
			     &st);
	if (rc)
		return rc;
	vex_bind_text(st, 1, runner_id);
	sqlite3_bind_int64(st, 2, INT64_MAX);
	rc = vex_sqlite_write(s, st, &n);
	if (rc == 0 && ret_n)
		*ret_n = n;
	return rc;
}
