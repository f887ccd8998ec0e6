/* webhooks.c - the deliverer thread: job events fanned out to webhooks, sent concurrently with libcurl multi. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "runner/hookretry.h"
#include "runner/hooksign.h"
#include "core/base/ids.h"
#include "core/jobs/jobview.h"
#include "core/base/log.h"
#include "core/hooks/netguard.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "core/base/traceparent.h"
#include "runner/handles.h"
#include "runner/pool.h"
#include "runner/retention.h"
#include "runner/ticker.h"
#include "runner/webhooks.h"
#include "core/metrics/metrics.h"

#define TICK_MS 50                  /* fan-out and claim this often (sooner when slots free up with work waiting) */
#define FANOUT_BATCH 500            /* job events per fan-out transaction */
#define FANOUT_ROUNDS 20            /* fan-out transactions per tick at most */
#define LEASE_MARGIN_MS 5000        /* a claim outlives the attempt's timeout by this */
#define READ_MAX (64 * 1024)        /* bytes of an answer read before the connection is cut */
#define RECORD_TRIES 3
#define WARN_EVERY_US (10 * 1000000LL)
#define ADDR_TEXT 64

struct vex_webhooks;

/* One attempt in flight. */
struct transfer {
	struct vex_webhooks *w;
	size_t slot;
	CURL *easy;
	struct curl_slist *headers;
	struct vex_delivery_claim c;               /* owned */
	char body[VEX_DELIVERY_BODY_CAP + 1];      /* the answer's first bytes (NUL bytes as '?') */
	size_t body_len;
	size_t read;                               /* bytes of the answer seen */
	int cut;                                   /* reading stopped at READ_MAX */
	int64_t retry_after_us;                    /* -1: the answer had none */
	char refused[ADDR_TEXT];                   /* the first address the guard refused */
	char errbuf[CURL_ERROR_SIZE];
	int64_t at;                                /* wall clock when the attempt began */
	int64_t start_mono;
	int64_t end_mono;
	int answered;                              /* an HTTP answer came (code) */
	long code;
	char error[CURL_ERROR_SIZE + 96];          /* what went wrong, in words */
};

struct vex_webhooks {
	const struct vex_config *cfg;
	char runner_id[VEX_RUNNER_ID_MAX + 1];
	struct vex_store *store;
	struct vex_cache *cache; /* opened by the ticker; pruned jobs' copies are deleted through it */
	struct vex_retention retention;
	struct vex_ticker tick;
	CURLM *multi;
	struct transfer **slots; /* cfg->hook_concurrency */
	struct transfer **batch; /* scratch: the transfers one reap finishes */
	struct vex_delivery_record *recs; /* scratch: their records */
	size_t nslots;
	size_t inflight;
	int more;                /* the last claim filled every free slot: claim again when one frees */
	int64_t warned_mono;
	int curl_inited;
	struct vex_sealring keys; /* opens the hooks' sealed secrets */
};

/* Log a store failure at most every WARN_EVERY_US (the loop retries every tick). */
static void warn(struct vex_webhooks *w, const char *what, int rc)
{
	int64_t m = vex_mono_us();

	if (w->warned_mono && m - w->warned_mono < WARN_EVERY_US)
		return;
	w->warned_mono = m;
	vex_log(VEX_LOG_WARN, what, "error", vex_strerror(rc), NULL);
}

/* ---- the body: {"event","timestamp","job":<corex job as at the event>} ---- */

static int build_payload(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event,
			 char **ret)
{
	char when[VEX_RFC3339_LEN];
	struct vex_job *j = NULL;
	json_t *o = NULL, *job;
	char *text = NULL;
	int rc;

	(void)arg;
	rc = vex_store_job_get(s, e->job_id, NULL, &j);
	if (rc)
		goto out;
	rc = vex_job_apply_event(j, e);
	if (rc)
		goto out;
	rc = VEX_ENOMEM;
	job = vex_jobview_corex(j, 0);
	if (!job)
		goto out;
	vex_rfc3339(e->at, when);
	o = json_pack("{s:s, s:s, s:o}", "event", event, "timestamp", when, "job", job);
	if (!o)
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto out;
	*ret = text;
	rc = 0;
out:
	json_decref(o);
	vex_job_free(j);
	return rc;
}

