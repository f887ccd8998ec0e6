/* test_browser_proxy.c - the browser proxy's request filter, and the proxy end to end on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "runner/browser_proxy.h"

static int judge(const char *origin, const char *head, char **out)
{
	struct vex_proxy_target t;
	size_t n = 0;
	char what[400];

	assert_int_equal(vex_proxy_target_parse(origin, &t), 0);
	*out = NULL;
	return vex_proxy_judge(&t, head, strlen(head), out, &n, what, sizeof(what));
}

static void test_target(void **state)
{
	struct vex_proxy_target t;

	(void)state;
	assert_int_equal(vex_proxy_target_parse("http://127.0.0.1:8080", &t), 0);
	assert_int_equal(t.https, 0);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 8080);
	assert_int_equal(vex_proxy_target_parse("https://Example.COM", &t), 0);
	assert_int_equal(t.port, 443);
	assert_string_equal(t.host, "example.com");
	assert_int_equal(vex_proxy_target_parse("http://[::1]:81", &t), 0);
	assert_string_equal(t.host, "::1");
	assert_int_equal(vex_proxy_target_parse("ftp://x", &t), VEX_EINVAL);
	assert_int_equal(vex_proxy_target_parse("http://x/path", &t), VEX_EINVAL);
	assert_int_equal(vex_proxy_target_parse("http://u@x", &t), VEX_EINVAL);
}

/* Every way a request can name a place: only the origin's scheme://host:port passes. */
static void test_judge_table(void **state)
{
	static const struct {
		const char *origin, *head;
		int verdict;
	} cases[] = {
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:8080/a?b HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://127.0.0.1:8080", "POST http://127.0.0.1:8080/form HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://127.0.0.1:8080", "CONNECT 127.0.0.1:8080 HTTP/1.1\r\n\r\n", VEX_PROXY_TUNNEL },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:9090/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.2:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://localhost:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://[::ffff:127.0.0.1]:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://[::ffff:7f00:1]:9090/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:8080@169.254.169.254/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://169.254.169.254/latest HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET https://127.0.0.1:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET /relative HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "CONNECT 127.0.0.1:9090 HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "CONNECT [::1]:8080 HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET ftp://127.0.0.1:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:08080/ HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:8080 HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://127.0.0.1", "GET http://127.0.0.1/ HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://127.0.0.1", "GET http://127.0.0.1:80/ HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://Example.com", "GET http://EXAMPLE.com/ HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://example.com", "GET http://example.com.evil.net/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://example.com", "GET http://example.com./ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "https://example.com", "CONNECT example.com:443 HTTP/1.1\r\n\r\n", VEX_PROXY_TUNNEL },
		{ "https://example.com", "GET http://example.com:443/ HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "https://example.com", "CONNECT example.com:80 HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://[::1]:81", "CONNECT [0:0::1]:81 HTTP/1.1\r\n\r\n", VEX_PROXY_TUNNEL },
		{ "http://[::1]:81", "GET http://[::1]:81/x HTTP/1.1\r\n\r\n", VEX_PROXY_FORWARD },
		{ "http://[::1]:81", "GET http://[::2]:81/x HTTP/1.1\r\n\r\n", VEX_PROXY_REFUSE },
		{ "http://127.0.0.1:8080", "get http://127.0.0.1:8080/ HTTP/1.1\r\n\r\n", VEX_PROXY_BAD },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:8080/\r\n\r\n", VEX_PROXY_BAD },
		{ "http://127.0.0.1:8080", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", VEX_PROXY_BAD },
		{ "http://127.0.0.1:8080", "GET http://127.0.0.1:8080/ SSH-2.0\r\n\r\n", VEX_PROXY_BAD },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int v = judge(cases[i].origin, cases[i].head, &out);

		if (v != cases[i].verdict)
			fail_msg("case %zu (%s): verdict %d, expected %d", i, cases[i].head, v, cases[i].verdict);
		free(out);
	}
}

/* The head sent to the origin: origin-form, hop-by-hop and proxy headers gone, one request per connection. */
static void test_rewrite(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(judge("http://127.0.0.1:8080",
			       "POST http://127.0.0.1:8080/f?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
			       "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nConnection: keep-alive\r\n"
			       "Keep-Alive: 5\r\nContent-Length: 3\r\n\r\n", &out), VEX_PROXY_FORWARD);
	assert_string_equal(out, "POST /f?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 3\r\n"
			    "Connection: close\r\n\r\n");
	free(out);
	assert_int_equal(judge("http://127.0.0.1:8080", "GET http://127.0.0.1:8080?q HTTP/1.0\r\n\r\n", &out),
			 VEX_PROXY_FORWARD);
	assert_string_equal(out, "GET /?q HTTP/1.1\r\nConnection: close\r\n\r\n");
	free(out);
}

/* ---- end to end: a proxy on loopback in front of an origin and a canary ---- */

struct server {
	int fd, port, hits;
	char got[2048];
};

static void *serve_one(void *arg)
{
	struct server *s = arg;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\norigin";
	int c = accept(s->fd, NULL, NULL);
	ssize_t n;

	if (c < 0)
		return NULL;
	s->hits++;
	n = recv(c, s->got, sizeof(s->got) - 1, 0);
	if (n > 0)
		s->got[n] = '\0';
	if (send(c, resp, sizeof(resp) - 1, MSG_NOSIGNAL) < 0)
		s->hits += 100;
	close(c);
	return NULL;
}

static int listen_any(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Sends "req" through the proxy at "port"; the whole answer into "buf". */
static void ask(int port, const char *req, char *buf, size_t cap)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (got < cap - 1 && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

static void test_end_to_end(void **state)
{
	struct server origin = { 0 }, canary = { 0 };
	struct vex_netguard_addrs addrs;
	struct vex_browser_proxy *p = NULL;
	struct sockaddr_in *sin;
	pthread_t th;
	char url[64], req[256], buf[2048];
	int pport = 0;

	(void)state;
	origin.fd = listen_any(&origin.port);
	canary.fd = listen_any(&canary.port);
	memset(&addrs, 0, sizeof(addrs));
	sin = (struct sockaddr_in *)(void *)&addrs.addr[0];
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)origin.port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addrs.len[0] = sizeof(*sin);
	addrs.n = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", origin.port);
	assert_int_equal(vex_browser_proxy_open(url, &addrs, &p, &pport), 0);
	assert_true(pport > 0);

	/* the origin: forwarded in origin form */
	assert_int_equal(pthread_create(&th, NULL, serve_one, &origin), 0);
	snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/page HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\n\r\n",
		 origin.port);
	ask(pport, req, buf, sizeof(buf));
	pthread_join(th, NULL);
	assert_non_null(strstr(buf, "200 OK"));
	assert_non_null(strstr(buf, "origin"));
	assert_int_equal(strncmp(origin.got, "GET /page HTTP/1.1\r\n", 20), 0);
	assert_null(strstr(origin.got, "Proxy-Connection"));

	/* the canary, by absolute form and by CONNECT: 403, never a connection */
	snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n", canary.port);
	ask(pport, req, buf, sizeof(buf));
	assert_non_null(strstr(buf, "403 Forbidden"));
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", canary.port);
	ask(pport, req, buf, sizeof(buf));
	assert_non_null(strstr(buf, "403 Forbidden"));
	assert_int_equal(vex_browser_proxy_refused(p), 2);

	/* a request for the origin's name connects to the pinned address, whatever it names */
	assert_int_equal(pthread_create(&th, NULL, serve_one, &origin), 0);
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nGET /ws HTTP/1.1\r\n\r\n", origin.port);
	ask(pport, req, buf, sizeof(buf));
	pthread_join(th, NULL);
	assert_non_null(strstr(buf, "200 Connection established"));
	assert_int_equal(origin.hits, 2);
	assert_int_equal(canary.hits, 0);

	vex_browser_proxy_close(p);
	close(origin.fd);
	close(canary.fd);
	vex_browser_proxy_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_judge_table),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
