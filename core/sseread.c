/* sseread.c - an incremental text/event-stream reader: lines, fields, events, with caps. */
#include "core/sseread.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void vex_sse_init(struct vex_sse_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max < 64 ? 64 : max;
}

void vex_sse_release(struct vex_sse_reader *r)
{
	if (!r)
		return;
	free(r->line);
	free(r->data);
	r->line = r->data = NULL;
	r->linelen = r->linecap = r->datalen = r->datacap = 0;
}

/* Grows *buf to hold "need" bytes plus a NUL (need <= max). 0 or VEX_ENOMEM. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 256;
	char *n;

	if (need + 1 <= *cap)
		return 0;
	while (c < need + 1)
		c *= 2;
	n = realloc(*buf, c);
	if (!n)
		return VEX_ENOMEM;
	*buf = n;
	*cap = c;
	return 0;
}

/* Appends one data line to the event (a "\n" between lines). */
static int add_data(struct vex_sse_reader *r, const char *v, size_t n)
{
	size_t need = r->datalen + (r->has_data ? 1 : 0) + n;

	if (!r->dropping && need > r->max)
		r->dropping = 1;
	if (r->dropping) {
		r->datalen = need;
		r->has_data = 1;
		return 0;
	}
	if (reserve(&r->data, &r->datacap, need) < 0)
		return VEX_ENOMEM;
	if (r->has_data)
		r->data[r->datalen++] = '\n';
	memcpy(r->data + r->datalen, v, n);
	r->datalen += n;
	r->data[r->datalen] = '\0';
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
			rc = fn(arg, type, NULL, r->datalen);
		else if (reserve(&r->data, &r->datacap, r->datalen) < 0)
			return VEX_ENOMEM;
		else {
			r->data[r->datalen] = '\0';
			rc = fn(arg, type, r->data, r->datalen);
		}
	}
	r->datalen = 0;
	r->has_data = 0;
	r->dropping = 0;
	r->event[0] = '\0';
	return rc;
}

/* One complete line (without its end). */
static int line(struct vex_sse_reader *r, vex_sse_event_fn fn, void *arg)
{
	const char *l = r->line ? r->line : "", *colon, *v;
	size_t n = r->linelen, fl, vl;

	if (r->line_over) {
		/* a line over the cap: whatever it was, its event cannot be kept whole */
		r->line_over = 0;
		r->dropping = 1;
		r->has_data = 1;
		r->datalen += n;
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
			r->linelen = 0;
			if (rc != 0)
				return rc;
			continue;
		}
		if (r->line_over || r->linelen >= r->max) {
			r->line_over = 1;
			r->linelen++;
			continue;
		}
		if (reserve(&r->line, &r->linecap, r->linelen + 1) < 0)
			return VEX_ENOMEM;
		r->line[r->linelen++] = c;
		r->line[r->linelen] = '\0';
	}
	return 0;
}
