/* buf.c - capped growable byte buffer (the one vex keeps, like curl's dynbuf and git's strbuf). */
#include "core/base/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

#define BUF_INITIAL 256

void vex_buf_init(struct vex_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max < SIZE_MAX / 2 ? max : SIZE_MAX / 2;
}

int vex_buf_reserve(struct vex_buf *b, size_t extra)
{
	size_t want, cap;
	char *np;

	if (extra > b->max || b->len > b->max - extra)
		return VEX_ETOOBIG;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : BUF_INITIAL;
	while (cap < want && cap <= b->max / 2)
		cap *= 2;
	if (cap < want || cap > b->max + 1)
		cap = b->max + 1; /* the cap itself, plus the NUL */
	np = realloc(b->p, cap);
	if (!np)
		return VEX_ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

void vex_buf_wrote(struct vex_buf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

void vex_buf_drop(struct vex_buf *b, size_t n)
{
	if (n >= b->len) {
		vex_buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

int vex_buf_add(struct vex_buf *b, const void *data, size_t n)
{
	int rc;

	if (b->err)
		return b->err;
	rc = vex_buf_reserve(b, n);
	if (rc) {
		b->err = rc;
		return rc;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int vex_buf_puts(struct vex_buf *b, const char *s)
{
	return vex_buf_add(b, s, strlen(s));
}

int vex_buf_printf(struct vex_buf *b, const char *fmt, ...)
{
	char tmp[512], *big = NULL;
	va_list ap;
	int n, rc;

	if (b->err)
		return b->err;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = VEX_ERROR;
		return VEX_ERROR;
	}
	if ((size_t)n < sizeof(tmp))
		return vex_buf_add(b, tmp, (size_t)n);
	rc = vex_buf_reserve(b, (size_t)n);
	if (rc) {
		b->err = rc;
		goto out;
	}
	big = b->p + b->len; /* room for n bytes and the NUL */
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
out:
	return rc;
}

void vex_buf_reset(struct vex_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

void vex_buf_release(struct vex_buf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

char *vex_buf_steal(struct vex_buf *b, size_t *ret_len)
{
	char *p = b->p;
	size_t len = b->len;

	if (!p)
		p = strdup("");
	b->p = NULL;
	vex_buf_release(b);
	if (p && ret_len)
		*ret_len = len;
	return p;
}
