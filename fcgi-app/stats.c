/* stats.c - GET /api/v1/stats and GET /api/v1/runners: jobs by status, the last hour by tool and by minute,
 * the runners and their running jobs (docs/api-vex.md, Stats). Every number comes from small rows the
 * store keeps as jobs change (core/store/stats.h), never from a walk of the jobs. Also GET
 * /api/v1/jobs/{id}/input, what a job was given, which a console shows beside its result. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/timeutil.h"
#include "core/jobs/jobview.h"
#include "core/store/store.h"
#include "fcgi-app/routes.h"

#define SERIES_MINUTES 60
#define RUNNING_MAX 10000 /* running jobs one answer lists */

/* ---- scope ---- */

/*
 * Whose numbers: a user's own (an "owner" naming someone else is 403: a user is never told whether
 * another owner exists); an admin's every owner's, or "owner=<sub>"'s. *ret NULL: every owner. On
 * failure the error is answered.
 */
static int stats_owner(struct vex_ctx *c, char *buf, size_t len, const char **ret)
{
	int rc = vex_http_query(c->req, "owner", buf, len);

	if (rc == VEX_ENOTFOUND || (rc == 0 && buf[0] == '\0')) {
		*ret = c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub;
		return 0;
	}
	if (rc != 0) {
		vex_http_error(c->resp, c->req, 400, "VALIDATION_ERROR", "owner must be a subject of at most 128 bytes",
			       "owner");
		return VEX_EINVAL;
	}
	if (c->who.role != VEX_ROLE_ADMIN && strcmp(buf, c->who.sub) != 0) {
		vex_http_error(c->resp, c->req, 403, "FORBIDDEN", "only an admin may read another owner's stats", "owner");
		return VEX_EFORBIDDEN;
	}
	*ret = c->who.role == VEX_ROLE_ADMIN && strcmp(buf, "*") == 0 ? NULL : buf;
	return 0;
}

/* ---- runners ---- */

/* The runner id of a lease owner "<runner id>/w<N>" is all before the last "/w". */
static int lease_of(const char *lease_owner, const char *runner_id)
{
	const char *w = strrchr(lease_owner, '/');
	size_t n = w ? (size_t)(w - lease_owner) : strlen(lease_owner);

	return strlen(runner_id) == n && strncmp(lease_owner, runner_id, n) == 0;
}

static json_t *running_json(const struct vex_running_job *j)
{
	json_t *o = json_pack("{s:s, s:s, s:o}", "job_id", j->id, "kind", vex_job_kind_name(j->kind), "started_at",
			      vex_jobview_time(j->started_at));

	if (o)
		json_object_set_new(o, j->kind == VEX_JOB_AGENT ? "agent_id" : "tool", json_string(j->name));
	return o;
}

/* The pauses of claiming in force (docs/api-vex.md, Pausing claiming): {"all":bool,"tools":[name...]}, and
 * *ret_all whether every claim is paused. NULL with *ret_rc on failure. */
static json_t *paused_json(struct vex_ctx *c, int *ret_all, int *ret_rc)
{
	struct vex_claim_pause_list l = { NULL, 0 };
	json_t *tools = NULL, *o = NULL;
	size_t i;
	int all = 0;

	*ret_rc = vex_store_claim_pauses(c->env->store, &l);
	if (*ret_rc)
		return NULL;
	*ret_rc = VEX_ENOMEM;
	tools = json_array();
	for (i = 0; tools && i < l.n; i++) {
		if (strcmp(l.items[i].tool, VEX_PAUSE_ALL) == 0)
			all = 1;
		else if (json_array_append_new(tools, json_string(l.items[i].tool)) != 0)
			goto out;
	}
	if (tools)
		o = json_pack("{s:b, s:O}", "all", all, "tools", tools);
	if (o)
		*ret_rc = 0;
	*ret_all = all;
out:
	json_decref(tools);
	vex_claim_pause_list_release(&l);
	return o;
}

/* Every runner, with the running jobs "owner" (NULL: anyone) may see; "paused": the global pause. NULL with
 * *ret_rc on failure. */
