/* http.c - vexctl's requests over HTTPS with libcurl: capped answers, the server's errors, TLS errors. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/version.h"
#include "tools/vexctl/http.h"
#include "tools/vexctl/output.h"

#define CONNECT_TIMEOUT_S 10L
#define CALL_TIMEOUT_S 120L
/* A stream sends a ping every [streams] ping_s (15 s): a minute of silence means a dead connection. */
#define STREAM_IDLE_S 60L

void vc_answer_release(struct vc_answer *a)
{
	json_decref(a->json);
	a->json = NULL;
	vex_buf_release(&a->body);
}

/* Appends to the capped buffer "arg"; a full buffer stops the transfer (curl: write error). */
static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct vex_buf *b = arg;

	return vex_buf_add(b, p, size * n) == 0 ? size * n : 0;
}

/* The options every request has; "headers" receives the list to free. 0 or VEX_ENOMEM. */
static int setup(struct vc_client *c, const char *method, const char *path, const char *body, const char *accept,
		 const char *extra_header, struct curl_slist **headers, char *errbuf)
{
	struct curl_slist *h = NULL, *t;
	char url[4096];
	CURL *e = c->curl;
	CURLcode rc = CURLE_OK;
	const char *lines[] = { c->auth, accept, body ? "Content-Type: application/json" : NULL,
				extra_header, "Expect:" };

	if (snprintf(url, sizeof(url), "%s%s", c->url, path) >= (int)sizeof(url))
		return VEX_ETOOBIG;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		t = curl_slist_append(h, lines[i]);
		if (!t) {
			curl_slist_free_all(h);
			return VEX_ENOMEM;
		}
		h = t;
	}
	curl_easy_reset(e);
	rc |= curl_easy_setopt(e, CURLOPT_URL, url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cacert[0])
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "vexctl/" VEX_VERSION);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else if (strcmp(method, "GET")) {
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	if (rc != CURLE_OK) {
		curl_slist_free_all(h);
		return VEX_ENOMEM;
	}
	errbuf[0] = '\0';
	*headers = h;
	return 0;
}

void vc_say_curl_error(struct vc_client *c, CURLcode code, const char *errbuf)
{
	const char *what = "cannot reach";

	switch (code) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		what = "TLS failed with";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out talking to";
		break;
	default:
		break;
	}
	fprintf(stderr, "vexctl: %s %s: %s%s\n", what, c->url, errbuf && *errbuf ? errbuf : curl_easy_strerror(code),
		what[0] == 'T' && !c->cacert[0] ? " (a development certificate needs --cacert FILE or VEX_CA)" : "");
}

void vc_say_api_error(const struct vc_answer *a)
{
	json_t *err = a->json ? json_object_get(a->json, "error") : NULL;
	const char *code = NULL, *msg = NULL, *field = NULL;
	char clean[512];

	if (json_is_object(err)) {
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
		field = json_string_value(json_object_get(err, "field"));
	} else if (json_is_string(err)) { /* another dialect's flat shape */
		msg = json_string_value(err);
	}
	fprintf(stderr, "vexctl: HTTP %ld", a->status);
	if (code)
		fprintf(stderr, " %s", vc_clean(code, clean, sizeof(clean)));
	if (msg)
		fprintf(stderr, ": %s", vc_clean(msg, clean, sizeof(clean)));
	if (field)
		fprintf(stderr, " (field %s)", vc_clean(field, clean, sizeof(clean)));
	fprintf(stderr, "\n");
}

