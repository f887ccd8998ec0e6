/* netguard.c - outbound target checks: URL syntax, IP literals and the special-purpose address ranges. */
#include "core/hooks/netguard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/base/err.h"
#include "core/store/store.h"

#define PRIVATE_WHY "targets on loopback, private or other special-purpose addresses are not allowed; " \
	"the operator can allow them with %s"
#define HOOKS_SETTING "[webhooks] allow_private"

enum addr_class { ADDR_PUBLIC, ADDR_PRIVATE, ADDR_NOT_UNICAST };

/*
 * IANA's IPv4 Special-Purpose Address Registry, every entry, whether the registry calls it globally
 * reachable or not (no webhook receiver lives on an anycast relay or AS112 server), plus 224/4
 * multicast (judged apart, below). "v4" in host order.
 */
static enum addr_class class_v4(uint32_t v4)
{
	static const struct {
		uint32_t net;
		int bits;
	} special[] = {
		{ 0x00000000u, 8 },  /* 0.0.0.0/8 "this network" */
		{ 0x0a000000u, 8 },  /* 10/8 private-use */
		{ 0x64400000u, 10 }, /* 100.64/10 shared address space (CGNAT) */
		{ 0x7f000000u, 8 },  /* 127/8 loopback */
		{ 0xa9fe0000u, 16 }, /* 169.254/16 link-local (cloud metadata) */
		{ 0xac100000u, 12 }, /* 172.16/12 private-use */
		{ 0xc0000000u, 24 }, /* 192.0.0/24 IETF protocol assignments (DS-Lite, PCP, TURN, NAT64 discovery) */
		{ 0xc0000200u, 24 }, /* 192.0.2/24 documentation (TEST-NET-1) */
		{ 0xc01fc400u, 24 }, /* 192.31.196/24 AS112-v4 */
		{ 0xc034c100u, 24 }, /* 192.52.193/24 AMT */
		{ 0xc0586300u, 24 }, /* 192.88.99/24 6to4 relay anycast (deprecated) */
		{ 0xc0a80000u, 16 }, /* 192.168/16 private-use */
		{ 0xc0af3000u, 24 }, /* 192.175.48/24 direct delegation AS112 */
		{ 0xc6120000u, 15 }, /* 198.18/15 benchmarking */
		{ 0xc6336400u, 24 }, /* 198.51.100/24 documentation (TEST-NET-2) */
		{ 0xcb007100u, 24 }, /* 203.0.113/24 documentation (TEST-NET-3) */
		{ 0xf0000000u, 4 },  /* 240/4 reserved (255.255.255.255 limited broadcast judged apart) */
	};
	size_t i;

	if ((v4 & 0xf0000000u) == 0xe0000000u || v4 == 0xffffffffu) /* 224/4 multicast, broadcast */
		return ADDR_NOT_UNICAST;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - special[i].bits);

		if ((v4 & mask) == special[i].net)
			return ADDR_PRIVATE;
	}
	return ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* 1 when the first "bits" bits of "a" and "prefix" are equal. */
