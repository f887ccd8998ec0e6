/* test_fcgi_proto.c - FastCGI framing: records split anywhere, padding, 1- and 4-byte pair lengths, bad input, answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "fcgi-app/fcgi_proto.h"

/* What a reader collected from a byte stream: per record type, the concatenated content, and the
 * sequence of record ends. */
struct seen {
	unsigned char content[3][200000]; /* BEGIN_REQUEST, PARAMS, STDIN */
	size_t len[3];
	unsigned ends[16];                /* record types in order of their ends */
	unsigned end_lens[16];
	unsigned ids[16];
	int nends;
};

static int slot(unsigned type)
{
	return type == VEX_FCGI_BEGIN_REQUEST ? 0 : type == VEX_FCGI_PARAMS ? 1 : 2;
}

/* Feed "in" in chunks of "step" bytes (the reads of a socket). */
static int feed(const unsigned char *in, size_t len, size_t step, struct seen *s)
{
	struct vex_fcgi_reader r;
	struct vex_fcgi_piece pc;
	size_t off = 0, end, used;
	int rc;

	vex_fcgi_reader_init(&r);
	memset(s, 0, sizeof(*s));
	while (off < len) {
		end = off + step < len ? off + step : len;
		for (;;) {
			rc = vex_fcgi_read(&r, in + off, end - off, &used, &pc);
			if (rc)
				return rc;
			off += used;
			if (pc.what == VEX_FCGI_NEED_MORE)
				break;
			if (pc.what == VEX_FCGI_CONTENT) {
				int k = slot(pc.type);

				assert_true(pc.len > 0);
				memcpy(s->content[k] + s->len[k], pc.data, pc.len);
				s->len[k] += pc.len;
			} else {
				assert_true(s->nends < 16);
				s->ends[s->nends] = pc.type;
				s->end_lens[s->nends] = pc.content_len;
				s->ids[s->nends++] = pc.request_id;
			}
		}
		assert_int_equal(off, end);
	}
	return 0;
}

/* Append a record with "padding" bytes of padding (filled with junk). */
static size_t record(unsigned char *out, unsigned type, unsigned id, const void *content, size_t n, unsigned padding)
{
	vex_fcgi_header_put(out, type, id, (unsigned)n, padding);
	memcpy(out + 8, content, n);
	memset(out + 8 + n, 0xee, padding);
	return 8 + n + padding;
}