int vc_call(struct vc_client *c, const char *method, const char *path, const char *body, struct vc_answer *a)
{
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE];
	json_error_t jerr;
	CURLcode code;
	int status = VC_EXIT_API;

	memset(a, 0, sizeof(*a));
	vex_buf_init(&a->body, VC_ANSWER_MAX);
	if (setup(c, method, path, body, "Accept: application/json", NULL, &headers, errbuf) < 0) {
		fprintf(stderr, "vexctl: cannot build the request (out of memory, or a path too long)\n");
		goto out;
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, CALL_TIMEOUT_S);
	code = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status);
	if (code == CURLE_WRITE_ERROR && a->body.err) {
		fprintf(stderr, "vexctl: the server's answer is larger than %u MiB: not read\n", VC_ANSWER_MAX >> 20);
		goto out;
	}
	if (code != CURLE_OK) {
		vc_say_curl_error(c, code, errbuf);
		status = VC_EXIT_CONN;
		goto out;
	}
	if (a->body.len) {
		a->json = json_loadb(a->body.p, a->body.len, JSON_DECODE_ANY, &jerr);
		if (!a->json && a->status >= 200 && a->status < 300) {
			fprintf(stderr, "vexctl: HTTP %ld: the server's answer is not JSON (%s, line %d)\n", a->status,
				jerr.text, jerr.line);
			goto out;
		}
	}
	if (a->status < 200 || a->status >= 300) {
		vc_say_api_error(a);
		goto out;
	}
	status = 0;
out:
	curl_slist_free_all(headers);
	return status;
}

/* What vc_stream's write callback sees: the caller's callback while the answer is 200, else errbody. */
struct stream_sink {
	CURL *curl;
	size_t (*on_data)(char *p, size_t size, size_t n, void *arg);
	void *arg;
	struct vex_buf *errbody;
};

static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct stream_sink *s = arg;
	long st = 0;

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &st);
	if (st == 200)
		return s->on_data(p, size, n, s->arg);
	return vex_buf_add(s->errbody, p, size * n) == 0 ? size * n : 0;
}

int vc_stream(struct vc_client *c, const char *path, long long last_event_id,
	      size_t (*on_data)(char *p, size_t size, size_t n, void *arg), void *arg, long *ret_status,
	      struct vex_buf *errbody, CURLcode *ret_curl)
{
	struct stream_sink sink = { c->curl, on_data, arg, errbody };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE], leid[64] = "";
	CURLcode code;
	int rc;

	*ret_status = 0;
	*ret_curl = CURLE_OK;
	if (last_event_id > 0)
		snprintf(leid, sizeof(leid), "Last-Event-ID: %lld", last_event_id);
	rc = setup(c, "GET", path, NULL, "Accept: text/event-stream", leid[0] ? leid : NULL, &headers, errbuf);
	if (rc < 0)
		goto out;
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, STREAM_IDLE_S);
	code = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, ret_status);
	*ret_curl = code;
	if (code != CURLE_OK) {
		if (code != CURLE_WRITE_ERROR)
			vc_say_curl_error(c, code, errbuf);
		rc = VEX_EIO;
	}
out:
	curl_slist_free_all(headers);
	return rc;
}

/*
 * One path segment, percent-encoded with curl_easy_escape into "b". nginx decodes %2F and then
 * resolves "..", so a segment with a slash, or "." / "..", is refused rather than escaped.
 */
static int add_escaped(struct vex_buf *b, const char *s)
{
	char *esc;
	int rc;

	if (!*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return VEX_EINVAL;
	esc = curl_easy_escape(NULL, s, 0);
	if (!esc)
		return VEX_ENOMEM;
	rc = vex_buf_puts(b, esc);
	curl_free(esc);
	return rc;
}

int vc_path(char *out, size_t n, const char *fmt, ...)
{
	struct vex_buf b;
	va_list ap;
	int rc = 0;

	vex_buf_init(&b, n - 1);
	rc = vex_buf_puts(&b, "/api/v1/");
	va_start(ap, fmt);
	for (const char *p = fmt; *p && rc == 0; p++) {
		if (p[0] == '%' && p[1] == 's') {
			rc = add_escaped(&b, va_arg(ap, const char *));
			p++;
		} else {
			rc = vex_buf_add(&b, p, 1);
		}
	}
	va_end(ap);
	if (rc == 0)
		memcpy(out, b.p, b.len + 1);
	vex_buf_release(&b);
	return rc;
}

int vc_query(char *path, size_t n, const char *name, const char *value)
{
	char *esc;
	size_t len = strlen(path);
	int w;

	if (!value)
		return 0;
	esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return VEX_ENOMEM;
	w = snprintf(path + len, n - len, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, esc);
	curl_free(esc);
	if (w < 0 || (size_t)w >= n - len) {
		path[len] = '\0';
		return VEX_ETOOBIG;
	}
	return 0;
}
