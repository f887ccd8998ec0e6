/* stream.h - the stream server's insides: its connections (stream_server.c), the handler interface it calls
 * them through, and the job streams that implement it (stream.c). */
#ifndef VEX_STREAM_H
#define VEX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/buf.h"
#include "core/base/config.h"
#include "core/base/ids.h"
#include "core/jobs/model.h"
#include "core/store/store.h"
#include "fcgi-app/fcgi_proto.h"
#include "fcgi-app/http.h"
#include "fcgi-app/keytouch.h"

#define VEX_STREAM_PARAMS_MAX (64 * 1024) /* bytes of one request's FastCGI params */
#define VEX_STREAM_OUT_MAX (256 * 1024)   /* bytes queued for a client before it counts as too slow */

/* How a stream presents jobs: the vex envelope (/api/v1) or the corex job (/jobs). */
enum vex_stream_dialect { VEX_STREAM_VEX, VEX_STREAM_COREX };

enum vex_stream_state {
	VEX_CONN_READING,   /* the FastCGI request is still arriving */
	VEX_CONN_STREAMING, /* an open stream: events go out as jobs change */
	VEX_CONN_CLOSING    /* the answer is complete (END_REQUEST queued): close once it is written */
};

struct vex_stream_watch;
struct vex_stream_owner;

/* One FastCGI connection from nginx (one request: nginx does not keep FastCGI connections). */
struct vex_stream_conn {
	int fd;
	enum vex_stream_state state;
	int dead;                      /* doomed: closed at the end of the loop iteration */
	int64_t since_mono_us;         /* accepted / last write / answer complete, by state (timer lists) */
	struct vex_stream_conn *t_prev, *t_next; /* the server's list for "state" */
	struct vex_stream_conn *d_next;          /* the doomed list */

	/* the request as it arrives */
	struct vex_fcgi_reader rd;
	struct vex_buf params;         /* the PARAMS contents, at most VEX_STREAM_PARAMS_MAX bytes */
	int params_too_big;
	int params_done;
	unsigned char begin[8];
	unsigned begin_len;
	int begun;
	unsigned fcgi_id;

	/* the answer not yet written */
	struct vex_buf out;            /* at most VEX_STREAM_OUT_MAX + VEX_FCGI_END_LEN bytes */
	size_t out_off;                /* bytes of "out" already written */
	int want_out;                  /* EPOLLOUT requested */

	/* the stream, while streaming */
	struct vex_stream_watch *watch;
	struct vex_stream_conn *w_prev, *w_next; /* the watch's streams */
	struct vex_stream_owner *owner;
	enum vex_stream_dialect dialect;
	int named;                     /* "event:" lines */
	int64_t last_rev;              /* the id of the last event sent */
	char request_id[VEX_HTTP_REQID_MAX + 1];

	/* what opened the stream, to close it when that is revoked (stream_revoke.c) */
	int by_key;                    /* an API key: key_id */
	char key_id[VEX_UUID_LEN + 1];
	char jti[VEX_JTI_MAX + 1];     /* a JWT: its jti ("" none) and iat */
	int64_t iat;
};

struct vex_stream_list {
	struct vex_stream_conn *head, *tail;
};

struct vex_stream_server;

/*
 * What the server (stream_server.c) calls, and nothing else: the streams it serves (stream.c's
 * vex_stream_jobs). init: allocate (0 or VEX_ENOMEM); release: free, also after a failed or
 * skipped init. request: the request of "c" is complete (params read): answer it, with an error or
 * by opening a stream. forget: drop the stream of "c", if it is one (the connection is closing).
 * due: when tick wants to run next (CLOCK_MONOTONIC µs), 0 for not at all; tick: run it.
 */
struct vex_stream_handler {
	int (*init)(struct vex_stream_server *s);
	void (*release)(struct vex_stream_server *s);
	void (*request)(struct vex_stream_server *s, struct vex_stream_conn *c);
	void (*forget)(struct vex_stream_server *s, struct vex_stream_conn *c);
	int64_t (*due)(const struct vex_stream_server *s);
	void (*tick)(struct vex_stream_server *s, int64_t now_mono_us);
};

/* The one stream server process. */
struct vex_stream_server {
	const struct vex_config *cfg;
	const struct vex_stream_handler *handler;
	struct vex_store *store;
	int epfd;
	int listen_fd;
	int accept_paused;             /* out of descriptors: the listener is out of epoll for a moment */
	int64_t accept_resume_mono_us;

	struct vex_stream_list reading, streaming, closing;
	struct vex_stream_conn *doomed;
	int conns;

	/* the handler's state (stream.c, stream_registry.c): job id -> its streams, owner -> open streams, the feed */
	struct vex_stream_watch **watches;
	struct vex_stream_owner **owners;
	size_t nbuckets;               /* of both tables, a power of two */
	int streams;                   /* open streams */
	int64_t last_seq;              /* the change feed: job_events read up to here */
	int64_t next_feed_mono_us;
	struct vex_stream_watch *touched; /* watches that loaded a job in this feed batch */
	int64_t feed_warned_mono_us;

	/* credentials (stream_revoke.c): keys' last use goes to a thread, revocations are polled */
	struct vex_keytouch *keytouch;
	int64_t next_revoke_mono_us;
	int64_t revoke_since_us;       /* wall clock: revocations at or after this are still to be applied */
	int64_t revoke_warned_mono_us;
};

/* ---- connections (stream_server.c) ---- */

/*
 * Queue "len" bytes of response (framed as STDOUT records) for "c" and write what the socket takes now.
 * A client that lets more than VEX_STREAM_OUT_MAX bytes pile up, or whose socket fails, is doomed.
 */
void vex_stream_conn_send(struct vex_stream_server *s, struct vex_stream_conn *c, const void *data, size_t len);

/* End the response (empty STDOUT, END_REQUEST); the connection closes once that is written. */
void vex_stream_conn_finish(struct vex_stream_server *s, struct vex_stream_conn *c);

/* Close "c" at the end of this loop iteration (its stream, if any, is forgotten at once). */
void vex_stream_conn_doom(struct vex_stream_server *s, struct vex_stream_conn *c);

/* Move "c" to the list of "state" (the tail: its time starts now). */
void vex_stream_conn_set_state(struct vex_stream_server *s, struct vex_stream_conn *c, enum vex_stream_state state,
			       int64_t now_mono_us);

/* ---- streams (stream.c) ---- */

/* Job streams: GET /api/v1/jobs/{id}/stream and GET /jobs/{id}/stream, fed from job_events
 * every [streams] poll_ms (docs/api-streams.md). */
extern const struct vex_stream_handler vex_stream_jobs;

/* ---- revoked credentials (stream_revoke.c) ---- */

/* The first stream opened at wall time "now_us": revocations from then on are looked for. */
void vex_stream_revoke_arm(struct vex_stream_server *s, int64_t now_us);
/* When the next look is due (CLOCK_MONOTONIC µs), 0 while no stream is open. */
int64_t vex_stream_revoke_due(const struct vex_stream_server *s);
/* Look (two indexed reads, no write) for keys revoked and token revocations made since the last look,
 * and end the streams they opened. */
void vex_stream_revoke_tick(struct vex_stream_server *s, int64_t now_mono_us);

#endif
