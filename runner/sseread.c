/* sseread.c - an incremental text/event-stream reader: lines, fields, events, with caps. */
#include "runner/sseread.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

void vex_sse_init(struct vex_sse_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max < 64 ? 64 : max;
	vex_buf_init(&r->line, r->max);
	vex_buf_init(&r->data, r->max);
}

void vex_sse_release(struct vex_sse_reader *r)
{
	if (!r)
		return;
	vex_buf_release(&r->line);
	vex_buf_release(&r->data);
}

/* Appends one data line to the event (a "\n" between lines). */
static int add_data(struct vex_sse_reader *r, const char *v, size_t n)
{
	size_t need = (r->dropping ? r->dropped : r->data.len) + (r->has_data ? 1 : 0) + n;

	if (!r->dropping && need > r->max)
		r->dropping = 1;
	if (r->dropping) {
		r->dropped = need;
		r->has_data = 1;
		return 0;
	}
	if ((r->has_data && vex_buf_add(&r->data, "\n", 1) < 0) || vex_buf_add(&r->data, v, n) < 0)
		return VEX_ENOMEM;
	r->has_data = 1;
	return 0;
}

/* A blank line: dispatch the event when it has data, then start a new one. */
static int dispatch(struct vex_sse_reader *r, vex_sse_event_fn fn, void *arg)
{
	const char *type = r->event[0] ? r->event : "message";
	int rc = 0;

	if (r->has_data) {
		if (r->dropping)
			rc = fn(arg, type, NULL, r->dropped);
		else
			rc = fn(arg, type, r->data.p ? r->data.p : "", r->data.len);
	}
	vex_buf_reset(&r->data);
	r->dropped = 0;
	r->has_data = 0;
	r->dropping = 0;
	r->event[0] = '\0';
	return rc;
}

/* One complete line (without its end). */
static int line(struct vex_sse_reader *r, vex_sse_event_fn fn, void *arg)
{
	const char *l = r->line.p ? r->line.p : "", *colon, *v;
	size_t n = r->line.len, fl, vl;

	if (r->line_over) {
		/* a line over the cap: whatever it was, its event cannot be kept whole */
		r->dropped = (r->dropping ? r->dropped : r->data.len) + n + r->line_extra;
		r->line_over = 0;
		r->dropping = 1;
		r->has_data = 1;
		return 0;
	}
	if (n == 0)
		return dispatch(r, fn, arg);
	if (l[0] == ':')
		return 0;
	colon = memchr(l, ':', n);
	fl = colon ? (size_t)(colon - l) : n;
	v = colon ? colon + 1 : l + n;
	vl = colon ? n - fl - 1 : 0;
	if (vl && *v == ' ') {
		v++;
		vl--;
	}
	if (fl == 4 && memcmp(l, "data", 4) == 0)
		return add_data(r, v, vl);
	if (fl == 5 && memcmp(l, "event", 5) == 0) {
		if (vl >= sizeof(r->event))
			vl = sizeof(r->event) - 1;
		memcpy(r->event, v, vl);
		r->event[vl] = '\0';
	}
	return 0;
}

int vex_sse_feed(struct vex_sse_reader *r, const char *buf, size_t len, vex_sse_event_fn fn, void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n' && r->after_cr) {
			r->after_cr = 0;
			continue;
		}
		r->after_cr = c == '\r';
		if (c == '\n' || c == '\r') {
			rc = line(r, fn, arg);
			vex_buf_reset(&r->line);
			r->line_extra = 0;
			if (rc != 0)
				return rc;
			continue;
		}
		if (r->line_over || r->line.len >= r->max) {
			r->line_over = 1;
			r->line_extra++;
			continue;
		}
		if (vex_buf_add(&r->line, &c, 1) < 0)
			return VEX_ENOMEM;
	}
	return 0;
}