static json_t *runners_json(struct vex_ctx *c, const char *owner, int paused, int *ret_rc)
{
	struct vex_runner_infos rl = { NULL, 0 };
	struct vex_running_jobs jl = { NULL, 0 };
	json_t *arr = NULL, *r, *running;
	size_t i, k;
	int rc;

	rc = vex_store_runners_list(c->env->store, &rl);
	if (rc == 0)
		rc = vex_store_running_jobs(c->env->store, owner, RUNNING_MAX, &jl);
	if (rc)
		goto out;
	rc = VEX_ENOMEM;
	arr = json_array();
	for (i = 0; arr && i < rl.n; i++) {
		const struct vex_runner_info *ri = &rl.items[i];

		running = json_array();
		for (k = 0; running && k < jl.n; k++)
			if (lease_of(jl.items[k].lease_owner, ri->id))
				json_array_append_new(running, running_json(&jl.items[k]));
		r = json_pack("{s:s, s:i, s:s, s:o, s:o, s:i, s:i, s:b, s:o}", "id", ri->id, "pid", ri->pid, "host",
			      ri->host, "started_at", vex_jobview_time(ri->started_at), "last_seen",
			      vex_jobview_time(ri->beat_at), "slots", ri->slots, "busy", ri->busy, "paused", paused, "running",
			      running ? running : json_null());
		if (!r || json_array_append_new(arr, r) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr)
		rc = 0;
out:
	vex_runner_infos_release(&rl);
	vex_running_jobs_release(&jl);
	*ret_rc = rc;
	return arr;
}

static void runners_list(struct vex_ctx *c)
{
	json_t *arr = NULL, *paused;
	int rc, all = 0;

	paused = paused_json(c, &all, &rc);
	if (paused)
		arr = runners_json(c, c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub, all, &rc);
	json_decref(paused);
	if (!arr) {
		vex_ctx_fail(c, rc, NULL);
		return;
	}
	vex_http_json(c->resp, 200, json_pack("{s:o}", "runners", arr));
}

/* ---- the last hour ---- */

/* A quantile of "b" in milliseconds (two decimals), or null when "b" is empty. */
static json_t *quantile_json(const int64_t b[VEX_LAT_BUCKETS], double q)
{
	double us = vex_lat_quantile_us(b, q);

	return us < 0 ? json_null() : json_real(round(us / 10.0) / 100.0);
}

/* What the rollup adds up to for one minute or one name. */
struct tally {
	int64_t n[VEX_STAT_CANCELED + 1];
	int64_t lat[VEX_LAT_BUCKETS];
};

static void tally_add(struct tally *t, int metric, int64_t n)
{
	if (metric >= 0 && metric <= VEX_STAT_CANCELED)
		t->n[metric] += n;
	else if (metric >= VEX_STAT_LATENCY && metric < VEX_STAT_LATENCY + VEX_LAT_BUCKETS) {
		/* a completed job is one row in its latency bucket */
		t->lat[metric - VEX_STAT_LATENCY] += n;
		t->n[VEX_STAT_COMPLETED] += n;
	}
}

/* "failed" counts failed and timed-out jobs. */
static int64_t tally_failed(const struct tally *t)
{
	return t->n[VEX_STAT_FAILED] + t->n[VEX_STAT_TIMEOUT];
}

static json_t *series_json(const struct vex_stat_rows *rows, int64_t first)
{
	struct tally t[SERIES_MINUTES];
	json_t *arr = json_array(), *o;
	char when[VEX_RFC3339_LEN];
	size_t i;
	int m;

	memset(t, 0, sizeof(t));
	for (i = 0; i < rows->n; i++)
		if (rows->items[i].minute >= first && rows->items[i].minute < first + SERIES_MINUTES)
			tally_add(&t[rows->items[i].minute - first], rows->items[i].metric, rows->items[i].n);
	for (m = 0; arr && m < SERIES_MINUTES; m++) {
		vex_rfc3339((first + m) * VEX_STATS_MINUTE_US, when);
		o = json_pack("{s:s, s:I, s:I, s:o, s:o}", "minute", when, "completed",
			      (json_int_t)t[m].n[VEX_STAT_COMPLETED], "failed", (json_int_t)tally_failed(&t[m]), "p50_ms",
			      quantile_json(t[m].lat, 0.5), "p95_ms", quantile_json(t[m].lat, 0.95));
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *name_json(const struct vex_stat_row *r, const struct tally *t)
{
	return json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:o, s:o}}", "name", r->name ? r->name : "", "kind",
			 vex_job_kind_name(r->kind), "last_hour", "submitted", (json_int_t)t->n[VEX_STAT_SUBMITTED],
			 "completed", (json_int_t)t->n[VEX_STAT_COMPLETED], "failed", (json_int_t)tally_failed(t),
			 "p50_ms", quantile_json(t->lat, 0.5), "p95_ms", quantile_json(t->lat, 0.95));
}