static int in_prefix(const unsigned char a[16], const unsigned char prefix[16], int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, prefix, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ prefix[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/*
 * IANA's IPv6 Special-Purpose Address Registry. Two forms are the IPv4 address they carry in their
 * last 32 bits and are judged as it: ::ffff:0:0/96 (IPv4-mapped: the kernel connects to that IPv4
 * address) and 64:ff9b::/96 (NAT64's well-known prefix, which DNS64 hands out for IPv4-only hosts on
 * IPv6-only networks; RFC 6052 forbids it for non-global IPv4). Everything else outside 2000::/3, the
 * only space IANA allocates global unicast from, is refused: ::/128, ::1, ::/96 (IPv4-compatible),
 * ::ffff:0:0:0/96 (IPv4-translated), 64:ff9b:1::/48 (local-use NAT64: its embedding is the site's
 * own), 100::/64 (discard-only), 100:0:0:1::/64 (dummy prefix), 5f00::/16 (SRv6 SIDs), fc00::/7
 * (unique local), fe80::/10 (link-local), fec0::/10 (site-local), ff00::/8 (multicast, never a TCP
 * peer). Inside 2000::/3 the registry's blocks are refused whole (see the table).
 */
static enum addr_class class_v6(const unsigned char a[16])
{
	static const unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff };
	static const unsigned char nat64[16] = { 0, 0x64, 0xff, 0x9b };
	static const struct {
		unsigned char prefix[16];
		int bits;
	} special[] = {
		/* IETF protocol assignments, whole: Teredo 2001::/32 (a tunnel to any IPv4 address), PCP and
		 * TURN anycast 2001:1::1 and ::2, benchmarking 2001:2::/48, AMT 2001:3::/32, AS112-v6
		 * 2001:4:112::/48, ORCHID 2001:10::/28, ORCHIDv2 2001:20::/28, DRIP 2001:30::/28 */
		{ { 0x20, 0x01 }, 23 },
		{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 },               /* 2001:db8::/32 documentation */
		{ { 0x20, 0x02 }, 16 },                           /* 2002::/16 6to4 (deprecated), whole */
		{ { 0x26, 0x20, 0x00, 0x4f, 0x80, 0x00 }, 48 },   /* 2620:4f:8000::/48 direct delegation AS112 */
		{ { 0x3f, 0xff }, 20 },                           /* 3fff::/20 documentation */
	};
	size_t i;

	if (a[0] == 0xff) /* ff00::/8 multicast */
		return ADDR_NOT_UNICAST;
	if (in_prefix(a, mapped, 96) || in_prefix(a, nat64, 96))
		return class_v4(v4_at(a + 12));
	if ((a[0] & 0xe0) != 0x20) /* outside 2000::/3 */
		return ADDR_PRIVATE;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (in_prefix(a, special[i].prefix, special[i].bits))
			return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

static int class_allowed(enum addr_class c, int allow_private)
{
	if (c == ADDR_PUBLIC)
		return 1;
	if (c == ADDR_PRIVATE)
		return allow_private != 0;
	return 0;
}

int vex_netguard_addr_allowed(const struct sockaddr *sa, int allow_private)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return class_allowed(class_v4(ntohl(in->sin_addr.s_addr)), allow_private);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		return class_allowed(class_v6(in6->sin6_addr.s6_addr), allow_private);
	}
	return 0;
}

static int refuse(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return VEX_EINVAL;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1 when the last label of the host name "h" ("n" bytes, a trailing dot ignored) is a number
 * (decimal, or 0x hex): resolvers and browsers then read the whole name as an IPv4 address. */
static int ends_in_number(const char *h, size_t n)
{
	size_t start, i;

	if (n && h[n - 1] == '.')
		n--;
	start = n;
	while (start > 0 && h[start - 1] != '.')
		start--;
	if (start == n)
		return 0;
	if (n - start >= 2 && h[start] == '0' && (h[start + 1] == 'x' || h[start + 1] == 'X'))
		return 1;
	for (i = start; i < n; i++)
		if (!is_digit(h[i]))
			return 0;
	return 1;
}

/* Four decimal numbers 0..255 without leading zeros into "ret" (host order). 0 or VEX_EINVAL. */
static int parse_dotted_quad(const char *h, size_t n, uint32_t *ret)
{
	uint32_t v = 0;
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned num = 0;
		size_t start = i;

		if (part > 0) {
			if (i >= n || h[i] != '.')
				return VEX_EINVAL;
			start = ++i;
		}
		while (i < n && is_digit(h[i]) && i - start < 4)
			num = num * 10 + (unsigned)(h[i++] - '0');
		if (i == start || i - start > 3 || num > 255 || (h[start] == '0' && i - start > 1))
			return VEX_EINVAL;
		v = v << 8 | num;
	}
	if (i != n)
		return VEX_EINVAL;
	*ret = v;
	return 0;
}