static size_t request(unsigned char *buf, const unsigned char *params, size_t plen, unsigned padding)
{
	static const unsigned char begin[8] = { 0, VEX_FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
	size_t n = 0, half = plen / 2;

	n += record(buf + n, VEX_FCGI_BEGIN_REQUEST, 1, begin, 8, padding);
	/* The params in two records, cut in the middle of a pair. */
	n += record(buf + n, VEX_FCGI_PARAMS, 1, params, half, padding);
	n += record(buf + n, VEX_FCGI_PARAMS, 1, params + half, plen - half, (padding + 3) % 256);
	n += record(buf + n, VEX_FCGI_PARAMS, 1, "", 0, padding);
	n += record(buf + n, VEX_FCGI_STDIN, 1, "", 0, 0);
	return n;
}

static size_t params_block(unsigned char *p, size_t cap)
{
	size_t n = 0;

	n += vex_fcgi_pair_put(p + n, cap - n, "REQUEST_METHOD", 14, "GET", 3);
	n += vex_fcgi_pair_put(p + n, cap - n, "DOCUMENT_URI", 12, "/jobs/x/stream", 14);
	n += vex_fcgi_pair_put(p + n, cap - n, "HTTP_LAST_EVENT_ID", 18, "42", 2);
	return n;
}

static void check_request(const struct seen *s, const unsigned char *params, size_t plen)
{
	char v[64];
	unsigned role = 0, flags = 9;

	assert_int_equal(s->nends, 5);
	assert_int_equal(s->ends[0], VEX_FCGI_BEGIN_REQUEST);
	assert_int_equal(s->ends[1], VEX_FCGI_PARAMS);
	assert_int_equal(s->ends[2], VEX_FCGI_PARAMS);
	assert_int_equal(s->ends[3], VEX_FCGI_PARAMS);
	assert_int_equal(s->end_lens[3], 0); /* the empty PARAMS that ends them */
	assert_int_equal(s->ends[4], VEX_FCGI_STDIN);
	assert_int_equal(s->ids[0], 1);
	assert_int_equal(vex_fcgi_begin_parse(s->content[0], s->len[0], &role, &flags), 0);
	assert_int_equal(role, VEX_FCGI_RESPONDER);
	assert_int_equal(flags, 0);
	assert_int_equal(s->len[1], plen);
	assert_memory_equal(s->content[1], params, plen);
	assert_int_equal(vex_fcgi_params_check(s->content[1], s->len[1]), 0);
	assert_int_equal(vex_fcgi_param(s->content[1], s->len[1], "DOCUMENT_URI", v, sizeof(v)), 0);
	assert_string_equal(v, "/jobs/x/stream");
	assert_int_equal(vex_fcgi_param(s->content[1], s->len[1], "HTTP_LAST_EVENT_ID", v, sizeof(v)), 0);
	assert_string_equal(v, "42");
	assert_int_equal(vex_fcgi_param(s->content[1], s->len[1], "HTTP_AUTHORIZATION", v, sizeof(v)), VEX_ENOTFOUND);
	assert_int_equal(s->len[2], 0);
}

/* The same request read whole and cut at every possible read size. */
static void test_split_reads(void **state)
{
	static unsigned char buf[4096];
	unsigned char params[512];
	size_t plen, n, step;
	static struct seen s;

	(void)state;
	plen = params_block(params, sizeof(params));
	n = request(buf, params, plen, 0);
	for (step = 1; step <= n; step++) {
		assert_int_equal(feed(buf, n, step, &s), 0);
		check_request(&s, params, plen);
	}
}

/* Padding after content (and after empty records) is skipped, also when cut mid-padding. */
static void test_padding(void **state)
{
	static unsigned char buf[8192];
	unsigned char params[512];
	static struct seen s;
	unsigned pad;
	size_t plen, n, step;

	(void)state;
	plen = params_block(params, sizeof(params));
	for (pad = 1; pad < 256; pad += 37) {
		n = request(buf, params, plen, pad);
		for (step = 1; step <= 13; step++) {
			assert_int_equal(feed(buf, n, step, &s), 0);
			check_request(&s, params, plen);
		}
		assert_int_equal(feed(buf, n, n, &s), 0);
		check_request(&s, params, plen);
	}
}

/* Names and values of 128 bytes and more use 4-byte lengths; a value may be long. */
static void test_long_pairs(void **state)
{
	static unsigned char p[300000];
	static char big[200000], out[200001];
	char name[300], small[8];
	size_t n = 0, pos = 0;
	struct vex_fcgi_pair pr;

	(void)state;
	memset(big, 'v', sizeof(big));
	memset(name, 'N', sizeof(name));
	n += vex_fcgi_pair_put(p + n, sizeof(p) - n, "A", 1, "", 0);
	n += vex_fcgi_pair_put(p + n, sizeof(p) - n, name, sizeof(name), "x", 1);
	n += vex_fcgi_pair_put(p + n, sizeof(p) - n, "HTTP_AUTHORIZATION", 18, big, sizeof(big));
	/* the second pair starts at 3: a 4-byte name length of 300 */
	assert_int_equal(p[3], 0x80);
	assert_int_equal(p[4], 0);
	assert_int_equal(p[5], 300 >> 8);
	assert_int_equal(p[6], 300 & 0xff);
	assert_int_equal(vex_fcgi_params_check(p, n), 0);
	assert_int_equal(vex_fcgi_pair_next(p, n, &pos, &pr), 0);
	assert_int_equal(pr.name_len, 1);
	assert_int_equal(pr.value_len, 0);
	assert_int_equal(vex_fcgi_pair_next(p, n, &pos, &pr), 0);
	assert_int_equal(pr.name_len, sizeof(name));
	assert_memory_equal(pr.name, name, sizeof(name));
	assert_int_equal(vex_fcgi_pair_next(p, n, &pos, &pr), 0);
	assert_int_equal(pr.value_len, sizeof(big));
	assert_int_equal(vex_fcgi_pair_next(p, n, &pos, &pr), VEX_ENOTFOUND);
	assert_int_equal(vex_fcgi_param(p, n, "HTTP_AUTHORIZATION", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), sizeof(big));
	/* A value longer than the caller's room is refused, not truncated. */
	assert_int_equal(vex_fcgi_param(p, n, "HTTP_AUTHORIZATION", small, sizeof(small)), VEX_ETOOBIG);
	assert_int_equal(vex_fcgi_param(p, n, "A", small, sizeof(small)), 0);
	assert_string_equal(small, "");
}

/* Lengths that run past the block, truncated length bytes, NUL inside a value. */
static void test_malformed_params(void **state)
{
	unsigned char p[64];
	char out[16];
	size_t pos = 0;
	struct vex_fcgi_pair pr;

	(void)state;
	/* name length 5, value length 10, but only 6 bytes follow */
	memcpy(p, "\x05\x0a" "ABCDEx", 8);
	assert_int_equal(vex_fcgi_params_check(p, 8), VEX_EINVAL);
	assert_int_equal(vex_fcgi_pair_next(p, 8, &pos, &pr), VEX_EINVAL);
	assert_int_equal(vex_fcgi_param(p, 8, "ABCDE", out, sizeof(out)), VEX_EINVAL);
	/* a 4-byte length cut short */
	memcpy(p, "\x80\x00", 2);
	assert_int_equal(vex_fcgi_params_check(p, 2), VEX_EINVAL);
	/* a huge 4-byte length */
	memcpy(p, "\xff\xff\xff\xff\x01" "A", 6);
	assert_int_equal(vex_fcgi_params_check(p, 6), VEX_EINVAL);
	/* only a name length */
	assert_int_equal(vex_fcgi_params_check((const unsigned char *)"\x01", 1), VEX_EINVAL);
	/* NUL inside a value */
	memcpy(p, "\x01\x03" "Ka\0b", 6);
	assert_int_equal(vex_fcgi_params_check(p, 6), 0);
	assert_int_equal(vex_fcgi_param(p, 6, "K", out, sizeof(out)), VEX_EINVAL);
	/* the empty block */
	assert_int_equal(vex_fcgi_params_check(p, 0), 0);
	assert_int_equal(vex_fcgi_param(p, 0, "K", out, sizeof(out)), VEX_ENOTFOUND);
}

static void test_bad_version_and_begin(void **state)
{
	unsigned char rec[16];
	struct vex_fcgi_reader r;
	struct vex_fcgi_piece pc;
	unsigned role, flags;
	size_t used;

	(void)state;
	vex_fcgi_header_put(rec, VEX_FCGI_STDIN, 1, 0, 0);
	rec[0] = 2;
	vex_fcgi_reader_init(&r);
	assert_int_equal(vex_fcgi_read(&r, rec, 8, &used, &pc), VEX_EINVAL);
	assert_int_equal(vex_fcgi_begin_parse(rec, 7, &role, &flags), VEX_EINVAL);
	memcpy(rec, "\x00\x01\x01\x00\x00\x00\x00\x00", 8);
	assert_int_equal(vex_fcgi_begin_parse(rec, 8, &role, &flags), 0);
	assert_int_equal(flags & VEX_FCGI_KEEP_CONN, VEX_FCGI_KEEP_CONN);
}

/* Answers: STDOUT records of at most 65535 bytes that reassemble to the data, then the end. */
static void test_stdout_framing(void **state)
{
	static unsigned char data[200000], out[210000];
	static struct seen s;
	struct vex_fcgi_reader r;
	struct vex_fcgi_piece pc;
	unsigned char end[VEX_FCGI_END_LEN];
	size_t n, i, off = 0, used, got = 0, records = 0;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	assert_int_equal(vex_fcgi_stdout_size(0), 0);
	assert_int_equal(vex_fcgi_stdout_size(1), 9);
	assert_int_equal(vex_fcgi_stdout_size(65535), 65535 + 8);
	assert_int_equal(vex_fcgi_stdout_size(65536), 65536 + 16);
	n = vex_fcgi_stdout_put(out, 7, data, sizeof(data));
	assert_int_equal(n, vex_fcgi_stdout_size(sizeof(data)));
	vex_fcgi_reader_init(&r);
	for (;;) {
		assert_int_equal(vex_fcgi_read(&r, out + off, n - off, &used, &pc), 0);
		off += used;
		if (pc.what == VEX_FCGI_NEED_MORE)
			break;
		assert_int_equal(pc.type, VEX_FCGI_STDOUT);
		assert_int_equal(pc.request_id, 7);
		assert_true(pc.content_len <= VEX_FCGI_CONTENT_MAX);
		if (pc.what == VEX_FCGI_CONTENT) {
			assert_memory_equal(pc.data, data + got, pc.len);
			got += pc.len;
		} else {
			records++;
		}
	}
	assert_int_equal(got, sizeof(data));
	assert_int_equal(records, 4);

	assert_int_equal(vex_fcgi_end_put(end, 300, 0, VEX_FCGI_REQUEST_COMPLETE), VEX_FCGI_END_LEN);
	assert_int_equal(end[0], 1);
	assert_int_equal(end[1], VEX_FCGI_STDOUT);
	assert_int_equal(end[2] << 8 | end[3], 300);
	assert_int_equal(end[4] | end[5], 0);
	assert_int_equal(end[9], VEX_FCGI_END_REQUEST);
	assert_int_equal(end[12] << 8 | end[13], 8);
	(void)s;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_reads),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_long_pairs),
		cmocka_unit_test(test_malformed_params),
		cmocka_unit_test(test_bad_version_and_begin),
		cmocka_unit_test(test_stdout_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
