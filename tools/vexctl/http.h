/* http.h - vexctl's side of HTTPS: where the service is, the credential, requests and their errors. */
#ifndef VEXCTL_HTTP_H
#define VEXCTL_HTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/base/buf.h"
#include "tools/vexctl/vexctl.h"

/* The largest answer vexctl reads (a job list of 100 large results fits), and the largest SSE line. */
#define VC_ANSWER_MAX (64u << 20)
#define VC_EVENT_MAX (16u << 20)

/* A connection to the service: one curl handle, reused for every request of a command. */
struct vc_client {
	CURL *curl;
	char url[1024];   /* the base URL, without a trailing slash */
	char auth[2048];  /* the whole credential header line */
	char cacert[1024]; /* "" = the system's CA certificates */
	int json;         /* --json */
};

/*
 * Settings from the flags in "ctx", else VEX_URL / VEX_TOKEN / VEX_API_KEY / VEX_CA, else the config
 * file ($VEXCTL_CONFIG, else ~/.config/vex/config when it exists), then a curl handle. Returns 0, or
 * an exit status after saying why (VC_EXIT_USAGE: no URL or credential, a bad or unsafe config file).
 * vc_client_release frees the handle (accepts a zeroed client).
 */
int vc_client_open(struct vc_ctx *ctx, struct vc_client *c);
void vc_client_release(struct vc_client *c);

/* One answer: its status, its body as it came, and that body parsed (NULL when empty). */
struct vc_answer {
	long status;
	struct vex_buf body;
	json_t *json;
};
void vc_answer_release(struct vc_answer *a);

/*
 * "method" "path" (from /, already escaped: vc_path) with "body" (JSON text, or NULL for none).
 * 0 with "a" filled for a 2xx answer whose body is JSON (or empty); else the exit status after the
 * message on stderr: VC_EXIT_CONN when no answer came (connection, TLS, timeout), VC_EXIT_API for an
 * error status (the server's message), an answer over VC_ANSWER_MAX or one that is not JSON.
 * "a" is to be released either way.
 */
int vc_call(struct vc_client *c, const char *method, const char *path, const char *body, struct vc_answer *a);

/*
 * A GET of a stream: "on_data" gets the body's bytes as they come while the status is 200 (a non-zero
 * return stops the transfer: curl then reports a write error). "last_event_id" > 0 adds Last-Event-ID.
 * 0 when the transfer ended (*ret_status: the status; the body of a non-200 answer in "errbody"),
 * or VEX_EIO when it broke off (*ret_curl: why), *ret_status 0 when no status came.
 */
int vc_stream(struct vc_client *c, const char *path, long long last_event_id,
	      size_t (*on_data)(char *p, size_t size, size_t n, void *arg), void *arg, long *ret_status,
	      struct vex_buf *errbody, CURLcode *ret_curl);

/* Says on stderr what "code" means for the URL (a TLS failure says so). */
void vc_say_curl_error(struct vc_client *c, CURLcode code, const char *errbuf);

/* Says on stderr the server's error in "a" ({"error":{"code","message"}}, else the status). */
void vc_say_api_error(const struct vc_answer *a);

/*
 * "/api/v1/<fmt with each %s argument escaped as one path segment>" into "out" (size "n"). Only %s
 * is understood. 0, VEX_EINVAL for an argument that cannot be one segment (empty, ".", "..", a "/"),
 * VEX_ETOOBIG or VEX_ENOMEM.
 */
int vc_path(char *out, size_t n, const char *fmt, ...);

/* Appends "&name=<value escaped>" (or "?" first) to "path" of size "n" when "value" is set. */
int vc_query(char *path, size_t n, const char *name, const char *value);

#endif
