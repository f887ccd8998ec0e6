/* test_netguard.c - target address checks: every special-purpose range and its edges, URL syntax errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/hooks/netguard.h"
#include "core/store/store.h"

/* vex_netguard_addr_allowed of the literal "ip" (IPv4 or IPv6). */
static int allowed(const char *ip, int allow_private)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, ip, &in.sin_addr) == 1) {
		in.sin_family = AF_INET;
		in.sin_port = htons(443);
		return vex_netguard_addr_allowed((const struct sockaddr *)&in, allow_private);
	}
	if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons(443);
		return vex_netguard_addr_allowed((const struct sockaddr *)&in6, allow_private);
	}
	fail_msg("bad literal in the test: %s", ip);
	return -1;
}

/*
 * One row per special-purpose range (IANA's IPv4 and IPv6 Special-Purpose Address Registries, and
 * the others netguard.c refuses): its first and last address are refused without allow_private; the
 * addresses just below and just above it are allowed or refused as "below_ok"/"above_ok" say (0 when
 * they fall in a neighbouring special range, or outside 2000::/3; NULL when there is none). With
 * allow_private the first address passes, unless "never" (multicast, broadcast: never a TCP peer).
 */
static const struct range_row {
	const char *range;
	const char *first, *last;
	const char *below;
	int below_ok;
	const char *above;
	int above_ok;
	int never;
} ranges[] = {
	/* IPv4 */
	{ "0.0.0.0/8 this network", "0.0.0.0", "0.255.255.255", NULL, 0, "1.0.0.0", 1, 0 },
	{ "10/8 private", "10.0.0.0", "10.255.255.255", "9.255.255.255", 1, "11.0.0.0", 1, 0 },
	{ "100.64/10 CGNAT", "100.64.0.0", "100.127.255.255", "100.63.255.255", 1, "100.128.0.0", 1, 0 },
	{ "127/8 loopback", "127.0.0.0", "127.255.255.255", "126.255.255.255", 1, "128.0.0.0", 1, 0 },
	{ "169.254/16 link-local", "169.254.0.0", "169.254.255.255", "169.253.255.255", 1, "169.255.0.0", 1, 0 },
	{ "172.16/12 private", "172.16.0.0", "172.31.255.255", "172.15.255.255", 1, "172.32.0.0", 1, 0 },
	{ "192.0.0/24 IETF protocol", "192.0.0.0", "192.0.0.255", "191.255.255.255", 1, "192.0.1.0", 1, 0 },
	{ "192.0.2/24 TEST-NET-1", "192.0.2.0", "192.0.2.255", "192.0.1.255", 1, "192.0.3.0", 1, 0 },
	{ "192.31.196/24 AS112-v4", "192.31.196.0", "192.31.196.255", "192.31.195.255", 1, "192.31.197.0", 1, 0 },
	{ "192.52.193/24 AMT", "192.52.193.0", "192.52.193.255", "192.52.192.255", 1, "192.52.194.0", 1, 0 },
	{ "192.88.99/24 6to4 relay", "192.88.99.0", "192.88.99.255", "192.88.98.255", 1, "192.88.100.0", 1, 0 },
	{ "192.168/16 private", "192.168.0.0", "192.168.255.255", "192.167.255.255", 1, "192.169.0.0", 1, 0 },
	{ "192.175.48/24 AS112", "192.175.48.0", "192.175.48.255", "192.175.47.255", 1, "192.175.49.0", 1, 0 },
	{ "198.18/15 benchmarking", "198.18.0.0", "198.19.255.255", "198.17.255.255", 1, "198.20.0.0", 1, 0 },
	{ "198.51.100/24 TEST-NET-2", "198.51.100.0", "198.51.100.255", "198.51.99.255", 1, "198.51.101.0", 1, 0 },
	{ "203.0.113/24 TEST-NET-3", "203.0.113.0", "203.0.113.255", "203.0.112.255", 1, "203.0.114.0", 1, 0 },
	{ "224/4 multicast", "224.0.0.0", "239.255.255.255", "223.255.255.255", 1, "240.0.0.0", 0, 1 },
	{ "240/4 reserved (to the broadcast)", "240.0.0.0", "255.255.255.254",
	  "239.255.255.255", 0, "255.255.255.255", 0, 0 },
	{ "255.255.255.255 broadcast", "255.255.255.255", "255.255.255.255", "255.255.255.254", 0, NULL, 0, 1 },
	/* IPv6 outside 2000::/3: the neighbours are refused too */
	{ "::/128 unspecified", "::", "::", NULL, 0, "::1", 0, 0 },
	{ "::1/128 loopback", "::1", "::1", "::", 0, "::2", 0, 0 },
	{ "::/96 IPv4-compatible", "::", "::ffff:ffff", NULL, 0, "::1:0:0", 0, 0 },
	{ "::ffff:0:0/96 IPv4-mapped (0/8, broadcast)", "::ffff:0.0.0.0", "::ffff:255.255.255.255",
	  "::fffe:ffff:ffff", 0, "::1:0:0:0", 0, 0 },
	{ "::ffff:0:0:0/96 IPv4-translated", "::ffff:0:0:0", "::ffff:0:ffff:ffff",
	  "::fffe:ffff:ffff:ffff", 0, "::ffff:1:0:0", 0, 0 },
	{ "64:ff9b::/96 NAT64 (0/8, broadcast)", "64:ff9b::", "64:ff9b::ffff:ffff",
	  "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", 0, "64:ff9b::1:0:0", 0, 0 },
	{ "64:ff9b:1::/48 local-use NAT64", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
	  "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", 0, "64:ff9b:2::", 0, 0 },
	{ "100::/64 discard-only", "100::", "100::ffff:ffff:ffff:ffff",
	  "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "100:0:0:1::", 0, 0 },
	{ "100:0:0:1::/64 dummy prefix", "100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff",
	  "100::ffff:ffff:ffff:ffff", 0, "100:0:0:2::", 0, 0 },
	{ "5f00::/16 SRv6 SIDs", "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "5f01::", 0, 0 },
	{ "fc00::/7 unique local", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "fe00::", 0, 0 },
	{ "fe80::/10 link-local", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "fec0::", 0, 0 },
	{ "fec0::/10 site-local", "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "ff00::", 0, 0 },
	{ "ff00::/8 multicast", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL, 0, 1 },
	/* IPv6 inside 2000::/3 */
	{ "2001::/23 IETF protocol assignments", "2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2001:200::", 1, 0 },
	{ "2001::/32 Teredo", "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2001:1::", 0, 0 },
	{ "2001:1::1/128 PCP anycast", "2001:1::1", "2001:1::1", "2001:1::", 0, "2001:1::2", 0, 0 },
	{ "2001:1::2/128 TURN anycast", "2001:1::2", "2001:1::2", "2001:1::1", 0, "2001:1::3", 0, 0 },
	{ "2001:2::/48 benchmarking", "2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff",
	  "2001:1:ffff:ffff:ffff:ffff:ffff:ffff", 0, "2001:2:1::", 0, 0 },
	{ "2001:3::/32 AMT", "2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:2:ffff:ffff:ffff:ffff:ffff:ffff", 0, "2001:4::", 0, 0 },
	{ "2001:4:112::/48 AS112-v6", "2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff",
	  "2001:4:111:ffff:ffff:ffff:ffff:ffff", 0, "2001:4:113::", 0, 0 },
	{ "2001:10::/28 ORCHID", "2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", 0, "2001:20::", 0, 0 },
	{ "2001:20::/28 ORCHIDv2", "2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", 0, "2001:30::", 0, 0 },
	{ "2001:30::/28 DRIP", "2001:30::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", 0, "2001:40::", 0, 0 },
	{ "2001:db8::/32 documentation", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2001:db9::", 1, 0 },
	{ "2002::/16 6to4, whole", "2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2003::", 1, 0 },
	{ "2620:4f:8000::/48 AS112", "2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff",
	  "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", 1, "2620:4f:8001::", 1, 0 },
	{ "3fff::/20 documentation", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
	  "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "3fff:1000::", 1, 0 },
	/* 2000::/3 itself: refused below and above it */
	{ "outside 2000::/3 (below)", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  NULL, 0, "2000::", 1, 0 },
	{ "outside 2000::/3 (above)", "4000::", "4000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, NULL, 0, 0 },
};


static void expect_allowed(const char *what, const char *ip, int allow_private, int want)
{
	if (allowed(ip, allow_private) != want)
		fail_msg("%s: %s should be %s%s", what, ip, want ? "allowed" : "refused",
			 allow_private ? " with allow_private" : "");
}

static void test_special_ranges(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range_row *r = &ranges[i];

		expect_allowed(r->range, r->first, 0, 0);
		expect_allowed(r->range, r->last, 0, 0);
		expect_allowed(r->range, r->first, 1, !r->never);
		if (r->below)
			expect_allowed(r->range, r->below, 0, r->below_ok);
		if (r->above)
			expect_allowed(r->range, r->above, 0, r->above_ok);
	}
}

/* IPv6 forms that carry an IPv4 address: judged as it (mapped, NAT64's well-known prefix) or refused
 * whatever it is (translated, compatible, local-use NAT64, Teredo, 6to4). */
static void test_embedded_v4(void **state)
{
	static const struct {
		const char *ip;
		int ok, ok_private;
	} rows[] = {
		{ "::ffff:8.8.8.8", 1, 1 },
		{ "::ffff:127.0.0.1", 0, 1 },
		{ "::ffff:10.1.2.3", 0, 1 },
		{ "::ffff:100.64.0.1", 0, 1 },
		{ "::ffff:169.254.169.254", 0, 1 },
		{ "::ffff:192.0.2.1", 0, 1 },
		{ "::ffff:198.18.0.1", 0, 1 },
		{ "::ffff:224.0.0.1", 0, 0 },
		{ "64:ff9b::8.8.8.8", 1, 1 },
		{ "64:ff9b::127.0.0.1", 0, 1 },
		{ "64:ff9b::192.168.1.1", 0, 1 },
		{ "64:ff9b::a9fe:a9fe", 0, 1 },
		{ "64:ff9b::100.64.0.1", 0, 1 },
		{ "64:ff9b::239.1.1.1", 0, 0 },
		{ "64:ff9b:1::8.8.8.8", 0, 1 },
		{ "64:ff9b:1::a00:1", 0, 1 },
		{ "::ffff:0:8.8.8.8", 0, 1 },
		{ "::8.8.8.8", 0, 1 },
		{ "::127.0.0.1", 0, 1 },
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 0, 1 }, /* Teredo */
		{ "2001:0:a00:1::", 0, 1 },
		{ "2002:808:808::1", 0, 1 },                      /* 6to4 around 8.8.8.8: refused as a whole */
		{ "2002:c0a8:101::1", 0, 1 },                     /* 6to4 around 192.168.1.1 */
		{ "2002:7f00:1::", 0, 1 },
		{ "2002:a9fe:a9fe::1", 0, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		expect_allowed("embedded IPv4", rows[i].ip, 0, rows[i].ok);
		expect_allowed("embedded IPv4", rows[i].ip, 1, rows[i].ok_private);
	}
}

static void test_public(void **state)
{
	static const char *ok[] = {
		"1.1.1.1", "8.8.8.8", "93.184.216.34", "223.255.255.255", "100.63.255.255",
		"2001:4860:4860::8888", "2606:4700::1111", "2a00:1450:4001::200e", "2000::", "2003::1",
		"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		expect_allowed("public", ok[i], 0, 1);
		expect_allowed("public", ok[i], 1, 1);
	}
}

static void test_allow_private(void **state)
{
	struct sockaddr sa;

	(void)state;
	assert_int_equal(allowed("127.0.0.1", 1), 1);
	assert_int_equal(allowed("10.0.0.1", 1), 1);
	assert_int_equal(allowed("::1", 1), 1);
	assert_int_equal(allowed("fe80::1", 1), 1);
	assert_int_equal(allowed("::ffff:192.168.0.1", 1), 1);
	assert_int_equal(allowed("8.8.8.8", 1), 1);
	/* Never a TCP peer, whatever the operator says. */
	assert_int_equal(allowed("224.0.0.1", 1), 0);
	assert_int_equal(allowed("255.255.255.255", 1), 0);
	assert_int_equal(allowed("ff02::1", 1), 0);
	/* Other families and NULL. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_int_equal(vex_netguard_addr_allowed(&sa, 1), 0);
	assert_int_equal(vex_netguard_addr_allowed(NULL, 1), 0);
}

static void expect_ok(const char *url, int allow_private)
{
	char why[256] = "";
	int rc = vex_netguard_url_check(url, allow_private, why, sizeof(why));

	if (rc != 0)
		fail_msg("%s refused: %s", url, why);
}

/* Refused with a reason that contains "needle". */
static void expect_bad(const char *url, int allow_private, const char *needle)
{
	char why[256] = "";
	int rc = vex_netguard_url_check(url, allow_private, why, sizeof(why));

	if (rc != VEX_EINVAL)
		fail_msg("%s: expected VEX_EINVAL, got %d", url ? url : "(null)", rc);
	if (!strstr(why, needle))
		fail_msg("%s: reason '%s' lacks '%s'", url ? url : "(null)", why, needle);
}

static void test_url_accepted(void **state)
{
	(void)state;
	expect_ok("https://example.com/hook", 0);
	expect_ok("http://example.com", 0);
	expect_ok("HTTPS://Example.COM:8443/a/b?c=d&e=%20f", 0);
	expect_ok("https://example.com?x=1", 0);
	expect_ok("https://example.com./", 0);
	expect_ok("https://hooks.example-1.co_x.io:1/", 0);
	expect_ok("https://example.com:65535/", 0);
	expect_ok("https://8.8.8.8/hook", 0);
	expect_ok("https://[2001:4860:4860::8888]:443/hook", 0);
	expect_ok("https://[2606:4700::1111]/", 0);
	expect_ok("https://1.2.3.4.example.com/", 0); /* a name, not a number at the end */
	/* With allow_private: loopback and private literals and localhost pass. */
	expect_ok("http://127.0.0.1:8080/hook", 1);
	expect_ok("http://localhost:9000/", 1);
	expect_ok("http://[::1]:9000/", 1);
	expect_ok("http://10.0.0.5/", 1);
}

static void test_url_private_refused(void **state)
{
	(void)state;
	expect_bad("http://127.0.0.1:8080/hook", 0, "[webhooks] allow_private");
	expect_bad("http://127.0.0.1:8080/hook", 0, "loopback, private or other special-purpose addresses");
	expect_bad("http://localhost/", 0, "allow_private");
	expect_bad("http://LOCALHOST./", 0, "allow_private");
	expect_bad("http://api.localhost:3000/", 0, "allow_private");
	expect_bad("http://10.1.2.3/", 0, "allow_private");
	expect_bad("http://169.254.169.254/latest/meta-data", 0, "allow_private");
	expect_bad("http://172.20.0.1/", 0, "allow_private");
	expect_bad("http://192.168.1.1/", 0, "allow_private");
	expect_bad("http://100.64.0.1/", 0, "allow_private");
	expect_bad("http://0.0.0.0/", 0, "allow_private");
	expect_bad("http://[::1]/", 0, "allow_private");
	expect_bad("http://[::]/", 0, "allow_private");
	expect_bad("http://[fe80::1]/", 0, "allow_private");
	expect_bad("http://[fd00::1]/", 0, "allow_private");
	expect_bad("http://[::ffff:127.0.0.1]/", 0, "allow_private");
	expect_bad("http://[::ffff:7f00:1]/", 0, "allow_private");
	expect_bad("http://[64:ff9b::10.0.0.1]/", 0, "allow_private");
	expect_bad("http://[2001:db8::1]/", 0, "allow_private");
	/* Multicast and broadcast are never targets. */
	expect_bad("http://224.0.0.1/", 1, "multicast");
	expect_bad("http://255.255.255.255/", 1, "broadcast");
	expect_bad("http://[ff02::1]/", 1, "multicast");
	/* Names that are not localhost are not resolved here. */
	expect_ok("http://localhost.example.com/", 0);
	expect_ok("http://mylocalhost/", 0);
}

static void test_url_numeric_hosts(void **state)
{
	(void)state;
	/* Forms that resolvers read as 127.0.0.1: refused even when private targets are allowed. */
	expect_bad("http://127.1/", 1, "not a valid IPv4 address");
	expect_bad("http://2130706433/", 1, "not a valid IPv4 address");
	expect_bad("http://0x7f.0.0.1/", 1, "not a valid IPv4 address");
	expect_bad("http://0177.0.0.1/", 1, "not a valid IPv4 address");
	expect_bad("http://127.0.0.01/", 1, "not a valid IPv4 address");
	expect_bad("http://1.2.3.256/", 1, "not a valid IPv4 address");
	expect_bad("http://1.2.3.4.5/", 1, "not a valid IPv4 address");
	expect_bad("http://example.0x10/", 1, "not a valid IPv4 address");
	expect_bad("http://1.2.3/", 0, "not a valid IPv4 address");
	expect_ok("http://1.2.3.4./", 0);
}

static void test_url_syntax(void **state)
{
	char longurl[VEX_HOOK_URL_MAX + 2];
	char why[8];

	(void)state;
	expect_bad(NULL, 0, "empty");
	expect_bad("", 0, "empty");
	expect_bad("example.com/hook", 0, "absolute");
	expect_bad("/hook", 0, "absolute");
	expect_bad("//example.com/hook", 0, "absolute");
	expect_bad("ftp://example.com/", 0, "scheme must be http or https");
	expect_bad("javascript:alert(1)", 0, "scheme must be http or https");
	expect_bad("file:///etc/passwd", 0, "scheme must be http or https");
	expect_bad("https:/example.com", 0, "scheme must be http or https");
	expect_bad("https://", 0, "host is missing");
	expect_bad("https:///path", 0, "host is missing");
	expect_bad("https://:443/", 0, "host is missing");
	expect_bad("https://?q", 0, "host is missing");
	expect_bad("https://user:pass@example.com/", 0, "user name or password");
	expect_bad("https://user@example.com/", 0, "user name or password");
	expect_bad("https://@example.com/", 0, "user name or password");
	expect_bad("https://example.com:0/", 0, "port");
	expect_bad("https://example.com:65536/", 0, "port");
	expect_bad("https://example.com:99999999999999999999/", 0, "port");
	expect_bad("https://example.com:/", 0, "port is empty");
	expect_bad("https://example.com:-1/", 0, "port");
	expect_bad("https://example.com:8a/", 0, "port");
	expect_bad("https://example.com/a#frag", 0, "fragment");
	expect_bad("https://example.com#", 0, "fragment");
	expect_bad("https://exa mple.com/", 0, "whitespace");
	expect_bad("https://example.com/a b", 0, "whitespace");
	expect_bad("https://example.com/\tx", 0, "whitespace");
	expect_bad("https://example.com/\r\nHost: evil", 0, "whitespace");
	expect_bad("https://example.com/\x01", 0, "control character");
	expect_bad("https://example.com/\x7f", 0, "control character");
	expect_bad("https://b\xc3\xbc" "cher.example/", 0, "non-ASCII");
	expect_bad("https://exa%6dple.com/", 0, "host name may hold only");
	expect_bad("https://example..com/", 0, "empty label");
	expect_bad("https://.example.com/", 0, "empty label");
	expect_bad("https://example.com\\@evil.com/", 0, "user name or password");
	expect_bad("https://example.com\\x/", 0, "host name may hold only");
	expect_bad("https://[::1/", 1, "closing ']'");
	expect_bad("https://[::1]x/", 1, "after the IPv6 address");
	expect_bad("https://[fe80::1%25eth0]/", 1, "zone");
	expect_bad("https://[not:an:ip]/", 1, "not valid");
	expect_bad("https://[]/", 1, "not valid");
	expect_bad("https://[1.2.3.4]/", 1, "not valid");
	expect_bad("https://[::1]:0/", 1, "port");

	/* Length: exactly the maximum passes, one more byte fails. */
	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "https://example.com/", 20);
	longurl[VEX_HOOK_URL_MAX] = '\0';
	expect_ok(longurl, 0);
	longurl[VEX_HOOK_URL_MAX] = 'a';
	longurl[VEX_HOOK_URL_MAX + 1] = '\0';
	expect_bad(longurl, 0, "longer than");

	/* Long labels and names. */
	{
		char host[300];

		memset(host, 0, sizeof(host));
		memcpy(host, "https://", 8);
		memset(host + 8, 'a', 64);
		memcpy(host + 72, ".com/", 5);
		expect_bad(host, 0, "longer than 63");
		host[70] = '.'; /* 62 + "." + 1 */
		expect_ok(host, 0);
	}

	/* A short "why" buffer is truncated, never overrun; NULL why is fine. */
	assert_int_equal(vex_netguard_url_check("ftp://x", 0, why, sizeof(why)), VEX_EINVAL);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(vex_netguard_url_check("ftp://x", 0, NULL, 0), VEX_EINVAL);
}

/* Browser origins: only scheme://authority is judged, and the refusal names the setting given. */
static void test_origin_check(void **state)
{
	static const struct {
		const char *url;
		int allow_private;
		const char *needle; /* NULL: accepted */
	} cases[] = {
		{ "https://example.com/a b#frag", 0, NULL },
		{ "http://example.com:8080/start?x=1#top", 0, NULL },
		{ "http://169.254.169.254/latest/meta-data/", 0, "[browser] allow_private" },
		{ "http://127.0.0.1:11211/", 0, "[browser] allow_private" },
		{ "http://[::ffff:127.0.0.1]/", 0, "[browser] allow_private" },
		{ "http://[::127.0.0.1]/", 0, "[browser] allow_private" },
		{ "http://[64:ff9b::7f00:1]/", 0, "[browser] allow_private" },
		{ "http://[2002:7f00:1::1]/", 0, "[browser] allow_private" },
		{ "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", 0, "[browser] allow_private" },
		{ "http://[fd00:ec2::254]/", 0, "[browser] allow_private" },
		{ "http://[::]/", 0, "[browser] allow_private" },
		{ "http://0.0.0.0:8080/", 0, "[browser] allow_private" },
		{ "http://localhost:8080/", 0, "[browser] allow_private" },
		{ "http://127.1/", 1, "not a valid IPv4 address" },
		{ "http://0x7f000001/", 1, "not a valid IPv4 address" },
		{ "http://user:pw@example.com/", 0, "user name or password" },
		{ "http://example.com@127.0.0.1/", 1, "user name or password" },
		{ "ftp://example.com/", 0, "scheme" },
		{ "http://127.0.0.1:8080/x#y", 1, NULL },
		{ "http://localhost:8080/", 1, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		int rc = vex_netguard_origin_check(cases[i].url, cases[i].allow_private, "[browser] allow_private", why,
						   sizeof(why));

		if (!cases[i].needle && rc != 0)
			fail_msg("%s refused: %s", cases[i].url, why);
		if (cases[i].needle && (rc != VEX_EINVAL || !strstr(why, cases[i].needle)))
			fail_msg("%s: rc %d, reason '%s' lacks '%s'", cases[i].url, rc, why, cases[i].needle);
	}
}

/* Names are resolved (from /etc/hosts here: no DNS in tests) and every address is judged. */
static void test_resolve(void **state)
{
	struct vex_netguard_addrs a;
	char why[256] = "";
	const struct sockaddr_in *in;

	(void)state;
	assert_int_equal(vex_netguard_resolve("http://127.0.0.1:8080/x", 1, "S", &a, why, sizeof(why)), 0);
	assert_int_equal(a.n, 1);
	in = (const struct sockaddr_in *)(const void *)&a.addr[0];
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 8080);
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001u);
	assert_int_equal(vex_netguard_resolve("https://[::1]/", 1, "S", &a, why, sizeof(why)), 0);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)(const void *)&a.addr[0])->sin6_port), 443);
	/* "localhost" is refused before any lookup; a name from /etc/hosts that means loopback is refused
	 * after one. */
	assert_int_equal(vex_netguard_resolve("http://localhost/", 0, "S", &a, why, sizeof(why)), VEX_EINVAL);
	assert_int_equal(vex_netguard_resolve("http://127.0.0.1/", 0, "[x] y", NULL, why, sizeof(why)), VEX_EINVAL);
	assert_non_null(strstr(why, "[x] y"));
	if (vex_netguard_resolve("http://vm:8080/", 1, "S", NULL, why, sizeof(why)) == 0) {
		assert_int_equal(vex_netguard_resolve("http://vm:8080/", 0, "[x] y", NULL, why, sizeof(why)), VEX_EINVAL);
		assert_non_null(strstr(why, "resolves to"));
	}
	assert_int_equal(vex_netguard_resolve("http://no-such-host.invalid/", 0, "S", NULL, why, sizeof(why)),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_netguard_resolve("http://[::ffff:10.0.0.1]/", 0, "S", NULL, why, sizeof(why)), VEX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_special_ranges),
		cmocka_unit_test(test_embedded_v4),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_allow_private),
		cmocka_unit_test(test_url_accepted),
		cmocka_unit_test(test_url_private_refused),
		cmocka_unit_test(test_url_numeric_hosts),
		cmocka_unit_test(test_url_syntax),
		cmocka_unit_test(test_origin_check),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
