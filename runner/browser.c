/* browser.c - a browser session for one agent job: Playwright's MCP server over stdio, held to one origin. */
#include "runner/browser.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/runas.h"
#include "runner/mcpmsg.h"
#include "core/hooks/netguard.h"
#include "core/base/timeutil.h"
#include "runner/toolenv.h"
#include "core/base/version.h"
#include "runner/browser_proxy.h"
#include "runner/mcp_conn.h"

#define CALL_WAIT_US (120LL * 1000000) /* a call without a job (tests) gives up after this */
#define SWEEP_READ_MAX (256 * 1024)    /* bytes of /proc/<pid>/environ or cmdline searched */
#define NARGS 17
#define NENV 5

/* Tools never offered: they run code in the page or the server, or reach local files. */
static const char *const denied[] = { "browser_evaluate", "browser_run_code_unsafe", "browser_file_upload",
				      "browser_drop", NULL };

struct vex_browser {
	const struct vex_config *cfg;
	struct vex_mcp_server_conf conf;  /* the ad-hoc server: strings below are owned */
	char *args[NARGS + 1];
	char *env[NENV + 1];
	struct mcp_server srv;
	int srv_init;                     /* srv's mutexes and cond exist */
	char dir[4096];                   /* the private directory; "" when none was made */
	char origin[VEX_BROWSER_ORIGIN_MAX];
	struct vex_netguard_addrs addrs;  /* where the origin's host resolved at open: checked, pinned */
	struct vex_browser_proxy *proxy;  /* the only way out of the browser (runner/browser_proxy.c) */
	int proxy_port;
	json_t *tools;                    /* offered tools: [{"fn","name","description","inputSchema"}] */
	int steps;
	unsigned long long calls;
	int64_t opened_us;                /* CLOCK_MONOTONIC */
};

/* ---- origins ---- */

int vex_browser_origin(const char *url, char *ret, size_t retlen)
{
	const char *p, *host, *end, *colon = NULL, *q;
	char buf[VEX_BROWSER_ORIGIN_MAX];
	size_t i, n = 0, hl;
	int https;
	long port = -1;

	if (!url)
		return VEX_EINVAL;
	if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		host = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		host = url + 8;
	} else {
		return VEX_EINVAL;
	}
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@' || *p == '\\' || (unsigned char)*p <= ' ')
			return VEX_EINVAL;
	/* [v6]:port or host:port */
	if (*host == '[') {
		q = memchr(host, ']', (size_t)(end - host));
		if (!q)
			return VEX_EINVAL;
		if (q + 1 < end) {
			if (q[1] != ':')
				return VEX_EINVAL;
			colon = q + 1;
		}
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
	}
	hl = (size_t)((colon ? colon : end) - host);
	if (hl == 0 || hl >= sizeof(buf) - 32)
		return VEX_EINVAL;
	if (colon) {
		char *e;

		if (colon + 1 == end)
			return VEX_EINVAL;
		for (q = colon + 1; q < end; q++)
			if (!isdigit((unsigned char)*q))
				return VEX_EINVAL;
		errno = 0;
		port = strtol(colon + 1, &e, 10);
		if (errno || e != end || port < 1 || port > 65535)
			return VEX_EINVAL;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%s://", https ? "https" : "http");
	for (i = 0; i < hl; i++)
		buf[n++] = (char)tolower((unsigned char)host[i]);
	buf[n] = '\0';
	if (port > 0 && port != (https ? 443 : 80))
		snprintf(buf + n, sizeof(buf) - n, ":%ld", port);
	if (strlen(buf) >= retlen)
		return VEX_EINVAL;
	memcpy(ret, buf, strlen(buf) + 1);
	return 0;
}

