/* stream_server.c - the stream server process: one epoll loop over nginx's FastCGI connections (reads, writes, timers). */
#include "fcgi-app/stream_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "fcgi-app/child.h"
#include "fcgi-app/stream.h"

#define EVENTS_MAX 256
#define READ_CHUNK 16384
#define READS_PER_EVENT 4                   /* bounded work per readable connection per loop */
#define ACCEPTS_PER_EVENT 64
#define REQUEST_TIMEOUT_US (10 * 1000000LL) /* a request still incomplete after this is dropped */
#define CLOSE_TIMEOUT_US (10 * 1000000LL)   /* an answer the peer has not taken after this is dropped */
#define ACCEPT_PAUSE_US 100000LL            /* out of descriptors: accept again after this */
#define WAIT_MAX_MS 1000

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- lists ---- */

static struct vex_stream_list *list_of(struct vex_stream_server *s, enum vex_stream_state st)
{
	return st == VEX_CONN_READING ? &s->reading : st == VEX_CONN_STREAMING ? &s->streaming : &s->closing;
}

static void list_remove(struct vex_stream_list *l, struct vex_stream_conn *c)
{
	if (c->t_prev)
		c->t_prev->t_next = c->t_next;
	else
		l->head = c->t_next;
	if (c->t_next)
		c->t_next->t_prev = c->t_prev;
	else
		l->tail = c->t_prev;
	c->t_prev = c->t_next = NULL;
}

static void list_append(struct vex_stream_list *l, struct vex_stream_conn *c)
{
	c->t_next = NULL;
	c->t_prev = l->tail;
	if (l->tail)
		l->tail->t_next = c;
	else
		l->head = c;
	l->tail = c;
}

void vex_stream_conn_set_state(struct vex_stream_server *s, struct vex_stream_conn *c, enum vex_stream_state state,
			       int64_t now_mono_us)
{
	if (c->dead)
		return;
	list_remove(list_of(s, c->state), c);
	c->state = state;
	c->since_mono_us = now_mono_us;
	list_append(list_of(s, state), c);
}

/* ---- closing ---- */

void vex_stream_conn_doom(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	if (c->dead)
		return;
	s->handler->forget(s, c);
	list_remove(list_of(s, c->state), c);
	c->dead = 1;
	c->d_next = s->doomed;
	s->doomed = c;
}

/* Close and free every doomed connection (after a loop iteration: no event still points at them). */
static void reap(struct vex_stream_server *s)
{
	struct vex_stream_conn *c;

	while ((c = s->doomed) != NULL) {
		s->doomed = c->d_next;
		close(c->fd);
		vex_buf_release(&c->params);
		vex_buf_release(&c->out);
		free(c);
		s->conns--;
	}
}

/* ---- writing ---- */

static void want_out(struct vex_stream_server *s, struct vex_stream_conn *c, int on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		vex_stream_conn_doom(s, c);
		return;
	}
	c->want_out = on;
}

/* Read and drop what nginx sent and we did not read (the rest of STDIN): closing a unix socket with
 * unread input resets the peer's side, which could cost nginx the end of our answer. */
static void drop_input(struct vex_stream_conn *c)
{
	unsigned char buf[4096];
	int i;

	for (i = 0; i < 16 && read(c->fd, buf, sizeof(buf)) > 0; i++)
		;
}

/* Write what is queued. A drained buffer is freed (idle streams hold no buffer); a drained answer
 * that is complete closes the connection. */
static void flush(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	ssize_t n;

	while (!c->dead && c->out_off < c->out.len) {
		n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(s, c, 1);
			return;
		}
		vex_stream_conn_doom(s, c); /* the peer is gone */
		return;
	}
	if (c->dead)
		return;
	vex_buf_release(&c->out);
	c->out_off = 0;
	want_out(s, c, 0);
	if (c->state == VEX_CONN_CLOSING) {
		drop_input(c);
		vex_stream_conn_doom(s, c);
	}
}

/* Room for "extra" more bytes at the end of the queue, what was written making room first.
 * 0, VEX_ETOOBIG (the client is too slow), VEX_ENOMEM. */