/* ---- curl callbacks ---- */

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	const void *p = NULL;

	if (sa->sa_family == AF_INET)
		p = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!p || !inet_ntop(sa->sa_family, p, out, (socklen_t)cap))
		snprintf(out, cap, "(family %d)", sa->sa_family);
}

/* Every connection the transfer opens comes here: the address is checked before the socket exists. */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = arg;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !vex_netguard_addr_allowed(&a->addr, t->w->cfg->hooks_allow_private)) {
		if (!t->refused[0])
			addr_text(&a->addr, t->refused, sizeof(t->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n, keep, i;

	keep = VEX_DELIVERY_BODY_CAP - t->body_len;
	if (keep > len)
		keep = len;
	for (i = 0; i < keep; i++)
		t->body[t->body_len++] = data[i] ? data[i] : '?';
	t->body[t->body_len] = '\0';
	t->read += len;
	if (t->read > READ_MAX) {
		t->cut = 1;
		return 0; /* enough: the rest is not read */
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	static const char name[] = "Retry-After:";
	struct transfer *t = arg;
	size_t len = size * n, vlen;
	char value[64];
	int64_t wait;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		t->retry_after_us = -1; /* a new response (after a 100 Continue, say) */
		return len;
	}
	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		vlen = len - (sizeof(name) - 1);
		if (vlen < sizeof(value)) {
			memcpy(value, data + sizeof(name) - 1, vlen);
			value[vlen] = '\0';
			if (vex_hookretry_after_parse(value, vex_now_us(), &wait) == 0)
				t->retry_after_us = wait;
		}
	}
	return len;
}

/* ---- attempts ---- */

static void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	vex_delivery_release(&t->c.d);
	free(t->c.url);
	free(t->c.secret);
	free(t);
}

/* Append "name: value" to the transfer's header list. 0 or VEX_ENOMEM. */
static int add_header(struct transfer *t, const char *name, const char *value)
{
	char line[256];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	l = curl_slist_append(t->headers, line);
	if (!l)
		return VEX_ENOMEM;
	t->headers = l;
	return 0;
}

/* The signed headers of this attempt: the timestamp is now, the id the delivery's own. The
 * hook's secret is opened for the signing only (a plaintext one predates sealing). */
static int sign(struct transfer *t)
{
	char corex[VEX_HOOKSIGN_COREX_LEN + 1], std[VEX_HOOKSIGN_STANDARD_LEN + 1], ts[24];
	char ad[VEX_HOOK_SECRET_AD_MAX + 1];
	const char *body = t->c.d.payload, *secret = t->c.secret;
	char *plain = NULL;
	struct curl_slist *l;
	int64_t ts_s = t->at / 1000000;
	size_t len = strlen(body);
	int rc = 0;

	if (vex_sealbox_is_sealed(secret)) {
		vex_hook_secret_ad(t->c.d.hook_id, ad);
		rc = vex_sealbox_open(&t->w->keys, ad, secret, &plain);
		secret = plain;
	}
	if (rc == 0)
		rc = vex_hooksign_corex(secret, body, len, corex);
	if (rc == 0)
		rc = vex_hooksign_standard(secret, t->c.d.id, ts_s, body, len, std, sizeof(std));
	if (plain) {
		OPENSSL_cleanse(plain, strlen(plain));
		free(plain);
	}
	if (rc)
		return rc;
	snprintf(ts, sizeof(ts), "%" PRId64, ts_s);
	if (add_header(t, "Content-Type", "application/json") || add_header(t, "X-Agent-CoreX-Signature", corex) ||
	    add_header(t, "webhook-id", t->c.d.id) || add_header(t, "webhook-timestamp", ts) ||
	    add_header(t, "webhook-signature", std))
		return VEX_ENOMEM;
	/* the submit's trace context; checked again, so that a stored value never makes a header line */
	if (vex_traceparent_valid(t->c.traceparent) && add_header(t, "traceparent", t->c.traceparent))
		return VEX_ENOMEM;
	/* no "Expect: 100-continue" round trip for larger bodies */
	l = curl_slist_append(t->headers, "Expect:");
	if (!l)
		return VEX_ENOMEM;
	t->headers = l;
	return 0;
}

