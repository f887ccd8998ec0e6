/* browser_proxy.c - the forward proxy a browser session goes through: its own origin, at the address vex checked, and nothing else. */
#include "runner/browser_proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/log.h"

#define CONNS_MAX 64                /* connections of one session at once */
#define HEAD_WAIT_MS 30000          /* the browser sends a request head within this */
#define CONNECT_WAIT_MS 10000       /* connecting to the origin */
#define RELAY_BUF 16384

struct conn;

struct vex_browser_proxy {
	struct vex_proxy_target target;
	char origin[512];
	struct vex_netguard_addrs addrs;
	int lfd;
	int wake[2];               /* a byte on wake[1] stops the accept loop */
	pthread_t acceptor;
	int acceptor_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct conn *conns[CONNS_MAX];
	int nconns;
	int stopping;
	unsigned long refused;
};

struct conn {
	struct vex_browser_proxy *p;
	int cfd; /* the browser's side */
	int ufd; /* the origin's side, -1 until connected */
};

/* ---- the filter ---- */

/* Normalised host text of "h" ("n" bytes; an IPv6 literal without brackets when "v6") into "out". */
static int norm_host(const char *h, size_t n, int v6, char *out, size_t outlen)
{
	size_t i;

	if (n == 0 || n >= outlen)
		return VEX_EINVAL;
	if (v6) {
		struct in6_addr a;
		char lit[INET6_ADDRSTRLEN + 1];

		if (n >= sizeof(lit))
			return VEX_EINVAL;
		memcpy(lit, h, n);
		lit[n] = '\0';
		if (inet_pton(AF_INET6, lit, &a) != 1 || !inet_ntop(AF_INET6, &a, out, (socklen_t)outlen))
			return VEX_EINVAL;
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return VEX_EINVAL;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return 0;
}

/* "host[:port]" or "[v6][:port]" ("n" bytes) into host text and port ("defport" when absent; -1 required). */
static int parse_authority(const char *a, size_t n, int defport, char *host, size_t hostlen, int *port)
{
	const char *end = a + n, *colon = NULL, *h = a, *hend;
	int v6 = 0;
	long v = 0;

	if (n == 0 || memchr(a, '@', n))
		return VEX_EINVAL;
	if (*a == '[') {
		hend = memchr(a, ']', n);
		if (!hend)
			return VEX_EINVAL;
		h = a + 1;
		v6 = 1;
		if (hend + 1 < end) {
			if (hend[1] != ':')
				return VEX_EINVAL;
			colon = hend + 1;
		}
	} else {
		colon = memchr(a, ':', n);
		hend = colon ? colon : end;
	}
	if (norm_host(h, (size_t)(hend - h), v6, host, hostlen) < 0)
		return VEX_EINVAL;
	if (!colon) {
		if (defport < 0)
			return VEX_EINVAL;
		*port = defport;
		return 0;
	}
	if (colon + 1 == end || end - colon > 6)
		return VEX_EINVAL;
	for (colon++; colon < end; colon++) {
		if (!isdigit((unsigned char)*colon))
			return VEX_EINVAL;
		v = v * 10 + (*colon - '0');
	}
	if (v < 1 || v > 65535)
		return VEX_EINVAL;
	*port = (int)v;
	return 0;
}

int vex_proxy_target_parse(const char *origin, struct vex_proxy_target *ret)
{
	struct vex_proxy_target t;
	const char *a;

	memset(&t, 0, sizeof(t));
	if (strncmp(origin, "https://", 8) == 0) {
		t.https = 1;
		a = origin + 8;
	} else if (strncmp(origin, "http://", 7) == 0) {
		a = origin + 7;
	} else {
		return VEX_EINVAL;
	}
	if (a[strcspn(a, "/?#")] || parse_authority(a, strlen(a), t.https ? 443 : 80, t.host, sizeof(t.host), &t.port) < 0)
		return VEX_EINVAL;
	*ret = t;
	return 0;
}

/* 1 when the header line "l" ("n" bytes) must not travel to the origin. */
static int hop_header(const char *l, size_t n)
{
	static const char *const names[] = { "proxy-connection:", "proxy-authorization:", "connection:",
					     "keep-alive:", "proxy-authenticate:", NULL };
	size_t i;

	for (i = 0; names[i]; i++)
		if (n >= strlen(names[i]) && strncasecmp(l, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

static int rewrite(const char *method, size_t mlen, const char *path, size_t plen, const char *headers,
		   const char *end, char **ret, size_t *ret_len)
{
	size_t cap = mlen + plen + (size_t)(end - headers) + 64, n;
	char *out = malloc(cap);
	const char *l = headers;

	if (!out)
		return VEX_ENOMEM;
	n = (size_t)snprintf(out, cap, "%.*s %.*s HTTP/1.1\r\n", (int)mlen, method, (int)plen, path);
	while (l < end) {
		const char *eol = memchr(l, '\n', (size_t)(end - l));
		size_t ll = eol ? (size_t)(eol - l) + 1 : (size_t)(end - l);

		if (ll <= 2) /* the blank line */
			break;
		if (!hop_header(l, ll)) {
			memcpy(out + n, l, ll);
			n += ll;
		}
		l += ll;
	}
	memcpy(out + n, "Connection: close\r\n\r\n", 22); /* with its NUL: the head is also a string */
	n += 21;
	*ret = out;
	*ret_len = n;
	return 0;
}

int vex_proxy_judge(const struct vex_proxy_target *t, const char *head, size_t len, char **ret_head, size_t *ret_len,
		    char *what, size_t whatlen)
{
	const char *end = head + len, *eol = memchr(head, '\n', len), *sp1, *sp2, *target, *a, *path;
	char host[256];
	size_t mlen, tlen, i;
	int port;

	if (what && whatlen)
		what[0] = '\0';
	if (!eol)
		return VEX_PROXY_BAD;
	sp1 = memchr(head, ' ', (size_t)(eol - head));
	if (!sp1)
		return VEX_PROXY_BAD;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (!sp2 || sp2 == target)
		return VEX_PROXY_BAD;
	mlen = (size_t)(sp1 - head);
	tlen = (size_t)(sp2 - target);
	for (i = 0; i < mlen; i++)
		if (!isupper((unsigned char)head[i]))
			return VEX_PROXY_BAD;
	if (mlen == 0 || (size_t)(eol - sp2) < 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return VEX_PROXY_BAD;
	if (what && whatlen)
		snprintf(what, whatlen, "%.*s %.*s", (int)mlen, head, (int)(tlen > 300 ? 300 : tlen), target);
	if (mlen == 7 && strncmp(head, "CONNECT", 7) == 0) {
		if (parse_authority(target, tlen, -1, host, sizeof(host), &port) < 0)
			return VEX_PROXY_REFUSE;
		return strcmp(host, t->host) == 0 && port == t->port ? VEX_PROXY_TUNNEL : VEX_PROXY_REFUSE;
	}
	/* Absolute form, http only: an https origin is reached through CONNECT alone. */
	if (t->https || tlen < 8 || strncasecmp(target, "http://", 7) != 0)
		return VEX_PROXY_REFUSE;
	a = target + 7;
	path = a;
	while (path < sp2 && *path != '/' && *path != '?' && *path != '#')
		path++;
	if (parse_authority(a, (size_t)(path - a), 80, host, sizeof(host), &port) < 0)
		return VEX_PROXY_REFUSE;
	if (strcmp(host, t->host) != 0 || port != t->port)
		return VEX_PROXY_REFUSE;
	if (path == sp2 || *path == '#')
		return rewrite(head, mlen, "/", 1, eol + 1, end, ret_head, ret_len) < 0 ? VEX_ENOMEM : VEX_PROXY_FORWARD;
	if (*path == '?') {
		/* "http://host?q" means "/?q" */
		char *p2 = malloc((size_t)(sp2 - path) + 2);
		int rc;

		if (!p2)
			return VEX_ENOMEM;
		p2[0] = '/';
		memcpy(p2 + 1, path, (size_t)(sp2 - path));
		rc = rewrite(head, mlen, p2, (size_t)(sp2 - path) + 1, eol + 1, end, ret_head, ret_len);
		free(p2);
		return rc < 0 ? VEX_ENOMEM : VEX_PROXY_FORWARD;
	}
	return rewrite(head, mlen, path, (size_t)(sp2 - path), eol + 1, end, ret_head, ret_len) < 0 ? VEX_ENOMEM :
		VEX_PROXY_FORWARD;
}

/* ---- connections ---- */

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VEX_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void answer(int fd, int status, const char *reason, const char *text)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s", status, reason, strlen(text), text);

	if (n > 0 && (size_t)n < sizeof(buf))
		send_all(fd, buf, (size_t)n);
}

/* Reads the request head into "buf" (cap bytes); *ret_len bytes read, *ret_head_len of them the head. */
static int read_head(int fd, char *buf, size_t cap, size_t *ret_len, size_t *ret_head_len)
{
	size_t got = 0;

	while (got < cap) {
		struct pollfd pf = { fd, POLLIN, 0 };
		char *e;
		ssize_t r;

		if (poll(&pf, 1, HEAD_WAIT_MS) <= 0)
			return VEX_EIO;
		r = recv(fd, buf + got, cap - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VEX_EIO;
		got += (size_t)r;
		e = memmem(buf, got, "\r\n\r\n", 4);
		if (e) {
			*ret_len = got;
			*ret_head_len = (size_t)(e - buf) + 4;
			return 0;
		}
	}
	return VEX_ETOOBIG;
}

/* Connects "c" to the first of the pinned addresses that answers. */
static int connect_origin(struct conn *c)
{
	struct vex_browser_proxy *p = c->p;
	size_t i;

	for (i = 0; i < p->addrs.n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&p->addrs.addr[i];
		struct pollfd pf;
		int fd, err = 0, stop;
		socklen_t el = sizeof(err);

		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&p->mu);
		stop = p->stopping;
		if (!stop)
			c->ufd = fd;
		pthread_mutex_unlock(&p->mu);
		if (stop) {
			close(fd);
			return VEX_EIO;
		}
		if (connect(fd, sa, p->addrs.len[i]) == 0)
			goto connected;
		pf.fd = fd;
		pf.events = POLLOUT;
		pf.revents = 0;
		if (errno == EINPROGRESS && poll(&pf, 1, CONNECT_WAIT_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			goto connected;
		pthread_mutex_lock(&p->mu);
		c->ufd = -1;
		close(fd);
		pthread_mutex_unlock(&p->mu);
		continue;
connected:
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return 0;
	}
	return VEX_EIO;
}

/* Bytes both ways until both sides are done. */
static void relay(int a, int b)
{
	char buf[RELAY_BUF];
	int open_a = 1, open_b = 1;

	while (open_a || open_b) {
		struct pollfd pf[2] = { { open_a ? a : -1, POLLIN, 0 }, { open_b ? b : -1, POLLIN, 0 } };
		int i;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < 2; i++) {
			int from = i ? b : a, to = i ? a : b;
			ssize_t r;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(from, buf, sizeof(buf), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r < 0)
					return;
				shutdown(to, SHUT_WR);
				if (i)
					open_b = 0;
				else
					open_a = 0;
				continue;
			}
			if (send_all(to, buf, (size_t)r) < 0)
				return;
		}
	}
}

static void refuse_log(struct vex_browser_proxy *p, const char *what)
{
	pthread_mutex_lock(&p->mu);
	p->refused++;
	pthread_mutex_unlock(&p->mu);
	vex_log(VEX_LOG_WARN, "browser proxy refused a request outside the session's origin", "origin", p->origin,
		"request", what, NULL);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct vex_browser_proxy *p = c->p;
	char *buf = malloc(VEX_PROXY_HEAD_MAX), *out = NULL, what[360] = "";
	size_t got = 0, hl = 0, outlen = 0;
	int v, i;

	if (!buf || read_head(c->cfd, buf, VEX_PROXY_HEAD_MAX, &got, &hl) < 0)
		goto out;
	v = vex_proxy_judge(&p->target, buf, hl, &out, &outlen, what, sizeof(what));
	if (v == VEX_PROXY_BAD) {
		refuse_log(p, what[0] ? what : "(not an HTTP request)");
		answer(c->cfd, 400, "Bad Request", "vex: not a proxy request\n");
		goto out;
	}
	if (v == VEX_PROXY_REFUSE) {
		refuse_log(p, what);
		answer(c->cfd, 403, "Forbidden", "vex: this browser session may reach its own origin only\n");
		goto out;
	}
	if (v < 0)
		goto out;
	if (connect_origin(c) < 0) {
		answer(c->cfd, 502, "Bad Gateway", "vex: the origin did not answer\n");
		goto out;
	}
	if (v == VEX_PROXY_TUNNEL) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

		if (send_all(c->cfd, ok, sizeof(ok) - 1) < 0)
			goto out;
	} else if (send_all(c->ufd, out, outlen) < 0) {
		goto out;
	}
	if (got > hl && send_all(c->ufd, buf + hl, got - hl) < 0)
		goto out;
	relay(c->cfd, c->ufd);
out:
	free(out);
	free(buf);
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->nconns; i++)
		if (p->conns[i] == c) {
			p->conns[i] = p->conns[--p->nconns];
			break;
		}
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct vex_browser_proxy *p = arg;

	for (;;) {
		struct pollfd pf[2] = { { p->lfd, POLLIN, 0 }, { p->wake[0], POLLIN, 0 } };
		pthread_attr_t at;
		pthread_t th;
		struct conn *c;
		int fd;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		pthread_mutex_lock(&p->mu);
		if (!c || p->stopping || p->nconns >= CONNS_MAX) {
			pthread_mutex_unlock(&p->mu);
			free(c);
			close(fd);
			continue;
		}
		c->p = p;
		c->cfd = fd;
		c->ufd = -1;
		p->conns[p->nconns++] = c;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, conn_main, c) != 0) {
			p->conns[--p->nconns] = NULL;
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

int vex_browser_proxy_open(const char *origin, const struct vex_netguard_addrs *addrs, struct vex_browser_proxy **ret,
			   int *ret_port)
{
	struct vex_browser_proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int rc = VEX_EIO;

	if (!p)
		return VEX_ENOMEM;
	p->lfd = p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (vex_proxy_target_parse(origin, &p->target) < 0 || !addrs || addrs->n == 0) {
		rc = VEX_EINVAL;
		goto out;
	}
	snprintf(p->origin, sizeof(p->origin), "%s", origin);
	p->addrs = *addrs;
	if (pipe2(p->wake, O_CLOEXEC) < 0)
		goto out;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		goto out;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(p->lfd, 64) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&sin, &sl) < 0)
		goto out;
	if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0)
		goto out;
	p->acceptor_started = 1;
	*ret_port = ntohs(sin.sin_port);
	*ret = p;
	p = NULL;
	rc = 0;
out:
	vex_browser_proxy_close(p);
	return rc;
}

unsigned long vex_browser_proxy_refused(struct vex_browser_proxy *p)
{
	unsigned long n;

	pthread_mutex_lock(&p->mu);
	n = p->refused;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void vex_browser_proxy_close(struct vex_browser_proxy *p)
{
	int i;

	if (!p)
		return;
	if (p->acceptor_started) {
		if (write(p->wake[1], "x", 1) < 0)
			vex_log(VEX_LOG_WARN, "browser proxy: cannot wake its accept loop", NULL);
		pthread_join(p->acceptor, NULL);
	}
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	for (i = 0; i < p->nconns; i++) {
		shutdown(p->conns[i]->cfd, SHUT_RDWR);
		if (p->conns[i]->ufd >= 0)
			shutdown(p->conns[i]->ufd, SHUT_RDWR);
	}
	while (p->nconns > 0)
		pthread_cond_wait(&p->cond, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p);
}
