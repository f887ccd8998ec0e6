/* exec_command.c - one run of an operator command tool: pipes, progress, output, timeouts, kill, the result
 * (the child's side and its directory: cmd_spawn.c). */
#include "runner/exec_command.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/runas.h"
#include "runner/toolenv.h"
#include "core/base/timeutil.h"
#include "runner/cmd_spawn.h"

#define READ_CHUNK 16384
#define PREVIEW_BYTES 200    /* of invalid output, in the error message */
#define MESSAGE_TAIL 1000    /* of stderr, in the error message (all 4 KiB go to details) */
#define STEP_MAX 200         /* bytes of a progress current_step */
#define PROGRESS_MSG_MAX 1000 /* bytes of a progress message */

/* The parent's view of one run. */
struct run {
	struct vex_exec_ctx *ctx;
	const struct vex_cmd_tool *tool;
	pid_t pid;
	int pidfd;                  /* -1: exits are found by polling waitid */
	int in_fd, out_fd, err_fd, prog_fd, status_fd;
	const char *input;
	size_t input_len, input_off;
	struct vex_buf out;         /* stdout, at most out_max bytes */
	size_t out_max;
	int too_big;
	char err_tail[VEX_CMD_STDERR_TAIL]; /* ring of the last stderr bytes */
	size_t err_total;
	char line[VEX_CMD_PROGRESS_LINE_MAX];
	size_t line_len;
	int line_skip;              /* discarding an overlong line up to its newline */
	int quiet;                  /* stopping: progress is no longer reported */
	struct vex_progress prog;   /* merged reports */
	int reports;
	int step_given;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the parent's loop ---- */

/* Keeps the last VEX_CMD_STDERR_TAIL bytes of stderr in a ring. */
static void keep_stderr(struct run *r, const char *buf, size_t n)
{
	size_t i;

	if (n > VEX_CMD_STDERR_TAIL) {
		r->err_total += n - VEX_CMD_STDERR_TAIL;
		buf += n - VEX_CMD_STDERR_TAIL;
		n = VEX_CMD_STDERR_TAIL;
	}
	for (i = 0; i < n; i++)
		r->err_tail[(r->err_total + i) % VEX_CMD_STDERR_TAIL] = buf[i];
	r->err_total += n;
}

/* The kept stderr in order, into "dst" (capacity VEX_CMD_STDERR_TAIL); returns its length. */
static size_t stderr_tail(const struct run *r, char *dst)
{
	size_t n = r->err_total < VEX_CMD_STDERR_TAIL ? r->err_total : VEX_CMD_STDERR_TAIL;
	size_t start = r->err_total - n, i;

	for (i = 0; i < n; i++)
		dst[i] = r->err_tail[(start + i) % VEX_CMD_STDERR_TAIL];
	return n;
}

/* Length of the valid UTF-8 sequence at "s" (at most "n" bytes), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0)
		len = 2, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * "n" bytes of tool output made printable into "dst" (capacity "cap", NUL-terminated). Text
 * ("keep_text"): valid UTF-8, newlines and tabs kept. Otherwise printable ASCII but the backslash
 * kept. Every other byte becomes \xNN.
 */
static void printable(const char *src, size_t n, int keep_text, char *dst, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < n && o + 4 < cap) {
		size_t len = utf8_seq(s + i, n - i);
		unsigned char c = s[i];
		int keep;

		if (len == 1)
			keep = keep_text ? (c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t'
					 : c >= 0x20 && c != 0x7F && c != '\\';
		else
			keep = len > 1 && keep_text;
		if (keep && o + len < cap) {
			memcpy(dst + o, s + i, len);
			o += len;
			i += len;
		} else if (keep) {
			break;
		} else {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
			i++;
		}
	}
	dst[o] = '\0';
}

/* The last "n" bytes or fewer of "s", starting on a UTF-8 character boundary. */
static const char *last_bytes(const char *s, size_t n)
{
	size_t len = strlen(s);
	const char *p = len > n ? s + len - n : s;

	while (((unsigned char)*p & 0xC0) == 0x80)
		p++;
	return p;
}

/* Merges one progress line (a JSON object with any of current_step, total_steps, percentage,
 * message) into r->prog and reports it. 0, or VEX_EINVAL for a line to ignore. */
static int progress_line(struct run *r, const char *line, size_t len)
{
	struct vex_field_error fe;
	json_t *o = NULL, *step, *total, *pct, *msg;
	char num[24], *s = NULL, *m = NULL;
	int rc = VEX_EINVAL;

	if (vex_json_parse(line, len, &o, &fe) < 0 || !json_is_object(o))
		goto out;
	step = json_object_get(o, "current_step");
	total = json_object_get(o, "total_steps");
	pct = json_object_get(o, "percentage");
	msg = json_object_get(o, "message");
	if ((step && !(json_is_integer(step) || (json_is_string(step) && json_string_length(step) <= STEP_MAX))) ||
	    (total && !(json_is_integer(total) && json_integer_value(total) >= 0 &&
			json_integer_value(total) <= INT_MAX)) ||
	    (pct && !json_is_number(pct)) ||
	    (msg && !(json_is_string(msg) && json_string_length(msg) <= PROGRESS_MSG_MAX)) ||
	    (!step && !total && !pct && !msg))
		goto out;
	r->reports++;
	if (step) {
		if (json_is_integer(step))
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(step));
		s = strdup(json_is_integer(step) ? num : json_string_value(step));
		r->step_given = 1;
	} else if (!r->step_given) {
		/* the vex dialect shows progress once it has a step: count the reports */
		snprintf(num, sizeof(num), "%d", r->reports);
		s = strdup(num);
	}
	if (msg)
		m = strdup(json_string_value(msg));
	if ((!s && (step || !r->step_given)) || (!m && msg)) {
		rc = VEX_ENOMEM;
		goto out;
	}
	if (s) {
		free(r->prog.current_step);
		r->prog.current_step = s;
		s = NULL;
	}
	if (m) {
		free(r->prog.message);
		r->prog.message = m;
		m = NULL;
	}
	if (total)
		r->prog.total_steps = (int)json_integer_value(total);
	if (pct) {
		double v = json_number_value(pct);

		r->prog.percentage = v < 0 ? 0 : v > 100 ? 100 : v;
	} else if (r->prog.total_steps > 0 && r->prog.current_step) {
		/* no percentage given: from a numeric step of a known total */
		char *end;
		long long cur = strtoll(r->prog.current_step, &end, 10);

		if (*r->prog.current_step && *end == '\0' && cur >= 0 && cur <= r->prog.total_steps)
			r->prog.percentage = (double)((cur * 10000 + r->prog.total_steps / 2) / r->prog.total_steps) / 100.0;
	}
	r->ctx->progress(r->ctx, &r->prog);
	rc = 0;
out:
	json_decref(o);
	free(s);
	free(m);
	return rc;
}

