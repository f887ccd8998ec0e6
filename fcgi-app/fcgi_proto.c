/* fcgi_proto.c - FastCGI records and name-value pairs: an incremental reader and the framing of answers. */
#include "fcgi-app/fcgi_proto.h"

#include <string.h>

#include "core/base/err.h"

void vex_fcgi_reader_init(struct vex_fcgi_reader *r)
{
	memset(r, 0, sizeof(*r));
}

int vex_fcgi_read(struct vex_fcgi_reader *r, const unsigned char *in, size_t len, size_t *ret_used,
		  struct vex_fcgi_piece *ret)
{
	size_t used = 0, n;

	memset(ret, 0, sizeof(*ret));
	ret->what = VEX_FCGI_NEED_MORE;
	if (r->hdr_got < VEX_FCGI_HEADER_LEN) {
		n = VEX_FCGI_HEADER_LEN - r->hdr_got;
		if (n > len)
			n = len;
		memcpy(r->hdr + r->hdr_got, in, n);
		r->hdr_got += (unsigned)n;
		used += n;
		if (r->hdr_got < VEX_FCGI_HEADER_LEN)
			goto out;
		if (r->hdr[0] != VEX_FCGI_VERSION)
			return VEX_EINVAL;
		r->type = r->hdr[1];
		r->request_id = (unsigned)r->hdr[2] << 8 | r->hdr[3];
		r->content_len = (unsigned)r->hdr[4] << 8 | r->hdr[5];
		r->content_left = r->content_len;
		r->padding_left = r->hdr[6];
	}
	ret->type = r->type;
	ret->request_id = r->request_id;
	ret->content_len = r->content_len;
	if (r->content_left > 0) {
		if (used == len)
			goto out;
		n = len - used < r->content_left ? len - used : r->content_left;
		ret->what = VEX_FCGI_CONTENT;
		ret->data = in + used;
		ret->len = n;
		r->content_left -= (unsigned)n;
		used += n;
		goto out;
	}
	if (r->padding_left > 0) {
		n = len - used < r->padding_left ? len - used : r->padding_left;
		r->padding_left -= (unsigned)n;
		used += n;
		if (r->padding_left > 0)
			goto out;
	}
	ret->what = VEX_FCGI_RECORD_END;
	r->hdr_got = 0;
out:
	*ret_used = used;
	return 0;
}

int vex_fcgi_begin_parse(const unsigned char *body, size_t len, unsigned *ret_role, unsigned *ret_flags)
{
	if (len != 8)
		return VEX_EINVAL;
	*ret_role = (unsigned)body[0] << 8 | body[1];
	*ret_flags = body[2];
	return 0;
}

/* One length of a pair at *pos: 1 byte below 128, else 4 bytes with the high bit cleared. */
static int pair_len(const unsigned char *buf, size_t len, size_t *pos, size_t *ret)
{
	size_t p = *pos;

	if (p >= len)
		return VEX_EINVAL;
	if (!(buf[p] & 0x80)) {
		*ret = buf[p];
		*pos = p + 1;
		return 0;
	}
	if (len - p < 4)
		return VEX_EINVAL;
	*ret = (size_t)(buf[p] & 0x7f) << 24 | (size_t)buf[p + 1] << 16 | (size_t)buf[p + 2] << 8 | buf[p + 3];
	*pos = p + 4;
	return 0;
}

int vex_fcgi_pair_next(const unsigned char *buf, size_t len, size_t *pos, struct vex_fcgi_pair *ret)
{
	size_t p = *pos, nl, vl;

	if (p >= len)
		return VEX_ENOTFOUND;
	if (pair_len(buf, len, &p, &nl) || pair_len(buf, len, &p, &vl))
		return VEX_EINVAL;
	if (nl > len - p || vl > len - p - nl)
		return VEX_EINVAL;
	ret->name = buf + p;
	ret->name_len = nl;
	ret->value = buf + p + nl;
	ret->value_len = vl;
	*pos = p + nl + vl;
	return 0;
}

