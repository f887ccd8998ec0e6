/* fcgi_proto.c - fuzzes the FastCGI record reader and the name-value pairs (fcgi-app/fcgi_proto.h). */
#include "core/base/err.h"
#include "fcgi-app/fcgi_proto.h"
#include "tests/fuzz/fuzz.h"

#define PARAMS_CAP 65536

/* Every pair of "buf": parsed, encoded again, and parsed back to the same bytes; then looked up. */
static void pairs(const unsigned char *buf, size_t len)
{
	static unsigned char enc[PARAMS_CAP + 16];
	struct vex_fcgi_pair p, q;
	char name[64], out[256];
	size_t pos = 0, pos2, need;
	int ok = vex_fcgi_params_check(buf, len) == 0, rc;

	while ((rc = vex_fcgi_pair_next(buf, len, &pos, &p)) == 0) {
		FUZZ_ASSERT(pos <= len);
		FUZZ_ASSERT(p.name >= buf && p.name + p.name_len <= buf + len);
		FUZZ_ASSERT(p.value >= buf && p.value + p.value_len <= buf + len);
		need = vex_fcgi_pair_put(enc, sizeof(enc), (const char *)p.name, p.name_len, (const char *)p.value,
					 p.value_len);
		if (need <= sizeof(enc)) {
			pos2 = 0;
			FUZZ_ASSERT(vex_fcgi_pair_next(enc, need, &pos2, &q) == 0 && pos2 == need);
			FUZZ_ASSERT(q.name_len == p.name_len && memcmp(q.name, p.name, p.name_len) == 0);
			FUZZ_ASSERT(q.value_len == p.value_len && memcmp(q.value, p.value, p.value_len) == 0);
		}
		if (p.name_len > 0 && p.name_len < sizeof(name)) {
			memcpy(name, p.name, p.name_len);
			name[p.name_len] = '\0';
			if (memchr(name, '\0', p.name_len) == NULL) {
				rc = vex_fcgi_param(buf, len, name, out, sizeof(out));
				FUZZ_ASSERT(rc != VEX_ENOTFOUND);
				if (rc == 0)
					FUZZ_ASSERT(strlen(out) < sizeof(out));
			}
		}
	}
	FUZZ_ASSERT(rc == VEX_ENOTFOUND || rc == VEX_EINVAL);
	FUZZ_ASSERT(ok == (rc == VEX_ENOTFOUND));
	vex_fcgi_param(buf, len, "REQUEST_METHOD", out, 8);
}

/* Any data framed as STDOUT records reads back as the same bytes, in records of at most 64 KiB. */
static void stdout_round_trip(const uint8_t *data, size_t size)
{
	struct vex_fcgi_reader r;
	struct vex_fcgi_piece p;
	unsigned char *out = malloc(vex_fcgi_stdout_size(size) + 1);
	size_t n, pos = 0, used, got = 0;

	if (!out)
		return;
	n = vex_fcgi_stdout_put(out, 7, data, size);
	FUZZ_ASSERT(n == vex_fcgi_stdout_size(size));
	vex_fcgi_reader_init(&r);
	for (;;) {
		FUZZ_ASSERT(vex_fcgi_read(&r, out + pos, n - pos, &used, &p) == 0);
		pos += used;
		if (p.what == VEX_FCGI_NEED_MORE)
			break;
		FUZZ_ASSERT(p.type == VEX_FCGI_STDOUT && p.request_id == 7);
		if (p.what == VEX_FCGI_CONTENT) {
			FUZZ_ASSERT(got + p.len <= size && memcmp(p.data, data + got, p.len) == 0);
			got += p.len;
		}
	}
	FUZZ_ASSERT(pos == n && got == size);
	free(out);
}

/*
 * The input after its first byte is a connection's bytes, fed in reads of 1..16 bytes (the first
 * byte picks the size): the pieces must stay inside the input, a record's content must add up to
 * its length, and the PARAMS of each request go through pairs().
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char params[PARAMS_CAP], begin[16];
	struct vex_fcgi_reader r;
	struct vex_fcgi_piece p;
	size_t off = 0, step, n, pos, used, plen = 0, blen = 0, got = 0;
	unsigned role, flags;

	if (size == 0)
		return 0;
	stdout_round_trip(data, size);
	step = data[0] % 16 + 1;
	data++;
	size--;
	vex_fcgi_reader_init(&r);
	while (off < size) {
		n = size - off < step ? size - off : step;
		pos = 0;
		for (;;) {
			if (vex_fcgi_read(&r, data + off + pos, n - pos, &used, &p) != 0)
				return 0;
			FUZZ_ASSERT(used <= n - pos);
			pos += used;
			if (p.what == VEX_FCGI_NEED_MORE) {
				FUZZ_ASSERT(pos == n);
				break;
			}
			if (p.what == VEX_FCGI_CONTENT) {
				FUZZ_ASSERT(p.data >= data + off && p.data + p.len <= data + off + pos);
				FUZZ_ASSERT(p.len > 0);
				got += p.len;
				FUZZ_ASSERT(got <= p.content_len);
				if (p.type == VEX_FCGI_PARAMS && plen + p.len <= sizeof(params)) {
					memcpy(params + plen, p.data, p.len);
					plen += p.len;
				}
				if (p.type == VEX_FCGI_BEGIN_REQUEST && blen + p.len <= sizeof(begin)) {
					memcpy(begin + blen, p.data, p.len);
					blen += p.len;
				}
				continue;
			}
			FUZZ_ASSERT(got == p.content_len);
			got = 0;
			if (p.type == VEX_FCGI_BEGIN_REQUEST) {
				vex_fcgi_begin_parse(begin, blen, &role, &flags);
				blen = 0;
			}
			if (p.type == VEX_FCGI_PARAMS && p.content_len == 0) {
				pairs(params, plen);
				plen = 0;
			}
		}
		off += n;
	}
	pairs(params, plen);
	return 0;
}