/* ---- the private directory and what runs from it ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* 1 when /proc/<pid>/<what> contains "needle". */
static int proc_mentions(const char *pid, const char *what, const char *needle)
{
	char path[64], *buf;
	ssize_t n;
	size_t got = 0;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	buf = malloc(SWEEP_READ_MAX);
	while (buf && got < SWEEP_READ_MAX && (n = read(fd, buf + got, SWEEP_READ_MAX - got)) > 0)
		got += (size_t)n;
	if (buf)
		found = memmem(buf, got, needle, strlen(needle)) != NULL;
	free(buf);
	close(fd);
	return found;
}

/*
 * SIGKILL to every process that carries the session's marker in its environment or names its
 * directory on its command line: chromium runs in a process group of its own, so killing the
 * server's group does not reach it. Repeated while any is found (a dying parent may fork).
 */
static void sweep(const struct vex_browser *b)
{
	char marker[sizeof(b->dir) + 32];
	pid_t self = getpid();
	int round;

	snprintf(marker, sizeof(marker), "VEX_BROWSER_SESSION=%s", b->dir);
	for (round = 0; round < 20; round++) {
		struct timespec ts = { 0, 50 * 1000000L };
		struct dirent *e;
		DIR *d = opendir("/proc");
		int found = 0;

		if (!d)
			return;
		while ((e = readdir(d)) != NULL) {
			char *end;
			long pid;

			errno = 0;
			pid = strtol(e->d_name, &end, 10);
			if (errno || *end || pid <= 1 || pid == (long)self)
				continue;
			if (proc_mentions(e->d_name, "environ", marker) || proc_mentions(e->d_name, "cmdline", b->dir)) {
				if (kill((pid_t)pid, SIGKILL) == 0)
					found++;
			}
		}
		closedir(d);
		if (!found)
			return;
		nanosleep(&ts, NULL);
	}
}