static int setup_easy(struct transfer *t)
{
	const struct vex_config *cfg = t->w->cfg;
	CURL *e = curl_easy_init();
	CURLcode rc = CURLE_OK;

	if (!e)
		return VEX_ENOMEM;
	t->easy = e;
	t->errbuf[0] = '\0';
	rc |= curl_easy_setopt(e, CURLOPT_URL, t->c.url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->c.d.payload);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->c.d.payload));
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "vex-webhooks/1");
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->hook_timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open);
	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	return rc == CURLE_OK ? 0 : VEX_ERROR;
}

/* What attempt "t" (finished: answered, code and error set) means for its delivery, per the schedule. */
static void outcome_of(const struct vex_config *cfg, const struct transfer *t, int64_t now,
		       struct vex_delivery_record *r)
{
	int ok = t->answered && t->code >= 200 && t->code < 300;
	struct vex_delivery_outcome *o = &r->outcome;
	uint32_t rnd = 0x80000000u;
	int64_t wait;

	memset(r, 0, sizeof(*r));
	r->id = t->c.d.id;
	r->attempt.at = t->at;
	r->attempt.status_code = t->answered ? (int)t->code : 0;
	r->attempt.error = ok ? NULL : (char *)t->error;
	r->attempt.duration_us = t->end_mono - t->start_mono;
	r->attempt.response_body = (t->body_len > 0 || t->answered) ? (char *)t->body : NULL;
	o->disable_after_us = (int64_t)cfg->hook_disable_after_s * 1000000;
	if (ok) {
		o->status = VEX_DLV_DELIVERED;
		return;
	}
	if (t->answered && t->code == 410) {
		o->status = VEX_DLV_FAILED;
		o->gone = 1;
		return;
	}
	vex_random_bytes(&rnd, sizeof(rnd));
	if (vex_hookretry_wait(cfg, t->c.d.attempts + 1, t->retry_after_us > 0 ? t->retry_after_us : 0, rnd, &wait) <
	    0) {
		o->status = VEX_DLV_FAILED; /* the schedule is used up */
		return;
	}
	o->status = VEX_DLV_PENDING;
	o->next_at = now + wait;
}

/* A failed attempt, in the log. */
static void log_failure(const struct transfer *t, const struct vex_delivery_record *r)
{
	char num[3][24], next[VEX_RFC3339_LEN];

	snprintf(num[0], sizeof(num[0]), "%d", t->c.d.attempts + 1);
	snprintf(num[1], sizeof(num[1]), "%ld", t->answered ? t->code : 0L);
	snprintf(num[2], sizeof(num[2]), "%" PRId64, r->attempt.duration_us / 1000);
	if (r->outcome.status == VEX_DLV_PENDING)
		vex_rfc3339(r->outcome.next_at, next);
	else
		snprintf(next, sizeof(next), "none");
	vex_log(VEX_LOG_INFO, "webhook attempt failed", "hook_id", t->c.d.hook_id, "delivery_id", t->c.d.id, "event",
		t->c.d.event, "attempt", num[0], "status", num[1], "error", t->error, "duration_ms", num[2],
		"next_attempt", next, NULL);
}

/* Record the "n" finished transfers "ts" in one transaction (one fsync for a burst of answers), log the
 * failures, and free them. Unrecorded (the store failed), their claims run out and they are sent again. */
static void settle(struct vex_webhooks *w, struct transfer **ts, size_t n)
{
	int64_t now = vex_now_us();
	int rc = VEX_EBUSY, i;
	size_t k;

	if (n == 0)
		return;
	for (k = 0; k < n; k++)
		outcome_of(w->cfg, ts[k], now, &w->recs[k]);
	for (i = 0; i < RECORD_TRIES && rc == VEX_EBUSY; i++)
		rc = vex_store_deliveries_record(w->store, w->runner_id, w->recs, n, now);
	if (rc < 0)
		vex_log(VEX_LOG_WARN, "webhook attempts not recorded (they will be made again)", "delivery_id",
			ts[0]->c.d.id, "error", vex_strerror(rc), NULL);
	for (k = 0; k < n; k++) {
		if (rc == 0)
			vex_metrics_inc(w->recs[k].outcome.status == VEX_DLV_DELIVERED ? VEX_M_HOOK_DELIVERED
					: w->recs[k].outcome.status == VEX_DLV_PENDING	 ? VEX_M_HOOK_RETRY
											 : VEX_M_HOOK_FAILED);
		if (w->recs[k].outcome.status != VEX_DLV_DELIVERED)
			log_failure(ts[k], &w->recs[k]);
		if (rc == 0 && w->recs[k].disabled)
			vex_log(VEX_LOG_WARN, "webhook disabled", "hook_id", ts[k]->c.d.hook_id, "reason",
				w->recs[k].outcome.gone ? VEX_HOOK_GONE_REASON : "failing for too long", NULL);
		transfer_free(ts[k]);
	}
	w->more = 1; /* a delivery done may let the next of its job go: look again at once */
}

