/* mcp_stdio.c - an MCP server over stdio: its process group, requests matched to responses by id (the reader
 * thread: mcp_stdio_reader.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/mcpmsg.h"
#include "runner/runas.h"
#include "core/base/timeutil.h"
#include "runner/toolenv.h"
#include "runner/mcp_conn.h"
#include "runner/mcp_stdio_reader.h"

#define CHILD_FD_HIGH 64     /* where the child parks its pipe ends before placing them at 0-2 */

/* Signals the server's process group while its leader is not reaped (a reaped pid could be reused).
 * Under s->mu. */
static void kill_group(struct mcp_server *s, int sig)
{
	if (s->pid > 0 && !s->dead && !s->reaping)
		kill(-s->pid, sig);
}

/* ---- starting ---- */

/* "name" looked up on the PATH the server will see (its env's, else VEX_TOOLENV_PATH). */
static int resolve_command(const struct vex_mcp_server_conf *c, char **ret, char *why, size_t whylen)
{
	const char *path = NULL, *p, *end;
	struct stat st;
	size_t i, cl = strlen(c->command);
	char *full;

	if (strchr(c->command, '/')) {
		if (stat(c->command, &st) < 0 || !S_ISREG(st.st_mode) || access(c->command, X_OK) < 0) {
			snprintf(why, whylen, "command %.200s is not an executable file", c->command);
			return VEX_EINVAL;
		}
		*ret = strdup(c->command);
		return *ret ? 0 : VEX_ENOMEM;
	}
	for (i = 0; i < c->nenv; i++)
		if (strncmp(c->env[i], "PATH=", 5) == 0)
			path = c->env[i] + 5;
	if (!path || !*path)
		path = VEX_TOOLENV_PATH;
	for (p = path; *p; p = *end ? end + 1 : end) {
		size_t dl;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		dl = (size_t)(end - p);
		if (dl == 0)
			continue;
		full = malloc(dl + 1 + cl + 1);
		if (!full)
			return VEX_ENOMEM;
		memcpy(full, p, dl);
		full[dl] = '/';
		memcpy(full + dl + 1, c->command, cl + 1);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			*ret = full;
			return 0;
		}
		free(full);
	}
	snprintf(why, whylen, "command %.200s not found on PATH", c->command);
	return VEX_EINVAL;
}

/* The server's value of "name" in its "env", or NULL. */
static const char *conf_env(const struct vex_mcp_server_conf *c, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < c->nenv; i++)
		if (strncmp(c->env[i], name, nl) == 0 && c->env[i][nl] == '=')
			return c->env[i] + nl + 1;
	return NULL;
}

/*
 * The allow-listed environment (runner/toolenv.h) plus the server's "env". HOME and TMPDIR: the
 * server's own when its env names them (the browser's session directory), else the private
 * directory "<work_dir>/mcp-<name>" (0700, kept between starts: npx and Playwright cache there).
 */
static int build_env(const struct mcp_server *s, char ***ret, char *why, size_t whylen)
{
	const struct vex_mcp_server_conf *c = s->conf;
	const struct vex_runas *ra = vex_runas_default();
	const char *home = conf_env(c, "HOME");
	char dir[PATH_MAX];
	int n;

	if (!home) {
		n = snprintf(dir, sizeof(dir), "%s/mcp-%s", s->cfg->tools_work_dir, c->name);
		if (n < 0 || (size_t)n >= sizeof(dir)) {
			snprintf(why, whylen, "the private directory's path is too long");
			return VEX_ETOOBIG;
		}
		if (vex_toolenv_workdir(s->cfg->tools_work_dir) < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
			snprintf(why, whylen, "cannot create the private directory %.200s: %s", dir, strerror(errno));
			return VEX_EIO;
		}
		if (ra && ra->user && chown(dir, ra->uid, ra->gid) < 0) {
			snprintf(why, whylen, "cannot give %.200s to the tools user: %s", dir, strerror(errno));
			return VEX_EIO;
		}
		home = dir;
	}
	return vex_toolenv_build(home, home, c->env, c->nenv, ret);
}

/* What failed in the child before execve ("step" is a static string: the same address in both). */
struct start_report {
	const char *step;
	int err;
};

static void __attribute__((noreturn)) child_fail(int fd, const char *step)
{
	struct start_report r = { step, errno };
	ssize_t w = write(fd, &r, sizeof(r));

	(void)w;
	_exit(127);
}

