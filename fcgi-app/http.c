/* http.c - request parsing (path, query, headers, bounded body) and response writing over libfcgi. */
#include "fcgi-app/http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/err.h"
#include "core/base/hex.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"

#define READ_CHUNK (1 << 20)

static const char fallback_500[] =
	"{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}}";

int vex_http_decode(const char *in, size_t len, int plus, char *out, size_t outlen)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	if (outlen == 0)
		return VEX_ETOOBIG;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '%') {
			if (len - i < 3)
				return VEX_EINVAL;
			hi = vex_hex_value(in[i + 1]);
			lo = vex_hex_value(in[i + 2]);
			if (hi < 0 || lo < 0)
				return VEX_EINVAL;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				return VEX_EINVAL;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return VEX_ETOOBIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int vex_http_request_id_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= VEX_HTTP_REQID_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return n > 0;
}

static void parse_content_length(struct vex_http_req *r)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->fcgx->envp);
	long long v = 0;
	const char *p;

	r->content_length = -1;
	r->content_length_bad = 0;
	if (cl == NULL || cl[0] == '\0')
		return;
	/* Digits only: strtoll would accept signs and blanks. */
	for (p = cl; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (LLONG_MAX - 9) / 10) {
			r->content_length_bad = 1;
			return;
		}
		v = v * 10 + (*p - '0');
	}
	r->content_length = v;
}

int vex_http_req_begin(struct vex_http_req *r, FCGX_Request *f)
{
	const char *doc, *uri, *q, *rid;
	size_t n;
	int rc = 0;

	r->fcgx = f;
	r->start_mono_us = vex_mono_us();
	r->now_us = vex_now_us();
	r->body_len = 0;
	r->method = FCGX_GetParam("REQUEST_METHOD", f->envp);
	if (r->method == NULL)
		r->method = "GET";
	q = FCGX_GetParam("QUERY_STRING", f->envp);
	r->query = q != NULL ? q : "";

	rid = FCGX_GetParam("HTTP_X_REQUEST_ID", f->envp);
	if (vex_http_request_id_ok(rid))
		memcpy(r->request_id, rid, strlen(rid) + 1);
	else
		vex_uuid7(r->request_id);

	parse_content_length(r);

	/* nginx's DOCUMENT_URI is already decoded and normalised; REQUEST_URI is raw. */
	doc = FCGX_GetParam("DOCUMENT_URI", f->envp);
	if (doc != NULL && doc[0] != '\0') {
		n = strlen(doc);
		if (n >= sizeof(r->path)) {
			rc = VEX_EINVAL;
			goto out;
		}
		memcpy(r->path, doc, n + 1);
		goto out;
	}
	uri = FCGX_GetParam("REQUEST_URI", f->envp);
	if (uri == NULL || uri[0] == '\0') {
		memcpy(r->path, "/", 2);
		goto out;
	}
	n = strcspn(uri, "?");
	rc = vex_http_decode(uri, n, 0, r->path, sizeof(r->path));
	if (rc != 0)
		rc = VEX_EINVAL;
out:
	if (rc != 0)
		memcpy(r->path, "/", 2);
	return rc;
}

void vex_http_req_release(struct vex_http_req *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
	r->body_cap = 0;
	r->body_len = 0;
}

const char *vex_http_param(const struct vex_http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

int vex_http_query(const struct vex_http_req *r, const char *key, char *out, size_t outlen)
{
	return vex_http_query_get(r->query, key, out, outlen);
}

int vex_http_query_long(const struct vex_http_req *r, const char *key, long def, long lo, long hi, int clamp,
			long *ret)
{
	char buf[24], *end;
	long v;
	int rc;

	rc = vex_http_query(r, key, buf, sizeof(buf));
	if (rc == VEX_ENOTFOUND) {
		*ret = def;
		return 0;
	}
	if (rc != 0 || buf[0] < '0' || buf[0] > '9')
		return VEX_EINVAL;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end != '\0' || v < lo || (v > hi && !clamp))
		return VEX_EINVAL;
	*ret = v > hi ? hi : v;
	return 0;
}

int vex_http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	const char *p = query, *amp, *eq;
	size_t klen = strlen(key), plen, nlen;
	char name[64];

	while (*p != '\0') {
		amp = strchr(p, '&');
		plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - p) : plen;
		/* Names are short; decode only what could match. */
		if (nlen > 0 && nlen < 3 * sizeof(name) && vex_http_decode(p, nlen, 1, name, sizeof(name)) == 0 &&
		    strlen(name) == klen && memcmp(name, key, klen) == 0) {
			if (eq == NULL) {
				if (outlen == 0)
					return VEX_ETOOBIG;
				out[0] = '\0';
				return 0;
			}
			return vex_http_decode(eq + 1, plen - nlen - 1, 1, out, outlen);
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return VEX_ENOTFOUND;
}