/* An attempt that could not even begin: recorded as a failure at once. */
static void fail_early(struct vex_webhooks *w, struct transfer *t, const char *why)
{
	t->answered = 0;
	t->end_mono = vex_mono_us();
	snprintf(t->error, sizeof(t->error), "%s", why);
	settle(w, &t, 1);
}

/* Begin sending claimed delivery "c" (moved into the transfer) in a free slot. */
static void start(struct vex_webhooks *w, struct vex_delivery_claim *c)
{
	struct transfer *t = calloc(1, sizeof(*t));
	size_t i;

	if (!t) {
		vex_delivery_release(&c->d);
		free(c->url);
		free(c->secret);
		memset(c, 0, sizeof(*c));
		return; /* the claim runs out; another try later */
	}
	t->w = w;
	t->c = *c;
	memset(c, 0, sizeof(*c));
	t->retry_after_us = -1;
	t->at = vex_now_us();
	t->start_mono = vex_mono_us();
	if (sign(t) < 0) {
		fail_early(w, t, "the hook's secret cannot sign deliveries");
		return;
	}
	for (i = 0; i < w->nslots && w->slots[i]; i++)
		;
	if (i == w->nslots || setup_easy(t) < 0 || curl_multi_add_handle(w->multi, t->easy) != CURLM_OK) {
		fail_early(w, t, "the HTTP client could not be set up");
		return;
	}
	t->slot = i;
	w->slots[i] = t;
	w->inflight++;
}

/* A transfer ended with "res": what the receiver said, or why it said nothing. It leaves its slot. */
static void done(struct vex_webhooks *w, struct transfer *t, CURLcode res)
{
	long code = 0;

	t->end_mono = vex_mono_us();
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	t->code = code;
	t->answered = code > 0 && (res == CURLE_OK || (res == CURLE_WRITE_ERROR && t->cut));
	if (t->answered && code >= 300 && code < 400)
		snprintf(t->error, sizeof(t->error), "the receiver answered %ld (redirects are not followed)", code);
	else if (t->answered)
		snprintf(t->error, sizeof(t->error), "the receiver answered %ld", code);
	else if (t->refused[0])
		snprintf(t->error, sizeof(t->error), "target address %s is not allowed", t->refused);
	else if (res == CURLE_OPERATION_TIMEDOUT)
		snprintf(t->error, sizeof(t->error), "no answer within %d ms", w->cfg->hook_timeout_ms);
	else
		snprintf(t->error, sizeof(t->error), "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
	curl_multi_remove_handle(w->multi, t->easy);
	w->slots[t->slot] = NULL;
	w->inflight--;
}

/* Every transfer that finished since the last look, recorded together. */
static void reap(struct vex_webhooks *w)
{
	struct transfer *t;
	size_t n = 0;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		t = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t)
			continue;
		done(w, t, m->data.result);
		w->batch[n++] = t;
	}
	settle(w, w->batch, n);
}

/* ---- the loop ---- */

static void round_trip(struct vex_webhooks *w)
{
	struct vex_delivery_claim_list l = { NULL, 0 };
	int64_t now = vex_now_us(), lease;
	int events = 0, rc, i, room;

	for (i = 0; i < FANOUT_ROUNDS && !vex_ticker_stopping(&w->tick); i++) {
		rc = vex_store_hooks_fanout(w->store, FANOUT_BATCH, build_payload, w, now, &events, NULL);
		if (rc < 0) {
			warn(w, "webhook fan-out failed", rc);
			break;
		}
		if (events < FANOUT_BATCH)
			break;
	}
	room = (int)(w->nslots - w->inflight);
	w->more = 0;
	if (room <= 0)
		return;
	lease = ((int64_t)w->cfg->hook_timeout_ms + LEASE_MARGIN_MS) * 1000;
	rc = vex_store_deliveries_claim(w->store, w->runner_id, now, lease, room, w->cfg->hook_per_hook_inflight, &l);
	if (rc < 0) {
		warn(w, "webhook claim failed", rc);
		return;
	}
	for (size_t k = 0; k < l.n; k++)
		start(w, &l.items[k]);
	w->more = l.n == (size_t)room;
	vex_delivery_claim_list_release(&l);
}

