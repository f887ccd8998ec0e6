/* mcp.c - MCP servers: loaded from mcp.json, started and kept warm by a manager thread each, discovered, called. */
#include "runner/mcp.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "runner/mcpconf.h"
#include "runner/mcpmsg.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "core/base/version.h"
#include "runner/mcp_conn.h"
#include "core/metrics/metrics.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_US (60LL * 1000000)    /* a connection up this long restarts without the backoff built so far */
#define LIST_PAGES_MAX 100            /* tools/list pages followed */
#define IDLE_WAIT_MS 1000

/* The process-wide registry: what vex_mcp_load read, one mcp_server per configured server. */
static struct {
	struct vex_mcp_conf conf;
	struct mcp_server *servers;
	size_t n;
	const struct vex_config *cfg;
	int curl;                     /* curl_global_init done */
	atomic_ullong calls;          /* makes progress tokens unique */
} reg;

/* A request through the server's transport, "why" empty unless it fails. */
static int call(struct mcp_server *s, const char *method, json_t *params, const struct mcp_wait *w, json_t **ret,
		char *why, size_t whylen)
{
	why[0] = '\0';
	return s->transport->request(s, method, params, w, ret, why, whylen);
}

/* ---- the manager: start, initialize, list, publish, restart ---- */

/* Spawn (stdio), initialize, initialized. 0, or an error with "why". */
static int start(struct mcp_server *s, char *why, size_t whylen)
{
	int64_t deadline = vex_mono_us() + (int64_t)s->cfg->mcp_init_timeout_ms * 1000;
	struct mcp_wait w = { .deadline_us = deadline };
	json_t *resp = NULL, *params;
	const char *v;
	int rc;

	pthread_mutex_lock(&s->mu);
	s->protocol[0] = '\0';
	pthread_mutex_unlock(&s->mu);
	rc = s->transport->open(s, why, whylen);
	if (rc < 0)
		return rc;
	params = vex_mcp_initialize_params(VEX_VERSION);
	rc = params ? call(s, "initialize", params, &w, &resp, why, whylen) : VEX_ENOMEM;
	if (rc == 0)
		rc = vex_mcp_initialize_check(resp, why, whylen);
	if (rc == 0) {
		v = json_string_value(json_object_get(json_object_get(resp, "result"), "protocolVersion"));
		pthread_mutex_lock(&s->mu);
		snprintf(s->protocol, sizeof(s->protocol), "%s", v);
		pthread_mutex_unlock(&s->mu);
		rc = s->transport->notify(s, "notifications/initialized", NULL, deadline);
		if (rc < 0)
			snprintf(why, whylen, "MCP server %s did not take notifications/initialized", s->conf->name);
	}
	json_decref(resp);
	if (rc < 0) {
		if (!why[0])
			snprintf(why, whylen, "%s", vex_strerror(rc));
		s->transport->close(s, 0);
	}
	return rc;
}

static int publish(struct mcp_server *s, const struct vex_tool_rows *rows)
{
	struct vex_store *st = NULL;
	int rc;

	rc = vex_store_open(s->cfg->store, s->cfg->db_synchronous, s->cfg->db_busy_timeout_ms, &st);
	if (rc == 0)
		rc = vex_store_tools_replace(st, "mcp", s->conf->name, rows, vex_now_us());
	vex_store_free(st);
	return rc;
}

