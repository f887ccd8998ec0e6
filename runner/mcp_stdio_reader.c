/* mcp_stdio_reader.c - the reader thread of an MCP stdio server: lines from stdout matched to waiting
 * requests, progress, the server's own messages, stderr to the log, and the reaping of its process. */
#include "runner/mcp_stdio_reader.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/mcpmsg.h"
#include "core/base/timeutil.h"

#define READ_CHUNK 65536
#define STDERR_LINE_MAX 2048   /* a longer stderr line is logged in pieces */
#define EDGE 160               /* bytes kept of each end of an oversized line, to find its id */
#define POLL_MS 200            /* the reader's wake-up, to notice an exit that leaves stdout open */
#define REPLY_WAIT_MS 2000     /* how long the reader tries to answer a server's request */
#define LEFTOVER_MS 1000       /* after the leader exited, how long others may hold stdout open */

/* A line from stdout being collected. */
struct line {
	struct vex_buf buf; /* at most the message limit */
	int over;           /* past the cap: only its ends are kept */
	size_t total;
	char head[EDGE];
	char tail[EDGE];    /* a ring of the last EDGE bytes */
};

static struct mcp_pending *find_id(struct mcp_server *s, int64_t id)
{
	struct mcp_pending *p;

	for (p = s->pending; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static struct mcp_pending *find_token(struct mcp_server *s, const char *token)
{
	struct mcp_pending *p;

	for (p = s->pending; p; p = p->next)
		if (p->token && strcmp(p->token, token) == 0)
			return p;
	return NULL;
}

/* Sends "text" (freed) from the reader: a reply to the server's own request. */
static void reply(struct mcp_server *s, char *text)
{
	if (!text)
		return;
	mcp_stdio_write_line(s, text, NULL, vex_mono_us() + REPLY_WAIT_MS * 1000LL);
	free(text);
}

static void handle_message(struct mcp_server *s, json_t *msg)
{
	struct vex_progress pr = { 0 };
	struct mcp_pending *p;
	char token[VEX_MCP_PROGRESS_TOKEN_MAX + 1];
	enum vex_rpc_kind kind;
	const char *method;
	int64_t id = 0;

	kind = vex_rpc_classify(msg, &id);
	if (kind == VEX_RPC_RESPONSE) {
		pthread_mutex_lock(&s->mu);
		p = find_id(s, id);
		if (p && !p->done) {
			p->response = json_incref(msg);
			p->done = 1;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (kind == VEX_RPC_INVALID)
		return;
	method = json_string_value(json_object_get(msg, "method"));
	if (kind == VEX_RPC_NOTIFICATION && strcmp(method, "notifications/progress") == 0) {
		if (vex_mcp_progress_parse(json_object_get(msg, "params"), token, sizeof(token), &pr) < 0)
			return;
		pthread_mutex_lock(&s->mu);
		p = find_token(s, token);
		if (p && !p->done) {
			vex_progress_release(&p->progress);
			p->progress = pr;
			memset(&pr, 0, sizeof(pr));
			p->has_progress = 1;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->mu);
		vex_progress_release(&pr);
		return;
	}
	reply(s, mcp_on_server_message(s, msg, kind));
}

/* An oversized line: find its id at either end ({"id":N,... or ...,"id":N}) and fail that call. */
static void oversized(struct mcp_server *s, struct line *l)
{
	char edge[2][EDGE + 1];
	size_t hl = l->total < EDGE ? l->total : EDGE, i, start = l->total % EDGE;
	struct mcp_pending *p;
	long long id = -1;
	int k;

	memcpy(edge[0], l->head, hl);
	edge[0][hl] = '\0';
	for (i = 0; i < EDGE && i < l->total; i++)
		edge[1][i] = l->tail[(start + i) % EDGE];
	edge[1][i] = '\0';
	for (k = 0; k < 2 && id < 0; k++) {
		const char *q = edge[k];

		while ((q = strstr(q, "\"id\"")) != NULL) {
			char *end;
			long long v;

			q += 4;
			while (*q == ' ' || *q == ':')
				q++;
			v = strtoll(q, &end, 10);
			if (end != q && v >= 0 && (*end == '}' || *end == ',' || *end == ' ')) {
				id = v;
				break;
			}
		}
	}
	vex_log(VEX_LOG_WARN, "MCP server sent a message over the size cap: dropped", "server", s->conf->name, NULL);
	if (id < 0)
		return;
	pthread_mutex_lock(&s->mu);
	p = find_id(s, id);
	if (p && !p->done) {
		p->done = 1;
		p->toobig = 1;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
}

static void line_end(struct mcp_server *s, struct line *l)
{
	struct vex_field_error fe;
	json_t *msg = NULL;

	if (l->over)
		oversized(s, l);
	else if (l->buf.len > 0 && vex_json_parse(l->buf.p, l->buf.len, &msg, &fe) == 0) {
		handle_message(s, msg);
		json_decref(msg);
	} else if (l->buf.len > 0) {
		vex_log(VEX_LOG_DEBUG, "MCP server wrote a line that is not JSON", "server", s->conf->name, NULL);
	}
	vex_buf_reset(&l->buf);
	l->over = 0;
	l->total = 0;
	/* a one-off large message leaves no large buffer behind */
	if (l->buf.cap > 1024 * 1024)
		vex_buf_release(&l->buf);
}

static void line_add(struct line *l, const char *p, size_t n)
{
	size_t len = l->buf.len, i;

	if (!l->over && len + n > l->buf.max) {
		l->over = 1;
		memcpy(l->head, l->buf.p ? l->buf.p : "", len < EDGE ? len : EDGE);
		if (len < EDGE)
			memcpy(l->head + len, p, EDGE - len < n ? EDGE - len : n);
		for (i = 0; i < len; i++)
			l->tail[(l->total + i) % EDGE] = l->buf.p[i];
		l->total = len;
		vex_buf_reset(&l->buf);
	}
	if (l->over) {
		for (i = 0; i < n; i++)
			l->tail[(l->total + i) % EDGE] = p[i];
		l->total += n;
		return;
	}
	if (vex_buf_add(&l->buf, p, n) < 0) {
		/* out of memory: treated as oversized, dropped, with no id to blame */
		memset(l->head, 0, sizeof(l->head));
		memset(l->tail, 0, sizeof(l->tail));
		l->over = 1;
		l->total = len + n;
		vex_buf_reset(&l->buf);
	}
}

static void stdout_data(struct mcp_server *s, struct line *l, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t k = (size_t)(nl - p);

		if (k && p[k - 1] == '\r')
			k--;
		line_add(l, p, k);
		line_end(s, l);
		p = nl + 1;
	}
	if (p < end)
		line_add(l, p, (size_t)(end - p));
}

static void log_stderr(struct mcp_server *s, const char *p, size_t n)
{
	char text[STDERR_LINE_MAX + 1];

	if (n > STDERR_LINE_MAX)
		n = STDERR_LINE_MAX;
	memcpy(text, p, n);
	text[n] = '\0';
	vex_log(VEX_LOG_DEBUG, "mcp server stderr", "server", s->conf->name, "line", text, NULL);
}

static void stderr_data(struct mcp_server *s, char *acc, size_t *acclen, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || *acclen == STDERR_LINE_MAX) {
			if (*acclen)
				log_stderr(s, acc, *acclen);
			*acclen = 0;
			if (buf[i] == '\n')
				continue;
		}
		acc[(*acclen)++] = buf[i];
	}
}

/* 1 when the leader has exited (not reaped: WNOWAIT keeps its pid, and so its group id, reserved). */
static int leader_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

/* Waits up to "ms" for the leader to exit. */
static int wait_leader(pid_t pid, int ms)
{
	int64_t end = vex_mono_us() + (int64_t)ms * 1000;

	for (;;) {
		struct timespec ts = { 0, 10 * 1000000L };

		if (leader_exited(pid))
			return 1;
		if (vex_mono_us() >= end)
			return 0;
		nanosleep(&ts, NULL);
	}
}

/* After stdout ended: make sure the group is gone, reap the leader, fail what still waits. */
static void reap(struct mcp_server *s)
{
	struct mcp_pending *p;
	int st = 0, grace = s->cfg->tools_kill_grace_ms;
	pid_t r;

	if (!wait_leader(s->pid, 200)) {
		kill(-s->pid, SIGTERM);
		if (!wait_leader(s->pid, grace)) {
			kill(-s->pid, SIGKILL);
			wait_leader(s->pid, 5000);
		}
	}
	/* the leader is a zombie: its group id cannot be reused, so this reaches only its own */
	kill(-s->pid, SIGKILL);
	pthread_mutex_lock(&s->mu);
	s->reaping = 1;
	pthread_mutex_unlock(&s->mu);
	do
		r = waitpid(s->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	pthread_mutex_lock(&s->mu);
	if (r < 0)
		snprintf(s->exit_text, sizeof(s->exit_text), "exited");
	else if (WIFEXITED(st))
		snprintf(s->exit_text, sizeof(s->exit_text), "exited (status %d)", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(s->exit_text, sizeof(s->exit_text), "exited (killed by signal %d)", WTERMSIG(st));
	else
		snprintf(s->exit_text, sizeof(s->exit_text), "exited");
	for (p = s->pending; p; p = p->next) {
		if (p->done)
			continue;
		p->done = 1;
		if (s->recycled)
			snprintf(p->fail, sizeof(p->fail),
				 "MCP server %s was restarted during the call (a cancelled call on it did not stop)",
				 s->conf->name);
		else
			snprintf(p->fail, sizeof(p->fail), "MCP server %s %s during the call", s->conf->name,
				 s->exit_text);
	}
	s->dead = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void *mcp_stdio_reader(void *arg)
{
	struct mcp_server *s = arg;
	struct line l = { .buf = { .max = mcp_message_max(s) } };
	char *buf = malloc(READ_CHUNK), errline[STDERR_LINE_MAX];
	size_t errlen = 0;
	int out_open = 1, err_open = 1, exited = 0;
	int64_t give_up = 0;

	while (buf && out_open) {
		struct pollfd fds[2] = { { .fd = s->out_fd, .events = POLLIN }, { .fd = err_open ? s->err_fd : -1, .events = POLLIN } };
		int stop;

		if (poll(fds, 2, POLL_MS) > 0) {
			if (fds[0].revents) {
				ssize_t n = read(s->out_fd, buf, READ_CHUNK);

				if (n > 0)
					stdout_data(s, &l, buf, (size_t)n);
				else if (n == 0 || (errno != EINTR && errno != EAGAIN))
					out_open = 0;
			}
			if (fds[1].revents) {
				ssize_t n = read(s->err_fd, buf, READ_CHUNK);

				if (n > 0)
					stderr_data(s, errline, &errlen, buf, (size_t)n);
				else if (n == 0 || (errno != EINTR && errno != EAGAIN))
					err_open = 0;
			}
		}
		if (!exited && leader_exited(s->pid)) {
			/* what it started may hold stdout open: its group goes too */
			exited = 1;
			kill(-s->pid, SIGKILL);
			give_up = vex_mono_us() + LEFTOVER_MS * 1000LL;
		}
		pthread_mutex_lock(&s->mu);
		stop = s->stop_reading;
		pthread_mutex_unlock(&s->mu);
		if (stop || (exited && vex_mono_us() >= give_up))
			break;
	}
	if (errlen)
		log_stderr(s, errline, errlen);
	reap(s);
	vex_buf_release(&l.buf);
	free(buf);
	return NULL;
}
