/* traceparent.h - the W3C Trace Context "traceparent" header: checked, normalised to version 00. */
#ifndef VEX_TRACEPARENT_H
#define VEX_TRACEPARENT_H

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define VEX_TRACEPARENT_LEN 55
/* A longer header (a future version's extra fields included) is ignored whole. */
#define VEX_TRACEPARENT_HEADER_MAX 512

/*
 * The traceparent of "header" (NULL: none) as a job keeps it, into "out" (VEX_TRACEPARENT_LEN + 1
 * bytes), following W3C Trace Context Level 1: version 00 is exactly 55 characters
 * "00-<trace-id>-<parent-id>-<trace-flags>", lower-case hex only, trace-id and parent-id not all
 * zeros. Version ff is invalid. A higher version (01..fe) is parsed by its first 55 characters with
 * the same rules, anything after them must start with "-", and it is kept as version 00 (the version
 * vex speaks, as the spec tells a receiver to forward). Anything else, or a header longer than
 * VEX_TRACEPARENT_HEADER_MAX, is VEX_EINVAL ("out" untouched): the receiver restarts the trace, so
 * the caller ignores it rather than refusing the request.
 */
int vex_traceparent_parse(const char *header, char out[VEX_TRACEPARENT_LEN + 1]);

/* 1 when "s" is already a traceparent as vex_traceparent_parse writes it (stored values are
 * checked again before they leave vex in a header or a message). */
int vex_traceparent_valid(const char *s);

#endif
