/* mcp_http.c - an MCP server over Streamable HTTP: one POST per message, answers as JSON or an event stream. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/mcpmsg.h"
#include "runner/sseread.h"
#include "core/base/timeutil.h"
#include "runner/mcp_conn.h"

#define SESSION_ID_MAX 256     /* bytes of an Mcp-Session-Id we keep */
#define CT_MAX 128
#define REPLIES_MAX 16         /* a server's requests answered per transfer */
#define NOTIFY_TIMEOUT_MS 5000 /* a notification's POST, when no deadline says otherwise */
#define ERROR_BODY_MAX 200     /* bytes of an error answer quoted in a message */

/* One POST and what came back. */
struct xfer {
	struct mcp_server *s;
	const struct mcp_wait *w;
	int64_t id;                 /* the request's id; 0 for a notification */
	char ct[CT_MAX];            /* Content-Type of the answer */
	char session[SESSION_ID_MAX + 1];
	int is_sse;                 /* decided at the first body byte */
	int started;
	struct vex_buf body;        /* a JSON answer, at most "max" bytes */
	size_t max;
	int toobig;
	struct vex_sse_reader sse;
	json_t *response;           /* our response, once seen (owned) */
	char *replies[REPLIES_MAX]; /* answers to the server's requests, sent after the transfer */
	size_t nreplies;
};

/* Trims "v" of "n" bytes (no NUL) into "dst" without surrounding blanks and the line end. */
static void header_value(const char *v, size_t n, char *dst, size_t dstlen)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems;

	if (n > 13 && strncasecmp(buf, "Content-Type:", 13) == 0)
		header_value(buf + 13, n - 13, x->ct, sizeof(x->ct));
	else if (n > 15 && strncasecmp(buf, "Mcp-Session-Id:", 15) == 0)
		header_value(buf + 15, n - 15, x->session, sizeof(x->session));
	return n;
}

/* A message out of the answer (borrowed): ours, a progress notification, or something for mcp.c. */
static void on_message(struct xfer *x, json_t *msg)
{
	char token[VEX_MCP_PROGRESS_TOKEN_MAX + 1];
	struct vex_progress pr = { 0 };
	enum vex_rpc_kind kind;
	const char *method;
	int64_t id = 0;
	char *r;

	kind = vex_rpc_classify(msg, &id);
	if (kind == VEX_RPC_RESPONSE) {
		if (id == x->id && x->id && !x->response)
			x->response = json_incref(msg);
		return;
	}
	if (kind == VEX_RPC_INVALID)
		return;
	method = json_string_value(json_object_get(msg, "method"));
	if (kind == VEX_RPC_NOTIFICATION && strcmp(method, "notifications/progress") == 0) {
		if (x->w && x->w->ctx && x->w->token &&
		    vex_mcp_progress_parse(json_object_get(msg, "params"), token, sizeof(token), &pr) == 0) {
			if (strcmp(token, x->w->token) == 0)
				x->w->ctx->progress(x->w->ctx, &pr);
			vex_progress_release(&pr);
		}
		return;
	}
	r = mcp_on_server_message(x->s, msg, kind);
	if (r && x->nreplies < REPLIES_MAX)
		x->replies[x->nreplies++] = r;
	else
		free(r);
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct xfer *x = arg;
	struct vex_field_error fe;
	json_t *msg = NULL;

	if (strcmp(event, "message") != 0)
		return 0;
	if (!data) {
		x->toobig = 1;
		return 1;
	}
	if (vex_json_parse(data, len, &msg, &fe) < 0)
		return 0;
	on_message(x, msg);
	json_decref(msg);
	/* our answer ends what this stream is for */
	return x->response ? 1 : 0;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	int rc;

	if (!x->started) {
		x->started = 1;
		x->is_sse = strncasecmp(x->ct, "text/event-stream", 17) == 0;
		if (x->is_sse)
			vex_sse_init(&x->sse, x->max);
	}
	if (x->is_sse) {
		/* a non-zero return: our response came (stop here) or the stream is over the cap */
		return vex_sse_feed(&x->sse, buf, n, on_event, x) == 0 ? n : 0;
	}
	rc = vex_buf_add(&x->body, buf, n);
	if (rc == VEX_ETOOBIG)
		x->toobig = 1;
	return rc ? 0 : n;
}

static void xfer_release(struct xfer *x)
{
	size_t i;

	vex_buf_release(&x->body);
	if (x->started && x->is_sse)
		vex_sse_release(&x->sse);
	json_decref(x->response);
	for (i = 0; i < x->nreplies; i++)
		free(x->replies[i]);
}

/* The headers of every POST: the configured ones, then the protocol's. NULL on ENOMEM. */
static struct curl_slist *make_headers(struct mcp_server *s, int with_session)
{
	struct curl_slist *h = NULL, *n;
	char line[SESSION_ID_MAX + 64], proto[64];
	size_t i;