/* Splits fd 3's bytes into lines; each complete line is one progress report. */
static void progress_bytes(struct run *r, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (r->line_skip)
				continue;
			if (r->line_len == sizeof(r->line)) {
				r->line_skip = 1;
				r->line_len = 0;
				vex_log(VEX_LOG_DEBUG, "progress line too long, ignored", "job_id", r->ctx->job->id,
					"tool", r->tool->name, NULL);
				continue;
			}
			r->line[r->line_len++] = buf[i];
			continue;
		}
		if (!r->line_skip && r->line_len > 0 && !r->quiet &&
		    progress_line(r, r->line, r->line_len) == VEX_EINVAL)
			vex_log(VEX_LOG_DEBUG, "bad progress line ignored", "job_id", r->ctx->job->id, "tool",
				r->tool->name, NULL);
		r->line_len = 0;
		r->line_skip = 0;
	}
}

/* Appends stdout bytes, up to out_max in all; beyond, marks too_big. */
static int keep_stdout(struct run *r, const char *buf, size_t n)
{
	int rc = vex_buf_add(&r->out, buf, n);

	if (rc == VEX_ETOOBIG) {
		r->too_big = 1;
		return 0;
	}
	return rc;
}

/* Reads what "*fd" has now (until EAGAIN, or once when "once"); closes it at EOF or on error. */
static int drain(struct run *r, int *fd, int once)
{
	char buf[READ_CHUNK];
	int rc;

	while (*fd >= 0) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close_fd(fd);
			return 0;
		}
		if (fd == &r->out_fd) {
			if ((rc = keep_stdout(r, buf, (size_t)n)) < 0)
				return rc;
			if (r->too_big)
				return 0;
		} else if (fd == &r->err_fd) {
			keep_stderr(r, buf, (size_t)n);
		} else {
			progress_bytes(r, buf, (size_t)n);
		}
		if (once)
			return 0;
	}
	return 0;
}

static void feed_stdin(struct run *r)
{
	while (r->in_fd >= 0 && r->input_off < r->input_len) {
		ssize_t n = write(r->in_fd, r->input + r->input_off, r->input_len - r->input_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* EPIPE: the tool does not read its arguments; that is its business */
			close_fd(&r->in_fd);
			return;
		}
		r->input_off += (size_t)n;
	}
	close_fd(&r->in_fd);
}

