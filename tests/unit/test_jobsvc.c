/* test_jobsvc.c - job service over a real memcached and a disabled cache: submit, get (cache/fallback), cancel. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/memcached_fixture.h"

#include "core/base/err.h"
#include "core/jobs/jobcache.h"
#include "fcgi-app/jobsvc.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/tools/tools.h"
#include "core/jobs/wake.h"
#include "tests/unit/store_fixture.h"

static struct store_fixture sfx;
static char sock_path[128];
static struct mc_fixture mcd = { .pid = -1 };

static struct vex_config cfg;
static struct vex_store *store;
static struct vex_cache *live_cache;
static struct vex_cache *off_cache;
static int wake_rx = -1;
static struct vex_env env;

static const struct vex_principal alice = { "alice", VEX_ROLE_USER, VEX_PLAN_PRO };
static const struct vex_principal bob = { "bob", VEX_ROLE_USER, VEX_PLAN_FREE };
static const struct vex_principal admin = { "root", VEX_ROLE_ADMIN, VEX_PLAN_ENTERPRISE };

/*
 * Wait until the runner's socket has a datagram (bounded: 5 s), then drain it: how many wakes
 * were pending. Datagrams from one sender arrive in order, so a marker sent after a call shows
 * that every wake the call sent has arrived.
 */
static int wakes_pending(void)
{
	struct pollfd p = { .fd = wake_rx, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return 0;
	return vex_wake_drain(wake_rx);
}

/* A database, the runner's wake socket and memcached in a temporary directory; a live and a disabled cache. */
static int group_setup(void **state)
{
	(void)state;
	vex_log_init("test_jobsvc", VEX_LOG_ERROR);
	if (store_fixture_open(&sfx, "jobsvc") != 0)
		return -1;
	store = sfx.store;
	snprintf(sock_path, sizeof(sock_path), "%s/runner.sock", sfx.dir);
	if (mc_start(&mcd, 0) != 0)
		return -1;
	if (vex_cache_open(mcd.servers, 500, MC_SECRET, &live_cache) != 0 ||
	    vex_cache_open(NULL, 100, NULL, 0, &off_cache) != 0)
		return -1;
	wake_rx = vex_wake_bind(sock_path);
	if (wake_rx < 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_attempts = 4;
	cfg.default_timeout_ms = 120000;
	cfg.runner_socket = sock_path;
	env.cfg = &cfg;
	env.store = store;
	env.cache = live_cache;
	env.wake_fd = vex_wake_open();
	return env.wake_fd >= 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (env.wake_fd >= 0)
		close(env.wake_fd);
	if (wake_rx >= 0)
		close(wake_rx);
	vex_cache_free(live_cache);
	vex_cache_free(off_cache);
	mc_stop(&mcd);
	unlink(sock_path);
	store_fixture_close(&sfx);
	store = NULL;
	return 0;
}

/* Each test starts with the live cache unless it switches. */
static int use_live(void **state)
{
	(void)state;
	env.cache = live_cache;
	return 0;
}

static void make_agent(const char *owner, char id[VEX_UUID_LEN + 1])
{
	struct vex_agent *a = vex_agent_new();

	assert_non_null(a);
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "%s", owner);
	a->name = strdup("helper");
	a->role = strdup("You help.");
	a->max_depth = 3;
	a->created_at = vex_now_us();
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	memcpy(id, a->id, VEX_UUID_LEN + 1);
	vex_agent_free(a);
}

/* An Idempotency-Key "key" (NULL: none) sent with a request whose hash is "h" 64 times. */
static const struct vex_idem *idem(const char *key, char h)
{
	static struct vex_idem i;

	if (!key)
		return NULL;
	i.key = key;
	memset(i.request_hash, h, VEX_JOB_REQUEST_HASH_LEN);
	i.request_hash[VEX_JOB_REQUEST_HASH_LEN] = '\0';
	return &i;
}

/* Submitting "prompt" (and "ctx") to "agent" again under "i" answers the job "j" itself, not created. */
static void assert_replays(const char *agent, const char *prompt, const char *ctx, const struct vex_idem *i,
			   const struct vex_job *j)
{
	struct vex_field_error e;
	struct vex_job *again = NULL;
	int created = -1;

	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, prompt, ctx, i, NULL, &again, &created, &e), 0);
	assert_int_equal(created, 0);
	assert_string_equal(again->id, j->id);
	vex_job_free(again);
}

