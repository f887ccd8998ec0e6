/* netguard.h - which outbound targets (webhooks, browser origins) are acceptable: URL syntax, public addresses. */
#ifndef VEX_NETGUARD_H
#define VEX_NETGUARD_H

#include <stddef.h>
#include <sys/socket.h>

#define VEX_NETGUARD_ADDRS_MAX 16

/* The addresses a host name resolved to, every one of them allowed. */
struct vex_netguard_addrs {
	size_t n;
	struct sockaddr_storage addr[VEX_NETGUARD_ADDRS_MAX];
	socklen_t len[VEX_NETGUARD_ADDRS_MAX];
};

/*
 * 0 when "url" is acceptable as a webhook target, else VEX_EINVAL with the reason, in words and
 * without the field name, in "why" (may be NULL; truncated to "whylen").
 * Accepted: an absolute http:// or https:// URL (scheme in any case) of at most VEX_HOOK_URL_MAX
 * bytes, printable ASCII only (no whitespace, control or non-ASCII bytes), a host, no userinfo,
 * a port 1..65535 when given, no fragment. A host that is an IP literal (dotted IPv4 or [IPv6])
 * must be a public unicast address unless "allow_private"; the host names "localhost" and
 * "*.localhost" count as loopback. Numeric IPv4 forms other than four decimal numbers (127.1,
 * 0x7f.0.0.1, 2130706433) are refused outright. Other host names are not resolved here: whoever
 * connects checks the address it connected to with vex_netguard_addr_allowed().
 */
int vex_netguard_url_check(const char *url, int allow_private, char *why, size_t whylen);

/*
 * As vex_netguard_url_check, on the scheme://authority part of "url" only (path, query and
 * fragment are the caller's to check), naming "setting" (e.g. "[browser] allow_private") in the
 * refusal of a private target. 0 or VEX_EINVAL.
 */
int vex_netguard_origin_check(const char *url, int allow_private, const char *setting, char *why, size_t whylen);

/*
 * vex_netguard_origin_check, then the host of "url" resolved (getaddrinfo: may block on DNS; an IP
 * literal is not looked up) with its port (given, or 80/443 by scheme). 0 when every address is
 * allowed by vex_netguard_addr_allowed(): then *ret (may be NULL) holds them, up to
 * VEX_NETGUARD_ADDRS_MAX, in the resolver's order. VEX_EINVAL when the URL or any address is
 * refused; VEX_ENOTFOUND when the name does not resolve. "why" says why.
 */
int vex_netguard_resolve(const char *url, int allow_private, const char *setting, struct vex_netguard_addrs *ret,
			 char *why, size_t whylen);

/*
 * 1 when a connection to "sa" (AF_INET or AF_INET6; anything else is 0) is allowed, else 0.
 * Without "allow_private" only public unicast addresses pass: refused is every range of IANA's IPv4
 * and IPv6 Special-Purpose Address Registries (IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.0.0/24, 192.0.2/24, 192.31.196/24, 192.52.193/24, 192.88.99/24, 192.168/16,
 * 192.175.48/24, 198.18/15, 198.51.100/24, 203.0.113/24, 240/4, and 224/4 multicast; IPv6 outside
 * 2000::/3, 2001::/23, 2001:db8::/32, 2002::/16 (6to4, whole), 2620:4f:8000::/48, 3fff::/20).
 * IPv4-mapped ::ffff:0:0/96 and NAT64's 64:ff9b::/96 are judged as the IPv4 address they carry.
 * With "allow_private" everything but multicast and broadcast (never a TCP peer) passes.
 */
int vex_netguard_addr_allowed(const struct sockaddr *sa, int allow_private);

#endif