/* tools/list, every page, then the catalog. On a failure the catalog keeps what it had. */
static void refresh_tools(struct mcp_server *s)
{
	int64_t deadline = vex_mono_us() + (int64_t)s->cfg->mcp_init_timeout_ms * 1000;
	struct mcp_wait w = { .deadline_us = deadline };
	struct vex_tool_rows rows = { 0 };
	char why[320] = "", *cursor = NULL, num[2][24];
	size_t skipped = 0, pages = 0;
	json_t *resp, *params;
	int rc;

	do {
		char *next = NULL;

		params = cursor ? json_pack("{s:s}", "cursor", cursor) : NULL;
		resp = NULL;
		rc = call(s, "tools/list", params, &w, &resp, why, sizeof(why));
		if (rc == 0)
			rc = vex_mcp_tools_page(resp, s->conf->name, vex_now_us(), &rows, &skipped, &next, why,
						sizeof(why));
		json_decref(resp);
		free(cursor);
		cursor = next;
		if (rc < 0)
			goto out;
	} while (cursor && ++pages < LIST_PAGES_MAX);
	/* each tool carries its grant: its own, else its server's, else none (admins only) */
	for (size_t i = 0; i < rows.n; i++) {
		const char *g = vex_mcp_server_grant(s->conf, rows.items[i].short_name);

		if (g && !(rows.items[i].grant = strdup(g))) {
			rc = VEX_ENOMEM;
			goto out;
		}
	}
	rc = publish(s, &rows);
	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot write the catalog: %s", vex_strerror(rc));
		goto out;
	}
	snprintf(num[0], sizeof(num[0]), "%zu", rows.n);
	snprintf(num[1], sizeof(num[1]), "%zu", skipped);
	vex_log(VEX_LOG_INFO, "mcp tools published", "server", s->conf->name, "tools", num[0], "skipped", num[1], NULL);
out:
	if (rc < 0)
		vex_log(VEX_LOG_WARN, "mcp tools/list failed; the catalog keeps its tools", "server", s->conf->name,
			"error", why[0] ? why : vex_strerror(rc), NULL);
	free(cursor);
	vex_tool_rows_release(&rows);
}

/* The next automatic start after a failure or an exit. Under s->mu. */
static void schedule_restart(struct mcp_server *s, int64_t now)
{
	int delay;

	if (s->up_since_us && now - s->up_since_us >= STABLE_US)
		s->backoff_ms = BACKOFF_FIRST_MS;
	delay = s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	s->next_start_us = now + (int64_t)delay * 1000;
	s->up_since_us = 0;
}

static void wait_until(struct mcp_server *s, int64_t until_us)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(until_us / 1000000);
	ts.tv_nsec = (long)(until_us % 1000000) * 1000;
	pthread_cond_timedwait(&s->cond, &s->mu, &ts);
}

static void *manager_main(void *arg)
{
	struct mcp_server *s = arg;
	char why[320];
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->quit) {
		int64_t now = vex_mono_us();

		if (s->state == MCP_READY && s->transport->lost(s)) {
			pthread_mutex_unlock(&s->mu);
			s->transport->close(s, 0);
			vex_log(VEX_LOG_WARN, "mcp server exited; restarting it on next use or after the backoff",
				"server", s->conf->name, "status", s->exit_text[0] ? s->exit_text : "session lost", NULL);
			pthread_mutex_lock(&s->mu);
			s->state = MCP_DOWN;
			vex_metrics_mcp_up(s->conf->name, 0);
			schedule_restart(s, vex_mono_us());
			pthread_cond_broadcast(&s->cond);
			continue;
		}
		if (s->state == MCP_DOWN && (s->want_start || now >= s->next_start_us)) {
			s->state = MCP_STARTING;
			s->want_start = 0;
			pthread_mutex_unlock(&s->mu);
			why[0] = '\0';
			rc = start(s, why, sizeof(why));
			if (rc == 0)
				vex_log(VEX_LOG_INFO, "mcp server ready", "server", s->conf->name, "protocol", s->protocol,
					NULL);
			else
				vex_log(VEX_LOG_WARN, "mcp server failed to start", "server", s->conf->name, "error", why,
					NULL);
			pthread_mutex_lock(&s->mu);
			s->attempts++;
			if (rc == 0) {
				s->state = MCP_READY;
				vex_metrics_mcp_up(s->conf->name, 1);
				s->up_since_us = vex_mono_us();
				s->list_changed = 1; /* the first tools/list */
				s->last_error[0] = '\0';
			} else {
				s->state = MCP_DOWN;
				vex_metrics_mcp_up(s->conf->name, 0);
				snprintf(s->last_error, sizeof(s->last_error), "%s", why);
				schedule_restart(s, vex_mono_us());
			}
			pthread_cond_broadcast(&s->cond);
			continue;
		}
		if (s->state == MCP_READY && s->list_changed) {
			/* cleared before asking: a change announced meanwhile asks again */
			s->list_changed = 0;
			pthread_mutex_unlock(&s->mu);
			refresh_tools(s);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (s->state == MCP_DOWN && s->next_start_us < now + IDLE_WAIT_MS * 1000LL)
			wait_until(s, s->next_start_us);
		else
			wait_until(s, now + IDLE_WAIT_MS * 1000LL);
	}
	pthread_mutex_unlock(&s->mu);
	if (s->state != MCP_DOWN || s->transport->held(s))
		s->transport->close(s, 1);
	return NULL;
}

