/* memcached_fixture.h - unit tests' real memcached: a free loopback port, start, wait, stop by pid. */
#ifndef VEX_TEST_MEMCACHED_FIXTURE_H
#define VEX_TEST_MEMCACHED_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MEMCACHED_BIN "/usr/bin/memcached"

/* The secret the unit tests' cache handles derive their value MAC key from. */
static const unsigned char mc_secret[] = "unit tests' cache secret, 32+ bytes";
#define MC_SECRET mc_secret, (sizeof(mc_secret) - 1)

struct mc_fixture {
	pid_t pid;        /* -1: not running */
	int port;
	char servers[64]; /* "127.0.0.1:<port>", for vex_cache_open */
};

/* A loopback TCP port nobody listens on right now, or -1. */
static inline int mc_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* 1 when something accepts TCP connections on the loopback port. */
static inline int mc_port_answers(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Start memcached on "port" (0: a free one) and wait until it answers (up to 5 s). 0 or -1. */
static inline int mc_start(struct mc_fixture *m, int port)
{
	char port_s[16];

	m->pid = -1;
	m->port = port > 0 ? port : mc_free_port();
	if (m->port < 0)
		return -1;
	snprintf(port_s, sizeof(port_s), "%d", m->port);
	snprintf(m->servers, sizeof(m->servers), "127.0.0.1:%d", m->port);
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		/* memcached refuses to run as root without -u. */
		char *argv_root[] = { "memcached", "-l", "127.0.0.1", "-p", port_s, "-U", "0", "-u", "nobody", NULL };
		char *argv_user[] = { "memcached", "-l", "127.0.0.1", "-p", port_s, "-U", "0", NULL };
		char *envp[] = { NULL };

		execve(MEMCACHED_BIN, geteuid() == 0 ? argv_root : argv_user, envp);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (mc_port_answers(m->port))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* Stop the memcached this fixture started (SIGTERM, then reap). */
static inline void mc_stop(struct mc_fixture *m)
{
	int st;

	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		waitpid(m->pid, &st, 0);
	}
	m->pid = -1;
}

#endif