static int reserve(struct vex_stream_conn *c, size_t extra)
{
	if (c->out_off > 0 && c->out.len + extra >= c->out.cap) {
		vex_buf_drop(&c->out, c->out_off);
		c->out_off = 0;
	}
	return vex_buf_reserve(&c->out, extra);
}

void vex_stream_conn_send(struct vex_stream_server *s, struct vex_stream_conn *c, const void *data, size_t len)
{
	int rc;

	if (c->dead || c->state == VEX_CONN_CLOSING || len == 0)
		return;
	rc = reserve(c, vex_fcgi_stdout_size(len));
	if (rc) {
		vex_log(VEX_LOG_DEBUG, rc == VEX_ETOOBIG ? "stream client too slow: closed" : "stream out of memory: closed",
			"request_id", c->request_id, NULL);
		vex_stream_conn_doom(s, c);
		return;
	}
	vex_buf_wrote(&c->out, vex_fcgi_stdout_put((unsigned char *)c->out.p + c->out.len, c->fcgi_id, data, len));
	/* The ping timer counts from the last write: this stream goes to the back of the line. */
	if (c->state == VEX_CONN_STREAMING)
		vex_stream_conn_set_state(s, c, VEX_CONN_STREAMING, vex_mono_us());
	flush(s, c);
}

/* Queue the end of the answer with "protocol_status"; the connection closes once it is written. */
static void finish(struct vex_stream_server *s, struct vex_stream_conn *c, unsigned protocol_status)
{
	if (c->dead || c->state == VEX_CONN_CLOSING)
		return;
	s->handler->forget(s, c);
	if (reserve(c, VEX_FCGI_END_LEN) != 0) {
		vex_stream_conn_doom(s, c);
		return;
	}
	vex_buf_wrote(&c->out, vex_fcgi_end_put((unsigned char *)c->out.p + c->out.len, c->fcgi_id, 0, protocol_status));
	vex_stream_conn_set_state(s, c, VEX_CONN_CLOSING, vex_mono_us());
	flush(s, c);
}

void vex_stream_conn_finish(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	finish(s, c, VEX_FCGI_REQUEST_COMPLETE);
}

/* ---- reading ---- */

/* One piece of the request. 0, or VEX_EINVAL when the peer broke the protocol. */
static int on_piece(struct vex_stream_server *s, struct vex_stream_conn *c, const struct vex_fcgi_piece *pc)
{
	unsigned role, flags;
	int rc;

	if (!c->begun) {
		if (pc->request_id == 0)
			return 0; /* a management record (GET_VALUES): nothing to say */
		if (pc->type != VEX_FCGI_BEGIN_REQUEST)
			return VEX_EINVAL;
		if (pc->what == VEX_FCGI_CONTENT) {
			if (pc->len > sizeof(c->begin) - c->begin_len)
				return VEX_EINVAL;
			memcpy(c->begin + c->begin_len, pc->data, pc->len);
			c->begin_len += (unsigned)pc->len;
			return 0;
		}
		if (vex_fcgi_begin_parse(c->begin, c->begin_len, &role, &flags) != 0)
			return VEX_EINVAL;
		c->fcgi_id = pc->request_id;
		c->begun = 1;
		if (role != VEX_FCGI_RESPONDER)
			finish(s, c, VEX_FCGI_UNKNOWN_ROLE);
		return 0;
	}
	/* nginx sends one request per connection; anything else is not ours to answer. */
	if (pc->request_id != c->fcgi_id)
		return 0;
	switch (pc->type) {
	case VEX_FCGI_PARAMS:
		if (c->params_done)
			return 0;
		if (pc->what == VEX_FCGI_CONTENT) {
			if (c->params_too_big)
				return 0;
			rc = vex_buf_add(&c->params, pc->data, pc->len);
			if (rc == VEX_ETOOBIG) {
				c->params_too_big = 1;
				vex_buf_release(&c->params);
			} else if (rc) {
				return rc;
			}
			return 0;
		}
		if (pc->content_len == 0) {
			c->params_done = 1;
			if (c->state == VEX_CONN_READING)
				s->handler->request(s, c);
			vex_buf_release(&c->params);
		}
		return 0;
	case VEX_FCGI_ABORT_REQUEST:
		if (pc->what == VEX_FCGI_RECORD_END)
			vex_stream_conn_doom(s, c);
		return 0;
	default:
		return 0; /* STDIN (request bodies are not read), DATA, anything else */
	}
}