static struct vex_job *submit_echo(const struct vex_principal *who, const char *key, int *created)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	json_t *args = json_pack("{s:s}", "say", "hi");

	assert_int_equal(vex_jobsvc_submit_tool(&env, who, "echo", args, 0, idem(key, 'a'), NULL, &j, created, &e), 0);
	json_decref(args);
	return j;
}

/* Run SQL on a raw connection (to change the store behind the service's back): "fmt" with job "id" (a UUID) in its
 * one %s. */
static void raw_exec(const char *fmt, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql), fmt, id);
	store_fixture_sql(&sfx, sql);
}

static void test_submit_agent(void **state)
{
	char agent[VEX_UUID_LEN + 1], other[VEX_UUID_LEN + 1];
	struct vex_field_error e;
	struct vex_job *j = NULL, *again = NULL;
	int created = -1;
	json_t *input;

	(void)state;
	make_agent("alice", agent);
	make_agent("bob", other);
	vex_wake_drain(wake_rx);

	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "Summarise this", "ctx-1", idem("k-agent", 'a'), NULL,
						 &j, &created, &e),
			 0);
	assert_int_equal(created, 1);
	assert_int_equal(j->kind, VEX_JOB_AGENT);
	assert_string_equal(j->agent_id, agent);
	assert_string_equal(j->owner, "alice");
	assert_int_equal(j->plan, VEX_PLAN_PRO);
	assert_int_equal(j->status, VEX_JOB_QUEUED);
	assert_int_equal(j->max_attempts, 4);
	assert_true(j->timeout_ms == 120000);
	assert_true(vex_uuid_valid(j->id));
	input = json_loads(j->input_json, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(input, "prompt")), "Summarise this");
	assert_string_equal(json_string_value(json_object_get(input, "context_id")), "ctx-1");
	json_decref(input);
	/* The runner was woken, once. */
	assert_int_equal(wakes_pending(), 1);

	/* Same key: the same job, no second wake. */
	assert_replays(agent, "Summarise this", "ctx-1", idem("k-agent", 'a'), j);
	vex_wake_send(env.wake_fd, sock_path);
	assert_int_equal(wakes_pending(), 1); /* the marker alone */

	/* No context: null in the input. */
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "x", NULL, NULL, NULL, &again, NULL, &e), 0);
	input = json_loads(again->input_json, 0, NULL);
	assert_true(json_is_null(json_object_get(input, "context_id")));
	json_decref(input);
	vex_job_free(again);
	again = NULL;

	/* Someone else's agent, an unknown agent, a deleted agent: not found. */
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, other, "hi", NULL, NULL, NULL, &again, &created, &e),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, "0190a000-0000-7000-8000-000000000000", "hi", NULL,
						 NULL, NULL, &again, &created, &e),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_agent_delete(store, other, "bob", vex_now_us()), 0);
	assert_int_equal(vex_jobsvc_submit_agent(&env, &bob, other, "hi", NULL, NULL, NULL, &again, &created, &e),
			 VEX_ENOTFOUND);
	assert_null(again);
	/* An admin may run anyone's live agent. */
	assert_int_equal(vex_jobsvc_submit_agent(&env, &admin, agent, "hi", NULL, NULL, NULL, &again, &created, &e), 0);
	assert_string_equal(again->owner, "root");
	vex_job_free(again);
	vex_job_free(j);
}

