/* llm.c - the language-model client: one chat completion call to an OpenAI-compatible endpoint
 * (libcurl, retries, the reply parser). */
#include "runner/llm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"

#define BACKOFF_BASE_MS 500      /* the first wait before a retry (then doubled) */
#define BACKOFF_MAX_MS 30000     /* one computed wait at most */
#define RETRY_AFTER_MAX_MS 60000 /* a Retry-After is honoured up to this */
#define SNIPPET_MAX 200          /* bytes of a response body quoted in an error */

void vex_llm_reply_release(struct vex_llm_reply *r)
{
	size_t i;

	if (!r)
		return;
	free(r->content);
	for (i = 0; i < r->ncalls; i++) {
		free(r->calls[i].id);
		free(r->calls[i].name);
		free(r->calls[i].arguments);
	}
	free(r->calls);
	json_decref(r->message);
	free(r->model);
	memset(r, 0, sizeof(*r));
}

static int64_t int_member(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

/* One entry of message.tool_calls into "c" and the clean copy "sent" (for the next request). */
static int parse_call(const json_t *tc, size_t i, struct vex_llm_call *c, json_t *sent, char *err, size_t errlen)
{
	json_t *fn = json_object_get(tc, "function");
	json_t *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
	json_t *id = json_object_get(tc, "id");
	char *dumped = NULL;
	int rc = VEX_EINVAL;

	if (!json_is_object(tc) || !json_is_object(fn) || !json_is_string(name) || !json_string_length(name)) {
		snprintf(err, errlen, "choices[0].message.tool_calls[%zu] has no function name", i);
		goto out;
	}
	rc = VEX_ENOMEM;
	/* arguments is a JSON text; a server that sends the object itself is taken as meant */
	if (json_is_string(args))
		dumped = strdup(json_string_value(args));
	else if (!args || json_is_null(args))
		dumped = strdup("{}");
	else
		dumped = vex_json_dump(args);
	c->id = strdup(json_is_string(id) ? json_string_value(id) : "");
	c->name = strdup(json_string_value(name));
	if (!dumped || !c->id || !c->name)
		goto out;
	c->arguments = dumped;
	dumped = NULL;
	if (json_array_append_new(sent, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", c->id, "type", "function",
						  "function", "name", c->name, "arguments", c->arguments)))
		goto out;
	rc = 0;
out:
	free(dumped);
	return rc;
}

int vex_llm_reply_parse(const char *body, size_t len, struct vex_llm_reply *ret, char *err, size_t errlen)
{
	struct vex_llm_reply r = { 0 };
	json_t *root = NULL, *msg, *content, *calls, *model, *sent = NULL;
	json_error_t jerr;
	size_t i;
	int rc = VEX_EINVAL;

	root = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s", root ? "the body is not a JSON object" : "the body is not JSON");
		goto out;
	}
	msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message");
	if (!json_is_object(msg)) {
		snprintf(err, errlen, "no choices[0].message");
		goto out;
	}
	content = json_object_get(msg, "content");
	if (content && !json_is_null(content) && !json_is_string(content)) {
		snprintf(err, errlen, "choices[0].message.content is neither a string nor null");
		goto out;
	}
	calls = json_object_get(msg, "tool_calls");
	if (calls && !json_is_null(calls) && !json_is_array(calls)) {
		snprintf(err, errlen, "choices[0].message.tool_calls is not a list");
		goto out;
	}
	rc = VEX_ENOMEM;
	sent = json_array();
	if (!sent)
		goto out;
	if (json_array_size(calls) > 0) {
		r.calls = calloc(json_array_size(calls), sizeof(*r.calls));
		if (!r.calls)
			goto out;
	}
	for (i = 0; i < json_array_size(calls); i++) {
		rc = parse_call(json_array_get(calls, i), i, &r.calls[i], sent, err, errlen);
		r.ncalls = i + 1;
		if (rc < 0)
			goto out;
	}
	rc = VEX_ENOMEM;
	if (json_is_string(content) && !(r.content = strdup(json_string_value(content))))
		goto out;
	model = json_object_get(root, "model");
	if (json_is_string(model) && !(r.model = strdup(json_string_value(model))))
		goto out;
	r.tokens_in = int_member(json_object_get(root, "usage"), "prompt_tokens");
	r.tokens_out = int_member(json_object_get(root, "usage"), "completion_tokens");
	r.message = json_pack("{s:s, s:o}", "role", "assistant", "content",
			      r.content ? json_string(r.content) : json_null());
	if (!r.message)
		goto out;
	if (r.ncalls > 0 && json_object_set(r.message, "tool_calls", sent))
		goto out;
	*ret = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	vex_llm_reply_release(&r);
	json_decref(sent);
	json_decref(root);
	return rc;
}