/* 1 when the tool's process has ended (left a zombie: its pid, hence its group id, stays ours). */
static int exited(struct run *r)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == r->pid;
}

/* One wait of at most "ms" on the pipes and the process, then everything that is ready. */
static int pump(struct run *r, int ms)
{
	struct pollfd pf[5];
	int *which[5];
	int n = 0, i, rc;

	if (r->in_fd >= 0) {
		pf[n] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
		which[n++] = &r->in_fd;
	}
	if (r->out_fd >= 0) {
		pf[n] = (struct pollfd){ .fd = r->out_fd, .events = POLLIN };
		which[n++] = &r->out_fd;
	}
	if (r->err_fd >= 0) {
		pf[n] = (struct pollfd){ .fd = r->err_fd, .events = POLLIN };
		which[n++] = &r->err_fd;
	}
	if (r->prog_fd >= 0) {
		pf[n] = (struct pollfd){ .fd = r->prog_fd, .events = POLLIN };
		which[n++] = &r->prog_fd;
	}
	if (r->pidfd >= 0) {
		pf[n] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
		which[n++] = &r->pidfd;
	}
	if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
		return VEX_EIO;
	for (i = 0; i < n; i++) {
		if (!pf[i].revents || which[i] == &r->pidfd)
			continue;
		if (which[i] == &r->in_fd) {
			if (pf[i].revents & (POLLERR | POLLHUP))
				close_fd(&r->in_fd);
			else
				feed_stdin(r);
			continue;
		}
		/* one read per wake on each pipe, so that a flood on one never starves the stop checks */
		if ((rc = drain(r, which[i], 1)) < 0)
			return rc;
	}
	return 0;
}

/* After a SIGTERM: keep the pipes moving until the process ends or the grace is over. */
static int wait_grace(struct run *r, int grace_ms)
{
	int64_t until = vex_mono_us() + (int64_t)grace_ms * 1000;
	int rc;

	r->quiet = 1;
	close_fd(&r->in_fd);
	while (!exited(r) && vex_mono_us() < until) {
		/* what a dying tool writes is not kept */
		vex_buf_reset(&r->out);
		r->too_big = 0;
		if ((rc = pump(r, VEX_EXEC_STOP_CHECK_MS)) < 0)
			return rc;
	}
	return 0;
}

/* Every process of the group gets SIGKILL, then the tool's own process is reaped. */
static void kill_and_reap(struct run *r, int *status)
{
	int st = 0;

	kill(-r->pid, SIGKILL);
	while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = st;
}

/* Stores the run's failure "code" with "msg" (made valid UTF-8: it may quote the tool) and
 * optional details (a JSON object we own). */
static int fail_with(struct vex_job *out, const char *code, const char *msg, json_t *details)
{
	size_t n = strlen(msg);
	char *clean = malloc(n * 4 + 1);
	int rc = VEX_ENOMEM;

	if (clean) {
		printable(msg, n, 1, clean, n * 4 + 1);
		rc = vex_exec_fail(out, code, clean);
		free(clean);
	}
	if (rc == 0 && details) {
		free(out->error_details_json);
		out->error_details_json = vex_json_dump(details);
		if (!out->error_details_json)
			rc = VEX_ENOMEM;
	}
	json_decref(details);
	return rc;
}

