/* stream.c - what the stream server says: requests (auth, limits, resume) and the change feed (the registry of
 * streams: stream_registry.c). */
#include "fcgi-app/stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/auth/jwt.h"
#include "core/auth/credential.h"
#include "core/base/buf.h"
#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/jobs/jobview.h"
#include "core/base/log.h"
#include "fcgi-app/streamtoken.h"
#include "core/base/timeutil.h"
#include "fcgi-app/stream_registry.h"
#include "core/metrics/metrics.h"

#define FEED_BATCH 1000          /* job events read per query */
#define REPLAY_PAGE 1000         /* events of one job read per query when resuming */
#define REPLAY_MAX (VEX_STREAM_OUT_MAX / 2) /* bytes of replay sent at once; past it, the current state */
#define RETRY_MS 2000            /* the reconnection delay suggested to EventSource */
#define QUERY_MAX 4096
#define ID_MAX 64                /* bytes of the {id} segment kept (a UUID is 36) */
#define FEED_WARN_US (10 * 1000000LL)

/* ---- answers ---- */

/* A complete JSON answer: head, body, end. Takes "body". */
static void answer_json(struct vex_stream_server *s, struct vex_stream_conn *c, int status, const char *extra,
			json_t *body)
{
	static const char oom[] = "{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}}";
	struct vex_buf b;
	char *text = body ? vex_json_dump(body) : NULL;
	const char *t = text ? text : oom;

	json_decref(body);
	if (!text)
		status = 500;
	vex_metrics_request(c->dialect == VEX_STREAM_COREX ? VEX_METRICS_ROUTE_STREAM_COREX : VEX_METRICS_ROUTE_STREAM_VEX,
			    status);
	vex_buf_init(&b, VEX_STREAM_OUT_MAX);
	vex_buf_printf(&b,
		  "Status: %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nX-Request-ID: %s\r\n"
		  "Cache-Control: no-store\r\n",
		  status, vex_http_reason(status), strlen(t), c->request_id);
	if (extra)
		vex_buf_add(&b, extra, strlen(extra));
	vex_buf_add(&b, "\r\n", 2);
	vex_buf_add(&b, t, strlen(t));
	if (!b.err)
		vex_stream_conn_send(s, c, b.p, b.len);
	vex_stream_conn_finish(s, c);
	vex_buf_release(&b);
	free(text);
}

/* The vex error body {"error":{"code","message","field"?,"request_id"}}, as vex-api's router answers. */
static void fail(struct vex_stream_server *s, struct vex_stream_conn *c, int status, const char *code,
		 const char *message, const char *field, const char *extra)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (e && field)
		json_object_set_new(e, "field", json_string(field));
	if (e)
		json_object_set_new(e, "request_id", json_string(c->request_id));
	answer_json(s, c, status, extra, e ? json_pack("{s:o}", "error", e) : NULL);
}