int vex_http_is_json(const char *ct)
{
	static const char mt[] = "application/json";
	size_t n = sizeof(mt) - 1;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, mt, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int vex_http_read_body(struct vex_http_req *r)
{
	size_t want, got = 0;
	int n, rc = 0;
	char *nb;

	r->body_len = 0;
	want = r->content_length > 0 ? (size_t)r->content_length : 0;
	if (r->body_cap < want + 1) {
		/* Grown once and kept: the next request of this size costs no allocation. */
		nb = realloc(r->body, want + 1);
		if (nb == NULL) {
			rc = VEX_ENOMEM;
			goto out;
		}
		r->body = nb;
		r->body_cap = want + 1;
	}
	while (got < want) {
		size_t chunk = want - got;

		if (chunk > READ_CHUNK)
			chunk = READ_CHUNK;
		n = FCGX_GetStr(r->body + got, (int)chunk, r->fcgx->in);
		if (n <= 0) {
			rc = VEX_EIO;
			goto out;
		}
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
out:
	return rc;
}

void vex_http_drain(struct vex_http_req *r, size_t cap)
{
	char scratch[16384];
	size_t total = 0;
	int n;

	while (total < cap) {
		n = FCGX_GetStr(scratch, (int)sizeof(scratch), r->fcgx->in);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

int vex_http_body_unannounced(struct vex_http_req *r)
{
	return FCGX_GetChar(r->fcgx->in) != EOF;
}

void vex_http_resp_reset(struct vex_http_resp *w)
{
	if (!w->body_static)
		free(w->body);
	w->body = NULL;
	w->body_len = 0;
	w->body_static = 0;
	w->content_type = NULL;
	w->headers_len = 0;
	w->headers[0] = '\0';
	w->status = 500;
}

void vex_http_header(struct vex_http_resp *w, const char *name, const char *value)
{
	size_t room = sizeof(w->headers) - w->headers_len;
	int n;

	n = snprintf(w->headers + w->headers_len, room, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= room) {
		w->headers[w->headers_len] = '\0';
		vex_log(VEX_LOG_WARN, "response header dropped", "header", name, NULL);
		return;
	}
	w->headers_len += (size_t)n;
}

void vex_http_static(struct vex_http_resp *w, int status, const char *body, size_t len)
{
	if (!w->body_static)
		free(w->body);
	w->status = status;
	w->body = (char *)body;
	w->body_len = len;
	w->body_static = 1;
}

int vex_http_json(struct vex_http_resp *w, int status, json_t *v)
{
	char *s = NULL;
	int rc = 0;

	if (v != NULL)
		s = vex_json_dump(v);
	json_decref(v);
	if (s == NULL) {
		vex_http_static(w, 500, fallback_500, sizeof(fallback_500) - 1);
		rc = VEX_ENOMEM;
		goto out;
	}
	if (!w->body_static)
		free(w->body);
	w->status = status;
	w->body = s;
	w->body_len = strlen(s);
	w->body_static = 0;
out:
	return rc;
}

void vex_http_take(struct vex_http_resp *w, int status, char *body, size_t len)
{
	if (!w->body_static)
		free(w->body);
	w->status = status;
	w->body = body;
	w->body_len = len;
	w->body_static = 0;
}

void vex_http_error(struct vex_http_resp *w, const struct vex_http_req *r, int status, const char *code,
		    const char *message, const char *field)
{
	json_t *err = json_object(), *root = json_object();

	if (err == NULL || root == NULL) {
		json_decref(err);
		json_decref(root);
		vex_http_static(w, 500, fallback_500, sizeof(fallback_500) - 1);
		return;
	}
	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", json_string(message));
	if (field != NULL && field[0] != '\0')
		json_object_set_new(err, "field", json_string(field));
	json_object_set_new(err, "request_id", json_string(r->request_id));
	json_object_set_new(root, "error", err);
	vex_http_json(w, status, root);
}

const char *vex_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "Unknown";
}

int vex_http_send(const struct vex_http_req *r, const struct vex_http_resp *w)
{
	char head[VEX_HTTP_HEADERS_MAX + 512];
	int n, rc = 0;

	if (w->status == 204 || w->body == NULL)
		n = snprintf(head, sizeof(head),
			     "Status: %d %s\r\nX-Request-ID: %s\r\nCache-Control: no-store\r\n%s\r\n", w->status,
			     vex_http_reason(w->status), r->request_id, w->headers);
	else
		n = snprintf(head, sizeof(head),
			     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			     "X-Request-ID: %s\r\nCache-Control: no-store\r\n%s\r\n",
			     w->status, vex_http_reason(w->status), w->content_type ? w->content_type : "application/json",
			     w->body_len, r->request_id, w->headers);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		rc = VEX_ERROR;
		goto out;
	}
	if (FCGX_PutStr(head, n, r->fcgx->out) != n) {
		rc = VEX_EIO;
		goto out;
	}
	if (w->status != 204 && w->body != NULL && w->body_len > 0 &&
	    FCGX_PutStr(w->body, (int)w->body_len, r->fcgx->out) != (int)w->body_len) {
		rc = VEX_EIO;
		goto out;
	}
out:
	return rc;
}