/* "<work_dir>/browser-XXXXXX" (0700) with output/ and tmp/ inside. */
static int make_dir(struct vex_browser *b, char *why, size_t whylen)
{
	const struct vex_runas *ra = vex_runas_default();
	char sub[sizeof(b->dir) + 16];
	int n;

	if (vex_toolenv_workdir(b->cfg->tools_work_dir) < 0) {
		snprintf(why, whylen, "cannot create %s: %s", b->cfg->tools_work_dir, strerror(errno));
		return VEX_EIO;
	}
	n = snprintf(b->dir, sizeof(b->dir), "%s/browser-XXXXXX", b->cfg->tools_work_dir);
	if (n < 0 || (size_t)n >= sizeof(b->dir) - 16) {
		b->dir[0] = '\0';
		snprintf(why, whylen, "[tools] work_dir is too long");
		return VEX_EINVAL;
	}
	if (!mkdtemp(b->dir)) {
		snprintf(why, whylen, "cannot create a private directory under %s: %s", b->cfg->tools_work_dir,
			 strerror(errno));
		b->dir[0] = '\0';
		return VEX_EIO;
	}
	snprintf(sub, sizeof(sub), "%s/output", b->dir);
	if (mkdir(sub, 0700) < 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/tmp", b->dir);
	if (mkdir(sub, 0700) < 0)
		goto fail;
	/* the server runs as [tools] run_as: the session directory is its home */
	if (ra && ra->user) {
		snprintf(sub, sizeof(sub), "%s/output", b->dir);
		if (chown(b->dir, ra->uid, ra->gid) < 0 || chown(sub, ra->uid, ra->gid) < 0)
			goto fail;
		snprintf(sub, sizeof(sub), "%s/tmp", b->dir);
		if (chown(sub, ra->uid, ra->gid) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(why, whylen, "cannot create %s: %s", sub, strerror(errno));
	return VEX_EIO;
}

/* ---- the server ---- */

static char *joined(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/*
 * Chromium switches that leave the proxy no way around it: no QUIC, WebRTC without UDP of its own,
 * no name resolution of its own (every host is the proxy's business), loopback proxied too.
 */
static const char browser_config[] =
	"{\"browser\":{\"launchOptions\":{\"args\":["
	"\"--disable-quic\","
	"\"--force-webrtc-ip-handling-policy=disable_non_proxied_udp\","
	"\"--webrtc-ip-handling-policy=disable_non_proxied_udp\","
	"\"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1\","
	"\"--proxy-bypass-list=<-loopback>\","
	"\"--dns-prefetch-disable\""
	"]}}}\n";

/* --proxy-server <the session's proxy> --proxy-bypass <-loopback> --config <dir>/browser.json */
static int proxy_args(struct vex_browser *b, size_t *i)
{
	char url[64], *path = joined(b->dir, "/browser.json");
	size_t n = sizeof(browser_config) - 1;
	int fd, rc = VEX_EIO;

	if (!path)
		return VEX_ENOMEM;
	/* 0644 past the umask (027): the server reads it as [tools] run_as */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0 && fchmod(fd, 0644) == 0 && write(fd, browser_config, n) == (ssize_t)n)
		rc = 0;
	if (fd >= 0 && close(fd) < 0)
		rc = VEX_EIO;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", b->proxy_port);
	b->args[(*i)++] = strdup("--proxy-server");
	b->args[(*i)++] = strdup(url);
	b->args[(*i)++] = strdup("--proxy-bypass");
	b->args[(*i)++] = strdup("<-loopback>");
	b->args[(*i)++] = strdup("--config");
	b->args[(*i)++] = path;
	for (n = 0; n < *i; n++)
		if (!b->args[n])
			return VEX_ENOMEM;
	return rc;
}

/* The command line and environment of the server. */
static int make_conf(struct vex_browser *b)
{
	const char *fixed[] = { "--headless", "--isolated", "--no-sandbox", "--executable-path", b->cfg->browser_chromium,
				"--allowed-origins", b->origin, "--output-dir", NULL };
	size_t i;
	int rc;

	for (i = 0; fixed[i]; i++)
		if (!(b->args[i] = strdup(fixed[i])))
			return VEX_ENOMEM;
	if (!(b->args[i++] = joined(b->dir, "/output")))
		return VEX_ENOMEM;
	rc = proxy_args(b, &i);
	if (rc < 0)
		return rc;
	b->conf.nargs = i;
	if (!(b->env[0] = joined("HOME=", b->dir)) || !(b->env[1] = joined("VEX_BROWSER_SESSION=", b->dir)))
		return VEX_ENOMEM;
	b->env[2] = malloc(strlen(b->dir) + 16);
	if (!b->env[2])
		return VEX_ENOMEM;
	snprintf(b->env[2], strlen(b->dir) + 16, "TMPDIR=%s/tmp", b->dir);
	b->conf.nenv = 3;
	b->conf.name = "browser";
	b->conf.command = b->cfg->browser_mcp_command;
	b->conf.args = b->args;
	b->conf.env = b->env;
	return 0;
}

static int denied_tool(const char *name)
{
	size_t i;

	for (i = 0; denied[i]; i++)
		if (strcmp(denied[i], name) == 0)
			return 1;
	return 0;
}

/* A function name for "tool": browser_x -> browser__x, other -> browser__other; NULL when unfit. */
static char *function_name(const char *tool)
{
	const char *rest = strncmp(tool, "browser_", 8) == 0 ? tool + 8 : tool;
	size_t i;

	if (!*rest || strlen(VEX_BROWSER_FN_PREFIX) + strlen(rest) > 64)
		return NULL;
	for (i = 0; rest[i]; i++)
		if (!isalnum((unsigned char)rest[i]) && rest[i] != '_' && rest[i] != '-')
			return NULL;
	return joined(VEX_BROWSER_FN_PREFIX, rest);
}

/* Keeps the offered tools of one tools/list response. */
static int keep_tools(struct vex_browser *b, const json_t *resp, char *why, size_t whylen)
{
	const json_t *list = json_object_get(json_object_get(resp, "result"), "tools"), *t;
	size_t i;

	if (!json_is_array(list)) {
		snprintf(why, whylen, "the browser server answered tools/list without a tool list");
		return VEX_EIO;
	}
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		json_t *schema = json_object_get(t, "inputSchema"), *desc = json_object_get(t, "description");
		char *fn;
		json_t *row;

		if (!name || denied_tool(name))
			continue;
		fn = function_name(name);
		if (!fn)
			continue;
		schema = json_is_object(schema) ? json_incref(schema) : json_pack("{s:s}", "type", "object");
		row = json_pack("{s:s,s:s,s:s,s:o}", "fn", fn, "name", name, "description",
				json_is_string(desc) ? json_string_value(desc) : "", "inputSchema", schema);
		free(fn);
		if (!row || json_array_append_new(b->tools, row) < 0)
			return VEX_ENOMEM;
	}
	return 0;
}

static int init_server(struct vex_browser *b, char *why, size_t whylen)
{
	int64_t deadline = vex_mono_us() + (int64_t)b->cfg->mcp_init_timeout_ms * 1000;
	struct mcp_wait w = { .deadline_us = deadline };
	json_t *resp = NULL, *params;
	int rc;

	params = vex_mcp_initialize_params(VEX_VERSION);
	rc = params ? mcp_stdio_request(&b->srv, "initialize", params, &w, &resp, why, whylen) : VEX_ENOMEM;
	if (rc == 0)
		rc = vex_mcp_initialize_check(resp, why, whylen);
	json_decref(resp);
	resp = NULL;
	if (rc == 0 && mcp_stdio_notify(&b->srv, "notifications/initialized", NULL, deadline) < 0) {
		snprintf(why, whylen, "the browser server did not take notifications/initialized");
		rc = VEX_EIO;
	}
	if (rc == 0)
		rc = mcp_stdio_request(&b->srv, "tools/list", NULL, &w, &resp, why, whylen);
	if (rc == 0)
		rc = keep_tools(b, resp, why, whylen);
	json_decref(resp);
	return rc == VEX_ENOMEM || rc == 0 ? rc : VEX_EIO;
}

int vex_browser_open(const struct vex_config *cfg, const char *base_url, struct vex_exec_ctx *ctx,
		     struct vex_browser **ret, char *why, size_t whylen)
{
	struct vex_browser *b = NULL;
	pthread_condattr_t ca;
	int rc;

	why[0] = '\0';
	if (!cfg->browser_mcp_command) {
		snprintf(why, whylen, "no browser is configured ([browser] mcp_command)");
		return VEX_EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return VEX_ENOMEM;
	b->cfg = cfg;
	b->opened_us = vex_mono_us();
	if (vex_browser_origin(base_url, b->origin, sizeof(b->origin)) < 0) {
		snprintf(why, whylen, "base_url \"%.200s\" is not an http(s) URL with a host", base_url ? base_url : "");
		rc = VEX_EINVAL;
		goto out;
	}
	/* The host resolved once, here, every address checked; the proxy connects only to these. */
	rc = vex_netguard_resolve(b->origin, cfg->browser_allow_private, "[browser] allow_private", &b->addrs, why,
				  whylen);
	if (rc < 0) {
		char cause[256];

		snprintf(cause, sizeof(cause), "%s", why);
		snprintf(why, whylen, "base_url refused: %s", cause);
		rc = VEX_EINVAL;
		goto out;
	}
	b->tools = json_array();
	if (!b->tools) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = make_dir(b, why, whylen);
	if (rc < 0)
		goto out;
	rc = vex_browser_proxy_open(b->origin, &b->addrs, &b->proxy, &b->proxy_port);
	if (rc < 0) {
		snprintf(why, whylen, "cannot start the browser's proxy: %s", vex_strerror(rc));
		goto out;
	}
	rc = make_conf(b);
	if (rc < 0)
		goto out;
	b->srv.conf = &b->conf;
	b->srv.cfg = cfg;
	b->srv.in_fd = b->srv.out_fd = b->srv.err_fd = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&b->srv.mu, NULL);
	pthread_mutex_init(&b->srv.write_mu, NULL);
	pthread_cond_init(&b->srv.cond, &ca);
	pthread_condattr_destroy(&ca);
	b->srv_init = 1;
	if (ctx && vex_exec_check(ctx) != VEX_STOP_NONE) {
		rc = VEX_ESTATE;
		goto out;
	}
	rc = mcp_stdio_open(&b->srv, why, whylen);
	if (rc < 0)
		goto out;
	rc = init_server(b, why, whylen);
	if (rc == 0 && ctx && vex_exec_check(ctx) != VEX_STOP_NONE)
		rc = VEX_ESTATE;
out:
	if (rc < 0) {
		if (!why[0])
			snprintf(why, whylen, "%s", vex_strerror(rc));
		vex_browser_close(b);
		return rc;
	}
	*ret = b;
	return 0;
}

/* ---- tools ---- */

int vex_browser_functions(const struct vex_browser *b, json_t *functions)
{
	const json_t *t;
	size_t i;

	json_array_foreach(b->tools, i, t) {
		json_t *f = json_pack("{s:s,s:{s:O,s:O,s:O}}", "type", "function", "function", "name",
				      json_object_get(t, "fn"), "description", json_object_get(t, "description"),
				      "parameters", json_object_get(t, "inputSchema"));

		if (!f || json_array_append_new(functions, f) < 0)
			return VEX_ENOMEM;
	}
	return 0;
}

static const char *tool_of(const struct vex_browser *b, const char *function)
{
	const json_t *t;
	size_t i;

	if (!b || !function)
		return NULL;
	json_array_foreach(b->tools, i, t)
		if (strcmp(json_string_value(json_object_get(t, "fn")), function) == 0)
			return json_string_value(json_object_get(t, "name"));
	return NULL;
}

int vex_browser_has(const struct vex_browser *b, const char *function)
{
	return tool_of(b, function) != NULL;
}

#define CUT_NOTE "\n[output cut]"

/* Appends "n" bytes of "p" to "t", at most "max" bytes in all (*cut set past it). */
static int add_text(struct vex_buf *t, size_t max, const char *p, size_t n, int *cut)
{
	if (t->len + n > max) {
		n = max - t->len;
		*cut = 1;
	}
	return vex_buf_add(t, p, n);
}

/* What the model reads of a tools/call response: its text items, images and resources named. */
static int result_text(const struct vex_browser *b, const json_t *resp, char **ret, int *ret_is_error)
{
	const json_t *res = json_object_get(resp, "result"), *err = json_object_get(resp, "error"), *c;
	size_t max = b->cfg->tools_output_max, i;
	struct vex_buf text;
	char note[160], *t;
	int cut = 0, rc = 0;

	if (!json_is_object(res)) {
		const char *m = json_string_value(json_object_get(err, "message"));

		snprintf(note, sizeof(note), "browser error: %.120s", m ? m : "no result");
		t = strdup(note);
		if (!t)
			return VEX_ENOMEM;
		*ret = t;
		*ret_is_error = 1;
		return 0;
	}
	vex_buf_init(&text, max + sizeof(CUT_NOTE));
	json_array_foreach(json_object_get(res, "content"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type")), *s = NULL;

		if (cut)
			break;
		if (text.len && (rc = add_text(&text, max, "\n", 1, &cut)) < 0)
			goto out;
		if (type && strcmp(type, "text") == 0)
			s = json_string_value(json_object_get(c, "text"));
		else {
			const char *mime = json_string_value(json_object_get(c, "mimeType"));

			snprintf(note, sizeof(note), "[%.20s %.80s omitted]", type ? type : "item", mime ? mime : "");
			s = note;
		}
		if (s && (rc = add_text(&text, max, s, strlen(s), &cut)) < 0)
			goto out;
	}
	if (cut && (rc = vex_buf_add(&text, CUT_NOTE, sizeof(CUT_NOTE) - 1)) < 0)
		goto out;
	t = vex_buf_steal(&text, NULL);
	if (!t) {
		rc = VEX_ENOMEM;
		goto out;
	}
	*ret = t;
	*ret_is_error = json_is_true(json_object_get(res, "isError"));
out:
	vex_buf_release(&text);
	return rc;
}

/* A navigation elsewhere than the session's origin: the refusal text, else NULL. */
static char *refused(const struct vex_browser *b, const char *tool, const json_t *args)
{
	const char *url = json_string_value(json_object_get(args, "url"));
	char origin[VEX_BROWSER_ORIGIN_MAX], *msg;
	size_t n;

	if (strcmp(tool, "browser_navigate") != 0 && !(strcmp(tool, "browser_tabs") == 0 && url))
		return NULL;
	if (url && vex_browser_origin(url, origin, sizeof(origin)) == 0 && strcmp(origin, b->origin) == 0)
		return NULL;
	n = strlen(b->origin) + 128;
	msg = malloc(n);
	if (msg)
		snprintf(msg, n, "navigation refused: this browser may only open pages of %s", b->origin);
	return msg;
}

int vex_browser_call(struct vex_browser *b, struct vex_exec_ctx *ctx, const char *function,
		     const char *arguments_json, char **ret_text, int *ret_is_error, char *why, size_t whylen)
{
	const char *tool = tool_of(b, function);
	char token[64], *text = NULL;
	struct mcp_wait w = { .ctx = ctx, .token = token };
	json_t *params = NULL, *resp = NULL;
	int bad = 0, rc;

	why[0] = '\0';
	if (!tool) {
		snprintf(why, whylen, "no browser tool %.100s", function ? function : "");
		return VEX_EINVAL;
	}
	snprintf(token, sizeof(token), "browser/%llu", ++b->calls);
	if (!ctx)
		w.deadline_us = vex_mono_us() + CALL_WAIT_US;
	params = vex_mcp_call_params(tool, arguments_json, token, &bad);
	if (!params) {
		if (bad)
			snprintf(why, whylen, "arguments must be a JSON object");
		return bad ? VEX_EINVAL : VEX_ENOMEM;
	}
	if (ctx && vex_mcp_call_trace(params, ctx->job->traceparent) != 0) {
		json_decref(params);
		return VEX_ENOMEM;
	}
	text = refused(b, tool, json_object_get(params, "arguments"));
	if (text) {
		*ret_text = text;
		*ret_is_error = 1;
		rc = 0;
		goto out;
	}
	b->steps++;
	rc = mcp_stdio_request(&b->srv, "tools/call", params, &w, &resp, why, whylen);
	params = NULL;
	if (rc == VEX_ENOTFOUND || rc == VEX_ETOOBIG || rc == VEX_EBUSY)
		rc = VEX_EIO;
	if (rc == 0)
		rc = result_text(b, resp, ret_text, ret_is_error);
out:
	json_decref(params);
	json_decref(resp);
	return rc;
}

int vex_browser_steps(const struct vex_browser *b)
{
	return b ? b->steps : 0;
}

const char *vex_browser_dir(const struct vex_browser *b)
{
	return b->dir;
}

double vex_browser_close(struct vex_browser *b)
{
	double seconds;
	size_t i;

	if (!b)
		return 0;
	if (b->srv_init) {
		mcp_stdio_close(&b->srv, 1);
		pthread_mutex_destroy(&b->srv.mu);
		pthread_mutex_destroy(&b->srv.write_mu);
		pthread_cond_destroy(&b->srv.cond);
		free(b->srv.session_id);
	}
	vex_browser_proxy_close(b->proxy);
	if (b->dir[0]) {
		sweep(b);
		if (nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
			vex_log(VEX_LOG_WARN, "browser directory not fully removed", "dir", b->dir, NULL);
	}
	seconds = (double)(vex_mono_us() - b->opened_us) / 1e6;
	for (i = 0; i < NARGS; i++)
		free(b->args[i]);
	for (i = 0; i < NENV; i++)
		free(b->env[i]);
	json_decref(b->tools);
	free(b);
	return seconds;
}
