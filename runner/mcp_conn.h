/* mcp_conn.h - one MCP server as the registry (mcp.c) and its transports (mcp_stdio.c, mcp_http.c) share it;
 * what both transports use (mcp_conn.c); the transports' table of functions. */
#ifndef VEX_RUNNER_MCP_CONN_H
#define VEX_RUNNER_MCP_CONN_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/config.h"
#include "runner/mcpconf.h"
#include "runner/mcpmsg.h"
#include "core/jobs/model.h"
#include "runner/exec.h"

enum mcp_state {
	MCP_DOWN = 0, /* no connection; the manager starts one after the backoff, or when a call asks */
	MCP_STARTING, /* the manager is starting and initializing it */
	MCP_READY     /* initialized: calls go through */
};

/* A stdio request waiting for its response; lives in the waiting thread's frame, linked in
 * mcp_server.pending while it waits (under mcp_server.mu). */
struct mcp_pending {
	struct mcp_pending *next;
	int64_t id;
	const char *token;             /* its progress token, or NULL */
	json_t *response;              /* the response, once it came (owned) */
	int done;                      /* a response came, or "fail" says why none will */
	int toobig;                    /* the response was over the size cap and dropped */
	char fail[320];
	struct vex_progress progress;  /* the latest progress not yet handed to the job */
	int has_progress;
};

/* How a request waits. */
struct mcp_wait {
	struct vex_exec_ctx *ctx;  /* a job's call: stop checks every 10 ms and progress; NULL for discovery */
	int64_t deadline_us;       /* discovery gives up at this CLOCK_MONOTONIC time (0: never) */
	const char *token;         /* the call's progress token, or NULL */
};

struct mcp_transport;

struct mcp_server {
	const struct vex_mcp_server_conf *conf; /* borrowed from the loaded configuration */
	const struct mcp_transport *transport;  /* stdio (conf->command) or Streamable HTTP */
	const struct vex_config *cfg;
	pthread_mutex_t mu;
	pthread_cond_t cond;           /* broadcast on any change below (CLOCK_MONOTONIC) */
	pthread_t manager;
	int manager_started;
	int quit;                      /* vex_mcp_stop: the manager winds down */
	enum mcp_state state;
	int want_start;                /* a call waits for a connection */
	uint64_t attempts;             /* start attempts finished so far */
	char last_error[320];          /* why the last start failed */
	int64_t next_start_us;         /* when discovery tries again (CLOCK_MONOTONIC) */
	int backoff_ms;                /* the delay before the next restart */
	int list_changed;              /* notifications/tools/list_changed came */
	int64_t next_id;               /* JSON-RPC ids, never reused while the runner lives */
	int64_t up_since_us;           /* when the connection became ready */
	char protocol[16];             /* the negotiated revision (under mu) */

	/* stdio */
	pid_t pid;                     /* the server's process (and process group); 0 when none */
	int in_fd, out_fd, err_fd;     /* its stdin (write end), stdout and stderr (read ends) */
	pthread_mutex_t write_mu;      /* one line at a time into in_fd; guards in_fd */
	pthread_t reader;
	int reader_started;
	int reaping;                   /* the reader is reaping it: its pid may be gone, send no signal */
	int dead;                      /* the reader saw the end and reaped the process */
	int stop_reading;              /* the reader gives up waiting for an end that never comes */
	int recycled;                  /* we killed it on purpose (a cancelled call did not stop) */
	char exit_text[96];            /* "exited (status 1)", "exited (killed by signal 9)" */
	struct mcp_pending *pending;

	/* Streamable HTTP */
	char *session_id;              /* Mcp-Session-Id of the current session, or NULL (under mu) */
	int session_lost;              /* a request got 404 for the session: initialize again */
};

/*
 * Request results, from both transports: 0 with *ret the response message (owned); VEX_ESTATE the
 * job's should_stop said stop (notifications/cancelled sent; ctx->stopped says why); VEX_EIO the
 * transport failed or the server exited ("why"); VEX_ETOOBIG the response was over the cap;
 * VEX_EBUSY the discovery deadline passed; VEX_ENOTFOUND (HTTP) the session is gone; VEX_ENOMEM.
 */

/* The cap on one message from a server, bytes. */
size_t mcp_message_max(const struct mcp_server *s);

/* Reasons for notifications/cancelled, by why the job stopped. */
const char *mcp_stop_reason(enum vex_stop why);

/* A notification or a request the server sent, other than progress (list_changed, logging,
 * ping...). Returns the reply to send for a request (caller frees), else NULL. */
char *mcp_on_server_message(struct mcp_server *s, const json_t *msg, enum vex_rpc_kind kind);

/*
 * A transport, as the registry (mcp.c) drives it. open: make the connection ready for initialize
 * (stdio: spawn the process and its reader). request/notify: as above, s->mu not held. close: end
 * the connection ("graceful": stdio's end of input, SIGTERM, then SIGKILL; else SIGKILL at once).
 * lost (under s->mu): the connection broke since it became ready. held (under s->mu or from the
 * manager): something is left to close even in MCP_DOWN (stdio: a process).
 */
struct mcp_transport {
	int (*open)(struct mcp_server *s, char *why, size_t whylen);
	int (*request)(struct mcp_server *s, const char *method, json_t *params, const struct mcp_wait *w,
		       json_t **ret, char *why, size_t whylen);
	int (*notify)(struct mcp_server *s, const char *method, json_t *params, int64_t deadline_us);
	void (*close)(struct mcp_server *s, int graceful);
	int (*lost)(const struct mcp_server *s);
	int (*held)(const struct mcp_server *s);
};

extern const struct mcp_transport mcp_stdio_transport; /* mcp_stdio.c */
extern const struct mcp_transport mcp_http_transport;  /* mcp_http.c */

/* stdio's functions, for the browser's session (runner/browser.c), which owns one server of its own
 * outside the registry. close also joins the reader and frees the pipes. */
int mcp_stdio_open(struct mcp_server *s, char *why, size_t whylen);
int mcp_stdio_request(struct mcp_server *s, const char *method, json_t *params, const struct mcp_wait *w,
		      json_t **ret, char *why, size_t whylen);
int mcp_stdio_notify(struct mcp_server *s, const char *method, json_t *params, int64_t deadline_us);
void mcp_stdio_close(struct mcp_server *s, int graceful);

#endif
