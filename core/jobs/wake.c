/* wake.c - the unix datagram socket by which vex-api wakes the runner. */
#include "core/jobs/wake.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/perms.h"

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	size_t n;

	if (!path)
		return VEX_EINVAL;
	n = strlen(path);
	if (n == 0 || n >= sizeof(sa->sun_path))
		return VEX_EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

int vex_wake_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? VEX_EIO : fd;
}

void vex_wake_send(int fd, const char *path)
{
	struct sockaddr_un sa;
	char b = 1;

	if (fd < 0 || fill_addr(path, &sa))
		return;
	/* A full queue (EAGAIN) already holds a wake-up; no runner (ECONNREFUSED, ENOENT) means it polls. */
	while (sendto(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	       errno == EINTR)
		;
}

/*
 * A socket file nobody is bound to answers connect() with ECONNREFUSED: that
 * one is stale and may go. A live one belongs to another runner: VEX_EEXIST.
 * Anything that is not a socket is never removed.
 */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc = VEX_EIO;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : VEX_EIO;
	if (!S_ISSOCK(st.st_mode))
		return VEX_EIO;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		rc = VEX_EEXIST;
		goto out;
	}
	if (errno != ECONNREFUSED)
		goto out;
	if (unlink(path) != 0 && errno != ENOENT)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int vex_wake_bind(const char *path)
{
	struct sockaddr_un sa;
	int fd = -1, rc = VEX_EIO;

	if (fill_addr(path, &sa))
		goto out;
	if ((rc = remove_stale(path, &sa)) != 0)
		goto out;
	rc = VEX_EIO;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	/* vex-internal: vex-api's workers run as vex's own user; nobody else may wake (or flood) us. */
	if (chmod(path, VEX_PRIVSOCK_MODE) != 0)
		goto out;
	rc = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int vex_wake_drain(int fd)
{
	char buf[64];
	int n = 0;

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r >= 0) {
			n++;
			continue;
		}
		if (errno == EINTR)
			continue;
		break;
	}
	return n;
}