/* Stripe's rule: a key names one request. The same key with another request hash is refused
 * (nothing stored); with the same hash, or from another owner, it is as before. */
static void test_idempotency_key_reused(void **state)
{
	char agent[VEX_UUID_LEN + 1];
	struct vex_job_filter f;
	struct vex_field_error e;
	struct vex_job *j = NULL, *again = NULL;
	int64_t before = 0, after = 0;
	int created = -1;
	json_t *args;

	(void)state;
	make_agent("alice", agent);
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "one", NULL, idem("k-reuse", 'a'), NULL, &j, &created,
						 &e),
			 0);
	assert_int_equal(created, 1);
	assert_non_null(j->request_hash);
	vex_job_filter_init(&f);
	assert_int_equal(vex_store_jobs_count(store, &f, &before), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "two", NULL, idem("k-reuse", 'b'), NULL, &again,
						 &created, &e),
			 VEX_EINVAL);
	assert_null(again);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "IDEMPOTENCY_KEY_REUSED");
	assert_string_equal(e.field, "Idempotency-Key");
	/* a tool job under the same key is another request too */
	args = json_object();
	assert_int_equal(vex_jobsvc_submit_tool(&env, &alice, "echo", args, 0, idem("k-reuse", 'c'), NULL, &again, &created,
						&e),
			 VEX_EINVAL);
	json_decref(args);
	assert_string_equal(e.code, "IDEMPOTENCY_KEY_REUSED");
	assert_int_equal(vex_store_jobs_count(store, &f, &after), 0);
	assert_true(after == before);
	/* the same request replays */
	assert_replays(agent, "one", NULL, idem("k-reuse", 'a'), j);
	/* a job stored without a hash (before the column existed) replays whatever comes */
	raw_exec("UPDATE jobs SET request_hash = NULL WHERE id = '%s'", j->id);
	assert_replays(agent, "two", NULL, idem("k-reuse", 'b'), j);
	vex_job_free(j);
}

static void test_submit_agent_invalid(void **state)
{
	char agent[VEX_UUID_LEN + 1];
	struct vex_job_filter f;
	struct vex_field_error e;
	struct vex_job *j = NULL;
	int64_t before = 0, after = 0;

	(void)state;
	make_agent("alice", agent);
	vex_job_filter_init(&f);
	assert_int_equal(vex_store_jobs_count(store, &f, &before), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "", NULL, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, "prompt");
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "ok", "bad\x01", NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.field, "context_id");
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "ok", NULL, idem("", 'a'), NULL, &j, NULL, &e), VEX_EINVAL);
	assert_null(j);
	/* Nothing is stored for a rejected request. */
	assert_int_equal(vex_store_jobs_count(store, &f, &after), 0);
	assert_true(after == before);
}

static void test_submit_keeps_the_traceparent(void **state)
{
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	struct vex_field_error e;
	struct vex_job *j = NULL, *stored = NULL;
	json_t *args = json_object();

	(void)state;
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "echo", args, 0, NULL, tp, &j, NULL, &e), 0);
	assert_string_equal(j->traceparent, tp);
	assert_int_equal(vex_store_job_get(env.store, j->id, NULL, &stored), 0);
	assert_string_equal(stored->traceparent, tp);
	vex_job_free(stored);
	vex_job_free(j);
	json_decref(args);
}