/* An error in the stream's dialect: the vex body, or corex's {"error":{"code","message"}}. */
static void fail_dialect(struct vex_stream_server *s, struct vex_stream_conn *c, int status, const char *code,
			 const char *message, const char *extra)
{
	if (c->dialect == VEX_STREAM_VEX) {
		fail(s, c, status, code, message, NULL, extra);
		return;
	}
	answer_json(s, c, status, extra, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

static void fail_not_found(struct vex_stream_server *s, struct vex_stream_conn *c, const char *id)
{
	char msg[ID_MAX + 32];

	if (c->dialect == VEX_STREAM_VEX) {
		fail(s, c, 404, "NOT_FOUND", "job not found", NULL, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "Job %s does not exist", id);
	fail_dialect(s, c, 404, "JOB_NOT_FOUND", msg, NULL);
}

/* A store failure, as vex-api's workers answer one. */
static void fail_store(struct vex_stream_server *s, struct vex_stream_conn *c, int rc)
{
	if (rc == VEX_EBUSY) {
		fail(s, c, 503, "SERVICE_UNAVAILABLE", "database busy, retry shortly", NULL, "Retry-After: 1\r\n");
		return;
	}
	if (rc == VEX_EUNAVAIL) {
		fail(s, c, 503, "SERVICE_UNAVAILABLE", "database unreachable, retry shortly", NULL, "Retry-After: 1\r\n");
		return;
	}
	vex_log(VEX_LOG_ERROR, "stream request failed", "request_id", c->request_id, "error", vex_strerror(rc), NULL);
	fail(s, c, 500, "INTERNAL_ERROR", "internal error", NULL, NULL);
}

/* ---- events ---- */

/* The event name of a job's current state (the first event of a stream, or a state sent in place of
 * events no longer kept): queued, started or progress, or the terminal status. */
static const char *state_event(const struct vex_job *j)
{
	if (j->status == VEX_JOB_QUEUED)
		return "queued";
	if (j->status == VEX_JOB_RUNNING)
		return j->progress.current_step ? "progress" : "started";
	return vex_job_status_name(j->status);
}

/* Append one event: "id: <rev>", "event: <name>" when named, "data: <the job in the dialect>". */
static void render(struct vex_stream_server *s, struct vex_buf *b, const struct vex_job *j, enum vex_stream_dialect d,
		   int named, const char *event)
{
	int64_t pos = 0;
	json_t *v;
	char *text;

	if (d == VEX_STREAM_COREX && j->status == VEX_JOB_QUEUED &&
	    vex_store_job_queue_position(s->store, j->id, &pos) != 0)
		pos = 0; /* claimed since: the view shows 1 */
	v = d == VEX_STREAM_VEX ? vex_jobview_vex(j) : vex_jobview_corex(j, pos);
	text = v ? vex_json_dump(v) : NULL;
	json_decref(v);
	if (!text) {
		b->err = VEX_ENOMEM;
		return;
	}
	vex_buf_printf(b, "id: %lld\n", (long long)j->rev);
	if (named)
		vex_buf_printf(b, "event: %s\n", event);
	vex_buf_add(b, "data: ", 6);
	vex_buf_add(b, text, strlen(text));
	vex_buf_add(b, "\n\n", 2);
	free(text);
}

/* ---- requests ---- */

/* The FastCGI param "name" of the request into "out" (vex_fcgi_param's codes); "" unless found. */
static int param(const struct vex_stream_conn *c, const char *name, char *out, size_t cap)
{
	int rc = vex_fcgi_param((const unsigned char *)c->params.p, c->params.len, name, out, cap);

	if (rc)
		out[0] = '\0';
	return rc;
}

/* "/api/v1/jobs/{id}/stream" (vex) or "/jobs/{id}/stream" (corex); one trailing slash allowed. */
static int route(char *path, enum vex_stream_dialect *ret_d, char id[ID_MAX])
{
	static const char vex_prefix[] = "/api/v1/jobs/", corex_prefix[] = "/jobs/";
	size_t n = strlen(path), seg;
	const char *rest;

	if (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (strncmp(path, vex_prefix, sizeof(vex_prefix) - 1) == 0) {
		*ret_d = VEX_STREAM_VEX;
		rest = path + sizeof(vex_prefix) - 1;
	} else if (strncmp(path, corex_prefix, sizeof(corex_prefix) - 1) == 0) {
		*ret_d = VEX_STREAM_COREX;
		rest = path + sizeof(corex_prefix) - 1;
	} else {
		return VEX_ENOTFOUND;
	}
	seg = strcspn(rest, "/");
	if (seg == 0 || strcmp(rest + seg, "/stream") != 0)
		return VEX_ENOTFOUND;
	/* An over-long segment still routes, as "" (no job has it): the answer is the dialect's 404. */
	if (seg >= ID_MAX)
		seg = 0;
	memcpy(id, rest, seg);
	id[seg] = '\0';
	return 0;
}

/* A Last-Event-ID: 1..18 digits. */
static int parse_event_id(const char *s, int64_t *ret)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 18)
			return VEX_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return VEX_EINVAL;
	*ret = v;
	return 0;
}

struct request {
	char method[16];
	char path[VEX_HTTP_PATH_MAX];
	char query[QUERY_MAX];
	char id[ID_MAX];
	char authorization[VEX_TOKEN_MAX + 256];
	char api_key[256];
	char token[VEX_STREAMTOKEN_MAX];
	char last_id[32];
	char events[16];
	int authorization_rc, api_key_rc, token_rc;
	int64_t now_us;
};

/* Read what the request says (the params), answering what is wrong with it. 0, or an error answered. */
static int parse(struct vex_stream_server *s, struct vex_stream_conn *c, struct request *q)
{
	char rid[VEX_HTTP_REQID_MAX + 1], uri[VEX_HTTP_PATH_MAX];
	int rc;

	if (param(c, "HTTP_X_REQUEST_ID", rid, sizeof(rid)) == 0 && vex_http_request_id_ok(rid))
		memcpy(c->request_id, rid, strlen(rid) + 1);
	else
		vex_uuid7(c->request_id);
	if (c->params_too_big) {
		fail(s, c, 400, "HEADER_TOO_LARGE", "request headers exceed 64 KiB", NULL, NULL);
		return VEX_EINVAL;
	}
	if (vex_fcgi_params_check((const unsigned char *)c->params.p, c->params.len) != 0) {
		fail(s, c, 400, "BAD_REQUEST", "malformed FastCGI parameters", NULL, NULL);
		return VEX_EINVAL;
	}
	if (param(c, "REQUEST_METHOD", q->method, sizeof(q->method)) == VEX_ENOTFOUND)
		memcpy(q->method, "GET", 4); /* an over-long method stays "" and is refused below */
	/* nginx's DOCUMENT_URI is decoded and normalised; REQUEST_URI is raw. */
	rc = param(c, "DOCUMENT_URI", q->path, sizeof(q->path));
	if (rc == VEX_ENOTFOUND || (rc == 0 && q->path[0] == '\0')) {
		rc = param(c, "REQUEST_URI", uri, sizeof(uri));
		if (rc == 0)
			rc = vex_http_decode(uri, strcspn(uri, "?"), 0, q->path, sizeof(q->path));
	}
	if (rc) {
		fail(s, c, 400, "BAD_REQUEST", "invalid request path", NULL, NULL);
		return VEX_EINVAL;
	}
	if (route(q->path, &c->dialect, q->id) != 0) {
		fail(s, c, 404, "NOT_FOUND", "not found", NULL, NULL);
		return VEX_ENOTFOUND;
	}
	if (strcmp(q->method, "GET") != 0) {
		fail(s, c, 405, "METHOD_NOT_ALLOWED", "method not allowed", NULL, "Allow: GET\r\n");
		return VEX_EINVAL;
	}
	if (param(c, "QUERY_STRING", q->query, sizeof(q->query)) == VEX_ETOOBIG) {
		fail(s, c, 400, "BAD_REQUEST", "query string too long", NULL, NULL);
		return VEX_EINVAL;
	}
	q->authorization_rc = param(c, "HTTP_AUTHORIZATION", q->authorization, sizeof(q->authorization));
	q->api_key_rc = param(c, "HTTP_X_API_KEY", q->api_key, sizeof(q->api_key));
	q->token_rc = vex_http_query_get(q->query, "stream_token", q->token, sizeof(q->token));
	/* The header is what EventSource sends on a reconnection: it wins over the query's first position. */
	if (param(c, "HTTP_LAST_EVENT_ID", q->last_id, sizeof(q->last_id)) != 0 || q->last_id[0] == '\0') {
		rc = vex_http_query_get(q->query, "lastEventId", q->last_id, sizeof(q->last_id));
		if (rc == VEX_ENOTFOUND)
			q->last_id[0] = '\0';
		else if (rc)
			memcpy(q->last_id, "x", 2); /* refused below */
	}
	rc = vex_http_query_get(q->query, "events", q->events, sizeof(q->events));
	if (rc == VEX_ENOTFOUND || (rc == 0 && q->events[0] == '\0')) {
		c->named = c->dialect == VEX_STREAM_VEX;
	} else if (rc == 0 && strcmp(q->events, "named") == 0) {
		c->named = 1;
	} else if (rc == 0 && strcmp(q->events, "unnamed") == 0) {
		c->named = 0;
	} else {
		fail(s, c, 400, "VALIDATION_ERROR", "events must be named or unnamed", "events", NULL);
		return VEX_EINVAL;
	}
	q->now_us = vex_now_us();
	return 0;
}

/* Who asks: the stream_token when the query has one, else the request's credentials as vex-api's
 * workers check them. 0, or the error answered. */
static int authenticate(struct vex_stream_server *s, struct vex_stream_conn *c, struct request *q,
			struct vex_principal *who)
{
	const struct vex_config *cfg = s->cfg;
	struct vex_credential cred;
	const char *reason = NULL;
	int rc = VEX_EAUTH;

	if (q->token_rc != VEX_ENOTFOUND) {
		if (q->token_rc != 0)
			reason = "stream_token is not valid";
		else
			rc = vex_streamtoken_verify(cfg->jwt_secret, cfg->jwt_secret_len, q->token, q->id,
						    q->now_us / 1000000, who, &reason);
		if (q->token_rc == 0 && rc == 0)
			return 0;
	} else if (q->authorization_rc == VEX_ETOOBIG) {
		reason = "token too large";
	} else if (q->api_key_rc == VEX_ETOOBIG) {
		reason = "invalid API key";
	} else {
		/* Never a write here: a key's last use goes to the keytouch thread. */
		rc = vex_authn_check(cfg, s->store, q->authorization_rc == 0 ? q->authorization : NULL,
				     q->api_key_rc == 0 ? q->api_key : NULL, q->now_us, VEX_AUTHN_NO_TOUCH, who, &cred,
				     &reason);
		if (rc == 0) {
			if (cred.touch_due)
				vex_keytouch_push(s->keytouch, cred.key_id, q->now_us);
			c->by_key = cred.is_key;
			memcpy(c->key_id, cred.key_id, sizeof(c->key_id));
			memcpy(c->jti, cred.jti, sizeof(c->jti));
			c->iat = cred.iat;
			return 0;
		}
		if (rc != VEX_EAUTH) {
			fail_store(s, c, rc);
			return rc;
		}
	}
	fail(s, c, 401, vex_authn_error_code(reason), reason ? reason : "unauthorized", NULL,
	     "WWW-Authenticate: Bearer\r\n");
	return VEX_EAUTH;
}

/* The head of an event stream. */
static void stream_head(struct vex_buf *b, const struct vex_stream_conn *c)
{
	vex_metrics_inc(VEX_M_STREAMS_OPENED);
	vex_metrics_request(c->dialect == VEX_STREAM_COREX ? VEX_METRICS_ROUTE_STREAM_COREX : VEX_METRICS_ROUTE_STREAM_VEX,
			    200);
	vex_buf_printf(b,
		  "Status: 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
		  "X-Accel-Buffering: no\r\nX-Request-ID: %s\r\n\r\nretry: %d\n\n",
		  c->request_id, RETRY_MS);
}

/*
 * The events a stream starts with, into "b": after "after" (a Last-Event-ID, -1 for none) the job's
 * logged events up to the state read in "j", each as the job was then; the current state instead
 * when the log no longer holds them (pruned) or they would not fit. Without "after", the current
 * state. *ret_status: the status of the last event. 0 or a store error.
 */
static int opening(struct vex_stream_server *s, struct vex_stream_conn *c, const struct vex_job *j, int64_t after,
		   struct vex_buf *b, enum vex_job_status *ret_status)
{
	struct vex_job_event_list l = { NULL, 0 };
	struct vex_job *at = NULL;
	int64_t last = after < 0 ? 0 : after > j->rev ? j->rev : after; /* an id from the future: the present */
	size_t i;
	int rc = 0, more = after >= 0 && after < j->rev;

	*ret_status = j->status;
	while (more) {
		rc = vex_store_job_events_of(s->store, j->id, last, REPLAY_PAGE, &l);
		if (rc)
			goto out;
		more = l.n == REPLAY_PAGE;
		for (i = 0; i < l.n; i++) {
			const struct vex_job_event *e = &l.items[i];

			/* Only a contiguous run up to the state read: later events come from the feed. */
			if (e->rev != last + 1 || e->rev > j->rev || b->len > REPLAY_MAX) {
				more = 0;
				break;
			}
			vex_job_free(at);
			at = vex_job_dup(j);
			if (!at || vex_job_apply_event(at, e) != 0) {
				rc = VEX_ENOMEM;
				goto out;
			}
			render(s, b, at, c->dialect, c->named, vex_job_event_type_name(e->type));
			last = e->rev;
			*ret_status = e->status;
		}
		vex_job_event_list_release(&l);
	}
	if (last < j->rev) {
		render(s, b, j, c->dialect, c->named, state_event(j));
		last = j->rev;
		*ret_status = j->status;
	}
	c->last_rev = last;
	if (b->err) /* out of memory, or more than a client may have queued */
		rc = b->err;
out:
	vex_job_event_list_release(&l);
	vex_job_free(at);
	return rc;
}

static void request(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	static struct request q; /* one at a time: the server has one thread */
	struct vex_principal who;
	struct vex_job *j = NULL;
	struct vex_buf b;
	enum vex_job_status last_status;
	int64_t after = -1;
	struct vex_field_error e;
	char limit[160];
	int rc, cap;

	memset(&q, 0, sizeof(q));
	vex_buf_init(&b, VEX_STREAM_OUT_MAX);
	if (parse(s, c, &q) != 0 || authenticate(s, c, &q, &who) != 0)
		goto out;
	if (q.last_id[0] && parse_event_id(q.last_id, &after) != 0) {
		fail(s, c, 400, "VALIDATION_ERROR", "Last-Event-ID must be a non-negative integer", "Last-Event-ID",
		     NULL);
		goto out;
	}
	if (!vex_uuid_valid(q.id)) {
		fail_not_found(s, c, q.id);
		goto out;
	}
	if (s->streams >= s->cfg->streams_max) {
		snprintf(limit, sizeof(limit), "the stream server holds its maximum of %d open streams; retry later",
			 s->cfg->streams_max);
		fail_dialect(s, c, 503, "STREAMS_FULL", limit, "Retry-After: 5\r\n");
		goto out;
	}
	cap = vex_cap_limit(s->cfg, VEX_CAP_STREAMS, who.plan, who.role == VEX_ROLE_ADMIN);
	if (cap > 0 && vex_stream_owner_count(s, who.sub) >= cap) {
		vex_cap_refuse(VEX_CAP_STREAMS, cap, who.plan, &e);
		fail_dialect(s, c, e.status, e.code, e.message, NULL);
		goto out;
	}
	/* Idle until now: the feed starts here (every later change is read from this point on). */
	if (s->streams == 0) {
		rc = vex_store_job_events_last_seq(s->store, &s->last_seq);
		if (rc) {
			fail_store(s, c, rc);
			goto out;
		}
		s->next_feed_mono_us = vex_mono_us() + (int64_t)s->cfg->stream_poll_ms * 1000;
		vex_stream_revoke_arm(s, q.now_us);
	}
	/* Watch first, read second: a change committed in between reaches the stream through the feed. */
	rc = vex_stream_watch_add(s, c, q.id, who.sub);
	if (rc == 0)
		rc = vex_store_job_get(s->store, q.id, who.role == VEX_ROLE_ADMIN ? NULL : who.sub, &j);
	if (rc == VEX_ENOTFOUND) {
		vex_stream_forget(s, c);
		fail_not_found(s, c, q.id);
		goto out;
	}
	if (rc) {
		vex_stream_forget(s, c);
		fail_store(s, c, rc);
		goto out;
	}
	/* A resumption of a finished job that has nothing new: 204 tells EventSource to stop reconnecting. */
	if (after >= j->rev && vex_job_status_terminal(j->status)) {
		vex_stream_forget(s, c);
		vex_buf_printf(&b, "Status: 204 No Content\r\nX-Request-ID: %s\r\nCache-Control: no-store\r\n\r\n",
			  c->request_id);
		if (!b.err)
			vex_stream_conn_send(s, c, b.p, b.len);
		vex_stream_conn_finish(s, c);
		goto out;
	}
	stream_head(&b, c);
	rc = opening(s, c, j, after, &b, &last_status);
	if (rc) {
		vex_stream_forget(s, c);
		fail_store(s, c, rc);
		goto out;
	}
	vex_log(VEX_LOG_DEBUG, "stream opened", "request_id", c->request_id, "job_id", j->id, "owner", who.sub, NULL);
	vex_stream_conn_set_state(s, c, VEX_CONN_STREAMING, vex_mono_us());
	vex_stream_conn_send(s, c, b.p, b.len);
	if (vex_job_status_terminal(last_status))
		vex_stream_conn_finish(s, c);
out:
	vex_buf_release(&b);
	vex_job_free(j);
	memset(q.authorization, 0, sizeof(q.authorization));
	memset(q.token, 0, sizeof(q.token));
}

/* ---- the change feed ---- */

/* The streams of "w" that have not seen "e" get it, each in its dialect; a terminal event ends them. */
static void deliver(struct vex_stream_server *s, struct vex_stream_watch *w, const struct vex_job_event *e)
{
	struct vex_buf text[2][2];
	struct vex_stream_conn *c, *next;
	struct vex_job *at;
	int d, n;

	at = vex_job_dup(w->job);
	if (!at || vex_job_apply_event(at, e) != 0) {
		vex_job_free(at);
		return;
	}
	for (d = 0; d < 2; d++)
		for (n = 0; n < 2; n++)
			vex_buf_init(&text[d][n], VEX_STREAM_OUT_MAX);
	for (c = w->head; c; c = next) {
		next = c->w_next;
		if (c->last_rev >= e->rev || c->dead)
			continue;
		d = c->dialect == VEX_STREAM_COREX;
		n = c->named != 0;
		if (!text[d][n].p && !text[d][n].err)
			render(s, &text[d][n], at, c->dialect, c->named, vex_job_event_type_name(e->type));
		if (text[d][n].err) {
			vex_stream_conn_doom(s, c); /* out of memory or too big: better closed (it resumes) than silent */
			continue;
		}
		c->last_rev = e->rev;
		vex_stream_conn_send(s, c, text[d][n].p, text[d][n].len);
		if (vex_job_status_terminal(e->status))
			vex_stream_conn_finish(s, c);
	}
	for (d = 0; d < 2; d++)
		for (n = 0; n < 2; n++)
			vex_buf_release(&text[d][n]);
	vex_job_free(at);
}

/* Whether any stream of "w" still waits for "rev". */
static int wanted(const struct vex_stream_watch *w, int64_t rev)
{
	const struct vex_stream_conn *c;

	for (c = w->head; c; c = c->w_next)
		if (c->last_rev < rev)
			return 1;
	return 0;
}

/* One batch. Returns how many events it read, or a negative store error (nothing past the failure is
 * consumed: the next read starts again there). */
static int feed_batch(struct vex_stream_server *s)
{
	struct vex_job_event_list l = { NULL, 0 };
	struct vex_stream_watch *w;
	size_t i;
	int rc;

	rc = vex_store_job_events_since(s->store, s->last_seq, FEED_BATCH, &l);
	if (rc)
		return rc;
	for (i = 0; i < l.n; i++) {
		const struct vex_job_event *e = &l.items[i];

		w = *vex_stream_watch_slot(s, e->job_id);
		if (w && wanted(w, e->rev)) {
			if (!w->touched) {
				w->touched = 1;
				w->t_next = s->touched;
				s->touched = w;
			}
			/* The job once per batch: it is at least as new as every event of the batch. */
			if (!w->loaded) {
				rc = vex_store_job_get(s->store, e->job_id, NULL, &w->job);
				if (rc && rc != VEX_ENOTFOUND)
					break;
				w->loaded = 1;
				rc = 0;
			}
			if (w->job)
				deliver(s, w, e);
		}
		s->last_seq = e->seq;
	}
	vex_job_event_list_release(&l);
	return rc ? rc : (int)i;
}

static void feed(struct vex_stream_server *s)
{
	struct vex_stream_watch *w;
	char buf[24];
	int n;

	if (s->streams == 0)
		return;
	do {
		n = feed_batch(s);
		/* Sweep: batch jobs go, watches nobody watches any more go. */
		while ((w = s->touched) != NULL) {
			s->touched = w->t_next;
			w->touched = 0;
			w->loaded = 0;
			vex_job_free(w->job);
			w->job = NULL;
			vex_stream_watch_release(s, w);
		}
	} while (n == FEED_BATCH && s->streams > 0);
	if (n < 0 && vex_mono_us() - s->feed_warned_mono_us >= FEED_WARN_US) {
		s->feed_warned_mono_us = vex_mono_us();
		snprintf(buf, sizeof(buf), "%lld", (long long)s->last_seq);
		vex_log(VEX_LOG_WARN, "stream feed read failed: retrying", "error", vex_strerror(n), "seq", buf, NULL);
	}
}

/* The feed is read every [streams] poll_ms, revocations every VEX_STREAM_REVOKE_POLL_MS, while any
 * stream is open. */
static int64_t due(const struct vex_stream_server *s)
{
	int64_t r = vex_stream_revoke_due(s);

	if (s->streams == 0)
		return 0;
	return r && r < s->next_feed_mono_us ? r : s->next_feed_mono_us;
}

static void tick(struct vex_stream_server *s, int64_t now_mono_us)
{
	int64_t poll_us = (int64_t)s->cfg->stream_poll_ms * 1000;

	if (now_mono_us >= s->next_revoke_mono_us)
		vex_stream_revoke_tick(s, now_mono_us);
	if (now_mono_us < s->next_feed_mono_us)
		return;
	feed(s);
	s->next_feed_mono_us += poll_us;
	if (s->next_feed_mono_us <= now_mono_us)
		s->next_feed_mono_us = now_mono_us + poll_us;
}

/* The registry, and the thread that records keys' last use. */
static int init(struct vex_stream_server *s)
{
	int rc = vex_stream_registry_init(s);

	if (rc == 0 && vex_keytouch_start(s->cfg, &s->keytouch) != 0)
		vex_log(VEX_LOG_WARN, "stream server: no keytouch thread; API keys' last use is not recorded", NULL);
	return rc;
}

static void release(struct vex_stream_server *s)
{
	vex_keytouch_free(s->keytouch);
	s->keytouch = NULL;
	vex_stream_registry_release(s);
}

const struct vex_stream_handler vex_stream_jobs = {
	.init = init,
	.release = release,
	.request = request,
	.forget = vex_stream_forget,
	.due = due,
	.tick = tick,
};