/* ---- the HTTP exchange ---- */

struct exchange {
	struct vex_buf body; /* at most VEX_LLM_REPLY_MAX bytes */
	int toobig;
	int64_t retry_after_ms; /* -1 when none was sent */
};

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	struct exchange *x = user;
	size_t add = size * n;
	int rc = vex_buf_add(&x->body, p, add);

	if (rc == VEX_ETOOBIG)
		x->toobig = 1;
	return rc ? 0 : add;
}

/* Retry-After in seconds (the HTTP-date form is not honoured: the backoff applies). */
static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	struct exchange *x = user;
	size_t len = size * n;
	char buf[32], *end;
	long long s;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		size_t k = len - 12 < sizeof(buf) - 1 ? len - 12 : sizeof(buf) - 1;

		memcpy(buf, p + 12, k);
		buf[k] = '\0';
		s = strtoll(buf, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n')
			end++;
		if (end != buf && *end == '\0' && s >= 0)
			x->retry_after_ms = s * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : s * 1000;
	}
	return len;
}

/*
 * One POST. 0 when the endpoint answered (*ret_status set); VEX_EIO for a network failure or a
 * timeout ("err" says which); VEX_ESTATE when ctx said stop; VEX_ENOMEM.
 */
static int post_once(struct vex_exec_ctx *ctx, const char *url, struct curl_slist *headers, const char *payload,
		     struct exchange *x, long *ret_status, char *err, size_t errlen)
{
	const struct vex_config *cfg = ctx->cfg;
	CURL *h = curl_easy_init();
	CURLM *m = curl_multi_init();
	CURLMsg *done;
	CURLcode res = CURLE_OK;
	char ebuf[CURL_ERROR_SIZE] = "";
	int running = 1, left, added = 0, rc = VEX_ENOMEM;
	long status = 0;

	if (!h || !m)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->model_timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->model_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	if (curl_multi_add_handle(m, h) != CURLM_OK)
		goto out;
	added = 1;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = VEX_EIO;
			snprintf(err, errlen, "the model endpoint could not be reached (curl multi failed)");
			goto out;
		}
		if (!running)
			break;
		if (vex_exec_check(ctx) != VEX_STOP_NONE) {
			rc = VEX_ESTATE;
			goto out;
		}
		curl_multi_poll(m, NULL, 0, VEX_EXEC_STOP_CHECK_MS, NULL);
	}
	done = curl_multi_info_read(m, &left);
	if (done && done->msg == CURLMSG_DONE)
		res = done->data.result;
	if (x->toobig) {
		rc = VEX_EIO;
		snprintf(err, errlen, "the model endpoint's answer is longer than %d bytes", VEX_LLM_REPLY_MAX);
		goto out;
	}
	if (res == CURLE_OPERATION_TIMEDOUT) {
		rc = VEX_EIO;
		snprintf(err, errlen, "the model endpoint did not answer within %d ms", cfg->model_timeout_ms);
		goto out;
	}
	if (res != CURLE_OK) {
		rc = VEX_EIO;
		snprintf(err, errlen, "the model endpoint could not be reached: %s",
			 ebuf[0] ? ebuf : curl_easy_strerror(res));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = status;
	rc = 0;
out:
	if (added)
		curl_multi_remove_handle(m, h);
	if (h)
		curl_easy_cleanup(h);
	if (m)
		curl_multi_cleanup(m);
	return rc;
}

/* The first bytes of "s", printable ASCII only, for an error message. */
static void snippet(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; s && i < len && j + 1 < outlen && i < SNIPPET_MAX; i++)
		out[j++] = isprint((unsigned char)s[i]) ? s[i] : ' ';
	out[j] = '\0';
}

/* Exponential backoff with jitter: a uniform wait in [d/2, d], d = base * 2^try (capped). */
static int64_t backoff_ms(int attempt)
{
	int64_t d = BACKOFF_BASE_MS;
	unsigned int r = 0;

	while (attempt-- > 0 && d < BACKOFF_MAX_MS)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned int)vex_mono_us();
	return d / 2 + (int64_t)(r % (unsigned int)(d / 2 + 1));
}