static void test_submit_tool(void **state)
{
	struct vex_field_error e;
	struct vex_job *j = NULL;
	json_t *args;

	(void)state;
	args = json_pack("{s:i,s:i}", "ms", 50, "steps", 5);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "sleep", args, 5000, NULL, NULL, &j, NULL, &e), 0);
	assert_int_equal(j->kind, VEX_JOB_TOOL);
	assert_string_equal(j->tool, "sleep");
	assert_string_equal(j->agent_id, "");
	assert_string_equal(j->input_json, "{\"ms\":50,\"steps\":5}");
	assert_true(j->timeout_ms == 5000);
	assert_int_equal(j->plan, VEX_PLAN_FREE);
	vex_job_free(j);
	j = NULL;
	json_decref(args);

	args = json_pack("{s:i}", "ms", -1);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "sleep", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "INVALID_ARGUMENTS");
	assert_string_equal(e.field, "arguments.ms");
	json_decref(args);
	args = json_pack("{s:s}", "ms", "10");
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "sleep", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	json_decref(args);
	args = json_pack("{s:i}", "bogus", 1);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "sleep", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments.bogus");
	json_decref(args);
	args = json_pack("{s:i}", "message", 3);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fail", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	json_decref(args);
	args = json_pack("[i]", 1);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "echo", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments");
	json_decref(args);
	args = json_object();
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "rm -rf", args, 0, NULL, NULL, &j, NULL, &e), VEX_ENOTFOUND);
	assert_null(j);
	/* timeout 0: the configured default. */
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fail", args, 0, NULL, NULL, &j, NULL, &e), 0);
	assert_true(j->timeout_ms == 120000);
	vex_job_free(j);
	json_decref(args);
}

/* A refusal: VEX_EINVAL, a VALIDATION_ERROR naming "field" with "status" and the broken "limit". */
static void assert_refused(int rc, const struct vex_field_error *e, int status, const char *field, long long limit)
{
	assert_int_equal(rc, VEX_EINVAL);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, "VALIDATION_ERROR");
	assert_string_equal(e->field, field);
	assert_true(e->limit == limit);
}

/* Each request-field limit of a new job at its boundary (core/base/limits.h): the limit is accepted,
 * limit+1 refused naming the field and the limit, and nothing is stored for a refusal. */
static void test_field_limits(void **state)
{
	char agent[VEX_UUID_LEN + 1], key[VEX_IDEM_KEY_MAX + 2], ctx[VEX_CONTEXT_ID_MAX + 2];
	struct vex_job_filter f;
	struct vex_field_error e;
	struct vex_job *j = NULL;
	int64_t before = 0, after = 0;
	json_t *args = json_object();

	(void)state;
	make_agent("alice", agent);
	memset(key, 'k', sizeof(key) - 1);
	key[VEX_IDEM_KEY_MAX] = '\0';
	memset(ctx, 'c', sizeof(ctx) - 1);
	ctx[VEX_CONTEXT_ID_MAX] = '\0';

	/* The checks themselves. */
	assert_int_equal(vex_jobsvc_idem_key_check(NULL, &e), 0);
	assert_int_equal(vex_jobsvc_idem_key_check(key, &e), 0);
	assert_int_equal(vex_jobsvc_idem_key_check("caf\xc3\xa9", &e), VEX_EINVAL);
	assert_int_equal(vex_jobsvc_context_id_check(ctx, &e), 0);
	assert_int_equal(vex_jobsvc_timeout_check(1, &e), 0);
	assert_int_equal(vex_jobsvc_timeout_check(VEX_JOB_TIMEOUT_MAX_MS, &e), 0);
	assert_int_equal(vex_jobsvc_timeout_check(0, &e), VEX_EINVAL);
	assert_int_equal(vex_jobsvc_timeout_check(-1, &e), VEX_EINVAL);

	/* At the limits: accepted and stored as given. */
	assert_int_equal(vex_jobsvc_submit_agent(&env, &alice, agent, "hi", ctx, idem(key, 'a'), NULL, &j, NULL, &e), 0);
	assert_string_equal(j->idempotency_key, key);
	vex_job_free(j);
	j = NULL;
	assert_int_equal(vex_jobsvc_submit_tool(&env, &alice, "echo", args, VEX_JOB_TIMEOUT_MAX_MS, NULL, NULL, &j, NULL, &e), 0);
	assert_true(j->timeout_ms == VEX_JOB_TIMEOUT_MAX_MS);
	vex_job_free(j);
	j = NULL;

	/* One past each: refused, nothing stored. */
	vex_job_filter_init(&f);
	assert_int_equal(vex_store_jobs_count(store, &f, &before), 0);
	key[VEX_IDEM_KEY_MAX] = 'k';
	key[VEX_IDEM_KEY_MAX + 1] = '\0';
	ctx[VEX_CONTEXT_ID_MAX] = 'c';
	ctx[VEX_CONTEXT_ID_MAX + 1] = '\0';
	assert_refused(vex_jobsvc_submit_agent(&env, &alice, agent, "hi", NULL, idem(key, 'a'), NULL, &j, NULL, &e), &e, 400,
		       "Idempotency-Key", VEX_IDEM_KEY_MAX);
	assert_refused(vex_jobsvc_submit_tool(&env, &alice, "echo", args, 0, idem(key, 'a'), NULL, &j, NULL, &e), &e, 400,
		       "Idempotency-Key", VEX_IDEM_KEY_MAX);
	assert_refused(vex_jobsvc_submit_agent(&env, &alice, agent, "hi", ctx, NULL, NULL, &j, NULL, &e), &e, 422,
		       "context_id", VEX_CONTEXT_ID_MAX);
	assert_refused(vex_jobsvc_submit_tool(&env, &alice, "echo", args, VEX_JOB_TIMEOUT_MAX_MS + 1, NULL, NULL, &j, NULL, &e),
		       &e, 422, "timeout_ms", VEX_JOB_TIMEOUT_MAX_MS);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &alice, "echo", args, -5, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_null(j);
	assert_int_equal(vex_store_jobs_count(store, &f, &after), 0);
	assert_true(after == before);
	json_decref(args);
}