/* The outcome of a tool that ended by itself. */
static int conclude(struct run *r, int status, struct vex_job *out)
{
	char tail[VEX_CMD_STDERR_TAIL], tail_text[VEX_CMD_STDERR_TAIL * 4 + 1];
	char preview[PREVIEW_BYTES * 4 + 1], msg[MESSAGE_TAIL + 256];
	struct child_report cr;
	struct vex_field_error fe;
	json_t *v = NULL, *details;
	size_t n = stderr_tail(r, tail);
	ssize_t got;
	const char *sep;
	int rc;

	printable(tail, n, 1, tail_text, sizeof(tail_text));
	got = read(r->status_fd, &cr, sizeof(cr));
	if (got == (ssize_t)sizeof(cr)) {
		/* execve's EAGAIN: the user the tool runs as has limits.nproc processes already, all tools
		 * (and MCP servers, browsers) of that user together */
		snprintf(msg, sizeof(msg), "the tool could not be started: %s%s%.200s: %s%s", vex_cmd_step_name(cr.step),
			 cr.step == STEP_EXECVE ? " " : "", cr.step == STEP_EXECVE ? r->tool->argv[0] : "",
			 strerror(cr.err),
			 cr.step == STEP_EXECVE && cr.err == EAGAIN ?
				 " (its user already runs limits.nproc processes: raise limits.nproc in tools.json)" : "");
		return fail_with(out, "EXECUTION_ERROR", msg,
				 json_pack("{s:s,s:s}", "step", vex_cmd_step_name(cr.step), "reason", strerror(cr.err)));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (r->out.len == 0)
			return fail_with(out, "INVALID_OUTPUT",
					 "the tool printed nothing (a JSON result was expected on stdout)", NULL);
		if (vex_json_parse(r->out.p, r->out.len, &v, &fe) < 0) {
			printable(r->out.p, r->out.len < PREVIEW_BYTES ? r->out.len : PREVIEW_BYTES, 0, preview,
				  sizeof(preview));
			snprintf(msg, sizeof(msg), "the tool printed something that is not JSON: %s", preview);
			return fail_with(out, "INVALID_OUTPUT", msg, NULL);
		}
		out->result_json = vex_json_dump(v);
		json_decref(v);
		if (!out->result_json)
			return VEX_ENOMEM;
		out->status = VEX_JOB_COMPLETED;
		return 0;
	}
	/* the message carries the end of stderr (its last lines say why); details carry all 4 KiB */
	sep = n ? ": " : "";
	if (WIFEXITED(status)) {
		snprintf(msg, sizeof(msg), "the tool exited with status %d%s%.1000s", WEXITSTATUS(status), sep,
			 last_bytes(tail_text, MESSAGE_TAIL));
		details = json_pack("{s:i,s:n,s:s}", "exit_code", WEXITSTATUS(status), "signal", "stderr", tail_text);
	} else {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);

		snprintf(msg, sizeof(msg), "the tool was killed by signal %d (SIG%s%s)%s%.1000s", sig, abbrev ? abbrev : "?",
			 sig == SIGXCPU ? ": CPU time limit" : "", sep, last_bytes(tail_text, MESSAGE_TAIL));
		details = json_pack("{s:n,s:i,s:s}", "exit_code", "signal", sig, "stderr", tail_text);
	}
	rc = fail_with(out, "EXECUTION_ERROR", msg, details);
	return rc;
}