/* ---- the public surface ---- */

static void server_destroy(struct mcp_server *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->write_mu);
	pthread_cond_destroy(&s->cond);
	free(s->session_id);
}

int vex_mcp_load(const struct vex_config *cfg, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	size_t i;
	int rc;

	rc = vex_mcp_conf_load(cfg->tools_mcp_file, &reg.conf, err, errlen);
	if (rc < 0)
		return rc == VEX_ENOMEM ? rc : VEX_EINVAL;
	reg.cfg = cfg;
	if (!reg.conf.n)
		return 0;
	reg.servers = calloc(reg.conf.n, sizeof(*reg.servers));
	if (!reg.servers) {
		vex_mcp_conf_release(&reg.conf);
		return VEX_ENOMEM;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < reg.conf.n; i++) {
		struct mcp_server *s = &reg.servers[i];

		s->conf = &reg.conf.servers[i];
		s->transport = s->conf->command ? &mcp_stdio_transport : &mcp_http_transport;
		s->cfg = cfg;
		s->in_fd = s->out_fd = s->err_fd = -1;
		s->backoff_ms = BACKOFF_FIRST_MS;
		pthread_mutex_init(&s->mu, NULL);
		pthread_mutex_init(&s->write_mu, NULL);
		pthread_cond_init(&s->cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	reg.n = reg.conf.n;
	return 0;
}

/* The catalog forgets servers that are no longer configured. */
static int forget_removed(const struct vex_config *cfg)
{
	const char **names = calloc(reg.n + 1, sizeof(char *));
	struct vex_store *st = NULL;
	size_t i;
	int rc;

	if (!names)
		return VEX_ENOMEM;
	for (i = 0; i < reg.n; i++)
		names[i] = reg.servers[i].conf->name;
	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &st);
	if (rc == 0)
		rc = vex_store_tools_keep_servers(st, names, reg.n);
	vex_store_free(st);
	free(names);
	return rc;
}

int vex_mcp_start(const struct vex_config *cfg, const char *runner_id)
{
	char num[24];
	size_t i;
	int rc;

	(void)runner_id;
	for (i = 0; i < reg.conf.nwarnings; i++)
		vex_log(VEX_LOG_WARN, "mcp.json", "warning", reg.conf.warnings[i], NULL);
	rc = forget_removed(cfg);
	if (rc < 0)
		return rc;
	for (i = 0; i < reg.n; i++)
		if (!reg.servers[i].conf->command && !reg.curl) {
			if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
				return VEX_ERROR;
			reg.curl = 1;
		}
	for (i = 0; i < reg.n; i++) {
		struct mcp_server *s = &reg.servers[i];

		vex_metrics_mcp_up(s->conf->name, 0); /* down until its manager has it ready */
		if (pthread_create(&s->manager, NULL, manager_main, s) != 0)
			return VEX_ERROR;
		s->manager_started = 1;
	}
	snprintf(num, sizeof(num), "%zu", reg.n);
	if (reg.n)
		vex_log(VEX_LOG_INFO, "mcp servers starting", "servers", num, "file", cfg->tools_mcp_file, NULL);
	return 0;
}

void vex_mcp_stop(void)
{
	size_t i;

	/* every manager is told first, so that the servers wind down side by side */
	for (i = 0; i < reg.n; i++) {
		struct mcp_server *s = &reg.servers[i];

		pthread_mutex_lock(&s->mu);
		s->quit = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; i < reg.n; i++) {
		struct mcp_server *s = &reg.servers[i];

		if (s->manager_started)
			pthread_join(s->manager, NULL);
		server_destroy(s);
	}
	free(reg.servers);
	reg.servers = NULL;
	reg.n = 0;
	vex_mcp_conf_release(&reg.conf);
	if (reg.curl)
		curl_global_cleanup();
	reg.curl = 0;
}

/* The server of "name" ("<server>.<tool>") and, in *ret_tool, the tool part; or NULL. */
static struct mcp_server *find_server(const char *name, const char **ret_tool)
{
	const char *dot = name ? strchr(name, '.') : NULL;
	size_t i, n;

	if (!dot || !dot[1])
		return NULL;
	n = (size_t)(dot - name);
	for (i = 0; i < reg.n; i++)
		if (strlen(reg.servers[i].conf->name) == n && memcmp(reg.servers[i].conf->name, name, n) == 0) {
			*ret_tool = dot + 1;
			return &reg.servers[i];
		}
	return NULL;
}

int vex_mcp_has(const char *name)
{
	const char *tool;

	return find_server(name, &tool) != NULL;
}

/*
 * Waits until "s" is ready, asking the manager to start it now (no backoff: a job waits) when it is
 * down. 0; VEX_ESTATE when the job stopped meanwhile; VEX_EIO when a start attempt made after the
 * call arrived failed ("why").
 */
static int ensure_ready(struct mcp_server *s, struct vex_exec_ctx *ctx, char *why, size_t whylen)
{
	uint64_t base;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	base = s->attempts;
	for (;;) {
		struct timespec ts;

		if (s->state == MCP_READY && !s->transport->lost(s))
			break;
		if (s->quit) {
			snprintf(why, whylen, "the runner is stopping");
			rc = VEX_EIO;
			break;
		}
		if (s->state == MCP_DOWN && s->attempts > base) {
			snprintf(why, whylen, "MCP server %s is not available: %s", s->conf->name, s->last_error);
			rc = VEX_EIO;
			break;
		}
		if (s->state != MCP_STARTING && !s->want_start) {
			s->want_start = 1;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->mu);
		if (vex_exec_check(ctx) != VEX_STOP_NONE)
			return VEX_ESTATE;
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += VEX_EXEC_STOP_CHECK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int vex_exec_mcp(struct vex_exec_ctx *ctx, struct vex_job *out)
{
	const char *tool = NULL;
	struct mcp_server *s = find_server(ctx->job->tool, &tool);
	char token[VEX_UUID_LEN + 32], why[400] = "";
	struct mcp_wait w = { .ctx = ctx, .token = token };
	json_t *params, *resp = NULL;
	int bad = 0, rc = 0, attempt;

	if (!s)
		return vex_exec_fail(out, "TOOL_NOT_FOUND", "no such MCP tool");
	snprintf(token, sizeof(token), "%s/%llu", ctx->job->id, (unsigned long long)atomic_fetch_add(&reg.calls, 1) + 1);
	params = vex_mcp_call_params(tool, ctx->job->input_json, token, &bad);
	if (!params)
		return bad ? vex_exec_fail(out, "INVALID_ARGUMENTS", "arguments must be a JSON object") : VEX_ENOMEM;
	if (vex_mcp_call_trace(params, ctx->job->traceparent) != 0) {
		json_decref(params);
		return VEX_ENOMEM;
	}
	/* a server found gone before anything was sent (stdio) or a lost session (HTTP) is retried once */
	for (attempt = 0; attempt < 2; attempt++) {
		rc = ensure_ready(s, ctx, why, sizeof(why));
		if (rc < 0)
			break;
		rc = call(s, "tools/call", json_incref(params), &w, &resp, why, sizeof(why));
		if (rc != VEX_ENOTFOUND)
			break;
	}
	json_decref(params);
	switch (rc) {
	case 0:
		rc = vex_mcp_call_outcome(resp, s->conf->name, ctx->cfg->tools_output_max, out);
		break;
	case VEX_ESTATE:
	case VEX_ENOMEM:
		break;
	case VEX_ETOOBIG:
		rc = vex_mcp_outcome_fail(out, "OUTPUT_TOO_LARGE", why, NULL);
		break;
	default:
		rc = vex_mcp_outcome_fail(out, "EXECUTION_ERROR", why[0] ? why : vex_strerror(rc), NULL);
		break;
	}
	json_decref(resp);
	return rc;
}