/* Catalog tools: bare names resolve to the full name the job stores; ambiguity and schemas refuse. */
static void test_submit_catalog_tool(void **state)
{
	struct vex_tool_row rows_fx[2], rows_fy[1];
	struct vex_tool_rows fx = { rows_fx, 2 }, fy = { rows_fy, 1 };
	struct vex_job_filter f;
	struct vex_field_error e;
	struct vex_job *j = NULL;
	int64_t before = 0, after = 0;
	json_t *args;

	(void)state;
	memset(rows_fx, 0, sizeof(rows_fx));
	memset(rows_fy, 0, sizeof(rows_fy));
	rows_fx[0] = (struct vex_tool_row){ "fx.add", "add", "fx", "mcp", "", "{\"required\":[\"a\"]}", 0, "{\"roles\":[\"user\"]}" };
	rows_fx[1] = (struct vex_tool_row){ "fx.sum", "sum", "fx", "mcp", "",
					    "{\"properties\":{\"xs\":{\"items\":{\"type\":\"integer\"}}}}", 0, "{\"roles\":[\"user\"]}" };
	rows_fy[0] = (struct vex_tool_row){ "fy.add", "add", "fy", "mcp", "", "{}", 0, "{\"roles\":[\"user\"]}" };
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &fx, 1), 0);
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fy", &fy, 1), 0);
	vex_job_filter_init(&f);
	assert_int_equal(vex_store_jobs_count(store, &f, &before), 0);

	args = json_pack("{s:[i,i]}", "xs", 1, 2);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "sum", args, 0, NULL, NULL, &j, NULL, &e), 0);
	assert_string_equal(j->tool, "fx.sum");
	vex_job_free(j);
	j = NULL;
	json_decref(args);
	args = json_pack("{s:[i,s]}", "xs", 1, "2");
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fx.sum", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.code, "INVALID_ARGUMENTS");
	assert_string_equal(e.field, "arguments.xs[1]");
	json_decref(args);
	args = json_object();
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fx.add", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_string_equal(e.field, "arguments.a");
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "add", args, 0, NULL, NULL, &j, NULL, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "AMBIGUOUS_TOOL");
	assert_string_equal(e.field, "tool");
	assert_string_equal(e.message, "add is ambiguous: fx.add, fy.add");
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fz.add", args, 0, NULL, NULL, &j, NULL, &e), VEX_ENOTFOUND);
	assert_null(j);
	assert_int_equal(vex_store_jobs_count(store, &f, &after), 0);
	assert_true(after == before + 1);
	assert_int_equal(vex_jobsvc_submit_tool(&env, &bob, "fy.add", args, 0, NULL, NULL, &j, NULL, &e), 0);
	assert_string_equal(j->tool, "fy.add");
	vex_job_free(j);
	json_decref(args);
	fy.n = 0;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fy", &fy, 2), 0);
	assert_int_equal(vex_store_tools_keep_servers(store, NULL, 0), 0);
}

