/* cidr.h - address ranges as the operator writes them ("127.0.0.1/32, 10.0.0.0/8, ::1") and membership. */
#ifndef VEX_CIDR_H
#define VEX_CIDR_H

#include <stddef.h>

/*
 * Check "list": entries separated by commas and/or blanks, each an IPv4 or IPv6 address with an
 * optional /prefix (0-32, 0-128; none: the one address). An empty list is valid (matches nothing).
 * 0, or VEX_EINVAL with the offending entry described in "why".
 */
int vex_cidr_list_check(const char *list, char *why, size_t whylen);

/*
 * 1 when the address "addr" (text, as nginx's $remote_addr gives it; an IPv4-mapped IPv6 address
 * counts as its IPv4 address) lies in one of the ranges of "list", else 0 (also for an unreadable
 * address or list, or NULL).
 */
int vex_cidr_list_match(const char *list, const char *addr);

#endif
