/* stream_server.h - vex-api's stream server process: Server-Sent Events of job changes for thousands of clients. */
#ifndef VEX_STREAM_SERVER_H
#define VEX_STREAM_SERVER_H

#include "core/base/config.h"
#include "fcgi-app/stream.h"

/*
 * Run the stream server in a freshly forked child of the vex-api master: one process, one epoll loop,
 * a FastCGI responder of its own (fcgi_proto.h) on "listen_fd" ([streams] socket), handing each
 * complete request to "handler" (vex_stream_jobs: the job streams of docs/api-streams.md). Raises
 * RLIMIT_NOFILE to its hard limit and opens its own store (never inherited across fork). SIGTERM/SIGINT end every
 * open stream (clients reconnect with Last-Event-ID) and return. Returns the process exit status.
 */
int vex_stream_server_run(const struct vex_config *cfg, int listen_fd, const struct vex_stream_handler *handler);

#endif
