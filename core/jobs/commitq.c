/* commitq.c - the group-commit queue of new jobs: client (vex-api workers) and server (the committer). */
#include "core/jobs/commitq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/perms.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/metrics/metrics.h"

#define CLIENTS_MAX 256  /* connections the committer serves (one per worker process) */
#define BATCH_MAX 256    /* jobs in one transaction */
_Static_assert(CLIENTS_MAX + 1 == VEX_COMMITQ_POLLFDS, "the listening socket and every client");

/* After the first address failed, the second is used alone this long. */
#define FIRST_RETRY_US 1000000

struct vex_commitq {
	struct sockaddr_un sa[2]; /* the preferred server (the runner's intake), then the other */
	int naddr;
	int cur;                  /* which one fd is connected to */
	int64_t first_retry_us;   /* vex_mono_us() before which the first is not tried */
	int last_first;           /* the last insert was answered by the first */
	int fd;
	int timeout_ms;
};

static int addr_set(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path))
		return VEX_EINVAL;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* Wait until "fd" is ready for "events" or the monotonic deadline passes. 0 or VEX_EIO. */
static int wait_fd(int fd, short events, int64_t deadline_us)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		left = (deadline_us - vex_mono_us()) / 1000;
		if (left <= 0)
			return VEX_EIO;
		rc = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return VEX_EIO;
	}
}

/* Write all of "buf" to a (possibly non-blocking) socket before the deadline. */
static int write_all(int fd, const char *buf, size_t len, int64_t deadline_us)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, deadline_us) == 0)
			continue;
		return VEX_EIO;
	}
	return 0;
}

/* The length and the payload in one sendmsg (one syscall for the usual whole write); a partial
 * write goes on with write_all. */