static void test_get_cache_hit(void **state)
{
	struct vex_job *j = submit_echo(&alice, NULL, NULL), *got = NULL;
	char *cached = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vex_cache_job_get(live_cache, j->id, &cached, &len), 0);
	assert_non_null(strstr(cached, "\"owner\":\"alice\""));
	free(cached);
	/* Remove the row behind the service's back: a hit is served from memcached alone. */
	raw_exec("DELETE FROM jobs WHERE id = '%s'", j->id);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_string_equal(got->id, j->id);
	assert_string_equal(got->input_json, "{\"say\":\"hi\"}");
	assert_true(got->rev == 1);
	vex_job_free(got);
	got = NULL;
	/* Owner isolation on the cache path: bob gets "not found", an admin gets the job. */
	assert_int_equal(vex_jobsvc_get(&env, &bob, j->id, &got), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(vex_jobsvc_get(&env, &admin, j->id, &got), 0);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_get_miss_fallback(void **state)
{
	struct vex_job *j = submit_echo(&alice, NULL, NULL), *got = NULL;
	char *cached = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vex_cache_job_delete(live_cache, j->id), 0);
	assert_int_equal(vex_cache_job_get(live_cache, j->id, &cached, &len), VEX_ENOTFOUND);
	/* bob misses and falls back: still not found, and nothing leaks into the cache. */
	assert_int_equal(vex_jobsvc_get(&env, &bob, j->id, &got), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_job_get(live_cache, j->id, &cached, &len), VEX_ENOTFOUND);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_string_equal(got->id, j->id);
	vex_job_free(got);
	got = NULL;
	/* The read refilled the cache. */
	assert_int_equal(vex_cache_job_get(live_cache, j->id, &cached, &len), 0);
	free(cached);

	/* Garbage under the key: treated as a miss, the store answers. */
	assert_int_equal(vex_cache_job_delete(live_cache, j->id), 0);
	assert_int_equal(vex_cache_job_put(live_cache, j->id, "{not json", 9, 1), 0);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_string_equal(got->id, j->id);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_jobsvc_get(&env, &alice, "0190a000-0000-7000-8000-000000000000", &got), VEX_ENOTFOUND);
	vex_job_free(j);
}

static void test_stale_rev_never_served(void **state)
{
	struct vex_job *j = submit_echo(&alice, NULL, NULL), *canceled = NULL, *got = NULL;

	(void)state;
	assert_true(j->rev == 1);
	assert_int_equal(vex_jobsvc_cancel(&env, &alice, j->id, 0, &canceled), 0);
	assert_int_equal(canceled->status, VEX_JOB_CANCELED);
	assert_true(canceled->rev == 2);
	/* A slow writer publishes its older copy after the newer one. */
	vex_jobcache_publish(live_cache, j);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	assert_true(got->rev == 2);
	vex_job_free(got);
	got = NULL;
	/* Canceling again: not allowed, and the job comes back as it is. */
	assert_int_equal(vex_jobsvc_cancel(&env, &alice, j->id, 1, &got), VEX_ESTATE);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_jobsvc_cancel(&env, &bob, j->id, 1, &got), VEX_ENOTFOUND);
	assert_null(got);
	vex_job_free(canceled);
	vex_job_free(j);
}