	for (i = 0; i < s->conf->nheaders; i++) {
		n = curl_slist_append(h, s->conf->headers[i]);
		if (!n)
			goto nomem;
		h = n;
	}
	if (!(n = curl_slist_append(h, "Content-Type: application/json")))
		goto nomem;
	h = n;
	if (!(n = curl_slist_append(h, "Accept: application/json, text/event-stream")))
		goto nomem;
	h = n;
	pthread_mutex_lock(&s->mu);
	line[0] = proto[0] = '\0';
	if (with_session && s->session_id)
		snprintf(line, sizeof(line), "Mcp-Session-Id: %s", s->session_id);
	if (s->protocol[0])
		snprintf(proto, sizeof(proto), "MCP-Protocol-Version: %s", s->protocol);
	pthread_mutex_unlock(&s->mu);
	if (line[0]) {
		if (!(n = curl_slist_append(h, line)))
			goto nomem;
		h = n;
	}
	if (proto[0]) {
		if (!(n = curl_slist_append(h, proto)))
			goto nomem;
		h = n;
	}
	return h;
nomem:
	curl_slist_free_all(h);
	return NULL;
}

static CURL *make_easy(struct mcp_server *s, const char *method, const char *body, struct curl_slist *h,
		       struct xfer *x)
{
	CURL *e = curl_easy_init();
	CURLcode rc = CURLE_OK;

