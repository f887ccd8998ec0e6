/* fcgi_proto.h - the FastCGI wire format (records, name-value pairs) as pure functions over buffers. */
#ifndef VEX_FCGI_PROTO_H
#define VEX_FCGI_PROTO_H

#include <stddef.h>

/*
 * A record is an 8-byte header (version 1, type, requestId (2 bytes, big endian), contentLength
 * (2 bytes), paddingLength, reserved), the content, then the padding. A responder gets
 * BEGIN_REQUEST, PARAMS records (name-value pairs; an empty one ends them), STDIN records (an empty
 * one ends them), and answers with STDOUT records, an empty STDOUT and END_REQUEST.
 */
#define VEX_FCGI_VERSION 1
#define VEX_FCGI_HEADER_LEN 8
#define VEX_FCGI_CONTENT_MAX 65535u

enum vex_fcgi_type {
	VEX_FCGI_BEGIN_REQUEST = 1,
	VEX_FCGI_ABORT_REQUEST = 2,
	VEX_FCGI_END_REQUEST = 3,
	VEX_FCGI_PARAMS = 4,
	VEX_FCGI_STDIN = 5,
	VEX_FCGI_STDOUT = 6,
	VEX_FCGI_STDERR = 7,
	VEX_FCGI_DATA = 8,
	VEX_FCGI_GET_VALUES = 9,
	VEX_FCGI_GET_VALUES_RESULT = 10,
	VEX_FCGI_UNKNOWN_TYPE = 11
};

#define VEX_FCGI_RESPONDER 1 /* BEGIN_REQUEST role */
#define VEX_FCGI_KEEP_CONN 1 /* BEGIN_REQUEST flag */

/* END_REQUEST protocolStatus */
enum { VEX_FCGI_REQUEST_COMPLETE = 0, VEX_FCGI_CANT_MPX_CONN = 1, VEX_FCGI_OVERLOADED = 2, VEX_FCGI_UNKNOWN_ROLE = 3 };

/* The state of one connection's incoming records; zero it (or vex_fcgi_reader_init) before use. */
struct vex_fcgi_reader {
	unsigned char hdr[VEX_FCGI_HEADER_LEN];
	unsigned hdr_got;      /* bytes of the current header seen; VEX_FCGI_HEADER_LEN inside a record */
	unsigned type;
	unsigned request_id;
	unsigned content_len;
	unsigned content_left;
	unsigned padding_left;
};

enum vex_fcgi_what {
	VEX_FCGI_NEED_MORE,  /* the input is used up */
	VEX_FCGI_CONTENT,    /* "data", "len": the next piece of the current record's content */
	VEX_FCGI_RECORD_END  /* the current record (content and padding) is complete */
};

/* What vex_fcgi_read found. "data" points into the caller's input buffer. */
struct vex_fcgi_piece {
	enum vex_fcgi_what what;
	unsigned type;
	unsigned request_id;
	unsigned content_len; /* of the whole record */
	const unsigned char *data;
	size_t len;
};

void vex_fcgi_reader_init(struct vex_fcgi_reader *r);

/*
 * Consume bytes of "in" ("len" bytes) up to the next piece: a part of a record's content, or the
 * end of a record. Records may arrive split anywhere (header, content, padding); content arrives
 * in as many pieces as the reads cut it into. *ret_used gets the bytes consumed; call again with
 * the rest until the piece is VEX_FCGI_NEED_MORE. 0, or VEX_EINVAL when a header's version is not 1
 * (the connection cannot be trusted any further).
 */
int vex_fcgi_read(struct vex_fcgi_reader *r, const unsigned char *in, size_t len, size_t *ret_used,
		  struct vex_fcgi_piece *ret);

/* BEGIN_REQUEST's 8-byte body: role and flags. 0, or VEX_EINVAL when "len" is not 8. */
int vex_fcgi_begin_parse(const unsigned char *body, size_t len, unsigned *ret_role, unsigned *ret_flags);

/* One name-value pair; pointers into the params buffer, not NUL terminated. */
struct vex_fcgi_pair {
	const unsigned char *name;
	size_t name_len;
	const unsigned char *value;
	size_t value_len;
};

/*
 * The pair at *pos of the params block "buf" ("len" bytes: the concatenated PARAMS contents),
 * lengths in 1 byte (< 128) or 4 bytes (high bit set). Advances *pos. 0 with *ret, VEX_ENOTFOUND at
 * the end of the block, VEX_EINVAL when a length runs past the end.
 */
int vex_fcgi_pair_next(const unsigned char *buf, size_t len, size_t *pos, struct vex_fcgi_pair *ret);

/* 0 when "buf" is a well-formed sequence of pairs, else VEX_EINVAL. */
int vex_fcgi_params_check(const unsigned char *buf, size_t len);

/*
 * The value of the first pair named "name" in the params block, copied NUL terminated into "out".
 * 0, VEX_ENOTFOUND (absent), VEX_ETOOBIG (longer than outlen - 1), VEX_EINVAL (malformed block, or
 * a NUL byte inside the value).
 */
int vex_fcgi_param(const unsigned char *buf, size_t len, const char *name, char *out, size_t outlen);

/* Encode a pair into "out" when it fits in "cap" bytes; returns the bytes it takes (written or not). */
size_t vex_fcgi_pair_put(unsigned char *out, size_t cap, const char *name, size_t name_len, const char *value,
			 size_t value_len);

/* Write a record header. "content_len" <= VEX_FCGI_CONTENT_MAX, "padding" <= 255. */
void vex_fcgi_header_put(unsigned char out[VEX_FCGI_HEADER_LEN], unsigned type, unsigned request_id,
			 unsigned content_len, unsigned padding);

/* Bytes vex_fcgi_stdout_put writes for "len" bytes of data (0 for 0: an empty STDOUT ends the stream). */
size_t vex_fcgi_stdout_size(size_t len);

/* Frame "len" bytes of "data" as STDOUT records of at most VEX_FCGI_CONTENT_MAX bytes (no padding) into
 * "out", which holds vex_fcgi_stdout_size(len) bytes. Returns the bytes written. */
size_t vex_fcgi_stdout_put(unsigned char *out, unsigned request_id, const void *data, size_t len);

#define VEX_FCGI_END_LEN 24 /* an empty STDOUT record and END_REQUEST */

/* The end of a response: an empty STDOUT, then END_REQUEST with "app_status" and "protocol_status". */
size_t vex_fcgi_end_put(unsigned char out[VEX_FCGI_END_LEN], unsigned request_id, unsigned app_status,
			unsigned protocol_status);

#endif