static void test_cancel_running_publishes(void **state)
{
	static const int limits[VEX_PLAN_COUNT] = { 0, 0, 0, 0 };
	struct vex_job *j = submit_echo(&admin, NULL, NULL), *c = NULL, *got = NULL;

	(void)state;
	/* Claim everything queued until ours is running. */
	while (vex_store_job_claim(store, "r1", vex_now_us(), 30000000, limits, &c) == 0) {
		int mine = strcmp(c->id, j->id) == 0;

		vex_job_free(c);
		c = NULL;
		if (mine)
			break;
	}
	assert_int_equal(vex_jobsvc_cancel(&env, &admin, j->id, 0, &got), VEX_ESTATE);
	assert_int_equal(got->status, VEX_JOB_RUNNING);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_jobsvc_cancel(&env, &admin, j->id, 1, &got), 0);
	assert_int_equal(got->cancel_requested, 1);
	vex_job_free(got);
	got = NULL;
	/* The cache shows the request (rev 3) without a store read. */
	raw_exec("DELETE FROM jobs WHERE id = '%s'", j->id);
	assert_int_equal(vex_jobsvc_get(&env, &admin, j->id, &got), 0);
	assert_int_equal(got->cancel_requested, 1);
	assert_true(got->rev == 3);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_disabled_cache(void **state)
{
	struct vex_job *j, *got = NULL, *again = NULL;
	int created = -1;

	(void)state;
	env.cache = off_cache;
	j = submit_echo(&alice, "k-off", &created);
	assert_int_equal(created, 1);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_string_equal(got->id, j->id);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_jobsvc_get(&env, &bob, j->id, &got), VEX_ENOTFOUND);
	again = submit_echo(&alice, "k-off", &created);
	assert_int_equal(created, 0);
	assert_string_equal(again->id, j->id);
	assert_int_equal(vex_jobsvc_cancel(&env, &alice, j->id, 0, &got), 0);
	assert_int_equal(got->status, VEX_JOB_CANCELED);
	vex_job_free(got);
	vex_job_free(again);
	vex_job_free(j);
}

/* memcached down: every call still answers from the store. */
static void test_dead_cache(void **state)
{
	struct vex_cache *dead = NULL;
	struct vex_job *j, *got = NULL;
	char servers[64];

	(void)state;
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", mc_free_port());
	assert_int_equal(vex_cache_open(servers, 50, MC_SECRET, &dead), 0);
	env.cache = dead;
	j = submit_echo(&alice, NULL, NULL);
	assert_int_equal(vex_jobsvc_get(&env, &alice, j->id, &got), 0);
	assert_string_equal(got->id, j->id);
	vex_job_free(got);
	vex_job_free(j);
	env.cache = live_cache;
	vex_cache_free(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_submit_agent, use_live),
		cmocka_unit_test_setup(test_idempotency_key_reused, use_live),
		cmocka_unit_test_setup(test_submit_agent_invalid, use_live),
		cmocka_unit_test_setup(test_submit_tool, use_live),
		cmocka_unit_test_setup(test_submit_keeps_the_traceparent, use_live),
		cmocka_unit_test_setup(test_field_limits, use_live),
		cmocka_unit_test_setup(test_submit_catalog_tool, use_live),
		cmocka_unit_test_setup(test_get_cache_hit, use_live),
		cmocka_unit_test_setup(test_get_miss_fallback, use_live),
		cmocka_unit_test_setup(test_stale_rev_never_served, use_live),
		cmocka_unit_test_setup(test_cancel_running_publishes, use_live),
		cmocka_unit_test_setup(test_disabled_cache, use_live),
		cmocka_unit_test_setup(test_dead_cache, use_live),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