	if (!e)
		return NULL;
	rc |= curl_easy_setopt(e, CURLOPT_URL, s->conf->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else {
		rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "vex-mcp/1");
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg->mcp_init_timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	if (rc != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

/* One blocking exchange with a time limit, for notifications, replies and DELETE. Returns the HTTP
 * status, or -1 when the transfer failed. */
static long simple_exchange(struct mcp_server *s, const char *method, const char *body, int timeout_ms)
{
	struct xfer x = { .s = s, .max = 65536, .body = { .max = 65536 } };
	struct curl_slist *h = make_headers(s, 1);
	CURL *e = h ? make_easy(s, method, body, h, &x) : NULL;
	long code = -1;

	if (e) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
		if (curl_easy_perform(e) == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(e);
	}
	curl_slist_free_all(h);
	xfer_release(&x);
	return code;
}

static void send_replies(struct xfer *x)
{
	size_t i;

	for (i = 0; i < x->nreplies; i++)
		simple_exchange(x->s, "POST", x->replies[i], NOTIFY_TIMEOUT_MS);
}

static int http_notify(struct mcp_server *s, const char *method, json_t *params, int64_t deadline_us)
{
	char *text = vex_rpc_notification(method, params);
	int64_t left = deadline_us ? (deadline_us - vex_mono_us()) / 1000 : NOTIFY_TIMEOUT_MS;
	long code;

	if (!text)
		return VEX_ENOMEM;
	code = simple_exchange(s, "POST", text, (int)(left < 1 ? 1 : left > 600000 ? 600000 : left));
	free(text);
	return code >= 200 && code < 300 ? 0 : VEX_EIO;
}

static void http_close(struct mcp_server *s, int graceful)
{
	int has;

	(void)graceful; /* a session has no process to signal */
	pthread_mutex_lock(&s->mu);
	has = s->session_id != NULL;
	pthread_mutex_unlock(&s->mu);
	/* ending the session is a courtesy: a server that does not allow it answers 405 */
	if (has)
		simple_exchange(s, "DELETE", NULL, 2000);
	pthread_mutex_lock(&s->mu);
	free(s->session_id);
	s->session_id = NULL;
	s->protocol[0] = '\0';
	pthread_mutex_unlock(&s->mu);
}

/* The job stopped: tell the server (the transfer is then dropped, which closes its stream too). */
static void cancel_call(struct mcp_server *s, int64_t id, const struct mcp_wait *w)
{
	json_t *params = json_pack("{s:I,s:s}", "requestId", (json_int_t)id, "reason", mcp_stop_reason(w->ctx->stopped));

	http_notify(s, "notifications/cancelled", params,
			vex_mono_us() + (int64_t)(s->cfg->tools_kill_grace_ms > 0 ? s->cfg->tools_kill_grace_ms : 1) * 1000);
}

/* Reads the finished transfer's answer into x->response or "why". */
static int finish(struct mcp_server *s, const char *method, struct xfer *x, CURLcode cc, long code, int had_session,
		  const char *errbuf, char *why, size_t whylen)
{
	struct vex_field_error fe;
	json_t *msg = NULL, *m;
	size_t i;

	if (x->response)
		return 0;
	if (x->toobig) {
		snprintf(why, whylen, "MCP server %s answered %s with a message over %zu bytes", s->conf->name, method,
			 x->max);
		return VEX_ETOOBIG;
	}
	if (cc != CURLE_OK) {
		snprintf(why, whylen, "MCP server %s: %s", s->conf->name, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		pthread_mutex_lock(&s->mu);
		s->session_lost = 1; /* it may have restarted: the next use initializes again */
		pthread_mutex_unlock(&s->mu);
		return VEX_EIO;
	}
	if (code == 404 && had_session) {
		snprintf(why, whylen, "MCP server %s ended the session", s->conf->name);
		pthread_mutex_lock(&s->mu);
		s->session_lost = 1;
		pthread_mutex_unlock(&s->mu);
		return VEX_ENOTFOUND;
	}
	if (code < 200 || code >= 300) {
		snprintf(why, whylen, "MCP server %s answered %s with HTTP %ld%s%.*s", s->conf->name, method, code,
			 x->body.len ? ": " : "", (int)(x->body.len > ERROR_BODY_MAX ? ERROR_BODY_MAX : x->body.len),
			 x->body.p ? x->body.p : "");
		return VEX_EIO;
	}
	if (x->is_sse || !x->body.len) {
		snprintf(why, whylen, "MCP server %s ended its answer to %s without a response", s->conf->name, method);
		return VEX_EIO;
	}
	if (vex_json_parse(x->body.p, x->body.len, &msg, &fe) < 0) {
		snprintf(why, whylen, "MCP server %s answered %s with invalid JSON", s->conf->name, method);
		return VEX_EIO;
	}
	/* one message, or (older revisions) a batch holding it */
	if (json_is_array(msg))
		json_array_foreach(msg, i, m)
			on_message(x, m);
	else
		on_message(x, msg);
	json_decref(msg);
	if (x->response)
		return 0;
	snprintf(why, whylen, "MCP server %s answered %s without its response", s->conf->name, method);
	return VEX_EIO;
}

static int http_request(struct mcp_server *s, const char *method, json_t *params, const struct mcp_wait *w,
			json_t **ret, char *why, size_t whylen)
{
	struct xfer x = { .s = s, .w = w, .max = mcp_message_max(s), .body = { .max = mcp_message_max(s) } };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	CURLM *multi = NULL;
	CURL *e = NULL;
	CURLcode cc = CURLE_OK;
	CURLMsg *m;
	char *text = NULL;
	int running = 1, left, rc, had_session, is_init = strcmp(method, "initialize") == 0;
	long code = 0;

	pthread_mutex_lock(&s->mu);
	x.id = ++s->next_id;
	had_session = s->session_id != NULL;
	pthread_mutex_unlock(&s->mu);
	text = vex_rpc_request(x.id, method, params);
	h = text ? make_headers(s, !is_init) : NULL;
	e = h ? make_easy(s, "POST", text, h, &x) : NULL;
	multi = e ? curl_multi_init() : NULL;
	if (!multi || curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_multi_add_handle(multi, e) != CURLM_OK) {
		rc = VEX_ENOMEM;
		goto out;
	}
	for (;;) {
		curl_multi_perform(multi, &running);
		if (x.response || !running)
			break;
		if (w->ctx && vex_exec_check(w->ctx) != VEX_STOP_NONE) {
			curl_multi_remove_handle(multi, e);
			cancel_call(s, x.id, w);
			rc = VEX_ESTATE;
			goto out;
		}
		if (w->deadline_us && vex_mono_us() >= w->deadline_us) {
			snprintf(why, whylen, "MCP server %s did not answer %s in time", s->conf->name, method);
			rc = VEX_EBUSY;
			goto out;
		}
		curl_multi_poll(multi, NULL, 0, VEX_EXEC_STOP_CHECK_MS, NULL);
	}
	while ((m = curl_multi_info_read(multi, &left)))
		if (m->msg == CURLMSG_DONE)
			cc = m->data.result;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	rc = finish(s, method, &x, cc, code, had_session && !is_init, errbuf, why, whylen);
	if (rc == 0 && is_init) {
		pthread_mutex_lock(&s->mu);
		free(s->session_id);
		s->session_id = x.session[0] ? strdup(x.session) : NULL;
		s->session_lost = 0;
		pthread_mutex_unlock(&s->mu);
	}
	if (rc == 0) {
		*ret = x.response;
		x.response = NULL;
	}
	send_replies(&x);
out:
	if (multi && e)
		curl_multi_remove_handle(multi, e);
	if (e)
		curl_easy_cleanup(e);
	if (multi)
		curl_multi_cleanup(multi);
	curl_slist_free_all(h);
	free(text);
	xfer_release(&x);
	return rc;
}

/* A new session: the next initialize starts without an Mcp-Session-Id. */
static int http_open(struct mcp_server *s, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	pthread_mutex_lock(&s->mu);
	free(s->session_id);
	s->session_id = NULL;
	s->session_lost = 0;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int http_lost(const struct mcp_server *s)
{
	return s->session_lost;
}

/* Nothing outlives a session but the session itself, which close ends. */
static int http_held(const struct mcp_server *s)
{
	(void)s;
	return 0;
}

const struct mcp_transport mcp_http_transport = {
	.open = http_open,
	.request = http_request,
	.notify = http_notify,
	.close = http_close,
	.lost = http_lost,
	.held = http_held,
};
