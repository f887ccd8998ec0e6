/* sseread.h - an incremental text/event-stream (Server-Sent Events) reader, for streams vex consumes. */
#ifndef VEX_SSEREAD_H
#define VEX_SSEREAD_H

#include <stddef.h>

#include "core/base/buf.h"

/*
 * Called once per dispatched event. "event" is the event type ("message" when none was given),
 * "data" the data lines joined by "\n" (NUL-terminated, "len" bytes). An event whose data would
 * exceed the reader's cap is not collected: it arrives with data NULL and "len" the bytes it had
 * when dropped. A non-zero return stops vex_sse_feed, which returns it.
 */
typedef int (*vex_sse_event_fn)(void *arg, const char *event, const char *data, size_t len);

struct vex_sse_reader {
	size_t max;         /* cap on one line and on one event's data, bytes */
	struct vex_buf line; /* the line being read, at most "max" bytes */
	size_t line_extra;  /* bytes of the line past "max" (line_over) */
	struct vex_buf data; /* the event's data so far, at most "max" bytes */
	size_t dropped;     /* the bytes of the event's data, while dropping */
	int has_data;       /* a data line was seen for this event */
	char event[64];     /* the event's type, "" for the default */
	int after_cr;       /* the last byte fed was a CR (a following LF belongs to it) */
	int dropping;       /* the event went over "max": its data is being skipped */
	int line_over;      /* the line went over "max": the rest of it is skipped */
};

/* Initialise "r" with a cap of "max" bytes (at least 64). */
void vex_sse_init(struct vex_sse_reader *r, size_t max);

/* Feed "len" bytes of the stream; "fn" is called for each event completed by them. Lines end with
 * CRLF, LF or CR; "data:" lines accumulate, "event:" sets the type, comments and other fields are
 * ignored. 0, VEX_ENOMEM, or the non-zero value "fn" returned. */
int vex_sse_feed(struct vex_sse_reader *r, const char *buf, size_t len, vex_sse_event_fn fn, void *arg);

/* Frees the buffers of "r". Accepts NULL. */
void vex_sse_release(struct vex_sse_reader *r);

#endif
