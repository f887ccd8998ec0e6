/* trivial_fcgi.c - make bench baseline: a prefork libfcgi responder that answers a fixed small JSON body. */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 256

/* About the size of a small vex answer, so the baseline moves the same bytes through nginx. */
static const char body[] = "{\"status\":\"ok\",\"bench\":\"trivial\",\"detail\":\"a fixed answer from libfcgi\"}\n";

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-trivial-fcgi --socket PATH [--workers N (1..%d, default 4)]\n", MAX_WORKERS);
}

/* A unix stream socket at "path" (a stale file is replaced), mode 0666 so nginx workers of any
 * user can connect (DESIGN 11). Returns the fd or -1. */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = -1;
	int ret = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench-trivial-fcgi: socket path too long: %s\n", path);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("bench-trivial-fcgi: socket");
		goto out;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		perror("bench-trivial-fcgi: unlink");
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 || listen(fd, 1024) < 0) {
		perror("bench-trivial-fcgi: bind/chmod/listen");
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* One worker: accept, answer, repeat. libfcgi serves one connection at a time, like vex-api. */
static int serve(int lfd)
{
	FCGX_Request req;
	char head[128];
	int headlen;
	int ret = 1;

	/* Built once with snprintf: FCGX_FPrintF knows no %zu. */
	headlen = snprintf(head, sizeof(head), "Status: 200 OK\r\nContent-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n", sizeof(body) - 1);
	if (headlen < 0 || (size_t)headlen >= sizeof(head))
		goto out;
	if (FCGX_InitRequest(&req, lfd, 0) != 0)
		goto out;
	while (!stop_requested) {
		if (FCGX_Accept_r(&req) < 0) {
			if (stop_requested)
				break;
			continue;
		}
		FCGX_PutStr(head, headlen, req.out);
		FCGX_PutStr(body, (int)(sizeof(body) - 1), req.out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	ret = 0;
out:
	return ret;
}

static int parse_workers(const char *s, int *ret)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > MAX_WORKERS)
		return -1;
	*ret = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int workers = 4;
	pid_t pids[MAX_WORKERS];
	int started = 0;
	int lfd = -1;
	int rc = 1;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			if (parse_workers(argv[++i], &workers) < 0) {
				usage();
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (path == NULL) {
		usage();
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (FCGX_Init() != 0) {
		fprintf(stderr, "bench-trivial-fcgi: FCGX_Init failed\n");
		goto out;
	}
	lfd = listen_unix(path);
	if (lfd < 0)
		goto out;

	for (; started < workers; started++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("bench-trivial-fcgi: fork");
			goto out;
		}
		if (pid == 0) {
			/* A worker blocked in accept() just dies on SIGTERM: nothing of value is in flight. */
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			_exit(serve(lfd));
		}
		pids[started] = pid;
	}
	fprintf(stderr, "{\"msg\":\"bench-trivial-fcgi ready\",\"socket\":\"%s\",\"workers\":%d}\n", path, workers);

	/* The master only waits: a worker that dies is not respawned (a benchmark should see that). */
	while (!stop_requested) {
		pid_t pid = waitpid(-1, NULL, 0);
		if (pid < 0 && errno == ECHILD)
			break;
	}
	rc = 0;
out:
	for (int i = 0; i < started; i++)
		kill(pids[i], SIGTERM);
	while (started > 0 && waitpid(-1, NULL, 0) > 0)
		;
	if (lfd >= 0) {
		close(lfd);
		unlink(path);
	}
	return rc;
}