static int consume(struct vex_stream_server *s, struct vex_stream_conn *c, const unsigned char *buf, size_t n)
{
	struct vex_fcgi_piece pc;
	size_t off = 0, used;
	int rc;

	for (;;) {
		rc = vex_fcgi_read(&c->rd, buf + off, n - off, &used, &pc);
		if (rc)
			return rc;
		off += used;
		if (pc.what == VEX_FCGI_NEED_MORE || c->dead)
			return 0;
		rc = on_piece(s, c, &pc);
		if (rc)
			return rc;
	}
}

static void on_readable(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	unsigned char buf[READ_CHUNK];
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT && !c->dead; i++) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == 0) {
			vex_stream_conn_doom(s, c); /* nginx closed: the client went away */
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vex_stream_conn_doom(s, c);
			return;
		}
		if (consume(s, c, buf, (size_t)n) != 0) {
			vex_log(VEX_LOG_DEBUG, "stream connection broke the FastCGI protocol: closed", NULL);
			vex_stream_conn_doom(s, c);
			return;
		}
		if ((size_t)n < sizeof(buf))
			return;
	}
}

/* ---- accepting ---- */

static int listener_add(struct vex_stream_server *s)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* the listener; connections carry their struct */
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev);
}

static void on_accept(struct vex_stream_server *s)
{
	struct vex_stream_conn *c;
	struct epoll_event ev;
	int i, fd;

	for (i = 0; i < ACCEPTS_PER_EVENT; i++) {
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: the listener would wake us at once again. Step back a moment. */
				vex_log(VEX_LOG_WARN, "stream server out of descriptors: accepting again shortly", "error",
					strerror(errno), NULL);
				epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
				s->accept_paused = 1;
				s->accept_resume_mono_us = vex_mono_us() + ACCEPT_PAUSE_US;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		vex_buf_init(&c->params, VEX_STREAM_PARAMS_MAX);
		vex_buf_init(&c->out, VEX_STREAM_OUT_MAX + VEX_FCGI_END_LEN);
		c->state = VEX_CONN_READING;
		c->since_mono_us = vex_mono_us();
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		list_append(&s->reading, c);
		s->conns++;
	}
}

/* ---- the loop ---- */

/* Pings, dropped requests and answers, the listener back after a pause. */
static void timers(struct vex_stream_server *s, int64_t now)
{
	static const char ping[] = ": ping\n\n";
	int64_t ping_us = (int64_t)s->cfg->stream_ping_s * 1000000;
	struct vex_stream_conn *c;

	while ((c = s->reading.head) != NULL && now - c->since_mono_us >= REQUEST_TIMEOUT_US)
		vex_stream_conn_doom(s, c);
	/* Each ping moves its stream to the back (or dooms it): the walk ends at the first one not due. */
	while ((c = s->streaming.head) != NULL && now - c->since_mono_us >= ping_us)
		vex_stream_conn_send(s, c, ping, sizeof(ping) - 1);
	while ((c = s->closing.head) != NULL && now - c->since_mono_us >= CLOSE_TIMEOUT_US)
		vex_stream_conn_doom(s, c);
	if (s->accept_paused && now >= s->accept_resume_mono_us) {
		if (listener_add(s) == 0)
			s->accept_paused = 0;
		else
			s->accept_resume_mono_us = now + ACCEPT_PAUSE_US;
	}
}

static void earliest(int64_t *next, int64_t t)
{
	if (t < *next)
		*next = t;
}