int vex_fcgi_params_check(const unsigned char *buf, size_t len)
{
	struct vex_fcgi_pair pr;
	size_t pos = 0;
	int rc;

	while ((rc = vex_fcgi_pair_next(buf, len, &pos, &pr)) == 0)
		;
	return rc == VEX_ENOTFOUND ? 0 : VEX_EINVAL;
}

int vex_fcgi_param(const unsigned char *buf, size_t len, const char *name, char *out, size_t outlen)
{
	struct vex_fcgi_pair pr;
	size_t pos = 0, nlen = strlen(name);
	int rc;

	while ((rc = vex_fcgi_pair_next(buf, len, &pos, &pr)) == 0) {
		if (pr.name_len != nlen || memcmp(pr.name, name, nlen) != 0)
			continue;
		if (memchr(pr.value, '\0', pr.value_len))
			return VEX_EINVAL;
		if (pr.value_len >= outlen)
			return VEX_ETOOBIG;
		memcpy(out, pr.value, pr.value_len);
		out[pr.value_len] = '\0';
		return 0;
	}
	return rc;
}

/* Write one length; returns the bytes it takes. */
static size_t len_put(unsigned char *out, size_t n)
{
	if (n < 128) {
		out[0] = (unsigned char)n;
		return 1;
	}
	out[0] = (unsigned char)(0x80 | ((n >> 24) & 0x7f));
	out[1] = (unsigned char)(n >> 16);
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	return 4;
}

size_t vex_fcgi_pair_put(unsigned char *out, size_t cap, const char *name, size_t name_len, const char *value,
			 size_t value_len)
{
	size_t need = (name_len < 128 ? 1 : 4) + (value_len < 128 ? 1 : 4) + name_len + value_len, p;

	if (need > cap)
		return need;
	p = len_put(out, name_len);
	p += len_put(out + p, value_len);
	memcpy(out + p, name, name_len);
	memcpy(out + p + name_len, value, value_len);
	return need;
}

void vex_fcgi_header_put(unsigned char out[VEX_FCGI_HEADER_LEN], unsigned type, unsigned request_id,
			 unsigned content_len, unsigned padding)
{
	out[0] = VEX_FCGI_VERSION;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(request_id >> 8);
	out[3] = (unsigned char)request_id;
	out[4] = (unsigned char)(content_len >> 8);
	out[5] = (unsigned char)content_len;
	out[6] = (unsigned char)padding;
	out[7] = 0;
}

size_t vex_fcgi_stdout_size(size_t len)
{
	return len + VEX_FCGI_HEADER_LEN * ((len + VEX_FCGI_CONTENT_MAX - 1) / VEX_FCGI_CONTENT_MAX);
}

size_t vex_fcgi_stdout_put(unsigned char *out, unsigned request_id, const void *data, size_t len)
{
	const unsigned char *d = data;
	size_t o = 0, n;

	while (len > 0) {
		n = len < VEX_FCGI_CONTENT_MAX ? len : VEX_FCGI_CONTENT_MAX;
		vex_fcgi_header_put(out + o, VEX_FCGI_STDOUT, request_id, (unsigned)n, 0);
		memcpy(out + o + VEX_FCGI_HEADER_LEN, d, n);
		o += VEX_FCGI_HEADER_LEN + n;
		d += n;
		len -= n;
	}
	return o;
}

size_t vex_fcgi_end_put(unsigned char out[VEX_FCGI_END_LEN], unsigned request_id, unsigned app_status,
			unsigned protocol_status)
{
	unsigned char *b = out + 2 * VEX_FCGI_HEADER_LEN;

	vex_fcgi_header_put(out, VEX_FCGI_STDOUT, request_id, 0, 0);
	vex_fcgi_header_put(out + VEX_FCGI_HEADER_LEN, VEX_FCGI_END_REQUEST, request_id, 8, 0);
	b[0] = (unsigned char)(app_status >> 24);
	b[1] = (unsigned char)(app_status >> 16);
	b[2] = (unsigned char)(app_status >> 8);
	b[3] = (unsigned char)app_status;
	b[4] = (unsigned char)protocol_status;
	b[5] = b[6] = b[7] = 0;
	return VEX_FCGI_END_LEN;
}