static int send_frame(int fd, const char *payload, size_t len, int64_t deadline_us)
{
	unsigned char hdr[4];
	struct iovec iov[2] = { { hdr, 4 }, { (void *)payload, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (len > VEX_COMMITQ_FRAME_MAX)
		return VEX_ETOOBIG;
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	do {
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return VEX_EIO;
	if (n < 0)
		n = 0;
	if ((size_t)n < 4 && write_all(fd, (const char *)hdr + n, 4 - (size_t)n, deadline_us) != 0)
		return VEX_EIO;
	n = (size_t)n < 4 ? 0 : n - 4;
	return write_all(fd, payload + n, len - (size_t)n, deadline_us);
}

static uint32_t frame_len(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read exactly "len" bytes before the deadline from a socket with SO_RCVTIMEO set. */
static int read_all(int fd, char *buf, size_t len, int64_t deadline_us)
{
	ssize_t n;

	while (len > 0) {
		n = recv(fd, buf, len, 0);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == 0 || errno != EINTR || vex_mono_us() >= deadline_us) {
			return VEX_EIO; /* closed, timed out (EAGAIN) or failed */
		}
	}
	return 0;
}

int vex_commitq_open(const char *path, int timeout_ms, struct vex_commitq **ret)
{
	return vex_commitq_open2(NULL, path, timeout_ms, ret);
}

int vex_commitq_open2(const char *first, const char *second, int timeout_ms, struct vex_commitq **ret)
{
	struct vex_commitq *q;

	if (!second || timeout_ms <= 0)
		return VEX_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return VEX_ENOMEM;
	if ((first && addr_set(&q->sa[q->naddr++], first) != 0) || addr_set(&q->sa[q->naddr++], second) != 0) {
		free(q);
		return VEX_EINVAL;
	}
	q->fd = -1;
	q->timeout_ms = timeout_ms;
	*ret = q;
	return 0;
}

int vex_commitq_by_first(const struct vex_commitq *q)
{
	return q && q->naddr == 2 && q->last_first;
}

void vex_commitq_free(struct vex_commitq *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

static void drop(struct vex_commitq *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static int connect_to(struct vex_commitq *q, int idx)
{
	struct timeval tv = { .tv_sec = q->timeout_ms / 1000, .tv_usec = (q->timeout_ms % 1000) * 1000 };

	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return VEX_EIO;
	/* Blocking with kernel timeouts: a read is one recv, not a poll and a recv. */
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(q->fd, (struct sockaddr *)&q->sa[idx], sizeof(q->sa[idx])) != 0) {
		drop(q);
		return VEX_EIO;
	}
	q->cur = idx;
	return 0;
}

/* The first server that answers, the preferred one unless it failed in the last second. */
static int ensure_connected(struct vex_commitq *q)
{
	/* On the second while the first may be back: leave it, so the first is tried (about once a
	 * second while it stays away). */
	if (q->fd >= 0 && q->naddr == 2 && q->cur == 1 && vex_mono_us() >= q->first_retry_us)
		drop(q);
	if (q->fd >= 0)
		return 0;
	if (q->naddr == 2 && vex_mono_us() >= q->first_retry_us) {
		if (connect_to(q, 0) == 0)
			return 0;
		q->first_retry_us = vex_mono_us() + FIRST_RETRY_US;
	}
	return connect_to(q, q->naddr - 1);
}

/* The connection failed: closed, and when it was to the preferred server, that one is left alone a while. */
static void failed(struct vex_commitq *q)
{
	if (q->fd >= 0 && q->naddr == 2 && q->cur == 0)
		q->first_retry_us = vex_mono_us() + FIRST_RETRY_US;
	drop(q);
}

static char *request_text(const struct vex_job *j)
{
	json_t *job = vex_job_to_json(j), *req = NULL;
	char *text = NULL;

	if (!job)
		return NULL;
	/* the submitter's role and queued-job cap travel beside the job, as its idempotency key and
	 * request hash do (not part of its view) */
	req = json_pack("{s:o, s:s?, s:s?, s:b, s:i}", "job", job, "idempotency_key", j->idempotency_key,
			"request_hash", j->request_hash, "owner_admin", j->owner_admin, "queued_cap", j->queued_cap);
	if (req)
		text = vex_json_dump(req);
	json_decref(req);
	return text;
}

/* The side strings "idempotency_key" and "request_hash" of the message "v" into "job". 0 or VEX_ENOMEM. */
static int side_fields(json_t *v, struct vex_job *job)
{
	json_t *idem = json_object_get(v, "idempotency_key"), *hash = json_object_get(v, "request_hash");

	if (json_is_string(idem) && !(job->idempotency_key = strdup(json_string_value(idem))))
		return VEX_ENOMEM;
	if (json_is_string(hash) && !(job->request_hash = strdup(json_string_value(hash))))
		return VEX_ENOMEM;
	return 0;
}

/* Parse a reply to the request for "sent": 0 (job and created flag written), the committer's
 * error code, or VEX_EIO for garbage. */
static int reply_parse(const char *buf, size_t len, const struct vex_job *sent, struct vex_job **ret,
		       int *ret_created)
{
	json_t *v = json_loadb(buf, len, 0, NULL), *rcv, *jobv;
	struct vex_job *job = NULL;
	int rc = VEX_EIO;

	if (!v)
		return VEX_EIO;
	rcv = json_object_get(v, "rc");
	jobv = json_object_get(v, "job");
	if (!json_is_integer(rcv))
		goto out;
	rc = (int)json_integer_value(rcv);
	if (rc > 0) {
		rc = VEX_EIO;
		goto out;
	}
	if (rc != 0)
		goto out;
	*ret_created = json_is_true(json_object_get(v, "created"));
	if (*ret_created) {
		/* Stored as sent (the store marks it new the same way); no need to ship it back. */
		job = vex_job_dup_as_new(sent, vex_now_us());
		rc = job ? 0 : VEX_ENOMEM;
		if (job) {
			*ret = job;
			job = NULL;
		}
		goto out;
	}
	if (vex_job_from_json(jobv, &job) != 0) {
		rc = VEX_EIO;
		goto out;
	}
	rc = side_fields(v, job);
	if (rc)
		goto out;
	*ret = job;
	job = NULL;
out:
	vex_job_free(job);
	json_decref(v);
	return rc;
}

int vex_commitq_insert(struct vex_commitq *q, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	int64_t deadline = vex_mono_us() + (int64_t)q->timeout_ms * 1000;
	char first[512], *text = NULL, *buf = NULL;
	const char *body;
	ssize_t got;
	uint32_t len;
	int rc, attempt, created = 0;

	text = request_text(j);
	if (!text)
		return VEX_ENOMEM;
	/* A connection the committer closed (it restarted) fails on send: reconnect once. Sending is
	 * safe to repeat; once a request is out, a missing answer is the caller's to resolve. */
	for (attempt = 0;; attempt++) {
		rc = ensure_connected(q);
		if (rc == 0)
			rc = send_frame(q->fd, text, strlen(text), deadline);
		if (rc == 0)
			break;
		failed(q);
		if (attempt == 1 || rc == VEX_ETOOBIG)
			goto out;
	}
	/* The usual answer is a few dozen bytes: one recv takes the length and the whole of it. */
	got = recv(q->fd, first, sizeof(first), 0);
	while (got < 0 && errno == EINTR && vex_mono_us() < deadline)
		got = recv(q->fd, first, sizeof(first), 0);
	if (got <= 0 || (got < 4 && read_all(q->fd, first + got, 4 - (size_t)got, deadline) != 0))
		goto fail;
	if (got < 4)
		got = 4;
	len = frame_len((unsigned char *)first);
	if (len == 0 || len > VEX_COMMITQ_FRAME_MAX || (size_t)got > 4 + (size_t)len)
		goto fail;
	body = first + 4;
	if ((size_t)got < 4 + (size_t)len) {
		buf = malloc(len);
		if (!buf)
			goto fail;
		memcpy(buf, first + 4, (size_t)got - 4);
		if (read_all(q->fd, buf + got - 4, len - ((size_t)got - 4), deadline) != 0)
			goto fail;
		body = buf;
	}
	rc = reply_parse(body, len, j, ret, &created);
	q->last_first = q->cur == 0;
	if (rc == VEX_EIO)
		goto fail;
	if (rc == 0 && ret_created)
		*ret_created = created;
	goto out;
fail:
	failed(q);
	rc = VEX_EIO;
out:
	free(buf);
	free(text);
	return rc;
}

/* ---- the committer ---- */

int vex_commitq_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (addr_set(&sa, path) != 0)
		return VEX_EIO;
	/* Never take the path from a live committer (another vex-api on the same database): its
	 * workers and ours can share it. Only a socket nobody answers on is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return VEX_EEXIST;
	}
	if (fd >= 0)
		close(fd);
	if (unlink(path) != 0 && errno != ENOENT)
		return VEX_EIO;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return VEX_EIO;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, VEX_PRIVSOCK_MODE) != 0 || listen(fd, 128) != 0) {
		close(fd);
		return VEX_EIO;
	}
	return fd;
}

#define READ_ROOM 65536                                   /* free room for one recv */
#define CLIENT_IN_MAX (VEX_COMMITQ_FRAME_MAX + 4 + READ_ROOM) /* a whole frame, and the next read */

struct client {
	int fd;
	int dead; /* went away or broke the protocol: closed after the batch that may still name it */
	struct vex_buf in; /* at most CLIENT_IN_MAX bytes */
};

static void client_close(struct client *c)
{
	close(c->fd);
	vex_buf_release(&c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Read what is there; 0, or VEX_EIO when the client went away or broke the protocol. */
static int client_read(struct client *c)
{
	ssize_t n;

	for (;;) {
		size_t room;

		if (c->in.cap - c->in.len < READ_ROOM + 1 && vex_buf_reserve(&c->in, READ_ROOM) < 0)
			return VEX_EIO;
		room = c->in.cap - c->in.len - 1;
		n = recv(c->fd, c->in.p + c->in.len, room, 0);
		if (n > 0) {
			vex_buf_wrote(&c->in, (size_t)n);
			if ((size_t)n < room)
				return 0; /* drained for now: poll says when more comes (no recv just for EAGAIN) */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return VEX_EIO;
	}
}

/* A complete request in the client's buffer becomes a job (consumed from the buffer). 1 taken,
 * 0 incomplete, VEX_EIO garbage. */
static int client_take(struct client *c, struct vex_job **ret)
{
	json_t *v = NULL;
	struct vex_job *job = NULL;
	uint32_t len;
	int rc = VEX_EIO;

	if (c->in.len < 4)
		return 0;
	len = frame_len((unsigned char *)c->in.p);
	if (len == 0 || len > VEX_COMMITQ_FRAME_MAX)
		return VEX_EIO;
	if (c->in.len < 4 + (size_t)len)
		return 0;
	v = json_loadb(c->in.p + 4, len, 0, NULL);
	if (!v || vex_job_from_json(json_object_get(v, "job"), &job) != 0)
		goto out;
	if (side_fields(v, job) != 0)
		goto out;
	job->owner_admin = json_is_true(json_object_get(v, "owner_admin"));
	job->queued_cap = (int)json_integer_value(json_object_get(v, "queued_cap")); /* absent: 0, no cap */
	vex_buf_drop(&c->in, 4 + (size_t)len);
	*ret = job;
	job = NULL;
	rc = 1;
out:
	vex_job_free(job);
	json_decref(v);
	return rc;
}

static void answer(struct client *c, int rc, int created, const struct vex_job *job)
{
	int full = job && !created; /* a created job is what the client sent: only a hit ships the row */
	json_t *v = json_pack("{s:i, s:b, s:o?, s:s?, s:s?}", "rc", rc, "created", created, "job",
			      full ? vex_job_to_json(job) : NULL, "idempotency_key", full ? job->idempotency_key : NULL,
			      "request_hash", full ? job->request_hash : NULL);
	char *text = v ? vex_json_dump(v) : NULL;

	/* A client that cannot take its answer within 5 s is dropped; it falls back to a direct insert. */
	if (!c->dead && (!text || send_frame(c->fd, text, strlen(text), vex_mono_us() + 5000000LL) != 0))
		c->dead = 1;
	free(text);
	json_decref(v);
}

struct vex_commitq_server {
	int listen_fd;
	int metric; /* the counter of the jobs it inserts */
	struct client clients[CLIENTS_MAX];
	size_t hi; /* clients[hi..] are all free: polled only up to there */
};

int vex_commitq_server_new(int listen_fd, struct vex_commitq_server **ret)
{
	struct vex_commitq_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return VEX_ENOMEM;
	srv->listen_fd = listen_fd;
	srv->metric = VEX_M_COMMIT_JOBS;
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		srv->clients[i].fd = -1;
	*ret = srv;
	return 0;
}

void vex_commitq_server_free(struct vex_commitq_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (srv->clients[i].fd >= 0)
			client_close(&srv->clients[i]);
	free(srv);
}

size_t vex_commitq_server_pollfds(struct vex_commitq_server *srv, struct pollfd *pfd)
{
	size_t i;

	pfd[0] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
	while (srv->hi > 0 && srv->clients[srv->hi - 1].fd < 0)
		srv->hi--;
	for (i = 0; i < srv->hi; i++)
		pfd[i + 1] = (struct pollfd){ .fd = srv->clients[i].fd, .events = POLLIN };
	return srv->hi + 1;
}

size_t vex_commitq_server_take(struct vex_commitq_server *srv, struct pollfd *pfd, size_t npfd,
			       struct vex_commitq_req *reqs, size_t max)
{
	size_t nb = 0, i;
	int rc, k;

	if (npfd > 0 && (pfd[0].revents & POLLIN)) {
		for (;;) {
			int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0)
				break;
			for (i = 0; i < CLIENTS_MAX && srv->clients[i].fd >= 0; i++)
				;
			if (i == CLIENTS_MAX) {
				close(fd); /* the client falls back to another way in */
				continue;
			}
			srv->clients[i].fd = fd;
			vex_buf_init(&srv->clients[i].in, CLIENT_IN_MAX);
			if (i + 1 < npfd)
				pfd[i + 1].revents = 0; /* not polled this round */
			if (i >= srv->hi)
				srv->hi = i + 1;
		}
	}
	for (i = 0; i < srv->hi && i + 1 < npfd; i++) {
		struct client *c = &srv->clients[i];
		struct vex_job *job;

		if (c->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		rc = client_read(c);
		k = 0;
		/* Requests already complete are answered even if the client then hung up. */
		while (nb < max && (k = client_take(c, &job)) == 1) {
			reqs[nb].client = c;
			reqs[nb].job = job;
			reqs[nb].metric = srv->metric;
			nb++;
		}
		if (rc != 0 || k < 0)
			c->dead = 1;
	}
	return nb;
}

void vex_commitq_server_answer(struct vex_commitq_req *r, int rc, int created, const struct vex_job *job)
{
	if (rc == 0 && created)
		vex_metrics_inc(r->metric);
	answer(r->client, rc, created, job);
	vex_job_free(r->job);
	r->job = NULL;
}

void vex_commitq_server_count_as_intake(struct vex_commitq_server *srv)
{
	srv->metric = VEX_M_INTAKE_JOBS;
}

void vex_commitq_server_sweep(struct vex_commitq_server *srv)
{
	for (size_t i = 0; i < srv->hi; i++)
		if (srv->clients[i].fd >= 0 && srv->clients[i].dead)
			client_close(&srv->clients[i]);
}

int vex_commitq_serve(int listen_fd, struct vex_store *s, volatile sig_atomic_t *stop)
{
	static struct pollfd pfd[CLIENTS_MAX + 1];
	static struct vex_commitq_req batch[BATCH_MAX];
	struct vex_job *jobs[BATCH_MAX], *rets[BATCH_MAX];
	int created[BATCH_MAX], rcs[BATCH_MAX];
	struct vex_commitq_server *srv = NULL;
	size_t nb, npfd, i;
	int n;

	if (vex_commitq_server_new(listen_fd, &srv) != 0)
		return VEX_EIO;
	while (!*stop) {
		npfd = vex_commitq_server_pollfds(srv, pfd);
		n = poll(pfd, npfd, 1000);
		if (n < 0 && errno != EINTR) {
			vex_commitq_server_free(srv);
			return VEX_EIO;
		}
		if (n <= 0)
			continue;
		nb = vex_commitq_server_take(srv, pfd, npfd, batch, BATCH_MAX);
		if (nb > 0) {
			for (i = 0; i < nb; i++)
				jobs[i] = batch[i].job;
			vex_store_jobs_insert_batch(s, jobs, nb, rets, created, rcs);
			vex_metrics_inc(VEX_M_COMMIT_BATCHES);
			for (i = 0; i < nb; i++) {
				vex_commitq_server_answer(&batch[i], rcs[i], created[i], rets[i]);
				vex_job_free(rets[i]);
			}
		}
		vex_commitq_server_sweep(srv);
	}
	vex_commitq_server_free(srv);
	return 0;
}