/* Milliseconds until the next timer or feed read is due (rounded up), at most WAIT_MAX_MS. */
static int wait_ms(struct vex_stream_server *s, int64_t now)
{
	int64_t next = now + WAIT_MAX_MS * 1000LL;

	if (s->reading.head)
		earliest(&next, s->reading.head->since_mono_us + REQUEST_TIMEOUT_US);
	if (s->streaming.head)
		earliest(&next, s->streaming.head->since_mono_us + (int64_t)s->cfg->stream_ping_s * 1000000);
	if (s->closing.head)
		earliest(&next, s->closing.head->since_mono_us + CLOSE_TIMEOUT_US);
	if (s->handler->due(s))
		earliest(&next, s->handler->due(s));
	if (s->accept_paused)
		earliest(&next, s->accept_resume_mono_us);
	if (next <= now)
		return 0;
	return (int)((next - now + 999) / 1000);
}

static void dispatch(struct vex_stream_server *s, const struct epoll_event *ev)
{
	struct vex_stream_conn *c = ev->data.ptr;

	if (!c) {
		on_accept(s);
		return;
	}
	if (c->dead)
		return;
	if (ev->events & EPOLLIN)
		on_readable(s, c);
	if (!c->dead && (ev->events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
		vex_stream_conn_doom(s, c); /* the client (and so nginx) went away: free the slot now */
		return;
	}
	if (!c->dead && (ev->events & EPOLLOUT))
		flush(s, c);
}

static void serve(struct vex_stream_server *s, const sigset_t *waitmask)
{
	struct epoll_event evs[EVENTS_MAX];
	int64_t now, due;
	int i, n;

	while (!stop_requested) {
		n = epoll_pwait(s->epfd, evs, EVENTS_MAX, wait_ms(s, vex_mono_us()), waitmask);
		if (n < 0 && errno != EINTR) {
			vex_log(VEX_LOG_ERROR, "stream server epoll_wait failed", "error", strerror(errno), NULL);
			break;
		}
		for (i = 0; i < n; i++)
			dispatch(s, &evs[i]);
		reap(s);
		now = vex_mono_us();
		due = s->handler->due(s);
		if (due && now >= due)
			s->handler->tick(s, now);
		timers(s, vex_mono_us());
		reap(s);
	}
}

/* Stopping: every open stream ends properly (clients reconnect with Last-Event-ID), the rest is closed. */
static void shutdown_all(struct vex_stream_server *s)
{
	struct vex_stream_conn *c;

	while ((c = s->streaming.head) != NULL)
		vex_stream_conn_finish(s, c);
	while ((c = s->reading.head) != NULL)
		vex_stream_conn_doom(s, c);
	while ((c = s->closing.head) != NULL)
		vex_stream_conn_doom(s, c);
	reap(s);
}

/* Thousands of streams need thousands of descriptors: take the whole hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	char buf[24];

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		vex_log(VEX_LOG_WARN, "stream server cannot raise RLIMIT_NOFILE", "error", strerror(errno), NULL);
		return;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rl.rlim_cur);
	vex_log(VEX_LOG_DEBUG, "stream server RLIMIT_NOFILE raised", "limit", buf, NULL);
}

int vex_stream_server_run(const struct vex_config *cfg, int listen_fd, const struct vex_stream_handler *handler)
{
	struct vex_stream_server s;
	sigset_t block, waitmask;
	int rc, status = 1, flags;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.handler = handler;
	s.listen_fd = listen_fd;
	s.epfd = -1;

	/* TERM and INT stay blocked except inside epoll_pwait: no wake-up is lost between check and wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	vex_child_signals(on_term, &block);
	sigemptyset(&waitmask);
	prctl(PR_SET_NAME, "vex-api-stream");
	raise_nofile();

	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &s.store);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "stream server cannot open the store", "path", cfg->store_label, "error",
			vex_strerror(rc), NULL);
		goto out;
	}
	rc = handler->init(&s);
	if (rc != 0) {
		vex_log(VEX_LOG_ERROR, "stream server cannot allocate its tables", NULL);
		goto out;
	}
	flags = fcntl(listen_fd, F_GETFL);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0 || s.epfd < 0 || listener_add(&s) != 0) {
		vex_log(VEX_LOG_ERROR, "stream server cannot set up epoll", "error", strerror(errno), NULL);
		goto out;
	}
	serve(&s, &waitmask);
	shutdown_all(&s);
	status = 0;
out:
	if (s.epfd >= 0)
		close(s.epfd);
	handler->release(&s); /* also after a failed or skipped init */
	vex_store_free(s.store);
	return status;
}
