/* browser_proxy.h - the forward proxy a browser session goes through: its own origin, at the address vex checked, and nothing else. */
#ifndef VEX_RUNNER_BROWSER_PROXY_H
#define VEX_RUNNER_BROWSER_PROXY_H

#include <stddef.h>

#include "core/hooks/netguard.h"

#define VEX_PROXY_HEAD_MAX (64 * 1024) /* bytes of one request head */

/* The one origin a session may reach. */
struct vex_proxy_target {
	int https;
	char host[256]; /* lower case; an IPv6 literal without brackets, in inet_ntop's form */
	int port;
};

enum vex_proxy_verdict {
	VEX_PROXY_FORWARD, /* an absolute-form request to the origin: send the rewritten head */
	VEX_PROXY_TUNNEL,  /* CONNECT to the origin's host:port (https, ws, wss) */
	VEX_PROXY_REFUSE,  /* anywhere else: 403 */
	VEX_PROXY_BAD      /* not a request this proxy understands: 400 */
};

/* The target of an origin "http[s]://host[:port]" (vex_browser_origin's form). 0 or VEX_EINVAL. */
int vex_proxy_target_parse(const char *origin, struct vex_proxy_target *ret);

/*
 * Judges one request head "head" ("len" bytes, up to and with the blank line) from the browser
 * against "t". On VEX_PROXY_FORWARD *ret_head (caller frees, *ret_len bytes) is the head to send to
 * the origin: an origin-form request line, the Proxy-*, Connection and Keep-Alive headers dropped,
 * "Connection: close" added (one request per connection). "what" (may be NULL) gets
 * "METHOD target" for the log. Returns the verdict, or VEX_ENOMEM.
 */
int vex_proxy_judge(const struct vex_proxy_target *t, const char *head, size_t len, char **ret_head, size_t *ret_len,
		    char *what, size_t whatlen);

struct vex_browser_proxy;

/*
 * Starts the proxy of a session limited to "origin", connecting only to "addrs" (already checked
 * by vex_netguard_resolve; copied): a listener on 127.0.0.1 (an ephemeral port, *ret_port) and a
 * thread per connection. Refusals are logged. 0 (the caller owns *ret: vex_browser_proxy_close),
 * VEX_EINVAL (bad origin), VEX_EIO, VEX_ENOMEM.
 */
int vex_browser_proxy_open(const char *origin, const struct vex_netguard_addrs *addrs, struct vex_browser_proxy **ret,
			   int *ret_port);

/* Requests refused so far. */
unsigned long vex_browser_proxy_refused(struct vex_browser_proxy *p);

/* Stops listening, cuts every connection, waits for its threads, frees. Accepts NULL. */
void vex_browser_proxy_close(struct vex_browser_proxy *p);

#endif
