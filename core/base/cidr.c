/* cidr.c - parsing "addr[/prefix]" lists and matching an address against them. */
#include "core/base/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

#define ENTRY_MAX 64 /* longest IPv6 text with a prefix fits */

struct range {
	int v6;
	unsigned char a[16];
	int bits;
};

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4. */
static void unmap(struct range *r)
{
	static const unsigned char pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (r->v6 && memcmp(r->a, pre, sizeof(pre)) == 0) {
		memmove(r->a, r->a + 12, 4);
		r->v6 = 0;
		r->bits = r->bits >= 96 ? r->bits - 96 : 0;
	}
}

static int parse_entry(const char *s, size_t len, struct range *r)
{
	char buf[ENTRY_MAX], *slash, *end;
	long bits;

	if (len == 0 || len >= sizeof(buf))
		return VEX_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, buf, r->a) == 1) {
		r->bits = 32;
	} else if (inet_pton(AF_INET6, buf, r->a) == 1) {
		r->v6 = 1;
		r->bits = 128;
	} else {
		return VEX_EINVAL;
	}
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return VEX_EINVAL;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || bits < 0 || bits > r->bits || end - (slash + 1) > 3)
			return VEX_EINVAL;
		r->bits = (int)bits;
	}
	unmap(r);
	return 0;
}

static int in_range(const struct range *r, const struct range *a)
{
	int full = r->bits / 8, rest = r->bits % 8;

	if (r->v6 != a->v6)
		return 0;
	if (memcmp(r->a, a->a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((r->a[full] ^ a->a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Call "fn" on each entry of "list"; stops at the first non-zero return. */
static int each(const char *list, int (*fn)(const char *s, size_t len, void *arg), void *arg)
{
	const char *p = list;
	int rc;

	while (*p) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			continue;
		rc = fn(p, len, arg);
		if (rc)
			return rc;
		p += len;
	}
	return 0;
}

struct check_arg {
	char *why;
	size_t whylen;
};

static int check_one(const char *s, size_t len, void *arg)
{
	struct check_arg *c = arg;
	struct range r;

	if (parse_entry(s, len, &r) == 0)
		return 0;
	snprintf(c->why, c->whylen, "\"%.*s\" is not an address or address/prefix (e.g. 10.0.0.0/8, ::1)",
		 (int)(len > ENTRY_MAX ? ENTRY_MAX : len), s);
	return VEX_EINVAL;
}

int vex_cidr_list_check(const char *list, char *why, size_t whylen)
{
	struct check_arg c = { why, whylen };

	return list ? each(list, check_one, &c) : 0;
}

static int match_one(const char *s, size_t len, void *arg)
{
	struct range r;

	return parse_entry(s, len, &r) == 0 && in_range(&r, arg);
}

int vex_cidr_list_match(const char *list, const char *addr)
{
	struct range a;

	if (!list || !addr || parse_entry(addr, strlen(addr), &a) != 0 || strchr(addr, '/'))
		return 0;
	return each(list, match_one, &a) == 1;
}