/* One entry per (kind, name): the rows come ordered by kind, name, metric. */
static json_t *tools_json(const struct vex_stat_rows *rows)
{
	json_t *arr = json_array();
	struct tally t;
	size_t i, start;

	for (start = 0; arr && start < rows->n; start = i) {
		const struct vex_stat_row *r = &rows->items[start];

		memset(&t, 0, sizeof(t));
		for (i = start; i < rows->n && rows->items[i].kind == r->kind &&
				strcmp(rows->items[i].name ? rows->items[i].name : "", r->name ? r->name : "") == 0;
		     i++)
			tally_add(&t, rows->items[i].metric, rows->items[i].n);
		if (json_array_append_new(arr, name_json(r, &t)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* ---- GET /api/v1/stats ---- */

static json_t *oldest_json(struct vex_ctx *c, const char *owner, int *ret_rc)
{
	char id[VEX_UUID_LEN + 1];
	int64_t created = 0;
	int rc = vex_store_oldest_queued(c->env->store, owner, id, &created);

	*ret_rc = rc == VEX_ENOTFOUND ? 0 : rc;
	if (rc)
		return json_null();
	return json_pack("{s:s, s:o, s:f}", "job_id", id, "queued_at", vex_jobview_time(created), "age_s",
			 round((double)(c->req->now_us - created) / 1000.0) / 1000.0);
}

static void stats_get(struct vex_ctx *c)
{
	struct vex_stat_rows by_minute = { NULL, 0 }, by_name = { NULL, 0 };
	int64_t counts[VEX_JOB_STATUS_COUNT], first = c->req->now_us / VEX_STATS_MINUTE_US - (SERIES_MINUTES - 1);
	char owner_buf[VEX_SUB_MAX + 1], when[VEX_RFC3339_LEN];
	const char *owner = NULL;
	json_t *jobs, *oldest = NULL, *runners = NULL, *paused = NULL, *out;
	int rc, all = 0;

	if (stats_owner(c, owner_buf, sizeof(owner_buf), &owner) != 0)
		return;
	rc = vex_store_status_counts(c->env->store, owner, counts);
	if (rc == 0)
		oldest = oldest_json(c, owner, &rc);
	if (rc == 0)
		rc = vex_store_stat_minutes(c->env->store, owner, first, 0, &by_minute);
	if (rc == 0)
		rc = vex_store_stat_minutes(c->env->store, owner, first, 1, &by_name);
	if (rc == 0)
		paused = paused_json(c, &all, &rc);
	if (rc == 0)
		runners = runners_json(c, owner, all, &rc);
	if (rc) {
		vex_ctx_fail(c, rc, NULL);
		goto out;
	}
	jobs = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "pending", (json_int_t)counts[VEX_JOB_QUEUED], "running",
			 (json_int_t)counts[VEX_JOB_RUNNING], "completed", (json_int_t)counts[VEX_JOB_COMPLETED], "failed",
			 (json_int_t)counts[VEX_JOB_FAILED], "canceled", (json_int_t)counts[VEX_JOB_CANCELED], "timeout",
			 (json_int_t)counts[VEX_JOB_TIMEOUT]);
	vex_rfc3339(c->req->now_us, when);
	out = json_pack("{s:s, s:o, s:s, s:o, s:O, s:o, s:o, s:O, s:O}", "scope", owner ? "owner" : "all",
			"owner", owner ? json_string(owner) : json_null(), "generated_at", when, "jobs", jobs,
			"oldest_pending", oldest, "tools", tools_json(&by_name), "series", series_json(&by_minute, first),
			"runners", runners, "paused", paused);
	vex_http_json(c->resp, 200, out);
out:
	json_decref(oldest);
	json_decref(runners);
	json_decref(paused);
	vex_stat_rows_release(&by_minute);
	vex_stat_rows_release(&by_name);
}

/* ---- GET /api/v1/jobs/{id}/input ---- */

/* {"job_id","kind","tool"|"agent_id","input"}: the arguments of a tool job, {"prompt","context_id"?} of an
 * agent job, as stored at the submit. Kept out of the job envelope, which every poll renders and the
 * cache holds: only a caller who asks reads it. Another owner's job is 404, as on GET /api/v1/jobs/{id}. */
static void job_input(struct vex_ctx *c)
{
	struct vex_job *j = NULL;
	json_t *input = NULL, *v;
	int rc;

	rc = vex_uuid_valid(c->params[0]) ? vex_store_job_get(c->env->store, c->params[0],
							       c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub, &j)
					  : VEX_ENOTFOUND;
	if (rc) {
		vex_ctx_fail(c, rc, "job not found");
		return;
	}
	input = json_loads(j->input_json ? j->input_json : "{}", JSON_DECODE_ANY, NULL);
	if (!input) {
		vex_job_free(j);
		vex_ctx_fail(c, VEX_ERROR, NULL);
		return;
	}
	if (j->kind == VEX_JOB_TOOL)
		v = json_pack("{s:s, s:s, s:s?, s:o}", "job_id", j->id, "kind", "tool", "tool", j->tool, "input", input);
	else
		v = json_pack("{s:s, s:s, s:s?, s:o}", "job_id", j->id, "kind", "agent", "agent_id", j->agent_id, "input",
			      input);
	vex_job_free(j);
	if (v)
		vex_http_json(c->resp, 200, v);
	else
		vex_ctx_fail(c, VEX_ENOMEM, NULL);
}

static const struct vex_route routes[] = {
	{ "GET", "/api/v1/jobs/{id}/input", job_input, 0, NULL },
	{ "GET", "/api/v1/stats", stats_get, 0, NULL },
	{ "GET", "/api/v1/runners", runners_list, 0, NULL },
};

const struct vex_route_table vex_stats_routes = VEX_ROUTE_TABLE(routes);