/* Check a host name (not an IP literal) of "n" bytes; "*ret_local" 1 for localhost names. */
static int check_hostname(const char *h, size_t n, int *ret_local, char *why, size_t whylen)
{
	size_t i, label = 0;

	if (n && h[n - 1] == '.')
		n--; /* the root label: "example.com." */
	if (n == 0)
		return refuse(why, whylen, "the host is missing");
	if (n > 253)
		return refuse(why, whylen, "the host name is longer than 253 characters");
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0)
				return refuse(why, whylen, "the host name has an empty label");
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return refuse(why, whylen,
				      "the host name may hold only letters, digits, '-', '_' and '.' (found '%c'; "
				      "write international names in punycode)", c);
		if (++label > 63)
			return refuse(why, whylen, "a label of the host name is longer than 63 characters");
	}
	if (label == 0)
		return refuse(why, whylen, "the host name has an empty label");
	*ret_local = (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
		     (n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0);
	return 0;
}

static int url_check(const char *url, int allow_private, const char *setting, char *why, size_t whylen)
{
	const char *p, *auth, *auth_end, *host, *host_end, *port = NULL;
	enum addr_class cls = ADDR_PUBLIC;
	size_t len, i;

	if (!url || !*url)
		return refuse(why, whylen, "the URL is empty");
	len = strlen(url);
	if (len > VEX_HOOK_URL_MAX)
		return refuse(why, whylen, "the URL is longer than %d bytes", VEX_HOOK_URL_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			return refuse(why, whylen, "the URL contains whitespace (at byte %zu)", i);
		if (c < 0x20 || c == 0x7f)
			return refuse(why, whylen, "the URL contains a control character (at byte %zu)", i);
		if (c >= 0x80)
			return refuse(why, whylen, "the URL contains a non-ASCII byte (at byte %zu); "
				      "percent-encode it, or write the host name in punycode", i);
	}
	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (strchr(url, ':') && strchr(url, ':') < url + strcspn(url, "/?#"))
		return refuse(why, whylen, "the scheme must be http or https");
	else
		return refuse(why, whylen, "the URL must be absolute, starting with http:// or https://");
	if (strchr(url, '#'))
		return refuse(why, whylen, "the URL must not have a fragment ('#')");

	auth_end = auth + strcspn(auth, "/?");
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			return refuse(why, whylen, "the URL must not hold a user name or password ('user:pass@')");
	if (auth == auth_end)
		return refuse(why, whylen, "the host is missing");

	if (*auth == '[') {
		struct in6_addr a6;
		char lit[64];
		size_t n;

		host = auth + 1;
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (!host_end)
			return refuse(why, whylen, "the IPv6 address has no closing ']'");
		n = (size_t)(host_end - host);
		if (memchr(host, '%', n))
			return refuse(why, whylen, "the IPv6 address must not carry a zone ('%%')");
		if (n == 0 || n >= sizeof(lit))
			return refuse(why, whylen, "the IPv6 address is not valid");
		memcpy(lit, host, n);
		lit[n] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1)
			return refuse(why, whylen, "the IPv6 address '%s' is not valid", lit);
		p = host_end + 1;
		if (p < auth_end && *p != ':')
			return refuse(why, whylen, "unexpected characters after the IPv6 address");
		if (p < auth_end)
			port = p + 1;
		cls = class_v6(a6.s6_addr);
	} else {
		int local = 0;
		size_t n;

		host = auth;
		host_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (host_end)
			port = host_end + 1;
		else
			host_end = auth_end;
		n = (size_t)(host_end - host);
		if (n == 0)
			return refuse(why, whylen, "the host is missing");
		if (ends_in_number(host, n)) {
			uint32_t v4;
			size_t m = host[n - 1] == '.' ? n - 1 : n;

			if (parse_dotted_quad(host, m, &v4) < 0)
				return refuse(why, whylen, "the host '%.*s' is not a valid IPv4 address "
					      "(write it as four decimal numbers 0-255)", (int)(n > 64 ? 64 : n), host);
			cls = class_v4(v4);
		} else {
			int rc = check_hostname(host, n, &local, why, whylen);

			if (rc < 0)
				return rc;
			if (local)
				cls = ADDR_PRIVATE;
		}
	}

	if (port) {
		long v = 0;

		if (port == auth_end)
			return refuse(why, whylen, "the port is empty");
		for (p = port; p < auth_end; p++) {
			if (!is_digit(*p))
				return refuse(why, whylen, "the port must be a number 1-65535");
			if (v <= 65535)
				v = v * 10 + (*p - '0');
		}
		if (v < 1 || v > 65535)
			return refuse(why, whylen, "the port must be a number 1-65535");
	}

	if (cls == ADDR_NOT_UNICAST)
		return refuse(why, whylen, "the host is a multicast or broadcast address, not a unicast one");
	if (cls == ADDR_PRIVATE && !allow_private)
		return refuse(why, whylen, PRIVATE_WHY, setting);
	return 0;
}