/* The request body. NULL on ENOMEM. */
static char *request_body(const struct vex_config *cfg, const char *model, const json_t *messages,
			  const json_t *tools)
{
	json_t *req = json_pack("{s:s, s:O}", "model", model, "messages", messages);
	char *dump = NULL;

	if (!req)
		return NULL;
	if (json_array_size(tools) > 0 &&
	    (json_object_set(req, "tools", (json_t *)tools) ||
	     json_object_set_new(req, "tool_choice", json_string("auto"))))
		goto out;
	if (cfg->model_max_tokens > 0 &&
	    json_object_set_new(req, "max_tokens", json_integer(cfg->model_max_tokens)))
		goto out;
	dump = vex_json_dump(req);
out:
	json_decref(req);
	return dump;
}

int vex_llm_chat(struct vex_exec_ctx *ctx, const char *model, const json_t *messages, const json_t *tools,
		   struct vex_llm_reply *ret, char *err, size_t errlen)
{
	const struct vex_config *cfg = ctx->cfg;
	struct curl_slist *headers = NULL, *tmp;
	struct exchange x = { 0 };
	const char *key = cfg->model_api_key;
	char *payload = NULL, *auth = NULL, *url = NULL, why[VEX_LLM_ERR_MAX], snip[SNIPPET_MAX + 1];
	size_t blen = strlen(cfg->model_base_url), n;
	long status;
	int attempt, rc = VEX_ENOMEM;

	vex_buf_init(&x.body, VEX_LLM_REPLY_MAX);
	while (blen > 0 && cfg->model_base_url[blen - 1] == '/')
		blen--;
	n = blen + sizeof("/chat/completions");
	url = malloc(n);
	payload = request_body(cfg, model, messages, tools);
	if (!url || !payload)
		goto out;
	snprintf(url, n, "%.*s/chat/completions", (int)blen, cfg->model_base_url);
	if (!(tmp = curl_slist_append(headers, "Content-Type: application/json")))
		goto out;
	headers = tmp;
	if (!(tmp = curl_slist_append(headers, "Accept: application/json")))
		goto out;
	headers = tmp;
	if (key && key[0]) {
		n = strlen(key) + sizeof("Authorization: Bearer ");
		auth = malloc(n);
		if (!auth)
			goto out;
		snprintf(auth, n, "Authorization: Bearer %s", key);
		if (!(tmp = curl_slist_append(headers, auth)))
			goto out;
		headers = tmp;
	}
	for (attempt = 0;; attempt++) {
		int64_t wait_ms;

		vex_buf_reset(&x.body);
		x.toobig = 0;
		x.retry_after_ms = -1;
		status = 0;
		rc = post_once(ctx, url, headers, payload, &x, &status, why, sizeof(why));
		if (rc == VEX_ESTATE || rc == VEX_ENOMEM)
			goto out;
		if (rc == 0 && status >= 200 && status < 300) {
			rc = vex_llm_reply_parse(x.body.p ? x.body.p : "", x.body.len, ret, why, sizeof(why));
			if (rc == VEX_EINVAL) {
				rc = VEX_EIO;
				snippet(x.body.p, x.body.len, snip, sizeof(snip));
				snprintf(err, errlen,
					 "the model endpoint answered something that is not a chat completion: %s "
					 "(body: %s)", why, snip);
			}
			goto out;
		}
		if (rc == 0) {
			snippet(x.body.p, x.body.len, snip, sizeof(snip));
			snprintf(why, sizeof(why), "the model endpoint answered HTTP %ld: %s", status, snip);
		}
		if (rc == 0 && status != 429 && status < 500) {
			rc = VEX_EIO;
			snprintf(err, errlen, "%s", why);
			goto out;
		}
		if (attempt >= cfg->model_retries) {
			rc = VEX_EIO;
			snprintf(err, errlen, "%s (%d attempts)", why, attempt + 1);
			goto out;
		}
		wait_ms = x.retry_after_ms >= 0 ? x.retry_after_ms : backoff_ms(attempt);
		vex_log(VEX_LOG_INFO, "model call retried", "job_id", ctx->job->id, "reason", why, NULL);
		rc = vex_exec_sleep_until(ctx, vex_mono_us() + wait_ms * 1000);
		if (rc < 0)
			goto out;
	}
out:
	vex_buf_release(&x.body);
	curl_slist_free_all(headers);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	free(auth);
	free(payload);
	free(url);
	return rc;
}
