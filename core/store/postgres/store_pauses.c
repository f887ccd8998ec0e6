/* store_pauses.c - paused claiming on PostgreSQL: the claim_pauses rows an admin sets, and what each claim reads,
 * as core/store/sqlite/store_pauses.c. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/store/operator.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store_backend.h"

#define PAUSES_MAX 10000 /* rows of the pause list (core/store/operator.h) */

int vex_pg_claim_pause(struct vex_pg *p, const char *tool, const char *by, int64_t now_us)
{
	char t[24];
	const char *v[3];

	if (vex_pause_tool_check(tool) || !by)
		return VEX_EINVAL;
	v[0] = tool;
	v[1] = vex_pg_i64(t, now_us);
	v[2] = by;
	/* Pausing what is paused keeps the first row (SQLite's INSERT OR IGNORE). */
	return vex_pg_exec(p,
			   "INSERT INTO claim_pauses(tool, paused_at, paused_by) VALUES ($1, $2, $3)"
			   " ON CONFLICT (tool) DO NOTHING",
			   3, v, NULL);
}

int vex_pg_claim_resume(struct vex_pg *p, const char *tool, int *ret_changed)
{
	const char *v[1] = { tool };
	PGresult *r = NULL;
	int rc;

	if (vex_pause_tool_check(tool))
		return VEX_EINVAL;
	rc = vex_pg_exec(p, "DELETE FROM claim_pauses WHERE tool = $1", 1, v, &r);
	/* A name that is not UTF-8 cannot be paused here (vex_pg_exec's VEX_EINVAL): nothing to resume. */
	if (rc == VEX_EINVAL) {
		rc = 0;
		if (ret_changed)
			*ret_changed = 0;
	} else if (rc == 0 && ret_changed) {
		*ret_changed = strtol(PQcmdTuples(r), NULL, 10) > 0;
	}
	PQclear(r);
	return rc;
}

int vex_pg_claim_pauses(struct vex_pg *p, struct vex_claim_pause_list *ret)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	PGresult *r = NULL;
	int rc, n, i;

	/* By tool in bytes, the global pause ("") first: the column's collation is "C" (migrations.c). */
	rc = vex_pg_exec(p, "SELECT tool, paused_at, paused_by FROM claim_pauses ORDER BY tool LIMIT 10000", 0, NULL,
			 &r);
	if (rc)
		return rc;
	n = PQntuples(r);
	if (n > PAUSES_MAX)
		n = PAUSES_MAX;
	/* An empty list owns nothing, as SQLite's: callers may skip the release. */
	if (n > 0) {
		l.items = calloc((size_t)n, sizeof(*l.items));
		if (!l.items) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		struct vex_claim_pause *it = &l.items[i];

		l.n++;
		it->tool = strdup(PQgetvalue(r, i, 0)); /* NOT NULL: "" for the global pause */
		it->paused_at = vex_pg_get_i64(r, i, 1);
		it->paused_by = PQgetisnull(r, i, 2) ? NULL : strdup(PQgetvalue(r, i, 2));
		if (!it->tool || (!it->paused_by && !PQgetisnull(r, i, 2))) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	*ret = l;
	l = (struct vex_claim_pause_list){ NULL, 0 };
out:
	vex_claim_pause_list_release(&l);
	PQclear(r);
	return rc;
}

int vex_pg_pause_state(struct vex_pg *p, int *ret)
{
	PGresult *r = NULL;
	int64_t v;
	int rc;

	/* At most two index probes of a table that is empty but for an operator's few rows. */
	rc = vex_pg_exec(p,
			 "SELECT CASE WHEN EXISTS (SELECT 1 FROM claim_pauses WHERE tool = '') THEN 2"
			 " WHEN EXISTS (SELECT 1 FROM claim_pauses WHERE tool > '') THEN 1 ELSE 0 END",
			 0, NULL, &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1) {
		v = vex_pg_get_i64(r, 0, 0);
		*ret = v == 2 ? VEX_PAUSED_ALL : v == 1 ? VEX_PAUSED_TOOLS : 0;
	} else {
		rc = VEX_EIO;
	}
	PQclear(r);
	return rc;
}
