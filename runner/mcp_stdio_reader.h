/* mcp_stdio_reader.h - between an MCP stdio server's requests (mcp_stdio.c) and its reader thread
 * (mcp_stdio_reader.c); private to the two. */
#ifndef VEX_RUNNER_MCP_STDIO_READER_H
#define VEX_RUNNER_MCP_STDIO_READER_H

#include "runner/mcp_conn.h"

/* The reader thread of "arg" (a struct mcp_server): runs until the server's process is gone and
 * reaped (or stop_reading is set), failing every pending request with the reason. */
void *mcp_stdio_reader(void *arg);

/*
 * Writes "text" and a newline into the server's stdin. Before the first byte a stop of "w"'s job
 * returns VEX_ESTATE (nothing sent); once started, a line is finished or, if the server reads
 * nothing for mcp_init_timeout_ms, the server is killed (a half line would corrupt the stream).
 */
int mcp_stdio_write_line(struct mcp_server *s, const char *text, const struct mcp_wait *w, int64_t deadline_us);

#endif