/* Starts the process: pipes, fork, the parent's ends non-blocking. 0 or a VEX_E code. */
static int start(struct run *r, struct spawn *sp)
{
	int p[5][2], i, rc = VEX_EIO;

	for (i = 0; i < 5; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < 5; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			goto out;
	/* child ends: read of stdin, write of stdout, stderr, progress; the status pipe's write end */
	sp->fds[0] = p[0][0];
	sp->fds[1] = p[1][1];
	sp->fds[2] = p[2][1];
	sp->fds[3] = p[3][1];
	sp->status_fd = p[4][1];
	r->pid = fork();
	if (r->pid < 0)
		goto out;
	if (r->pid == 0)
		vex_cmd_child(sp);
	/* both sides set the group, so that a kill(-pid) right after fork already reaches it */
	setpgid(r->pid, r->pid);
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	r->in_fd = p[0][1];
	r->out_fd = p[1][0];
	r->err_fd = p[2][0];
	r->prog_fd = p[3][0];
	r->status_fd = p[4][0];
	p[0][1] = p[1][0] = p[2][0] = p[3][0] = p[4][0] = -1;
	if (r->pidfd >= 0)
		fcntl(r->pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(r->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->err_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->prog_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->status_fd, F_SETFL, O_NONBLOCK);
	rc = 0;
out:
	for (i = 0; i < 5; i++) {
		close_fd(&p[i][0]);
		close_fd(&p[i][1]);
	}
	return rc;
}

int vex_exec_command_run(struct vex_exec_ctx *ctx, const struct vex_cmd_tool *tool, struct vex_job *out)
{
	const struct vex_config *cfg = ctx->cfg;
	struct run r = { .ctx = ctx, .tool = tool, .pid = -1, .pidfd = -1, .in_fd = -1, .out_fd = -1,
			 .err_fd = -1, .prog_fd = -1, .status_fd = -1 };
	struct spawn sp = { .tool = tool };
	char dir[PATH_MAX] = "", msg[PATH_MAX + 128];
	char **envp = NULL;
	int64_t own_deadline = 0;
	enum vex_stop why = VEX_STOP_NONE;
	int rc, status = 0, made_dir = 0;

	if (tool->timeout_ms > 0)
		own_deadline = vex_mono_us() + tool->timeout_ms * 1000;
	r.input = ctx->job->input_json ? ctx->job->input_json : "{}";
	r.input_len = strlen(r.input);
	r.out_max = cfg->tools_output_max;
	vex_buf_init(&r.out, r.out_max);
	rc = vex_cmd_make_dir(cfg, tool, dir, sizeof(dir));
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot create a private directory under %s: %s", cfg->tools_work_dir,
			 strerror(errno));
		vex_log(VEX_LOG_ERROR, "command tool not started", "job_id", ctx->job->id, "tool", tool->name, "error",
			msg, NULL);
		rc = vex_exec_fail(out, "EXECUTION_ERROR", msg);
		goto out;
	}
	made_dir = 1;
	/* the allow-listed minimum plus the tool's env/env_set: nothing else of the runner's */
	rc = vex_toolenv_build(dir, dir, tool->env, tool->envc, &envp);
	if (rc < 0)
		goto out;
	sp.envp = envp;
	sp.dir = dir;
	sp.max_fd = sysconf(_SC_OPEN_MAX) > 0 ? sysconf(_SC_OPEN_MAX) : 1024;
	vex_cmd_prepare_limits(&sp, &tool->limits);
	rc = start(&r, &sp);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot start the tool: %s", strerror(errno));
		rc = vex_exec_fail(out, "EXECUTION_ERROR", msg);
		goto out;
	}
	feed_stdin(&r);
	for (;;) {
		if ((rc = pump(&r, VEX_EXEC_STOP_CHECK_MS)) < 0)
			break;
		if (r.too_big || exited(&r))
			break;
		why = vex_exec_check(ctx);
		if (why == VEX_STOP_NONE && own_deadline && vex_mono_us() >= own_deadline) {
			why = ctx->stopped = VEX_STOP_TIMEOUT;
			/* the pool keeps this message: the limit that fired is the tool's, not the job's */
			snprintf(msg, sizeof(msg), "Tool execution exceeded %lldms timeout", (long long)tool->timeout_ms);
			vex_exec_fail(out, "EXECUTION_TIMEOUT", msg);
		}
		if (why != VEX_STOP_NONE)
			break;
	}
	if (rc < 0 || why != VEX_STOP_NONE) {
		vex_log(VEX_LOG_INFO, "stopping command tool", "job_id", ctx->job->id, "tool", tool->name, "reason",
			rc < 0 ? vex_strerror(rc) : vex_stop_name(why), NULL);
		kill(-r.pid, SIGTERM);
		wait_grace(&r, cfg->tools_kill_grace_ms);
		kill_and_reap(&r, &status);
		if (rc == 0)
			rc = VEX_ESTATE;
		goto out;
	}
	if (r.too_big) {
		kill_and_reap(&r, &status);
		snprintf(msg, sizeof(msg), "the tool wrote more than %zu bytes", r.out_max);
		rc = vex_exec_fail(out, "OUTPUT_TOO_LARGE", msg);
		goto out;
	}
	/* the process has ended: its children go with it; then what it wrote is all in the pipes */
	kill_and_reap(&r, &status);
	r.quiet = 0;
	while (r.out_fd >= 0 || r.err_fd >= 0 || r.prog_fd >= 0) {
		int before = (r.out_fd >= 0) + (r.err_fd >= 0) + (r.prog_fd >= 0);

		if ((rc = drain(&r, &r.out_fd, 0)) < 0 || (rc = drain(&r, &r.err_fd, 0)) < 0 ||
		    (rc = drain(&r, &r.prog_fd, 0)) < 0)
			goto out;
		if (r.too_big)
			break;
		/* a pipe still open here is held by a process SIGKILL has not ended yet (or one that left
		 * the group): everything the tool wrote is read, stop at EAGAIN */
		if (before == (r.out_fd >= 0) + (r.err_fd >= 0) + (r.prog_fd >= 0))
			break;
	}
	if (r.too_big) {
		snprintf(msg, sizeof(msg), "the tool wrote more than %zu bytes", r.out_max);
		rc = vex_exec_fail(out, "OUTPUT_TOO_LARGE", msg);
		goto out;
	}
	rc = conclude(&r, status, out);
out:
	close_fd(&r.in_fd);
	close_fd(&r.out_fd);
	close_fd(&r.err_fd);
	close_fd(&r.prog_fd);
	close_fd(&r.status_fd);
	close_fd(&r.pidfd);
	if (made_dir && vex_cmd_remove_dir(tool, dir) < 0)
		vex_log(VEX_LOG_WARN, "private directory not fully removed", "job_id", ctx->job->id, "tool",
			tool->name, "dir", dir, NULL);
	vex_toolenv_free(envp);
	vex_buf_release(&r.out);
	vex_progress_release(&r.prog);
	return rc;
}
