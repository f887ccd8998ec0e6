/* http.h - one FastCGI request as HTTP: method, path, query, headers, bounded body; and its response. */
#ifndef VEX_HTTP_H
#define VEX_HTTP_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/version.h"

#define VEX_HTTP_PATH_MAX 2048
#define VEX_HTTP_REQID_MAX 128
#define VEX_HTTP_HEADERS_MAX 1024 /* extra response headers, "Name: value\r\n"... */

/*
 * The request. Pointers taken from FCGX_GetParam ("method", "query") live
 * until FCGX_Finish_r and are never kept past it. "body" is a buffer the
 * worker owns and reuses; it is NUL terminated and valid until the next
 * request.
 */
struct vex_http_req {
	FCGX_Request *fcgx;
	const char *method;
	char path[VEX_HTTP_PATH_MAX]; /* percent-decoded, without the query */
	const char *query;            /* raw QUERY_STRING, "" when none */
	char request_id[VEX_HTTP_REQID_MAX + 1];
	int64_t start_mono_us;
	int64_t now_us;

	long long content_length;     /* -1: absent or empty */
	int content_length_bad;       /* CONTENT_LENGTH present but not a number */

	char *body;
	size_t body_len;
	size_t body_cap;
};

/*
 * The response. "body" is malloc'd (a JSON dump) and freed by vex_http_resp_reset();
 * "headers" holds extra header lines.
 */
struct vex_http_resp {
	int status;
	char headers[VEX_HTTP_HEADERS_MAX];
	size_t headers_len;
	char *body;
	size_t body_len;
	int body_static; /* body is not ours to free */
	const char *content_type; /* a constant; NULL: application/json */
};

/* Fill "r" from the FastCGI request "f" (path, query, request id, CONTENT_LENGTH). Keeps the body buffer.
 * VEX_EINVAL when the path cannot be decoded or is too long (the caller answers 400). */
int vex_http_req_begin(struct vex_http_req *r, FCGX_Request *f);
/* Free the body buffer (worker exit). */
void vex_http_req_release(struct vex_http_req *r);

/* A CGI parameter ("HTTP_AUTHORIZATION", "CONTENT_TYPE", ...) or NULL; valid until FCGX_Finish_r. */
const char *vex_http_param(const struct vex_http_req *r, const char *name);

/*
 * The first value of "key" in the query string, percent-decoded ('+' is a space) into "out".
 * 0, VEX_ENOTFOUND (absent), VEX_ETOOBIG (longer than outlen - 1), VEX_EINVAL (bad escape or NUL).
 */
int vex_http_query(const struct vex_http_req *r, const char *key, char *out, size_t outlen);

/* The same over a raw query string "query" (QUERY_STRING). */
int vex_http_query_get(const char *query, const char *key, char *out, size_t outlen);

/*
 * The query parameter "key" as a decimal integer >= "lo" ("def" when absent). Above "hi" it is
 * VEX_EINVAL, or "hi" itself when "clamp" is set. 0 or VEX_EINVAL (the caller answers in its dialect).
 */
int vex_http_query_long(const struct vex_http_req *r, const char *key, long def, long lo, long hi, int clamp,
			long *ret);

/* 1 when an incoming X-Request-ID "s" may be echoed: 1..128 chars of [A-Za-z0-9._:-]; else 0 (NULL too). */
int vex_http_request_id_ok(const char *s);

/* Percent-decode "len" bytes of "in" into "out" (NUL terminated); '+' becomes a space when "plus".
 * 0, VEX_ETOOBIG, VEX_EINVAL (bad escape or an encoded NUL). */
int vex_http_decode(const char *in, size_t len, int plus, char *out, size_t outlen);

/* 1 when "ct" names application/json (parameters such as charset allowed), else 0. */
int vex_http_is_json(const char *ct);

/*
 * Read exactly content_length bytes of body into r->body (growing the worker's buffer, which
 * is kept for the next request). Callers check the size limit first.
 * 0, VEX_ENOMEM, VEX_EIO (the client sent fewer bytes than announced).
 */
int vex_http_read_body(struct vex_http_req *r);

/* Read and discard what is left of the request body, at most "cap" bytes (a 413 that is not read). */
void vex_http_drain(struct vex_http_req *r, size_t cap);

/* 1 when there is body data although no CONTENT_LENGTH was given (reads one byte). */
int vex_http_body_unannounced(struct vex_http_req *r);

/* Forget the previous response (frees its body). */
void vex_http_resp_reset(struct vex_http_resp *w);

/* Append the header line "name: value" (dropped, with a log line, if it does not fit). */
void vex_http_header(struct vex_http_resp *w, const char *name, const char *value);

/* Set status and the body to the compact dump of "v" (steals the reference). 0 or VEX_ENOMEM
 * (then the response is a bare 500). */
int vex_http_json(struct vex_http_resp *w, int status, json_t *v);

/* Set status and the body "body" ("len" bytes, malloc'd: the response takes it). */
void vex_http_take(struct vex_http_resp *w, int status, char *body, size_t len);

/* Set status and a body the caller keeps alive until vex_http_send() (cached constant bodies). */
void vex_http_static(struct vex_http_resp *w, int status, const char *body, size_t len);

/*
 * {"error":{"code","message","field"(when non-empty),"request_id"}} with "status".
 * "field" may be NULL.
 */
void vex_http_error(struct vex_http_resp *w, const struct vex_http_req *r, int status, const char *code,
		    const char *message, const char *field);

/* Write status line, headers (Content-Type, Content-Length, X-Request-ID, extra) with one
 * FCGX_PutStr and the body with another. 0 or VEX_EIO (client gone). */
int vex_http_send(const struct vex_http_req *r, const struct vex_http_resp *w);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *vex_http_reason(int status);

#endif