/* Stopping: abandon what is in flight and give the claims back at once. */
static void abandon(struct vex_webhooks *w)
{
	int n = 0;

	for (size_t i = 0; i < w->nslots; i++) {
		struct transfer *t = w->slots[i];

		if (!t)
			continue;
		curl_multi_remove_handle(w->multi, t->easy);
		transfer_free(t);
		w->slots[i] = NULL;
		n++;
	}
	w->inflight = 0;
	if (w->store && vex_store_deliveries_unclaim(w->store, w->runner_id, NULL) < 0)
		vex_log(VEX_LOG_WARN, "webhook claims not released (they run out by themselves)", NULL);
	if (n > 0) {
		char num[24];

		snprintf(num, sizeof(num), "%d", n);
		vex_log(VEX_LOG_INFO, "webhook attempts abandoned at shutdown", "count", num, NULL);
	}
}

static void *deliver_main(void *arg)
{
	struct vex_webhooks *w = arg;
	int64_t mono, next_round = 0;
	int running, wait_ms;

	if (vex_handles_open(&w->tick, w->cfg, &w->store, &w->cache) < 0)
		goto out;
	/* restarted under the same id: what this id held before is due again at once */
	vex_store_deliveries_unclaim(w->store, w->runner_id, NULL);
	vex_retention_init(&w->retention, w->cfg, vex_mono_us());
	while (!vex_ticker_stopping(&w->tick)) {
		mono = vex_mono_us();
		if (mono >= next_round || (w->more && w->inflight < w->nslots)) {
			round_trip(w);
			next_round = mono + TICK_MS * 1000;
		}
		vex_retention_tick(&w->retention, w->store, w->cache, mono);
		curl_multi_perform(w->multi, &running);
		reap(w);
		if (w->more && w->inflight < w->nslots)
			continue;
		wait_ms = (int)((next_round - vex_mono_us()) / 1000);
		if (wait_ms > 0)
			curl_multi_poll(w->multi, NULL, 0, wait_ms > TICK_MS ? TICK_MS : wait_ms, NULL);
	}
out:
	abandon(w);
	vex_handles_close(&w->store, &w->cache);
	return NULL;
}

int vex_webhooks_start(const struct vex_config *cfg, const char *runner_id, struct vex_webhooks **ret)
{
	struct vex_webhooks *w = NULL;
	int rc = VEX_EINVAL;

	if (!cfg || !runner_id || !*runner_id || strlen(runner_id) > VEX_RUNNER_ID_MAX || cfg->hook_concurrency < 1)
		goto out;
	rc = VEX_ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	w->cfg = cfg;
	snprintf(w->runner_id, sizeof(w->runner_id), "%s", runner_id);
	w->nslots = (size_t)cfg->hook_concurrency;
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	w->batch = calloc(w->nslots, sizeof(*w->batch));
	w->recs = calloc(w->nslots, sizeof(*w->recs));
	if (!w->slots || !w->batch || !w->recs)
		goto out;
	{
		char err[512];

		/* main() made the key file (vex_hookkeys_prepare): read it only. */
		rc = vex_sealring_load(cfg->hook_key_file, cfg->hook_key_file_previous, 0, &w->keys, err, sizeof(err));
		if (rc) {
			vex_log(VEX_LOG_ERROR, "cannot read the webhook key", "error", err, NULL);
			goto out;
		}
	}
	rc = VEX_ERROR;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out;
	w->curl_inited = 1;
	w->multi = curl_multi_init();
	if (!w->multi)
		goto out;
	if (vex_ticker_start(&w->tick, deliver_main, w) != 0)
		goto out;
	*ret = w;
	w = NULL;
	rc = 0;
out:
	vex_webhooks_free(w);
	return rc;
}

void vex_webhooks_free(struct vex_webhooks *w)
{
	if (!w)
		return;
	vex_ticker_release(&w->tick);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->curl_inited)
		curl_global_cleanup();
	free(w->slots);
	free(w->batch);
	free(w->recs);
	vex_sealring_release(&w->keys);
	free(w);
}
