/* store_delivery_claims.c - webhook delivery claims on PostgreSQL (fair across owners, capped per hook), unclaims
 * and the deliveries lock, as core/store/sqlite/store_delivery_claims.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"
#include "core/store/store_backend.h"

#define CLAIM_MAX 1000 /* deliveries one claim may take */

int vex_pg_begin_deliveries(struct vex_pg *p)
{
	int rc = vex_pg_exec(p, "BEGIN", 0, NULL, NULL);

	if (rc == 0)
		rc = vex_pg_exec(p, "SELECT pg_advisory_xact_lock(" VEX_PG_DELIVERIES_LOCK ")", 0, NULL, NULL);
	if (rc)
		vex_pg_rollback(p);
	return rc;
}

/* Due, unclaimed, and first in line for its (hook, job) pair. $1 is now. */
#define CLAIMABLE                                                                                            \
	" d.status = 'pending' AND d.next_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until < $1)"     \
	" AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.hook_id = d.hook_id"                     \
	" AND o.job_id = d.job_id AND o.status = 'pending' AND o.event_seq < d.event_seq)"

static int anything_due(struct vex_pg *p, const char *now, int *ret)
{
	const char *v[1] = { now };
	PGresult *r = NULL;
	int rc = vex_pg_exec(p, "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE" CLAIMABLE ")", 1, v, &r);

	if (rc)
		return rc;
	*ret = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return 0;
}

/*
 * The hooks with pending deliveries, by a skip scan of webhook_deliveries_hook_due (one seek per hook, whatever
 * its backlog; the recursion stops at the LIMIT), each with its owner, whether it is active and its in-flight
 * count, grouped by owner. At most VEX_HOOK_TURNS_MAX hooks per claim.
 */
#define HOOK_TURNS                                                                                   \
	"WITH RECURSIVE h(id) AS ("                                                                  \
	" SELECT (SELECT hook_id FROM webhook_deliveries WHERE status = 'pending' ORDER BY hook_id LIMIT 1)" \
	" UNION ALL SELECT (SELECT d.hook_id FROM webhook_deliveries d WHERE d.status = 'pending'"    \
	" AND d.hook_id > h.id ORDER BY d.hook_id LIMIT 1) FROM h WHERE h.id IS NOT NULL)"            \
	" SELECT t.id, w.owner, w.status = 'active', (SELECT COUNT(*) FROM webhook_deliveries c"      \
	" WHERE c.hook_id = t.id AND c.status = 'pending' AND c.claimed_until >= $1)"                 \
	" FROM (SELECT id FROM h WHERE id IS NOT NULL LIMIT $2) t JOIN webhooks w ON w.id = t.id"    \
	" ORDER BY w.owner, t.id"

static int hook_turns(struct vex_pg *p, const char *now, struct vex_hook_turn *hooks, size_t *ret_n)
{
	char lim[24];
	const char *v[2] = { now, vex_pg_i64(lim, VEX_HOOK_TURNS_MAX) };
	PGresult *r = NULL;
	size_t n = 0;
	int rc;

	rc = vex_pg_exec(p, HOOK_TURNS, 2, v, &r);
	if (rc)
		return rc;
	for (n = 0; n < VEX_HOOK_TURNS_MAX && n < (size_t)PQntuples(r); n++) {
		vex_pg_copy(r, (int)n, 0, hooks[n].id, sizeof(hooks[n].id));
		vex_pg_copy(r, (int)n, 1, hooks[n].owner, sizeof(hooks[n].owner));
		hooks[n].active = strcmp(PQgetvalue(r, (int)n, 2), "t") == 0;
		hooks[n].inflight = (int)vex_pg_get_i64(r, (int)n, 3);
	}
	PQclear(r);
	vex_hook_turns_sum(hooks, n);
	*ret_n = n;
	return 0;
}

/* $1 now, $2 how many, $3 the hook. */
#define CANDIDATES                                                                                         \
	"SELECT " VEX_PG_DLV_COLS ", h.url, h.secret, (SELECT traceparent FROM jobs WHERE id = d.job_id)"   \
	" FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id"                                    \
	" WHERE d.hook_id = $3 AND" CLAIMABLE " ORDER BY d.next_at, d.id LIMIT $2"

/* Up to "max" claimable deliveries of "hook", oldest due first, appended to cands[*n]; "lock": the rows taken
 * FOR UPDATE SKIP LOCKED, inside the claim's transaction. */
static int hook_candidates(struct vex_pg *p, const char *now, const struct vex_hook_turn *hook, int max, int lock,
			   struct vex_delivery_candidate *cands, size_t *n)
{
	char lim[24];
	const char *v[3] = { now, vex_pg_i64(lim, max), hook->id };
	PGresult *r = NULL;
	int rc, fail = 0, pos;