int vex_netguard_url_check(const char *url, int allow_private, char *why, size_t whylen)
{
	return url_check(url, allow_private, HOOKS_SETTING, why, whylen);
}

/* The length of "url"'s scheme://authority prefix, or 0 when it has no "://". */
static size_t origin_len(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;

	if (!p)
		return 0;
	p += 3;
	return (size_t)(p - url) + strcspn(p, "/?#");
}

int vex_netguard_origin_check(const char *url, int allow_private, const char *setting, char *why, size_t whylen)
{
	char buf[VEX_HOOK_URL_MAX + 1];
	size_t n = origin_len(url);

	if (n == 0 || n > VEX_HOOK_URL_MAX)
		return url_check(url, allow_private, setting, why, whylen);
	memcpy(buf, url, n);
	buf[n] = '\0';
	return url_check(buf, allow_private, setting, why, whylen);
}

int vex_netguard_resolve(const char *url, int allow_private, const char *setting, struct vex_netguard_addrs *ret,
			 char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct vex_netguard_addrs out;
	char host[256], port[8], text[INET6_ADDRSTRLEN];
	const char *auth, *h, *hend, *pstart = NULL;
	size_t n = origin_len(url);
	int rc;

	rc = vex_netguard_origin_check(url, allow_private, setting, why, whylen);
	if (rc)
		return rc;
	auth = strstr(url, "://") + 3;
	snprintf(port, sizeof(port), "%s", strncasecmp(url, "https", 5) == 0 ? "443" : "80");
	if (*auth == '[') {
		h = auth + 1;
		hend = strchr(h, ']');
		if (hend[1] == ':')
			pstart = hend + 2;
	} else {
		h = auth;
		hend = memchr(auth, ':', (size_t)(url + n - auth));
		if (hend)
			pstart = hend + 1;
		else
			hend = url + n;
	}
	if ((size_t)(hend - h) >= sizeof(host))
		return refuse(why, whylen, "the host name is too long");
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (pstart)
		snprintf(port, sizeof(port), "%.*s", (int)(url + n - pstart), pstart);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		refuse(why, whylen, "the host '%s' does not resolve (%s)", host, gai_strerror(rc));
		return VEX_ENOTFOUND;
	}
	memset(&out, 0, sizeof(out));
	for (ai = res; ai; ai = ai->ai_next) {
		if (!vex_netguard_addr_allowed(ai->ai_addr, allow_private)) {
			const void *a = ai->ai_family == AF_INET6 ?
				(const void *)&((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr :
				(const void *)&((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;

			if (!inet_ntop(ai->ai_family, a, text, sizeof(text)))
				snprintf(text, sizeof(text), "?");
			freeaddrinfo(res);
			return refuse(why, whylen, "the host '%s' resolves to %s: " PRIVATE_WHY, host, text, setting);
		}
		if (out.n < VEX_NETGUARD_ADDRS_MAX && ai->ai_addrlen <= sizeof(out.addr[0])) {
			memcpy(&out.addr[out.n], ai->ai_addr, ai->ai_addrlen);
			out.len[out.n++] = ai->ai_addrlen;
		}
	}
	freeaddrinfo(res);
	if (out.n == 0)
		return refuse(why, whylen, "the host '%s' has no address", host);
	if (ret)
		*ret = out;
	return 0;
}
