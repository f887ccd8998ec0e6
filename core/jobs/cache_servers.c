/* cache_servers.c - the memcached server list of [cache] servers: TCP hosts and unix sockets. */
#include "core/jobs/cache_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/base/err.h"

#define CACHE_PORT 11211

/* One entry of the server list, "len" bytes at "p" (trimmed): a unix socket path or host[:port]. */
static int add_server(memcached_st *mc, const char *p, size_t len)
{
	char host[256];
	const char *colon;
	long port = CACHE_PORT;

	if (len > 5 && strncmp(p, "unix:", 5) == 0) {
		p += 5;
		len -= 5;
		if (p[0] != '/')
			return VEX_EINVAL; /* unix sockets are named by absolute paths */
	}
	if (len > 0 && p[0] == '/') {
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

		if (len >= sizeof(path))
			return VEX_EINVAL;
		memcpy(path, p, len);
		path[len] = '\0';
		return memcached_server_add_unix_socket(mc, path) == MEMCACHED_SUCCESS ? 0 : VEX_EINVAL;
	}
	colon = memchr(p, ':', len);
	if (colon) {
		char *end;
		char digits[8];
		size_t dl = len - (size_t)(colon - p) - 1;

		if (dl == 0 || dl >= sizeof(digits))
			return VEX_EINVAL;
		memcpy(digits, colon + 1, dl);
		digits[dl] = '\0';
		port = strtol(digits, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return VEX_EINVAL;
		len = (size_t)(colon - p);
	}
	if (len == 0 || len >= sizeof(host))
		return VEX_EINVAL;
	memcpy(host, p, len);
	host[len] = '\0';
	return memcached_server_add(mc, host, (in_port_t)port) == MEMCACHED_SUCCESS ? 0 : VEX_EINVAL;
}

int vex_cache_add_servers(memcached_st *mc, const char *servers)
{
	const char *p = servers;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int rc;

		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if ((rc = add_server(mc, p, n)) != 0)
			return rc;
		if (!end)
			return 0;
		p = end + 1;
	}
}