	rc = vex_pg_exec(p, lock ? CANDIDATES " FOR UPDATE OF d SKIP LOCKED" : CANDIDATES, 3, v, &r);
	if (rc)
		return rc;
	for (pos = 0; pos < max && pos < PQntuples(r) && !fail; pos++) {
		struct vex_delivery_candidate *k = &cands[(*n)++];

		memset(k, 0, sizeof(*k));
		k->hook = hook;
		k->pos = pos;
		k->active = hook->active;
		if (vex_pg_delivery_read(r, pos, &k->c.d) < 0)
			fail = 1;
		k->c.url = vex_pg_strdup(r, pos, VEX_PG_DLV_NCOLS, &fail);
		k->c.secret = vex_pg_strdup(r, pos, VEX_PG_DLV_NCOLS + 1, &fail);
		vex_pg_copy(r, pos, VEX_PG_DLV_NCOLS + 2, k->c.traceparent, sizeof(k->c.traceparent));
	}
	PQclear(r);
	return fail ? VEX_ENOMEM : 0;
}

/*
 * The claimable deliveries in fair order: at most "max" in all and, per active hook, no more than "per_hook" in
 * flight. A disabled hook's due deliveries come too (marked inactive) to be canceled. The caller frees
 * cands[0..*ret_n) with vex_delivery_candidates_free.
 */
static int fair_select(struct vex_pg *p, const char *now, int max, int per_hook, int lock,
		       struct vex_hook_turn *hooks, struct vex_delivery_candidate **ret, size_t *ret_n)
{
	struct vex_delivery_candidate *cands = NULL;
	size_t nhooks = 0, n = 0, cap = 0, i;
	int rc, room;

	rc = hook_turns(p, now, hooks, &nhooks);
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
			rc = hook_candidates(p, now, &hooks[i], room, lock, cands, &n);
	}
	if (rc == 0)
		vex_delivery_fair_order(cands, n);
	*ret = cands;
	*ret_n = n;
	return rc;
}

static int claim_one(struct vex_pg *p, const char *id, const char *runner_id, int64_t until)
{
	char u[24];
	const char *v[3] = { id, runner_id, vex_pg_i64(u, until) };

	return vex_pg_exec(p, "UPDATE webhook_deliveries SET claimed_by = $2, claimed_until = $3 WHERE id = $1", 3, v,
			   NULL);
}

static int cancel_one(struct vex_pg *p, const char *id, const char *now)
{
	const char *v[2] = { id, now };

	return vex_pg_exec(p,
			   "UPDATE webhook_deliveries SET status = 'canceled', finished_at = $2, claimed_by = NULL,"
			   " claimed_until = NULL, last_error = COALESCE(last_error, 'webhook disabled')"
			   " WHERE id = $1 AND status = 'pending'",
			   2, v, NULL);
}

/*
 * As SQLite's: a look without the lock first, then the claim in one transaction under the deliveries lock, which
 * makes claims take turns as under SQLite's single writer (the in-flight counts each claim reads stay true until
 * it commits); the rows are taken FOR UPDATE SKIP LOCKED all the same.
 */
int vex_pg_deliveries_claim(struct vex_pg *p, const char *runner_id, int64_t now_us, int64_t lease_us, int max,
			    int per_hook, struct vex_delivery_claim_list *ret)
{
	struct vex_delivery_claim_list out = { NULL, 0 };
	struct vex_hook_turn *hooks = NULL;
	struct vex_delivery_candidate *cands = NULL;
	size_t n = 0, i;
	char now[24];
	int rc, due = 0;

	if (!runner_id || !*runner_id || lease_us <= 0 || max < 1 || max > CLAIM_MAX || per_hook < 1)
		return VEX_EINVAL;
	vex_pg_i64(now, now_us);
	rc = anything_due(p, now, &due);
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
	/* Due is not claimable when every hook with due deliveries is at its cap: look without the lock first,
	 * so that a backed-up hook costs no write transaction per tick. */
	rc = fair_select(p, now, max, per_hook, 0, hooks, &cands, &n);
	vex_delivery_candidates_free(cands, n);
	cands = NULL;
	if (rc || n == 0) {
		n = 0;
		goto out;
	}
	n = 0;
	rc = vex_pg_begin_deliveries(p);
	if (rc)
		goto out;
	rc = fair_select(p, now, max, per_hook, 1, hooks, &cands, &n);
	/* the first "max" of the fair order are claimed; every disabled hook's are canceled */
	for (i = 0; rc == 0 && i < n; i++) {
		if (!cands[i].active)
			rc = cancel_one(p, cands[i].c.d.id, now);
		else if (out.n < (size_t)max)
			rc = claim_one(p, cands[i].c.d.id, runner_id, now_us + lease_us);
		else
			continue;
		if (rc == 0 && cands[i].active) {
			out.items[out.n++] = cands[i].c;
			memset(&cands[i].c, 0, sizeof(cands[i].c));
		}
	}
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
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

int vex_pg_deliveries_unclaim(struct vex_pg *p, const char *runner_id, int *ret_n)
{
	const char *v[1] = { runner_id };
	int64_t n = 0;
	int rc;

	if (!runner_id)
		return VEX_EINVAL;
	rc = vex_pg_begin_deliveries(p);
	if (rc)
		return rc;
	rc = vex_pg_changes(p,
			    "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL"
			    " WHERE status = 'pending' AND claimed_by = $1",
			    1, v, &n);
	if (rc == 0)
		rc = vex_pg_commit(p);
	else
		vex_pg_rollback(p);
	if (rc == 0 && ret_n)
		*ret_n = (int)n;
	return rc;
}