/*
 * Between fork and execve (async-signal-safe calls only): its own process group, default signal
 * dispositions and an empty mask (the runner blocks SIGTERM, ignores SIGPIPE), the three pipes
 * as 0-2 and nothing else open, then [tools] run_as with no capability left.
 */
static void __attribute__((noreturn)) child(const int fds[3], int status, const char *path, char **argv,
					    char **env)
{
	const char *what;
	int tmp[3], i;

	if (setpgid(0, 0) < 0)
		child_fail(status, "setpgid");
	vex_runas_reset_signals();
	status = fcntl(status, F_DUPFD_CLOEXEC, CHILD_FD_HIGH);
	if (status < 0)
		_exit(127);
	for (i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, CHILD_FD_HIGH)) < 0)
			child_fail(status, "setting up file descriptors");
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			child_fail(status, "setting up file descriptors");
	if (syscall(SYS_close_range, 3U, (unsigned int)status - 1, 0) < 0 ||
	    syscall(SYS_close_range, (unsigned int)status + 1, ~0U, 0) < 0)
		child_fail(status, "close_range");
	if (vex_runas_enter(vex_runas_default(), &what) < 0)
		child_fail(status, what);
	execve(path, argv, env);
	child_fail(status, "execve");
}


int mcp_stdio_open(struct mcp_server *s, char *why, size_t whylen)
{
	const struct vex_mcp_server_conf *c = s->conf;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int status[2] = { -1, -1 }, rc;
	struct start_report rep;
	ssize_t n;
	char *path = NULL, **argv = NULL, **env = NULL;
	pid_t pid;
	size_t i;

	rc = resolve_command(c, &path, why, whylen);
	if (rc < 0)
		goto out;
	rc = build_env(s, &env, why, whylen);
	if (rc < 0)
		goto out;
	argv = calloc(c->nargs + 2, sizeof(char *));
	if (!argv) {
		rc = VEX_ENOMEM;
		goto out;
	}
	argv[0] = c->command;
	for (i = 0; i < c->nargs; i++)
		argv[i + 1] = c->args[i];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	if (pipe2(status, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	if (pid == 0) {
		int fds[3] = { in[0], out[1], err[1] };

		child(fds, status[1], path, argv, env);
	}
	setpgid(pid, pid);
	close(status[1]);
	status[1] = -1;
	/* nothing to read: execve succeeded (the pipe closed on exec) */
	while ((n = read(status[0], &rep, sizeof(rep))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(rep)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(why, whylen, "cannot start %.200s: %s: %s", path, rep.step, strerror(rep.err));
		rc = VEX_EIO;
		goto out;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&s->mu);
	s->pid = pid;
	s->dead = s->stop_reading = s->recycled = s->reaping = 0;
	s->exit_text[0] = '\0';
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->write_mu);
	s->in_fd = in[1];
	pthread_mutex_unlock(&s->write_mu);
	s->out_fd = out[0];
	s->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
	if (pthread_create(&s->reader, NULL, mcp_stdio_reader, s) != 0) {
		snprintf(why, whylen, "cannot start the reader thread");
		mcp_stdio_close(s, 0);
		rc = VEX_ERROR;
		goto out;
	}
	s->reader_started = 1;
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	for (i = 0; i < 2; i++)
		if (status[i] >= 0)
			close(status[i]);
	free(path);
	free(argv);
	vex_toolenv_free(env);
	return rc;
}

/* ---- writing ---- */

/*
 * Writes "text" and a newline into the server's stdin. Before the first byte a stop of "w"'s job
 * returns VEX_ESTATE (nothing sent); once started, a line is finished or, if the server reads
 * nothing for mcp_init_timeout_ms, the server is killed (a half line would corrupt the stream).
 */
int mcp_stdio_write_line(struct mcp_server *s, const char *text, const struct mcp_wait *w, int64_t deadline_us)
{
	size_t len = strlen(text), off = 0;
	int64_t give_up = vex_mono_us() + (int64_t)s->cfg->mcp_init_timeout_ms * 1000;
	int rc = 0;

	pthread_mutex_lock(&s->write_mu);
	if (s->in_fd < 0) {
		rc = VEX_EIO;
		goto out;
	}
	while (off < len + 1) {
		const char *p = off < len ? text + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t r = write(s->in_fd, p, n);
		struct pollfd pf = { .fd = s->in_fd, .events = POLLOUT };

		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN) {
			rc = VEX_EIO; /* EPIPE: it exited; the reader will say how */
			goto out;
		}
		if (off == 0 && w && w->ctx && vex_exec_check(w->ctx) != VEX_STOP_NONE) {
			rc = VEX_ESTATE;
			goto out;
		}
		if (off == 0 && deadline_us && vex_mono_us() >= deadline_us) {
			rc = VEX_EBUSY;
			goto out;
		}
		if (vex_mono_us() >= give_up) {
			pthread_mutex_lock(&s->mu);
			s->recycled = 1;
			kill_group(s, SIGKILL);
			pthread_mutex_unlock(&s->mu);
			vex_log(VEX_LOG_WARN, "MCP server does not read its input: killed", "server", s->conf->name, NULL);
			rc = VEX_EIO;
			goto out;
		}
		poll(&pf, 1, VEX_EXEC_STOP_CHECK_MS);
	}
out:
	pthread_mutex_unlock(&s->write_mu);
	return rc;
}

int mcp_stdio_notify(struct mcp_server *s, const char *method, json_t *params, int64_t deadline_us)
{
	char *text = vex_rpc_notification(method, params);
	int rc;

	if (!text)
		return VEX_ENOMEM;
	rc = mcp_stdio_write_line(s, text, NULL, deadline_us);
	free(text);
	return rc;
}

/* ---- requests ---- */

static void unlink_pending(struct mcp_server *s, struct mcp_pending *p)
{
	struct mcp_pending **pp;

	for (pp = &s->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	json_decref(p->response);
	p->response = NULL;
	vex_progress_release(&p->progress);
}

/* Links "p" with a new id; VEX_EIO when the server is not running. Under s->mu. */
static int link_pending(struct mcp_server *s, struct mcp_pending *p)
{
	/* A recycled server was killed and is being reaped: a call sent now would only fail with it. */
	if (s->dead || s->recycled || s->pid <= 0)
		return VEX_EIO;
	p->id = ++s->next_id;
	p->next = s->pending;
	s->pending = p;
	return 0;
}

static void wait_ms(struct mcp_server *s, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cond, &s->mu, &ts);
}

/*
 * The job stopped while "call" waited: tell the server (notifications/cancelled), then ping it.
 * Within the grace period a response to the call, or to the ping, shows the server is not stuck
 * and it stays; otherwise it is killed (restarted on next use). Unlinks "call".
 */
static void cancel_call(struct mcp_server *s, struct mcp_pending *call, const struct mcp_wait *w)
{
	struct mcp_pending ping = { 0 };
	int64_t end = vex_mono_us() + (int64_t)s->cfg->tools_kill_grace_ms * 1000;
	json_t *params = json_pack("{s:I,s:s}", "requestId", (json_int_t)call->id, "reason",
				   mcp_stop_reason(w->ctx->stopped));
	char *text = NULL;
	int sent_ping = 0, alive;

	mcp_stdio_notify(s, "notifications/cancelled", params, end);
	pthread_mutex_lock(&s->mu);
	if (link_pending(s, &ping) == 0) {
		pthread_mutex_unlock(&s->mu);
		text = vex_rpc_request(ping.id, "ping", NULL);
		sent_ping = text && mcp_stdio_write_line(s, text, NULL, end) == 0;
		free(text);
		pthread_mutex_lock(&s->mu);
		if (!sent_ping)
			unlink_pending(s, &ping);
	}
	while (!call->done && !(sent_ping && ping.done) && !s->dead && vex_mono_us() < end)
		wait_ms(s, VEX_EXEC_STOP_CHECK_MS);
	alive = call->done || (sent_ping && ping.done && ping.response) || s->dead;
	if (!alive) {
		s->recycled = 1;
		kill_group(s, SIGKILL);
	}
	unlink_pending(s, call);
	if (sent_ping)
		unlink_pending(s, &ping);
	pthread_mutex_unlock(&s->mu);
	if (!alive)
		vex_log(VEX_LOG_WARN, "MCP server did not stop a cancelled call: restarting it", "server",
			s->conf->name, "job_id", w->ctx->job->id, NULL);
}

int mcp_stdio_request(struct mcp_server *s, const char *method, json_t *params, const struct mcp_wait *w,
		      json_t **ret, char *why, size_t whylen)
{
	struct mcp_pending p = { 0 };
	char *text;
	int rc;

	p.token = w->token;
	pthread_mutex_lock(&s->mu);
	rc = link_pending(s, &p);
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		/* it died since the caller looked: nothing was sent, the caller may wait for a restart */
		json_decref(params);
		snprintf(why, whylen, "MCP server %s is not running", s->conf->name);
		return VEX_ENOTFOUND;
	}
	text = vex_rpc_request(p.id, method, params);
	rc = text ? mcp_stdio_write_line(s, text, w, w->deadline_us) : VEX_ENOMEM;
	free(text);
	pthread_mutex_lock(&s->mu);
	if (rc == VEX_EIO) {
		/* it exited (EPIPE) or was killed: the reader will say how, shortly */
		int64_t end = vex_mono_us() + 1000000;

		while (!p.done && vex_mono_us() < end)
			wait_ms(s, VEX_EXEC_STOP_CHECK_MS);
		if (p.done && p.fail[0])
			snprintf(why, whylen, "%s", p.fail);
		else
			snprintf(why, whylen, "MCP server %s does not take its input", s->conf->name);
	}
	if (rc < 0) {
		unlink_pending(s, &p);
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	for (;;) {
		if (p.has_progress && w->ctx) {
			struct vex_progress pr = p.progress;

			memset(&p.progress, 0, sizeof(p.progress));
			p.has_progress = 0;
			pthread_mutex_unlock(&s->mu);
			w->ctx->progress(w->ctx, &pr);
			vex_progress_release(&pr);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (p.done)
			break;
		if (w->ctx) {
			pthread_mutex_unlock(&s->mu);
			if (vex_exec_check(w->ctx) != VEX_STOP_NONE) {
				cancel_call(s, &p, w);
				return VEX_ESTATE;
			}
			pthread_mutex_lock(&s->mu);
		} else if (w->deadline_us && vex_mono_us() >= w->deadline_us) {
			unlink_pending(s, &p);
			pthread_mutex_unlock(&s->mu);
			snprintf(why, whylen, "MCP server %s did not answer %s in time", s->conf->name, method);
			return VEX_EBUSY;
		}
		if (!p.done && !p.has_progress)
			wait_ms(s, VEX_EXEC_STOP_CHECK_MS);
	}
	if (p.response) {
		*ret = p.response;
		p.response = NULL;
		rc = 0;
	} else if (p.toobig) {
		snprintf(why, whylen, "MCP server %s answered %s with a message over %zu bytes", s->conf->name, method,
			 mcp_message_max(s));
		rc = VEX_ETOOBIG;
	} else {
		snprintf(why, whylen, "%s", p.fail);
		rc = VEX_EIO;
	}
	unlink_pending(s, &p);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- stopping ---- */

/* Waits up to "ms" for the reader to see the end. Under s->mu. */
static int wait_dead(struct mcp_server *s, int ms)
{
	int64_t end = vex_mono_us() + (int64_t)ms * 1000;

	while (!s->dead && vex_mono_us() < end)
		wait_ms(s, 10);
	return s->dead;
}

void mcp_stdio_close(struct mcp_server *s, int graceful)
{
	int grace = s->cfg->tools_kill_grace_ms;

	if (s->reader_started) {
		if (graceful) {
			/* the stdio shutdown of the MCP lifecycle: end of input first, then signals */
			pthread_mutex_lock(&s->write_mu);
			if (s->in_fd >= 0)
				close(s->in_fd);
			s->in_fd = -1;
			pthread_mutex_unlock(&s->write_mu);
		}
		pthread_mutex_lock(&s->mu);
		if (graceful && !wait_dead(s, grace / 2))
			kill_group(s, SIGTERM);
		if (graceful && !wait_dead(s, grace / 2))
			kill_group(s, SIGKILL);
		if (!graceful)
			kill_group(s, SIGKILL);
		if (!wait_dead(s, 3000))
			s->stop_reading = 1;
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->reader, NULL);
		s->reader_started = 0;
	} else if (s->pid > 0) {
		/* started, but its reader never ran */
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	pthread_mutex_lock(&s->write_mu);
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
	pthread_mutex_unlock(&s->write_mu);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->out_fd = s->err_fd = -1;
	pthread_mutex_lock(&s->mu);
	s->pid = 0;
	pthread_mutex_unlock(&s->mu);
}

/* Killed for a stuck call (recycled) counts as lost at once, before its reader has reaped it: a job
 * arriving in between waits for the restart instead of joining the dying server's calls. */
static int stdio_lost(const struct mcp_server *s)
{
	return s->dead || s->recycled || s->pid <= 0;
}

static int stdio_held(const struct mcp_server *s)
{
	return s->pid > 0;
}

const struct mcp_transport mcp_stdio_transport = {
	.open = mcp_stdio_open,
	.request = mcp_stdio_request,
	.notify = mcp_stdio_notify,
	.close = mcp_stdio_close,
	.lost = stdio_lost,
	.held = stdio_held,
};
